#!/usr/bin/env bash
# gen throughput (not a test): write ROWS x FEATURES with P = 1 and 2 ranks and
# print the GB/s of features written (gen's own report). For docs/BENCHMARKS.md.
#   usage: scripts/bench_gen.sh [ROWS] [FEATURES]      (default 1000000 64)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
FEATURES=${2:-64}
DIR=${BENCH_DIR:-build/bench}
mkdir -p "$DIR"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for P in 1 2; do
  mpirun -np $P build/propscore gen --out "$DIR/gen.h5" --rows "$ROWS" --features "$FEATURES" --quiet
done
rm -f "$DIR/gen.h5"
