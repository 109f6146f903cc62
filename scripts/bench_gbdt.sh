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
#          GRAD_BITS (propscore's --grad-bits, default exact). Early stopping
#          is off (--early-stopping 0): every run grows its 100 trees, as the peers do.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BIN=$SRC/build/propscore
OUT=${OUT:-/tmp/propscore-bench-gbdt}
NP=${NP:-2}
GRAD_BITS=${GRAD_BITS:-exact}
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

for size in $SIZES; do
  runs="1 $NP" # P, or P:--bundle mode (the wide case)
  if [ "$size" = wide ]; then
    base=$OUT/d_${WIDE_ROWS}x${WIDE_DENSE}.h5
    data=$OUT/wide_${WIDE_ROWS}x${WIDE_DENSE}+${WIDE_CATS}x${WIDE_LEVELS}.h5
    size=${WIDE_ROWS}x$((WIDE_DENSE + WIDE_CATS * WIDE_LEVELS))
    [ -f "$base" ] || mpirun -n "$NP" "$BIN" gen --out "$base" --rows "$WIDE_ROWS" --features "$WIDE_DENSE" --quiet
    [ -f "$data" ] || python3 "$SRC/scripts/bench_wide_data.py" "$base" "$data" "$WIDE_CATS" "$WIDE_LEVELS"
    runs="$NP:auto $NP:off"
  else
    rows=${size%x*}; feats=${size#*x}
    data=$OUT/d_${rows}x${feats}.h5
    [ -f "$data" ] || mpirun -n "$NP" "$BIN" gen --out "$data" --rows "$rows" --features "$feats" --quiet
  fi
  printf "\n%-10s %-22s %9s %9s %9s %9s   %s\n" "data" "run" "train s" "peak MiB" "AUC churn" "AUC purch" "where the time goes"
  for run in $runs; do
    p=${run%%:*} bundle=auto name="propscore P=${run%%:*}"
    [ "$run" != "$p" ] && bundle=${run#*:} name="propscore P=$p bundle $bundle"
    res=$(measure mpirun -n "$p" "$BIN" train --data "$data" --model "$OUT/m.h5" --model-type gbdt --bundle "$bundle" \
      --early-stopping 0 --grad-bits "$GRAD_BITS" 2>"$OUT/log")
    read -r secs rss <<<"$(head -1 <<<"$res")"
    auc_c=$(grep -o 'churn .*valid AUC [0-9.]*' <<<"$res" | awk '{print $NF}')
    auc_p=$(grep -o 'purchase_3m .*valid AUC [0-9.]*' <<<"$res" | awk '{print $NF}')
    phases=$(grep -o 'phases: .*' "$OUT/log" | sed 's/phases: //')
    printf "%-10s %-22s %9s %9d %9s %9s   %s\n" "$size" "$name" "$secs" $((rss / 1024)) "$auc_c" "$auc_p" "$phases"
  done
  if [ "$HAVE_GPU" = 1 ]; then # the tree kernels: rows resident on the GPU
    res=$(measure mpirun -n 1 "$CUDA_BIN" train --data "$data" --model "$OUT/m.h5" --model-type gbdt --device cuda \
      --early-stopping 0 --grad-bits "$GRAD_BITS" 2>"$OUT/log")
    read -r secs rss <<<"$(head -1 <<<"$res")"
    auc_c=$(grep -o 'churn .*valid AUC [0-9.]*' <<<"$res" | awk '{print $NF}')
    auc_p=$(grep -o 'purchase_3m .*valid AUC [0-9.]*' <<<"$res" | awk '{print $NF}')
    phases=$(grep -o 'phases: .*' "$OUT/log" | sed 's/phases: //')
    printf "%-10s %-22s %9s %9d %9s %9s   %s\n" "$size" "propscore cuda P=1" "$secs" $((rss / 1024)) "$auc_c" \
      "$auc_p" "$phases"
  fi
  peers="lightgbm xgboost"
  [ "$HAVE_GPU" = 1 ] && peers="$peers xgboost-cuda"
  for peer in $peers; do
    res=$(measure python3 "$SRC/scripts/bench_gbdt_peer.py" "$data" "$peer" "$NP")
    read -r _ rss <<<"$(head -1 <<<"$res")"
    read -r secs auc_c auc_p <<<"$(tail -1 <<<"$res")"
    who="$peer ($NP threads)"
    [ "$peer" = xgboost-cuda ] && who="xgboost device=cuda"
    printf "%-10s %-22s %9s %9d %9s %9s   %s\n" "$size" "$who" "$secs" $((rss / 1024)) "$auc_c" "$auc_p" \
      "fit only (its binning included; reading the file not counted)"
  done
done
