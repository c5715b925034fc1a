#!/usr/bin/env bash
# clang-tidy with the project's .clang-tidy (its bugprone checks are errors)
# over the sources, using build/compile_commands.json. Exits non-zero on any
# error-level finding.
#
#   bash scripts/tidy.sh              every .cc file under src/
#   bash scripts/tidy.sh FILE...      only these
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh clang-tidy >/dev/null
BUILD_DIR=${BUILD_DIR:-build}
[[ -f $BUILD_DIR/compile_commands.json ]] || bash scripts/build.sh
files=("$@")
[[ ${#files[@]} -gt 0 ]] || mapfile -t files < <(git ls-files 'src/*.cc')
echo "tidy: ${#files[@]} files"
printf '%s\n' "${files[@]}" |
  xargs -P "${JOBS:-$(nproc)}" -n 4 clang-tidy -p "$BUILD_DIR" --quiet 2> >(grep -v "warnings generated" >&2)
echo "tidy: clean"
