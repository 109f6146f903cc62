/* test_hist_sparse_kernels.c: the sparse-row histogram kernels
 * (hist_sparse.cu) against their CPU twins (hist_sparse_cpu.c), bitwise:
 * exact (g, h, 1) and quantized (qg, qh) sums, every row or a leaf's rows
 * through their list (in no order), an empty leaf, rows with no kept bin,
 * a feature whose every row is off its zero bin, one row; and the sparse
 * partition (partition.cu) against ps_gbdt_partition_sparse_cpu. Exits 77
 * (ctest: skipped) with "no CUDA device" without a GPU (or the emulated one). */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/gbdt_sparse_cpu.h"
#include "gbdt/hist_sparse.h"

#include "common/test_device.h"
#include "common/test_expect.h"

/* The sparse partition (partition.cu) = ps_gbdt_partition_sparse_cpu
 * without a column index: the left count and every row's place, for a few
 * features, split bins (the zero bin's side too) and default directions. */
static void partition_case(const ps_gbdt_sparse_t *hs, const ps_gbdt_sparse_dev_t *ds, const int64_t *rows, int64_t m,
                           uint64_t seed) {
  int64_t *want = ps_malloc(sizeof(int64_t) * (size_t)(m + 1)), *tmp = ps_malloc(sizeof(int64_t) * (size_t)(m + 1));
  int64_t *got = ps_malloc(sizeof(int64_t) * (size_t)(m + 1));
  int64_t *drows = dev_copy(NULL, sizeof(int64_t) * (size_t)(m + 1)), *dtmp = dev_copy(NULL, sizeof(int64_t) * (size_t)(m + 1));
  void *work = dev_copy(NULL, ps_gbdt_partition_work(m));
  for (int t = 0; t < 6; t++) {
    int32_t j = (int32_t)(ps_rng_u64(seed, 20, (uint64_t)t, 0) % (uint64_t)hs->f);
    int64_t nb = hs->bin_off[j + 1] - hs->bin_off[j];
    int32_t b = t == 0 ? hs->zbin[j] : (int32_t)(ps_rng_u64(seed, 21, (uint64_t)t, 0) % (uint64_t)nb), dl = t & 1;
    memcpy(want, rows, sizeof(int64_t) * (size_t)m);
    int64_t nl = ps_gbdt_partition_sparse_cpu(hs, want, m, j, b, dl, tmp);
    if (m > 0 && cudaMemcpy(drows, rows, sizeof(int64_t) * (size_t)m, cudaMemcpyHostToDevice) != cudaSuccess)
      ps_die_local("cudaMemcpy failed");
    int64_t dnl = ps_gbdt_partition_sparse_cuda(ds->ptr, ds->bin, hs->bin_off[j], hs->bin_off[j + 1], hs->zbin[j], drows,
                                                m, b, dl, dtmp, work, 0);
    get(got, drows, sizeof(int64_t) * (size_t)(m + 1));
    EXPECT(dnl == nl && !memcmp(got, want, sizeof(int64_t) * (size_t)m),
           "m=%lld feature %d bin %d: sparse partition differs (%lld vs %lld left)", (long long)m, j, b, (long long)dnl,
           (long long)nl);
  }
  cudaFree(drows), cudaFree(dtmp), cudaFree(work);
  free(want), free(tmp), free(got);
}

/* n rows, f features of 2..41 bins; each value off its zero bin with
 * probability d (feature 0: always, when f > 1). */
