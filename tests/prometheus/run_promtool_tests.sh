#!/bin/sh
# Validates the Prometheus configuration and rules shipped in config/prometheus/
# and runs the rules' promtool unit tests (tests/prometheus/*_test.yml). Exits non-zero on the
# first failure. PROMTOOL overrides the promtool binary.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
promtool=${PROMTOOL:-promtool}

if ! command -v "$promtool" >/dev/null 2>&1; then
  echo "run_promtool_tests.sh: $promtool not found (Debian package: prometheus)" >&2
  exit 1
fi

"$promtool" check config --lint=all --lint-fatal "$root"/config/prometheus/prometheus.example.yml
"$promtool" check rules --lint=all --lint-fatal "$root"/config/prometheus/driftwatch-*.yml
"$promtool" test rules "$root"/tests/prometheus/*_test.yml
