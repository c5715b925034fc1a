#!/usr/bin/env bash
# Installs every Debian 12 package Driftwatch needs to build, test and run,
# plus any package named on the command line (scripts/sanitize.sh adds the
# clang toolchain). Idempotent; needs root (or sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl procps tzdata python3 bc time
  libboost-dev libboost-program-options-dev
  libpqxx-dev libpq-dev postgresql
  libyaml-cpp-dev nlohmann-json3-dev libre2-dev libssl-dev libexpected-dev libvalijson-dev
  prometheus-cpp-dev libcurl4-openssl-dev zlib1g-dev
  libgtest-dev libgmock-dev
  prometheus prometheus-pushgateway prometheus-alertmanager
  chromium fonts-dejavu-core libpng-dev
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# Debian's prometheus packages try to start their daemons; there is no init
# system to start them here and the tests run their own on loopback.
$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
