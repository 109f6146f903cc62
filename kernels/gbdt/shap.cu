/* shap.cu: exact TreeSHAP of raw float rows on the device (score --explain
 * --device cuda): one thread a row, trees and leaves in order, the per-row
 * math of shap_cpu.h with explicitly rounded double operations, so a row's
 * contributions are the CPU twin's bits (shap_cpu.c). The unique path lives
 * in the thread's local memory: paths up to PS_SHAP_MAX_DEPTH nodes. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/shap_cpu.h"

namespace {

constexpr int THREADS = 64;

__global__ void __launch_bounds__(THREADS) shap_kernel(ps_forest_view_t fo, ps_shap_paths_t ps,
                                                       const float *__restrict__ X, int64_t n, int64_t f,
                                                       double *phi) {
  ps_shap_elem_t p[PS_SHAP_MAX_DEPTH + 2];
  const int64_t stride = (int64_t)gridDim.x * THREADS;
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += stride)
    ps_shap_row(&fo, &ps, X + i * f, p, phi + i * f);
}

} // namespace

extern "C" int ps_gbdt_shap_cuda(const ps_forest_view_t *fo, const ps_shap_paths_t *ps, const float *X, int64_t n,
                                 int64_t f, double *phi, cudaStream_t s) {
  if (ps->max_depth > PS_SHAP_MAX_DEPTH) return -1;
  if (n <= 0 || fo->ntrees <= 0) return 0;
  unsigned grid = ps_grid_1d((uint64_t)n, THREADS);
  if (grid > 132 * 64) grid = 132 * 64;
  PS_LAUNCH(grid, THREADS, 0, s, shap_kernel)(*fo, *ps, X, n, f, phi);
  CUDA_CHECK(cudaGetLastError());
  return 0;
}
