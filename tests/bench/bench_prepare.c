/* bench_prepare.c: the prepare pass (column statistics along the fixed
 * tree, then the standardizing transform with missing indicators) on
 * resident float32 rows, one core, against a read of the same buffer and a
 * memcpy of it in the same run. Not a test: scripts/bench_prepare.sh runs it
 * and docs/BENCHMARKS.md records it.
 *   usage: bench_prepare [ROWS] [FEATURES] [REPEATS]   (default 2000000 32 5) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/simd.h"
#include "core/util.h"
#include "stats/colstats.h"
#include "stats/prepare.h"

/* The read floor: every float of the buffer summed (8 lanes: vectorized). */
PS_KERNEL static float read_all(const float *restrict x, size_t n) {
  float a[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) a[l] += x[i + l];
  for (; i < n; i++) a[0] += x[i];
  float t = 0;
  for (int l = 0; l < 8; l++) t += a[l];
  return t;
}

static double best(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 2000000, f = argc > 2 ? atoll(argv[2]) : 32;
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  size_t nf = (size_t)n * (size_t)f;
  double gb = (double)nf * 4.0 / 1e9;
  float *X = ps_malloc(sizeof(float) * nf), *Y = ps_malloc(sizeof(float) * nf);
  uint8_t *train = ps_malloc((size_t)n);
  uint64_t s = 42;
  for (size_t i = 0; i < nf; i++) { /* values of several scales; 1% NaN in every 4th column */
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = (double)(s >> 11) / 9007199254740992.0;
    int64_t j = (int64_t)(i % (size_t)f);
    X[i] = (j % 4 == 3 && u < 0.01) ? NAN : (float)(u * (double)(1 + j * 37) + (double)j);
  }
  for (int64_t i = 0; i < n; i++) train[i] = (i * 2654435761u) % 10 < 8;
  memset(Y, 0, sizeof(float) * nf);
  double t_read = 1e9, t_copy = 1e9, t_stats = 1e9, t_tf = 1e9;
  float sink = 0;
  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)f);
  ps_columns_t cols;
  int64_t ntr = 0;
  for (int64_t i = 0; i < n; i++) ntr += train[i];
  float *Xtr = NULL, *Xva = NULL;
  for (int r = 0; r < reps; r++) {
    double t0 = ps_now();
    sink += read_all(X, nf);
    double t1 = ps_now();
    memcpy(Y, X, sizeof(float) * nf);
    double t2 = ps_now();
    ps_colacc_t *a = stats_tree_begin(f, 0);
    stats_tree_add(a, X, n, train);
    stats_tree_end(a, st);
    double t3 = ps_now();
    if (r == 0) {
      prepare_columns(st, f, 1, &cols);
      Xtr = ps_malloc(sizeof(float) * (size_t)ntr * (size_t)cols.c);
      Xva = ps_malloc(sizeof(float) * (size_t)(n - ntr) * (size_t)cols.c);
    }
    ps_transform_t tf = prepare_transform(&cols);
    double t4 = ps_now();
    prepare_rows(&tf, X, n, train, Xtr, Xva);
    double t5 = ps_now();
    sink += Y[nf / 2] + Xtr[0];
    t_read = best(t_read, t1 - t0);
    t_copy = best(t_copy, t2 - t1);
    t_stats = best(t_stats, t3 - t2);
    t_tf = best(t_tf, t5 - t4);
  }
  printf("# bench_prepare: %lld rows x %lld float32 features (%.2f GB), %lld model columns, best of %d, one core\n",
         (long long)n, (long long)f, gb, (long long)cols.c, reps);
  printf("%-34s %8s %8s\n", "pass", "seconds", "GB/s");
  printf("%-34s %8.3f %8.2f\n", "read (sum every float)", t_read, gb / t_read);
  printf("%-34s %8.3f %8.2f\n", "memcpy (read + write)", t_copy, gb / t_copy);
  printf("%-34s %8.3f %8.2f\n", "statistics (fixed tree)", t_stats, gb / t_stats);
  printf("%-34s %8.3f %8.2f\n", "transform (standardize, missing)", t_tf, gb / t_tf);
  printf("%-34s %8.3f %8.2f\n", "prepare = statistics + transform", t_stats + t_tf, gb / (t_stats + t_tf));
  printf("# prepare / read = %.2f x; GB/s are of the float32 input rows (sink %g)\n", (t_stats + t_tf) / t_read,
         (double)sink * 0.0);
  prepare_free(&cols);
  free(X); free(Y); free(train); free(st); free(Xtr); free(Xva);
  return 0;
}
