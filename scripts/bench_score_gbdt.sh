#!/usr/bin/env bash
# Scoring with gradient-boosted trees against LightGBM's predict on the same
# machine, data and forest shape: generated ROWSxFEATURES (both heads), one
# propscore model (100 trees, 31 leaves a head, bench_gbdt.sh's settings) and
# one LightGBM model a head with the same settings, fitted once; then ROUNDS
# interleaved rounds of: `propscore score` on NP ranks (its manifest's
# "compute" phase: rank 0's forest walk and sigmoid over its rows; reading
# and writing not counted), the same with OLD_BIN if given (e.g. the binary
# before a change; the model file must be one it reads), and LightGBM's Booster.predict of every row and head
# with NP threads (raw scores; loading not counted). Prints each round and
# the medians, in seconds and in ns per row and tree.
#   usage: scripts/bench_score_gbdt.sh [ROWSxFEATURES]   (default 200000x64)
#   env:   OUT (work folder, default /tmp/propscore-bench-score), NP (default 2),
#          ROUNDS (default 5), BIN (default build/propscore), OLD_BIN (optional)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BIN=$(realpath "${BIN:-$SRC/build/propscore}")
OLD_BIN=${OLD_BIN:+$(realpath "$OLD_BIN")}
OUT=${OUT:-/tmp/propscore-bench-score}
NP=${NP:-2}
ROUNDS=${ROUNDS:-5}
SIZE=${1:-200000x64}
rows=${SIZE%x*}; feats=${SIZE#*x}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
python3 -c 'import lightgbm' 2>/dev/null || python3 -m pip install -q lightgbm
mkdir -p "$OUT"
data=$OUT/d_${rows}x${feats}.h5
[ -f "$data" ] || mpirun -n "$NP" "$BIN" gen --out "$data" --rows "$rows" --features "$feats" --quiet
model=$OUT/m_${rows}x${feats}.h5 # the models of a size are kept for the next run
[ -f "$model" ] || mpirun -n "$NP" "$BIN" train --data "$data" --model "$model" --model-type gbdt --early-stopping 0 --quiet
python3 "$SRC/scripts/bench_score_peer.py" fit "$data" "$model" "$NP"
echo "# bench_score_gbdt $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# $SIZE, 2 heads x 100 trees x 31 leaves, NP = $NP ranks / threads, $ROUNDS interleaved rounds"

# the compute phase (s) of a score run of binary $1
score_s() {
  rm -f "$OUT/s.h5" "$OUT/s.h5.manifest.json"
  mpirun -n "$NP" "$1" score --data "$data" --model "$model" --out "$OUT/s.h5" --quiet >/dev/null
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phases_s"]["compute"])' "$OUT/s.h5.manifest.json"
}
runs="propscore"
[ -n "$OLD_BIN" ] && runs="$runs old"
runs="$runs lightgbm"
for r in $(seq "$ROUNDS"); do
  for who in $runs; do
    case $who in
      propscore) s=$(score_s "$BIN") ;;
      old) s=$(score_s "$OLD_BIN") ;;
      lightgbm) s=$(python3 "$SRC/scripts/bench_score_peer.py" predict "$data" "$model" "$NP") ;;
    esac
    echo "round $r $who $s load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/rounds.txt" # load: 1-minute average
  done
done | tee "$OUT/this.txt"
trees=$(python3 "$SRC/scripts/bench_score_peer.py" trees "$data" "$model" "$NP")
echo "# medians (trees: $trees)"
for who in $runs; do
  awk -v w="$who" -v n="$rows" -v t="${trees%% *}" '$3 == w {print $4}' "$OUT/this.txt" | sort -g |
    awk -v w="$who" -v n="$rows" -v t="${trees%% *}" '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
      printf "%-10s %8.4f s  %6.2f ns per row and tree\n", w, m, m * 1e9 / (n * t)}'
done
