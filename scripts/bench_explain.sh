#!/usr/bin/env bash
# score --explain (issue 29) against LightGBM's pred_contrib on the same
# machine, model and rows: generated ROWSxFEATURES (both heads), a trees
# model of TREES trees x LEAVES leaves (early stopping off), exported with
# export-model; propscore `score` plain and with --explain 3 on NP ranks,
# LightGBM predict(pred_contrib=True) with NP threads on every head (the
# rows in memory: its time excludes reading them). Prints seconds and rows/s
# of each, the cost of --explain beside plain scoring and the speed against
# LightGBM (issue 29's goal: >= 2x). ROUNDS rounds, the three runs
# interleaved in each (so a busy machine slows them alike); medians. BASE:
# another propscore binary (e.g. a build before a change) timed with
# --explain 3 in the same rounds. Each run's CPU seconds (user + system,
# all ranks or threads) are printed too: on a shared, oversubscribed
# machine they compare the work done where wall times mostly measure the
# share of the cores a run got.
#   usage: scripts/bench_explain.sh [ROWSxFEATURES]   (default 1000000x64)
#   env:   OUT (work folder, default /tmp/propscore-bench-explain), NP (default 2), TREES (100), LEAVES (31),
#          DEVICE (cpu; cuda on a GPU build), ROUNDS (3), BASE (none)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/build/propscore}
OUT=${OUT:-/tmp/propscore-bench-explain}
NP=${NP:-2} TREES=${TREES:-100} LEAVES=${LEAVES:-31} DEVICE=${DEVICE:-cpu} ROUNDS=${ROUNDS:-3} BASE=${BASE:-}
size=${1:-1000000x64}
rows=${size%x*} feats=${size#*x}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$OUT"
data=$OUT/d_${rows}x${feats}.h5 model=$OUT/m_${rows}x${feats}_${TREES}x${LEAVES}.h5
[ -f "$data" ] || mpirun -n "$NP" "$BIN" gen --out "$data" --rows "$rows" --features "$feats" --quiet
[ -f "$model" ] || mpirun -n "$NP" "$BIN" train --data "$data" --model "$model" --model-type gbdt --trees "$TREES" \
  --num-leaves "$LEAVES" --early-stopping 0 --quiet
"$BIN" export-model --model "$model" --out "$OUT/m.txt" --quiet >/dev/null
echo "# bench_explain $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# $rows x $feats, $TREES trees x $LEAVES leaves x 2 heads, P = threads = $NP, device $DEVICE"
# "wall cpu" seconds of a command (cpu: user + system of it and its children: every rank)
t() { /usr/bin/time -f "%e %U %S" -o "$OUT/time" "$@" >/dev/null; awk '{print $1, $2 + $3}' "$OUT/time"; }
lgb_round() {
  python3 - "$data" "$OUT" "$NP" <<'PY'
import glob, sys, time
import h5py, lightgbm as lgb
X = h5py.File(sys.argv[1])["features"][...]
models = [lgb.Booster(model_file=f) for f in sorted(glob.glob(sys.argv[2] + "/m.*.txt"))]
t0, c0 = time.time(), time.process_time()
for m in models:
    m.predict(X, pred_contrib=True, num_threads=int(sys.argv[3]))
print(f"{time.time() - t0:.3f} {time.process_time() - c0:.3f}")
PY
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
P=() E=() L=() B=()
for r in $(seq "$ROUNDS"); do
  P+=("$(t mpirun -n "$NP" "$BIN" score --data "$data" --model "$model" --out "$OUT/s.h5" --device "$DEVICE" --quiet)")
  E+=("$(t mpirun -n "$NP" "$BIN" score --data "$data" --model "$model" --out "$OUT/e.h5" --device "$DEVICE" \
    --explain 3 --quiet)")
  L+=("$(lgb_round)")
  [ -z "$BASE" ] || B+=("$(t mpirun -n "$NP" "$BASE" score --data "$data" --model "$model" --out "$OUT/b.h5" \
    --device "$DEVICE" --explain 3 --quiet)")
  echo "# round $r (wall cpu seconds): plain ${P[-1]}, --explain 3 ${E[-1]}, LightGBM ${L[-1]}${BASE:+, BASE ${B[-1]}}"
done
col() { local i=$1; shift; median $(printf '%s\n' "$@" | awk -v i="$i" '{print $i}'); } # median of column i
runs=("propscore score" "propscore score --explain 3" "LightGBM pred_contrib") sets=(P E L)
[ -z "$BASE" ] || runs+=("BASE score --explain 3") sets+=(B)
printf "%-34s %9s %12s %9s   (medians of %d rounds)\n" run seconds rows/s cpu-s "$ROUNDS"
for k in "${!runs[@]}"; do
  unset -n S; declare -n S=${sets[$k]}
  w=$(col 1 "${S[@]}") c=$(col 2 "${S[@]}")
  printf "%-34s %9.2f %12.0f %9.2f\n" "${runs[$k]}" "$w" "$(echo "$rows / $w" | bc -l)" "$c"
done
plain=$(col 1 "${P[@]}") expl=$(col 1 "${E[@]}") lgb=$(col 1 "${L[@]}")
printf "explain cost beside plain scoring: %.1fx; speed against LightGBM: %.2fx wall, %.2fx in CPU seconds\n" \
  "$(echo "$expl / $plain" | bc -l)" "$(echo "$lgb / $expl" | bc -l)" \
  "$(echo "$(col 2 "${L[@]}") / $(col 2 "${E[@]}")" | bc -l)"
