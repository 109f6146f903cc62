/* test_cudasim.cu: the emulated device's own tests (built only with
 * -DPROPSCORE_CUDA_SIM=ON). First what must work as on a GPU: thread and
 * block indices in 1-3 dimensions, __syncthreads with static and dynamic
 * shared memory (also above 48 KiB), every shuffle with widths 32..4 against
 * CUDA's documented rules, votes, atomics, bfloat16 rounding, launch limits
 * and the errors cudaGetLastError returns, memory capacity, streams and
 * events, cp.async (cuda_pipeline.h) double buffering, cuBLAS against a
 * naive reference. Then what must fail loudly: each
 * "death" case runs in a child process (this binary with --death NAME) and
 * must abort with the emulator's message. */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_pipeline.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/launch.h"

extern "C" void ps_die_local(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

#include "common/test_expect.h"

namespace {

/* ---------------- kernels ---------------- */

__global__ void ids_kernel(unsigned *out) {
  unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  unsigned nt = blockDim.x * blockDim.y * blockDim.z;
  out[b * nt + t] = b * 65536u + t;
}

/* per block: the sum of in[block][0..n) through dynamic shared memory, the
 * total kept in a static __shared__ variable */
__global__ void reduce_kernel(const double *in, int n, double *out) {
  extern __shared__ double part[];
  __shared__ double total;
  double s = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += in[(size_t)blockIdx.x * n + i];
  part[threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0;
    for (unsigned j = 0; j < blockDim.x; j++) t += part[j];
    total = t;
  }
  __syncthreads();
  if (threadIdx.x == blockDim.x - 1) out[blockIdx.x] = total;
}

/* fills `words` doubles of dynamic shared memory, then each thread reads another's */
__global__ void big_smem_kernel(int words, double *out) {
  extern __shared__ double buf[];
  for (int i = threadIdx.x; i < words; i += blockDim.x) buf[i] = i;
  __syncthreads();
  double s = 0;
  for (int i = threadIdx.x; i < words; i += blockDim.x) s += buf[words - 1 - i];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

/* out[kind][width][off][lane] for int and double values */
__global__ void shfl_kernel(int *oi, double *od) {
  int lane = threadIdx.x & 31;
  int vi = lane * 7 + 1;
  double vd = lane * 0.25 - 3;
  int slot = 0;
  for (int w = 32; w >= 4; w >>= 1)
    for (int off = 0; off < 6; off++) {
      int o = off * 3 % 32;
      oi[(slot * 4 + 0) * 32 + lane] = __shfl_xor_sync(0xffffffffu, vi, o, w);
      oi[(slot * 4 + 1) * 32 + lane] = __shfl_down_sync(0xffffffffu, vi, (unsigned)o, w);
      oi[(slot * 4 + 2) * 32 + lane] = __shfl_up_sync(0xffffffffu, vi, (unsigned)o, w);
      oi[(slot * 4 + 3) * 32 + lane] = __shfl_sync(0xffffffffu, vi, o + lane % 5, w);
      od[(slot * 4 + 0) * 32 + lane] = __shfl_xor_sync(0xffffffffu, vd, o, w);
      od[(slot * 4 + 1) * 32 + lane] = __shfl_down_sync(0xffffffffu, vd, (unsigned)o, w);
      od[(slot * 4 + 2) * 32 + lane] = __shfl_up_sync(0xffffffffu, vd, (unsigned)o, w);
      od[(slot * 4 + 3) * 32 + lane] = __shfl_sync(0xffffffffu, vd, o + lane % 5, w);
      slot++;
    }
}

/* half-warp groups with their own masks, a butterfly sum in each */
__global__ void half_warp_kernel(int *out) {
  int lane = threadIdx.x & 31;
  unsigned mask = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  int v = lane;
  for (int off = 8; off > 0; off >>= 1) v += __shfl_xor_sync(mask, v, off, 16);
  __syncwarp();
  out[lane] = v;
}

__global__ void vote_kernel(unsigned *out) {
  int lane = threadIdx.x & 31;
  out[lane * 4 + 0] = __ballot_sync(0xffffffffu, lane % 3 == 0);
  out[lane * 4 + 1] = __any_sync(0xffffffffu, lane == 5);
  out[lane * 4 + 2] = __all_sync(0xffffffffu, lane < 40);
  out[lane * 4 + 3] = __all_sync(0xffffffffu, lane < 31);
}

__global__ void atomics_kernel(int *i, unsigned *u, unsigned long long *ull, float *f, double *d, int *mx, int *mn,
                               int *cas, unsigned *ex) {
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(i, 1);
  atomicAdd(u, 2u);
  atomicAdd(ull, 3ull);
  atomicAdd(f, 1.0f);
  atomicAdd(d, 0.5);
  atomicMax(mx, t);
  atomicMin(mn, -t);
  int old = atomicAdd(cas, 0), assumed;
  do {
    assumed = old;
    old = atomicCAS(cas, assumed, assumed + 1);
  } while (old != assumed);
  atomicExch(ex, (unsigned)t);
}

__global__ void scale_kernel(double *x, int n, double a) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] *= a;
}

__global__ void read_kernel(const double *x, int n, double *out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = x[i] + 1;
}

/* ---- kernels with planted bugs: the death cases ---- */
__global__ void exit_before_shfl_kernel(double *out) {
  double v = threadIdx.x;
  if (threadIdx.x == 3) return;
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;
}
__global__ void full_mask_kernel(double *out) { out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1.0, 1); }
__global__ void barrier_vs_shfl_kernel(double *out) {
  double v = threadIdx.x;
  if ((threadIdx.x & 31) < 16) v += __shfl_xor_sync(0xffffffffu, v, 1);
  __syncthreads();
  out[threadIdx.x] = v;
}
__global__ void outside_mask_kernel(int *out) {
  int lane = threadIdx.x & 31, v = lane;
  if (lane < 16) v = __shfl_down_sync(0x0000ffffu, v, 8);
  out[lane] = v;
}
__global__ void mixed_kinds_kernel(int *out) {
  int lane = threadIdx.x & 31, v = lane;
  if (lane < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
  else v = __shfl_down_sync(0xffffffffu, v, 1);
  out[lane] = v;
}
__global__ void divergent_barrier_kernel(int *out) {
  if (threadIdx.x < 32) __syncthreads();
  else __syncthreads();
  out[threadIdx.x] = 1;
}
__global__ void smem_write_past_kernel(float *out) {
  extern __shared__ float s[];
  s[threadIdx.x + 1] = 1.0f; /* one float past the end for the last thread */
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x];
}
__global__ void smem_read_past_kernel(float *out, int words) {
  extern __shared__ float s[];
  out[threadIdx.x] = s[words + 1024 + threadIdx.x]; /* far past the end */
}
__global__ void device_overflow_kernel(double *x, int n) {
  if (threadIdx.x == 0) x[n] = 1.0; /* one past the end */
}

