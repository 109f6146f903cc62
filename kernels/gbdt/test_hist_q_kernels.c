/* test_hist_q_kernels.c: the quantized histogram kernel (hist_q.cu) against its CPU
 * twin (hist_q_cpu.c), bitwise, and the leaves' exact sums against a loop:
 * 4-, 8- and 16-bit gradients (Q = 7, 127, 32767), random and extreme
 * (every row -Q, Q, one constant feature: the largest sums a block may
 * hold), features a
 * multiple of 16 (128-bit loads), of 4 and neither, rows misaligned (byte
 * loads), 256-bin and 2-bin features, every row or a leaf's rows through
 * their list, one block (g and h as two int32, or 4-bit packed runs
 * folded into them) or many (packed 16 + 16),
 * one feature group or many; columns where every lane of a warp hits one
 * bin (every row in bin 1, or one-hot blocks of 8 columns: the shared
 * atomics' worst case before issue 28's bank spreading) and blocks at the
 * packed width's boundary (rows * Q = 2^15 - 2 and just past it). Exits 77 (ctest: skipped) with "no CUDA
 * device" without a GPU (or the emulated one). */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/hist_q.h"

#include "common/test_device.h"
#include "common/test_expect.h"

/* Every (rows, plan, block count) against the twin; `skew` bytes before B on the device (misaligned rows). */
static void check_hist(const char *name, const uint8_t *B, int64_t n, int64_t f, const int64_t *bin_off,
                       const int32_t *gh, int32_t qmax, int skew) {
  int64_t tb = bin_off[f], m = 0;
  int64_t *rows = ps_malloc(sizeof(int64_t) * (size_t)(n + 1)), *all = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) {
    all[i] = i;
    if (ps_rng_unif(11, 1, (uint64_t)i, 0) < 0.6) rows[m++] = n - 1 - i; /* a leaf's rows, in no order */
  }
  int64_t *want = ps_malloc(sizeof(int64_t) * 2 * (size_t)tb), *got = ps_malloc(sizeof(int64_t) * 2 * (size_t)tb);
  void *work = ps_malloc(sizeof(uint64_t) * (size_t)tb);
  uint8_t *dbase = dev_copy(NULL, (size_t)(n * f) + (size_t)skew), *dB = dbase + skew;
  cudaMemcpy(dB, B, (size_t)(n * f), cudaMemcpyHostToDevice);
  int32_t *dgh = dev_copy(gh, sizeof(int32_t) * (size_t)n);
  int64_t *drows = dev_copy(rows, sizeof(int64_t) * (size_t)(m + 1)), *dh = dev_copy(NULL, sizeof(int64_t) * 2 * (size_t)tb);
  ps_gbdt_hist_q_plan_t *plans[2] = {ps_gbdt_hist_q_plan_create(bin_off, f, 0, 0),
                                     ps_gbdt_hist_q_plan_create(bin_off, f, 1, 0)}; /* the fewest features a group */
  for (int which = 0; which < 2; which++) {
    int64_t mm = which ? m : n;
    ps_gbdt_hist_q_cpu(B, f, bin_off, tb, which ? rows : all, mm, gh, ps_gbdt_hist_q_width(mm, qmax), work, want);
    for (int pl = 0; pl < 2; pl++)
      for (int blocks = 0; blocks <= 9; blocks += (blocks == 0 ? 1 : 4)) { /* auto, 1, 5, 9 */
        ps_gbdt_hist_q_plan_set_blocks(plans[pl], blocks);
        cudaMemset(dh, 0x5a, sizeof(int64_t) * 2 * (size_t)tb); /* overwritten, not added to */
        ps_gbdt_hist_q_cuda(plans[pl], dB, which ? drows : NULL, mm, dgh, qmax, dh, 0);
        get(got, dh, sizeof(int64_t) * 2 * (size_t)tb);
        EXPECT(!memcmp(want, got, sizeof(int64_t) * 2 * (size_t)tb),
               "%s: histogram of %s differs (plan %d, %d blocks, Q %d, skew %d)", name,
               which ? "a leaf" : "every row", pl, blocks, qmax, skew);
      }
  }
  ps_gbdt_hist_q_plan_destroy(plans[0]);
  ps_gbdt_hist_q_plan_destroy(plans[1]);
  cudaFree(dbase), cudaFree(dgh), cudaFree(drows), cudaFree(dh);
  free(rows), free(all), free(want), free(got), free(work);
}

/* Leaves of consecutive segments of a permutation of the rows, against sums by loop. */
static void check_leaf_sums(const char *name, int64_t n) {
  int64_t *gq = ps_malloc(sizeof(int64_t) * (size_t)(n + 1)), *hq = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  int64_t *rows = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) {
    gq[i] = (int64_t)(ps_rng_normal(12, 1, (uint64_t)i, 0) * 1e12);
    hq[i] = (int64_t)(ps_rng_unif(12, 2, (uint64_t)i, 0) * 1e12);
    rows[i] = (i * 7919) % n;
  }
  enum { L = 5 };
  int64_t begin[L], count[L], want[2 * L] = {0}, got[2 * L];
  for (int l = 0; l < L; l++) { /* leaf 2 empty */
    begin[l] = n * l / L;
    count[l] = l == 2 ? 0 : n * (l + 1) / L - begin[l];
    for (int64_t r = begin[l]; r < begin[l] + count[l]; r++) want[2 * l] += gq[rows[r]], want[2 * l + 1] += hq[rows[r]];
  }
  int64_t *dgq = dev_copy(gq, sizeof(int64_t) * (size_t)n), *dhq = dev_copy(hq, sizeof(int64_t) * (size_t)n);
  int64_t *drows = dev_copy(rows, sizeof(int64_t) * (size_t)n), *db = dev_copy(begin, sizeof begin);
  int64_t *dc = dev_copy(count, sizeof count), *ds = dev_copy(NULL, sizeof got);
  cudaMemset(ds, 0x5a, sizeof got);
  ps_gbdt_leaf_sums_cuda(drows, db, dc, L, dgq, dhq, ds, 0);
  get(got, ds, sizeof got);
  EXPECT(!memcmp(want, got, sizeof got), "%s: leaf sums differ", name);
  cudaFree(dgq), cudaFree(dhq), cudaFree(drows), cudaFree(db), cudaFree(dc), cudaFree(ds);
  free(gq), free(hq), free(rows);
}

