#!/usr/bin/env bash
# Driftwatch's replay against a fake OpenAI-compatible server on 127.0.0.1, and
# promptfoo on the same 2000 cases (../shared/bench), interleaved in one script
# run. Driftwatch is measured end to end: start-up, replay, scoring, storing in
# PostgreSQL, summary. Prints three tables:
#   1. throughput per latency:concurrency setting, with the efficiency against
#      the latency-bound ideal: ceil(cases / j) x latency;
#   2. peak RSS of a 2,000- and a 20,000-case run (memory must not grow with
#      the golden set);
#   3. the wall time of a one-case run on a warm database (start-up), median
#      of STARTUP_RUNS.
#
#   bash bench/replay_vs_promptfoo.sh                    # everything, with promptfoo
#   SETTINGS="50:16 50:64" SKIP_PROMPTFOO=1 bash bench/replay_vs_promptfoo.sh
#
# Knobs: DW (driftwatch binary), FAKE (cpp: build/bench/fake_openai_server, the
# default when built; node: ../shared/bench/fake_openai.js), SHARED_BENCH,
# PF_SCRATCH, SETTINGS ("latency:concurrency ..."), RUNS (per setting, default
# 3; the median row is marked), CASES (default 2000), MEMORY_CASES ("2000
# 20000"; empty skips), STARTUP_RUNS (default 11; 0 skips), SKIP_PROMPTFOO=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
PF_SCRATCH=${PF_SCRATCH:-/tmp/pfanchor}
SETTINGS=${SETTINGS:-"0:64 50:16 50:64"}
RUNS=${RUNS:-3}
CASES=${CASES:-2000}
MEMORY_CASES=${MEMORY_CASES-"2000 20000"}
STARTUP_RUNS=${STARTUP_RUNS:-11}
DW=${DW:-$ROOT/build/driftwatch}
CPP_SERVER=$(dirname "$DW")/bench/fake_openai_server
if [ -z "${FAKE:-}" ]; then if [ -x "$CPP_SERVER" ]; then FAKE=cpp; else FAKE=node; fi; fi
WORK=$(mktemp -d /tmp/dwbench.XXXXXX)
log() { printf '[bench] %s\n' "$*" >&2; }
[ -x "$DW" ] || { log "build first: scripts/build.sh"; exit 2; }
[ "$FAKE" = cpp ] || command -v node >/dev/null || { log "node is required for FAKE=node"; exit 2; }
[ "$FAKE" = node ] || [ -x "$CPP_SERVER" ] || { log "build the fake_openai_server target for FAKE=cpp"; exit 2; }
[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null; }
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || log "wrk unavailable: no server ceiling"
command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null

SRV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  wait 2>/dev/null || true
  "$DW" db stop -c "$WORK/driftwatch.yaml" >/dev/null 2>&1 || true
}
trap cleanup EXIT
served() { curl -sf "http://127.0.0.1:$PORT/stats" | sed -E 's/.*"served":([0-9]+).*/\1/'; }
start_server() {
  if [ "$FAKE" = cpp ]; then
    LATENCY_MS=$1 PORT=0 MAX_SECONDS=3600 "$CPP_SERVER" >"$WORK/server.log" 2>&1 &
    SRV_PID=$!
    for _ in $(seq 100); do grep -q '^port ' "$WORK/server.log" 2>/dev/null && break; sleep 0.05; done
    PORT=$(awk '/^port / {print $2}' "$WORK/server.log")
  else
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    PORT=$PORT LATENCY_MS=$1 node "$SHARED_BENCH/fake_openai.js" >"$WORK/server.log" 2>&1 &
    SRV_PID=$!
  fi
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${PORT:-1}/stats" >/dev/null 2>&1 && return 0; sleep 0.05; done
  log "fake server did not start"; exit 1
}
stop_server() { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""; }

# A promptfoo config with n tests (contains + not-contains), like pf_bench_2000.yaml.
golden_set() {
  if [ "$1" = 2000 ] && [ -f "$SHARED_BENCH/pf_bench_2000.yaml" ]; then cat "$SHARED_BENCH/pf_bench_2000.yaml"; return; fi
  python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
print("description: bench\nprompts:\n- '{{q}}'\nproviders:\n- id: openai:chat:fake-model-1\n  config: {apiBaseUrl: http://127.0.0.1:18080/v1, apiKey: x}\ntests:")
for i in range(n):
    print(f"- assert:\n  - {{type: contains, value: number {i}}}\n  - {{type: not-contains, value: ERROR}}\n  vars: {{q: question number {i} about refunds}}")
PY
}

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
publish() {  # name cases
  golden_set "$2" >"$WORK/$1.yaml"
  "$DW" goldenset publish "$WORK/$1.yaml" --name "$1" -c "$WORK/driftwatch.yaml" -q >/dev/null
}
PORT=1; cfg
golden_set "$CASES" >"$WORK/pf.yaml"
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
replay_seconds() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["duration_seconds"])' "$1" 2>/dev/null || echo 0; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

