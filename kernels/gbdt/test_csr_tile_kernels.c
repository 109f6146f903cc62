/* test_csr_tile_kernels.c: CSR rows scattered into a dense tile on the
 * device (csr_tile.cu) against the twin (csr_tile_cpu.c), bitwise: empty
 * rows, a row with every column, more than a warp of values a row, NaN,
 * -0.0 and explicit zeros stored, a ptr whose first entry is not 0 (a
 * block of a larger file), row ranges not starting at 0; then the zeroing
 * pass leaves the whole tile zero again. Exits 77 (ctest: skipped) with
 * "no CUDA device" without a GPU (or the emulated one). */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/csr_tile.h"

#include "common/test_device.h"
#include "common/test_expect.h"

/* n rows of f columns, each kept with probability d (row 1: every column, row 0: none); base: ptr[0]. */
static int64_t make(int64_t n, int64_t f, double d, int64_t base, int64_t *ptr, int32_t *idx, float *val) {
  static const float odd[] = {0.0f, -0.0f, NAN, INFINITY, -1.5f};
  int64_t p = 0;
  ptr[0] = base;
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < f; j++)
      if (i == 1 || (i != 0 && ps_rng_unif(5, 1, (uint64_t)(i * f + j), 0) < d)) {
        idx[p] = (int32_t)j;
        val[p] = p % 7 == 3 ? odd[p % 5] : (float)ps_rng_normal(5, 2, (uint64_t)p, 0);
        p++;
      }
    ptr[i + 1] = base + p;
  }
  return p;
}

static void check(int64_t n, int64_t f, double d, int64_t base, int64_t i0, int64_t m, const char *name) {
  int64_t *ptr = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  int32_t *idx = ps_malloc(sizeof(int32_t) * (size_t)(n * f + 1));
  float *val = ps_malloc(sizeof(float) * (size_t)(n * f + 1));
  int64_t nnz = make(n, f, d, base, ptr, idx, val);
  size_t tb = sizeof(float) * (size_t)(m * f + 1);
  float *want = ps_calloc((size_t)(m * f + 1), sizeof(float)), *got = ps_malloc(tb), *zero = ps_calloc(1, tb);
  int64_t *dp = dev_copy(ptr, sizeof(int64_t) * (size_t)(n + 1));
  int32_t *di = dev_copy(idx, sizeof(int32_t) * (size_t)(nnz + 1));
  float *dv = dev_copy(val, sizeof(float) * (size_t)(nnz + 1)), *dt = dev_copy(zero, tb);
  ps_gbdt_csr_scatter_cpu(ptr, idx, val, i0, m, f, want);
  ps_gbdt_csr_scatter_cuda(dp, di, dv, i0, m, f, dt, 0);
  get(got, dt, tb);
  EXPECT(!memcmp(want, got, tb), "%s: the scattered tile differs", name);
  ps_gbdt_csr_scatter_cpu(ptr, idx, NULL, i0, m, f, want);
  ps_gbdt_csr_scatter_cuda(dp, di, NULL, i0, m, f, dt, 0);
  get(got, dt, tb);
  EXPECT(!memcmp(zero, got, tb) && !memcmp(zero, want, tb), "%s: the tile is not zero again", name);
  cudaFree(dp), cudaFree(di), cudaFree(dv), cudaFree(dt);
  free(ptr), free(idx), free(val), free(want), free(got), free(zero);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  check(1, 5, 0.5, 0, 0, 1, "one empty row");
  check(40, 100, 0.05, 0, 0, 40, "sparse, a tile of every row");
  check(40, 100, 0.6, 12345, 3, 30, "dense-ish, ptr from 12345, rows 3..32");
  check(300, 70, 0.02, 7, 256, 44, "the last rows of a block");
  check(9, 1, 1.0, 0, 0, 9, "one column");
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("CSR tile kernel matches its CPU twin\n");
  return failures ? 1 : 0;
}
