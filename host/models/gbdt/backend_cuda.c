/* backend_cuda.c: the trees' CUDA backend (backend.h) over the kernels of
 * kernels/gbdt: the training rows' bins, fixed-point gradients, the row
 * partition (one array of row indices, a leaf a segment of it, as the CPU
 * backend) and the leaf histograms stay on the device: summed across ranks
 * there (NCCL, else through the host), the larger child by subtraction,
 * the split searched there (devhist_backend_cuda.c); only the split's numbers come
 * back. Raw rows are binned on the device block by block while
 * they load. Every kernel gives its CPU twin's bits, so the model file is
 * byte-identical to --device cpu. With the scores on the device (set_scores)
 * a tree's leaf numbers and score additions stay there too. Also the scoring
 * side (gbdt_cuda_scorer_*, for `score --device cuda`): every head's forest
 * goes up once, a block of raw rows once for all heads (a CSR block: its
 * stored values, scattered into a tile of dense rows kept zero), the predict
 * kernel adds the trees in order. */
#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/cuda_check.h"
#include "core/util.h"
#include "gbdt/csr_tile.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/grad_q.h"
#include "gbdt/hist_q.h"
#include "gbdt/predict_heads.h"
#include "gbdt/split_cat.h"
#include "models/device.h"
#include "models/gbdt/backend.h"
#include "models/gbdt/devhist_backend_cuda.h"
#include "models/gbdt/sparse_backend_cuda.h"

/* A split of the tree being grown, kept to replay it on the rows out of the bag. */
typedef struct {
  int leaf, right, is_set;
  int32_t feature, bin, default_left;
  uint8_t set[PS_GBDT_CAT_BYTES];
} split_rec_t;

typedef struct {
  int device;
  cudaStream_t s;
  int64_t n, f, total_bins, m; /* m: rows of the current tree */
  int max_leaves;
  uint8_t *B, *bag, *use;      /* device: bins [n][f], bag [n], features in use [f] */
  int64_t *gq, *hq, *rows, *tmp, *hist, *bin_off, *dbegin, *dcount;
  int32_t *leaf_of;
  void *pwork, *swork;
  ps_split_t *best;
  ps_gbdt_hist_plan_t *plan;
  int64_t *begin, *count;      /* host [max_leaves]: a leaf's segment of rows */
  int32_t *leaf_h;             /* host [n], only when add_leaves adds to host scores */
  /* binning while the rows load */
  float *X, *cuts;
  uint8_t *Bblk;
  int64_t *cut_off;
  size_t x_cap, cuts_cap;
  const float *cuts_of;        /* the host cut points uploaded */
  /* quantized gradients (--grad-bits): packed rows [n], their bound, the
   * histogram plan, the leaves' exact sums [max_leaves + 1][2] */
  int32_t *gh, qmax;
  ps_gbdt_hist_q_plan_t *qplan;
  int64_t *lsums;
  gbdt_devhist_t *dh;          /* the leaf histograms kept on the device (devhist_backend_cuda.c) */
  gbdt_sparse_dev_t *sp;       /* a CSR file's training rows as sparse bins (B unused), or NULL */
  /* the gradients made on the device (grad_q.cu): the training scores, the
   * head's labels, the rows' ids, the loss sum and maxima [3], leaf values */
  double *z, *lv;
  uint8_t *y;
  int64_t *ids, *gout;
  int scores;                  /* set_scores came: add_leaves adds to z too */
  /* the tree's splits in order [max_leaves], replayed on the rows out of
   * the bag (rows [m, n)) by add_leaves; their segments (host [max_leaves]) */
  split_rec_t *log;
  int nlog;
  int64_t *obegin, *ocount;
} cuda_t;


static void dev_free(void *p) {
  if (p) CUDA_CHECK(cudaFree(p));
}

static void release_rows(cuda_t *s) {
  void *ps[] = {s->B, s->bag, s->use, s->gq, s->hq, s->rows, s->tmp, s->hist, s->bin_off, s->dbegin, s->dcount,
                s->leaf_of, s->pwork, s->swork, s->best, s->gh, s->lsums, s->z, s->lv, s->y, s->ids, s->gout};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) dev_free(ps[i]);
  s->z = s->lv = NULL;
  s->y = NULL;
  s->ids = s->gout = NULL;
  s->scores = 0;
  s->B = s->bag = s->use = NULL;
  s->gq = s->hq = s->rows = s->tmp = s->hist = s->bin_off = s->dbegin = s->dcount = NULL;
  s->leaf_of = NULL;
  s->pwork = s->swork = NULL;
  s->best = NULL;
  s->gh = NULL;
  s->lsums = NULL;
  ps_gbdt_hist_plan_destroy(s->plan);
  ps_gbdt_hist_q_plan_destroy(s->qplan);
  gbdt_devhist_destroy(s->dh);
  s->dh = NULL;
  gbdt_sparse_dev_destroy(s->sp);
  s->sp = NULL;
  s->plan = NULL;
  s->qplan = NULL;
  free(s->begin), free(s->count), free(s->leaf_h), free(s->log), free(s->obegin), free(s->ocount);
  s->log = NULL;
  s->obegin = s->ocount = NULL;
  s->begin = s->count = NULL;
  s->leaf_h = NULL;
}

/* The binning buffers (bin): a block of raw rows, its bins and the cut
 * points; freed by set_rows, which comes once the rows are binned. */
