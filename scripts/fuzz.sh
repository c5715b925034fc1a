#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan+UBSan) into
# build-fuzz and runs each one for a bounded time on a scratch copy of its
# checked-in seed corpus (fuzz/corpus/<target>), after replaying the inputs
# that once crashed it (fuzz/regressions/<target>). The checked-in corpus is
# never modified. Prints one line per target and exits 1 when any target
# crashed, leaked, timed out or ran out of memory; the failing inputs are
# kept under build-fuzz/fuzz-out/<target>/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      default $FUZZ_SECONDS, else 30
#   FUZZ_TARGETS="cron tzif" scripts/fuzz.sh  only these targets
#   FUZZ_MERGE=1 scripts/fuzz.sh 600          also fold new coverage into the
#                                             checked-in corpus (minimised)
#   FUZZ_BUILD_DIR=build-san scripts/fuzz.sh  reuse the sanitized test build
#
# http_api runs against an embedded PostgreSQL under build-fuzz/fuzz-pg
# (started by the target, stopped when this script ends).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh clang libclang-rt-14-dev >/dev/null

seconds=${1:-${FUZZ_SECONDS:-30}}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${JOBS:-$(nproc)}
targets=${FUZZ_TARGETS:-$(ls fuzz/corpus)}
out="$build_dir/fuzz-out"

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
# A build directory already configured with DRIFTWATCH_FUZZ=ON (such as the
# sanitized test build of scripts/sanitize.sh) is reused as it is.
if ! grep -q '^DRIFTWATCH_FUZZ:BOOL=ON' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DDRIFTWATCH_FUZZ=ON -DDRIFTWATCH_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build_dir" -j "$jobs" --target dw_fuzzers

stop_fuzz_pg() {
  local data="$build_dir/fuzz-pg/pg/data"
  [[ -f "$data/postmaster.pid" ]] || return 0
  local pg_ctl
  pg_ctl=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$pg_ctl" ]] || return 0
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  else
    "$pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
trap stop_fuzz_pg EXIT

rm -rf "$out"
mkdir -p "$out"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
rows=()
for t in $targets; do
  bin="$build_dir/fuzz/fuzz_$t"
  work="$out/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp fuzz/corpus/"$t"/* "$work/corpus/"
  dirs=("$work/corpus")
  [[ -d fuzz/regressions/$t ]] && dirs+=("fuzz/regressions/$t")
  echo "fuzz: $t for ${seconds}s"
  set +e
  "$bin" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "${dirs[@]}" >"$work/log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
  # No coverage line when the first input crashed: keep going to report it.
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/log" | tail -n 1 | awk '{print $2 "/" $4}' || true)
  units=$(ls "$work/corpus" | wc -l)
  artifacts=$(ls "$work/artifacts" | wc -l)
  result=ok
  if [[ $rc != 0 || $artifacts != 0 ]]; then
    result="FAILED (exit $rc; see $work/log)"
    failed=1
    grep -m 5 -E 'ERROR|invariant violated|runtime error|SUMMARY' "$work/log" || true
  fi
  rows+=("$(printf '%-20s %12s %8s %14s %7s  %s' "$t" "${execs:-0}" "${rate:-0}" "${cov:--}" "$units" "$result")")
  if [[ ${FUZZ_MERGE:-0} == 1 && $result == ok ]]; then
    mkdir -p "$work/merged"
    "$bin" -merge=1 -max_len=8192 -timeout=10 -rss_limit_mb=2048 "$work/merged" fuzz/corpus/"$t" "$work/corpus" \
      >"$work/merge.log" 2>&1
    rm -f fuzz/corpus/"$t"/*
    cp "$work/merged"/* fuzz/corpus/"$t"/
  fi
done

printf '\n%-20s %12s %8s %14s %7s  %s\n' target executions exec/s cov/features corpus result
printf '%s\n' "${rows[@]}"
exit $failed
