/* fit.c: gradient-boosted trees fitted in memory (fit.h): labels and
 * split of the input's rows (models/labels.c), cut points from a sample of
 * training rows (binning.c), every row binned once (1 byte a value,
 * resident), then per head: fixed-point gradients, trees grown leaf-wise on
 * histograms summed across ranks (grow.c), scores updated, early stopping
 * on the validation log-loss; checkpoints between trees (the hooks);
 * metrics. The model is the same bytes for any rank count (integer
 * histogram sums, P-independent sampling). */
#include "models/gbdt/fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/psmath.h"
#include "core/parse.h"
#include "core/rng.h"
#include "core/signals.h"
#include "core/util.h"
#include "gbdt/gbdt_cpu.h"
#include "io/data.h"
#include "io/pipeline.h"
#include "models/gbdt/backend.h"
#include "models/gbdt/binning.h"
#include "models/gbdt/categorical.h"
#include "models/gbdt/leafrows.h"
#include "models/gbdt/bundle.h"
#include "models/gbdt/quant.h"
#include "models/gbdt/rows_csr.h"
#include "models/labels.h"
#include "stats/metrics.h"

typedef struct {
  int64_t f;
  uint8_t *Btr, *Bva; /* binned rows of each split, [n][f] */
  float *sample;      /* sampled training rows for the cuts, [m][f] */
  int64_t m;
  ps_bundles_t bd;    /* --bundle auto: exclusive features' shared columns (bd.group NULL: none sought) */
  uint8_t *Bbt;       /* the training rows' bundle columns [n][bd.nb], or NULL */
  double t_bundle;    /* seconds finding and encoding them */
  int64_t mem_limit;  /* --host-mem-limit (0: none): the bundle columns are made only if they fit beside the bins */
  gbdt_csr_rows_t *sp; /* a CSR file: the rows' sparse bins (rows_csr.h; Btr, Bva NULL), else NULL */
  gbdt_leafrows_t *va; /* the validation rows by column (leafrows.h; Bva then NULL), or NULL */
} binned_t;

/* out[i] += tree t's value for row i of a split (0 train, 1 valid) of the binned rows. */
static void predict_split(const binned_t *r, const ps_forest_view_t *v, int32_t t, int split, int64_t n, double *out) {
  if (r->sp) ps_gbdt_predict_sparse_cpu(v, t, split ? &r->sp->va : &r->sp->tr, NULL, n, out);
  else if (split && r->va) leafrows_add(r->va, v, t, out);
  else ps_gbdt_predict_bins_cpu(v, t, split ? r->Bva : r->Btr, r->f, NULL, n, out);
}

/* The training rows' bundle columns, when bundles were found and every rank
 * has room for them (collective; without them the model is the same). */
static void encode_bundles(binned_t *r, const ps_labeled_t *l, const ps_bins_t *bins) {
  if (r->bd.nmulti == 0) return;
  double t0 = ps_now();
  int64_t room = r->mem_limit <= 0 || (double)l->n * (double)r->f + (double)l->n_tr * (double)r->bd.nb <=
                                          (double)r->mem_limit;
  comm_allreduce_min_i64(&room, 1);
  if (room) r->Bbt = bundles_encode(&r->bd, bins, r->Btr, l->n_tr);
  else ps_log("train: no bundle columns: they do not fit --host-mem-limit beside the binned rows");
  r->t_bundle += ps_now() - t0;
}

/* Pass 1 reads the rows and keeps the binning sample (and rejects
 * non-finite values if asked); the cuts come from the sample; pass 2 bins. */