static void release_binning(cuda_t *s) {
  dev_free(s->X), dev_free(s->Bblk), dev_free(s->cuts), dev_free(s->cut_off);
  s->X = s->cuts = NULL;
  s->Bblk = NULL;
  s->cut_off = NULL;
  s->x_cap = 0;
  s->cuts_of = NULL;
}

/* The most this backend holds at once (the train command checks it against
 * --gpu-mem-limit before loading): while the rows load, a block of bin_rows
 * raw rows and their bins (5 bytes a value) and the cut points; then what
 * set_rows allocates for n rows (the binning buffers freed first), with a
 * histogram a leaf kept on the device (devhist_backend_cuda.c). */
static int64_t device_bytes(int64_t n, int64_t f, int64_t total_bins, int max_leaves, int64_t bin_rows) {
  int64_t per_row = f + 1 + 8 * 4 + 4 + 4 + 17; /* bins, bag, gq hq rows tmp, leaf, packed (g, h), score label id */
  int64_t rows = n * per_row + (int64_t)ps_gbdt_partition_work(n) + 24 * total_bins * (max_leaves + 2) + 8 * (f + 1) + f +
                 (int64_t)ps_gbdt_split_work(f) + 32 * (int64_t)(max_leaves + 1) + ((int64_t)1 << 20) +
                 f + (int64_t)ps_gbdt_split_cat_work(f); /* categorical features: their mask, the set search */
  int64_t binning = bin_rows * f * 5 + 4 * total_bins + 8 * (f + 1) + ((int64_t)1 << 20);
  return rows > binning ? rows : binning;
}

/* A leaf's local histogram into dst on the device (devhist_backend_cuda.c's env). */
static void local_hist(void *ctx, int leaf, int quant, int64_t *dst) {
  cuda_t *s = ctx;
  if (s->sp) { /* the kept bins, each zero bin by subtraction */
    gbdt_sparse_dev_hist(s->sp, s->rows + s->begin[leaf], s->count[leaf], s->gq, s->hq, quant ? s->gh : NULL, dst);
    return;
  }
  if (quant) {
    ps_gbdt_hist_q_cuda(s->qplan, s->B, s->rows + s->begin[leaf], s->count[leaf], s->gh, s->qmax, dst, s->s);
    return;
  }
  CUDA_CHECK(cudaMemsetAsync(dst, 0, (size_t)PS_HIST_W * sizeof(int64_t) * (size_t)(s->total_bins ? s->total_bins : 1),
                             s->s));
  ps_gbdt_hist_cuda(s->plan, s->B, s->rows + s->begin[leaf], s->count[leaf], s->gq, s->hq, dst, s->s);
}

static void devhist_attach(cuda_t *s, const int64_t *bin_off) {
  gbdt_devhist_env_t e = {.s = s->s, .f = s->f, .total_bins = s->total_bins, .max_leaves = s->max_leaves,
                          .bin_off = bin_off, .dbin_off = s->bin_off, .use = s->use, .swork = s->swork,
                          .local = local_hist, .ctx = s};
  s->dh = gbdt_devhist_create(&e);
}

static void set_rows(ps_gbdt_backend_t *b, const uint8_t *B, int64_t n, int64_t f, const int64_t *bin_off,
                     int64_t total_bins, int max_leaves) {
  cuda_t *s = b->impl;
  release_rows(s);
  release_binning(s); /* the rows are binned: device_bytes counts the larger of the two phases, not their sum */
  nvtxRangePushA("copy binned rows to GPU");
  s->n = n;
  s->f = f;
  s->total_bins = total_bins;
  s->max_leaves = max_leaves < 2 ? 2 : max_leaves;
  size_t nn = (size_t)(n > 0 ? n : 1), L = (size_t)s->max_leaves + 1;
  ps_cuda_malloc((void **)&s->B, B ? nn * (size_t)(f > 0 ? f : 1) : 1, "the binned rows"); /* B NULL: set_sparse's */
  ps_cuda_malloc((void **)&s->bag, nn, "the bag");
  ps_cuda_malloc((void **)&s->use, (size_t)(f > 0 ? f : 1), "the feature mask");
  ps_cuda_malloc((void **)&s->gq, nn * sizeof(int64_t), "the gradients");
  ps_cuda_malloc((void **)&s->hq, nn * sizeof(int64_t), "the Hessians");
  ps_cuda_malloc((void **)&s->rows, nn * sizeof(int64_t), "the row partition");
  ps_cuda_malloc((void **)&s->tmp, nn * sizeof(int64_t), "the row partition");
  ps_cuda_malloc((void **)&s->leaf_of, nn * sizeof(int32_t), "the rows' leaves");
  ps_cuda_malloc(&s->pwork, ps_gbdt_partition_work((int64_t)nn), "the partition's counts");
  ps_cuda_malloc((void **)&s->hist, (size_t)PS_HIST_W * sizeof(int64_t) * (size_t)(total_bins > 0 ? total_bins : 1),
            "a histogram");
  ps_cuda_malloc((void **)&s->bin_off, sizeof(int64_t) * (size_t)(f + 1), "the bin offsets");
  ps_cuda_malloc(&s->swork, ps_gbdt_split_work(f), "the split search");
  ps_cuda_malloc((void **)&s->best, sizeof(ps_split_t), "the split search");
  ps_cuda_malloc((void **)&s->dbegin, 2 * sizeof(int64_t) * L, "the leaves"); /* [L, 2L): the rows out of the bag */
  ps_cuda_malloc((void **)&s->dcount, 2 * sizeof(int64_t) * L, "the leaves");
  ps_cuda_malloc((void **)&s->gh, nn * sizeof(int32_t), "the quantized gradients");
  ps_cuda_malloc((void **)&s->lsums, 2 * sizeof(int64_t) * L, "the leaves");
  ps_cuda_malloc((void **)&s->z, nn * sizeof(double), "the scores");
  ps_cuda_malloc((void **)&s->y, nn, "the labels");
  ps_cuda_malloc((void **)&s->gout, 3 * sizeof(int64_t), "the gradients' sums");
  ps_cuda_malloc((void **)&s->lv, sizeof(double) * L, "the leaves");
  s->begin = ps_calloc(L, sizeof(int64_t));
  s->count = ps_calloc(L, sizeof(int64_t));
  s->log = ps_calloc(L, sizeof(split_rec_t));
  s->obegin = ps_calloc(L, sizeof(int64_t));
  s->ocount = ps_calloc(L, sizeof(int64_t));
  if (B && n > 0 && f > 0) CUDA_CHECK(cudaMemcpyAsync(s->B, B, (size_t)n * (size_t)f, cudaMemcpyHostToDevice, s->s));
  CUDA_CHECK(cudaMemcpyAsync(s->bin_off, bin_off, sizeof(int64_t) * (size_t)(f + 1), cudaMemcpyHostToDevice, s->s));
  s->plan = ps_gbdt_hist_plan_create(bin_off, f, 0, s->s); /* waits for the copies too */
  s->qplan = ps_gbdt_hist_q_plan_create(bin_off, f, 0, s->s);
  devhist_attach(s, bin_off);
  nvtxRangePop();
}