/* ---------------- helpers ---------------- */

std::string self_path;

/* run `this --death name`: it must abort and print `expect` */
void expect_death(const char *name, const char *expect) {
  std::string cmd = "'" + self_path + "' --death " + name + " 2>&1";
  FILE *p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  bool died = !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  bool said = out.find(expect) != std::string::npos;
  std::string first = out.substr(0, out.find('\n'));
  printf("death %-20s %s: %s\n", name, died && said ? "caught" : "MISSED", first.c_str());
  EXPECT(died && said, "death case %s: exit status %d, expected a failure saying \"%s\"; output:\n%s", name, st, expect,
         out.c_str());
}

template <class T> T *dev(size_t n) {
  T *p = nullptr;
  if (cudaMalloc(&p, n * sizeof(T)) != cudaSuccess) ps_die_local("cudaMalloc");
  return p;
}
template <class T> std::vector<T> down(const T *d, size_t n) {
  std::vector<T> h(n);
  if (cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost) != cudaSuccess) ps_die_local("cudaMemcpy D2H");
  return h;
}
template <class T> void up(T *d, const std::vector<T> &h) {
  if (cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice) != cudaSuccess) ps_die_local("cudaMemcpy H2D");
}

/* CUDA's documented shuffle results (programming guide), independent of the emulator's PTX model */
template <class T> T ref_shfl(int kind, const T *v, int lane, int o, int w) {
  int base = lane & ~(w - 1), in = lane - base;
  switch (kind) {
    case 0: { int src = lane ^ o; return src >= base + w ? v[lane] : v[src]; }
    case 1: return in + o < w ? v[lane + o] : v[lane];
    case 2: return in - o >= 0 ? v[lane - o] : v[lane];
    default: return v[base + (o + lane % 5) % w];
  }
}

