#!/usr/bin/env bash
# jobs/monthly_refresh.sh: submit the monthly refresh as a Slurm job chain,
# each step starting only if the previous one succeeded (--dependency=afterok):
#
#   check (inspect the month's input, or import it from CSV/Parquet)
#     -> train -> gate (metrics vs the published model) -> score
#     -> eval (metrics, and the report: DIR/YYYY-MM/report/index.html)
#     -> publish (score-distribution gate, then swap ROOT/published: the
#        report stays beside the model, ROOT/published/report/index.html)
#
#   usage: jobs/monthly_refresh.sh --root DIR --month YYYY-MM --data FILE.h5 [options]
#     --root DIR        refresh area: DIR/YYYY-MM/{model,scores}.h5, DIR/published -> YYYY-MM
#     --month M         this refresh's name (default: this month)
#     --data FILE       the month's feature file (or --import TABLE --import-args "...")
#     --import TABLE    CSV/Parquet to convert with scripts/to_hdf5.py first
#     --import-args A   its arguments (e.g. "--id customer_id --label churn=status:churned")
#     --ntasks N        ranks for train and score (default 2)
#     --sbatch-args A   extra sbatch options for every job (partition, account, time, gpus)
#   env: PS_TRAIN_ARGS, PS_SCORE_ARGS, PS_GATE_ARGS, PS_BIN (passed to the jobs);
#        PS_REPORT=0: no report (it needs python3 with matplotlib on the nodes)
# Prints one line per job: "<step> <job id>". Exit 0 when all were submitted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROOT="" MONTH=$(date +%Y-%m) DATA="" IMPORT="" IMPORT_ARGS="" NTASKS=2 SBATCH_ARGS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$2; shift 2 ;;
    --month) MONTH=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --import) IMPORT=$2; shift 2 ;;
    --import-args) IMPORT_ARGS=$2; shift 2 ;;
    --ntasks) NTASKS=$2; shift 2 ;;
    --sbatch-args) SBATCH_ARGS=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "monthly_refresh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$ROOT" ] || { echo "monthly_refresh: --root is required" >&2; exit 2; }
[ -n "$DATA" ] || [ -n "$IMPORT" ] || { echo "monthly_refresh: give --data or --import" >&2; exit 2; }
mkdir -p "$ROOT/$MONTH/logs"
ROOT=$(cd "$ROOT" && pwd)
OUT=$ROOT/$MONTH
[ -n "$DATA" ] || DATA=$OUT/customers.h5
export PS_JOBS_DIR=$here PS_DATA=$DATA PS_MODEL=$OUT/model.h5 PS_SCORES=$OUT/scores.h5 \
       PS_EVAL=$OUT/eval.json PS_REPORT_DIR=$OUT/report PS_PUBLISHED=$ROOT/published
[ -n "${PS_BIN:-}" ] || export PS_BIN=$(cd "$here/.." && pwd)/build/propscore

submit() { # NAME DEPENDENCY SCRIPT [sbatch args...]
  local name=$1 dep=$2 script=$3; shift 3
  local d=()
  [ -n "$dep" ] && d=(--dependency=afterok:$dep --kill-on-invalid-dep=yes)
  # shellcheck disable=SC2086
  sbatch --parsable --export=ALL --job-name="ps-$MONTH-$name" --output="$OUT/logs/$name-%j.out" \
         "${d[@]}" $SBATCH_ARGS "$@" "$script" | cut -d';' -f1
}
if [ -n "$IMPORT" ]; then
  check=$(PS_STEP=import PS_IMPORT=$IMPORT PS_IMPORT_ARGS=$IMPORT_ARGS submit import "" "$here/step.sbatch")
else
  check=$(PS_STEP=check submit check "" "$here/step.sbatch")
fi
train=$(submit train "$check" "$here/train.sbatch" --ntasks="$NTASKS")
gate=$(PS_STEP=gate submit gate "$train" "$here/step.sbatch")
score=$(submit score "$gate" "$here/score.sbatch" --ntasks="$NTASKS")
evalj=$(PS_STEP=eval submit eval "$score" "$here/step.sbatch")
publish=$(PS_STEP=publish submit publish "$evalj" "$here/step.sbatch")
echo "check $check"
echo "train $train"
echo "gate $gate"
echo "score $score"
echo "eval $evalj"
echo "publish $publish"
