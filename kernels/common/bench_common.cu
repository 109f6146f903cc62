/* bench_common.cu: the kernel benches' harness (bench_common.h): command
 * line, device probe, the shared rows, the copy bandwidth, timing with CUDA
 * events and the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <string>

#include "common/bench_common.h"
#include "common/cuda_probe.h"
#include "common/launch.h"
#include "core/rng.h"

namespace {

double copy_gbs = 0;               /* device-to-device copy, GB/s (read + write) */
void *flush_buf;                   /* written before each timed run: the L2 holds none of the inputs */
const size_t flush_bytes = (size_t)256 << 20;

__global__ void normal_kernel(float *d, int64_t n, uint64_t seed) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < n) d[e] = (float)ps_rng_normal(seed, 1, (uint64_t)e, 0);
}
__global__ void normal_f64_kernel(double *d, int64_t n, uint64_t seed) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < n) d[e] = ps_rng_normal(seed, 2, (uint64_t)e, 0);
}

/* elapsed milliseconds of run() between two events */
float event_ms(const std::function<void()> &run) {
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  CUDA_CHECK(cudaEventRecord(a));
  run();
  CUDA_CHECK(cudaEventRecord(b));
  CUDA_CHECK(cudaEventSynchronize(b));
  float ms;
  CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  CUDA_CHECK(cudaEventDestroy(a));
  CUDA_CHECK(cudaEventDestroy(b));
  return ms;
}

/* the best of 5 device-to-device copies of `bytes`, in GB/s moved (read + write) */
double measure_copy(size_t bytes) {
  void *s, *d;
  ps_cuda_malloc(&s, bytes, "the copy measurement");
  ps_cuda_malloc(&d, bytes, "the copy measurement");
  CUDA_CHECK(cudaMemset(s, 1, bytes));
  float best = 1e30f;
  for (int r = 0; r < 5; r++)
    best = std::min(best, event_ms([&] { CUDA_CHECK(cudaMemcpy(d, s, bytes, cudaMemcpyDeviceToDevice)); }));
  CUDA_CHECK(cudaFree(s));
  CUDA_CHECK(cudaFree(d));
  return 2.0 * (double)bytes / (best * 1e-3) / 1e9;
}

void usage(const char *msg) {
  fprintf(stderr, "propscore-bench: %s\nusage: propscore-bench [--rows N] [--features F] [--reps R] "
                  "[--check-rows M] [--kernels all|GROUP|NAME[,...]] [NAME...] [--list]\n", msg);
  exit(2);
}

/* a whole number >= 1 from an option's value, else a usage error */
int64_t count_arg(const char *opt, const char *v) {
  char *end;
  long long x = v ? strtoll(v, &end, 10) : 0;
  if (!v || *end || x < 1) usage((std::string(opt) + " needs a whole number >= 1").c_str());
  return x;
}

/* is bench e named by the comma-separated list (names, groups, "all"; "gbdt" = "trees")? */
bool selected(const ps_bench_entry_t &e, const std::string &list) {
  size_t p = 0;
  while (p <= list.size()) {
    size_t q = list.find(',', p);
    std::string w = list.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (w == "all" || w == e.name || w == e.group || (w == "gbdt" && !strcmp(e.group, "trees"))) return true;
    if (q == std::string::npos) break;
    p = q + 1;
  }
  return false;
}

} // namespace