/* ---------------- positive tests ---------------- */

void test_ids() {
  struct { dim3 g, b; } cases[] = {{dim3(3), dim3(37)}, {dim3(2, 3), dim3(8, 4)}, {dim3(2, 2, 2), dim3(4, 4, 3)},
                                   {dim3(1), dim3(1024)}, {dim3(5), dim3(1)}};
  for (auto &c : cases) {
    unsigned nb = c.g.x * c.g.y * c.g.z, nt = c.b.x * c.b.y * c.b.z;
    unsigned *d = dev<unsigned>(nb * nt);
    PS_LAUNCH(c.g, c.b, 0, 0, ids_kernel)(d);
    EXPECT(cudaGetLastError() == cudaSuccess, "ids launch");
    auto h = down(d, nb * nt);
    int bad = 0;
    for (unsigned b = 0; b < nb; b++)
      for (unsigned t = 0; t < nt; t++) bad += h[b * nt + t] != b * 65536u + t;
    EXPECT(bad == 0, "thread/block ids: %d wrong (grid %u,%u,%u block %u,%u,%u)", bad, c.g.x, c.g.y, c.g.z, c.b.x,
           c.b.y, c.b.z);
    cudaFree(d);
  }
}

void test_reduce() {
  for (int threads : {1, 33, 256, 1024}) {
    int blocks = 3, n = 1000;
    std::vector<double> in((size_t)blocks * n), want(blocks, 0.0);
    for (int b = 0; b < blocks; b++)
      for (int i = 0; i < n; i++) in[(size_t)b * n + i] = b * 1000 + i, want[b] += b * 1000 + i;
    double *din = dev<double>(in.size()), *dout = dev<double>(blocks);
    up(din, in);
    PS_LAUNCH(blocks, threads, sizeof(double) * threads, 0, reduce_kernel)(din, n, dout);
    EXPECT(cudaGetLastError() == cudaSuccess, "reduce launch");
    auto got = down(dout, blocks);
    for (int b = 0; b < blocks; b++) EXPECT(got[b] == want[b], "reduce block %d (%d threads): %g != %g", b, threads, got[b], want[b]);
    cudaFree(din);
    cudaFree(dout);
  }
}

void test_launch_limits() {
  double *d = dev<double>(1024 * 4);
  const int words = 12000; /* 96000 bytes: above 48 KiB */
  PS_LAUNCH(2, 256, sizeof(double) * words, 0, big_smem_kernel)(words, d);
  EXPECT(cudaGetLastError() == cudaErrorInvalidValue, "> 48 KiB without cudaFuncSetAttribute must fail");
  EXPECT(cudaGetLastError() == cudaSuccess, "cudaGetLastError resets the error");
  EXPECT(cudaFuncSetAttribute(big_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 300 * 1024) ==
             cudaErrorInvalidValue, "an attribute above 227 KiB must fail");
  cudaGetLastError();
  EXPECT(cudaFuncSetAttribute(big_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sizeof(double) * words) ==
             cudaSuccess, "cudaFuncSetAttribute");
  PS_LAUNCH(2, 256, sizeof(double) * words, 0, big_smem_kernel)(words, d);
  EXPECT(cudaGetLastError() == cudaSuccess, "> 48 KiB after cudaFuncSetAttribute");
  int optin = 0, sms = 0, per_sm = -1;
  EXPECT(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0) == cudaSuccess &&
             optin == 227 * 1024, "opt-in shared memory %d (PROPSCORE_CUDASIM_SMEM_OPTIN unset: 227 KiB)", optin);
  EXPECT(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess && sms == 132, "SMs %d", sms);
  EXPECT(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, big_smem_kernel, 256, sizeof(double) * words) ==
             cudaSuccess && per_sm == 2, "two blocks of 96000 bytes an SM: %d", per_sm);
  EXPECT(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, big_smem_kernel, 256, 0) == cudaSuccess &&
             per_sm == 8, "eight blocks of 256 threads an SM: %d", per_sm);
  EXPECT(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, big_smem_kernel, 256, 200 * 1024) == cudaSuccess &&
             per_sm == 0, "above the kernel's cudaFuncSetAttribute: %d blocks", per_sm);
  auto h = down(d, 512);
  double want = 0;
  for (int i = 0; i < words; i += 256) want += words - 1 - i;
  EXPECT(h[0] == want && h[256] == want, "big shared memory: %g %g != %g", h[0], h[256], want);
  PS_LAUNCH(1, 256, 228 * 1024, 0, big_smem_kernel)(words, d);
  EXPECT(cudaGetLastError() == cudaErrorInvalidValue, "> 227 KiB must fail");
  PS_LAUNCH(1, 1025, 0, 0, big_smem_kernel)(1, d);
  EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration, "1025 threads must fail");
  PS_LAUNCH(1, dim3(1, 1, 65), 0, 0, big_smem_kernel)(1, d);
  EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration, "blockDim.z 65 must fail");
  PS_LAUNCH(dim3(1, 65536), 1, 0, 0, big_smem_kernel)(1, d);
  EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration, "gridDim.y 65536 must fail");
  PS_LAUNCH(0, 32, 0, 0, big_smem_kernel)(1, d);
  EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration, "an empty grid must fail");
  EXPECT(ps_grid_1d(((uint64_t)1 << 31) * 256 - 256, 256) == 0x7fffffffu, "ps_grid_1d at the limit");
  cudaFree(d);
}

