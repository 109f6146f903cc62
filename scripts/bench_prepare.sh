#!/usr/bin/env bash
# prepare-pass benchmark (not a test): column statistics along the fixed tree
# + standardization with missing indicators on resident float32 rows, one
# core, against a read and a memcpy of the same buffer in the same run
# (tests/bench/bench_prepare.c). Results go in docs/BENCHMARKS.md.
#   usage: scripts/bench_prepare.sh [ROWS] [FEATURES] [REPEATS]   (default 2000000 32 5)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ -d "$BUILD" ] || cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" --target bench_prepare -j2 >/dev/null
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/tests/bench_prepare" "${1:-2000000}" "${2:-32}" "${3:-5}"
