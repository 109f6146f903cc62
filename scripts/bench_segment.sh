#!/usr/bin/env bash
# segment (k-means) against scikit-learn KMeans and faiss (CPU) on the same
# machine and standardized rows: generated ROWS x FEATS customers, k = K.
# propscore at P = NP ranks (one thread each: OPENBLAS_NUM_THREADS=1; the
# fused AVX-512 assignment where the CPU has it, and once the OpenBLAS path), the
# peers with NP threads. Per Lloyd iteration: ITERS iterations, tol 0, the
# median of ROUNDS interleaved rounds;
# to convergence: each tool's defaults (propscore: k-means||, relative
# inertia change below 1e-6, --n-init 1).
#   usage: scripts/bench_segment.sh
#   env:   OUT (default /tmp/propscore-bench-segment), NP (2), ROWS (2000000),
#          FEATS (32), K (26), ITERS (20), ROUNDS (3)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BIN=$SRC/build/propscore
OUT=${OUT:-/tmp/propscore-bench-segment}
NP=${NP:-2}; ROWS=${ROWS:-2000000}; FEATS=${FEATS:-32}; K=${K:-26}; ITERS=${ITERS:-20}; ROUNDS=${ROUNDS:-3}
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
# Per Lloyd iteration: ROUNDS rounds, each propscore (fused), propscore
# (OpenBLAS path), scikit-learn, faiss back to back, so that each round's
# figures share the machine's load of that minute; the median of the rounds.
fixed_ps() { # $1: assign path (default|blas) -> s/iteration
  PROPSCORE_KMEANS_ASSIGN=$1 OPENBLAS_NUM_THREADS=1 mpirun -x PROPSCORE_KMEANS_ASSIGN -x OPENBLAS_NUM_THREADS \
    -n "$NP" "$BIN" segment --data "$DATA" --k "$K" --n-init 1 --max-iter "$ITERS" --tol 0 \
    --out "$OUT/p_fixed.h5" 2>&1 >/dev/null | sed -n 's/.*(\([0-9.]*\) s\/iteration.*/\1/p'
}
echo "## per Lloyd iteration (s), ${ITERS} iterations (tol 0), ${ROUNDS} rounds"
echo "round propscore propscore-openblas sklearn faiss load"
for r in $(seq 1 "$ROUNDS"); do
  a=$(fixed_ps default); b=$(fixed_ps blas)
  peers=$(python3 scripts/bench_segment_peer.py "$DATA" "$OUT/p_fixed.h5" "$K" "$ITERS" "$NP" fixed)
  c=$(echo "$peers" | sed -n 's/^sklearn.* \([0-9.]*\) s\/iteration/\1/p'); d=$(echo "$peers" | sed -n 's/^faiss.* \([0-9.]*\) s\/iteration/\1/p')
  echo "$r $a $b $c $d $(cut -d' ' -f1 /proc/loadavg)"
done | tee "$OUT/rounds.txt"
python3 - "$OUT/rounds.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l[0].isdigit()]
med = [statistics.median(float(r[i]) for r in rows) for i in (1, 2, 3, 4)]
print(f"median s/iteration: propscore {med[0]:.4f}, propscore OpenBLAS path {med[1]:.4f}, sklearn {med[2]:.4f}, "
      f"faiss {med[3]:.4f}; propscore faster: {med[2] / med[0]:.2f}x sklearn, {med[3] / med[0]:.2f}x faiss")
PY
echo "## to convergence (each tool's defaults, one initialization)"
OPENBLAS_NUM_THREADS=1 /usr/bin/time -f "propscore segment wall %e s, max RSS %M KiB (a rank)" \
  mpirun -x OPENBLAS_NUM_THREADS -n "$NP" "$BIN" segment --data "$DATA" --k "$K" --n-init 1 --out "$OUT/p_conv.h5" \
  2>&1 >/dev/null | grep -E "restart|wall"
python3 scripts/bench_segment_peer.py "$DATA" "$OUT/p_conv.h5" "$K" "$ITERS" "$NP" converged
echo "# load after: $(cut -d" " -f1-3 /proc/loadavg)"