void test_shuffles() {
  int *di = dev<int>(5 * 6 * 4 * 32 * 8);
  double *dd = dev<double>(5 * 6 * 4 * 32 * 8);
  PS_LAUNCH(1, 32, 0, 0, shfl_kernel)(di, dd);
  EXPECT(cudaGetLastError() == cudaSuccess, "shfl launch");
  auto hi = down(di, 4 * 6 * 4 * 32);
  auto hd = down(dd, 4 * 6 * 4 * 32);
  int vi[32];
  double vd[32];
  for (int l = 0; l < 32; l++) vi[l] = l * 7 + 1, vd[l] = l * 0.25 - 3;
  int bad = 0, slot = 0;
  for (int w = 32; w >= 4; w >>= 1)
    for (int off = 0; off < 6; off++, slot++)
      for (int kind = 0; kind < 4; kind++)
        for (int l = 0; l < 32; l++) {
          int o = off * 3 % 32;
          bad += hi[(size_t)(slot * 4 + kind) * 32 + l] != ref_shfl(kind, vi, l, o, w);
          bad += hd[(size_t)(slot * 4 + kind) * 32 + l] != ref_shfl(kind, vd, l, o, w);
        }
  EXPECT(bad == 0, "shuffles: %d results differ from CUDA's rules", bad);
  int *dh = dev<int>(32);
  PS_LAUNCH(1, 32, 0, 0, half_warp_kernel)(dh);
  auto hh = down(dh, 32);
  EXPECT(hh[0] == 120 && hh[15] == 120 && hh[16] == 376 && hh[31] == 376, "half-warp sums %d %d %d %d", hh[0], hh[15],
         hh[16], hh[31]);
  unsigned *dv = dev<unsigned>(128);
  PS_LAUNCH(1, 32, 0, 0, vote_kernel)(dv);
  auto hv = down(dv, 128);
  unsigned ballot = 0;
  for (int l = 0; l < 32; l += 3) ballot |= 1u << l;
  EXPECT(hv[0] == ballot && hv[4 * 31] == ballot && hv[1] == 1 && hv[2] == 1 && hv[3] == 0, "votes %x %u %u %u", hv[0],
         hv[1], hv[2], hv[3]);
  cudaFree(di);
  cudaFree(dd);
  cudaFree(dh);
  cudaFree(dv);
}

void test_atomics() {
  int *i = dev<int>(1), *mx = dev<int>(1), *mn = dev<int>(1), *cas = dev<int>(1);
  unsigned *u = dev<unsigned>(1), *ex = dev<unsigned>(1);
  unsigned long long *ull = dev<unsigned long long>(1);
  float *f = dev<float>(1);
  double *d = dev<double>(1);
  for (void *p : {(void *)i, (void *)mx, (void *)mn, (void *)cas, (void *)u, (void *)ex}) cudaMemset(p, 0, 4);
  cudaMemset(ull, 0, 8);
  cudaMemset(f, 0, 4);
  cudaMemset(d, 0, 8);
  const int blocks = 7, threads = 200, n = blocks * threads;
  PS_LAUNCH(blocks, threads, 0, 0, atomics_kernel)(i, u, ull, f, d, mx, mn, cas, ex);
  EXPECT(cudaGetLastError() == cudaSuccess, "atomics launch");
  EXPECT(down(i, 1)[0] == n && down(u, 1)[0] == 2u * n && down(ull, 1)[0] == 3ull * n, "integer atomicAdd");
  EXPECT(down(f, 1)[0] == (float)n && down(d, 1)[0] == 0.5 * n, "float/double atomicAdd");
  EXPECT(down(mx, 1)[0] == n - 1 && down(mn, 1)[0] == -(n - 1), "atomicMax/Min");
  EXPECT(down(cas, 1)[0] == n && down(ex, 1)[0] < (unsigned)n, "atomicCAS/Exch");
  for (void *p : {(void *)i, (void *)mx, (void *)mn, (void *)cas, (void *)u, (void *)ex, (void *)ull, (void *)f, (void *)d})
    cudaFree(p);
}

