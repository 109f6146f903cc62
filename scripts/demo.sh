#!/usr/bin/env bash
# The main job on a generated default dataset, from a fresh clone:
# install dependencies, build, generate 1M customers x 64 features, inspect,
# train two heads (purchase_3m, churn), score every customer, evaluate.
#   usage: scripts/demo.sh [ROWS] [FEATURES]     (defaults 1000000 64)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
FEATURES=${2:-64}
NP=${NP:-2}
OUT=${OUT:-demo-out}
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$OUT"
RUN="mpirun -np $NP build/propscore"
echo "== gen: $ROWS customers x $FEATURES features ($NP ranks)"
$RUN gen --out "$OUT/customers.h5" --rows "$ROWS" --features "$FEATURES" --seed 42
echo "== inspect"
$RUN inspect "$OUT/customers.h5" | head -12
