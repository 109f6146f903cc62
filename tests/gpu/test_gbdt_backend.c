/* test_gbdt_backend.c: the trees' CUDA backend's device memory -- binning
 * raw rows on the device (bin) then making the binned rows resident
 * (set_rows) leaves nothing of the binning behind (set_rows holds exactly
 * what it holds on a backend that never binned), the bins match the CPU
 * twin's, and device_bytes (what train checks against --gpu-mem-limit)
 * covers the most held at once in either phase. Runs on a GPU and on the
 * emulated device (tests/cudasim); exits 77 (ctest: skipped) with "no CUDA
 * device" when the machine has neither. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/backend.h"
#include "models/gbdt/binning.h"

#include "common/test_expect.h"

static int64_t used_bytes(void) {
  size_t fr = 0, tot = 0;
  if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) return -1;
  return (int64_t)(tot - fr);
}

static void case_binning_freed(int64_t n, int64_t f, int leaves) {
  float *X = ps_malloc(sizeof(float) * (size_t)(n * f));
  for (int64_t i = 0; i < n * f; i++) X[i] = (float)ps_rng_normal(31, (uint64_t)f, (uint64_t)i, 0);
  for (int64_t i = 0; i < n; i += 11) X[i * f + i % f] = NAN;
  ps_bins_t bins;
  bins_from_sample(X, n, f, 255, &bins);
  uint8_t *want = ps_malloc((size_t)(n * f)), *got = ps_malloc((size_t)(n * f));
  ps_gbdt_bin_cpu(X, n, f, bins.cuts, bins.cut_off, want);

  /* a backend that only holds the binned rows: the reference */
  ps_gbdt_backend_t *ref = gbdt_backend_cuda();
  int64_t u0 = used_bytes();
  ref->set_rows(ref, want, n, f, bins.bin_off, bins.total_bins, leaves);
  int64_t rows_only = used_bytes() - u0;
  ref->destroy(ref);

  ps_gbdt_backend_t *be = gbdt_backend_cuda();
  int64_t limit = be->device_bytes(n, f, bins.total_bins, leaves, n);
  u0 = used_bytes();
  be->bin(be, X, n, f, bins.cuts, bins.cut_off, got);
  int64_t binning = used_bytes() - u0;
  EXPECT(memcmp(got, want, (size_t)(n * f)) == 0, "n=%lld f=%lld: the device's bins differ from the CPU twin's",
         (long long)n, (long long)f);
  be->set_rows(be, got, n, f, bins.bin_off, bins.total_bins, leaves);
  int64_t resident = used_bytes() - u0;
  EXPECT(resident == rows_only,
         "n=%lld f=%lld: after set_rows the backend holds %lld bytes, %lld without binning first (the binning "
         "buffers were not freed)", (long long)n, (long long)f, (long long)resident, (long long)rows_only);
  EXPECT(binning <= limit && resident <= limit,
         "n=%lld f=%lld: device_bytes %lld < what is held (binning %lld, resident rows %lld)", (long long)n,
         (long long)f, (long long)limit, (long long)binning, (long long)resident);
  be->destroy(be);
  EXPECT(used_bytes() == u0, "n=%lld f=%lld: %lld bytes left after destroy", (long long)n, (long long)f,
         (long long)(used_bytes() - u0));
  bins_free(&bins);
  free(X); free(want); free(got);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    printf("no CUDA device: GPU tests skipped\n");
    comm_finalize();
    return 77;
  }
  double t0 = ps_now();
  case_binning_freed(20000, 16, 31); /* the binning block (1.6 MB) larger than the resident rows' growth */
  case_binning_freed(3000, 200, 7);  /* wide rows: binning is the peak */
  case_binning_freed(1, 3, 2);
  printf("gbdt backend: %s: %d failure%s (%.1f s)\n", failures ? "FAILED" : "passed", failures,
         failures == 1 ? "" : "s", ps_now() - t0);
  comm_finalize();
  return failures ? 1 : 0;
}