/* cp.async as the tiled kernels use it: 16-byte copies into dynamic shared
 * memory, two stages in flight, wait_prior(1) + barrier before reading what
 * other threads copied (each thread reads another thread's chunk). */
__global__ void cp_async_kernel(const float *in, int tiles, float *out) {
  extern __shared__ float buf[];
  const int t = threadIdx.x;
  __pipeline_memcpy_async(buf + 4 * t, in + 4 * t, 16);
  __pipeline_commit();
  for (int i = 0; i < tiles; i++) {
    float *cur = buf + (i & 1) * 4 * 64, *nxt = buf + ((i + 1) & 1) * 4 * 64;
    if (i + 1 < tiles) __pipeline_memcpy_async(nxt + 4 * t, in + (size_t)(i + 1) * 256 + 4 * t, 16);
    __pipeline_commit();
    __pipeline_wait_prior(1);
    __syncthreads();
    for (int e = 0; e < 4; e++) out[(size_t)i * 256 + 4 * t + e] = cur[4 * (63 - t) + e];
    __syncthreads();
  }
}
__global__ void cp_async_misaligned_kernel(const float *in) {
  extern __shared__ float buf[];
  __pipeline_memcpy_async(buf + 4 * threadIdx.x, in + 4 * threadIdx.x + 1, 16); /* source off by 4 bytes */
  __pipeline_commit();
  __pipeline_wait_prior(0);
}

