/* bench_sum_parts.cu: the fixed-order reduction (sum_parts.cu) of 8 parts
 * of N doubles each: the first M elements bitwise against ps_sum_parts_cpu
 * (as test_sum_parts.c), then timed over N. GB/s: parts + 1 vectors moved. */
#include <vector>

#include "common/bench_common.h"
#include "common/sum_parts.h"

long ps_bench_sum_parts(const ps_bench_args_t *a) {
  const int parts = 8;
  const int64_t N = a->rows, M = a->check_rows;
  double *in = ps_bench_alloc<double>((size_t)(parts * N)), *out = ps_bench_alloc<double>((size_t)N);
  ps_bench_normal_f64(in, parts * N, 7);
  /* out[i] = sum_r in[r*len + i]: with len = M the parts are the first parts*M values */
  std::vector<double> hin = ps_bench_fetch(in, (size_t)(parts * M)), want((size_t)M);
  ps_sum_parts_cpu(hin.data(), parts, (size_t)M, want.data());
  ps_sum_parts(in, parts, (size_t)M, out, 0);
  long wrong = ps_bench_diff(ps_bench_fetch(out, (size_t)M), want);
  double ms = ps_bench_time_ms(a->reps, [&] { ps_sum_parts(in, parts, (size_t)N, out, 0); });
  wrong = ps_bench_row("sum_parts", "8 parts f64", N, ms, (double)(parts + 1) * N * 8, wrong);
  CUDA_CHECK(cudaFree(in));
  CUDA_CHECK(cudaFree(out));
  return wrong;
}