static void load_rows(ps_data_t *d, const ps_labeled_t *l, const gbdt_opts_t *o, int reject, ps_gbdt_backend_t *be,
                      ps_bins_t *bins, binned_t *r) {
  int64_t f = d->f;
  r->f = f;
  double rate = o->bin_sample >= l->g_tr ? 1.0 : (double)o->bin_sample / l->g_tr;
  int64_t br = h5_block_rows(4 * f, d->chunk_rows);
  ps_pipe_col_t in = data_features_col(d);
  ps_pipe_spec_t spec = {.what = "train", .row0 = l->row0, .n = l->n, .block_rows = br, .nin = 1, .in = &in};
  ps_pipe_t *pipe = pipe_open(&spec);
  int64_t cap = 1024;
  r->sample = ps_malloc(sizeof(float) * (size_t)(cap * f));
  r->m = 0;
  char msg[1024];
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    const float *X = b.in[0];
    int64_t rr = -1, cc = -1;
    if (reject && data_first_nonfinite(X, b.rows, f, &rr, &cc)) {
      data_nonfinite_message(d, l->row0 + b.first + rr, cc, X[(size_t)rr * (size_t)f + (size_t)cc], msg, sizeof msg);
      pipe_fail(pipe, l->row0 + b.first + rr, "%s", msg);
    }
    if (data_first_bad_code(d, X, b.rows, &rr, &cc)) { /* categorical columns: codes 0..C-1 or NaN */
      data_bad_code_message(d, l->row0 + b.first + rr, cc, X[(size_t)rr * (size_t)f + (size_t)cc], msg, sizeof msg);
      pipe_fail(pipe, l->row0 + b.first + rr, "%s", msg);
    }
    for (int64_t i = 0; i < b.rows; i++) {
      int64_t g = b.first + i;
      if (l->train[g] != PS_ROW_TRAIN || !bins_in_sample(l->ids[g], rate, o->seed)) continue;
      if (r->m == cap) {
        cap *= 2;
        r->sample = ps_realloc(r->sample, sizeof(float) * (size_t)(cap * f));
      }
      memcpy(r->sample + (size_t)(r->m++) * (size_t)f, X + (size_t)i * (size_t)f, sizeof(float) * (size_t)f);
    }
  }
  pipe_check(pipe, NULL);
  bins_from_sample(r->sample, r->m, f, o->max_bin, bins);
  cat_bins(bins, d->cat_card);
  double t0 = ps_now();
  if (!o->bundle_off && be->set_bundles) bundles_find(r->sample, r->m, bins, &r->bd);
  r->t_bundle = ps_now() - t0;
  free(r->sample);
  r->sample = NULL;
  r->Btr = ps_malloc((size_t)(l->n_tr > 0 ? l->n_tr : 1) * (size_t)f);
  r->Bva = ps_malloc((size_t)(l->n_va > 0 ? l->n_va : 1) * (size_t)f);
  int64_t itr = 0, iva = 0;
  uint8_t *blk = be->bin ? ps_malloc((size_t)br * (size_t)(f > 0 ? f : 1)) : NULL; /* a block binned on the device */
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    const float *X = b.in[0];
    if (blk) be->bin(be, X, b.rows, f, bins->cuts, bins->cut_off, blk);
    for (int64_t i = 0; i < b.rows; i++) {
      int place = l->train[b.first + i];
      if (place == PS_ROW_NONE) continue;
      uint8_t *dst = place == PS_ROW_TRAIN ? r->Btr + (size_t)(itr++) * (size_t)f : r->Bva + (size_t)(iva++) * (size_t)f;
      if (blk) memcpy(dst, blk + (size_t)i * (size_t)f, (size_t)f);
      else ps_gbdt_bin_cpu(X + (size_t)i * (size_t)f, 1, f, bins->cuts, bins->cut_off, dst);
    }
  }
  pipe_check(pipe, NULL);
  pipe_close(pipe);
  free(blk);
  r->va = leafrows_create(r->Bva, l->n_va, f);
  free(r->Bva);
  r->Bva = NULL;
  if (r->bd.group) encode_bundles(r, l, bins);
}

/* Fixed-point scale for a head: sums of up to `rows` values of |g| <= wmax
 * stay below 2^62. */
static double grad_scale(double rows, double wmax) {
  int bits = (int)ceil(log2(rows + 1)) + (wmax > 1 ? (int)ceil(log2(wmax)) : 0);
  int shift = 61 - bits;
  if (shift > 48) shift = 48;
  if (shift < 8) shift = 8;
  return ldexp(1.0, shift);
}

/* Unweighted mean log-loss of scores z against labels (head h of Y), the
 * same for any rank count (per-row losses summed as integers). */
static double mean_logloss(const double *z, const uint8_t *Y, int64_t n, int k, int h, double total) {
  /* validation rows: unweighted, as scikit-learn's log_loss */
  int64_t acc = ps_gbdt_loss_q_cpu(z, Y + h, k, n);
  comm_allreduce_sum_i64(&acc, 1);
  return total > 0 ? (double)acc / PS_GBDT_LOSS_SCALE / total : NAN;
}

/* The features tree t of head h may use: ceil(fraction * f) of them, the
 * smallest of a hash of (seed, head, tree, feature). */
static void feature_mask(uint8_t *use, int64_t f, double fraction, uint64_t seed, int h, int t) {
  int64_t want = (int64_t)ceil(fraction * (double)f);
  if (want >= f) {
    memset(use, 1, (size_t)f);
    return;
  }
  if (want < 1) want = 1;
  uint64_t *key = ps_malloc(sizeof(uint64_t) * (size_t)f);
  for (int64_t j = 0; j < f; j++) key[j] = ps_rng_u64(seed, 17, ((uint64_t)h << 32) | (uint64_t)t, (uint64_t)j);
  /* the want-th smallest key: select by counting (f is small enough) */
  memset(use, 0, (size_t)f);
  for (int64_t picked = 0; picked < want; picked++) {
    int64_t best = -1;
    for (int64_t j = 0; j < f; j++)
      if (!use[j] && (best < 0 || key[j] < key[best])) best = j;
    use[best] = 1;
  }
  free(key);
}

