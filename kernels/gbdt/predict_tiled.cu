/* predict_tiled.cu: a forest's value for raw float rows with the rows and
 * the trees in shared memory (issue 28; twin: predict_cpu.c, the same
 * double additions in tree order, so its bits). A block of 128 threads
 * takes tiles of 128 rows (grid-stride); a tile is copied from HBM by
 * 4-byte cp.async into shared memory with an odd row stride (lanes reading
 * one feature of their rows hit distinct banks), then thread r walks row r
 * through a batch of consecutive trees staged in shared memory (16-byte
 * nodes, the leaf values), batches in order; a forest that fits one batch
 * is staged once a block and stays. A tree too large for a batch is walked
 * from global memory; rows wider than the tile allows are refused
 * (ps_gbdt_predict_tiled_cuda returns 0: predict.cu's kernel runs). The
 * node decision lives in go_left only. */
#include <cuda_pipeline.h>

#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/predict_tiled.h"

namespace {

constexpr int ROWS = 128;          /* rows a tile, one a thread */
constexpr int X_BYTES = 48 << 10;  /* the row tile's shared memory at most */
constexpr int T_BYTES = 48 << 10;  /* a batch of trees' shared memory */
constexpr int NODE_BYTES = 16, LEAF_BYTES = 8;

struct node_t {
  int32_t feature; /* bit 31: missing values go left */
  float threshold;
  int32_t left, right;
};

/* Where row x goes at node nd (predict_cpu.c's leaf_raw): the only decision. */
__device__ __forceinline__ bool go_left(const node_t &nd, const float *x) {
  return ps_gbdt_left_raw(x[nd.feature & 0x7fffffff], nd.threshold, (int)((uint32_t)nd.feature >> 31));
}

__device__ __forceinline__ node_t node_of(const ps_forest_view_t &fo, int64_t k) {
  node_t nd;
  nd.feature = fo.feature[k] | (fo.default_left[k] ? (int32_t)0x80000000u : 0);
  nd.threshold = fo.threshold[k];
  nd.left = fo.left[k];
  nd.right = fo.right[k];
  return nd;
}

/* The trees [t0, *t1) whose nodes and leaves fit T_BYTES (at least one tree). */
__device__ __forceinline__ int32_t batch_end(const ps_forest_view_t &fo, int32_t t0) {
  const int64_t nb0 = fo.node_off[t0], lb0 = fo.leaf_off[t0];
  int32_t t1 = t0 + 1;
  while (t1 < fo.ntrees &&
         (fo.node_off[t1 + 1] - nb0) * NODE_BYTES + (fo.leaf_off[t1 + 1] - lb0) * LEAF_BYTES <= T_BYTES)
    t1++;
  return t1;
}

/* Row x through the trees [t0, t1): staged (sn, sl: the batch's nodes and leaves) or from global memory. */
__device__ __forceinline__ double walk(const ps_forest_view_t &fo, int32_t t0, int32_t t1, bool staged,
                                       const node_t *sn, const double *sl, const float *x, double s) {
  const int64_t nb0 = fo.node_off[t0], lb0 = fo.leaf_off[t0];
  for (int32_t t = t0; t < t1; t++) {
    const int64_t base = fo.node_off[t], leaf = fo.leaf_off[t];
    int32_t node = 0;
    if (fo.node_off[t + 1] != base) {
      while (node >= 0) {
        const node_t nd = staged ? sn[base - nb0 + node] : node_of(fo, base + node);
        node = go_left(nd, x) ? nd.left : nd.right;
      }
      node = ~node;
    }
    s += staged ? sl[leaf - lb0 + node] : fo.leaf_value[leaf + node];
  }
  return s;
}

/* Rows [i0, i0 + m) of X [n][f] into xs [m][fs] by 4-byte cp.async; (r, j) stepped, not divided. */
__device__ __forceinline__ void stage_rows(const float *X, int64_t i0, int m, int f, int fs, float *xs) {
  int r = (int)threadIdx.x / f, j = (int)threadIdx.x % f; /* once a tile */
  const int dr = ROWS / f, dj = ROWS % f;
  for (int e = threadIdx.x; e < m * f; e += ROWS) {
    __pipeline_memcpy_async(xs + r * fs + j, X + (i0 + r) * (int64_t)f + j, 4);
    r += dr, j += dj;
    if (j >= f) j -= f, r++;
  }
  __pipeline_commit();
  __pipeline_wait_prior(0);
}

__global__ void __launch_bounds__(ROWS) predict_tiled_kernel(ps_forest_view_t fo, const float *__restrict__ X,
                                                             int64_t n, int f, double *out) {
  extern __shared__ __align__(16) uint8_t smem_p[];
  node_t *sn = (node_t *)smem_p;
  const int fs = f | 1;
  float *xs = (float *)(smem_p + T_BYTES);
  int32_t held0 = -1, held1 = -1; /* the batch in shared memory */
  for (int64_t i0 = (int64_t)blockIdx.x * ROWS; i0 < n; i0 += (int64_t)gridDim.x * ROWS) {
    const int m = n - i0 < ROWS ? (int)(n - i0) : ROWS;
    __syncthreads(); /* the previous tile's rows are read */
    stage_rows(X, i0, m, f, fs, xs);
    const bool mine = (int)threadIdx.x < m;
    double s = mine ? out[i0 + threadIdx.x] : 0.0;
    for (int32_t t0 = 0, t1; t0 < fo.ntrees; t0 = t1) {
      t1 = batch_end(fo, t0);
      const int64_t nn = fo.node_off[t1] - fo.node_off[t0], nl = fo.leaf_off[t1] - fo.leaf_off[t0];
      const bool staged = nn * NODE_BYTES + nl * LEAF_BYTES <= T_BYTES;
      double *sl = (double *)(smem_p + nn * NODE_BYTES);
      if (staged && (t0 != held0 || t1 != held1)) {
        __syncthreads(); /* every row is done with the batch held */
        for (int64_t k = threadIdx.x; k < nn; k += ROWS) sn[k] = node_of(fo, fo.node_off[t0] + k);
        for (int64_t k = threadIdx.x; k < nl; k += ROWS) sl[k] = fo.leaf_value[fo.leaf_off[t0] + k];
        held0 = t0, held1 = t1;
      }
      __syncthreads(); /* the rows (and the batch) are staged */
      if (mine) s = walk(fo, t0, t1, staged, sn, sl, xs + threadIdx.x * fs, s);
    }
    if (mine) out[i0 + threadIdx.x] = s;
  }
}

} // namespace

extern "C" int ps_gbdt_predict_tiled_cuda(const ps_forest_view_t *fo, const float *X, int64_t n, int64_t f,
                                          double *out, cudaStream_t s) {
  if (f < 1 || (int64_t)ROWS * (f | 1) * 4 > X_BYTES || (uintptr_t)X % 4) return 0;
  if (fo->cat) return 0; /* category sets (gbdt_cat.h): the node kernel of predict.cu decides them */
  if (n <= 0 || fo->ntrees <= 0) return 1;
  const size_t smem = (size_t)T_BYTES + (size_t)ROWS * (size_t)(f | 1) * 4;
  CUDA_CHECK(cudaFuncSetAttribute(predict_tiled_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  unsigned grid = ps_grid_1d((uint64_t)n, ROWS);
  if (grid > 132 * 8) grid = 132 * 8;
  PS_LAUNCH(grid, ROWS, smem, s, predict_tiled_kernel)(*fo, X, n, (int)f, out);
  CUDA_CHECK(cudaGetLastError());
  return 1;
}