static void begin_tree(ps_gbdt_backend_t *b, const int64_t *gq, const int64_t *hq, const uint8_t *bag) {
  cuda_t *s = b->impl;
  size_t n = (size_t)s->n;
  if (n > 0) {
    CUDA_CHECK(cudaMemcpyAsync(s->gq, gq, n * sizeof(int64_t), cudaMemcpyHostToDevice, s->s));
    CUDA_CHECK(cudaMemcpyAsync(s->hq, hq, n * sizeof(int64_t), cudaMemcpyHostToDevice, s->s));
    if (bag) CUDA_CHECK(cudaMemcpyAsync(s->bag, bag, n, cudaMemcpyHostToDevice, s->s));
  }
  s->m = ps_gbdt_bag_rows_cuda(bag ? s->bag : NULL, s->n, s->rows, s->tmp, s->pwork, s->s); /* waits */
  s->begin[0] = 0;
  s->count[0] = s->m;
  s->nlog = 0;
}

static void hist(ps_gbdt_backend_t *b, int leaf, int64_t *h) {
  cuda_t *s = b->impl;
  size_t bytes = (size_t)PS_HIST_W * sizeof(int64_t) * (size_t)s->total_bins;
  nvtxRangePushA("histogram");
  local_hist(s, leaf, 0, s->hist);
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(h, s->hist, bytes, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  nvtxRangePop();
}

static void find_split(ps_gbdt_backend_t *b, const int64_t *h, const uint8_t *use, int64_t G, int64_t H, int64_t N,
                       const ps_split_params_t *p, ps_split_t *best) {
  cuda_t *s = b->impl;
  size_t bytes = (size_t)PS_HIST_W * sizeof(int64_t) * (size_t)s->total_bins;
  nvtxRangePushA("split search");
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(s->hist, h, bytes, cudaMemcpyHostToDevice, s->s));
  if (use && s->f > 0) CUDA_CHECK(cudaMemcpyAsync(s->use, use, (size_t)s->f, cudaMemcpyHostToDevice, s->s));
  ps_gbdt_split_cuda(s->hist, s->f, s->bin_off, use ? s->use : NULL, G, H, N, *p, s->swork, s->best, s->s);
  CUDA_CHECK(cudaMemcpyAsync(best, s->best, sizeof *best, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  nvtxRangePop();
}

/* A split r of the m rows at rows (stable: the left ones first); returns their number. */
static int64_t part(cuda_t *s, int64_t *rows, int64_t m, const split_rec_t *r) {
  if (r->is_set)
    return ps_gbdt_partition_set_cuda(s->B, s->f, rows, m, r->feature, r->set, s->tmp, s->pwork, s->s);
  if (s->sp) return gbdt_sparse_dev_split(s->sp, rows, m, r->feature, r->bin, r->default_left, s->tmp, s->pwork);
  return ps_gbdt_partition_cuda(s->B, s->f, rows, m, r->feature, r->bin, r->default_left, s->tmp, s->pwork, s->s);
}

/* Split r on segments begin/count of rows (offsets from rows), logged for add_leaves when log. */
static void split_rows(cuda_t *s, int64_t *rows, int64_t *begin, int64_t *count, const split_rec_t *r, int log) {
  nvtxRangePushA("partition");
  if (log) s->log[s->nlog++] = *r;
  int64_t nl = part(s, rows + begin[r->leaf], count[r->leaf], r);
  begin[r->right] = begin[r->leaf] + nl;
  count[r->right] = count[r->leaf] - nl;
  count[r->leaf] = nl;
  nvtxRangePop();
}

static void split(ps_gbdt_backend_t *b, int leaf, int right, int32_t feature, int32_t bin, int32_t default_left) {
  cuda_t *s = b->impl;
  split_rec_t r = {.leaf = leaf, .right = right, .feature = feature, .bin = bin, .default_left = default_left};
  split_rows(s, s->rows, s->begin, s->count, &r, 1);
}

static void split_set(ps_gbdt_backend_t *b, int leaf, int right, int32_t feature, const uint8_t *set) {
  cuda_t *s = b->impl;
  split_rec_t r = {.leaf = leaf, .right = right, .feature = feature, .is_set = 1};
  memcpy(r.set, set, PS_GBDT_CAT_BYTES);
  split_rows(s, s->rows, s->begin, s->count, &r, 1);
}

/* The leaves of the rows out of the bag (rows [m, n)): the tree's splits
 * replayed on them in order (the walk's leaves), leaf_of set for them. */
static void oob_leaves(cuda_t *s, int nleaves) {
  int64_t *rows = s->rows + s->m, L = s->max_leaves + 1;
  s->obegin[0] = 0;
  s->ocount[0] = s->n - s->m;
  for (int q = 0; q < s->nlog; q++) split_rows(s, rows, s->obegin, s->ocount, &s->log[q], 0);
  CUDA_CHECK(cudaMemcpyAsync(s->dbegin + L, s->obegin, sizeof(int64_t) * (size_t)nleaves, cudaMemcpyHostToDevice, s->s));
  CUDA_CHECK(cudaMemcpyAsync(s->dcount + L, s->ocount, sizeof(int64_t) * (size_t)nleaves, cudaMemcpyHostToDevice, s->s));
  ps_gbdt_leaf_of_cuda(rows, s->dbegin + L, s->dcount + L, nleaves, s->n - s->m, s->leaf_of, s->s);
}

static void add_leaves(ps_gbdt_backend_t *b, int nleaves, const double *value, double *score) {
  cuda_t *s = b->impl;
  if (s->n == 0) return;
  size_t n = (size_t)s->n;
  CUDA_CHECK(cudaMemcpyAsync(s->dbegin, s->begin, sizeof(int64_t) * (size_t)nleaves, cudaMemcpyHostToDevice, s->s));
  CUDA_CHECK(cudaMemcpyAsync(s->dcount, s->count, sizeof(int64_t) * (size_t)nleaves, cudaMemcpyHostToDevice, s->s));
  CUDA_CHECK(cudaMemsetAsync(s->leaf_of, 0xff, n * sizeof(int32_t), s->s)); /* -1: not in the tree */
  ps_gbdt_leaf_of_cuda(s->rows, s->dbegin, s->dcount, nleaves, s->m, s->leaf_of, s->s);
  if (s->scores) { /* the scores live on the device: the same additions there, the leaf numbers stay */
    if (s->m < s->n) oob_leaves(s, nleaves); /* a bagged tree: every row's leaf, as the host's walk */
    CUDA_CHECK(cudaMemcpyAsync(s->lv, value, sizeof(double) * (size_t)nleaves, cudaMemcpyHostToDevice, s->s));
    ps_gbdt_add_leaf_values_cuda(s->leaf_of, s->lv, s->n, s->z, s->s);
    CUDA_CHECK(cudaStreamSynchronize(s->s)); /* value may change once this returns */
    return;
  }
  if (!s->leaf_h) s->leaf_h = ps_malloc(n * sizeof(int32_t));
  CUDA_CHECK(cudaMemcpyAsync(s->leaf_h, s->leaf_of, n * sizeof(int32_t), cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  for (size_t i = 0; i < n; i++) /* one addition a row, as the CPU backend's */
    if (s->leaf_h[i] >= 0) score[i] += value[s->leaf_h[i]];
}

/* The device's training scores down into z [n] (backend.h's get_scores). */
static void get_scores(ps_gbdt_backend_t *b, double *z) {
  cuda_t *s = b->impl;
  if (s->n == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(z, s->z, (size_t)s->n * sizeof(double), cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
}

/* ---- the gradients on the device (grad_q.cu; backend.h's set_scores, grad,
 * begin_tree_dev, quant): only the loss sum and the maxima come back ---- */

static void set_scores(ps_gbdt_backend_t *b, const double *z, const uint8_t *y, int64_t ystride) {
  cuda_t *s = b->impl;
  size_t n = (size_t)s->n;
  s->scores = 1;
  if (n == 0) return;
  uint8_t *col = ps_malloc(n);
  for (size_t i = 0; i < n; i++) col[i] = y[i * (size_t)ystride];
  CUDA_CHECK(cudaMemcpyAsync(s->z, z, n * sizeof(double), cudaMemcpyHostToDevice, s->s));
  CUDA_CHECK(cudaMemcpyAsync(s->y, col, n, cudaMemcpyHostToDevice, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  free(col);
}

static int64_t grad(ps_gbdt_backend_t *b, double w_pos, double w_neg, double scale, int64_t top[2]) {
  cuda_t *s = b->impl;
  int64_t out[3];
  nvtxRangePushA("gradients");
  ps_gbdt_grad_q_cuda(s->z, s->y, 1, s->n, w_pos, w_neg, scale, s->gq, s->hq, s->gout, s->s);
  /* the sums and maxima over all ranks where they are (NCCL: exact in any order), else by MPI from the host */
  int sum_dev = comm_allreduce_sum_i64_device(s->gout, 1, s->s);
  int max_dev = comm_allreduce_max_i64_device(s->gout + 1, 2, s->s);
  CUDA_CHECK(cudaMemcpyAsync(out, s->gout, sizeof out, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  if (!sum_dev) comm_allreduce_sum_i64(out, 1);
  if (!max_dev) comm_allreduce_max_i64(out + 1, 2);
  nvtxRangePop();
  top[0] = out[1];
  top[1] = out[2];
  return out[0];
}

static void begin_tree_dev(ps_gbdt_backend_t *b, const uint8_t *bag) {
  cuda_t *s = b->impl;
  if (bag && s->n > 0) CUDA_CHECK(cudaMemcpyAsync(s->bag, bag, (size_t)s->n, cudaMemcpyHostToDevice, s->s));
  s->m = ps_gbdt_bag_rows_cuda(bag ? s->bag : NULL, s->n, s->rows, s->tmp, s->pwork, s->s); /* waits */
  s->begin[0] = 0;
  s->count[0] = s->m;
  s->nlog = 0;
}

static void quant(ps_gbdt_backend_t *b, const int64_t *ids, uint64_t seed, uint64_t key, int64_t sg, int64_t sh,
                  int32_t qmax) {
  cuda_t *s = b->impl;
  s->qmax = qmax;
  if (s->n == 0) return;
  if (!s->ids) { /* the training rows' customer ids: up once */
    ps_cuda_malloc((void **)&s->ids, (size_t)s->n * sizeof(int64_t), "the rows' ids");
    CUDA_CHECK(cudaMemcpyAsync(s->ids, ids, (size_t)s->n * sizeof(int64_t), cudaMemcpyHostToDevice, s->s));
  }
  ps_gbdt_quant_cuda(s->gq, s->hq, s->ids, s->n, seed, key, sg, sh, s->gh, s->s);
}

/* ---- quantized gradients (--grad-bits): the packed rows go up once a
 * tree; a leaf's (sum qg, sum qh) histogram by hist_q.cu, widened to int64
 * on the device; the leaves' exact sums from the device's gq, hq ---- */

static void set_quant(ps_gbdt_backend_t *b, const int32_t *gh, int32_t qmax) {
  cuda_t *s = b->impl;
  s->qmax = qmax;
  if (s->n > 0) CUDA_CHECK(cudaMemcpyAsync(s->gh, gh, (size_t)s->n * sizeof(int32_t), cudaMemcpyHostToDevice, s->s));
}

static void hist_q(ps_gbdt_backend_t *b, int leaf, int64_t *h) {
  cuda_t *s = b->impl;
  size_t bytes = 2 * sizeof(int64_t) * (size_t)s->total_bins;
  nvtxRangePushA("histogram (quantized)");
  local_hist(s, leaf, 1, s->hist);
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(h, s->hist, bytes, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  nvtxRangePop();
}

/* A CSR file's training rows (set_rows had B NULL): up once as sparse bins. */
static void set_sparse(ps_gbdt_backend_t *b, const ps_gbdt_sparse_t *sp) {
  cuda_t *s = b->impl;
  nvtxRangePushA("copy sparse rows to GPU");
  gbdt_sparse_dev_destroy(s->sp);
  s->sp = gbdt_sparse_dev_create(sp, s->bin_off, s->total_bins, s->s);
  nvtxRangePop();
}

/* device_bytes for sparse rows: the per-row buffers and histograms of
 * device_bytes without the dense bins, plus the sparse rows. */
static int64_t device_bytes_sparse(int64_t n, int64_t kept, int64_t f, int64_t total_bins, int max_leaves) {
  return device_bytes(n, 0, total_bins, max_leaves, 0) + f + 8 * (f + 1) + (int64_t)ps_gbdt_split_work(f) +
         gbdt_sparse_dev_bytes(n, kept, f);
}

static void dh_root(ps_gbdt_backend_t *b, int quant, int64_t *sums) {
  gbdt_devhist_root(((cuda_t *)b->impl)->dh, quant, sums);
}
static int dh_children(ps_gbdt_backend_t *b, int leaf, int right, int small) {
  return gbdt_devhist_children(((cuda_t *)b->impl)->dh, leaf, right, small);
}
static void dh_search(ps_gbdt_backend_t *b, int n, const ps_dh_query_t *qs, const uint8_t *use,
                      const ps_split_params_t *p, int quant, ps_split_t *best) {
  gbdt_devhist_search(((cuda_t *)b->impl)->dh, n, qs, use, p, quant, best);
}
static void dh_drop(ps_gbdt_backend_t *b, int leaf) { gbdt_devhist_drop(((cuda_t *)b->impl)->dh, leaf); }
static void dh_cat(ps_gbdt_backend_t *b, const uint8_t *cat) { gbdt_devhist_set_cat(((cuda_t *)b->impl)->dh, cat); }
static void dh_set(ps_gbdt_backend_t *b, int i, uint8_t *set) { gbdt_devhist_set(((cuda_t *)b->impl)->dh, i, set); }

static int64_t leaf_rows(ps_gbdt_backend_t *b, int leaf) { return ((cuda_t *)b->impl)->count[leaf]; }

static void leaf_sums(ps_gbdt_backend_t *b, int nleaves, int64_t *sums) {
  cuda_t *s = b->impl;
  size_t L = (size_t)nleaves;
  CUDA_CHECK(cudaMemcpyAsync(s->dbegin, s->begin, sizeof(int64_t) * L, cudaMemcpyHostToDevice, s->s));
  CUDA_CHECK(cudaMemcpyAsync(s->dcount, s->count, sizeof(int64_t) * L, cudaMemcpyHostToDevice, s->s));
  ps_gbdt_leaf_sums_cuda(s->rows, s->dbegin, s->dcount, nleaves, s->gq, s->hq, s->lsums, s->s);
  CUDA_CHECK(cudaMemcpyAsync(sums, s->lsums, 2 * sizeof(int64_t) * L, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
}

static void bin(ps_gbdt_backend_t *b, const float *X, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off,
                uint8_t *B) {
  cuda_t *s = b->impl;
  if (n <= 0 || f <= 0) return;
  if (s->cuts_of != cuts) { /* the cut points go up once */
    size_t nc = (size_t)cut_off[f];
    dev_free(s->cuts), dev_free(s->cut_off);
    ps_cuda_malloc((void **)&s->cuts, sizeof(float) * (nc ? nc : 1), "the cut points");
    ps_cuda_malloc((void **)&s->cut_off, sizeof(int64_t) * (size_t)(f + 1), "the cut points");
    if (nc) CUDA_CHECK(cudaMemcpyAsync(s->cuts, cuts, sizeof(float) * nc, cudaMemcpyHostToDevice, s->s));
    CUDA_CHECK(cudaMemcpyAsync(s->cut_off, cut_off, sizeof(int64_t) * (size_t)(f + 1), cudaMemcpyHostToDevice, s->s));
    s->cuts_of = cuts;
  }
  size_t e = (size_t)n * (size_t)f;
  if (e > s->x_cap) {
    dev_free(s->X), dev_free(s->Bblk);
    ps_cuda_malloc((void **)&s->X, sizeof(float) * e, "a block of rows");
    ps_cuda_malloc((void **)&s->Bblk, e, "a block of bins");
    s->x_cap = e;
  }
  nvtxRangePushA("bin rows");
  CUDA_CHECK(cudaMemcpyAsync(s->X, X, sizeof(float) * e, cudaMemcpyHostToDevice, s->s));
  ps_gbdt_bin_cuda(s->X, n, f, s->cuts, s->cut_off, s->Bblk, s->s);
  CUDA_CHECK(cudaMemcpyAsync(B, s->Bblk, e, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  nvtxRangePop();
}

static void destroy(ps_gbdt_backend_t *b) {
  cuda_t *s = b->impl;
  release_rows(s);
  release_binning(s);
  CUDA_CHECK(cudaStreamDestroy(s->s));
  free(s);
  free(b);
}

ps_gbdt_backend_t *gbdt_backend_cuda(void) {
  /* the node's ranks spread over its GPUs; ranks on one GPU share its memory */
  const device_place_t *pl = device_place();
  if (pl->device < 0) ps_die_local("--device cuda: no CUDA device visible to rank %d", ps_rank);
  int share = pl->share;
  cuda_t *s = ps_calloc(1, sizeof *s);
  s->device = pl->device;
  CUDA_CHECK(cudaSetDevice(s->device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&s->s, cudaStreamNonBlocking));
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  ps_gbdt_backend_t *b = ps_calloc(1, sizeof *b);
  *b = (ps_gbdt_backend_t){.name = "cuda", .set_rows = set_rows, .begin_tree = begin_tree, .hist = hist,
                           .split = split, .add_leaves = add_leaves, .bin = bin, .find_split = find_split,
                           .set_quant = set_quant, .hist_q = hist_q, .leaf_rows = leaf_rows,
                           .leaf_sums = leaf_sums, .destroy = destroy,
                           .device_memory = (int64_t)(0.8 * (double)free_b / share),
                           .device_bytes = device_bytes, .impl = s, .split_set = split_set, .dh_root = dh_root,
                           .dh_children = dh_children, .dh_search = dh_search, .dh_drop = dh_drop,
                           .dh_cat = dh_cat, .dh_set = dh_set,
                           .set_sparse = set_sparse, .device_bytes_sparse = device_bytes_sparse,
                           .set_scores = set_scores, .grad = grad, .begin_tree_dev = begin_tree_dev, .quant = quant,
                           .get_scores = get_scores};
  /* the leaf histograms' int64 sums over NCCL on device memory when every rank has a GPU of its own */
  comm_use_device(share == 1 ? s->device : -1);
  device_report("gbdt", pl, b->device_memory, comm_nccl_active());
  if (ps_size > 1)
    ps_log("gbdt: leaf histograms kept on the device, summed across ranks %s", comm_nccl_active()
           ? "by NCCL on device memory (int64 allreduce)" : "through host memory by MPI (NCCL off)");
  return b;
}

/* ---- scoring raw rows (score --device cuda) ---- */

struct gbdt_cuda_scorer {
  cudaStream_t s;
  int k;
  ps_forest_view_t *dev; /* [k] views of device arrays */
  float *X;
  double *z;
  size_t cap; /* rows the buffers hold */
  int64_t f;
  ps_gbdt_predict_plan_t *plan; /* every head over one read of the rows (predict_heads.cu); NULL: a head at a time */
  /* CSR rows (gbdt_cuda_scorer_predict_csr): a block's stored values, its
   * scores [k][n], a tile of tile_rows dense rows kept zero */
  int64_t *cptr;
  int32_t *cidx;
  float *cval, *tile;
  double *cz;
  size_t cptr_cap, cval_cap, cidx_cap, cz_cap;
  int64_t tile_rows, tile_f;
};

static void *up(const void *h, size_t bytes, cudaStream_t s) {
  void *d = NULL;
  CUDA_CHECK(cudaMalloc(&d, bytes ? bytes : 8));
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, s));
  return d;
}

gbdt_cuda_scorer_t *gbdt_cuda_scorer_create(const ps_forest_view_t *heads, int k) {
  const device_place_t *pl = device_place(); /* collective: scoring starts on every rank */
  if (pl->device < 0) ps_die_local("--device cuda: no CUDA device visible to rank %d", ps_rank);
  CUDA_CHECK(cudaSetDevice(pl->device));
  gbdt_cuda_scorer_t *c = ps_calloc(1, sizeof *c);
  CUDA_CHECK(cudaStreamCreateWithFlags(&c->s, cudaStreamNonBlocking));
  c->k = k;
  c->dev = ps_calloc((size_t)(k > 0 ? k : 1), sizeof(ps_forest_view_t));
  for (int h = 0; h < k; h++) {
    const ps_forest_view_t *v = &heads[h];
    ps_forest_view_t *d = &c->dev[h];
    size_t nt = (size_t)v->ntrees, nodes = (size_t)v->node_off[nt], leaves = (size_t)v->leaf_off[nt];
    d->ntrees = v->ntrees;
    d->node_off = up(v->node_off, sizeof(int64_t) * (nt + 1), c->s);
    d->leaf_off = up(v->leaf_off, sizeof(int64_t) * (nt + 1), c->s);
    d->feature = up(v->feature, sizeof(int32_t) * nodes, c->s);
    d->threshold = up(v->threshold, sizeof(float) * nodes, c->s);
    d->bin = up(v->bin, nodes, c->s);
    d->default_left = up(v->default_left, nodes, c->s);
    d->left = up(v->left, sizeof(int32_t) * nodes, c->s);
    d->right = up(v->right, sizeof(int32_t) * nodes, c->s);
    d->leaf_value = up(v->leaf_value, sizeof(double) * leaves, c->s);
    if (v->cat) { /* categorical splits (gbdt/gbdt_cat.h) */
      d->cat = up(v->cat, sizeof(int32_t) * nodes, c->s);
      d->cat_set = up(v->cat_set, PS_GBDT_CAT_BYTES * (size_t)ps_gbdt_view_sets(v, (int64_t)nodes), c->s);
    }
  }
  CUDA_CHECK(cudaStreamSynchronize(c->s));
  c->plan = ps_gbdt_predict_plan_create(heads, k, c->s);
  return c;
}

/* z [h * ldz + i] += head h's forest on device rows X [n][f]: every head
 * over one read of the rows where predict_heads.cu takes them, else a head
 * at a time (predict.cu). */
static void forests(gbdt_cuda_scorer_t *c, const float *X, int64_t n, int64_t f, double *z, int64_t ldz) {
  if (!c->plan || !ps_gbdt_predict_plan_run(c->plan, X, n, f, z, ldz, c->s))
    for (int h = 0; h < c->k; h++) ps_gbdt_predict_cuda(&c->dev[h], X, n, f, z + (size_t)h * (size_t)ldz, c->s);
}

void gbdt_cuda_scorer_predict(gbdt_cuda_scorer_t *c, const float *X, int64_t n, int64_t f, const double *init,
                              double *z) {
  if (n <= 0) return;
  size_t need = (size_t)n;
  if (need > c->cap || f != c->f) {
    if (c->X) CUDA_CHECK(cudaFree(c->X));
    if (c->z) CUDA_CHECK(cudaFree(c->z));
    CUDA_CHECK(cudaMalloc((void **)&c->X, sizeof(float) * need * (size_t)(f > 0 ? f : 1)));
    CUDA_CHECK(cudaMalloc((void **)&c->z, sizeof(double) * need * (size_t)(c->k > 0 ? c->k : 1)));
    c->cap = need;
    c->f = f;
  }
  nvtxRangePushA("score (trees)");
  for (int h = 0; h < c->k; h++) /* the starting scores: init[h] on every row */
    for (int64_t i = 0; i < n; i++) z[(size_t)h * need + (size_t)i] = init[h];
  CUDA_CHECK(cudaMemcpyAsync(c->X, X, sizeof(float) * need * (size_t)f, cudaMemcpyHostToDevice, c->s));
  CUDA_CHECK(cudaMemcpyAsync(c->z, z, sizeof(double) * need * (size_t)c->k, cudaMemcpyHostToDevice, c->s));
  forests(c, c->X, n, f, c->z, (int64_t)need);
  CUDA_CHECK(cudaMemcpyAsync(z, c->z, sizeof(double) * need * (size_t)c->k, cudaMemcpyDeviceToHost, c->s));
  CUDA_CHECK(cudaStreamSynchronize(c->s));
  nvtxRangePop();
}

/* Device buffer *p of at least `bytes` (cap: its size), contents dropped. */
static void room(void **p, size_t *cap, size_t bytes) {
  if (bytes <= *cap && *p) return;
  if (*p) CUDA_CHECK(cudaFree(*p));
  CUDA_CHECK(cudaMalloc(p, bytes ? bytes : 8));
  *cap = bytes;
}

/* The tile of dense rows the CSR rows are scattered into: up to 32 MiB
 * (at least 64 rows; PROPSCORE_CSR_TILE_ROWS, for the tests: that many),
 * zeroed once; csr_tile.cu zeroes its places again after each use. */
#define CSR_TILE_BYTES ((int64_t)32 << 20)
static void tile_room(gbdt_cuda_scorer_t *c, int64_t f) {
  if (c->tile && c->tile_f == f) return;
  if (c->tile) CUDA_CHECK(cudaFree(c->tile));
  const char *env = getenv("PROPSCORE_CSR_TILE_ROWS");
  int64_t w = f > 0 ? f : 1, rows = env && atoll(env) > 0 ? atoll(env) : CSR_TILE_BYTES / (4 * w);
  c->tile_rows = rows < 64 && !env ? 64 : rows;
  c->tile_f = f;
  ps_log("score: CSR rows from their stored values on the device: %lld rows a tile of dense rows kept zero (%.1f MiB)",
         (long long)c->tile_rows, 4.0 * (double)c->tile_rows * (double)w / 1048576.0);
  CUDA_CHECK(cudaMalloc((void **)&c->tile, sizeof(float) * (size_t)c->tile_rows * (size_t)w));
  CUDA_CHECK(cudaMemsetAsync(c->tile, 0, sizeof(float) * (size_t)c->tile_rows * (size_t)w, c->s));
}

void gbdt_cuda_scorer_predict_csr(gbdt_cuda_scorer_t *c, const int64_t *ptr, const int32_t *idx, const float *val,
                                  int64_t n, int64_t f, const double *init, double *z) {
  if (n <= 0) return;
  size_t nnz = (size_t)(ptr[n] - ptr[0]), nz = (size_t)n * (size_t)c->k;
  nvtxRangePushA("score (trees, CSR rows)");
  room((void **)&c->cptr, &c->cptr_cap, sizeof(int64_t) * (size_t)(n + 1));
  room((void **)&c->cval, &c->cval_cap, sizeof(float) * nnz);
  room((void **)&c->cidx, &c->cidx_cap, sizeof(int32_t) * nnz);
  room((void **)&c->cz, &c->cz_cap, sizeof(double) * (nz ? nz : 1));
  tile_room(c, f);
  for (int h = 0; h < c->k; h++) /* the starting scores: init[h] on every row */
    for (int64_t i = 0; i < n; i++) z[(size_t)h * (size_t)n + (size_t)i] = init[h];
  CUDA_CHECK(cudaMemcpyAsync(c->cptr, ptr, sizeof(int64_t) * (size_t)(n + 1), cudaMemcpyHostToDevice, c->s));
  if (nnz) CUDA_CHECK(cudaMemcpyAsync(c->cidx, idx, sizeof(int32_t) * nnz, cudaMemcpyHostToDevice, c->s));
  if (nnz) CUDA_CHECK(cudaMemcpyAsync(c->cval, val, sizeof(float) * nnz, cudaMemcpyHostToDevice, c->s));
  if (nz) CUDA_CHECK(cudaMemcpyAsync(c->cz, z, sizeof(double) * nz, cudaMemcpyHostToDevice, c->s));
  for (int64_t i0 = 0; i0 < n; i0 += c->tile_rows) {
    int64_t m = n - i0 < c->tile_rows ? n - i0 : c->tile_rows;
    ps_gbdt_csr_scatter_cuda(c->cptr, c->cidx, c->cval, i0, m, f, c->tile, c->s);
    forests(c, c->tile, m, f, c->cz + i0, n);
    ps_gbdt_csr_scatter_cuda(c->cptr, c->cidx, NULL, i0, m, f, c->tile, c->s);
  }
  if (nz) CUDA_CHECK(cudaMemcpyAsync(z, c->cz, sizeof(double) * nz, cudaMemcpyDeviceToHost, c->s));
  CUDA_CHECK(cudaStreamSynchronize(c->s));
  nvtxRangePop();
}

void gbdt_cuda_scorer_destroy(gbdt_cuda_scorer_t *c) {
  if (!c) return;
  for (int h = 0; h < c->k; h++) {
    ps_forest_view_t *d = &c->dev[h];
    const void *ps[] = {d->node_off, d->leaf_off, d->feature, d->threshold, d->bin, d->default_left,
                        d->left, d->right, d->leaf_value};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) CUDA_CHECK(cudaFree((void *)ps[i]));
    if (d->cat) CUDA_CHECK(cudaFree((void *)d->cat));
    if (d->cat_set) CUDA_CHECK(cudaFree((void *)d->cat_set));
  }
  ps_gbdt_predict_plan_destroy(c->plan);
  if (c->X) CUDA_CHECK(cudaFree(c->X));
  if (c->z) CUDA_CHECK(cudaFree(c->z));
  void *csr[] = {c->cptr, c->cidx, c->cval, c->tile, c->cz};
  for (size_t i = 0; i < sizeof csr / sizeof csr[0]; i++) dev_free(csr[i]);
  CUDA_CHECK(cudaStreamDestroy(c->s));
  free(c->dev);
  free(c);
}
