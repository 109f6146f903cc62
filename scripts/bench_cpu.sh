#!/usr/bin/env bash
# CPU benchmark (not a test): propscore with P = 1 and 2 ranks against
# scikit-learn's lbfgs on the same data, split, regularization and gradient
# tolerance: time of the optimization alone (fit_s), of the whole training
# job (train_s), to score every row, and the validation ROC-AUC of each.
# Results go in docs/BENCHMARKS.md.
#   usage: scripts/bench_cpu.sh [ROWS] [FEATURES]      (default 1000000 64)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
FEATURES=${2:-64}
L2=1e-4
TOL=1e-7
DIR=${BENCH_DIR:-build/bench}
mkdir -p "$DIR"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
DATA="$DIR/bench_${ROWS}x${FEATURES}.h5"
[ -f "$DATA" ] || mpirun -np 2 build/propscore gen --out "$DATA" --rows "$ROWS" --features "$FEATURES" --seed 42 --quiet
now() { date +%s.%N; }
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# data: $ROWS x $FEATURES, targets purchase_3m + churn, l2 $L2, tol $TOL, solver lbfgs"
printf "%-22s %9s %9s %9s   %s\n" "run" "fit_s" "train_s" "score_s" "valid AUC"
for P in 1 2; do
  t0=$(now)
  mpirun -np $P build/propscore train --data "$DATA" --model "$DIR/m$P.h5" --solver lbfgs --l2 $L2 --tol $TOL \
    2> "$DIR/train$P.log" >/dev/null
  t1=$(now)
  mpirun -np $P build/propscore score --data "$DATA" --model "$DIR/m$P.h5" --out "$DIR/s$P.h5" --quiet >/dev/null
  t2=$(now)
  mpirun -np $P build/propscore eval --data "$DATA" --scores "$DIR/s$P.h5" --json > "$DIR/eval$P.json"
  auc=$(python3 - "$DIR/eval$P.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["targets"]
print(" ".join("%s %.5f" % (t, v["roc_auc"]) for t, v in sorted(r.items())))
PY
)
  fit=$(grep -oE 'fit [0-9.]+ s' "$DIR/train$P.log" | awk '{print $2}')
  printf "%-22s %9.2f %9.2f %9.2f   %s\n" "propscore P=$P" "$fit" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$auc"
done
python3 scripts/bench_sklearn.py "$DATA" --l2 $L2 --tol $TOL > "$DIR/sklearn.json"
python3 - "$DIR/sklearn.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
auc = " ".join("%s %.5f" % (t, v) for t, v in sorted(r["valid_auc"].items()))
print("%-22s %9.2f %9.2f %9.2f   %s" % ("scikit-learn lbfgs", r["fit_s"], r["read_s"] + r["prepare_s"] + r["fit_s"],
                                       r["score_s"], auc))
print("# fit_s: the optimization alone (propscore: its 'fit' phase, both heads; scikit-learn: fit(), one per head)")
print("# train_s: propscore's whole train command (MPI start, read, statistics, fit, metrics, write);")
print("#          scikit-learn's read %.2f s + standardize %.2f s + fit; iterations %s"
      % (r["read_s"], r["prepare_s"], r["iterations"]))
PY
