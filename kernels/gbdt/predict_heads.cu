/* predict_heads.cu: every head's forest over raw float rows, each row read
 * from HBM once (issue 28; twin: predict_cpu.c -- per head the same double
 * additions in tree order, so its bits). A block of R threads (R rows, up
 * to 512) takes tiles of R rows (grid-stride); a tile goes HBM -> shared
 * memory by 4-byte cp.async with an odd row stride (lanes reading one
 * feature of their rows hit distinct banks); then for each head thread r
 * walks row r through that head's trees, in batches that fit 64 KiB of
 * shared memory: a tree table, 8-byte nodes (threshold; feature, default
 * bit and the two int8 children), the leaf values. A batch stays while the
 * block's tiles need it (a head's 100 trees x 31 leaves: 49.6 KiB, one
 * batch, staged once a block when there is one head). Two trees are walked
 * at once (two independent chains of shared-memory loads a thread, their
 * leaves added in tree order). The node decision lives in go_left only. */
#include <cuda_pipeline.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "common/cuda_check.h"
#include "common/device_limits.h"
#include "common/launch.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/predict_heads.h"

struct ph_node_t { /* 8 bytes: LDS.64 */
  float threshold;
  uint32_t w; /* default left | 4 x feature (bits 2..15) | (uint8) left child << 16 | (uint8) right child << 24 */
};
struct ph_tree_t {
  int32_t node, leaf; /* first node (-1: a lone leaf), first leaf */
};
struct ph_batch_t {
  int32_t t0, t1, node, leaf; /* trees [t0, t1), their first node and leaf */
};

/* The kernel's view of a plan: device arrays, over every head. */
struct ph_forests_t {
  int k;
  const int32_t *head_batch; /* [k+1]: head h's batches [head_batch[h], head_batch[h+1]) */
  const ph_batch_t *batch;   /* [batches + 1] */
  const ph_tree_t *tree;     /* [trees] */
  const ph_node_t *node;     /* [nodes] */
  const double *leaf;        /* [leaves] */
};

struct ps_gbdt_predict_plan {
  ph_forests_t fo;
  void *dev; /* the one device allocation behind fo */
};

