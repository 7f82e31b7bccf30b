#!/usr/bin/env bash
# Developer build without pip: configures build/dev (or $BUILD_DIR), builds alphacut._core and
# copies it next to the sources, so `PYTHONPATH=python python -m pytest` runs the working tree.
# Extra CMake arguments pass through, e.g. tools/dev_build.sh -DALPHACUT_EMU=ON -DALPHACUT_CUDA=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/dev}
py=${PYTHON:-python3}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v "$py")" "$@" >/dev/null
cmake --build "$build_dir" -j "${JOBS:-2}"
cp -f "$build_dir"/_core*.so python/alphacut/
