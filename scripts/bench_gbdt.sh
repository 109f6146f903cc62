#!/usr/bin/env bash
# Gradient-boosted trees against LightGBM and XGBoost (hist) on the same
# machine and data: generated 1M x 64 and 4M x 32 (both heads), the same
# trees / leaves / bins / learning rate, threads = ranks = 2 (and propscore
# P = 1). Prints one row per run: training seconds (the whole train command
# for propscore: read, bin, fit, metrics, write), validation AUC per head,
# peak resident memory of the largest process, and propscore's phase times.
# When a GPU is lent (nvidia-smi sees one and the CUDA build exists), two
# more rows a size: propscore --device cuda (P=1, the tree kernels) and
# XGBoost device=cuda (hist, lossguide), same settings; on a GPU machine run
# it as  scripts/bench_gbdt.sh 20000000x64 10000000x256  (issue 11's sizes).
# The size `wide` is issue 26's wide, mostly-binary case: WIDE_ROWS x
# (WIDE_DENSE generated columns + WIDE_CATS one-hot categories of
# WIDE_LEVELS levels; scripts/bench_wide_data.py), default 1M x (100 + 60 x
# 15 = 900 0/1 columns); its propscore rows are P = NP with --bundle auto
# and off (the same model bits: the time of the histograms is the difference).
#   usage: scripts/bench_gbdt.sh [SIZES...]     (default "1000000x64 4000000x32 wide")
#   env:   OUT (work folder, default /tmp/propscore-bench-gbdt), NP (default 2),
#          CUDA_BIN (default build-cuda/propscore), GPU=0 to skip the GPU rows,
#          WIDE_ROWS, WIDE_DENSE, WIDE_CATS, WIDE_LEVELS (the wide case's shape),
#          WIDE_OFF=0 (skip the wide case's --bundle off rows: each is slow),
#          GRAD_BITS (propscore's --grad-bits values, one P = NP row each, default
#          "auto exact"), P1=1 (also P = 1 rows), ROUNDS (default 1: the runs of a size
#          are repeated ROUNDS times, interleaved: every run once, then again; a
#          median table follows), PEERS (default "lightgbm lightgbm-quant xgboost";
#          lightgbm-quant: use_quantized_grad). Early stopping is off
#          (--early-stopping 0): every run grows its 100 trees, as the peers do.
# Every row carries the 1-minute load average before it (/proc/loadavg; the
# machine has nproc cores: a load above that means shared cores). Before the
# runs, the machine's memory read bandwidth (a STREAM-like sum over 1 GiB with
# NP OpenMP threads, best of 5); propscore's rows give the histogram passes'
# bins read and their GB/s (rank 0), to set against it.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BIN=$SRC/build/propscore
OUT=${OUT:-/tmp/propscore-bench-gbdt}
NP=${NP:-2}
GRAD_BITS=${GRAD_BITS:-auto exact}
ROUNDS=${ROUNDS:-1}
PEERS=${PEERS:-lightgbm lightgbm-quant xgboost}
SIZES=${*:-"1000000x64 4000000x32 wide"}
WIDE_ROWS=${WIDE_ROWS:-1000000} WIDE_DENSE=${WIDE_DENSE:-100} WIDE_CATS=${WIDE_CATS:-60} WIDE_LEVELS=${WIDE_LEVELS:-15}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
python3 -c 'import lightgbm, xgboost' 2>/dev/null || python3 -m pip install -q lightgbm xgboost-cpu
[ -x "$BIN" ] || { cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" >/dev/null; }
mkdir -p "$OUT"
CUDA_BIN=${CUDA_BIN:-$SRC/build-cuda/propscore}
HAVE_GPU=0
if [ "${GPU:-1}" != 0 ] && nvidia-smi -L >/dev/null 2>&1 && [ -x "$CUDA_BIN" ]; then
  HAVE_GPU=1
  python3 -c 'import xgboost, sys; sys.exit(0 if xgboost.build_info().get("USE_CUDA") else 1)' 2>/dev/null ||
    python3 -m pip install -q xgboost || echo "# no CUDA XGBoost: its GPU row will fail"
  echo "# GPU: $(nvidia-smi -L | head -1)"
fi
echo "# bench_gbdt $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# 100 trees, 31 leaves, learning rate 0.1, 255 bins, min 20 rows a leaf, no subsampling; holdout 0.2 by id"
# the memory read bandwidth: NP threads summing a 1 GiB array (8-byte words), best of 5
cat > "$OUT/readbw.c" <<'EOF2'
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  size_t n = (size_t)1 << 27; /* 1 GiB of uint64 */
  uint64_t *a = malloc(n * sizeof *a), s = 0;
#pragma omp parallel for
  for (size_t i = 0; i < n; i++) a[i] = i;
  double best = 0;
  for (int r = 0; r < 5; r++) {
    double t = omp_get_wtime();
#pragma omp parallel for reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += a[i];
    t = omp_get_wtime() - t;
    if (n * 8 / t / 1e9 > best) best = n * 8 / t / 1e9;
  }
  printf("%.2f %llu\n", best, (unsigned long long)(s & 1));
  return 0;
}
EOF2
cc -O2 -fopenmp -o "$OUT/readbw" "$OUT/readbw.c"
echo "# memory read bandwidth: $(OMP_NUM_THREADS=$NP "$OUT/readbw" | cut -d' ' -f1) GB/s ($NP threads, 1 GiB, best of 5; load $(cut -d' ' -f1 /proc/loadavg))"
load() { cut -d' ' -f1 /proc/loadavg; }
ROWS=$OUT/rows.tsv
: > "$ROWS"

