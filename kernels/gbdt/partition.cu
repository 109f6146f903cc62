/* partition.cu: stable partitions of row lists on the device, in three
 * kernels: each block counts the "left" rows of its tile, one block scans
 * the counts (exclusive, exact), each block scatters its tile -- left rows
 * to the front, right rows after all the left ones, each in their order
 * (a warp's ranks by ballot + popcount, warps in order) -- into tmp, which
 * is copied back. The result is a pure function of the input: the twins'
 * (partition_cpu.c) order exactly. Used for a node's split (left: the bin
 * test of gbdt_math.h, or a category set: gbdt_cat.h) and for a tree's
 * rows (left: in the bag). */
#include "common/cuda_check.h"
#include "common/launch.h"
#include <string.h>

#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/gbdt_sparse_cpu.h"
#include "gbdt/hist_sparse.h"

namespace {

constexpr int THREADS = 256, WARPS = THREADS / 32, ITEMS = 8, TILE = THREADS * ITEMS;
constexpr int SCAN_THREADS = 256;

struct BinTest { /* the node's test on the row's bin */
  const uint8_t *B;
  int64_t f;
  int32_t feature, bin, default_left;
  __device__ __forceinline__ bool operator()(int64_t i) const {
    return ps_gbdt_left_bin(B[i * f + feature], bin, default_left) != 0;
  }
};
struct SetTest { /* a categorical node's test: the row's bin (code + 1) in the set (gbdt_cat.h's rule) */
  const uint8_t *B;
  int64_t f;
  int32_t feature;
  /* the set's 32 bytes as four little-endian words (bit c of word c / 64), named fields: an array
   * indexed by the code would be copied to local memory (sass_check) */
  uint64_t w0, w1, w2, w3;
  __device__ __forceinline__ bool operator()(int64_t i) const {
    int b = B[i * f + feature];
    if (b <= 0) return false;
    int c = b - 1, q = c >> 6;
    uint64_t word = q == 0 ? w0 : q == 1 ? w1 : q == 2 ? w2 : w3;
    return (word >> (c & 63)) & 1u;
  }
};
struct SparseTest { /* sparse rows (gbdt_sparse_cpu.h): the row's code by a search of its kept bins */
  const int64_t *ptr;
  const uint32_t *bin;
  int64_t a, b; /* the feature's histogram bins */
  int32_t zcode, bin_split, default_left;
  __device__ __forceinline__ bool operator()(int64_t i) const {
    return ps_gbdt_left_bin(ps_gbdt_sparse_find(bin, ptr[i], ptr[i + 1], a, b, zcode), bin_split, default_left) != 0;
  }
};
struct InBag {
  const uint8_t *bag;
  __device__ __forceinline__ bool operator()(int64_t i) const { return bag == nullptr || bag[i] != 0; }
};

template <class Test>
__global__ void __launch_bounds__(THREADS) count_kernel(Test test, const int64_t *__restrict__ rows, int64_t m,
                                                        int64_t *counts) {
  __shared__ int part[WARPS];
  const int64_t base = (int64_t)blockIdx.x * TILE;
  int c = 0;
  for (int k = 0; k < ITEMS; k++) {
    int64_t r = base + k * THREADS + threadIdx.x;
    if (r < m) c += test(rows ? rows[r] : r);
  }
  for (int o = 16; o > 0; o >>= 1) c += __shfl_xor_sync(0xffffffffu, c, o);
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = c;
  __syncthreads();
  if (threadIdx.x == 0) {
    int64_t s = 0;
    for (int w = 0; w < WARPS; w++) s += part[w];
    counts[blockIdx.x] = s;
  }
}

/* counts[0..nb) -> exclusive offsets in place, counts[nb] = the total */
__global__ void __launch_bounds__(SCAN_THREADS) scan_kernel(int64_t *counts, int64_t nb) {
  __shared__ int64_t part[SCAN_THREADS];
  const int64_t per = (nb + SCAN_THREADS - 1) / SCAN_THREADS;
  const int64_t a = threadIdx.x * per, b = a + per < nb ? a + per : nb;
  int64_t s = 0;
  for (int64_t q = a; q < b; q++) s += counts[q];
  part[threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    int64_t run = 0;
    for (int w = 0; w < SCAN_THREADS; w++) {
      int64_t v = part[w];
      part[w] = run;
      run += v;
    }
    counts[nb] = run;
  }
  __syncthreads();
  int64_t run = part[threadIdx.x];
  for (int64_t q = a; q < b; q++) {
    int64_t v = counts[q];
    counts[q] = run;
    run += v;
  }
}

/* left rows to out[off[b] ..], right rows to out[total + (rows before the tile - off[b]) ..] */
template <class Test>
__global__ void __launch_bounds__(THREADS) scatter_kernel(Test test, const int64_t *__restrict__ rows, int64_t m,
                                                          const int64_t *__restrict__ off, int64_t nb,
                                                          int64_t *out, int keep_right) {
  __shared__ int wl[WARPS], wr[WARPS];
  const int64_t base = (int64_t)blockIdx.x * TILE, total = off[nb];
  int64_t left = off[blockIdx.x], right = total + (base - off[blockIdx.x]);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const unsigned below = (1u << lane) - 1u;
  for (int k = 0; k < ITEMS; k++) {
    const int64_t r = base + k * THREADS + threadIdx.x;
    const bool valid = r < m;
    const int64_t i = valid ? (rows ? rows[r] : r) : 0;
    const bool l = valid && test(i), rt = valid && !l;
    const unsigned bl = __ballot_sync(0xffffffffu, l), br = __ballot_sync(0xffffffffu, rt);
    if (lane == 0) wl[warp] = __popc(bl), wr[warp] = __popc(br);
    __syncthreads();
    int64_t pl = left, pr = right, tl = 0, tr = 0;
    for (int w = 0; w < WARPS; w++) {
      if (w < warp) pl += wl[w], pr += wr[w];
      tl += wl[w], tr += wr[w];
    }
    if (l) out[pl + __popc(bl & below)] = i;
    if (rt && keep_right) out[pr + __popc(br & below)] = i;
    left += tl;
    right += tr;
    __syncthreads(); /* wl/wr are rewritten next round */
  }
}

int64_t blocks_of(int64_t m) { return (m + TILE - 1) / TILE; }

/* the three kernels: out gets the left rows, then (keep_right) the right ones */
template <class Test>
int64_t run(Test test, const int64_t *rows, int64_t m, int64_t *out, void *work, int keep_right, cudaStream_t s) {
  const int64_t nb = blocks_of(m);
  int64_t *counts = (int64_t *)work;
  if (nb > 0x7fffffff) ps_die_local("partition kernel: %lld tiles exceed one grid", (long long)nb);
  PS_LAUNCH((unsigned)nb, THREADS, 0, s, count_kernel<Test>)(test, rows, m, counts);
  CUDA_CHECK(cudaGetLastError());
  PS_LAUNCH(1, SCAN_THREADS, 0, s, scan_kernel)(counts, nb);
  CUDA_CHECK(cudaGetLastError());
  PS_LAUNCH((unsigned)nb, THREADS, 0, s, scatter_kernel<Test>)(test, rows, m, counts, nb, out, keep_right);
  CUDA_CHECK(cudaGetLastError());
  int64_t nl = 0;
  CUDA_CHECK(cudaMemcpyAsync(&nl, counts + nb, sizeof nl, cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  return nl;
}

constexpr int LEAF_THREADS = 256;

__global__ void __launch_bounds__(LEAF_THREADS)
    leaf_of_kernel(const int64_t *__restrict__ rows, const int64_t *__restrict__ begin,
                   const int64_t *__restrict__ count, int nleaves, int64_t m, int32_t *leaf_of) {
  const int64_t stride = (int64_t)gridDim.x * LEAF_THREADS;
  for (int64_t r = (int64_t)blockIdx.x * LEAF_THREADS + threadIdx.x; r < m; r += stride)
    for (int L = 0; L < nleaves; L++)
      if (r >= begin[L] && r < begin[L] + count[L]) {
        leaf_of[rows[r]] = L;
        break;
      }
}

} // namespace

extern "C" size_t ps_gbdt_partition_work(int64_t m) { return sizeof(int64_t) * (size_t)(blocks_of(m) + 1); }

extern "C" int64_t ps_gbdt_partition_cuda(const uint8_t *B, int64_t f, int64_t *rows, int64_t m, int32_t feature,
                                          int32_t bin, int32_t default_left, int64_t *tmp, void *work,
                                          cudaStream_t s) {
  if (m <= 0) return 0;
  int64_t nl = run(BinTest{B, f, feature, bin, default_left}, rows, m, tmp, work, 1, s);
  CUDA_CHECK(cudaMemcpyAsync(rows, tmp, sizeof(int64_t) * (size_t)m, cudaMemcpyDeviceToDevice, s));
  return nl;
}

extern "C" int64_t ps_gbdt_partition_set_cuda(const uint8_t *B, int64_t f, int64_t *rows, int64_t m, int32_t feature,
                                              const uint8_t *set, int64_t *tmp, void *work, cudaStream_t s) {
  if (m <= 0) return 0;
  SetTest test{B, f, feature, {}};
  static_assert(PS_GBDT_CAT_BYTES == 32, "SetTest holds 32 bytes");
  memcpy(&test.w0, set, 8);
  memcpy(&test.w1, set + 8, 8);
  memcpy(&test.w2, set + 16, 8);
  memcpy(&test.w3, set + 24, 8);
  int64_t nl = run(test, rows, m, tmp, work, 1, s);
  CUDA_CHECK(cudaMemcpyAsync(rows, tmp, sizeof(int64_t) * (size_t)m, cudaMemcpyDeviceToDevice, s));
  return nl;
}

extern "C" int64_t ps_gbdt_bag_rows_cuda(const uint8_t *bag, int64_t n, int64_t *rows, int64_t *tmp, void *work,
                                         cudaStream_t s) {
  (void)tmp;
  if (n <= 0) return 0;
  return run(InBag{bag}, nullptr, n, rows, work, 1, s); /* the rows out of the bag after them */
}

extern "C" void ps_gbdt_leaf_of_cuda(const int64_t *rows, const int64_t *begin, const int64_t *count, int nleaves,
                                     int64_t m, int32_t *leaf_of, cudaStream_t s) {
  if (m <= 0) return;
  unsigned grid = ps_grid_1d((uint64_t)m, LEAF_THREADS);
  if (grid > 132 * 32) grid = 132 * 32;
  PS_LAUNCH(grid, LEAF_THREADS, 0, s, leaf_of_kernel)(rows, begin, count, nleaves, m, leaf_of);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" int64_t ps_gbdt_partition_sparse_cuda(const int64_t *ptr, const uint32_t *bin, int64_t a, int64_t b,
                                                 int32_t zcode, int64_t *rows, int64_t m, int32_t bin_split,
                                                 int32_t default_left, int64_t *tmp, void *work, cudaStream_t s) {
  if (m <= 0) return 0;
  int64_t nl = run(SparseTest{ptr, bin, a, b, zcode, bin_split, default_left}, rows, m, tmp, work, 1, s);
  CUDA_CHECK(cudaMemcpyAsync(rows, tmp, sizeof(int64_t) * (size_t)m, cudaMemcpyDeviceToDevice, s));
  return nl;
}