namespace {

constexpr int MAX_ROWS = 512;     /* rows a tile, one a thread */
constexpr int T_BYTES = 64 << 10; /* a batch of trees' shared memory */
constexpr int P = 2;              /* trees walked at once */

/* Where row xr (its bytes) goes at nd (predict_cpu.c's leaf_raw): the only decision. */
__device__ __forceinline__ bool go_left(ph_node_t nd, const char *xr) {
  return ps_gbdt_left_raw(*(const float *)(xr + (nd.w & 0xfffcu)), nd.threshold, (int)(nd.w & 1u));
}
/* The child taken: a node (>= 0) or ~leaf, its byte sign-extended (both extracted, then one SEL). */
__device__ __forceinline__ int32_t child(ph_node_t nd, const char *xr) {
  const int32_t l = (int32_t)(nd.w << 8) >> 24, r = (int32_t)nd.w >> 24;
  return go_left(nd, xr) ? l : r;
}

/* Row xr through the staged batch's nt trees (st: (first node or -1,
 * first leaf) local to the batch), P at a time without branches: each
 * chain steps from node q to child c, staying at q once c is a leaf
 * (re-reading q gives the same ~leaf); a lone leaf's chain reads the
 * batch's dummy node 0 (both children leaf 0). The leaves are added in
 * tree order. */
__device__ __forceinline__ double walk(const ph_tree_t *st, const ph_node_t *sn, const double *sl, int nt,
                                       const char *xr, double s) {
  for (int t = 0; t < nt; t += P) {
    int32_t q[P], c[P];
    const ph_node_t *b[P];
#pragma unroll
    for (int j = 0; j < P; j++) {
      const int tj = t + j < nt ? t + j : t; /* past the end: a copy of tree t, not added */
      b[j] = sn + (st[tj].node >= 0 ? st[tj].node : 0), q[j] = 0;
    }
    bool more;
    do {
      more = false;
#pragma unroll
      for (int j = 0; j < P; j++) {
        c[j] = child(b[j][q[j]], xr);
        q[j] = c[j] >= 0 ? c[j] : q[j];
        more |= c[j] >= 0;
      }
    } while (more);
#pragma unroll
    for (int j = 0; j < P; j++)
      if (t + j < nt) s += sl[st[t + j].leaf + ~c[j]];
  }
  return s;
}

/* Rows [i0, i0 + m) of X [n][f] into xs [m][fs] by 4-byte cp.async; (r, j) stepped, not divided. */
__device__ __forceinline__ void stage_rows(const float *X, int64_t i0, int m, int f, int fs, float *xs) {
  const int R = (int)blockDim.x;
  int r = (int)threadIdx.x / f, j = (int)threadIdx.x % f; /* once a tile */
  const int dr = R / f, dj = R % f;
  for (int e = threadIdx.x; e < m * f; e += R) {
    __pipeline_memcpy_async(xs + r * fs + j, X + (i0 + r) * (int64_t)f + j, 4);
    r += dr, j += dj;
    if (j >= f) j -= f, r++;
  }
  __pipeline_commit();
  __pipeline_wait_prior(0);
}

/* Batch bt into shared memory: its tree table (made local), nodes, leaves. */
__device__ __forceinline__ void stage_batch(const ph_forests_t &p, ph_batch_t bt, ph_tree_t *st, ph_node_t *sn, double *sl, int nn,
                                            int nl) {
  for (int q = threadIdx.x; q < bt.t1 - bt.t0; q += blockDim.x) {
    const ph_tree_t e = p.tree[bt.t0 + q];
    st[q].node = e.node >= 0 ? e.node - bt.node : -1, st[q].leaf = e.leaf - bt.leaf;
  }
  for (int q = threadIdx.x; q < nn; q += blockDim.x) sn[q] = p.node[bt.node + q];
  for (int q = threadIdx.x; q < nl; q += blockDim.x) sl[q] = p.leaf[bt.leaf + q];
}

__global__ void __launch_bounds__(MAX_ROWS) predict_heads_kernel(const ph_forests_t p, const float *__restrict__ X,
                                                                 int64_t n, int f, double *z, int64_t ldz) {
  extern __shared__ __align__(16) uint8_t smem_h[];
  const int R = (int)blockDim.x, fs = f | 1;
  float *xs = (float *)(smem_h + T_BYTES);
  int held = -1; /* the batch in shared memory */
  for (int64_t i0 = (int64_t)blockIdx.x * R; i0 < n; i0 += (int64_t)gridDim.x * R) {
    const int m = n - i0 < R ? (int)(n - i0) : R;
    const bool mine = (int)threadIdx.x < m;
    __syncthreads(); /* the previous tile's rows are read */
    stage_rows(X, i0, m, f, fs, xs);
    __syncthreads(); /* the tile is staged */
    for (int h = 0; h < p.k; h++) {
      double s = mine ? z[h * ldz + i0 + threadIdx.x] : 0.0;
      for (int b = p.head_batch[h]; b < p.head_batch[h + 1]; b++) {
        const ph_batch_t bt = p.batch[b], nx = p.batch[b + 1];
        const int nt = bt.t1 - bt.t0, nn = nx.node - bt.node, nl = nx.leaf - bt.leaf;
        ph_tree_t *st = (ph_tree_t *)smem_h;
        ph_node_t *sn = (ph_node_t *)(st + nt);
        double *sl = (double *)(sn + nn);
        if (b != held) { /* the same for the whole block */
          __syncthreads(); /* every row is done with the batch held */
          stage_batch(p, bt, st, sn, sl, nn, nl);
          held = b;
          __syncthreads();
        }
        if (mine) s = walk(st, sn, sl, nt, (const char *)(xs + threadIdx.x * fs), s);
      }
      if (mine) z[h * ldz + i0 + threadIdx.x] = s;
    }
  }
}

/* A tree's nodes packed (ph_node_t's w), or false when it does not fit the layout. */
bool pack_tree(const ps_forest_view_t *v, int32_t t, std::vector<ph_node_t> &node) {
  const int64_t nb = v->node_off[t], nn = v->node_off[t + 1] - nb, nl = v->leaf_off[t + 1] - v->leaf_off[t];
  if (nn > 127 || nl > 128) return false;
  for (int64_t q = nb; q < nb + nn; q++) {
    if (v->feature[q] < 0 || v->feature[q] >= 0x4000) return false;
    const uint32_t w = (uint32_t)v->feature[q] * 4 | (v->default_left[q] ? 1u : 0u) |
                       (uint32_t)(uint8_t)(int8_t)v->left[q] << 16 | (uint32_t)(uint8_t)(int8_t)v->right[q] << 24;
    node.push_back(ph_node_t{v->threshold[q], w});
  }
  return true;
}

} // namespace

