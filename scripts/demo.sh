#!/usr/bin/env bash
# The main job end to end on a fresh machine: installs packages, builds, starts
# the embedded PostgreSQL under .driftwatch/, publishes the example golden set,
# replays it on the simulated model, signs off a baseline, re-runs, catches a
# drifted prompt version and verifies the audit trail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/driftwatch demo "$@"
