#!/usr/bin/env bash
# compare_outputs.sh: "the redesign changes no answer" -- run a fixed list of
# propscore command cases with two binaries on the same small generated inputs
# (mpirun with 1 and 3 ranks) and compare every output: HDF5 files as h5dump
# text, manifests and --json stdout as parsed JSON, other files byte for byte,
# with timestamps, run ids, durations, mtimes and the run folder's absolute
# path masked (scripts/compare_outputs.py). One line per case: `same` or
# `DIFFERS: <first difference>`; exit 1 if any case differs.
#   usage: scripts/compare_outputs.sh OLD_BIN NEW_BIN [--np 1,3] [--keep DIR]
#   --keep DIR keeps the runs in DIR/np<P>/{old,new} (default: a temporary folder, removed)
set -euo pipefail
usage() { echo "usage: $0 OLD_BIN NEW_BIN [--np 1,3] [--keep DIR]" >&2; exit 2; }
[ $# -ge 2 ] || usage
OLD=$(realpath "$1") NEW=$(realpath "$2"); shift 2
NPS=1,3 KEEP=
while [ $# -gt 0 ]; do
  case $1 in
    --np) NPS=${2:?}; shift 2 ;;
    --keep) KEEP=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
for b in "$OLD" "$NEW"; do [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }; done
command -v h5dump >/dev/null || { echo "$0: h5dump missing (apt-get install hdf5-tools)" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export PROPSCORE_PARQUET_HELPER=$HERE/csv_to_parquet.py
if [ -n "$KEEP" ]; then mkdir -p "$KEEP"; ROOT=$(realpath "$KEEP"); rm -rf "$ROOT"/inputs "$ROOT"/np*
else ROOT=$(mktemp -d); trap 'rm -rf "$ROOT"' EXIT; fi

# c NAME ARGS...: one case, run in the current folder; every output of case NAME
# is named NAME.* (stdout in NAME.out, exit status in NAME.rc, stderr in NAME.log)
c() {
  local name=$1; shift
  set +e
  mpirun -n "$NP" "$BIN" "$@" > "$name.out" 2> "$name.log"
  echo $? > "$name.rc"
  set -e
}

# the cases: the commands and options the test suite uses (tests/cli, scripts/demo.sh)
cases() {
  c gen gen --out gen.h5 --rows 3000 --features 12 --seed 7 --quiet
  c gen_uplift gen --out gen_uplift.h5 --rows 3000 --features 8 --targets y:0.15 --uplift --seed 5 --quiet
  c inspect inspect d.h5 --json --quiet
  c lr_lbfgs train --data d.h5 --model lr_lbfgs.h5 --solver lbfgs --quiet
  c lr_newton train --data d.h5 --model lr_newton.h5 --solver newton --missing-indicators --quiet
  c lr_balanced train --data d.h5 --model lr_balanced.h5 --pos-weight balanced --l2 1e-3,1e-2 --quiet
  c lr_stream train --data d.h5 --model lr_stream.h5 --solver lbfgs --host-mem-limit 40K --quiet
  c gbdt train --data d.h5 --model gbdt.h5 --model-type gbdt --trees 25 --bagging-fraction 0.7 \
    --bagging-freq 2 --feature-fraction 0.8 --num-leaves 15 --quiet
  c gbdt_es train --data d.h5 --model gbdt_es.h5 --model-type gbdt --trees 60 --early-stopping 5 \
    --learning-rate 0.3 --max-bin 63 --quiet
  c auto train --data d.h5 --model auto.h5 --model-type auto --trees 15 --quiet
  c up_lr train --data u.h5 --model up_lr.h5 --uplift --treatment treated --targets y --quiet
  c up_gbdt train --data u.h5 --model up_gbdt.h5 --uplift --treatment treated --targets y \
    --model-type gbdt --trees 15 --quiet
  c score_lr score --data d.h5 --model lr_lbfgs.h5 --out score_lr.h5 --block-rows 700 --quiet
  c score_newton score --data d.h5 --model lr_newton.h5 --out score_newton.h5 --quiet
  c score_gbdt score --data d.h5 --model gbdt.h5 --out score_gbdt.h5 --quiet
  c score_auto score --data d.h5 --model auto.h5 --out score_auto.h5 --quiet
  c score_up_lr score --data u.h5 --model up_lr.h5 --out score_up_lr.h5 --quiet
  c score_up_gbdt score --data u.h5 --model up_gbdt.h5 --out score_up_gbdt.h5 --quiet
  c eval_lr eval --data d.h5 --scores score_lr.h5 --json
  c eval_gbdt eval --data d.h5 --scores score_gbdt.h5 --split all --json
  c eval_text eval --data d.h5 --scores score_newton.h5 --baseline-scores score_lr.h5
  c eval_up_lr eval --data u.h5 --scores score_up_lr.h5 --uplift --treatment treated --json
  c eval_up_gbdt eval --data u.h5 --scores score_up_gbdt.h5 --uplift --treatment treated --json
  c seg segment --data d.h5 --k 4 --n-init 2 --scores score_lr.h5 --out seg.h5 --json --quiet
  c seg_model segment --data d.h5 --model seg.h5 --out seg_model.h5 --quiet
  c seg_cols segment --data d.h5 --k 3 --columns "recency_days,frequency*" --seed 3 --quiet
  c holdout holdout --data d.h5 --campaign spring --fraction 0.2 --strata churn --out holdout.h5 --quiet
  c offers offers --scores score_lr.h5 --value purchase_3m=40,churn=5 --max-offers 1 --budget 500 \
    --out offers.h5 --quiet
  c offers_elig offers --scores score_gbdt.h5 --data d.h5 --eligible churn=purchase_3m --out offers_elig.h5 --quiet
  c offers_up offers --scores score_up_lr.h5 --uplift --out offers_up.h5 --quiet
  c export export --scores score_lr.h5 --by purchase_3m --top-percent 5 --holdout holdout.h5 \
    --group treatment --id-key-file key --out export.csv --quiet
  c export_seg export --scores score_gbdt.h5 --by churn --top 50 --personas seg.h5 --persona 1 \
    --id-key-file key --out export_seg.csv --quiet
  c export_up export --scores score_up_gbdt.h5 --by y --uplift --top 40 --id-key-file key --out export_up.csv --quiet
  if python3 -c "import pyarrow" 2>/dev/null; then
    c export_pq export --scores score_lr.h5 --by churn --top 100 --id-key-file key --out export_pq.parquet --quiet
  fi
  c gate_first gate --model lr_lbfgs.h5 --json
  c gate gate --model lr_newton.h5 --baseline lr_lbfgs.h5 --scores score_newton.h5 --baseline-scores score_lr.h5 --json
  c gate_refused gate --model gbdt.h5 --baseline lr_lbfgs.h5 --min-auc 0.99 --json
}

# the same inputs for both binaries: generated once by OLD on 1 rank
mkdir -p "$ROOT/inputs"
(cd "$ROOT/inputs" && NP=1 BIN=$OLD &&
  c d gen --out d.h5 --rows 3000 --features 12 --seed 11 --quiet &&
  c u gen --out u.h5 --rows 3000 --features 8 --targets y:0.15 --uplift --seed 13 --quiet &&
  printf '00112233445566778899aabbccddeeff\n' > key)
for f in d u; do [ "$(cat "$ROOT/inputs/$f.rc")" = 0 ] || { echo "$0: input gen failed:"; cat "$ROOT/inputs/$f.log"; exit 1; } >&2; done

status=0
for NP in ${NPS//,/ }; do
  for side in old new; do
    BIN=$OLD; [ $side = new ] && BIN=$NEW
    d=$ROOT/np$NP/$side
    mkdir -p "$d"
    cp -p "$ROOT/inputs/d.h5" "$ROOT/inputs/u.h5" "$ROOT/inputs/key" "$d/"
    (cd "$d" && cases)
  done
  python3 "$HERE/compare_outputs.py" "$ROOT/np$NP/old" "$ROOT/np$NP/new" --prefix "np$NP " || status=1
done
exit $status