extern "C" ps_gbdt_predict_plan_t *ps_gbdt_predict_plan_create(const ps_forest_view_t *heads, int k, cudaStream_t s) {
  std::vector<ph_batch_t> batch;
  std::vector<ph_tree_t> tree;
  std::vector<ph_node_t> node;
  std::vector<double> leaf;
  std::vector<int32_t> hb(1, 0);
  for (int h = 0; h < k; h++) {
    const ps_forest_view_t *v = &heads[h];
    if (v->cat) return NULL; /* category sets: predict.cu's node kernel decides them */
    int64_t bytes = T_BYTES + 1;
    for (int32_t t = 0; t < v->ntrees; t++) {
      const int64_t nn = v->node_off[t + 1] - v->node_off[t], nl = v->leaf_off[t + 1] - v->leaf_off[t];
      const int64_t need = 8 * (1 + nn + nl);
      if (need + 8 > T_BYTES || node.size() + leaf.size() > 0x3fffffff) return NULL;
      if (bytes + need > T_BYTES) { /* a new batch, its node 0 a dummy (feature 0, both children leaf 0) */
        batch.push_back(ph_batch_t{(int32_t)tree.size(), 0, (int32_t)node.size(), (int32_t)leaf.size()});
        node.push_back(ph_node_t{0.0f, 0xffff0000u});
        bytes = 8;
      }
      bytes += need;
      tree.push_back(ph_tree_t{nn > 0 ? (int32_t)node.size() : -1, (int32_t)leaf.size()});
      if (!pack_tree(v, t, node)) return NULL;
      leaf.insert(leaf.end(), v->leaf_value + v->leaf_off[t], v->leaf_value + v->leaf_off[t + 1]);
      batch.back().t1 = (int32_t)tree.size();
    }
    hb.push_back((int32_t)batch.size());
  }
  batch.push_back(ph_batch_t{(int32_t)tree.size(), (int32_t)tree.size(), (int32_t)node.size(), (int32_t)leaf.size()});
  ps_gbdt_predict_plan_t *p = (ps_gbdt_predict_plan_t *)calloc(1, sizeof *p);
  if (!p) ps_die_local("out of memory (predict plan)");
  const size_t sb = batch.size() * sizeof(ph_batch_t), st = tree.size() * sizeof(ph_tree_t);
  const size_t sn = node.size() * sizeof(ph_node_t);
  const size_t sl = leaf.size() * sizeof(double), sh = hb.size() * sizeof(int32_t);
  uint8_t *d = NULL; /* 8-byte items first, then the int32 head table */
  CUDA_CHECK(cudaMalloc((void **)&d, sb + st + sn + sl + sh));
  p->dev = d;
  ph_forests_t &fo = p->fo;
  fo.k = k;
  fo.batch = (const ph_batch_t *)d, fo.leaf = (const double *)(d + sb), fo.tree = (const ph_tree_t *)(d + sb + sl);
  fo.node = (const ph_node_t *)(d + sb + sl + st), fo.head_batch = (const int32_t *)(d + sb + sl + st + sn);
  CUDA_CHECK(cudaMemcpyAsync((void *)fo.batch, batch.data(), sb, cudaMemcpyHostToDevice, s));
  if (sl) CUDA_CHECK(cudaMemcpyAsync((void *)fo.leaf, leaf.data(), sl, cudaMemcpyHostToDevice, s));
  if (st) CUDA_CHECK(cudaMemcpyAsync((void *)fo.tree, tree.data(), st, cudaMemcpyHostToDevice, s));
  if (sn) CUDA_CHECK(cudaMemcpyAsync((void *)fo.node, node.data(), sn, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync((void *)fo.head_batch, hb.data(), sh, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  return p;
}

extern "C" void ps_gbdt_predict_plan_destroy(ps_gbdt_predict_plan_t *p) {
  if (!p) return;
  CUDA_CHECK(cudaFree(p->dev));
  free(p);
}

extern "C" int ps_gbdt_predict_plan_run(const ps_gbdt_predict_plan_t *p, const float *X, int64_t n, int64_t f,
                                        double *z, int64_t ldz, cudaStream_t s) {
  if (f < 1 || f > 0x8000 || (uintptr_t)X % 4) return 0;
  const size_t budget = ps_smem_plan_budget(), row = (size_t)(f | 1) * 4;
  const int64_t fit = budget > (size_t)T_BYTES ? (int64_t)((budget - T_BYTES) / row) : 0;
  const int R = (int)((fit < MAX_ROWS ? fit : MAX_ROWS) / 32 * 32);
  if (R < 32) return 0;
  if (n <= 0 || p->fo.k <= 0) return 1;
  const size_t smem = (size_t)T_BYTES + (size_t)R * row;
  CUDA_CHECK(cudaFuncSetAttribute(predict_heads_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  unsigned grid = ps_grid_1d((uint64_t)n, (unsigned)R);
  const unsigned sms = (unsigned)ps_device_limits().sms;
  if (grid > sms) grid = sms; /* one block an SM (its shared memory holds one), the tiles grid-strided */
  PS_LAUNCH(grid, R, smem, s, predict_heads_kernel)(p->fo, X, n, (int)f, z, ldz);
  CUDA_CHECK(cudaGetLastError());
  return 1;
}
