/* bench_predict.cu: prediction of a forest of 100 trees of 31 leaves
 * (random splits on the bench's cuts, numbered as grow.c numbers them)
 * over the raw rows -- one head by predict.cu (predict_tiled.cu), then two
 * heads over one read of the rows by predict_heads.cu --: the first M
 * bitwise against predict_cpu.c, then timed over N. GB/s: the rows read
 * (the forest stays in cache). */
#include <string.h>

#include <vector>

#include "core/rng.h"
#include "gbdt/bench_trees.h"
#include "gbdt/predict_heads.h"

namespace {

const int T = 100, L = 31;

struct forest_t {
  std::vector<int64_t> node_off, leaf_off;
  std::vector<int32_t> feat, left, right;
  std::vector<float> thr;
  std::vector<uint8_t> bin, dl;
  std::vector<double> val;
};

void make(forest_t &f, const ps_bench_trees_t &t, int F) {
  const size_t nodes = (size_t)T * (L - 1);
  f.node_off.assign(T + 1, 0), f.leaf_off.assign(T + 1, 0);
  f.feat.resize(nodes), f.left.resize(nodes), f.right.resize(nodes), f.thr.resize(nodes), f.bin.resize(nodes);
  f.dl.resize(nodes), f.val.resize((size_t)T * L);
  std::vector<int32_t> pnode(L), pside(L);
  for (int tr = 0; tr < T; tr++) {
    int64_t nb = (int64_t)tr * (L - 1);
    pnode[0] = -1;
    for (int nl = 1; nl < L; nl++) { /* split a random leaf */
      int leaf = (int)(ps_rng_unif(9, 2, tr, nl) * nl), node = nl - 1;
      int64_t k = nb + node;
      f.feat[k] = (int32_t)(ps_rng_unif(9, 3, tr, nl) * F);
      f.bin[k] = (uint8_t)(1 + ps_rng_unif(9, 4, tr, nl) * t.nc);
      f.thr[k] = t.cuts[(size_t)f.feat[k] * t.nc + f.bin[k] - 1];
      f.dl[k] = ps_rng_unif(9, 5, tr, nl) < 0.5;
      f.left[k] = ~leaf;
      f.right[k] = ~nl;
      if (pnode[leaf] >= 0) (pside[leaf] == 0 ? f.left : f.right)[nb + pnode[leaf]] = node;
      pnode[leaf] = pnode[nl] = node;
      pside[leaf] = 0;
      pside[nl] = 1;
    }
    for (int q = 0; q < L; q++) f.val[(size_t)tr * L + q] = 0.1 * ps_rng_normal(9, 6, tr, 2 * q);
    f.node_off[tr + 1] = f.node_off[tr] + (L - 1);
    f.leaf_off[tr + 1] = f.leaf_off[tr] + L;
  }
}

/* the view of f's arrays (on the host), or of their copies on the device */
ps_forest_view_t view(const forest_t &f, bool device) {
  ps_forest_view_t v = {}; /* cat = NULL: no category sets */
  v.ntrees = T;
  v.node_off = device ? ps_bench_upload(f.node_off) : f.node_off.data();
  v.leaf_off = device ? ps_bench_upload(f.leaf_off) : f.leaf_off.data();
  v.feature = device ? ps_bench_upload(f.feat) : f.feat.data();
  v.threshold = device ? ps_bench_upload(f.thr) : f.thr.data();
  v.bin = device ? ps_bench_upload(f.bin) : f.bin.data();
  v.default_left = device ? ps_bench_upload(f.dl) : f.dl.data();
  v.left = device ? ps_bench_upload(f.left) : f.left.data();
  v.right = device ? ps_bench_upload(f.right) : f.right.data();
  v.leaf_value = device ? ps_bench_upload(f.val) : f.val.data();
  return v;
}

} // namespace

long ps_bench_predict(const ps_bench_args_t *a) {
  ps_bench_trees_t t;
  ps_bench_trees_init(a, &t);
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  forest_t f;
  make(f, t, F);
  ps_forest_view_t hv = view(f, false), dv = view(f, true);
  std::vector<double> want((size_t)M, 0.0);
  ps_gbdt_predict_cpu(&hv, a->hx, M, F, want.data());
  double *z = ps_bench_alloc<double>((size_t)N);
  CUDA_CHECK(cudaMemset(z, 0, sizeof(double) * M));
  ps_gbdt_predict_cuda(&dv, a->X, M, F, z, 0);
  long wrong = ps_bench_diff(ps_bench_fetch(z, (size_t)M), want);
  double ms = ps_bench_time_ms(a->reps, [&] { ps_gbdt_predict_cuda(&dv, a->X, N, F, z, 0); });
  wrong = ps_bench_row("predict", "100 trees x 31 leaves", N, ms, (double)N * F * 4, wrong);
  const ps_forest_view_t heads[2] = {hv, hv}; /* two heads: the same forest */
  ps_gbdt_predict_plan_t *plan = ps_gbdt_predict_plan_create(heads, 2, 0);
  double *z2 = ps_bench_alloc<double>((size_t)N * 2);
  CUDA_CHECK(cudaMemset(z2, 0, sizeof(double) * 2 * (size_t)N));
  long w2 = plan && ps_gbdt_predict_plan_run(plan, a->X, M, F, z2, N, 0) ? 0 : M;
  std::vector<double> got = ps_bench_fetch(z2, (size_t)N * 2);
  for (int h = 0; h < 2; h++)
    w2 += ps_bench_diff(std::vector<double>(got.begin() + (long)h * N, got.begin() + (long)h * N + M), want);
  double ms2 = ps_bench_time_ms(a->reps, [&] { ps_gbdt_predict_plan_run(plan, a->X, N, F, z2, N, 0); });
  wrong += ps_bench_row("predict", "2 heads x 100 trees, one read", N, ms2, (double)N * F * 4, w2);
  ps_gbdt_predict_plan_destroy(plan);
  CUDA_CHECK(cudaFree(z2));
  for (const void *p : {(const void *)dv.node_off, (const void *)dv.leaf_off, (const void *)dv.feature,
                        (const void *)dv.threshold, (const void *)dv.bin, (const void *)dv.default_left,
                        (const void *)dv.left, (const void *)dv.right, (const void *)dv.leaf_value, (const void *)z})
    CUDA_CHECK(cudaFree((void *)p));
  ps_bench_trees_free(&t);
  return wrong;
}