/* Scores of every training and validation row from a head's forest (trees
 * in order: the same doubles as the running scores of training). */
static void rescore(const ps_gbdt_model_t *m, int h, const binned_t *r, int64_t ntr, int64_t nva, double *ztr,
                    double *zva) {
  ps_forest_view_t v = forest_view(&m->forest[h]);
  for (int64_t i = 0; i < ntr; i++) ztr[i] = m->init_score[h];
  for (int64_t i = 0; i < nva; i++) zva[i] = m->init_score[h];
  for (int32_t t = 0; t < v.ntrees; t++) {
    predict_split(r, &v, t, 0, ntr, ztr);
    predict_split(r, &v, t, 1, nva, zva);
  }
}

/* Metrics of a head's probabilities on both splits. */
static void head_metrics(const ps_labeled_t *l, int h, const double *ztr, const double *zva, ps_metrics_t *mtr,
                         ps_metrics_t *mva) {
  float *p = ps_malloc(sizeof(float) * (size_t)(l->n_tr + l->n_va + 1));
  uint8_t *y = labels_head(l->Ytr, l->n_tr, l->k, h);
  for (int64_t i = 0; i < l->n_tr; i++) p[i] = (float)ps_sigmoid(ztr[i]);
  metrics_compute_in(p, y, NULL, l->n_tr, mtr);
  free(y);
  if (l->g_va > 0) {
    y = labels_head(l->Yva, l->n_va, l->k, h);
    for (int64_t i = 0; i < l->n_va; i++) p[i] = (float)ps_sigmoid(zva[i]);
    metrics_compute_in(p, y, NULL, l->n_va, mva);
    free(y);
  }
  metrics_release(); /* not kept through the next head's trees */
  free(p);
}

/* One fit's working state. */
typedef struct {
  const train_common_t *cm;
  const gbdt_opts_t *o;
  const train_input_t *in;
  train_hooks_t *hk;
  gbdt_fit_t *r;
  ps_gbdt_backend_t *be;
  ps_labeled_t l;
  binned_t rows;
  int64_t f;
  int k, rounds, stopped;
  double *w_pos, *w_neg;
  double *ztr, *zva;
  int64_t *gq, *hq;
  int32_t qmax, *gh;  /* --grad-bits: the bound of the quantized values (0: exact), packed rows */
  int64_t *ids_tr;    /* quantized: the training rows' customer ids */
  uint8_t *bag, *use;
  ps_tree_t tree;
  ps_grow_params_t gp;
  int dev_stale; /* the backend keeps the scores (be->grad): ztr changed on the host since set_scores */
  int host_stale; /* ... and the device's scores changed since ztr was (add_leaves adds there only) */
} gfit_t;

/* The binned rows must fit --host-mem-limit, and the GPU's share its memory. */
static void check_memory(gfit_t *g) {
  const train_common_t *cm = g->cm;
  const ps_labeled_t *l = &g->l;
  int64_t f = g->f, mem_limit = train_job_mem_limit(cm);
  double need = g->in->d->csr ? gbdt_csr_bytes(g->in->d, l, g->be->device_memory <= 0) /* index: the CPU's */
                              : (double)l->n * (double)f; /* bins: a byte a value */
  comm_allreduce_max_f64(&need, 1);
  if (mem_limit > 0 && need > (double)mem_limit)
    ps_die_all(PS_EXIT_ERROR,
               "%s: the binned rows need %.1f GiB on a rank, more than --host-mem-limit %.1f GiB: use more ranks "
               "(each holds rows/P) or raise the limit",
               cm->data, need / 1073741824.0, (double)mem_limit / 1073741824.0);
  if (g->be->device_memory <= 0) return; /* the GPU holds the training rows' bins, gradients and partition */
  int64_t gpu_limit = cm->gpu_mem_limit ? cm->gpu_mem_limit : g->be->device_memory;
  int64_t bin_rows = h5_block_rows(4 * f, g->in->d->chunk_rows); /* load_rows' blocks */
  if (bin_rows > l->n) bin_rows = l->n;
  double dneed = (double)g->be->device_bytes(l->n_tr, f, f * (PS_GBDT_MAX_BIN + 1), g->o->num_leaves, bin_rows);
  if (g->in->d->csr) /* sparse rows: no dense bins on the device (at most every stored value kept) */
    dneed = (double)g->be->device_bytes_sparse(l->n_tr, gbdt_csr_stored(g->in->d, l), f, f * (PS_GBDT_MAX_BIN + 1),
                                               g->o->num_leaves);
  comm_allreduce_max_f64(&dneed, 1);
  if (dneed > (double)gpu_limit)
    ps_die_all(PS_EXIT_ERROR,
               "%s: --device cuda: the binned training rows need %.1f MiB of GPU memory on a rank, more than "
               "--gpu-mem-limit %.1f MiB: use more ranks (one GPU each), raise the limit, or --device cpu",
               cm->data, dneed / 1048576.0, (double)gpu_limit / 1048576.0);
}

