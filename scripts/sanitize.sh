#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# Builds with clang into build-san (or $SAN_BUILD_DIR) with DRIFTWATCH_FUZZ=ON,
# which instruments every library and test for ASan+UBSan (and libFuzzer
# coverage, so the same build also holds the fuzz targets scripts/fuzz.sh
# runs), then runs every test. Any ASan report, leak or undefined behaviour
# fails the test it happens in.
#
#   bash scripts/sanitize.sh [ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh clang libclang-rt-14-dev
BUILD_DIR=${SAN_BUILD_DIR:-build-san}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
# -O1 keeps sanitized code fast enough; line tables are all a report needs.
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DDRIFTWATCH_FUZZ=ON -DDRIFTWATCH_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Third-party leaks only (each explained in the file); inherited by the
# driftwatch processes the tests start.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
ctest --test-dir "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --output-on-failure --timeout 900 "$@"
