#!/usr/bin/env bash
# Jobs/s the queue sustains with real replays: one `driftwatch serve` with N
# workers against the fake OpenAI-compatible server (../shared/bench), every
# run triggered through the HTTP API (POST /api/v1/runs), completion polled
# through it. Prints jobs/s, results/s and the API's trigger latency.
#
#   bash bench/api_load.sh                      # 100 jobs x 20 cases, 4 workers, 4 targets
#   JOBS=200 WORKERS=8 TARGETS=8 bash bench/api_load.sh
# Knobs: DW (driftwatch binary), JOBS, CASES, WORKERS, TARGETS, SLOTS (jobs per
# target at once), LATENCY_MS, CONCURRENCY (calls in flight per run), SHARED_BENCH
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
DW=${DW:-$ROOT/build/driftwatch}
JOBS=${JOBS:-100}
CASES=${CASES:-20}
WORKERS=${WORKERS:-4}
TARGETS=${TARGETS:-4}
SLOTS=${SLOTS:-1}
LATENCY_MS=${LATENCY_MS:-0}
CONCURRENCY=${CONCURRENCY:-8}
WORK=$(mktemp -d /tmp/dwapiload.XXXXXX)
log() { printf '[api_load] %s\n' "$*" >&2; }
[ -x "$DW" ] || { log "no driftwatch binary at $DW (set DW=...)"; exit 2; }
command -v node >/dev/null || { log "node is required for the fake server"; exit 2; }
command -v curl >/dev/null || { log "curl is required"; exit 2; }

SRV_PID="" SERVE_PID=""
cleanup() {
  [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  wait 2>/dev/null || true
  "$DW" db stop -c "$WORK/driftwatch.yaml" >/dev/null 2>&1 || true
}
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'; }
now() { date +%s.%N; }

PORT=$(free_port)
PORT=$PORT LATENCY_MS=$LATENCY_MS node "$SHARED_BENCH/fake_openai.js" >"$WORK/fake.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/stats" >/dev/null 2>&1 && break; sleep 0.05; done

API_PORT=$(free_port)
{
  echo "database: {data_dir: $WORK/dw}"
  echo "targets:"
  for t in $(seq 0 $((TARGETS - 1))); do
    cat <<YAML
  t$t:
    provider: openai-chat
    base_url: http://127.0.0.1:$PORT/v1
    model: fake-model-1
    api_key_env: FAKE_KEY
    prompt: "{{q}}"
    concurrency: $CONCURRENCY
YAML
  done
  echo "metrics: {listen: 127.0.0.1:$API_PORT}"
} >"$WORK/driftwatch.yaml"
python3 - "$CASES" >"$WORK/gs.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("description: api load\nprompts:\n- '{{q}}'\ntests:")
for i in range(n):
    print(f"- assert:\n  - {{type: contains, value: number {i}}}\n  vars: {{q: question number {i}}}")
PY
export FAKE_KEY=x DRIFTWATCH_USER=bench
C=(-c "$WORK/driftwatch.yaml")
"$DW" goldenset publish "$WORK/gs.yaml" --name apiload "${C[@]}" -q >/dev/null
TOKEN=$("$DW" token create --name bench --scopes read,run --format json "${C[@]}" -q |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
if [ "$SLOTS" != 1 ]; then
  for t in $(seq 0 $((TARGETS - 1))); do "$DW" schedule slots "t$t" "$SLOTS" "${C[@]}" -q >/dev/null; done
fi

"$DW" serve "${C[@]}" --workers "$WORKERS" --lease 30 >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$API_PORT/readyz" >/dev/null || { log "serve did not become ready"; cat "$WORK/serve.log" >&2; exit 1; }

api() { curl -sf -H "Authorization: Bearer $TOKEN" "$@"; }
served_before=$(curl -sf "http://127.0.0.1:$PORT/stats" | tr -cd '0-9')
start=$(now)
for i in $(seq 0 $((JOBS - 1))); do
  api -X POST -H 'Content-Type: application/json' \
    -d "{\"goldenset\":\"apiload\",\"target\":\"t$((i % TARGETS))\"}" \
    "http://127.0.0.1:$API_PORT/api/v1/runs" >/dev/null
done
enqueued=$(now)
done_jobs=0
for _ in $(seq 6000); do
  done_jobs=$(api "http://127.0.0.1:$API_PORT/api/v1/jobs?state=done&limit=1000" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
  [ "$done_jobs" -ge "$JOBS" ] && break
  sleep 0.1
done
finish=$(now)
served_after=$(curl -sf "http://127.0.0.1:$PORT/stats" | tr -cd '0-9')
failed=$(api "http://127.0.0.1:$API_PORT/api/v1/jobs?state=failed&limit=1000" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
results=$(api "http://127.0.0.1:$API_PORT/api/v1/runs?goldenset=apiload&limit=500" |
  python3 -c 'import json,sys; print(sum((r.get("summary") or {}).get("results", 0) for r in json.load(sys.stdin)["runs"]))')
python3 - "$start" "$enqueued" "$finish" "$JOBS" "$done_jobs" "$failed" "$results" $((served_after - served_before)) \
  "$WORKERS" "$TARGETS" "$CASES" "$LATENCY_MS" <<'PY'
import sys
start, enq, fin = map(float, sys.argv[1:4])
jobs, done, failed, results, served, workers, targets, cases, lat = map(int, sys.argv[4:13])
wall = fin - start
print(f"| jobs | done | failed | workers | targets | cases/job | latency ms | wall s | jobs/s | results/s | provider calls | trigger ms/req |")
print(f"|---|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| {jobs} | {done} | {failed} | {workers} | {targets} | {cases} | {lat} | {wall:.2f} | {done / wall:.1f} | {results / wall:.0f} | {served} | {1000 * (enq - start) / jobs:.1f} |")
PY
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || true; SERVE_PID=""
log "serve logged $(grep -c '"event":"job.done"' "$WORK/serve.log") job.done events; work dir $WORK"
