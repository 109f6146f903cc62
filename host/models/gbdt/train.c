/* train.c: training gradient-boosted trees end to end (train.h's
 * gbdt_train): labels and split (models/labels.c), cut points from a
 * sample of training rows (binning.c), every row binned once (1 byte a
 * value, resident), then per head: fixed-point gradients, trees grown
 * leaf-wise on histograms summed across ranks (grow.c), scores updated,
 * early stopping on the validation log-loss; checkpoints between trees;
 * metrics, the model file and the manifest. The model is the same bytes
 * for any rank count (integer histogram sums, P-independent sampling). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "common/psmath.h"
#include "core/fingerprint.h"
#include "core/parse.h"
#include "core/rng.h"
#include "core/signals.h"
#include "core/util.h"
#include "gbdt/gbdt_cpu.h"
#include "io/data.h"
#include "io/manifest.h"
#include "io/pipeline.h"
#include "models/gbdt/backend.h"
#include "models/gbdt/binning.h"
#include "models/gbdt/checkpoint.h"
#include "models/gbdt/grow.h"
#include "models/gbdt/model.h"
#include "models/labels.h"
#include "models/train.h"
#include "models/train_job.h"
#include "stats/metrics.h"


typedef struct {
  int64_t f;
  uint8_t *Btr, *Bva; /* binned rows of each split, [n][f] */
  float *sample;      /* sampled training rows for the cuts, [m][f] */
  int64_t m;
} binned_t;

/* Pass 1 reads the rows and keeps the binning sample (and rejects
 * non-finite values if asked); the cuts come from the sample; pass 2 bins. */
