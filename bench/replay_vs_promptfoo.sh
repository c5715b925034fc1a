#!/usr/bin/env bash
# Driftwatch vs promptfoo on the same 2000 cases against the same fake
# OpenAI-compatible server (../shared/bench), interleaved in one script run.
# Driftwatch is measured end to end: replay, scoring and storing in PostgreSQL.
#
#   bash bench/replay_vs_promptfoo.sh                 # latency 0 at -j 64, latency 50 at -j 16/64
#   SKIP_PROMPTFOO=1 bash bench/replay_vs_promptfoo.sh
#   CASES=20000 SKIP_PROMPTFOO=1 bash bench/replay_vs_promptfoo.sh   # memory flatness
# Knobs: SHARED_BENCH PF_SCRATCH SETTINGS ("latency:concurrency ...") RUNS CASES
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
PF_SCRATCH=${PF_SCRATCH:-/tmp/pfanchor}
SETTINGS=${SETTINGS:-"0:64 50:16 50:64"}
RUNS=${RUNS:-1}
CASES=${CASES:-2000}
DW=$ROOT/build/driftwatch
WORK=$(mktemp -d /tmp/dwbench.XXXXXX)
log() { printf '[bench] %s\n' "$*" >&2; }
[ -x "$DW" ] || { log "build first: scripts/build.sh"; exit 2; }
command -v node >/dev/null || { log "node is required for the fake server"; exit 2; }
[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null; }