PF_MAIN="$PF_SCRATCH/node_modules/promptfoo/dist/src/main.js"
if [ "${SKIP_PROMPTFOO:-0}" != 1 ] && [ ! -f "$PF_MAIN" ]; then
  log "installing promptfoo into $PF_SCRATCH"
  mkdir -p "$PF_SCRATCH"
  (cd "$PF_SCRATCH" && { [ -f package.json ] || npm init -y >/dev/null 2>&1; } &&
    npm install --no-audit --no-fund promptfoo >"$PF_SCRATCH/npm-install.log" 2>&1) || { log "npm install failed"; exit 1; }
fi
export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CACHE_ENABLED=false

echo "fake server: $FAKE; $CASES cases; $RUNS run(s) per setting; machine load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| tool | latency ms | -j | wall s | replay s | ideal s | efficiency %% | req/s | CPU s | peak RSS MB | requests |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for setting in $SETTINGS; do
  lat=${setting%%:*}; conc=${setting##*:}
  start_server "$lat"; cfg
  # Warm the server up (node's JIT) so the first measured run, whichever tool it is, is not charged for it.
  if [ "$lat" = 0 ] && command -v wrk >/dev/null; then
    body='{"model":"fake-model-1","messages":[{"role":"user","content":"warm up"}]}'
    echo "wrk.method='POST'; wrk.body='$body'; wrk.headers['Content-Type']='application/json'" >"$WORK/warm.lua"
    wrk -t1 -c64 -d2s -s "$WORK/warm.lua" "http://127.0.0.1:$PORT/v1/chat/completions" >/dev/null 2>&1 || true
  fi
  rounds=$(( (CASES + conc - 1) / conc ))
  ideal=$(echo "$rounds * $lat / 1000" | bc -l)
  : >"$WORK/walls.txt"; : >"$WORK/dw_rows.txt"; : >"$WORK/pf_rows.txt"; rm -f "$WORK/ceiling.txt"
  for _ in $(seq "$RUNS"); do
    read -r w c r n < <(measure dw "$DW" run -g pfbench -t fake -j "$conc" -q --format json -c "$WORK/driftwatch.yaml")
    grep -q "\"passed\": $CASES" "$WORK/dw.out" || log "driftwatch did not pass all $CASES cases (see $WORK/dw.out)"
    replay=$(replay_seconds "$WORK/dw.out")
    eff=$( [ "$lat" = 0 ] && echo "–" || printf '%.0f' "$(echo "100 * $ideal / $w" | bc -l)")
    echo "$w" >>"$WORK/walls.txt"
    echo "$w $c $r" >>"$WORK/dw_rows.txt"
    printf '| driftwatch | %s | %s | %.2f | %.2f | %.2f | %s | %.0f | %.2f | %s | %s |\n' "$lat" "$conc" "$w" "$replay" \
      "$ideal" "$eff" "$(echo "$CASES / $w" | bc -l)" "$c" "$r" "$n"
    if [ "${SKIP_PROMPTFOO:-0}" != 1 ]; then
      sed "s#http://127.0.0.1:18080/v1#http://127.0.0.1:$PORT/v1#" "$WORK/pf.yaml" >"$WORK/pf_port.yaml"
      read -r w c r n < <(measure pf env PROMPTFOO_CONFIG_DIR="$WORK/pfhome" node "$PF_MAIN" eval -c "$WORK/pf_port.yaml" \
        -j "$conc" --no-cache -o "$WORK/pf.json" --no-table --no-progress-bar)
      echo "$w $c $r" >>"$WORK/pf_rows.txt"
      eff=$( [ "$lat" = 0 ] && echo "–" || printf '%.0f' "$(echo "100 * $ideal / $w" | bc -l)")
      printf '| promptfoo | %s | %s | %.2f | | %.2f | %s | %.0f | %.2f | %s | %s |\n' "$lat" "$conc" "$w" "$ideal" "$eff" \
        "$(echo "$CASES / $w" | bc -l)" "$c" "$r" "$n"
    fi
  done
  if [ "$RUNS" -gt 1 ]; then
    m=$(median <"$WORK/walls.txt")
    eff=$( [ "$lat" = 0 ] && echo "–" || printf '%.0f' "$(echo "100 * $ideal / $m" | bc -l)")
    printf '| **driftwatch, median of %s** | %s | %s | %.2f | | %.2f | **%s** | %.0f | | | |\n' "$RUNS" "$lat" "$conc" "$m" \
      "$ideal" "$eff" "$(echo "$CASES / $m" | bc -l)"
  fi
  if [ "$lat" = 0 ] && command -v wrk >/dev/null; then
    body='{"model":"fake-model-1","messages":[{"role":"user","content":"question number 1 about refunds"}]}'
    echo "wrk.method='POST'; wrk.body='$body'; wrk.headers['Content-Type']='application/json'" >"$WORK/post.lua"
    rps=$(wrk -t1 -c64 -d5s -s "$WORK/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions" | awk '/Requests\/sec/ {print $2}')
    echo "| fake server ceiling (wrk, 64 conns) | 0 | 64 | | | | | $rps | | | |"
    echo "$rps" >"$WORK/ceiling.txt"
  fi
  # Ratios from the medians of this setting's runs (wall, CPU seconds, peak RSS).
  col_median() { awk -v k="$2" '{print $k}' "$1" | median; }
  dw_w=$(col_median "$WORK/dw_rows.txt" 1)
  if [ -s "$WORK/pf_rows.txt" ]; then
    dw_c=$(col_median "$WORK/dw_rows.txt" 2); dw_r=$(col_median "$WORK/dw_rows.txt" 3)
    pf_w=$(col_median "$WORK/pf_rows.txt" 1); pf_c=$(col_median "$WORK/pf_rows.txt" 2); pf_r=$(col_median "$WORK/pf_rows.txt" 3)
    printf '| **ratio driftwatch : promptfoo** | %s | %s | | | | | **%.1f× req/s** | **1/%.0f CPU** | **1/%.1f RSS** | |\n' \
      "$lat" "$conc" "$(echo "$pf_w / $dw_w" | bc -l)" "$(echo "$pf_c / $dw_c" | bc -l)" "$(echo "$pf_r / $dw_r" | bc -l)"
  fi
  if [ "$lat" = 0 ] && [ -s "$WORK/ceiling.txt" ]; then
    printf '| driftwatch share of the server ceiling (median run) | 0 | %s | | | | | %.0f%% | | | |\n' "$conc" \
      "$(echo "100 * ($CASES / $dw_w) / $(cat "$WORK/ceiling.txt")" | bc -l)"
  fi
  stop_server
done

# Memory: peak RSS against the size of the golden set (latency 0, -j 64).
if [ -n "$MEMORY_CASES" ]; then
  start_server 0; cfg
  echo
  printf '| cases | wall s | peak RSS MB | results |\n|---|---|---|---|\n'
  for n in $MEMORY_CASES; do
    publish "mem$n" "$n"
    read -r w c r _ < <(measure mem "$DW" run -g "mem$n" -t fake -j 64 -q --format json -c "$WORK/driftwatch.yaml")
    results=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["passed"])' "$WORK/mem.out" 2>/dev/null || echo "?")
    printf '| %s | %.2f | %s | %s passed |\n' "$n" "$w" "$r" "$results"
  done
  stop_server