void test_cp_async() {
  const int tiles = 5;
  std::vector<float> h(256 * tiles), o(256 * tiles);
  for (size_t i = 0; i < h.size(); i++) h[i] = (float)i;
  float *din = dev<float>(h.size()), *dout = dev<float>(h.size());
  cudaMemcpy(din, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
  PS_LAUNCH(1, 64, 2 * 256 * 4, 0, cp_async_kernel)(din, tiles, dout);
  EXPECT(cudaGetLastError() == cudaSuccess, "cp.async launch");
  cudaMemcpy(o.data(), dout, o.size() * 4, cudaMemcpyDeviceToHost);
  int bad = 0;
  for (int i = 0; i < tiles; i++)
    for (int t = 0; t < 64; t++)
      for (int e = 0; e < 4; e++) bad += o[(size_t)i * 256 + 4 * t + e] != h[(size_t)i * 256 + 4 * (63 - t) + e];
  EXPECT(bad == 0, "cp.async double buffer: %d wrong values", bad);
  cudaFree(din);
  cudaFree(dout);
}

void test_bf16() {
  struct { unsigned in; unsigned short out; } cases[] = {
      {0x3f800000u, 0x3f80}, {0x3f808000u, 0x3f80}, /* tie: to even */ {0x3f818000u, 0x3f82}, /* tie: up to even */
      {0x3f808001u, 0x3f81}, {0x7f7fffffu, 0x7f80}, /* overflow to inf */ {0xff800000u, 0xff80}, {0x7fc00001u, 0x7fff},
      {0x00000001u, 0x0000}, {0x80000000u, 0x8000}};
  for (auto &c : cases) {
    float f;
    memcpy(&f, &c.in, 4);
    __nv_bfloat16_raw r = __float2bfloat16_rn(f);
    EXPECT(r.x == c.out, "bf16(%08x) = %04x, expected %04x", c.in, r.x, c.out);
  }
  EXPECT(__bfloat162float(__nv_bfloat16(__nv_bfloat16_raw{0x4049})) == 3.140625f, "bf16 -> float");
}

void test_memory() {
  size_t fr, tot;
  EXPECT(cudaMemGetInfo(&fr, &tot) == cudaSuccess && tot == ((size_t)8 << 20), "capacity %zu (PROPSCORE_CUDASIM_MEM=8M)", tot);
  void *a = nullptr, *b = nullptr;
  EXPECT(cudaMalloc(&a, (size_t)6 << 20) == cudaSuccess, "6 MiB of 8");
  EXPECT(cudaMalloc(&b, (size_t)3 << 20) == cudaErrorMemoryAllocation, "9 MiB of 8 must fail");
  EXPECT(cudaGetLastError() == cudaErrorMemoryAllocation, "the failure is the last error");
  size_t fr2;
  cudaMemGetInfo(&fr2, &tot);
  EXPECT(fr - fr2 == ((size_t)6 << 20), "free went from %zu to %zu", fr, fr2);
  double *d = (double *)a;
  auto h = down(d, 4);
  EXPECT(isnan(h[0]) && isnan(h[3]), "fresh device memory reads as NaN (uninitialized)");
  EXPECT(cudaFree(a) == cudaSuccess, "cudaFree");
  EXPECT(cudaMalloc(&b, (size_t)3 << 20) == cudaSuccess, "after the free it fits");
  EXPECT(cudaMemcpy(b, &fr, 8, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue, "a D2H copy into device memory is refused");
  EXPECT(cudaFree(&fr) == cudaErrorInvalidValue, "cudaFree of a host pointer is refused");
  cudaGetLastError();
  cudaFree(b);
}

void test_streams() {
  const int n = 1000;
  std::vector<double> h(n);
  for (int i = 0; i < n; i++) h[i] = i;
  double *x = dev<double>(n), *y = dev<double>(n), *pin = nullptr;
  EXPECT(cudaMallocHost(&pin, n * sizeof(double)) == cudaSuccess, "cudaMallocHost");
  cudaStream_t s1, s2;
  cudaEvent_t e, t0, t1;
  EXPECT(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking) == cudaSuccess, "stream");
  EXPECT(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking) == cudaSuccess, "stream");
  cudaEventCreate(&e);
  cudaEventCreate(&t0);
  cudaEventCreate(&t1);
  /* s1 uploads and scales x; s2 waits for the event, reads x into y; the host reads y back through pinned memory */
  memcpy(pin, h.data(), n * sizeof(double));
  cudaEventRecord(t0, s1);
  cudaMemcpyAsync(x, pin, n * sizeof(double), cudaMemcpyHostToDevice, s1);
  PS_LAUNCH((n + 255) / 256, 256, 0, s1, scale_kernel)(x, n, 2.0);
  cudaEventRecord(e, s1);
  cudaStreamWaitEvent(s2, e, 0);
  PS_LAUNCH((n + 255) / 256, 256, 0, s2, read_kernel)(x, n, y);
  cudaMemcpyAsync(pin, y, n * sizeof(double), cudaMemcpyDeviceToHost, s2);
  cudaEventRecord(t1, s2);
  EXPECT(cudaStreamQuery(s2) == cudaErrorNotReady, "pending work: not ready");
  EXPECT(cudaStreamSynchronize(s2) == cudaSuccess, "sync");
  EXPECT(cudaStreamQuery(s2) == cudaSuccess, "done after the sync");
  EXPECT(pin[0] == 1 && pin[n - 1] == 2.0 * (n - 1) + 1, "event-ordered result %g %g", pin[0], pin[n - 1]);
  float ms = -1;
  EXPECT(cudaEventElapsedTime(&ms, t0, t1) == cudaSuccess && ms >= 0, "elapsed time %g", ms);
  /* a blocking stream is ordered with the legacy default stream */
  cudaStream_t b;
  cudaStreamCreate(&b);
  PS_LAUNCH((n + 255) / 256, 256, 0, b, scale_kernel)(y, n, 0.5);
  auto back = down(y, n);
  EXPECT(back[2] == 2.5, "blocking stream then legacy copy: %g", back[2]);
  EXPECT(cudaStreamDestroy(b) == cudaSuccess && cudaStreamDestroy(s1) == cudaSuccess && cudaStreamDestroy(s2) == cudaSuccess,
         "stream destroy");
  EXPECT(cudaStreamSynchronize(s1) == cudaErrorInvalidResourceHandle, "a destroyed stream is invalid");
  cudaGetLastError();
  cudaEventDestroy(e);
  cudaEventDestroy(t0);
  cudaEventDestroy(t1);
  cudaFreeHost(pin);
  cudaFree(x);
  cudaFree(y);
}

