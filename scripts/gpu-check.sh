#!/usr/bin/env bash
# Every GPU check in one command, for a machine with a GPU (see ../README and
# the device recipe in DEVELOPERS.md):
#   1. check the carried CUDA build (build-cuda/, built on the development machine)
#   2. the GPU tests -- each kernel vs its CPU twin (test_logreg_kernels,
#      test_gbdt_kernels, test_sum_parts), the CUDA backend vs its CPU twin,
#      --device cuda end to end (logreg; gbdt: model bytes = --device cpu) --
#      the same tests CI runs on the emulated device (docs/TESTING.md);
#      on a GPU machine a skip is a failure
#   3. compute-sanitizer memcheck, racecheck and synccheck on the kernel tests,
#      memcheck and racecheck on a small train and score (logreg and trees)
#   4. the kernel benches (propscore-bench: every kernel -- logreg, trees,
#      k-means, sum_parts -- validated against its CPU twin, then timed; the
#      tree kernels at F=64 too) and the PyTorch equivalents
#      (scripts/bench_torch.py), plus the full-fit comparison unless NO_FIT=1
# Logs go to $OUT (the device tool's folder) when set, else build-cuda/gpu-check.
#   usage: [source scripts/gpu-runtime-env.sh .gpu-runtime;] scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=${OUT:-build-cuda/gpu-check}
mkdir -p "$LOG"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
status=0
step() { echo; echo "== $*"; }
nvidia-smi -L || true

step "build (build-cuda/, carried from the development machine)"
# The GPU machine has no MPI/HDF5 headers: build here with
#   cmake -S . -B build-cuda -DPROPSCORE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 && cmake --build build-cuda -j
# and carry build-cuda/ and .gpu-runtime/ (see DEVELOPERS.md). Tests run
# directly (ctest's files hold the build machine's paths).
GPU_TESTS="test_logreg_kernels test_gbdt_kernels test_shap_kernels test_kmeans_kernels test_sum_parts test_cuda_backend test_gbdt_backend test_kmeans_backend"
for t in propscore propscore-bench $(printf 'tests/%s ' $GPU_TESTS); do
  [ -x build-cuda/$t ] || missing="${missing:-} $t"
done
if [ -n "${missing:-}" ]; then
  echo "build-cuda/ lacks$missing: build it with -DPROPSCORE_CUDA=ON (tests on) and carry it"
  exit 1
fi
build-cuda/propscore --version
export PROPSCORE_BIN=$PWD/build-cuda/propscore PROPSCORE_SRC=$PWD MPIEXEC=mpirun

step "GPU tests: kernels and CUDA backend vs their CPU twins, --device cuda end to end"
: >"$LOG/gpu-tests.log"
for t in $GPU_TESTS; do
  OPENBLAS_NUM_THREADS=1 mpirun -n 1 build-cuda/tests/$t 2>&1 | tee -a "$LOG/gpu-tests.log"
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || { echo "$t: exit $rc (77 = no CUDA device: a failure here)"; status=1; }
done
python3 -m pytest -q -s -p no:cacheprovider tests/gpu/test_gpu_cli.py tests/gpu/test_gbdt_gpu.py \
  tests/gpu/test_segment_gpu.py tests/gpu/test_explain_gpu.py 2>&1 \
  | tee -a "$LOG/gpu-tests.log"
rc=${PIPESTATUS[0]}
grep -q "no CUDA device" "$LOG/gpu-tests.log" && { echo "GPU tests were skipped on a GPU machine"; status=1; }
[ "$rc" -eq 0 ] || { echo "test_gpu_cli: exit $rc"; status=1; }

step "compute-sanitizer (memcheck, racecheck, synccheck) on the kernel tests and a small case"
for tool in memcheck racecheck synccheck; do
  for t in test_logreg_kernels test_gbdt_kernels test_shap_kernels test_kmeans_kernels test_sum_parts; do
    compute-sanitizer --tool $tool --error-exitcode 9 build-cuda/tests/$t >>"$LOG/sanitizer.log" 2>&1
    rc=$?
    echo "$tool: $t: exit $rc"
    [ $rc -eq 0 ] || status=1
  done
done
D=$(mktemp -d)
build-cuda/propscore gen --out "$D/d.h5" --rows 20000 --features 40 --quiet
for tool in memcheck racecheck; do
  for cmd in "train --data $D/d.h5 --model $D/m.h5 --device cuda --quiet" \
             "train --data $D/d.h5 --model $D/n.h5 --device cuda --solver newton --x-dtype bf16 --quiet" \
             "score --data $D/d.h5 --model $D/m.h5 --out $D/s.h5 --device cuda --quiet" \
             "train --data $D/d.h5 --model $D/g.h5 --model-type gbdt --trees 5 --device cuda --quiet" \
             "score --data $D/d.h5 --model $D/g.h5 --out $D/t.h5 --device cuda --quiet"; do
    compute-sanitizer --tool $tool --error-exitcode 9 build-cuda/propscore $cmd >>"$LOG/sanitizer.log" 2>&1
    rc=$?
    echo "$tool: propscore ${cmd%% *}: exit $rc"
    [ $rc -eq 0 ] || status=1
  done
done
compute-sanitizer --tool memcheck --error-exitcode 9 build-cuda/propscore-bench --rows 100000 --reps 1 \
  >>"$LOG/sanitizer.log" 2>&1 || { echo "memcheck: propscore-bench failed"; status=1; }
tail -3 "$LOG/sanitizer.log"

step "kernel benches (propscore-bench, every kernel at N=20M F=256; the tree kernels at F=64 too)"
build-cuda/propscore-bench --rows ${BENCH_ROWS:-20000000} --features 256 2>&1 | tee "$LOG/bench.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "propscore-bench: a kernel disagrees with its CPU twin"; status=1; }
build-cuda/propscore-bench --rows ${BENCH_ROWS:-20000000} --features 64 --kernels trees 2>&1 | tee -a "$LOG/bench.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "propscore-bench (trees, F=64): a kernel disagrees with its CPU twin"; status=1; }

step "PyTorch equivalents (scripts/bench_torch.py)"
FIT=--fit
[ "${NO_FIT:-0}" = 1 ] && FIT=
python3 scripts/bench_torch.py --rows ${BENCH_ROWS:-20000000} --fit-rows ${FIT_ROWS:-20000000} $FIT \
  --propscore build-cuda/propscore 2>&1 | tee "$LOG/bench_torch.txt"

echo
[ $status -eq 0 ] && echo "gpu-check: all checks passed" || echo "gpu-check: FAILURES (logs in $LOG)"
exit $status
