#!/usr/bin/env bash
# eval --uplift end to end (not a test): gen ROWS customers with a planted
# uplift, its truth as the scores, then `eval --uplift --json` with P ranks,
# REPS times, printing wall seconds and each rank's peak RSS. With PEER_BIN
# (another propscore binary, e.g. an older build) the peer runs alternately
# in the same minutes, and the two JSON outputs are compared (numbers to
# 1e-12 relative). For docs/BENCHMARKS.md.
#   usage: [PEER_BIN=old/propscore] scripts/bench_uplift.sh [ROWS] [P] [REPS]   (default 4000000 2 3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-4000000}
P=${2:-2}
REPS=${3:-3}
DIR=${BENCH_DIR:-build/bench}
PY=${PYTHON:-python3}
mkdir -p "$DIR"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
DATA="$DIR/uplift.h5" SCORES="$DIR/uplift_scores.h5"
mpirun -np "$P" build/propscore gen --out "$DATA" --rows "$ROWS" --features 8 --targets y:0.1 --uplift --quiet
"$PY" - "$DATA" "$SCORES" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1]) as f, h5py.File(sys.argv[2], "w") as g:
    g.attrs["kind"] = "scores"
    g["customer_id"] = f["customer_id"][...]
    g["uplift/y"] = f["truth/y/uplift"][...].astype("float32")
PYEOF
run() { # label binary
  local t0 t1
  t0=$(date +%s.%N)
  PROPSCORE_REPORT_RSS=1 mpirun -np "$P" "$2" eval --data "$DATA" --scores "$SCORES" --uplift --treatment treated \
    --json > "$DIR/uplift_$1.json" 2> "$DIR/uplift_$1.err"
  t1=$(date +%s.%N)
  printf '%-6s P=%s rows=%s  %.2f s  peak RSS KiB by rank: %s\n' "$1" "$P" "$ROWS" "$(echo "$t1 - $t0" | bc)" \
    "$(grep -o 'rank [0-9]* peak RSS [0-9]*' "$DIR/uplift_$1.err" | sort -n -k2 | awk '{printf "%s ", $5}')"
}
for _ in $(seq "$REPS"); do
  run this build/propscore
  if [ -n "${PEER_BIN:-}" ]; then run peer "$PEER_BIN"; fi
done
if [ -n "${PEER_BIN:-}" ]; then
  "$PY" - "$DIR/uplift_this.json" "$DIR/uplift_peer.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p))["targets"]["y"] for p in sys.argv[1:3])
def flat(m, pre=""):
    for k, v in m.items():
        if isinstance(v, dict): yield from flat(v, pre + k + ".")
        elif isinstance(v, list): yield from ((f"{pre}{k}[{i}]", x) for i, x in enumerate(v))
        else: yield pre + k, v
fa, fb = dict(flat(a)), dict(flat(b))
worst = max((abs(fa[k] - fb[k]) / abs(fb[k]) if fb[k] else abs(fa[k]), k) for k in fb if fb[k] is not None)
print(f"this vs peer: worst relative difference {worst[0]:.1e} ({worst[1]})")
PYEOF
fi
rm -f "$DATA" "$SCORES"