/* --host-mem-limit's room left on this rank for the backend's optional
 * copies (backend.h host_room; -1: no limit): the limit less the binned
 * rows (n x f bytes) and the bundle columns (n_tr x nb). */
static int64_t host_room(const gfit_t *g) {
  if (g->rows.mem_limit <= 0 || g->rows.sp) return -1;
  double used = (double)g->l.n * (double)g->f + (g->rows.Bbt ? (double)g->l.n_tr * (double)g->rows.bd.nb : 0);
  return used >= (double)g->rows.mem_limit ? 0 : g->rows.mem_limit - (int64_t)used;
}

/* A CSR file's rows binned sparse (rows_csr.h; no bundles: the sparse rows
 * already hold only the values off their zero bin). */
static void load_csr(gfit_t *g) {
  g->rows.f = g->f;
  g->rows.sp = ps_calloc(1, sizeof(gbdt_csr_rows_t));
  gbdt_csr_load(g->in->d, &g->l, g->o->bin_sample, g->o->seed, g->o->max_bin, g->cm->reject_nonfinite, &g->r->mdl.bins,
                g->rows.sp);
  if (g->be->device_memory <= 0) gbdt_csr_index(g->rows.sp); /* the CPU backend's partition reads it */
  g->rows.m = g->rows.sp->m;
  double kept = (double)(g->rows.sp->tr.ptr[g->l.n_tr] + g->rows.sp->va.ptr[g->l.n_va]);
  comm_allreduce_sum_f64(&kept, 1);
  ps_log("train: CSR rows binned sparse: %.0f values off their zero bin kept (4 bytes each and 8 a row%s)", kept,
         g->rows.sp->col_off ? ", 5 more a training value for the column index" : "");
}

/* Labels, class weights, memory checks, the cuts and the binned rows. */
static void load(gfit_t *g) {
  const train_input_t *in = g->in;
  gbdt_fit_t *r = g->r;
  int k = g->k;
  double t_load = ps_now();
  g->w_pos = ps_malloc(sizeof(double) * (size_t)k);
  g->w_neg = ps_malloc(sizeof(double) * (size_t)k);
  r->ratio = ps_malloc(sizeof(double) * (size_t)k);
  int *bal = ps_calloc((size_t)k, sizeof(int));
  ps_parse_per_target("--pos-weight", g->cm->pos_weight, k, r->ratio, bal, 1e-6, 1e6); /* checked before any work */
  free(bal);
  labels_load(in->d, in->targets, k, g->cm->holdout, g->cm->split_salt, in->keep, &g->l);
  labels_class_weights(&g->l, g->cm->pos_weight, g->w_pos, g->w_neg, r->ratio);
  g->f = in->d->f;
  check_memory(g);
  if (in->d->cat_card && !g->be->split_set)
    ps_die_all(PS_EXIT_ERROR, "%s: categorical columns (/categorical) train on --device cpu only: the %s tree backend "
               "has no category-set partition yet", in->d->path, g->be->name);
  gbdt_model_init(&r->mdl, g->f, k);
  r->mdl.feature_names = in->d->feature_names;
  r->mdl.targets = in->targets;
  r->mdl.holdout = g->cm->holdout;
  r->mdl.split_salt = g->cm->split_salt;
  g->rows.mem_limit = train_job_mem_limit(g->cm);
  if (in->d->csr) load_csr(g);
  else load_rows(in->d, &g->l, g->o, g->cm->reject_nonfinite, g->be, &r->mdl.bins, &g->rows);
  r->sampled = g->rows.m;
  r->t_load = ps_now() - t_load;
  if (g->rows.Bbt)
    ps_log("train: %lld features in %lld histogram columns (%lld bundles of exclusive features, %.2f s)",
           (long long)g->f, (long long)g->rows.bd.nb, (long long)g->rows.bd.nmulti, g->rows.t_bundle);
  r->g_tr = g->l.g_tr;
  r->g_va = g->l.g_va;
  r->n_pos = ps_malloc(sizeof(double) * (size_t)k);
  memcpy(r->n_pos, g->l.n_pos, sizeof(double) * (size_t)k);
  ps_log("train: %lld rows x %lld features binned (%lld bins in all, %lld sampled rows) in %.2f s; %.0f train + "
         "%.0f validation rows, %d rank%s, gradient-boosted trees, device %s",
         (long long)in->d->n, (long long)g->f, (long long)r->mdl.bins.total_bins, (long long)g->rows.m, r->t_load,
         g->l.g_tr, g->l.g_va, ps_size, ps_size == 1 ? "" : "s", g->be->name);
}

