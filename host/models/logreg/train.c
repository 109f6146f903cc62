/* train.c: multi-head logistic regression fitted in memory (train.h's
 * logreg_fit): rows loaded and prepared (trainset.c), every head fitted in
 * the same passes (fit.c) with checkpoints (checkpoint.c, through the
 * hooks), metrics on both splits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/fingerprint.h"
#include "core/parse.h"
#include "core/util.h"
#include "io/data.h"
#include "models/logreg/backend.h"
#include "models/logreg/checkpoint.h"
#include "models/logreg/csr_backend.h"
#include "models/logreg/fit.h"
#include "models/logreg/l1_weights.h"
#include "models/logreg/model.h"
#include "models/logreg/train_csr.h"
#include "models/logreg/trainset.h"
#include "models/logreg/train.h"
#include "stats/metrics.h"

#define NEWTON_AUTO_MAX 32 /* --solver auto: Newton up to this many model columns */
#define NEWTON_MAX 4096    /* beyond this the Hessian (c^2 per head) is refused */

typedef struct {
  ps_backend_t *b;
  ps_trainset_t *ts;
  const double *w_pos, *w_neg;
  int dev_resident;
  double *loss, *grad, *hess; /* one grid block's sums (exact passes) */
  struct csr_dev *csr_dev;    /* CSR rows on the GPU (csr_backend.h) */
  ps_backend_t *cpu;          /* dense rows on the GPU with exact sums: the CPU twin's Hessians and predictions */
} train_ctx_t;

/* The backend of the exact passes over host rows: the CPU's (eval_block). */
static ps_backend_t *exact_backend(const train_ctx_t *t) { return t->cpu ? t->cpu : t->b; }

/* Exact passes (the CPU backend): the training rows X, Y of grid blocks
 * [g0, g1) (ts->grid_ntr rows each), each grid block summed alone by the
 * backend and its sums added exactly (fit.h). A grid block's rows are the
 * same on every rank count, and so are its sums: the total does not depend
 * on where the ranks' rows begin and end. */
static void add_grid_blocks(train_ctx_t *t, const uint8_t *hmask, const float *X,
                            const uint8_t *Y, int64_t g0, int64_t g1, int64_t *acc) {
  ps_trainset_t *ts = t->ts;
  int64_t c = ts->c;
  int k = ts->k;
  for (int64_t g = g0; g < g1 && g < ts->n_grid; g++) {
    int64_t m = ts->grid_ntr[g];
    if (m == 0) continue;
    exact_backend(t)->eval_block(exact_backend(t), X, Y, m, t->loss, t->grad, hmask ? t->hess : NULL);
    fit_sums_add(acc, c, k, hmask, t->loss, t->grad, hmask ? t->hess : NULL);
    X += (size_t)m * (size_t)c;
    Y += (size_t)m * (size_t)k;
  }
}

/* eval_begin .. eval_end around grid blocks (the sums of eval_end are not used). */
static void exact_begin(train_ctx_t *t, const double *theta, const uint8_t *hmask) {
  int64_t c1 = t->ts->c + 1;
  if (hmask && !t->hess) t->hess = ps_malloc(sizeof(double) * (size_t)t->ts->k * (size_t)(c1 * c1));
  exact_backend(t)->eval_begin(exact_backend(t), theta, t->ts->c, t->ts->k, t->w_pos, t->w_neg, hmask);
}

static void exact_end(train_ctx_t *t, const uint8_t *hmask) {
  exact_backend(t)->eval_end(exact_backend(t), t->loss, t->grad, hmask ? t->hess : NULL);
}

static void pass_exact_resident(void *ctx, const double *theta, const uint8_t *hmask, int64_t *acc) {
  train_ctx_t *t = ctx;
  exact_begin(t, theta, hmask);
  add_grid_blocks(t, hmask, t->ts->Xtr, t->ts->Ytr, 0, t->ts->n_grid, acc);
  exact_end(t, hmask);
}

static void pass_exact_streamed(void *ctx, const double *theta, const uint8_t *hmask, int64_t *acc) {
  train_ctx_t *t = ctx;
  const float *Xtr, *Xva;
  const uint8_t *Ytr, *Yva;
  int64_t ntr, nva;
  exact_begin(t, theta, hmask);
  trainset_rewind(t->ts);
  while (trainset_next(t->ts, &Xtr, &Ytr, &ntr, &Xva, &Yva, &nva))
    add_grid_blocks(t, hmask, Xtr, Ytr, t->ts->blk_g0, t->ts->blk_g1, acc);
  exact_end(t, hmask);
}

