#!/usr/bin/env bash
# segment (k-means) against scikit-learn KMeans and faiss (CPU) on the same
# machine and standardized rows: generated ROWS x FEATS customers, k = K.
# propscore at P = NP ranks (one thread each: OPENBLAS_NUM_THREADS=1; the
# fused AVX-512 assignment where the CPU has it, and once the OpenBLAS path), the
# peers with NP threads. Per Lloyd iteration: ITERS iterations, tol 0;
# to convergence: each tool's defaults (propscore: k-means||, relative
# inertia change 1e-4, --n-init 1).
#   usage: scripts/bench_segment.sh
#   env:   OUT (default /tmp/propscore-bench-segment), NP (2), ROWS (2000000),
#          FEATS (32), K (26), ITERS (20)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BIN=$SRC/build/propscore
OUT=${OUT:-/tmp/propscore-bench-segment}
NP=${NP:-2}; ROWS=${ROWS:-2000000}; FEATS=${FEATS:-32}; K=${K:-26}; ITERS=${ITERS:-20}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
python3 -c 'import faiss, sklearn, threadpoolctl' 2>/dev/null || python3 -m pip install -q faiss-cpu scikit-learn
[ -x "$BIN" ] || { cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" >/dev/null; }
mkdir -p "$OUT"
echo "# bench_segment $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# load before: $(cut -d" " -f1-3 /proc/loadavg)"
echo "# ${ROWS} x ${FEATS} (gen --seed 7), k ${K}; propscore P=${NP} (1 thread a rank), peers ${NP} threads"
DATA=$OUT/d_${ROWS}x${FEATS}.h5
[ -f "$DATA" ] || mpirun -n "$NP" "$BIN" gen --out "$DATA" --rows "$ROWS" --features "$FEATS" --seed 7 --quiet
rm -f "$OUT"/p_fixed.h5 "$OUT"/p_blas.h5 "$OUT"/p_conv.h5
export OPENBLAS_NUM_THREADS=1
echo "## propscore: fixed ${ITERS} iterations (tol 0)"
mpirun -n "$NP" "$BIN" segment --data "$DATA" --k "$K" --n-init 1 --max-iter "$ITERS" --tol 0 --out "$OUT/p_fixed.h5" \
  2>&1 >/dev/null | grep -E "restart|wrote"
echo "## propscore: fixed ${ITERS} iterations, OpenBLAS SGEMM + argmin path (PROPSCORE_KMEANS_ASSIGN=blas)"
PROPSCORE_KMEANS_ASSIGN=blas mpirun -x PROPSCORE_KMEANS_ASSIGN -n "$NP" "$BIN" segment --data "$DATA" --k "$K" --n-init 1 \
  --max-iter "$ITERS" --tol 0 --out "$OUT/p_blas.h5" 2>&1 >/dev/null | grep -E "restart"
echo "## propscore: to convergence (defaults, --n-init 1)"
/usr/bin/time -f "propscore segment wall %e s, max RSS %M KiB (a rank)" \
  mpirun -n "$NP" "$BIN" segment --data "$DATA" --k "$K" --n-init 1 --out "$OUT/p_conv.h5" 2>&1 >/dev/null \
  | grep -E "restart|wall"
unset OPENBLAS_NUM_THREADS
echo "## peers"
python3 scripts/bench_segment_peer.py "$DATA" "$OUT/p_conv.h5" "$K" "$ITERS" "$NP"