/* The state between trees, from the checkpoint when there is one; 1 if resumed. */
static int start_state(gfit_t *g) {
  int k = g->k;
  ps_gbdt_state_t *st = &g->r->st;
  st->best = ps_calloc((size_t)k, sizeof(int64_t));
  st->best_loss = ps_calloc((size_t)k, sizeof(double));
  st->done = ps_calloc((size_t)k, sizeof(int));
  st->trace = ps_calloc((size_t)k, sizeof(double *));
  st->trace_rows = ps_calloc((size_t)k, sizeof(int64_t));
  int resumed = gbdt_ckpt_load(g->hk->ckpt, g->hk->fp, &g->r->mdl, st);
  for (int h = 0; h < k; h++) {
    st->trace[h] = ps_realloc(st->trace[h], sizeof(double) * 3 * (size_t)(g->o->trees + st->trace_rows[h] + 1));
    if (!resumed || h > st->head) st->best_loss[h] = INFINITY;
  }
  if (resumed)
    ps_log("train: resumed at head %s, tree %d from %s", g->in->targets[st->head], g->r->mdl.forest[st->head].ntrees,
           g->hk->ckpt);
  return resumed;
}

static void alloc_work(gfit_t *g) {
  const ps_labeled_t *l = &g->l;
  const gbdt_opts_t *o = g->o;
  g->ztr = ps_malloc(sizeof(double) * (size_t)(l->n_tr + 1));
  g->zva = ps_malloc(sizeof(double) * (size_t)(l->n_va + 1));
  g->gq = ps_malloc(sizeof(int64_t) * (size_t)(l->n_tr + 1));
  g->hq = ps_malloc(sizeof(int64_t) * (size_t)(l->n_tr + 1));
  g->bag = o->bagging_fraction < 1.0 ? ps_malloc((size_t)(l->n_tr + 1)) : NULL;
  g->use = ps_malloc((size_t)g->f);
  if (g->qmax) {
    g->gh = ps_malloc(sizeof(int32_t) * (size_t)(l->n_tr + 1));
    g->ids_tr = ps_malloc(sizeof(int64_t) * (size_t)(l->n_tr + 1));
    for (int64_t i = 0, r = 0; i < l->n; i++)
      if (l->train[i] == PS_ROW_TRAIN) g->ids_tr[r++] = l->ids[i];
  }
  tree_alloc(&g->tree, o->num_leaves);
  g->gp = (ps_grow_params_t){
      .num_leaves = o->num_leaves,
      .max_depth = o->max_depth,
      .split = {.l2 = o->l2, .min_data = o->min_data, .min_hess = o->min_hess, .min_gain = o->min_gain, .scale = 1.0,
                .cat_smooth = o->cat_smooth, .cat_l2 = o->cat_l2, .cat_min_group = o->min_data_per_group,
                .cat_onehot = o->max_cat_onehot, .cat_max_set = o->max_cat_threshold},
      .learning_rate = o->learning_rate,
      .use = g->use,
      .hist_budget = o->hist_budget};
}

/* Why the first tree of head h has no split, where it can be known: the
 * constraint that no split of the root can meet. */
static void warn_no_split(const gfit_t *g, int h) {
  const gbdt_opts_t *o = g->o;
  const char *target = g->in->targets[h];
  double np = g->l.n_pos[h], nn = g->l.g_tr - np, wsum = g->w_pos[h] * np + g->w_neg[h] * nn;
  double p = g->w_pos[h] * np / wsum, hess = p * (1 - p) * wsum; /* the root's, at the weighted base rate */
  if (g->l.g_tr < 2.0 * (double)o->min_data)
    ps_warn("%s: no split of the first tree: %.0f training rows cannot make two leaves of --min-data-in-leaf %lld "
            "rows: the model is the base rate", target, g->l.g_tr, (long long)o->min_data);
  else if (hess < 2.0 * o->min_hess)
    ps_warn("%s: no split of the first tree: the training rows' Hessian sum %g cannot make two leaves of "
            "--min-sum-hessian %g: the model is the base rate", target, hess, o->min_hess);
  else if (o->min_gain > 0)
    ps_warn("%s: no split of the first tree gains more than --min-gain-to-split %g (or the features are constant, "
            "or every split leaves a leaf under --min-data-in-leaf %lld / --min-sum-hessian %g): the model is the "
            "base rate", target, o->min_gain, (long long)o->min_data, o->min_hess);
  else
    ps_warn("%s: no split of the first tree gains anything (constant features, or every split leaves a leaf under "
            "--min-data-in-leaf %lld / --min-sum-hessian %g): the model is the base rate", target,
            (long long)o->min_data, o->min_hess);
}