/* One pass over resident rows (on the device or in host memory). */
static void pass_resident(void *ctx, const double *theta, double *loss, double *grad, double *hess,
                          const uint8_t *hmask) {
  train_ctx_t *t = ctx;
  t->b->eval(t->b, theta, loss, grad, hess, hmask);
}

/* Rows that stream from the file: every pass reads them again. */
static void pass_streamed(void *ctx, const double *theta, double *loss, double *grad, double *hess,
                          const uint8_t *hmask) {
  train_ctx_t *t = ctx;
  const float *Xtr, *Xva;
  const uint8_t *Ytr, *Yva;
  int64_t ntr, nva;
  t->b->eval_begin(t->b, theta, t->ts->c, t->ts->k, t->w_pos, t->w_neg, hess ? hmask : NULL);
  trainset_rewind(t->ts);
  while (trainset_next(t->ts, &Xtr, &Ytr, &ntr, &Xva, &Yva, &nva)) t->b->eval_rows(t->b, Xtr, Ytr, ntr);
  t->b->eval_end(t->b, loss, grad, hess);
}

/* Host-resident rows that do not fit the GPU: blocks of them every pass. */
static void pass_host_blocks(void *ctx, const double *theta, double *loss, double *grad, double *hess,
                             const uint8_t *hmask) {
  train_ctx_t *t = ctx;
  ps_trainset_t *ts = t->ts;
  const int64_t br = (int64_t)1 << 20;
  t->b->eval_begin(t->b, theta, ts->c, ts->k, t->w_pos, t->w_neg, hess ? hmask : NULL);
  for (int64_t i = 0; i < ts->n_tr; i += br)
    t->b->eval_rows(t->b, ts->Xtr + (size_t)i * (size_t)ts->c, ts->Ytr + (size_t)i * (size_t)ts->k,
                    ts->n_tr - i < br ? ts->n_tr - i : br);
  t->b->eval_end(t->b, loss, grad, hess);
}

/* CSR rows (trainset_csr.c): the passes of train_csr.c, on the CPU. */
static void pass_csr(void *ctx, const double *theta, double *loss, double *grad, double *hess, const uint8_t *hmask) {
  train_ctx_t *t = ctx;
  train_csr_pass(t->ts, theta, t->w_pos, t->w_neg, loss, grad, hess, hmask);
}

static void pass_csr_exact(void *ctx, const double *theta, const uint8_t *hmask, int64_t *acc) {
  train_ctx_t *t = ctx;
#ifdef PROPSCORE_HAVE_CUDA
  if (t->csr_dev && !hmask) { /* the GPU's sums are the CPU twin's; Newton's Hessians stay on the CPU */
    csr_dev_pass_exact(t->csr_dev, theta, acc);
    return;
  }
#endif
  train_csr_pass_exact(t->ts, theta, t->w_pos, t->w_neg, hmask, acc);
}

#ifdef PROPSCORE_HAVE_CUDA
/* Dense rows on the GPU, exact: the device's sums are the CPU twin's; Newton's Hessians on the CPU twin. */
static void pass_dev_exact(void *ctx, const double *theta, const uint8_t *hmask, int64_t *acc) {
  train_ctx_t *t = ctx;
  if (hmask) pass_exact_resident(ctx, theta, hmask, acc);
  else csr_dev_pass_exact(t->csr_dev, theta, acc);
}
#endif

