#!/usr/bin/env bash
# The at-scale run: gen -> train (2 heads, 12 L-BFGS iterations) -> score ->
# eval on a local disk, with each phase's time and GB/s and, measured in the
# same run, the I/O floor: a raw sequential read of the input file and a
# write (fsync'd) of a file as large as the scores. For docs/BENCHMARKS.md
# and docs/SCALING.md.
#   usage: scripts/scale_run.sh ROWS FEATURES
#   env:   NP ranks (default: cores), DEVICE cpu|cuda|auto (default auto),
#          DIR work folder (default build/scale), KEEP=1 keeps the files,
#          TRAIN_ARGS / SCORE_ARGS extra options (e.g. --host-mem-limit 4G)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:?usage: scripts/scale_run.sh ROWS FEATURES}
FEATURES=${2:?usage: scripts/scale_run.sh ROWS FEATURES}
NP=${NP:-$(nproc)}
DEVICE=${DEVICE:-auto}
DIR=${DIR:-build/scale}
BIN=${BIN:-build/propscore}
[ -x "$BIN" ] || BIN=build-cuda/propscore
mkdir -p "$DIR"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
RUN="mpirun -np $NP $BIN"
DATA=$DIR/customers.h5 MODEL=$DIR/model.h5 SCORES=$DIR/scores.h5
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
gbs() { echo "scale=3; $1 / 1000000000 / $2" | bc; }
FEAT_BYTES=$(( ROWS * FEATURES * 4 ))
SCORE_BYTES=$(( ROWS * (8 + 2 * 4) ))
echo "# scale_run $ROWS x $FEATURES ($(echo "scale=2; $FEAT_BYTES / 1000000000" | bc) GB of features), $NP ranks, device $DEVICE"
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
df -h "$DIR" | tail -1 | awk '{print "# disk: " $1 " " $2 " size, " $4 " free"}'

t0=$(now); $RUN gen --out "$DATA" --rows "$ROWS" --features "$FEATURES" --seed 7 --quiet >/dev/null; t1=$(now)
T_GEN=$(secs $t0 $t1)

# the I/O floor, measured now, on the same disk
sync
if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then CACHE="dropped"; else CACHE="not dropped (no permission)"; fi
t0=$(now); dd if="$DATA" of=/dev/null bs=16M status=none; t1=$(now)
T_READ=$(secs $t0 $t1)
t0=$(now); dd if=/dev/zero of="$DIR/floor.bin" bs=1M count=$(( SCORE_BYTES / 1048576 + 1 )) conv=fsync status=none; t1=$(now)
T_WRITE=$(secs $t0 $t1)
rm -f "$DIR/floor.bin"

# shellcheck disable=SC2086
t0=$(now); $RUN train --data "$DATA" --model "$MODEL" --device "$DEVICE" --solver lbfgs --tol 1e-12 --ftol 0 \
  --max-iter 12 ${TRAIN_ARGS:-} 2> "$DIR/train.log" >/dev/null; t1=$(now)
T_TRAIN=$(secs $t0 $t1)
# shellcheck disable=SC2086
t0=$(now); $RUN score --data "$DATA" --model "$MODEL" --out "$SCORES" --device "$DEVICE" ${SCORE_ARGS:-} \
  2> "$DIR/score.log" >/dev/null; t1=$(now)
T_SCORE=$(secs $t0 $t1)
t0=$(now); $RUN eval --data "$DATA" --scores "$SCORES" > "$DIR/eval.txt"; t1=$(now)
T_EVAL=$(secs $t0 $t1)

PASSES=$(grep -oE 'evals +[0-9]+' "$DIR/train.log" | awk '{print $2}' | sort -n | tail -1)
FIT=$(grep -oE 'fit [0-9.]+ s' "$DIR/train.log" | awk '{print $2}')
FLOOR=$(echo "$T_READ + $T_WRITE" | bc)
printf "%-32s %9s %9s\n" "phase" "seconds" "GB/s"
printf "%-32s %9.2f %9.2f\n" "gen (write features)" "$T_GEN" "$(gbs $FEAT_BYTES $T_GEN)"
printf "%-32s %9.2f %9.2f\n" "train (whole command)" "$T_TRAIN" "$(gbs $FEAT_BYTES $T_TRAIN)"
printf "%-32s %9.2f %9.2f\n" "  fit: ${PASSES:-?} passes over X" "${FIT:-0}" "$(gbs $(( FEAT_BYTES * ${PASSES:-1} )) ${FIT:-1})"
printf "%-32s %9.2f %9.2f\n" "score (read, score, write)" "$T_SCORE" "$(gbs $FEAT_BYTES $T_SCORE)"
printf "%-32s %9.2f\n" "eval" "$T_EVAL"
printf "%-32s %9.2f %9.2f   (page cache %s)\n" "I/O floor: read input" "$T_READ" "$(gbs $FEAT_BYTES $T_READ)" "$CACHE"
printf "%-32s %9.2f %9.2f\n" "I/O floor: write scores-size" "$T_WRITE" "$(gbs $SCORE_BYTES $T_WRITE)"
echo "score / I/O floor: $(echo "scale=2; $T_SCORE / $FLOOR" | bc)x   (goal <= 1.5x)"
grep -E "ROC-AUC" "$DIR/eval.txt" | head -2
# issue 15's goals, from train's own log: metrics <= 25% of the fit, prepare
# (statistics + standardization) <= 2x the read, the command <= 2x (read + fit)
READ=$(grep -oE 'features in [0-9.]+ s' "$DIR/train.log" | head -1 | awk '{print $3}')
PREP=$(grep -oE 'statistics [0-9.]+ s, standardization [0-9.]+ s' "$DIR/train.log" | awk '{print $2 + $5}')
METR=$(grep -oE 'metrics [0-9.]+ s' "$DIR/train.log" | tail -1 | awk '{print $2}')
if [ -n "$READ" ] && [ -n "$PREP" ] && [ -n "$METR" ] && [ -n "$FIT" ]; then
  echo "metrics / fit: $(echo "scale=2; $METR / $FIT" | bc)   (goal <= 0.25)"
  echo "prepare / read: $(echo "scale=2; $PREP / $READ" | bc)   (goal <= 2; read $READ s, prepare $PREP s)"
  echo "train / (read + fit): $(echo "scale=2; $T_TRAIN / ($READ + $FIT)" | bc)   (goal <= 2)"
fi
grep -E "streaming|resident|phases|prepare:" "$DIR/train.log" | sed 's/^/# /'
grep -E "rank 0 time" "$DIR/score.log" | sed 's/^/# /'
[ "${KEEP:-0}" = 1 ] || rm -f "$DATA" "$MODEL" "$SCORES" "$DIR"/*.manifest.json
