#!/usr/bin/env bash
# clang-tidy with the project's .clang-tidy (its bugprone checks are errors)
# over the sources, using build/compile_commands.json. Exits non-zero on any
# error-level finding.
#
#   bash scripts/tidy.sh                      every .cc file under src/
#   bash scripts/tidy.sh FILE...              only these
#   TIDY_SINCE=HEAD~20 bash scripts/tidy.sh   the src/ .cc files changed since
#                                             that commit (what CI checks)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh clang-tidy >/dev/null
BUILD_DIR=${BUILD_DIR:-build}
[[ -f $BUILD_DIR/compile_commands.json ]] || bash scripts/build.sh
files=("$@")
if [[ ${#files[@]} -eq 0 && -n ${TIDY_SINCE:-} ]]; then
  # A shallow history shorter than TIDY_SINCE checks everything.
  if git rev-parse -q --verify "$TIDY_SINCE^{commit}" >/dev/null; then
    mapfile -t files < <(git diff --name-only --diff-filter=d "$TIDY_SINCE" -- 'src/*.cc')
    [[ ${#files[@]} -gt 0 ]] || { echo "tidy: no source changed since $TIDY_SINCE"; exit 0; }
  fi
fi
[[ ${#files[@]} -gt 0 ]] || mapfile -t files < <(git ls-files 'src/*.cc')
echo "tidy: ${#files[@]} files"
printf '%s\n' "${files[@]}" |
  xargs -P "${JOBS:-$(nproc)}" -n 4 clang-tidy -p "$BUILD_DIR" --quiet 2> >(grep -v "warnings generated" >&2)
echo "tidy: clean"