fi

# Start-up: one case against a warm database and a fake server answering at once.
if [ "$STARTUP_RUNS" -gt 0 ]; then
  start_server 0; cfg
  publish one 1
  "$DW" run -g one -t fake -q -c "$WORK/driftwatch.yaml" >/dev/null  # warm-up
  : >"$WORK/startup.txt"
  for _ in $(seq "$STARTUP_RUNS"); do
    t0=$(date +%s%N)
    "$DW" run -g one -t fake -q -c "$WORK/driftwatch.yaml" >"$WORK/one.out" 2>&1 || log "one-case run failed: $(cat "$WORK/one.out")"
    echo "$(( ($(date +%s%N) - t0) / 1000 ))" >>"$WORK/startup.txt"
  done
  med=$(median <"$WORK/startup.txt")
  lo=$(sort -g "$WORK/startup.txt" | head -1); hi=$(sort -g "$WORK/startup.txt" | tail -1)
  printf '\none-case run (warm database, %s runs): median %.3f s (min %.3f, max %.3f)\n' "$STARTUP_RUNS" \
    "$(echo "$med / 1000000" | bc -l)" "$(echo "$lo / 1000000" | bc -l)" "$(echo "$hi / 1000000" | bc -l)"
  stop_server
fi
log "work dir $WORK"