# peak RSS (KiB) of the largest child process of a command, and its wall time
measure() {
  python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
t0 = time.time()
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
dt = time.time() - t0
if r.returncode:
    sys.exit(r.stderr)
print(f"{dt:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.stdout.write(r.stdout)
sys.stderr.write(r.stderr)
EOF
}

# one propscore run: P, bundle mode, grad bits, the row's name
ps_run() {
  local p=$1 bundle=$2 gb=$3 name=$4 l res secs rss auc_c auc_p phases hist
  l=$(load)
  res=$(measure mpirun -n "$p" "$BIN" train --data "$data" --model "$OUT/m.h5" --model-type gbdt --bundle "$bundle" \
    --early-stopping 0 --grad-bits "$gb" 2>"$OUT/log")
  read -r secs rss <<<"$(head -1 <<<"$res")"
  auc_c=$(grep -o 'churn .*valid AUC [0-9.]*' <<<"$res" | awk '{print $NF}')
  auc_p=$(grep -o 'purchase_3m .*valid AUC [0-9.]*' <<<"$res" | awk '{print $NF}')
  phases=$(grep -o 'phases: .*' "$OUT/log" | sed 's/phases: //')
  hist=$(grep -o 'read [0-9.]* GB of bins on rank 0 ([0-9]* columns a row), [0-9.]* GB/s' "$OUT/log" |
    sed 's/ on rank 0 / /; s/ columns a row//')
  used=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parameters"].get("grad_bits", "?"))' \
    "$OUT/m.h5.manifest.json")
  [ "$gb" = auto ] && name="$name (=$used)"
  printf "%-10s %-5s %-40s %9s %9d %9s %9s %6s   %s; histograms %s\n" "$size" "$round" "$name" "$secs" \
    $((rss / 1024)) "$auc_c" "$auc_p" "$l" "$phases" "$hist"
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$size" "$name" "$secs" $((rss / 1024)) "$auc_c" "$auc_p" "$l" >> "$ROWS"
}

for size in $SIZES; do
  runs="" # P:bundle:bits
  [ "${P1:-0}" = 1 ] && for gb in $GRAD_BITS; do runs="$runs 1:auto:$gb"; done
  for gb in $GRAD_BITS; do runs="$runs $NP:auto:$gb"; done
  if [ "$size" = wide ]; then
    base=$OUT/d_${WIDE_ROWS}x${WIDE_DENSE}.h5
    data=$OUT/wide_${WIDE_ROWS}x${WIDE_DENSE}+${WIDE_CATS}x${WIDE_LEVELS}.h5
    size=${WIDE_ROWS}x$((WIDE_DENSE + WIDE_CATS * WIDE_LEVELS))
    [ -f "$base" ] || mpirun -n "$NP" "$BIN" gen --out "$base" --rows "$WIDE_ROWS" --features "$WIDE_DENSE" --quiet
    [ -f "$data" ] || python3 "$SRC/scripts/bench_wide_data.py" "$base" "$data" "$WIDE_CATS" "$WIDE_LEVELS"
    runs=""
    for gb in $GRAD_BITS; do runs="$runs $NP:auto:$gb"; [ "${WIDE_OFF:-1}" = 1 ] && runs="$runs $NP:off:$gb"; done
  else
    rows=${size%x*}; feats=${size#*x}
    data=$OUT/d_${rows}x${feats}.h5
    [ -f "$data" ] || mpirun -n "$NP" "$BIN" gen --out "$data" --rows "$rows" --features "$feats" --quiet
  fi
  printf "\n%-10s %-5s %-40s %9s %9s %9s %9s %6s   %s\n" "data" "round" "run" "train s" "peak MiB" "AUC churn" \
    "AUC purch" "load" "where the time goes"
  peers="$PEERS"
  [ "$HAVE_GPU" = 1 ] && peers="$peers xgboost-cuda"
  for round in $(seq 1 "$ROUNDS"); do
    for run in $runs; do
      IFS=: read -r p bundle gb <<<"$run"
      name="propscore P=$p --grad-bits $gb"
      [ "$bundle" = off ] && name="$name bundle off"
      ps_run "$p" "$bundle" "$gb" "$name"
    done
    if [ "$HAVE_GPU" = 1 ]; then # the tree kernels: rows resident on the GPU
      l=$(load)
      res=$(measure mpirun -n 1 "$CUDA_BIN" train --data "$data" --model "$OUT/m.h5" --model-type gbdt --device cuda \
        --early-stopping 0 --grad-bits "${GRAD_BITS%% *}" 2>"$OUT/log")
      read -r secs rss <<<"$(head -1 <<<"$res")"
      auc_c=$(grep -o 'churn .*valid AUC [0-9.]*' <<<"$res" | awk '{print $NF}')
      auc_p=$(grep -o 'purchase_3m .*valid AUC [0-9.]*' <<<"$res" | awk '{print $NF}')
      phases=$(grep -o 'phases: .*' "$OUT/log" | sed 's/phases: //')
      printf "%-10s %-5s %-40s %9s %9d %9s %9s %6s   %s\n" "$size" "$round" "propscore cuda P=1" "$secs" \
        $((rss / 1024)) "$auc_c" "$auc_p" "$l" "$phases"
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$size" "propscore cuda P=1" "$secs" $((rss / 1024)) "$auc_c" "$auc_p" \
        "$l" >> "$ROWS"
    fi
    for peer in $peers; do
      l=$(load)
      res=$(measure python3 "$SRC/scripts/bench_gbdt_peer.py" "$data" "$peer" "$NP")
      read -r _ rss <<<"$(head -1 <<<"$res")"
      read -r secs auc_c auc_p <<<"$(tail -1 <<<"$res")"
      who="$peer ($NP threads)"
      [ "$peer" = xgboost-cuda ] && who="xgboost device=cuda"
      printf "%-10s %-5s %-40s %9s %9d %9s %9s %6s   %s\n" "$size" "$round" "$who" "$secs" $((rss / 1024)) "$auc_c" \
        "$auc_p" "$l" "fit only (its binning included; reading the file not counted)"
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$size" "$who" "$secs" $((rss / 1024)) "$auc_c" "$auc_p" "$l" >> "$ROWS"
    done
  done
done
# medians over the rounds, per data and run
python3 - "$ROWS" <<'EOF2'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    size, name, secs, rss, ac, ap, load = line.rstrip("\n").split("\t")
    rows.setdefault((size, name), []).append((float(secs), int(rss), ac, ap, float(load)))
print(f"\n{'data':10} {'run':40} {'median s':>9} {'rounds s':>28} {'peak MiB':>9} {'AUC churn':>9} {'AUC purch':>9} loads")
for (size, name), v in rows.items():
    secs = [x[0] for x in v]
    print(f"{size:10} {name:40} {statistics.median(secs):9.2f} {' '.join(f'{x:.1f}' for x in secs):>28} "
          f"{max(x[1] for x in v):9d} {v[-1][2]:>9} {v[-1][3]:>9} {' '.join(f'{x[4]:.1f}' for x in v)}")
EOF2