void test_cublas() {
  cublasHandle_t h;
  EXPECT(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS, "cublasCreate");
  const int m = 5, n = 4, k = 3, lda = 7, ldb = 6, ldc = 8;
  std::vector<double> A((size_t)lda * m), B((size_t)ldb * n), C((size_t)ldc * n), R(C.size());
  for (size_t i = 0; i < A.size(); i++) A[i] = (double)(i % 11) - 5;
  for (size_t i = 0; i < B.size(); i++) B[i] = (double)(i % 7) * 0.5;
  for (size_t i = 0; i < C.size(); i++) C[i] = (double)i;
  /* C = 2 A^T B + 3 C, A stored k x m (ld lda), B k x n (ld ldb), column-major */
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) {
      double s = 0;
      for (int p = 0; p < k; p++) s += A[(size_t)i * lda + p] * B[(size_t)j * ldb + p];
      R[(size_t)j * ldc + i] = 2 * s + 3 * C[(size_t)j * ldc + i];
    }
  for (int j = 0; j < n; j++)
    for (int i = m; i < ldc; i++) R[(size_t)j * ldc + i] = C[(size_t)j * ldc + i];
  double *dA = dev<double>(A.size()), *dB = dev<double>(B.size()), *dC = dev<double>(C.size());
  up(dA, A);
  up(dB, B);
  up(dC, C);
  const double two = 2, three = 3;
  EXPECT(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &two, dA, lda, dB, ldb, &three, dC, ldc) ==
             CUBLAS_STATUS_SUCCESS, "dgemm");
  auto got = down(dC, C.size());
  double err = 0;
  for (size_t i = 0; i < R.size(); i++) err = fmax(err, fabs(got[i] - R[i]));
  EXPECT(err < 1e-12, "dgemm differs by %g", err);
  EXPECT(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &two, dA, 2, dB, ldb, &three, dC, ldc) ==
             CUBLAS_STATUS_INVALID_VALUE, "lda < k must be refused");
  /* DSYRK upper: S = A A^T (A: 4 x 3, ld 7) */
  double *dS = dev<double>(16);
  cudaMemset(dS, 0, 16 * sizeof(double));
  const double one = 1, zero = 0;
  EXPECT(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, 4, 3, &one, dA, lda, &zero, dS, 4) == CUBLAS_STATUS_SUCCESS,
         "dsyrk");
  auto S = down(dS, 16);
  err = 0;
  for (int j = 0; j < 4; j++)
    for (int i = 0; i <= j; i++) {
      double s = 0;
      for (int p = 0; p < 3; p++) s += A[(size_t)p * lda + i] * A[(size_t)p * lda + j];
      err = fmax(err, fabs(S[(size_t)j * 4 + i] - s));
    }
  EXPECT(err < 1e-12 && S[1] == 0, "dsyrk differs by %g (lower part %g must stay)", err, S[1]);
  float fa[6] = {1, 2, 3, 4, 5, 6}, fc[4];
  float *dfa = dev<float>(6), *dfc = dev<float>(4);
  cudaMemcpy(dfa, fa, sizeof fa, cudaMemcpyHostToDevice);
  const float fone = 1, fzero = 0; /* C (2x2) = A (2x3) A^T */
  EXPECT(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, 2, 2, 3, &fone, dfa, 2, dfa, 2, &fzero, dfc, 2) == CUBLAS_STATUS_SUCCESS,
         "sgemm");
  cudaMemcpy(fc, dfc, sizeof fc, cudaMemcpyDeviceToHost);
  EXPECT(fc[0] == 35 && fc[1] == 44 && fc[2] == 44 && fc[3] == 56, "sgemm %g %g %g %g", fc[0], fc[1], fc[2], fc[3]);
  EXPECT(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS, "cublasDestroy");
  EXPECT(cublasDestroy(h) == CUBLAS_STATUS_NOT_INITIALIZED, "a second cublasDestroy is refused");
  for (void *p : {(void *)dA, (void *)dB, (void *)dC, (void *)dS, (void *)dfa, (void *)dfc}) cudaFree(p);
}

/* ---------------- death cases (run in a child) ---------------- */