/* Probabilities of every training and validation row (head-major). */
static void predict_splits(train_ctx_t *t, const double *theta, float *Ptr, float *Pva) {
  ps_trainset_t *ts = t->ts;
  int k = ts->k;
  if (ts->csr) {
    train_csr_predict(ts, theta, Ptr, Pva);
    return;
  }
  if (t->cpu) { /* exact sums on the device: the CPU's predictions too (the model's metrics) */
    t->cpu->predict_std(t->cpu, theta, k, ts->Xtr, ts->n_tr, ts->c, Ptr);
    t->cpu->predict_std(t->cpu, theta, k, ts->Xva, ts->n_va, ts->c, Pva);
    return;
  }
  if (!ts->streamed) {
    if (t->dev_resident) t->b->predict_train(t->b, theta, Ptr); /* the rows already there */
    else t->b->predict_std(t->b, theta, k, ts->Xtr, ts->n_tr, ts->c, Ptr);
    t->b->predict_std(t->b, theta, k, ts->Xva, ts->n_va, ts->c, Pva);
    return;
  }
  const float *Xtr, *Xva;
  const uint8_t *Ytr, *Yva;
  int64_t ntr, nva, otr = 0, ova = 0;
  float *tmp = ps_malloc(sizeof(float) * (size_t)k * (size_t)ts->block_rows);
  trainset_rewind(ts);
  while (trainset_next(ts, &Xtr, &Ytr, &ntr, &Xva, &Yva, &nva)) {
    t->b->predict_std(t->b, theta, k, Xtr, ntr, ts->c, tmp);
    for (int h = 0; h < k; h++)
      memcpy(Ptr + (size_t)h * (size_t)ts->n_tr + (size_t)otr, tmp + (size_t)h * (size_t)ntr,
             sizeof(float) * (size_t)ntr);
    t->b->predict_std(t->b, theta, k, Xva, nva, ts->c, tmp);
    for (int h = 0; h < k; h++)
      memcpy(Pva + (size_t)h * (size_t)ts->n_va + (size_t)ova, tmp + (size_t)h * (size_t)nva,
             sizeof(float) * (size_t)nva);
    otr += ntr;
    ova += nva;
  }
  free(tmp);
}

/* One fit's working state. */
typedef struct {
  const train_common_t *cm;
  const logreg_opts_t *o;
  const train_input_t *in;
  train_hooks_t *hk;
  logreg_fit_t *r;
  ps_trainset_t ts;
  train_ctx_t tc;
  double *w_pos, *w_neg, *wsum, *theta;
  ps_model_t l1w_model; /* --l1-weights' first fit (read before the rows) */
  char *l1w_fp;         /* its part of the checkpoint fingerprint, or NULL */
} lfit_t;

/* Rows loaded and prepared; the solver (--solver auto: Newton up to
 * NEWTON_AUTO_MAX columns). */
static void load(lfit_t *g) {
  const train_common_t *cm = g->cm;
  logreg_fit_t *r = g->r;
  int k = g->in->k;
  r->t_load = ps_now();
  int64_t mem_limit = train_job_mem_limit(cm);
  if (mem_limit <= 0) mem_limit = (int64_t)4 << 30;
  r->mem_limit = mem_limit;
  trainset_load(g->in->d, g->in->targets, k, cm->holdout, cm->split_salt, g->in->keep, g->o->missing_indicators,
                cm->reject_nonfinite, mem_limit, g->o->standardize == 1, &g->ts);
  r->t_load = ps_now() - r->t_load;
  int64_t cols = g->ts.c, c1 = cols + 1;
  r->newton = g->o->solver == PS_SOLVER_NEWTON ||
              (g->o->solver == PS_SOLVER_AUTO && cols <= NEWTON_AUTO_MAX && !r->any_l1);
  if (r->newton && cols > NEWTON_MAX)
    ps_die_all(PS_EXIT_USAGE, "--solver newton: %lld columns need a %lld x %lld Hessian per head; above %d use lbfgs",
               (long long)cols, (long long)c1, (long long)c1, NEWTON_MAX);
  r->streamed = g->ts.streamed;
  r->g_tr = g->ts.g_tr;
  r->g_va = g->ts.g_va;
  r->n_pos = ps_malloc(sizeof(double) * (size_t)k);
  memcpy(r->n_pos, g->ts.n_pos, sizeof(double) * (size_t)k);
}

/* Class weights and the start point: bias at the weighted base rate. */
static void start_point(lfit_t *g) {
  ps_trainset_t *ts = &g->ts;
  int k = ts->k;
  int64_t cols = ts->c, c1 = cols + 1;
  g->w_pos = ps_malloc(sizeof(double) * (size_t)k);
  g->w_neg = ps_malloc(sizeof(double) * (size_t)k);
  g->wsum = ps_malloc(sizeof(double) * (size_t)k);
  g->theta = ps_calloc((size_t)(k * c1), sizeof(double));
  labels_class_weights(&ts->lab, g->cm->pos_weight, g->w_pos, g->w_neg, g->r->pw);
  for (int h = 0; h < k; h++) {
    double np = ts->n_pos[h], nn = ts->g_tr - np;
    g->wsum[h] = g->w_pos[h] * np + g->w_neg[h] * nn;
    g->theta[h * c1 + cols] = log(g->w_pos[h] * np / (g->w_neg[h] * nn));
    ps_log("train: head %-16s %.0f positives of %.0f training rows (%.3f%%), positive weight %g", g->in->targets[h],
           np, ts->g_tr, 100.0 * np / ts->g_tr, g->r->pw[h]);
  }
  ps_log("train: %lld model columns (%lld input%s), %.0f train + %.0f validation rows, %d rank%s, solver %s, "
         "device %s",
         (long long)cols, (long long)ts->f, g->o->missing_indicators ? " + missing indicators" : "", ts->g_tr,
         ts->g_va, ps_size, ps_size == 1 ? "" : "s", g->r->newton ? "newton" : "lbfgs", g->tc.b->name);
}