SRV_PID=""
cleanup() { [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'; }
served() { curl -sf "http://127.0.0.1:$PORT/stats" | tr -cd '0-9'; }
start_server() {
  PORT=$(free_port)
  PORT=$PORT LATENCY_MS=$1 node "$SHARED_BENCH/fake_openai.js" >"$WORK/server.log" 2>&1 &
  SRV_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/stats" >/dev/null 2>&1 && return 0; sleep 0.05; done
  log "fake server did not start"; exit 1
}
stop_server() { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""; }

# The golden set: the promptfoo config itself (published as-is), or a scaled copy.
if [ "$CASES" = 2000 ]; then
  cp "$SHARED_BENCH/pf_bench_2000.yaml" "$WORK/pf.yaml"
else
  python3 - "$CASES" >"$WORK/pf.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("description: bench\nprompts:\n- '{{q}}'\nproviders:\n- id: openai:chat:fake-model-1\n  config: {apiBaseUrl: http://127.0.0.1:18080/v1, apiKey: x}\ntests:")
for i in range(n):
    print(f"- assert:\n  - {{type: contains, value: number {i}}}\n  - {{type: not-contains, value: ERROR}}\n  vars: {{q: question number {i} about refunds}}")
PY
fi

# Driftwatch uses its own embedded PostgreSQL under the work dir (warm after publish).
export DRIFTWATCH_USER=bench
cfg() {
  cat >"$WORK/driftwatch.yaml" <<YAML
database: {data_dir: $WORK/dw}
targets:
  fake:
    provider: openai-chat
    base_url: http://127.0.0.1:$PORT/v1
    model: fake-model-1
    prompt: "{{q}}"
    timeout_ms: 30000
YAML
}
PORT=1; cfg
"$DW" -h >/dev/null 2>&1 || true
"$DW" goldenset publish "$WORK/pf.yaml" --name pfbench -c "$WORK/driftwatch.yaml" -q >/dev/null

measure() {  # name cmd... ; prints wall cpu rss requests
  local name=$1; shift
  local before after
  before=$(served)
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
  after=$(served)
  read -r wall user sys rss <"$WORK/time.txt"
  echo "$wall $(echo "$user + $sys" | bc -l) $((rss / 1024)) $((after - before))"
}

PF_MAIN="$PF_SCRATCH/node_modules/promptfoo/dist/src/main.js"
if [ "${SKIP_PROMPTFOO:-0}" != 1 ] && [ ! -f "$PF_MAIN" ]; then
  log "installing promptfoo into $PF_SCRATCH"
  mkdir -p "$PF_SCRATCH"
  (cd "$PF_SCRATCH" && { [ -f package.json ] || npm init -y >/dev/null 2>&1; } &&
    npm install --no-audit --no-fund promptfoo >"$PF_SCRATCH/npm-install.log" 2>&1) || { log "npm install failed"; exit 1; }
fi
export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CACHE_ENABLED=false

printf '| tool | latency ms | -j | wall s | req/s | CPU s | peak RSS MB | requests | ideal s |\n|---|---|---|---|---|---|---|---|---|\n'
for setting in $SETTINGS; do
  lat=${setting%%:*}; conc=${setting##*:}
  start_server "$lat"; cfg
  ideal=$(echo "$CASES * $lat / 1000 / $conc" | bc -l)
  for _ in $(seq "$RUNS"); do
    read -r w c r n < <(measure dw "$DW" run -g pfbench -t fake -j "$conc" -q --format json -c "$WORK/driftwatch.yaml")
    grep -q "\"passed\": $CASES" "$WORK/dw.out" || log "driftwatch did not pass all $CASES cases (see $WORK/dw.out)"
    printf '| driftwatch | %s | %s | %.2f | %.0f | %.2f | %s | %s | %.2f |\n' "$lat" "$conc" "$w" "$(echo "$CASES / $w" | bc -l)" "$c" "$r" "$n" "$ideal"
    if [ "${SKIP_PROMPTFOO:-0}" != 1 ]; then
      sed "s#http://127.0.0.1:18080/v1#http://127.0.0.1:$PORT/v1#" "$WORK/pf.yaml" >"$WORK/pf_port.yaml"
      read -r w c r n < <(measure pf env PROMPTFOO_CONFIG_DIR="$WORK/pfhome" node "$PF_MAIN" eval -c "$WORK/pf_port.yaml" \
        -j "$conc" --no-cache -o "$WORK/pf.json" --no-table --no-progress-bar)
      printf '| promptfoo | %s | %s | %.2f | %.0f | %.2f | %s | %s | %.2f |\n' "$lat" "$conc" "$w" "$(echo "$CASES / $w" | bc -l)" "$c" "$r" "$n" "$ideal"
    fi
  done
  if [ "$lat" = 0 ] && command -v wrk >/dev/null; then
    body='{"model":"fake-model-1","messages":[{"role":"user","content":"question number 1 about refunds"}]}'
    printf 'wrk.method="POST"\nwrk.body=%q\nwrk.headers["Content-Type"]="application/json"\n' "$body" | sed "s/^wrk.body=\\\$'/wrk.body='/" >"$WORK/post.lua"
    echo "wrk.method='POST'; wrk.body='$body'; wrk.headers['Content-Type']='application/json'" >"$WORK/post.lua"
    rps=$(wrk -t1 -c64 -d5s -s "$WORK/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions" | awk '/Requests\/sec/ {print $2}')
    echo "| fake server ceiling (wrk, 64 conns) | 0 | 64 | | $rps | | | | |"
  fi
  stop_server
done
# Start-up: one case against a warm database.
start_server 0; cfg
head -8 "$WORK/pf.yaml" >"$WORK/one.yaml"; sed -n '/^- assert:/,$p' "$WORK/pf.yaml" | head -6 >>"$WORK/one.yaml"
"$DW" goldenset publish "$WORK/one.yaml" --name one -c "$WORK/driftwatch.yaml" -q >/dev/null
read -r w c r n < <(measure one "$DW" run -g one -t fake -q -c "$WORK/driftwatch.yaml")
printf '\none-case run (warm database): wall %.3f s, CPU %.3f s, RSS %s MB\n' "$w" "$c" "$r"
stop_server
"$DW" db stop -c "$WORK/driftwatch.yaml" >/dev/null 2>&1 || true
log "work dir $WORK"
