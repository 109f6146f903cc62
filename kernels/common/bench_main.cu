/* bench_main.cu: propscore-bench, every kernel bench in one program; each
 * lives beside its kernel (kernels/<x>/bench_<kernel>.cu) and runs on the
 * harness of bench_common.h. usage: docs/PROFILING.md, or --list. */
#include "common/bench_common.h"


int main(int argc, char **argv) {
  static const ps_bench_entry_t benches[] = {
      {"score", "logreg", ps_bench_score},        {"grad", "logreg", ps_bench_grad},
      {"grad_csr", "logreg", ps_bench_grad_csr},
      {"bin", "trees", ps_bench_bin},             {"hist", "trees", ps_bench_hist},
      {"hist_q", "trees", ps_bench_hist_q},
      {"split", "trees", ps_bench_split},         {"partition", "trees", ps_bench_partition},
      {"predict", "trees", ps_bench_predict},     {"assign", "kmeans", ps_bench_assign},
      {"update", "kmeans", ps_bench_update},      {"sum_parts", "common", ps_bench_sum_parts},
  };
  return ps_bench_main(argc, argv, benches, (int)(sizeof benches / sizeof benches[0]));
}
