#!/usr/bin/env bash
# The main job on a generated default dataset, from a fresh clone:
# install dependencies, build, generate 1M customers x 64 features, train the
# purchase_3m and churn heads (logistic regression, then gradient-boosted
# trees), score every customer, evaluate on the validation split, and print
# the AUC per target and where the scores are; then personas, a holdout
# group, next-best offers and an exported audience; on small sample files,
# reason codes, a cross-validated `auto` model and a sparse (CSR) file.
#   usage: scripts/demo.sh [ROWS] [FEATURES]     (defaults 1000000 64)
#   env:   NP (ranks, default 2), OUT (output folder, default demo-out)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
FEATURES=${2:-64}
NP=${NP:-2}
OUT=${OUT:-demo-out}
scripts/install-deps.sh
echo "== build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$OUT"
RUN="mpirun -np $NP build/propscore"
echo "== gen: $ROWS customers x $FEATURES features ($NP ranks)"
$RUN gen --out "$OUT/customers.h5" --rows "$ROWS" --features "$FEATURES" --seed 42
echo "== inspect"
$RUN inspect "$OUT/customers.h5" > "$OUT/inspect.txt"
sed -n 1,5p "$OUT/inspect.txt"
echo "== train: purchase_3m + churn heads"
$RUN train --data "$OUT/customers.h5" --model "$OUT/model.h5" --quiet
echo "== score: every customer"
$RUN score --data "$OUT/customers.h5" --model "$OUT/model.h5" --out "$OUT/scores.h5" --quiet
echo "== eval: validation split"
$RUN eval --data "$OUT/customers.h5" --scores "$OUT/scores.h5" > "$OUT/eval.txt"
grep -E "^== |ROC-AUC" "$OUT/eval.txt"
echo "== train: gradient-boosted trees on the same split (--model-type gbdt), score, eval"
$RUN train --data "$OUT/customers.h5" --model "$OUT/model_gbdt.h5" --model-type gbdt --trees 60 --quiet
$RUN score --data "$OUT/customers.h5" --model "$OUT/model_gbdt.h5" --out "$OUT/scores_gbdt.h5" --quiet
$RUN eval --data "$OUT/customers.h5" --scores "$OUT/scores_gbdt.h5" > "$OUT/eval_gbdt.txt"
grep -E "^== |ROC-AUC" "$OUT/eval_gbdt.txt"
echo "== reason codes and model export, on a 5000-customer sample file: score --explain 3 (TreeSHAP), export-model"
$RUN gen --out "$OUT/sample.h5" --rows 5000 --features "$FEATURES" --seed 7 --quiet > /dev/null
$RUN train --data "$OUT/sample.h5" --model "$OUT/sample_gbdt.h5" --model-type gbdt --trees 20 --quiet > /dev/null
$RUN score --data "$OUT/sample.h5" --model "$OUT/sample_gbdt.h5" --out "$OUT/sample_scores.h5" --explain 3 --quiet
$RUN export-model --model "$OUT/sample_gbdt.h5" --out "$OUT/sample_gbdt.txt"
[ -s "$OUT/export.key" ] || (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$OUT/export.key")
$RUN export --scores "$OUT/sample_scores.h5" --by churn --top 3 --explain --id-key-file "$OUT/export.key" \
  --out "$OUT/sample_reasons.csv" --quiet
cat "$OUT/sample_reasons.csv"
echo "== auto: logistic regression, trees or their blend per head, chosen by 5-fold cross-validation, refit"
$RUN train --data "$OUT/sample.h5" --model "$OUT/sample_auto.h5" --model-type auto 2>&1 | grep -E "chose|kept" || true
echo "== sparse customers: 20000 x 2000 attributes at 1% density, stored as CSR; logistic regression on it"
$RUN gen --out "$OUT/sparse.h5" --rows 20000 --features 2000 --density 0.01 --seed 3 --quiet > /dev/null
$RUN inspect "$OUT/sparse.h5" | sed -n 1,3p
$RUN train --data "$OUT/sparse.h5" --model "$OUT/sparse_model.h5" --standardize scale --l2 0.1 --quiet
echo "== segment: 8 personas (k-means), their sizes and label rates"
$RUN segment --data "$OUT/customers.h5" --k 8 --scores "$OUT/scores.h5" --out "$OUT/personas.h5" 2>/dev/null | sed -n '/^persona  *size/,/^ *7 /p'
echo "== holdout: a stable 10% control group for campaign spring-offer"
$RUN holdout --data "$OUT/customers.h5" --campaign spring-offer --fraction 0.1 --out "$OUT/holdout.h5"
echo "== offers: the best offer per customer by expected margin, 50000 contacts"
$RUN offers --scores "$OUT/scores.h5" --value purchase_3m=40,churn=0 --max-offers 1 --budget 50000 --out "$OUT/offers.h5"
echo "== report: the trees' eval as a page with charts, against the logistic regression's scores (--report)"
$RUN eval --data "$OUT/customers.h5" --scores "$OUT/scores_gbdt.h5" --baseline-scores "$OUT/scores.h5" \
  --report "$OUT/report" --report-offers "$OUT/offers.h5" > /dev/null
echo "open $OUT/report/index.html"
echo "== export: the top 1% of the treatment group by purchase_3m, pseudonymous ids"
$RUN export --scores "$OUT/scores.h5" --by purchase_3m --top-percent 1 --holdout "$OUT/holdout.h5" --group treatment \
  --id-key-file "$OUT/export.key" --out "$OUT/audience.csv"
echo
echo "scores:  $OUT/scores.h5  (/customer_id, /scores/<target>)"
echo "model:   $OUT/model.h5 (logistic regression), $OUT/model_gbdt.h5 (trees)"
echo "report:  $OUT/report/index.html (charts), $OUT/eval.txt (lift and calibration tables)"
echo "reasons: $OUT/sample_scores.h5 (/explain/<target>/feature, value); LightGBM models: $OUT/sample_gbdt.*.txt"
echo "targeting: $OUT/personas.h5 $OUT/holdout.h5 $OUT/offers.h5 $OUT/audience.csv"
