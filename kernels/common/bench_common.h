/* bench_common.h: the small harness every kernel bench shares (as
 * nccl-tests' common.cu): the command line (sizes, reps, which benches),
 * the rows all benches read, the device-to-device copy bandwidth measured
 * once, timing with CUDA events (the L2 flushed before each run, the
 * median reported) and the table: kernel, case, size, ms, GB/s, % of the
 * copy, #wrong. Each bench lives beside its kernel (kernels/<x>/bench_*.cu),
 * validates the kernel against its CPU twin on the first rows (#wrong:
 * elements off bitwise, or beyond the tolerance the kernel's test uses),
 * then times it; bench_main.cu lists them. Benches include only kernels/
 * and host/core headers. */
#ifndef PS_BENCH_COMMON_H
#define PS_BENCH_COMMON_H
#include <stdint.h>
#include <string.h>

#include <functional>
#include <vector>

#include "common/cuda_check.h"

/* What a bench gets. */
struct ps_bench_args_t {
  int64_t rows;       /* N: the rows the timed runs go over */
  int64_t check_rows; /* M <= N: the rows validated against the CPU twin */
  int features;       /* F */
  int reps;           /* timed runs: the median is reported */
  const float *X;     /* device [N][F] float32, standard normal (the same for every bench) */
  const float *hx;    /* host: the first M rows of X */
};
/* A bench: prints its table rows, returns how many values of propscore's
 * kernels disagree with their CPU twin (a reference path such as cuBLAS
 * alone may be printed without being counted). */
typedef long (*ps_bench_fn)(const ps_bench_args_t *a);

/* Median milliseconds of reps runs of run(), each after an L2 flush. */
double ps_bench_time_ms(int reps, const std::function<void()> &run);
/* One table row (bytes: what the kernel must move at least); returns wrong. */
long ps_bench_row(const char *kernel, const char *variant, int64_t size, double ms, double bytes, long wrong);
/* d[0..n) standard normal (float32, float64) on the device, a pure function of (seed, i). */
void ps_bench_normal(float *d, int64_t n, uint64_t seed);
void ps_bench_normal_f64(double *d, int64_t n, uint64_t seed);
/* Elements of n bytes-wide values that differ bitwise. */
long ps_bench_diff(const void *a, const void *b, size_t count, size_t width);

/* device buffers: allocate, upload a host vector, fetch n values (synchronizes) */
template <class T>
T *ps_bench_alloc(size_t n) {
  void *p;
  ps_cuda_malloc(&p, sizeof(T) * n, "the bench");
  return (T *)p;
}
template <class T>
T *ps_bench_upload(const std::vector<T> &h) {
  T *d = ps_bench_alloc<T>(h.size());
  if (!h.empty()) CUDA_CHECK(cudaMemcpy(d, h.data(), sizeof(T) * h.size(), cudaMemcpyHostToDevice));
  return d;
}
template <class T>
std::vector<T> ps_bench_fetch(const T *d, size_t n) {
  std::vector<T> h(n);
  CUDA_CHECK(cudaDeviceSynchronize());
  if (n) CUDA_CHECK(cudaMemcpy(h.data(), d, sizeof(T) * n, cudaMemcpyDeviceToHost));
  return h;
}
template <class T>
long ps_bench_diff(const std::vector<T> &a, const std::vector<T> &b) {
  return a.size() != b.size() ? (long)(a.size() > b.size() ? a.size() : b.size())
                              : ps_bench_diff(a.data(), b.data(), a.size(), sizeof(T));
}

/* the harness's own: the command line, the shared rows, the copy bandwidth */
struct ps_bench_entry_t {
  const char *name, *group;
  ps_bench_fn run;
};
int ps_bench_main(int argc, char **argv, const ps_bench_entry_t *benches, int count);

/* The benches, one per kernel, each in kernels/<x>/bench_<name>.cu: 0 when
 * every value agreed with the CPU twin, else the count of wrong ones. */
long ps_bench_score(const ps_bench_args_t *a);
long ps_bench_grad(const ps_bench_args_t *a);
long ps_bench_grad_csr(const ps_bench_args_t *a);
long ps_bench_bin(const ps_bench_args_t *a);
long ps_bench_hist(const ps_bench_args_t *a);
long ps_bench_hist_q(const ps_bench_args_t *a);
long ps_bench_split(const ps_bench_args_t *a);
long ps_bench_partition(const ps_bench_args_t *a);
long ps_bench_predict(const ps_bench_args_t *a);
long ps_bench_assign(const ps_bench_args_t *a);
long ps_bench_update(const ps_bench_args_t *a);
long ps_bench_sum_parts(const ps_bench_args_t *a);
#endif