/* The rows tree t of head h sees (bagging): drawn by customer id. */
static void draw_bag(gfit_t *g, int h, int t) {
  const gbdt_opts_t *o = g->o;
  const ps_labeled_t *l = &g->l;
  int64_t round = o->bagging_freq > 0 ? t / o->bagging_freq : t;
  for (int64_t i = 0, r = 0; i < l->n; i++)
    if (l->train[i] == PS_ROW_TRAIN)
      g->bag[r++] = ps_rng_unif(o->seed, 13, (uint64_t)l->ids[i], ((uint64_t)h << 32) | (uint64_t)round) <
                    o->bagging_fraction;
}

/* Adds a grown tree t to head h: scores, importance; returns the validation loss. */
static double add_tree(gfit_t *g, int h, int t) {
  gbdt_fit_t *r = g->r;
  ps_forest_t *fo = &r->mdl.forest[h];
  const ps_labeled_t *l = &g->l;
  int64_t f = g->f;
  forest_add(fo, &g->tree);
  ps_forest_view_t v = forest_view(fo);
  if (g->bag && !g->be->grad) predict_split(&g->rows, &v, t, 0, l->n_tr, g->ztr); /* the rows out of the bag too */
  else g->be->add_leaves(g->be, g->tree.nleaves, g->tree.leaf_value, g->ztr);
  g->host_stale |= g->be->grad != NULL; /* the sums went to the device's scores only (every row, bagged or not) */
  predict_split(&g->rows, &v, t, 1, l->n_va, g->zva);
  for (int q = 0; q < g->tree.nleaves - 1; q++) {
    r->mdl.imp_gain[(size_t)h * (size_t)f + (size_t)g->tree.feature[q]] += g->tree.gain[q];
    r->mdl.imp_splits[(size_t)h * (size_t)f + (size_t)g->tree.feature[q]] += 1;
  }
  return l->g_va > 0 ? mean_logloss(g->zva, l->Yva, l->n_va, g->k, h, l->g_va) : NAN;
}

/* Quantized gradients of tree t of head h (--grad-bits) for the backend. */
static void quantize_tree(gfit_t *g, int h, int t, int64_t top[2]) {
  if (g->be->quant) { /* the words made on the device: top already all ranks' (be->grad) */
    gbdt_quant_steps_all(top, g->qmax, &g->gp.qg_step, &g->gp.qh_step);
    g->be->quant(g->be, g->ids_tr, g->o->seed, ((uint64_t)(uint32_t)h << 32) | (uint64_t)(uint32_t)t,
                 g->gp.qg_step, g->gp.qh_step, g->qmax);
    return;
  }
  gbdt_quantize_top(top, g->gq, g->hq, g->ids_tr, g->l.n_tr, g->qmax, g->o->seed, h, t, g->gh, &g->gp.qg_step,
                    &g->gp.qh_step);
  g->be->set_quant(g->be, g->gh, g->qmax);
}

/* Tree t's gradients of head h (on the device where the backend keeps the
 * scores), the rows given to the backend; returns the all-rank loss sum. */
static int64_t grad_tree(gfit_t *g, int h, int64_t top[2]) {
  const ps_labeled_t *l = &g->l;
  int64_t loss_q;
  if (g->be->grad) {
    if (g->dev_stale) g->be->set_scores(g->be, g->ztr, l->Ytr + h, g->k);
    g->dev_stale = 0;
    loss_q = g->be->grad(g->be, g->w_pos[h], g->w_neg[h], g->gp.split.scale, top); /* all ranks' sum, maxima */
  } else {
    loss_q = ps_gbdt_grad_q_cpu(g->ztr, l->Ytr + h, g->k, l->n_tr, g->w_pos[h], g->w_neg[h], g->gp.split.scale,
                                g->gq, g->hq, top);
    comm_allreduce_sum_i64(&loss_q, 1); /* the objective before this tree (free: the gradients' by-product) */
  }
  if (g->be->grad) g->be->begin_tree_dev(g->be, g->bag);
  else g->be->begin_tree(g->be, g->gq, g->hq, g->bag);
  return loss_q;
}

