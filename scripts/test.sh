#!/usr/bin/env bash
# The full test suite on a fresh machine: installs packages, builds, and runs
# every test (unit tests, integration tests against a real PostgreSQL that the
# suite starts under build/test-pg, promtool rule tests, real Prometheus,
# Pushgateway and Alertmanager on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --output-on-failure --timeout 600 "$@"