/* Where the rows live (the device if they fit there: the same decision on
 * every rank) and the pass over them. */
static fit_pass_t choose_pass(lfit_t *g) {
  ps_trainset_t *ts = &g->ts;
  train_ctx_t *tc = &g->tc;
  ps_backend_t *b = tc->b;
  int k = ts->k, fast = g->o->gpu_sums == 1; /* --gpu-sums fast: grad.cu's sums (no effect on the CPU) */
  *tc = (train_ctx_t){.b = b, .ts = ts, .w_pos = g->w_pos, .w_neg = g->w_neg};
  tc->loss = ps_malloc(sizeof(double) * (size_t)k);
  tc->grad = ps_malloc(sizeof(double) * (size_t)k * (size_t)(ts->c + 1));
  if (ts->csr) {
#ifdef PROPSCORE_HAVE_CUDA
    if (!strcmp(b->name, "cuda") && !ts->streamed) tc->csr_dev = csr_dev_create(ts, g->w_pos, g->w_neg);
    if (!strcmp(b->name, "cuda") && ts->streamed) ps_log("train: streamed CSR rows are summed on the CPU");
#endif
    if (fast && !b->eval_block) ps_log("train: --gpu-sums fast: CSR rows keep their exact sums (CSR = dense)");
    return (fit_pass_t){.fn = pass_csr, .ctx = tc, .fn_exact = pass_csr_exact};
  }
  int64_t gpu_limit = g->cm->gpu_mem_limit ? g->cm->gpu_mem_limit : b->device_memory;
  g->r->gpu_limit = gpu_limit;
  double dev_need = (double)ts->n_tr * (double)ts->c * (!strcmp(g->o->x_dtype, "bf16") ? 2.0 : 4.0);
  comm_allreduce_max_f64(&dev_need, 1);
  tc->dev_resident = !ts->streamed && (b->device_memory == 0 || dev_need <= (double)gpu_limit);
#ifdef PROPSCORE_HAVE_CUDA
  /* float32 rows resident on the GPU: the exact block sums there (the CPU's model bytes, any P) */
  if (tc->dev_resident && !b->eval_block && !fast && !strcmp(g->o->x_dtype, "f32") && k <= csr_dev_max_heads()) {
    tc->cpu = backend_cpu_create();
    tc->csr_dev = csr_dev_create_dense(ts, g->w_pos, g->w_neg);
    return (fit_pass_t){.fn = pass_host_blocks, .ctx = tc, .fn_exact = pass_dev_exact};
  }
#endif
  if (tc->dev_resident) b->set_train(b, ts->Xtr, ts->Ytr, ts->n_tr, ts->c, k, g->w_pos, g->w_neg);
  fit_pass_t pass = {.fn = ts->streamed ? pass_streamed : tc->dev_resident ? pass_resident : pass_host_blocks,
                     .ctx = tc};
  /* the CPU backend sums grid block by grid block: the same model for any rank count */
  if (b->eval_block) pass.fn_exact = ts->streamed ? pass_exact_streamed : pass_exact_resident;
  if (fast && !b->eval_block)
    ps_log("train: --gpu-sums fast: grad.cu's sums, Newton's Hessians on the device (last bits depend on P)");
  if (!ts->streamed && !tc->dev_resident)
    ps_log("train: rows exceed --gpu-mem-limit %.0f MiB: they go up to the GPU in blocks every pass",
           (double)gpu_limit / 1048576.0);
  return pass;
}

