#!/usr/bin/env bash
# The test command: install dependencies, build the CPU build (build/), its
# ASan+UBSan twin (build-asan/, for the damaged-file tests), when nvcc is
# present the CUDA build (build-cuda/: it must compile and link), the
# emulated-device build (build-sim/: the CUDA backend, kernels and NCCL
# transport on tests/cudasim, no GPU needed) and a ThreadSanitizer build of
# the emulated GPU tests (build-tsan/), then run every ctest suite: all of
# build/, the GPU tests on the emulated device, the C-level GPU tests under
# ThreadSanitizer. The last line counts every test of the run, all builds.
#   usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS=$(nproc)
SUMMARY=$(mktemp)
trap 'rm -f "$SUMMARY"' EXIT

echo "== ASan + UBSan build (build-asan/, for the damaged-file tests)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPROPSCORE_SANITIZE=ON -DPROPSCORE_TESTS=OFF >/dev/null
cmake --build build-asan -j"$JOBS"

echo "== CPU build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROPSCORE_ASAN_BIN="$PWD/build-asan/propscore" >/dev/null
cmake --build build -j"$JOBS"

NVCC=$(command -v nvcc || true)
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -n "$NVCC" ]; then
  echo "== CUDA build (build-cuda/, $NVCC): compiles and links"
  cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROPSCORE_CUDA=ON -DPROPSCORE_TESTS=OFF \
        -DCMAKE_CUDA_COMPILER="$NVCC" >/dev/null
  cmake --build build-cuda -j"$JOBS"
  build-cuda/propscore --version
else
  echo "== CUDA build skipped: no nvcc on this machine"
fi

echo "== emulated-device build (build-sim/: the CUDA backend on tests/cudasim, no GPU)"
cmake -S . -B build-sim -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROPSCORE_CUDA_SIM=ON >/dev/null
cmake --build build-sim -j"$JOBS"

echo "== ThreadSanitizer build of the emulated GPU tests (build-tsan/)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROPSCORE_CUDA_SIM=ON -DPROPSCORE_TSAN=ON >/dev/null
# every C-level GPU test (ctest label gpu-c; its target is the test's name without "gpu.")
mapfile -t GPU_C_TESTS < <(cd build-tsan && ctest -N -L gpu-c | sed -n 's/^ *Test *#[0-9]*: gpu\.//p')
[ "${#GPU_C_TESTS[@]}" -gt 0 ] || { echo "test.sh: no gpu-c tests in build-tsan" >&2; exit 1; }
cmake --build build-tsan -j"$JOBS" --target "${GPU_C_TESTS[@]}"

# ctest in one build folder; its counts go to the summary
suite() {
  local dir=$1; shift
  echo "== tests ($dir/)"
  local log=$dir/ctest.log rc=0
  (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log" || rc=$?
  local total failed skipped
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -1)
  failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  skipped=$(grep -c '\*\*\*Skipped' "$log" || true)
  echo "$dir ${total:-0} ${failed:-1} ${skipped:-0}" >>"$SUMMARY"
  return $rc
}

status=0
suite build -j"$JOBS" "$@" || status=1
suite build-sim -L gpu -j"$JOBS" "$@" || status=1                    # GPU tests on the emulated device
export TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}"                 # a data race fails the test
suite build-tsan -L gpu-c -j"$JOBS" "$@" || status=1                 # ... under ThreadSanitizer
awk '{t += $2; f += $3; s += $4; d = d (d ? ", " : "") $1 " " $2} END {
  printf "== all tests: %d run, %d passed, %d failed, %d skipped (%s)\n", t, t - f - s, f, s, d }' "$SUMMARY"
exit $status
