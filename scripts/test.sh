#!/usr/bin/env bash
# The test command: install dependencies, build the CPU build (build/), its
# ASan+UBSan twin (build-asan/) and, when nvcc is present, the CUDA build
# (build-cuda/), then run ctest in build/.
#   usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS=$(nproc)

echo "== ASan + UBSan build (build-asan/, for the damaged-file tests)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPROPSCORE_SANITIZE=ON -DPROPSCORE_TESTS=OFF
cmake --build build-asan -j"$JOBS"

echo "== CPU build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROPSCORE_ASAN_BIN="$PWD/build-asan/propscore"
cmake --build build -j"$JOBS"

NVCC=$(command -v nvcc || true)
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -n "$NVCC" ]; then
  echo "== CUDA build (build-cuda/, $NVCC)"
  cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROPSCORE_CUDA=ON \
        -DCMAKE_CUDA_COMPILER="$NVCC"
  cmake --build build-cuda -j"$JOBS"
  build-cuda/propscore --version
else
  echo "== CUDA build skipped: no nvcc on this machine"
fi

echo "== tests (build/)"
(cd build && ctest --output-on-failure -j"$JOBS" "$@")
if [ -n "$NVCC" ]; then
  # the GPU tests against the CPU twin: "Skipped" (no CUDA device) on a machine
  # without a GPU; scripts/gpu-check.sh runs them where there is one
  echo "== GPU tests (build-cuda/)"
  (cd build-cuda && ctest -L gpu --output-on-failure)
fi
