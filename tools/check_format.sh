#!/usr/bin/env bash
# Formatting and lint gate: exits non-zero when a file is not formatted as the repository says.
#   C++/CUDA: clang-format (style in .clang-format) over csrc/; required (pip install clang-format).
#   Python:   ruff format --check and ruff check over python/ tests/ bench/ tools/ compat/, when
#             ruff is installed (pip install ruff); skipped with a note otherwise.
# Usage: tools/check_format.sh [PATH...]   (default: the whole tree; PATHs narrow it, e.g. csrc/bindings)
# To fix rather than check: clang-format -i FILE...; ruff format PATH...
set -euo pipefail
cd "$(dirname "$0")/.."

paths=("$@")
[ ${#paths[@]} -eq 0 ] && paths=(csrc python tests bench tools compat)
status=0

cxx_files=()
while IFS= read -r -d '' f; do cxx_files+=("$f"); done < <(
  for p in "${paths[@]}"; do
    [ -e "$p" ] || continue
    find "$p" -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) -print0
  done | sort -z)

if [ ${#cxx_files[@]} -gt 0 ]; then
  if ! command -v clang-format >/dev/null; then
    echo "check_format: clang-format is not installed (pip install clang-format)" >&2
    exit 2
  fi
  echo "+ clang-format --dry-run -Werror (${#cxx_files[@]} files, $(clang-format --version | head -1))"
  clang-format --dry-run -Werror "${cxx_files[@]}" || status=1
fi

py_paths=()
for p in "${paths[@]}"; do
  [ -e "$p" ] || continue
  if [[ "$p" == *.py || "$p" == *.pyi ]] || [ -n "$(find "$p" -type f \( -name '*.py' -o -name '*.pyi' \) -print -quit)" ]; then
    py_paths+=("$p")
  fi
done
if [ ${#py_paths[@]} -gt 0 ]; then
  if command -v ruff >/dev/null; then
    # The type stub of _core is generated (tools/gen_core_stubs.py --check guards it).
    generated=(--extend-exclude python/alphacut/_core.pyi)
    echo "+ ruff format --check ${py_paths[*]}"
    ruff format --check "${generated[@]}" "${py_paths[@]}" || status=1
    echo "+ ruff check ${py_paths[*]}"
    ruff check "${generated[@]}" "${py_paths[@]}" || status=1
  else
    echo "check_format: ruff is not installed; Python files not checked (pip install ruff)"
  fi
fi

exit $status