static void load_rows(ps_data_t *d, const ps_labeled_t *l, const gbdt_opts_t *o, int reject, ps_gbdt_backend_t *be,
                      ps_bins_t *bins, binned_t *r) {
  int64_t f = d->f;
  r->f = f;
  double rate = o->bin_sample >= l->g_tr ? 1.0 : (double)o->bin_sample / l->g_tr;
  int64_t br = h5_block_rows(4 * f, d->chunk_rows);
  ps_pipe_col_t in = {d->features, PS_F32, f};
  ps_pipe_spec_t spec = {"train", l->row0, l->n, br, 1, 0, &in, NULL, 0};
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
  int64_t acc = 0;
  for (int64_t i = 0; i < n; i++) {
    double loss, r;
    ps_loss_residual(z[i], Y[(size_t)i * (size_t)k + (size_t)h], 1.0, &loss, &r);
    acc += ps_gbdt_fix(loss < 64.0 ? loss : 64.0, PS_GBDT_LOSS_SCALE);
  }
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
    ps_gbdt_predict_bins_cpu(&v, t, r->Btr, r->f, NULL, ntr, ztr);
    ps_gbdt_predict_bins_cpu(&v, t, r->Bva, r->f, NULL, nva, zva);
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

int gbdt_train(const train_common_t *cm, const gbdt_opts_t *o) {
  char *ckpt, *manifest;
  train_job_outputs(cm, &ckpt, &manifest);
  ps_gbdt_backend_t *be = gbdt_backend_create(cm->device);
  manifest_device(be->name);
  double t0 = ps_now(), t_load = ps_now();

  ps_data_t d;
  int k;
  char **targets = train_job_targets(cm, &d, &k);
  double *w_pos = ps_malloc(sizeof(double) * (size_t)k), *w_neg = ps_malloc(sizeof(double) * (size_t)k);
  double *ratio = ps_malloc(sizeof(double) * (size_t)k);
  int *bal = ps_calloc((size_t)k, sizeof(int));
  ps_parse_per_target("--pos-weight", o->pos_weight, k, ratio, bal, 1e-6, 1e6); /* checked before any work */
  free(bal);

  ps_labeled_t l;
  labels_load(&d, targets, k, cm->holdout, cm->split_salt, &l);
  labels_class_weights(&l, o->pos_weight, w_pos, w_neg, ratio);
  int64_t f = d.f, mem_limit = train_job_mem_limit(cm);
  double need = (double)l.n * (double)f; /* bins: one byte a value */
  comm_allreduce_max_f64(&need, 1);
  if (mem_limit > 0 && need > (double)mem_limit)
    ps_die_all(PS_EXIT_ERROR,
               "%s: the binned rows need %.1f GiB on a rank, more than --host-mem-limit %.1f GiB: use more ranks "
               "(each holds rows/P) or raise the limit",
               cm->data, need / 1073741824.0, (double)mem_limit / 1073741824.0);
  if (be->device_memory > 0) { /* the GPU holds the training rows' bins, gradients and partition */
    int64_t gpu_limit = cm->gpu_mem_limit ? cm->gpu_mem_limit : be->device_memory;
    int64_t bin_rows = h5_block_rows(4 * f, d.chunk_rows); /* load_rows' blocks */
    if (bin_rows > l.n) bin_rows = l.n;
    double dneed = (double)be->device_bytes(l.n_tr, f, f * (PS_GBDT_MAX_BIN + 1), o->num_leaves, bin_rows);
    comm_allreduce_max_f64(&dneed, 1);
    if (dneed > (double)gpu_limit)
      ps_die_all(PS_EXIT_ERROR,
                 "%s: --device cuda: the binned training rows need %.1f MiB of GPU memory on a rank, more than "
                 "--gpu-mem-limit %.1f MiB: use more ranks (one GPU each), raise the limit, or --device cpu",
                 cm->data, dneed / 1048576.0, (double)gpu_limit / 1048576.0);
  }
  ps_gbdt_model_t mdl;
  gbdt_model_init(&mdl, f, k);
  mdl.feature_names = d.feature_names;
  mdl.targets = targets;
  mdl.holdout = cm->holdout;
  mdl.split_salt = cm->split_salt;
  binned_t rows;
  load_rows(&d, &l, o, cm->reject_nonfinite, be, &mdl.bins, &rows);
  t_load = ps_now() - t_load;
  ps_log("train: %lld rows x %lld features binned (%lld bins in all, %lld sampled rows) in %.2f s; %.0f train + "
         "%.0f validation rows, %d rank%s, gradient-boosted trees, device %s",
         (long long)d.n, (long long)f, (long long)mdl.bins.total_bins, (long long)rows.m, t_load, l.g_tr, l.g_va,
         ps_size, ps_size == 1 ? "" : "s", be->name);
  /* what this run is: a checkpoint of another run is refused */
  ps_fp_t fp;
  fp_init(&fp);
  fp_str(&fp, "model_type", "gbdt");
  fp_str(&fp, "version", PROPSCORE_VERSION);
  fp_file(&fp, "data", cm->data);
  for (int h = 0; h < k; h++) fp_str(&fp, "target", targets[h]);
  fp_num(&fp, "holdout", cm->holdout);
  fp_int(&fp, "salt", cm->split_salt);
  fp_str(&fp, "pos_weight", o->pos_weight);
  fp_int(&fp, "trees", o->trees);
  fp_int(&fp, "num_leaves", o->num_leaves);
  fp_int(&fp, "max_depth", o->max_depth);
  fp_int(&fp, "min_data", o->min_data);
  fp_int(&fp, "max_bin", o->max_bin);
  fp_int(&fp, "bin_sample", o->bin_sample);
  fp_num(&fp, "learning_rate", o->learning_rate);
  fp_num(&fp, "min_hess", o->min_hess);
  fp_num(&fp, "l2", o->l2);
  fp_num(&fp, "min_gain", o->min_gain);
  fp_num(&fp, "feature_fraction", o->feature_fraction);
  fp_num(&fp, "bagging_fraction", o->bagging_fraction);
  fp_int(&fp, "bagging_freq", o->bagging_freq);
  fp_int(&fp, "early_stopping", o->early_stopping);
  fp_int(&fp, "seed", (long long)o->seed);
  fp_int(&fp, "reject_nonfinite", cm->reject_nonfinite);

  ps_gbdt_state_t st = {0};
  st.best = ps_calloc((size_t)k, sizeof(int64_t));
  st.best_loss = ps_calloc((size_t)k, sizeof(double));
  st.done = ps_calloc((size_t)k, sizeof(int));
  st.trace = ps_calloc((size_t)k, sizeof(double *));
  st.trace_rows = ps_calloc((size_t)k, sizeof(int64_t));
  int resumed = gbdt_ckpt_load(ckpt, fp.s, &mdl, &st);
  for (int h = 0; h < k; h++) {
    st.trace[h] = ps_realloc(st.trace[h], sizeof(double) * 3 * (size_t)(o->trees + st.trace_rows[h] + 1));
    if (!resumed || h > st.head) st.best_loss[h] = INFINITY;
  }
  if (resumed) ps_log("train: resumed at head %s, tree %d from %s", targets[st.head], mdl.forest[st.head].ntrees, ckpt);
  be->set_rows(be, rows.Btr, l.n_tr, f, mdl.bins.bin_off, mdl.bins.total_bins, o->num_leaves);

  double *ztr = ps_malloc(sizeof(double) * (size_t)(l.n_tr + 1)), *zva = ps_malloc(sizeof(double) * (size_t)(l.n_va + 1));
  int64_t *gq = ps_malloc(sizeof(int64_t) * (size_t)(l.n_tr + 1)), *hq = ps_malloc(sizeof(int64_t) * (size_t)(l.n_tr + 1));
  uint8_t *bag = o->bagging_fraction < 1.0 ? ps_malloc((size_t)(l.n_tr + 1)) : NULL;
  uint8_t *use = ps_malloc((size_t)f);
  ps_tree_t tree;
  tree_alloc(&tree, o->num_leaves);
  ps_grow_times_t tm = {0};
  double t_grad = 0, t_update = 0, t_fit = ps_now();
  int stopped = 0, sig = 0;
  ps_grow_params_t gp = {o->num_leaves, o->max_depth, {o->l2, o->min_data, o->min_hess, o->min_gain, 1.0},
                         o->learning_rate, use, o->hist_budget};
  int rounds = 0;
  double t_metrics = 0;
  ps_metrics_t *mtr = ps_calloc((size_t)k, sizeof(ps_metrics_t)), *mva = ps_calloc((size_t)k, sizeof(ps_metrics_t));
  for (int h = 0; resumed && h < st.head; h++) { /* heads finished before a stop */
    double tq = ps_now();
    rescore(&mdl, h, &rows, l.n_tr, l.n_va, ztr, zva);
    head_metrics(&l, h, ztr, zva, &mtr[h], &mva[h]);
    t_metrics += ps_now() - tq;
  }
  for (int h = resumed ? st.head : 0; h < k && !stopped; h++) {
    st.head = h;
    ps_forest_t *fo = &mdl.forest[h];
    double np = l.n_pos[h], nn = l.g_tr - np;
    mdl.init_score[h] = log(w_pos[h] * np / (w_neg[h] * nn));
    gp.split.scale = grad_scale(l.g_tr, fmax(w_pos[h], w_neg[h]));
    for (int64_t i = 0; i < l.n_tr; i++) ztr[i] = mdl.init_score[h];
    for (int64_t i = 0; i < l.n_va; i++) zva[i] = mdl.init_score[h];
    if (fo->ntrees > 0) rescore(&mdl, h, &rows, l.n_tr, l.n_va, ztr, zva); /* resumed: the trees so far */
    ps_forest_view_t v = forest_view(fo);
    while (!st.done[h] && fo->ntrees < o->trees) {
      int t = fo->ntrees;
      ps_fault_tick("tree");
      sig = comm_agree_stop();
      int periodic = cm->checkpoint_every > 0 && rounds > 0 && rounds % cm->checkpoint_every == 0;
      if (sig || periodic) gbdt_ckpt_save(ckpt, fp.s, &mdl, &st);
      if (sig) {
        stopped = 1;
        break;
      }
      rounds++;
      double tt = ps_now();
      if (bag) {
        int64_t round = o->bagging_freq > 0 ? t / o->bagging_freq : t;
        for (int64_t i = 0, r = 0; i < l.n; i++)
          if (l.train[i] == PS_ROW_TRAIN) bag[r++] = ps_rng_unif(o->seed, 13, (uint64_t)l.ids[i], ((uint64_t)h << 32) | (uint64_t)round) <
                                     o->bagging_fraction;
      }
      feature_mask(use, f, o->feature_fraction, o->seed, h, t);
      int64_t loss_q = ps_gbdt_grad_cpu(ztr, l.Ytr + h, k, l.n_tr, w_pos[h], w_neg[h], gp.split.scale, gq, hq);
      comm_allreduce_sum_i64(&loss_q, 1); /* the objective before this tree (free: the gradients' by-product) */
      double ltr = (double)loss_q / PS_GBDT_LOSS_SCALE / (w_pos[h] * np + w_neg[h] * nn);
      t_grad += ps_now() - tt;
      be->begin_tree(be, gq, hq, bag);
      grow_tree(be, &mdl.bins, &gp, &tree, &tm);
      if (tree.nleaves < 2 && t > 0) { /* nothing left to split: the forest is complete */
        ps_log("train: %-16s tree %d: no split gains (min data/Hessian/gain): stopping at %d trees", targets[h], t + 1, t);
        st.done[h] = 1;
        break;
      }
      if (tree.nleaves < 2) {
        ps_warn("%s: no split of the first tree gains anything (constant features, or too few rows for "
                "--min-data-in-leaf %lld): the model is the base rate", targets[h], (long long)o->min_data);
        st.done[h] = 1;
      }
      tt = ps_now();
      forest_add(fo, &tree);
      v = forest_view(fo);
      if (bag) ps_gbdt_predict_bins_cpu(&v, t, rows.Btr, f, NULL, l.n_tr, ztr);
      else be->add_leaves(be, tree.nleaves, tree.leaf_value, ztr);
      ps_gbdt_predict_bins_cpu(&v, t, rows.Bva, f, NULL, l.n_va, zva);
      for (int q = 0; q < tree.nleaves - 1; q++) {
        mdl.imp_gain[(size_t)h * (size_t)f + (size_t)tree.feature[q]] += tree.gain[q];
        mdl.imp_splits[(size_t)h * (size_t)f + (size_t)tree.feature[q]] += 1;
      }
      double lva = l.g_va > 0 ? mean_logloss(zva, l.Yva, l.n_va, k, h, l.g_va) : NAN;
      t_update += ps_now() - tt;
      double *row = st.trace[h] + 3 * st.trace_rows[h]++;
      row[0] = t + 1;
      row[1] = ltr; /* before the tree: the trace's train loss lags one tree */
      row[2] = lva;
      if (!(lva >= st.best_loss[h])) { /* improved (or no validation: every tree counts) */
        st.best_loss[h] = isnan(lva) ? st.best_loss[h] : lva;
        st.best[h] = t + 1;
      }
      ps_log("train: %-16s tree %3d  %2d leaves  objective %.6f  valid loss %.6f  %7.2fs", targets[h], t + 1,
             tree.nleaves, ltr, lva, ps_now() - t_fit);
      if (st.done[h]) break;
      if (o->early_stopping > 0 && l.g_va > 0 && t + 1 - st.best[h] >= o->early_stopping) {
        ps_log("train: %-16s early stop: no better validation loss in %d trees; keeping %lld", targets[h],
               o->early_stopping, (long long)st.best[h]);
        st.done[h] = 1;
      }
    }
    if (stopped) break;
    st.done[h] = 1;
    double tq = ps_now();
    if (o->early_stopping > 0 && l.g_va > 0 && st.best[h] > 0 && st.best[h] < fo->ntrees) {
      forest_truncate(fo, (int32_t)st.best[h]);
      rescore(&mdl, h, &rows, l.n_tr, l.n_va, ztr, zva);
    }
    st.best[h] = fo->ntrees;
    head_metrics(&l, h, ztr, zva, &mtr[h], &mva[h]); /* the running scores are the final ones */
    t_metrics += ps_now() - tq;
  }
  t_fit = ps_now() - t_fit;
  int rc = 0;
  if (stopped) {
    train_job_stopped(sig, ckpt, t_fit);
    rc = PS_EXIT_STOPPED;
  } else {
    ps_log("train: phases: load+bin %.2f s, fit %.2f s (gradients %.2f, histograms %.2f, allreduce %.2f, split "
           "search %.2f, partition %.2f, scores %.2f), metrics %.2f s",
           t_load, t_fit, t_grad, tm.hist, tm.allreduce, tm.split, tm.partition, t_update, t_metrics);
    ps_gbdt_report_t rep = {cm->data, o->pos_weight, o->trees, o->num_leaves, o->max_depth, o->min_data, o->max_bin,
                            o->bagging_freq, o->early_stopping, (int64_t)o->seed, o->learning_rate, o->min_hess,
                            o->l2, o->min_gain, o->feature_fraction, o->bagging_fraction, l.g_tr, l.g_va, l.n_pos,
                            ratio, st.best, (const double *const *)st.trace, st.trace_rows, mtr,
                            l.g_va > 0 ? mva : NULL};
    if (ps_rank == 0) {
      gbdt_model_write(cm->model, &mdl, &rep);
      unlink(ckpt);
    }
    comm_barrier();
    manifest_input("data", cm->data, 0);
    manifest_output("model", cm->model);
    manifest_param_str("model_type", "gbdt");
    manifest_param_num("trees", o->trees);
    manifest_param_num("learning_rate", o->learning_rate);
    manifest_param_num("num_leaves", o->num_leaves);
    manifest_param_num("max_depth", o->max_depth);
    manifest_param_num("min_data_in_leaf", (double)o->min_data);
    manifest_param_num("max_bin", o->max_bin);
    manifest_param_num("lambda_l2", o->l2);
    manifest_param_num("feature_fraction", o->feature_fraction);
    manifest_param_num("bagging_fraction", o->bagging_fraction);
    manifest_param_num("early_stopping_rounds", o->early_stopping);
    manifest_param_str("pos_weight", o->pos_weight);
    manifest_param_num("holdout", cm->holdout);
    manifest_param_num("split_salt", (double)cm->split_salt);
    manifest_phase("load_bin", t_load);
    manifest_phase("fit", t_fit);
    manifest_phase("fit_histograms", tm.hist);
    manifest_phase("fit_allreduce", tm.allreduce);
    manifest_phase("fit_split_search", tm.split);
    manifest_phase("fit_partition", tm.partition);
    manifest_phase("metrics", t_metrics);
    cJSON *mj = manifest_metrics();
    for (int h = 0; h < k; h++) {
      if (mj) {
        cJSON *jo = cJSON_AddObjectToObject(mj, targets[h]);
        cJSON_AddNumberToObject(jo, "trees", mdl.forest[h].ntrees);
        train_job_manifest_metrics(jo, &mtr[h], l.g_va > 0 ? &mva[h] : NULL);
      }
      if (l.g_va > 0)
        ps_out("train: %-16s %3d trees  train AUC %.4f log-loss %.5f | valid AUC %.4f log-loss %.5f", targets[h],
               mdl.forest[h].ntrees, mtr[h].auc, mtr[h].logloss, mva[h].auc, mva[h].logloss);
      else
        ps_out("train: %-16s %3d trees  train AUC %.4f log-loss %.5f", targets[h], mdl.forest[h].ntrees, mtr[h].auc,
               mtr[h].logloss);
      /* the features that matter most, by total split gain */
      char top[512] = "";
      const double *gain = mdl.imp_gain + (size_t)h * (size_t)f;
      uint8_t *shown = ps_calloc((size_t)f, 1);
      for (int q = 0; q < 5; q++) {
        int64_t best = -1;
        for (int64_t j = 0; j < f; j++)
          if (!shown[j] && gain[j] > 0 && (best < 0 || gain[j] > gain[best])) best = j;
        if (best < 0) break;
        shown[best] = 1;
        size_t len = strlen(top);
        snprintf(top + len, sizeof top - len, "%s%s", q ? ", " : "", d.feature_names[best]);
      }
      free(shown);
      ps_log("train: %-16s top features by gain: %s", targets[h], top[0] ? top : "(none)");
    }
    ps_out("train: wrote %s (%d head%s, gradient-boosted trees) in %.2f s", cm->model, k, k == 1 ? "" : "s",
           ps_now() - t0);
    manifest_finish(0, NULL);
  }
  free(mtr);
  free(mva);
  tree_free(&tree);
  free(ztr); free(zva); free(gq); free(hq); free(bag); free(use);
  for (int h = 0; h < k; h++) free(st.trace[h]);
  free(st.best); free(st.best_loss); free(st.done); free(st.trace); free(st.trace_rows);
  free(rows.Btr);
  free(rows.Bva);
  gbdt_model_free(&mdl);
  free(w_pos); free(w_neg); free(ratio);
  fp_free(&fp);
  free(ckpt);
  free(manifest);
  ps_free_strv(targets);
  labels_free(&l);
  data_close(&d);
  be->destroy(be);
  return rc;
}
