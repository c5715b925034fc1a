#!/usr/bin/env bash
# Soak: one long `driftwatch run` (embedded PostgreSQL, an openai-chat target
# at a loopback fake server) with the process sampled every second: resident
# memory, open file descriptors, established TCP connections to the server
# and calls served. Prints the samples as a table and a verdict; exits 1 when
# a verdict fails, 2 when it cannot run.
#
#   bash bench/soak.sh                                # 50,000 calls, -j 128, 50 ms latency
#   CALLS=5000 CONCURRENCY=16 bash bench/soak.sh      # the bounded CI size
#
# Knobs (environment):
#   CALLS          calls in the run (default 50000) = cases x REPEAT
#   REPEAT         repeats per case (default 10; cases = CALLS / REPEAT)
#   CONCURRENCY    calls in flight (default 128)
#   LATENCY_MS     fake server delay per answer (default 50)
#   INTERVAL       seconds between samples (default 1)
#   RSS_GROWTH_MB  allowed RSS growth from 25% of the run to its end (default 10)
#   FD_SLACK       allowed descriptors beyond CONCURRENCY (default 32)
#   CONN_SLACK     allowed connections beyond CONCURRENCY, open and opened in total (default 4)
#   THROUGHPUT_PCT allowed deviation of each decile's throughput from the median (default 25)
#   MAX_SECONDS    the run is stopped (and the soak fails) after this long (default 1200)
#   DW             the driftwatch binary (default build/driftwatch)
#   FAKE_SERVER    the fake server binary (default build/bench/fake_openai_server)
#   KEEP_WORK=1    keep the work directory (samples.tsv, the run's output, the database)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CALLS=${CALLS:-50000}
REPEAT=${REPEAT:-10}
CONCURRENCY=${CONCURRENCY:-128}
LATENCY_MS=${LATENCY_MS:-50}
INTERVAL=${INTERVAL:-1}
RSS_GROWTH_MB=${RSS_GROWTH_MB:-10}
FD_SLACK=${FD_SLACK:-32}
CONN_SLACK=${CONN_SLACK:-4}
THROUGHPUT_PCT=${THROUGHPUT_PCT:-25}
MAX_SECONDS=${MAX_SECONDS:-1200}
DW=${DW:-$ROOT/build/driftwatch}
FAKE_SERVER=${FAKE_SERVER:-$(dirname "$DW")/bench/fake_openai_server}
log() { printf '[soak] %s\n' "$*" >&2; }

[ -x "$DW" ] || { log "no driftwatch binary at $DW: build first (scripts/build.sh)"; exit 2; }
[ -x "$FAKE_SERVER" ] || { log "no fake server at $FAKE_SERVER: build the fake_openai_server target"; exit 2; }
command -v python3 >/dev/null || { log "python3 is required"; exit 2; }
command -v curl >/dev/null || { log "curl is required"; exit 2; }
if [ $((CALLS % REPEAT)) -ne 0 ] || [ "$CALLS" -lt "$REPEAT" ]; then
  log "CALLS ($CALLS) must be a positive multiple of REPEAT ($REPEAT)"; exit 2
fi
CASES=$((CALLS / REPEAT))

WORK=$(mktemp -d /tmp/dwsoak.XXXXXX)
SRV_PID="" DW_PID=""
cleanup() {
  [ -n "$DW_PID" ] && kill "$DW_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  wait 2>/dev/null || true
  "$DW" db stop -c "$WORK/driftwatch.yaml" >/dev/null 2>&1 || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The fake server, on an ephemeral loopback port; stops by itself at the latest
# a while after the run's own limit.
MAX_SECONDS=$((MAX_SECONDS + 600)) LATENCY_MS=$LATENCY_MS PORT=0 "$FAKE_SERVER" >"$WORK/server.out" 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do grep -q '^port ' "$WORK/server.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(awk '/^port / {print $2}' "$WORK/server.out")
[ -n "$PORT" ] || { log "the fake server did not start"; exit 2; }
stat_field() { curl -sf "http://127.0.0.1:$PORT/stats" | sed -E "s/.*\"$1\":([0-9]+).*/\\1/"; }

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
python3 - "$CASES" >"$WORK/cases.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"vars": {"q": f"question number {i} about refunds"},
                      "assert": [{"type": "contains", "value": f"number {i}"},
                                 {"type": "not-contains", "value": "ERROR"}]}))