int death(const char *name) {
  double *d = dev<double>(2048);
  int *di = dev<int>(64);
  if (!strcmp(name, "lane_exit")) PS_LAUNCH(1, 32, 0, 0, exit_before_shfl_kernel)(d);
  else if (!strcmp(name, "partial_warp")) PS_LAUNCH(1, 40, 0, 0, full_mask_kernel)(d);
  else if (!strcmp(name, "barrier_vs_shfl")) PS_LAUNCH(1, 64, 0, 0, barrier_vs_shfl_kernel)(d);
  else if (!strcmp(name, "outside_mask")) PS_LAUNCH(1, 32, 0, 0, outside_mask_kernel)(di);
  else if (!strcmp(name, "mixed_kinds")) PS_LAUNCH(1, 32, 0, 0, mixed_kinds_kernel)(di);
  else if (!strcmp(name, "divergent_barrier")) PS_LAUNCH(1, 64, 0, 0, divergent_barrier_kernel)(di);
  else if (!strcmp(name, "cp_async_misaligned")) PS_LAUNCH(1, 32, 32 * 16, 0, cp_async_misaligned_kernel)((float *)d);
  else if (!strcmp(name, "smem_write_past")) PS_LAUNCH(1, 64, 64 * 4 - 4, 0, smem_write_past_kernel)((float *)d);
  else if (!strcmp(name, "smem_read_past")) PS_LAUNCH(1, 64, 1024, 0, smem_read_past_kernel)((float *)d, 256);
  else if (!strcmp(name, "device_overflow")) {
    double *x = dev<double>(10);
    PS_LAUNCH(1, 32, 0, 0, device_overflow_kernel)(x, 10);
  } else if (!strcmp(name, "host_pointer_arg")) {
    static double host[64];
    PS_LAUNCH(1, 32, 0, 0, scale_kernel)(host, 64, 2.0);
  } else if (!strcmp(name, "host_reads_device")) {
    printf("%g\n", d[0]);
  } else if (!strcmp(name, "stream_race")) {
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    std::vector<double> h(2048, 1.0);
    cudaMemcpy(d, h.data(), h.size() * sizeof(double), cudaMemcpyHostToDevice); /* legacy default stream */
    PS_LAUNCH(8, 256, 0, s, scale_kernel)(d, 2048, 2.0);                      /* races it */
  } else if (!strcmp(name, "stream_race_read")) {
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    PS_LAUNCH(8, 256, 0, s, scale_kernel)(d, 2048, 2.0);
    std::vector<double> h(2048);
    cudaMemcpy(h.data(), d, h.size() * sizeof(double), cudaMemcpyDeviceToHost); /* no sync with s */
  } else {
    fprintf(stderr, "no death case %s\n", name);
    return 2;
  }
  cudaDeviceSynchronize();
  printf("death case %s: no failure\n", name);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  setenv("PROPSCORE_CUDASIM_MEM", "8M", 1);
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  self_path = n > 0 ? std::string(buf, (size_t)n) : std::string(argv[0]);
  if (argc == 3 && !strcmp(argv[1], "--death")) return death(argv[2]);
  test_ids();
  test_reduce();
  test_launch_limits();
  test_shuffles();
  test_atomics();
  test_bf16();
  test_cp_async();
  test_memory();
  test_streams();
  test_cublas();
  printf("positive checks: %s\n", failures ? "FAILED" : "passed");
  expect_death("lane_exit", "lane 3 exited (returned from the kernel) while lanes 0-2 wait for it");
  expect_death("partial_warp", "do not exist");
  expect_death("barrier_vs_shfl", "__syncthreads");
  expect_death("cp_async_misaligned", "cp.async copies 4, 8 or 16");
  expect_death("outside_mask", "outside the mask");
  expect_death("mixed_kinds", "deadlock");
  expect_death("divergent_barrier", "another __syncthreads");
  expect_death("smem_write_past", "past the 252 bytes the launch gave");
  expect_death("smem_read_past", "past the 1024 bytes the launch gave");
  expect_death("device_overflow", "wrote outside device buffer");
  expect_death("host_pointer_arg", "is not device memory");
  expect_death("host_reads_device", "host code touched device memory");
  expect_death("stream_race", "stream race");
  expect_death("stream_race_read", "stream race");
  printf("%s: %d failure%s\n", failures ? "FAILED" : "passed", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