/* Metrics on both splits (unweighted log-loss, as scikit-learn's log_loss). */
static void split_metrics(lfit_t *g) {
  ps_trainset_t *ts = &g->ts;
  logreg_fit_t *r = g->r;
  int k = ts->k;
  double t_metrics = ps_now();
  r->mtr = ps_calloc((size_t)k, sizeof(ps_metrics_t));
  r->mva = ps_calloc((size_t)k, sizeof(ps_metrics_t));
  /* The predictions, then the metrics' keys in their place; in the
   * resident matrix's unused tail when it has room (memory already
   * touched: fresh pages can cost more than this whole phase). */
  size_t ntr = (size_t)k * (size_t)(ts->n_tr + 1), nva = (size_t)k * (size_t)(ts->n_va + 1);
  int spare = ts->spare_floats >= ntr + nva;
  float *Ptr = spare ? ts->spare : ps_malloc(sizeof(float) * ntr);
  float *Pva = spare ? ts->spare + ntr : ps_malloc(sizeof(float) * nva);
  if (spare) metrics_lend(ts->spare + ntr + nva, sizeof(float) * (ts->spare_floats - ntr - nva));
  predict_splits(&g->tc, g->theta, Ptr, Pva);
  for (int h = 0; h < k; h++) {
    uint8_t *y = labels_head(ts->Ytr, ts->n_tr, k, h);
    metrics_compute_in(Ptr + (size_t)h * (size_t)ts->n_tr, y, NULL, ts->n_tr, &r->mtr[h]);
    free(y);
    if (ts->g_va > 0) {
      y = labels_head(ts->Yva, ts->n_va, k, h);
      metrics_compute_in(Pva + (size_t)h * (size_t)ts->n_va, y, NULL, ts->n_va, &r->mva[h]);
      free(y);
    }
  }
  metrics_release();
  if (!spare) {
    free(Ptr);
    free(Pva);
  }
  r->t_metrics = ps_now() - t_metrics;
  ps_log("train: phases: load+prepare %.2f s, fit %.2f s, metrics %.2f s", r->t_load, r->t_fit, r->t_metrics);
}

/* The fitted model in r (the columns moved out of the training set). */
static void keep_model(lfit_t *g) {
  logreg_fit_t *r = g->r;
  ps_trainset_t *ts = &g->ts;
  r->cols = ts->cols;
  memset(&ts->cols, 0, sizeof ts->cols);
  r->mdl = (ps_model_t){.f = ts->f, .c = ts->c, .k = ts->k, .feature_names = g->in->d->feature_names,
                        .targets = g->in->targets, .src = r->cols.src, .kind = r->cols.kind, .mean = r->cols.mean,
                        .scale = r->cols.scale, .theta = g->theta, .holdout = g->cm->holdout,
                        .split_salt = g->cm->split_salt};
  g->theta = NULL;
  for (int h = 0; h < ts->k; h++) r->failed |= r->traces[h].status == PS_LSFAIL && r->traces[h].rows <= 1;
}

/* The optimizer over every head, checkpointed through the hooks; 1 if stopped. */
static int run_fit(lfit_t *g, fit_pass_t pass) {
  logreg_fit_t *r = g->r;
  int k = g->ts.k;
  fit_opts_t fo = {.method = r->newton ? PS_OPT_NEWTON : PS_OPT_LBFGS, .m = g->o->lbfgs_m,
                   .max_iter = g->o->max_iter, .tol = g->o->tol, .ftol = g->o->ftol, .l2 = r->l2, .wsum = g->wsum,
                   .dead = g->ts.cols.dead, .names = g->in->targets, .l1 = r->any_l1 ? r->l1 : NULL,
                   .l1w = r->l1w};
  r->traces = ps_calloc((size_t)k, sizeof(fit_trace_t));
  /* what this fit is: a checkpoint of any other run is refused on resume */
  char *fp = ps_sprintf("%s;ranks=%d;device=%s;solver_used=%s%s", g->hk->fp, ps_size, g->tc.b->name,
                        r->newton ? "newton" : "lbfgs", g->l1w_fp ? g->l1w_fp : "");
  ckpt_ctx_t cc = {.path = g->hk->ckpt, .fingerprint = fp};
  fit_ckpt_t ck = {.save = ckpt_save, .load = ckpt_load, .ctx = &cc, .every = g->hk->every, .where = g->hk->ckpt};
  r->t_fit = ps_now();
  int rc = fit_heads(pass, g->ts.c, k, &fo, g->theta, r->traces, &ck);
  r->t_fit = ps_now() - r->t_fit;
  free(fp);
  return rc == PS_EXIT_STOPPED;
}