enum { MIXED, ONE_BIN, ONE_HOT }; /* the columns: mixed bins and skew; every row in bin 1; one-hot blocks of 8 */

/* One column value: MIXED columns every 3rd skewed (90% in bin 0), the rest uniform over their bins. */
static uint8_t cell(int cols, int64_t i, int64_t j, int64_t nb, int extreme) {
  if (cols == ONE_BIN) return 1;
  if (cols == ONE_HOT) return (uint8_t)((i * 5 + i / 3) % 8 == j % 8);
  double u = ps_rng_unif(13, 2, (uint64_t)i, (uint64_t)j);
  return (uint8_t)(j % 3 == 1 ? (u < 0.9 || extreme ? 0 : 1) : (int64_t)(u * (double)nb)); /* skewed: few addresses */
}

/* n rows, f features (MIXED: every 5th with 256 bins, every 7th with 2, the rest 2..256; else 2 bins), Q = qmax. */
static void one_case(int64_t n, int64_t f, int32_t qmax, int extreme, int skew, int cols) {
  char name[128];
  snprintf(name, sizeof name, "n=%lld f=%lld Q=%d%s%s", (long long)n, (long long)f, qmax, extreme ? " extreme" : "",
           cols == ONE_BIN ? " one bin" : cols == ONE_HOT ? " one-hot" : "");
  int64_t *bin_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  bin_off[0] = 0;
  for (int64_t j = 0; j < f; j++) {
    int64_t nb = j % 5 == 0 ? 256 : j % 7 == 3 ? 2 : 2 + (int64_t)(ps_rng_unif(13, 1, (uint64_t)j, 0) * 255);
    bin_off[j + 1] = bin_off[j] + (cols == MIXED ? nb : 2);
  }
  uint8_t *B = ps_malloc((size_t)(n * f + 1));
  int32_t *gh = ps_malloc(sizeof(int32_t) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < f; j++) {
      B[i * f + j] = cell(cols, i, j, bin_off[j + 1] - bin_off[j], extreme);
    }
    int32_t g = (int32_t)(ps_rng_unif(13, 3, (uint64_t)i, 0) * (2 * qmax + 1)) - qmax;
    int32_t h = (int32_t)(ps_rng_unif(13, 4, (uint64_t)i, 0) * (qmax + 1));
    if (extreme) g = -qmax, h = qmax;
    gh[i] = PS_GBDT_QPACK(g, h);
  }
  check_hist(name, B, n, f, bin_off, gh, qmax, skew);
  free(bin_off), free(B), free(gh);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  one_case(1, 3, 127, 0, 0, MIXED);      /* one row */
  one_case(300, 32, 127, 0, 0, MIXED);   /* 128-bit loads, two chunks a row */
  one_case(300, 32, 127, 0, 1, MIXED);   /* the same rows misaligned: byte loads */
  one_case(2000, 20, 7, 0, 0, MIXED);    /* 32-bit loads */
  one_case(2000, 17, 127, 1, 0, MIXED);  /* byte loads; the largest sums (packed blocks at their bound) */
  one_case(1500, 48, 32767, 1, 0, MIXED); /* 16-bit: two int32 a bin */
  one_case(70000, 2, 32767, 1, 0, MIXED); /* rows * Q > 2^31 in one bin: never fewer than two blocks */
  one_case(5003, 16, 32767, 0, 0, MIXED);
  one_case(3000, 64, 7, 1, 0, MIXED);    /* several groups of 16 features */
  one_case(12000, 20, 7, 1, 0, MIXED);   /* 4-bit, one block: packed runs of 4681 rows folded into int32 */
  one_case(12000, 32, 7, 0, 0, MIXED);
  one_case(1290, 32, 127, 1, 0, ONE_BIN);  /* every lane on one bin; 5 blocks of 258 rows: 258 * 127 = 2^15 - 2, packed */
  one_case(1295, 32, 127, 1, 0, ONE_BIN);  /* 5 blocks of 259 rows: past the packed width, two int32 */
  one_case(1290, 64, 127, 0, 0, ONE_HOT);  /* one-hot blocks, 8-bit, two groups of 32 */
  one_case(3000, 64, 32767, 1, 0, ONE_HOT); /* 16-bit */
  one_case(9362, 20, 7, 1, 0, ONE_BIN);    /* 4-bit, one block: exactly two folded runs of 4681 rows */
  one_case(5000, 32, 15, 1, 0, ONE_HOT);   /* Q = 15: folded runs of 2184 rows; Q = 16: two int32 */
  one_case(5000, 32, 16, 1, 0, ONE_HOT);
  check_leaf_sums("leaf sums n=1", 1);
  check_leaf_sums("leaf sums n=4099", 4099);
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("quantized tree kernels match their CPU twins\n");
  return failures ? 1 : 0;
}
