/* cudasim.h: the device side of the emulated CUDA device (C++17), for .cu
 * files compiled by the host compiler: the qualifiers, threadIdx, blockIdx,
 * blockDim, gridDim (per emulated thread), __syncthreads, warp shuffles and
 * votes (checked: every lane named in the mask must arrive), atomics, __ldg,
 * device math helpers, and cudasim::launcher, the emulated kernel launch
 * behind PS_LAUNCH (kernels/common/launch.h).
 *
 * Shared memory: a static `__shared__ T x[N];` is a static variable (the
 * blocks of a grid run one after another, one grid at a time); an
 * `extern __shared__ T x[];` is rewritten at build time (rewrite.cmake) into
 * a pointer to the block's dynamic shared memory, cudasim::dynamic_shared().
 * The execution model and its checks: src/exec.cc and docs/TESTING.md. */
#ifndef CUDASIM_H
#define CUDASIM_H
#ifndef __cplusplus
#error "cudasim.h is C++: the .cu files are compiled as C++17"
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_runtime_api.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __shared__ static

/* Per emulated thread: set by the scheduler before each lane runs. */
extern __thread uint3 threadIdx;
extern __thread uint3 blockIdx;
extern __thread dim3 blockDim;
extern __thread dim3 gridDim;
constexpr int warpSize = 32;

namespace cudasim {
namespace detail {
enum WarpKind { SHFL_IDX, SHFL_UP, SHFL_DOWN, SHFL_XOR, BALLOT, ANY, ALL, SYNCWARP };
/* One lane's part in a warp-wide operation; returns the lane's result. */
uint64_t warp_op(const char *file, int line, int kind, unsigned mask, uint64_t value, int arg, int width);
void syncthreads(const char *file, int line);
unsigned active_mask();
void *dynamic_shared_base();
struct PtrArg {
  const void *p;
  bool write;
  int index;
};
void launch(const char *name, const char *file, int line, const void *fn, dim3 grid, dim3 block, size_t smem,
            cudaStream_t stream, const PtrArg *ptrs, int nptrs, std::shared_ptr<const void> keep, void (*body)(const void *));
} // namespace detail

/* The call site of a device intrinsic: __syncthreads() expands to
 * cudasim::At{__FILE__, __LINE__}.syncthreads(), and so on. */
struct At {
  const char *file;
  int line;
  void syncthreads() const { detail::syncthreads(file, line); }
  void syncwarp(unsigned mask = 0xffffffffu) const { detail::warp_op(file, line, detail::SYNCWARP, mask, 0, 0, 32); }
  template <class T> T shfl(unsigned mask, T v, int src, int width = 32) const { return op(detail::SHFL_IDX, mask, v, src, width); }
  template <class T> T shfl_up(unsigned mask, T v, unsigned d, int width = 32) const { return op(detail::SHFL_UP, mask, v, (int)d, width); }
  template <class T> T shfl_down(unsigned mask, T v, unsigned d, int width = 32) const { return op(detail::SHFL_DOWN, mask, v, (int)d, width); }
  template <class T> T shfl_xor(unsigned mask, T v, int lm, int width = 32) const { return op(detail::SHFL_XOR, mask, v, lm, width); }
  unsigned ballot(unsigned mask, int pred) const { return (unsigned)detail::warp_op(file, line, detail::BALLOT, mask, pred != 0, 0, 32); }
  int any(unsigned mask, int pred) const { return (int)detail::warp_op(file, line, detail::ANY, mask, pred != 0, 0, 32); }
  int all(unsigned mask, int pred) const { return (int)detail::warp_op(file, line, detail::ALL, mask, pred != 0, 0, 32); }

 private:
  template <class T> T op(int kind, unsigned mask, T v, int arg, int width) const {
    static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8, "warp shuffle of a type wider than 64 bits");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof v);
    bits = detail::warp_op(file, line, kind, mask, bits, arg, width);
    T r;
    memcpy(&r, &bits, sizeof r);
    return r;
  }
};

/* The block's dynamic shared memory (extern __shared__), as T*. */
template <class T> T *dynamic_shared() { return static_cast<T *>(detail::dynamic_shared_base()); }

/* PS_LAUNCH(grid, block, smem, stream, kernel)(args...): the arguments are
 * converted to the kernel's parameter types and kept by value, as a real
 * launch does; pointer arguments are the device buffers the launch uses
 * (read-only when they point to const) for the stream-order checks. */
template <class... P> class Launch {
 public:
  Launch(const char *name, const char *file, int line, void (*fn)(P...), dim3 g, dim3 b, size_t smem, cudaStream_t s)
      : name_(name), file_(file), line_(line), fn_(fn), g_(g), b_(b), smem_(smem), s_(s) {}
  template <class... A> void operator()(A &&...a) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    using Args = std::tuple<void (*)(P...), std::decay_t<P>...>;
    auto args = std::make_shared<const Args>(fn_, std::forward<A>(a)...);
    detail::PtrArg ptrs[sizeof...(P) + 1];
    int n = 0;
    collect(*args, ptrs, n, std::index_sequence_for<P...>{});
    detail::launch(name_, file_, line_, reinterpret_cast<const void *>(fn_), g_, b_, smem_, s_, ptrs, n, args,
                   &run<Args>);
  }

 private:
  template <class Args, size_t... I> static void collect(const Args &t, detail::PtrArg *ptrs, int &n, std::index_sequence<I...>) {
    (add(std::get<I + 1>(t), (int)I, ptrs, n), ...);
  }
  template <class E> static void add(const E &v, int index, detail::PtrArg *ptrs, int &n) {
    if constexpr (std::is_pointer<E>::value) {
      if (v) ptrs[n++] = detail::PtrArg{(const void *)v, !std::is_const<std::remove_pointer_t<E>>::value, index};
    }
  }
  template <class Args> static void run(const void *p) {
    const Args &t = *static_cast<const Args *>(p);
    std::apply([](auto fn, const auto &...a) { fn(a...); }, t);
  }
  const char *name_, *file_;
  int line_;
  void (*fn_)(P...);
  dim3 g_, b_;
  size_t smem_;
  cudaStream_t s_;
};

