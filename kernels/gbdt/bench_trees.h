/* bench_trees.h: what the tree kernels' benches share (bench_trees.cu):
 * 254 cuts a feature, evenly over [-3, 3] (codes 1..255, 0 = missing), the
 * bench's rows binned (all N by the kernel, the first M by the CPU twin)
 * and fixed-point gradients of every row (2^40 scale). */
#ifndef PS_BENCH_TREES_H
#define PS_BENCH_TREES_H
#include <stdint.h>

#include <vector>

#include "common/bench_common.h"
#include "gbdt/gbdt_kernels.h"

struct ps_bench_trees_t {
  int nc;                                /* cuts a feature */
  std::vector<float> cuts;               /* [F][nc] */
  std::vector<int64_t> cut_off, bin_off; /* [F+1]; feature j owns bins [bin_off[j], bin_off[j+1]) */
  float *dcuts;                          /* the same on the device */
  int64_t *dcut_off, *dbin_off;
  uint8_t *B;                            /* device [N][F]: ps_gbdt_bin_cuda of the rows */
  std::vector<uint8_t> hb;               /* [M][F]: ps_gbdt_bin_cpu of the first M */
  int64_t *gq, *hq;                      /* device [N] */
  std::vector<int64_t> hg, hh;           /* their first M */
};
#define PS_BENCH_TREES_SCALE 1099511627776.0 /* 2^40 */
void ps_bench_trees_init(const ps_bench_args_t *a, ps_bench_trees_t *t);
void ps_bench_trees_free(ps_bench_trees_t *t);
#endif
