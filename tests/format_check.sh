#!/usr/bin/env bash
# Every C++ file of the repository is formatted as .clang-format says (Debian's
# clang-format, installed by packaging/install-deps.sh). Lists the files that
# are not and exits 1. `tests/format_check.sh --fix` formats them in place.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "FAIL: clang-format is not installed (run packaging/install-deps.sh)" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard '*.cpp' '*.hpp')
else
  mapfile -t files < <(find src tests fuzz bench -name '*.cpp' -o -name '*.hpp' 2>/dev/null | sort)
fi
if [ "${1:-}" = --fix ]; then
  clang-format -i --style=file "${files[@]}"
  exit 0
fi
# One clang-format for all files; it names each file it would change.
mapfile -t bad < <(clang-format --style=file --dry-run "${files[@]}" 2>&1 |
  sed -n 's/^\(.*\):[0-9]*:[0-9]*: warning: code should be clang-formatted.*/\1/p' | sort -u)
if [ ${#bad[@]} -gt 0 ]; then
  echo "FAIL: ${#bad[@]} of ${#files[@]} files are not formatted as .clang-format says (fix: tests/format_check.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "ok: ${#files[@]} files formatted"