template <class... P>
Launch<P...> launcher(const char *name, const char *file, int line, void (*fn)(P...), dim3 g, dim3 b, size_t smem,
                      cudaStream_t s) {
  return Launch<P...>(name, file, line, fn, g, b, smem, s);
}

/* Atomics: relaxed read-modify-writes, as CUDA's atomic* functions. */
namespace detail {
template <class T, class U> T atomic_update(T *p, U f) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "atomics on 4- or 8-byte values");
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  Bits *b = reinterpret_cast<Bits *>(p), old = __atomic_load_n(b, __ATOMIC_RELAXED), upd;
  for (;;) {
    T o, n;
    memcpy(&o, &old, sizeof o);
    n = f(o);
    memcpy(&upd, &n, sizeof upd);
    if (__atomic_compare_exchange_n(b, &old, upd, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return o;
  }
}
} // namespace detail
} // namespace cudasim

#define __syncthreads ::cudasim::At{__FILE__, __LINE__}.syncthreads
#define __syncwarp ::cudasim::At{__FILE__, __LINE__}.syncwarp
#define __shfl_sync ::cudasim::At{__FILE__, __LINE__}.shfl
#define __shfl_up_sync ::cudasim::At{__FILE__, __LINE__}.shfl_up
#define __shfl_down_sync ::cudasim::At{__FILE__, __LINE__}.shfl_down
#define __shfl_xor_sync ::cudasim::At{__FILE__, __LINE__}.shfl_xor
#define __ballot_sync ::cudasim::At{__FILE__, __LINE__}.ballot
#define __any_sync ::cudasim::At{__FILE__, __LINE__}.any
#define __all_sync ::cudasim::At{__FILE__, __LINE__}.all
inline unsigned __activemask() { return ::cudasim::detail::active_mask(); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

#define CUDASIM_ATOMIC_INT(T)                                                                                   \
  inline T atomicAdd(T *p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }                         \
  inline T atomicSub(T *p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }                         \
  inline T atomicExch(T *p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }                       \
  inline T atomicAnd(T *p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }                         \
  inline T atomicOr(T *p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }                           \
  inline T atomicXor(T *p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }                         \
  inline T atomicMax(T *p, T v) { return ::cudasim::detail::atomic_update(p, [v](T o) { return o > v ? o : v; }); } \
  inline T atomicMin(T *p, T v) { return ::cudasim::detail::atomic_update(p, [v](T o) { return o < v ? o : v; }); } \
  inline T atomicCAS(T *p, T cmp, T v) {                                                                        \
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);                         \
    return cmp;                                                                                                 \
  }
CUDASIM_ATOMIC_INT(int)
CUDASIM_ATOMIC_INT(unsigned int)
CUDASIM_ATOMIC_INT(long long)
CUDASIM_ATOMIC_INT(unsigned long long)
#undef CUDASIM_ATOMIC_INT
inline float atomicAdd(float *p, float v) { return ::cudasim::detail::atomic_update(p, [v](float o) { return o + v; }); }
inline double atomicAdd(double *p, double v) { return ::cudasim::detail::atomic_update(p, [v](double o) { return o + v; }); }
inline float atomicExch(float *p, float v) { return ::cudasim::detail::atomic_update(p, [v](float) { return v; }); }
inline unsigned int atomicInc(unsigned int *p, unsigned int lim) {
  return ::cudasim::detail::atomic_update(p, [lim](unsigned int o) { return o >= lim ? 0u : o + 1; });
}
inline unsigned int atomicDec(unsigned int *p, unsigned int lim) {
  return ::cudasim::detail::atomic_update(p, [lim](unsigned int o) { return (o == 0 || o > lim) ? lim : o - 1; });
}

/* Loads and bit tricks */
template <class T> inline T __ldg(const T *p) { return *p; }
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
/* byte n of the result = byte (s >> 4n) & 7 of the 8 bytes y:x (PRMT) */
inline unsigned int __byte_perm(unsigned int x, unsigned int y, unsigned int s) {
  const uint64_t v = ((uint64_t)y << 32) | x;
  unsigned int r = 0;
  for (int n = 0; n < 4; n++) r |= (unsigned int)((v >> (8 * ((s >> (4 * n)) & 7))) & 0xFFu) << (8 * n);
  return r;
}
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }

/* Device math beyond <math.h>: min/max for any pair of arithmetic types
 * (as CUDA's overloads), reciprocal square roots, fast intrinsics. */
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return (C)a < (C)b ? (C)a : (C)b;
}
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return (C)a > (C)b ? (C)a : (C)b;
}
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : x > 1.f ? 1.f : x; }
#endif
