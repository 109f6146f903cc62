/* predict.cu: a forest's value for raw float rows on the device (the
 * scoring path of `score --device cuda`: no bins), one thread a row, trees
 * in order, the same double additions as the CPU twin (predict_cpu.c), so
 * the sums are its bits. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/predict_tiled.h"

namespace {

constexpr int THREADS = 128;

__global__ void __launch_bounds__(THREADS) predict_kernel(ps_forest_view_t fo, const float *__restrict__ X,
                                                          int64_t n, int64_t f, double *out) {
  const int64_t stride = (int64_t)gridDim.x * THREADS;
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += stride) {
    const float *x = X + i * f;
    double s = out[i];
    for (int32_t t = 0; t < fo.ntrees; t++) {
      const int64_t base = fo.node_off[t];
      int64_t leaf = fo.leaf_off[t];
      if (fo.node_off[t + 1] != base) {
        int32_t node = 0;
        while (node >= 0) {
          const int64_t k = base + node;
          node = ps_gbdt_node_left_raw(&fo, k, __ldg(x + fo.feature[k])) ? fo.left[k] : fo.right[k];
        }
        leaf += ~node;
      }
      s += fo.leaf_value[leaf];
    }
    out[i] = s;
  }
}

} // namespace

extern "C" void ps_gbdt_predict_cuda(const ps_forest_view_t *fo, const float *X, int64_t n, int64_t f, double *out,
                                     cudaStream_t s) {
  if (n <= 0 || fo->ntrees <= 0) return;
  if (ps_gbdt_predict_tiled_cuda(fo, X, n, f, out, s)) return; /* rows and trees in shared memory */
  unsigned grid = ps_grid_1d((uint64_t)n, THREADS);
  if (grid > 132 * 64) grid = 132 * 64;
  PS_LAUNCH(grid, THREADS, 0, s, predict_kernel)(*fo, X, n, f, out);
  CUDA_CHECK(cudaGetLastError());
}