/* Tree t of head h: 0 grown, 1 the head is done (nothing to split), 2 stopped by a signal. */
static int tree_step(gfit_t *g, int h, int t, double t_fit) {
  const gbdt_opts_t *o = g->o;
  const ps_labeled_t *l = &g->l;
  gbdt_fit_t *r = g->r;
  ps_gbdt_state_t *st = &r->st;
  ps_fault_tick("tree");
  int sig = comm_agree_stop();
  int periodic = g->hk->every > 0 && g->rounds > 0 && g->rounds % g->hk->every == 0;
  if (sig || periodic) gbdt_ckpt_save(g->hk->ckpt, g->hk->fp, &r->mdl, st);
  if (sig) {
    g->hk->sig = sig;
    return 2;
  }
  g->rounds++;
  double tt = ps_now(), np = l->n_pos[h], nn = l->g_tr - np;
  if (g->bag) draw_bag(g, h, t);
  feature_mask(g->use, g->f, o->feature_fraction, o->seed, h, t);
  int64_t top[2]; /* the largest |g| and h: the quantization's steps */
  int64_t loss_q = grad_tree(g, h, top);
  double ltr = (double)loss_q / PS_GBDT_LOSS_SCALE / (g->w_pos[h] * np + g->w_neg[h] * nn);
  if (g->qmax) quantize_tree(g, h, t, top);
  r->t_grad += ps_now() - tt;
  grow_tree(g->be, &r->mdl.bins, &g->gp, &g->tree, &r->tm);
  if (g->tree.nleaves < 2 && t > 0) { /* nothing left to split: the forest is complete */
    ps_log("train: %-16s tree %d: no split gains (min data/Hessian/gain): stopping at %d trees", g->in->targets[h],
           t + 1, t);
    return 1;
  }
  if (g->tree.nleaves < 2) {
    warn_no_split(g, h);
    st->done[h] = 1;
  }
  tt = ps_now();
  double lva = add_tree(g, h, t);
  r->t_update += ps_now() - tt;
  double *row = st->trace[h] + 3 * st->trace_rows[h]++;
  row[0] = t + 1;
  row[1] = ltr; /* before the tree: the trace's train loss lags one tree */
  row[2] = lva;
  if (!(lva >= st->best_loss[h])) { /* improved (or no validation: every tree counts) */
    st->best_loss[h] = isnan(lva) ? st->best_loss[h] : lva;
    st->best[h] = t + 1;
  }
  ps_log("train: %-16s tree %3d  %2d leaves  objective %.6f  valid loss %.6f  %7.2fs", g->in->targets[h], t + 1,
         g->tree.nleaves, ltr, lva, ps_now() - t_fit);
  if (st->done[h]) return 1;
  if (o->early_stopping > 0 && l->g_va > 0 && t + 1 - st->best[h] >= o->early_stopping) {
    ps_log("train: %-16s early stop: no better validation loss in %d trees; keeping %lld", g->in->targets[h],
           o->early_stopping, (long long)st->best[h]);
    st->done[h] = 1;
  }
  return 0;
}

/* Head h's trees, from its start or from where a checkpoint left it; 1 if stopped. */
static int fit_head(gfit_t *g, int h, double t_fit) {
  gbdt_fit_t *r = g->r;
  ps_gbdt_state_t *st = &r->st;
  const ps_labeled_t *l = &g->l;
  ps_forest_t *fo = &r->mdl.forest[h];
  st->head = h;
  double np = l->n_pos[h], nn = l->g_tr - np;
  r->mdl.init_score[h] = log(g->w_pos[h] * np / (g->w_neg[h] * nn));
  g->gp.split.scale = grad_scale(l->g_tr, fmax(g->w_pos[h], g->w_neg[h]));
  for (int64_t i = 0; i < l->n_tr; i++) g->ztr[i] = r->mdl.init_score[h];
  for (int64_t i = 0; i < l->n_va; i++) g->zva[i] = r->mdl.init_score[h];
  if (fo->ntrees > 0) rescore(&r->mdl, h, &g->rows, l->n_tr, l->n_va, g->ztr, g->zva); /* resumed: the trees so far */
  g->dev_stale = 1;
  g->host_stale = 0;
  int64_t trees = g->o->head_trees ? g->o->head_trees[h] : g->o->trees;
  while (!st->done[h] && fo->ntrees < trees) {
    int s = tree_step(g, h, fo->ntrees, t_fit);
    if (s == 2) return 1;
    if (s == 1) {
      st->done[h] = 1;
      break;
    }
  }
  st->done[h] = 1;
  double tq = ps_now();
  if (g->host_stale) g->be->get_scores(g->be, g->ztr); /* once a head: the metrics' scores */
  g->host_stale = 0;
  if (g->o->early_stopping > 0 && l->g_va > 0 && st->best[h] > 0 && st->best[h] < fo->ntrees) {
    forest_truncate(fo, (int32_t)st->best[h]);
    rescore(&r->mdl, h, &g->rows, l->n_tr, l->n_va, g->ztr, g->zva);
  }
  st->best[h] = fo->ntrees;
  head_metrics(l, h, g->ztr, g->zva, &r->mtr[h], &r->mva[h]); /* the running scores are the final ones */
  r->t_metrics += ps_now() - tq;
  return 0;
}