double ps_bench_time_ms(int reps, const std::function<void()> &run) {
  std::vector<float> v;
  for (int r = 0; r < reps; r++) {
    CUDA_CHECK(cudaMemsetAsync(flush_buf, r, flush_bytes));
    v.push_back(event_ms(run));
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

long ps_bench_row(const char *kernel, const char *variant, int64_t size, double ms, double bytes, long wrong) {
  double gbs = bytes / (ms * 1e-3) / 1e9;
  printf("%10s  %-22s %11lld %10.3f %9.1f %6.1f%% %7ld\n", kernel, variant, (long long)size, ms, gbs,
         100 * gbs / copy_gbs, wrong);
  fflush(stdout);
  return wrong;
}

void ps_bench_normal(float *d, int64_t n, uint64_t seed) {
  PS_LAUNCH(ps_grid_1d((uint64_t)n, 256), 256, 0, 0, normal_kernel)(d, n, seed);
  CUDA_CHECK(cudaGetLastError());
}
void ps_bench_normal_f64(double *d, int64_t n, uint64_t seed) {
  PS_LAUNCH(ps_grid_1d((uint64_t)n, 256), 256, 0, 0, normal_f64_kernel)(d, n, seed);
  CUDA_CHECK(cudaGetLastError());
}

long ps_bench_diff(const void *a, const void *b, size_t count, size_t width) {
  long wrong = 0;
  const char *p = (const char *)a, *q = (const char *)b;
  for (size_t i = 0; i < count; i++) wrong += memcmp(p + i * width, q + i * width, width) != 0;
  return wrong;
}

int ps_bench_main(int argc, char **argv, const ps_bench_entry_t *benches, int count) {
  ps_bench_args_t a{};
  a.rows = 20000000, a.check_rows = 65536, a.features = 256, a.reps = 10;
  std::string list;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(o, "--list")) {
      for (int b = 0; b < count; b++) printf("%s %s\n", benches[b].name, benches[b].group);
      return 0;
    }
    if (o[0] != '-') list += std::string(list.empty() ? "" : ",") + o;
    else if (!strcmp(o, "--kernels")) {
      if (!v) usage("--kernels needs a list");
      list += std::string(list.empty() ? "" : ",") + argv[++i];
    }
    else if (!strcmp(o, "--rows")) a.rows = count_arg(o, v), i++;
    else if (!strcmp(o, "--check-rows")) a.check_rows = count_arg(o, v), i++;
    else if (!strcmp(o, "--features")) a.features = (int)std::min<int64_t>(count_arg(o, v), 1 << 20), i++;
    else if (!strcmp(o, "--reps")) a.reps = (int)std::min<int64_t>(count_arg(o, v), 1 << 20), i++;
    else usage((std::string("unknown option ") + o).c_str());
  }
  if (list.empty()) list = "all";
  std::vector<const ps_bench_entry_t *> run;
  for (int b = 0; b < count; b++)
    if (selected(benches[b], list)) run.push_back(&benches[b]);
  if (run.empty()) usage(("no bench named by " + list + " (--list names them)").c_str());
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: nothing to benchmark\n");
    return 77;
  }
  a.check_rows = std::min(a.check_rows, a.rows);
  const int64_t N = a.rows, M = a.check_rows, F = a.features;
  ps_cuda_malloc(&flush_buf, flush_bytes, "the L2 flush");
  /* 2 GiB copies, less for small runs (at least 64 MiB) */
  copy_gbs = measure_copy(std::min((size_t)2 << 30, std::max((size_t)64 << 20, (size_t)(4 * N * F))));
  printf("# propscore-bench  %s\n# N=%lld F=%lld reps=%d (median), validated on %lld rows; device-to-device copy "
         "%.0f GB/s\n", desc, (long long)N, (long long)F, a.reps, (long long)M, copy_gbs);
  printf("#%9s  %-22s %11s %10s %9s %7s %7s\n", "kernel", "case", "size", "ms", "GB/s", "%copy", "#wrong");
  float *X = ps_bench_alloc<float>((size_t)(N * F));
  ps_bench_normal(X, N * F, 42);
  std::vector<float> hx = ps_bench_fetch(X, (size_t)(M * F));
  a.X = X;
  a.hx = hx.data();
  long wrong = 0;
  std::string bad;
  for (const ps_bench_entry_t *e : run) {
    long w = e->run(&a);
    if (w) bad += std::string(" ") + e->name + ":" + std::to_string(w);
    wrong += w;
  }
  CUDA_CHECK(cudaFree(X));
  CUDA_CHECK(cudaFree(flush_buf));
  if (wrong) printf("# FAILED: %ld values of propscore's kernels disagree with their CPU twins (%s)\n", wrong,
                    bad.c_str() + 1);
  else printf("# every kernel benched matches its CPU twin\n");
  return wrong ? 1 : 0;
}
