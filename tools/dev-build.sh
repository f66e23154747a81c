#!/usr/bin/env bash
# Incremental developer build: compiles icecore._core with CMake into build/dev and copies the
# extension next to the sources, so that `PYTHONPATH=python python -m pytest` uses the working
# tree directly (no pip install after Python edits). Pass extra CMake flags as arguments, e.g.
#   tools/dev-build.sh -DICECORE_WERROR=ON
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python}
builddir=${ICECORE_BUILD_DIR:-build/dev}
cmake -S . -B "$builddir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v "$py")" "$@" >/dev/null
cmake --build "$builddir" -j "${ICECORE_JOBS:-2}"
cp -f "$builddir"/_core*.so python/icecore/
echo "built $(ls python/icecore/_core*.so)"