static void free_work(gfit_t *g) {
  tree_free(&g->tree);
  free(g->ztr);
  free(g->zva);
  free(g->gq);
  free(g->hq);
  free(g->bag);
  free(g->use);
  free(g->gh);
  free(g->ids_tr);
  free(g->rows.Btr);
  free(g->rows.Bva);
  leafrows_free(g->rows.va);
  free(g->rows.Bbt);
  if (g->rows.sp) gbdt_csr_rows_free(g->rows.sp);
  free(g->rows.sp);
  bundles_free(&g->rows.bd);
  free(g->w_pos);
  free(g->w_neg);
  labels_free(&g->l);
  g->be->destroy(g->be);
}

gbdt_fit_t *gbdt_fit(const train_common_t *cm, const gbdt_opts_t *o, const train_input_t *in, train_hooks_t *hk,
                     int *rc) {
  gbdt_fit_t *r = ps_calloc(1, sizeof *r);
  gfit_t g = {.cm = cm, .o = o, .in = in, .hk = hk, .r = r, .k = in->k};
  g.be = gbdt_backend_create(cm->device);
  if (in->d->csr && !g.be->set_sparse)
    ps_die_all(PS_EXIT_USAGE, "train: GBDT on a CSR file (%s) trains on --device cpu only: the %s tree backend has no "
               "sparse histogram yet", in->d->path, g.be->name);
  load(&g);
  r->hist_cols = g.rows.Bbt ? g.rows.bd.nb : g.f;
  r->grad_bits = gbdt_grad_bits(o->grad_bits, g.l.g_tr, o->grad_bits_min_rows); /* g_tr: all ranks' */
  if (r->grad_bits && !g.be->hist_q) {
    if (o->grad_bits != 4)
      ps_die_all(PS_EXIT_USAGE, "train: --grad-bits %d is not on the %s backend yet: use --device cpu or --grad-bits "
                 "exact", r->grad_bits, g.be->name);
    r->grad_bits = 0; /* auto: exact where the backend has no quantized histograms */
  }
  g.qmax = gbdt_quant_qmax(r->grad_bits);
  if (o->grad_bits == 4)
    ps_log("train: --grad-bits auto: %s (%.0f training rows, --grad-bits-min-rows %lld)",
           r->grad_bits ? "quantized gradients" : "exact gradients", g.l.g_tr, (long long)o->grad_bits_min_rows);
  int resumed = start_state(&g);
  g.be->host_room = host_room(&g);
  g.be->set_rows(g.be, g.rows.Btr, g.l.n_tr, g.f, r->mdl.bins.bin_off, r->mdl.bins.total_bins, o->num_leaves);
  if (g.rows.Bbt) g.be->set_bundles(g.be, &g.rows.bd, g.rows.Bbt);
  if (g.rows.sp) g.be->set_sparse(g.be, &g.rows.sp->tr);
  alloc_work(&g);
  r->mtr = ps_calloc((size_t)g.k, sizeof(ps_metrics_t));
  r->mva = ps_calloc((size_t)g.k, sizeof(ps_metrics_t));
  double t_fit = ps_now();
  for (int h = 0; resumed && h < r->st.head; h++) { /* heads finished before a stop */
    double tq = ps_now();
    rescore(&r->mdl, h, &g.rows, g.l.n_tr, g.l.n_va, g.ztr, g.zva);
    head_metrics(&g.l, h, g.ztr, g.zva, &r->mtr[h], &r->mva[h]);
    r->t_metrics += ps_now() - tq;
  }
  for (int h = resumed ? r->st.head : 0; h < g.k && !g.stopped; h++) g.stopped = fit_head(&g, h, t_fit);
  r->t_fit = ps_now() - t_fit;
  free_work(&g);
  *rc = 0;
  if (!g.stopped) return r;
  hk->t_fit = r->t_fit;
  gbdt_fit_free(r);
  *rc = PS_EXIT_STOPPED;
  return NULL;
}

void gbdt_fit_free(gbdt_fit_t *r) {
  if (!r) return;
  for (int h = 0; h < r->mdl.k; h++) free(r->st.trace[h]);
  free(r->st.best);
  free(r->st.best_loss);
  free(r->st.done);
  free(r->st.trace);
  free(r->st.trace_rows);
  free(r->mtr);
  free(r->mva);
  free(r->n_pos);
  free(r->ratio);
  gbdt_model_free(&r->mdl);
  free(r);
}