PY
export DRIFTWATCH_USER=soak
log "publishing $CASES cases (x $REPEAT repeats = $CALLS calls), server 127.0.0.1:$PORT, latency $LATENCY_MS ms"
"$DW" goldenset publish "$WORK/cases.jsonl" --name soak -c "$WORK/driftwatch.yaml" -q >/dev/null

# tcp_connections: established client-side connections to the server's port.
port_hex=$(printf '%04X' "$PORT")
tcp_connections() {
  awk -v p=":$port_hex" '$3 ~ p"$" && $4 == "01" {n++} END {print n + 0}' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

served_before=$(stat_field served)
opened_before=$(stat_field call_connections)
log "running driftwatch run -j $CONCURRENCY --repeat $REPEAT; sampling every $INTERVAL s"
start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$start" 'BEGIN {printf "%.3f", a - b}'; }
"$DW" run -g soak -t fake -j "$CONCURRENCY" -r "$REPEAT" -q --format json -c "$WORK/driftwatch.yaml" \
  >"$WORK/run.json" 2>"$WORK/run.err" &
DW_PID=$!
printf 't\trss_kb\tfds\ttcp\tserved\n' >"$WORK/samples.tsv"
timed_out=0
while kill -0 "$DW_PID" 2>/dev/null; do
  now=$(date +%s.%N)
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$DW_PID/status" 2>/dev/null || true)
  fds=$(find "/proc/$DW_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l || true)
  tcp=$(tcp_connections)
  served=$(stat_field served || echo "")
  if [ -n "$rss" ] && [ -n "$served" ]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$(elapsed "$now")" "$rss" "$fds" "$tcp" "$((served - served_before))" \
      >>"$WORK/samples.tsv"
  fi
  if awk -v e="$(elapsed "$now")" -v m="$MAX_SECONDS" 'BEGIN {exit !(e > m)}'; then
    log "the run exceeded MAX_SECONDS=$MAX_SECONDS: stopping it"
    timed_out=1
    kill -INT "$DW_PID" 2>/dev/null || true
    break
  fi
  sleep "$INTERVAL"
done
set +e
wait "$DW_PID"
rc=$?
set -e
DW_PID=""
wall=$(elapsed "$(date +%s.%N)")
sleep 0.2  # let the server notice the closed connections
served_total=$(($(stat_field served) - served_before))
opened_total=$(($(stat_field call_connections) - opened_before))
open_after=$(($(stat_field open_connections) - 1))  # minus the /stats request itself

python3 - "$WORK" <<PY
import json, statistics, sys
work = sys.argv[1]
calls, conc = $CALLS, $CONCURRENCY
rss_growth_mb, fd_slack, conn_slack, tput_pct = $RSS_GROWTH_MB, $FD_SLACK, $CONN_SLACK, $THROUGHPUT_PCT
rc, timed_out, wall = $rc, $timed_out, $wall
served_total, opened_total, open_after = $served_total, $opened_total, $open_after
rows = []
with open(f"{work}/samples.tsv") as f:
    next(f)
    for line in f:
        t, rss, fds, tcp, served = line.split()
        rows.append((float(t), int(rss), int(fds), int(tcp), int(served)))
try:
    summary = json.load(open(f"{work}/run.json"))["summary"]
except Exception:
    summary = {}

print(f"soak: {calls} calls (-j {conc}, fake server latency $LATENCY_MS ms), sampled every $INTERVAL s\n")
print("| t s | RSS MB | fds | TCP to server | calls served | calls/s |")
print("|---|---|---|---|---|---|")
step = max(1, len(rows) // 40)
prev = (0.0, 0)
for i, (t, rss, fds, tcp, served) in enumerate(rows):
    rate = (served - prev[1]) / (t - prev[0]) if t > prev[0] else 0
    if i % step == 0 or i == len(rows) - 1:
        print(f"| {t:.1f} | {rss / 1024:.1f} | {fds} | {tcp} | {served} | {rate:.0f} |")
    prev = (t, served)

checks = []
def check(name, ok, detail):
    checks.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
def skip(name, detail):
    print(f"SKIP  {name}: {detail}")

print()
check("run", rc == 0 and not timed_out and summary.get("results") == calls and summary.get("passed") == calls,
      f"exit {rc}, {summary.get('results')} results, {summary.get('passed')} passed, wall {wall:.1f} s, "
      f"replay {summary.get('duration_seconds', 0):.1f} s")
check("calls served", served_total == calls, f"{served_total} answered by the server (expected {calls})")
# Memory: from the sample at 25% of the calls to the end of the run.
busy = [r for r in rows if r[4] > 0]
if busy:
    quarter = next((r for r in busy if r[4] >= calls * 0.25), busy[0])
    later = [r for r in rows if r[0] >= quarter[0]]
    growth = (max(r[1] for r in later) - quarter[1]) / 1024
    check("RSS flat", growth < rss_growth_mb,
          f"{quarter[1] / 1024:.1f} MB at 25% of the calls, peak after {max(r[1] for r in later) / 1024:.1f} MB "
          f"(growth {growth:.1f} MB, limit {rss_growth_mb} MB)")
else:
    check("RSS flat", False, "no sample while calls were served")
max_fds = max((r[2] for r in rows), default=0)
check("file descriptors bounded", max_fds <= conc + fd_slack, f"peak {max_fds} (limit {conc} + {fd_slack})")
max_tcp = max((r[3] for r in rows), default=0)
check("connections bounded", max_tcp <= conc + conn_slack and opened_total <= conc + conn_slack,
      f"peak {max_tcp} established, {opened_total} opened in total (limit {conc} + {conn_slack})")
check("connections closed", open_after == 0, f"{open_after} still open at the server after the run")
# Throughput: calls/s over the sampling intervals that lie wholly inside the
# busy period (the first saw calls already, the last not yet all of them), so
# start-up and the end of the run do not count as slowness; those intervals
# are grouped into tenths of the busy period.
inside = [(a[0], b[0], b[4] - a[4]) for a, b in zip(rows, rows[1:]) if a[4] > 0 and b[4] < calls]
if served_total != calls:
    check("throughput steady", False, "the calls were not all served")
elif len(inside) < 10:
    skip("throughput steady", f"{len(inside)} sampling intervals inside the run: too short to judge tenths (needs 10)")
else:
    t0, t1 = inside[0][0], inside[-1][1]
    tenths = [[0.0, 0] for _ in range(10)]
    for a, b, n in inside:
        k = min(9, int(((a + b) / 2 - t0) / (t1 - t0) * 10))
        tenths[k][0] += b - a
        tenths[k][1] += n
    rates = [n / t for t, n in tenths if t > 0]
    med = statistics.median(rates)
    worst = max(abs(r - med) / med * 100 for r in rates)
    check("throughput steady", worst <= tput_pct,
          "calls/s per tenth of the run: " + " ".join(f"{r:.0f}" for r in rates) +
          f" (median {med:.0f}; worst deviation {worst:.0f}%, limit {tput_pct}%)")
print(f"\nsoak: {'PASS' if all(checks) else 'FAIL'} ({sum(checks)}/{len(checks)} checks)")
sys.exit(0 if all(checks) else 1)
PY