static void one_case(int64_t n, int64_t f, double d, uint64_t seed) {
  int64_t *bin_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1)), *ptr = ps_calloc((size_t)n + 1, sizeof(int64_t));
  uint8_t *zbin = ps_malloc((size_t)f);
  bin_off[0] = 0;
  for (int64_t j = 0; j < f; j++) {
    bin_off[j + 1] = bin_off[j] + 2 + (int64_t)(ps_rng_u64(seed, 1, (uint64_t)j, 0) % 40);
    zbin[j] = (uint8_t)(1 + ps_rng_u64(seed, 2, (uint64_t)j, 0) % (uint64_t)(bin_off[j + 1] - bin_off[j] - 1));
  }
  uint32_t *bin = ps_malloc(sizeof(uint32_t) * (size_t)(n * f + 1));
  int64_t *gq = ps_malloc(sizeof(int64_t) * (size_t)n), *hq = ps_malloc(sizeof(int64_t) * (size_t)n);
  int32_t *gh = ps_malloc(sizeof(int32_t) * (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    ptr[i + 1] = ptr[i];
    for (int64_t j = 0; j < f; j++) {
      int64_t nb = bin_off[j + 1] - bin_off[j], c = (int64_t)(ps_rng_u64(seed, 3, (uint64_t)i, (uint64_t)j) % (uint64_t)nb);
      int on = (j == 0 && f > 1) || ps_rng_unif(seed, 4, (uint64_t)i, (uint64_t)j) < d;
      if (on && c != zbin[j]) bin[ptr[i + 1]++] = (uint32_t)(bin_off[j] + c);
    }
    gq[i] = (int64_t)(ps_rng_u64(seed, 5, (uint64_t)i, 0) % 4000001) - 2000000;
    hq[i] = (int64_t)(ps_rng_u64(seed, 6, (uint64_t)i, 0) % 2000001);
    gh[i] = PS_GBDT_QPACK((int32_t)(ps_rng_u64(seed, 7, (uint64_t)i, 0) % 255) - 127,
                          (int32_t)(ps_rng_u64(seed, 8, (uint64_t)i, 0) % 128));
  }
  int64_t tb = bin_off[f], m = 0, *rows = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  for (int64_t i = n - 1; i >= 0; i--)
    if (ps_rng_unif(seed, 9, (uint64_t)i, 0) < 0.6) rows[m++] = i;
  ps_gbdt_sparse_t hs = {.n = n, .ptr = ptr, .bin = bin, .f = f, .bin_off = bin_off, .zbin = zbin};
  ps_gbdt_sparse_dev_t ds = {.ptr = dev_copy(ptr, sizeof(int64_t) * (size_t)(n + 1)),
                             .bin = dev_copy(bin, sizeof(uint32_t) * (size_t)(ptr[n] + 1)), .f = f, .total_bins = tb,
                             .bin_off = dev_copy(bin_off, sizeof(int64_t) * (size_t)(f + 1)),
                             .zbin = dev_copy(zbin, (size_t)f)};
  int64_t *dg = dev_copy(gq, sizeof(int64_t) * (size_t)n), *dhq = dev_copy(hq, sizeof(int64_t) * (size_t)n);
  int32_t *dgh = dev_copy(gh, sizeof(int32_t) * (size_t)n);
  int64_t *drows = dev_copy(rows, sizeof(int64_t) * (size_t)(m + 1)), *dh = dev_copy(NULL, sizeof(int64_t) * 3 * (size_t)tb);
  int64_t *dtot = dev_copy(NULL, sizeof(int64_t) * 3);
  int64_t *want = ps_malloc(sizeof(int64_t) * 3 * (size_t)tb), *got = ps_malloc(sizeof(int64_t) * 3 * (size_t)tb);
  int64_t *all = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  uint64_t *work = ps_malloc(sizeof(uint64_t) * (size_t)tb);
  for (int64_t i = 0; i < n; i++) all[i] = i;
  for (int which = 0; which < 3; which++) { /* every row, the leaf's, none */
    int64_t mm = which == 0 ? n : which == 1 ? m : 0;
    const int64_t *hr = which == 0 ? all : rows, *dr = which == 0 ? NULL : drows;
    ps_gbdt_hist_sparse_cpu(&hs, hr, mm, gq, hq, want);
    ps_gbdt_hist_sparse_cuda(&ds, dr, mm, dg, dhq, dh, dtot, 0);
    get(got, dh, sizeof(int64_t) * 3 * (size_t)tb);
    EXPECT(!memcmp(got, want, sizeof(int64_t) * 3 * (size_t)tb), "n=%lld f=%lld rows %d: exact histogram differs",
           (long long)n, (long long)f, which);
    ps_gbdt_hist_q_sparse_cpu(&hs, hr, mm, gh, ps_gbdt_hist_q_width(mm, 127), work, want);
    ps_gbdt_hist_q_sparse_cuda(&ds, dr, mm, dgh, dh, dtot, 0);
    get(got, dh, sizeof(int64_t) * 2 * (size_t)tb);
    EXPECT(!memcmp(got, want, sizeof(int64_t) * 2 * (size_t)tb), "n=%lld f=%lld rows %d: quantized histogram differs",
           (long long)n, (long long)f, which);
  }
  partition_case(&hs, &ds, rows, m, seed);
  partition_case(&hs, &ds, all, n, seed + 100);
  cudaFree((void *)ds.ptr), cudaFree((void *)ds.bin), cudaFree((void *)ds.bin_off), cudaFree((void *)ds.zbin);
  cudaFree(dg), cudaFree(dhq), cudaFree(dgh), cudaFree(drows), cudaFree(dh), cudaFree(dtot);
  free(bin_off), free(ptr), free(zbin), free(bin), free(gq), free(hq), free(gh), free(rows), free(want), free(got);
  free(all), free(work);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  one_case(1, 3, 0.5, 1);        /* one row */
  one_case(700, 1, 0.0, 2);      /* one feature, no row off its zero bin */
  one_case(3000, 25, 0.05, 3);   /* sparse; feature 0 off zero in every row */
  one_case(9000, 60, 0.01, 4);   /* more rows than one block's threads, a grid-stride */
  one_case(2000, 8, 0.9, 5);     /* nearly dense */
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("sparse histogram kernels match their CPU twins\n");
  return failures ? 1 : 0;
}