/* --l1-weights: the file read and checked before any work (l1w_start), its
 * factors once the columns are known (l1w_finish). */
static void l1w_start(lfit_t *g) {
  const logreg_opts_t *o = g->o;
  if (!o->l1_weights) return;
  if (!g->r->any_l1) ps_die_all(PS_EXIT_USAGE, "--l1-weights needs --l1 > 0 (the strength its factors multiply)");
  l1w_read(o->l1_weights, &g->l1w_model);
  ps_fp_t fp;
  fp_init(&fp);
  fp_file(&fp, "l1_weights", o->l1_weights);
  fp_num(&fp, "l1_gamma", o->l1_gamma);
  g->l1w_fp = ps_sprintf(";%s", fp.s);
  fp_free(&fp);
}

static void l1w_finish(lfit_t *g) {
  if (!g->o->l1_weights) return;
  g->r->l1w = l1w_factors(&g->l1w_model, g->o->l1_weights, g->in->d->feature_names, g->ts.f, &g->ts.cols,
                          g->in->targets, g->in->k, g->o->l1_gamma);
  logreg_model_free(&g->l1w_model);
}

logreg_fit_t *logreg_fit(const train_common_t *cm, const logreg_opts_t *o, const train_input_t *in,
                         train_hooks_t *hk, int *rc) {
  logreg_fit_t *r = ps_calloc(1, sizeof *r);
  lfit_t g = {.cm = cm, .o = o, .in = in, .hk = hk, .r = r};
  r->mdl.k = in->k;
  g.tc.b = logreg_backend_create(cm->device, o->x_dtype);
  r->device = ps_strdup(g.tc.b->name);
  int k = in->k;
  r->l2 = ps_malloc(sizeof(double) * (size_t)k);
  r->pw = ps_malloc(sizeof(double) * (size_t)k);
  int *bal = ps_calloc((size_t)k, sizeof(int));
  ps_parse_per_target("--l2", o->l2, k, r->l2, NULL, 0.0, 1e6);
  ps_parse_per_target("--pos-weight", cm->pos_weight, k, r->pw, bal, 1e-6, 1e6); /* checked before any work */
  free(bal);
  r->l1 = ps_malloc(sizeof(double) * (size_t)k);
  ps_parse_per_target("--l1", o->l1 ? o->l1 : "0", k, r->l1, NULL, 0.0, 10.0);
  for (int h = 0; h < k; h++) r->any_l1 |= r->l1[h] > 0;
  if (r->any_l1 && o->solver == PS_SOLVER_NEWTON)
    ps_die_all(PS_EXIT_USAGE, "--l1 needs the L-BFGS solver (OWL-QN): leave out --solver newton");
  l1w_start(&g);
  load(&g);
  l1w_finish(&g);
  start_point(&g);
  fit_pass_t pass = choose_pass(&g);
  int stopped = run_fit(&g, pass);
  if (stopped) {
    hk->sig = comm_agree_stop();
    hk->t_fit = r->t_fit;
  } else {
    split_metrics(&g);
    keep_model(&g);
  }
  free(g.tc.loss);
  free(g.tc.grad);
  free(g.tc.hess);
#ifdef PROPSCORE_HAVE_CUDA
  csr_dev_free(g.tc.csr_dev);
#endif
  if (g.tc.cpu) g.tc.cpu->destroy(g.tc.cpu);
  free(g.theta);
  free(g.w_pos);
  free(g.w_neg);
  free(g.wsum);
  free(g.l1w_fp);
  trainset_free(&g.ts);
  g.tc.b->destroy(g.tc.b);
  *rc = stopped ? PS_EXIT_STOPPED : r->failed ? PS_EXIT_ERROR : 0;
  if (!stopped) return r;
  logreg_fit_free(r);
  return NULL;
}

void logreg_fit_free(logreg_fit_t *r) {
  if (!r) return;
  for (int h = 0; r->traces && h < r->mdl.k; h++) free(r->traces[h].data);
  free(r->traces);
  free(r->mtr);
  free(r->mva);
  free(r->l2);
  free(r->l1);
  free(r->l1w);
  free(r->pw);
  free(r->n_pos);
  free(r->device);
  free(r->mdl.theta);
  prepare_free(&r->cols);
  free(r);
}
