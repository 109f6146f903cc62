/* cmd_train.c: `propscore train` -- multi-head logistic regression on the
 * rows of an HDF5 feature file, every head trained in the same passes. */
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cmds.h"
#include "comm.h"
#include "fit.h"
#include "h5io.h"
#include "manifest.h"
#include "metrics.h"
#include "model.h"
#include "signals.h"
#include "trainset.h"
#include "util.h"

#define NEWTON_AUTO_MAX 32    /* --solver auto: Newton up to this many model columns */
#define NEWTON_MAX 4096       /* beyond this the Hessian (c^2 per head) is refused */
#define DEFAULT_SALT 0x5eed

static const char *USAGE =
    "usage: propscore train --data FILE.h5 --model MODEL.h5 [options]\n"
    "\n"
    "Fit one logistic-regression head per target, all heads in one pass over the\n"
    "data per iteration. Objective per head: class-weighted mean log-loss +\n"
    "l2/2 * ||w||^2 on standardized columns (bias not penalized).\n"
    "  --data FILE          feature file (datasets/SCHEMA.md) with /labels/<target>\n"
    "  --model FILE         output model (temporary name, renamed when complete)\n"
    "  --targets a,b        heads to train (default: every /labels/<target>)\n"
    "  --l2 X[,X...]        L2 strength, one value or one per target (default 1e-4);\n"
    "                       equals scikit-learn's C = 1/(l2 * n_train)\n"
    "  --pos-weight W       weight of positive rows: a number or 'balanced', one value\n"
    "                       or one per target (default 1)\n"
    "  --solver S           auto|lbfgs|newton (default auto: newton up to 32 columns)\n"
    "  --holdout F          validation fraction, split by a hash of customer_id (default 0.2)\n"
    "  --split-salt N       salt of that hash (default 24557)\n"
    "  --max-iter N         iterations per head (default 500)\n"
    "  --tol X              stop when the gradient inf-norm <= X (default 1e-7)\n"
    "  --ftol X             stop when the relative loss change <= X (default 1e-12)\n"
    "  --lbfgs-m N          L-BFGS memory pairs (default 10, at most 64)\n"
    "  --missing-indicators add a 0/1 'was missing' column for each column with NaN\n"
    "  --device D           cpu|cuda|auto (default auto: cuda when every rank sees a GPU)\n"
    "  --x-dtype T          f32|bf16: GPU storage of the resident rows (default f32; bf16\n"
    "                       halves memory and traffic, sums stay float64)\n"
    "  --checkpoint FILE    optimizer state on SIGTERM/SIGUSR1 (default MODEL.ckpt); a rerun\n"
    "                       of the same command resumes from it, bitwise as if never stopped\n"
    "  --checkpoint-every N also write the checkpoint every N passes (default 0: on signals only)\n"
    "  --nonfinite P        impute|reject NaN/Inf features (default impute: by the training mean)\n"
    "  --host-mem-limit S   feature rows a rank may hold (e.g. 8G); above it rows stream from the\n"
    "                       file every pass, same model bitwise (default: 60%% of available\n"
    "                       memory shared by the node's ranks). Labels, the split and the exact\n"
    "                       metrics add about 70 bytes a row beyond it\n"
    "  --gpu-mem-limit S    device memory for resident rows (default 80%% of the free memory);\n"
    "                       above it rows go up to the GPU block by block every pass\n"
    "  --quiet              no progress log\n"
    "exit codes: 0 ok, 1 error, 2 usage, 75 stopped by a signal after a checkpoint (rerun to resume)\n";

/* What one pass over the training rows needs. */
typedef struct {
  ps_backend_t *b;
  ps_trainset_t *ts;
  const double *w_pos, *w_neg;
} train_ctx_t;

static void pass_resident(void *ctx, const double *theta, double *loss, double *grad, double *hess,
                          const uint8_t *hmask) {
  train_ctx_t *t = ctx;
  t->b->eval(t->b, theta, loss, grad, hess, hmask);
}

/* Rows stream from the file block by block (the reader prefetches the next). */
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

/* Probabilities of every training and validation row (head-major). */
static void predict_splits(train_ctx_t *t, const double *theta, float *Ptr, float *Pva) {
  ps_trainset_t *ts = t->ts;
  int k = ts->k;
  if (!ts->streamed) {
    t->b->predict_std(t->b, theta, k, ts->Xtr, ts->n_tr, ts->c, Ptr);
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
      memcpy(Ptr + (size_t)h * (size_t)ts->n_tr + (size_t)otr, tmp + (size_t)h * (size_t)ntr, sizeof(float) * (size_t)ntr);
    t->b->predict_std(t->b, theta, k, Xva, nva, ts->c, tmp);
    for (int h = 0; h < k; h++)
      memcpy(Pva + (size_t)h * (size_t)ts->n_va + (size_t)ova, tmp + (size_t)h * (size_t)nva, sizeof(float) * (size_t)nva);
    otr += ntr;
    ova += nva;
  }
  free(tmp);
}

/* "x" or "x,y,..." with one value per target; "balanced" allowed if bal != NULL. */
static void per_target(const char *opt, const char *spec, int k, double *out, int *bal, double lo, double hi) {
  int n = 0;
  char **v = ps_split(spec, ',', &n);
  if (n != 1 && n != k) ps_die_all(PS_EXIT_USAGE, "%s: give one value or %d (one per target), got %d", opt, k, n);
  for (int h = 0; h < k; h++) {
    const char *s = v[n == 1 ? 0 : h];
    if (bal && !strcmp(s, "balanced")) { bal[h] = 1; out[h] = 0; }
    else out[h] = ps_parse_double(opt, s, lo, hi);
  }
  ps_free_strv(v);
}

int cmd_train(int argc, char **argv) {
  const char *data = NULL, *model = NULL, *targets_s = NULL, *l2_s = "1e-4", *pw_s = "1", *solver_s = "auto";
  const char *device = "auto", *ckpt = NULL, *nonfinite = "impute", *x_dtype = "f32";
  int64_t mem_limit = 0, gpu_limit = 0;
  int ckpt_every = 0;
  double holdout = 0.2, tol = 1e-7, ftol = 1e-12;
  int64_t salt = DEFAULT_SALT;
  int max_iter = 500, m = 10, missing_ind = 0;
  static struct option opts[] = {
      {"data", 1, 0, 'd'},   {"model", 1, 0, 'o'},      {"targets", 1, 0, 't'}, {"l2", 1, 0, 'l'},
      {"pos-weight", 1, 0, 'w'}, {"solver", 1, 0, 's'}, {"holdout", 1, 0, 'H'}, {"split-salt", 1, 0, 'S'},
      {"max-iter", 1, 0, 'i'}, {"tol", 1, 0, 'g'},      {"ftol", 1, 0, 'f'},    {"lbfgs-m", 1, 0, 'm'},
      {"missing-indicators", 0, 0, 'M'}, {"device", 1, 0, 'D'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
      {"checkpoint", 1, 0, 'C'}, {"checkpoint-every", 1, 0, 'E'}, {"nonfinite", 1, 0, 'N'},
      {"x-dtype", 1, 0, 'X'}, {"host-mem-limit", 1, 0, 'L'}, {"gpu-mem-limit", 1, 0, 'G'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:o:t:l:w:s:H:S:i:g:f:m:MD:qhC:E:N:X:L:G:", opts, NULL)) != -1) {
    switch (c) {
      case 'd': data = optarg; break;
      case 'o': model = optarg; break;
      case 't': targets_s = optarg; break;
      case 'l': l2_s = optarg; break;
      case 'w': pw_s = optarg; break;
      case 's': solver_s = optarg; break;
      case 'H': holdout = ps_parse_double("--holdout", optarg, 0.0, 0.9); break;
      case 'S': salt = ps_parse_ll("--split-salt", optarg, 0, INT64_MAX); break;
      case 'i': max_iter = (int)ps_parse_ll("--max-iter", optarg, 0, 1000000); break;
      case 'g': tol = ps_parse_double("--tol", optarg, 0.0, 1.0); break;
      case 'f': ftol = ps_parse_double("--ftol", optarg, 0.0, 1.0); break;
      case 'm': m = (int)ps_parse_ll("--lbfgs-m", optarg, 1, 64); break;
      case 'M': missing_ind = 1; break;
      case 'D': device = optarg; break;
      case 'q': ps_quiet = 1; break;
      case 'C': ckpt = optarg; break;
      case 'E': ckpt_every = (int)ps_parse_ll("--checkpoint-every", optarg, 0, 1000000); break;
      case 'N': nonfinite = optarg; break;
      case 'X': x_dtype = optarg; break;
      case 'L': mem_limit = ps_parse_size("--host-mem-limit", optarg); break;
      case 'G': gpu_limit = ps_parse_size("--gpu-mem-limit", optarg); break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: ps_die_all(PS_EXIT_USAGE, "train: bad option (see propscore train --help)");
    }
  }
  if (optind != argc) ps_die_all(PS_EXIT_USAGE, "train: unexpected argument '%s'", argv[optind]);
  if (!data || !model) ps_die_all(PS_EXIT_USAGE, "train: --data and --model are required (see propscore train --help)");
  if (strcmp(solver_s, "auto") && strcmp(solver_s, "lbfgs") && strcmp(solver_s, "newton"))
    ps_die_all(PS_EXIT_USAGE, "--solver: '%s' is not one of auto, lbfgs, newton", solver_s);
  if (strcmp(nonfinite, "impute") && strcmp(nonfinite, "reject"))
    ps_die_all(PS_EXIT_USAGE, "--nonfinite: '%s' is not one of impute, reject", nonfinite);
  manifest_begin("train", argc, argv);
  manifest_set_output(model);
  ps_backend_t *b = backend_create(device, x_dtype);
  manifest_device(b->name);
  ps_check_writable(model);
  double t0 = ps_now();
  char *ckpt_default = NULL;
  if (!ckpt) {
    size_t n = strlen(model) + 8;
    ckpt_default = ps_malloc(n);
    snprintf(ckpt_default, n, "%s.ckpt", model);
    ckpt = ckpt_default;
  }

  ps_data_t d;
  h5io_open_data(data, &d);
  int k = 0;
  char **targets = targets_s ? ps_split(targets_s, ',', &k) : h5io_list_group(d.fid, "/labels", &k);
  if (k == 0)
    ps_die_all(PS_EXIT_ERROR, "%s: no /labels/<target> datasets: nothing to train (add labels, see to_hdf5.py --label)",
               data);
  double *l2 = ps_malloc(sizeof(double) * (size_t)k), *pw = ps_malloc(sizeof(double) * (size_t)k);
  int *bal = ps_calloc((size_t)k, sizeof(int));
  per_target("--l2", l2_s, k, l2, NULL, 0.0, 1e6);
  per_target("--pos-weight", pw_s, k, pw, bal, 1e-6, 1e6);

  ps_trainset_t ts;
  double t_load = ps_now();
  if (mem_limit == 0) mem_limit = (int64_t)(0.6 * (double)ps_mem_available() / comm_local_size());
  if (mem_limit <= 0) mem_limit = (int64_t)4 << 30;
  trainset_load(&d, targets, k, holdout, salt, missing_ind, !strcmp(nonfinite, "reject"), mem_limit, &ts);
  t_load = ps_now() - t_load;
  int64_t cols = ts.c, c1 = cols + 1;
  int newton = !strcmp(solver_s, "newton") || (!strcmp(solver_s, "auto") && cols <= NEWTON_AUTO_MAX);
  if (newton && cols > NEWTON_MAX)
    ps_die_all(PS_EXIT_USAGE, "--solver newton: %lld columns need a %lld x %lld Hessian per head; above %d use lbfgs",
               (long long)cols, (long long)c1, (long long)c1, NEWTON_MAX);

  /* Class weights and the start point: bias at the weighted base rate. */
  double *w_pos = ps_malloc(sizeof(double) * (size_t)k), *w_neg = ps_malloc(sizeof(double) * (size_t)k);
  double *wsum = ps_malloc(sizeof(double) * (size_t)k);
  double *theta = ps_calloc((size_t)(k * c1), sizeof(double));
  for (int h = 0; h < k; h++) {
    double np = ts.n_pos[h], nn = ts.g_tr - np;
    w_pos[h] = bal[h] ? ts.g_tr / (2.0 * np) : pw[h];
    w_neg[h] = bal[h] ? ts.g_tr / (2.0 * nn) : 1.0;
    pw[h] = w_pos[h] / w_neg[h];
    wsum[h] = w_pos[h] * np + w_neg[h] * nn;
    theta[h * c1 + cols] = log(w_pos[h] * np / (w_neg[h] * nn));
    ps_log("train: head %-16s %.0f positives of %.0f training rows (%.3f%%), positive weight %g", targets[h], np,
           ts.g_tr, 100.0 * np / ts.g_tr, pw[h]);
  }
  ps_log("train: %lld model columns (%lld input%s), %.0f train + %.0f validation rows, %d rank%s, solver %s, device %s",
         (long long)cols, (long long)ts.f, missing_ind ? " + missing indicators" : "", ts.g_tr, ts.g_va, ps_size,
         ps_size == 1 ? "" : "s", newton ? "newton" : "lbfgs", b->name);

  train_ctx_t tc = {b, &ts, w_pos, w_neg};
  /* rows on the device if they fit there (the same decision on every rank) */
  if (gpu_limit == 0) gpu_limit = b->device_memory;
  double dev_need = (double)ts.n_tr * (double)cols * (!strcmp(x_dtype, "bf16") ? 2.0 : 4.0);
  comm_allreduce_max_f64(&dev_need, 1);
  int dev_resident = b->device_memory == 0 || dev_need <= (double)gpu_limit;
  if (!ts.streamed && dev_resident) b->set_train(b, ts.Xtr, ts.Ytr, ts.n_tr, cols, k, w_pos, w_neg);
  fit_pass_t pass = {ts.streamed ? pass_streamed : dev_resident ? pass_resident : pass_host_blocks, &tc};
  if (!ts.streamed && !dev_resident)
    ps_log("train: rows exceed --gpu-mem-limit %.0f MiB: they go up to the GPU in blocks every pass",
           (double)gpu_limit / 1048576.0);
  fit_opts_t fo = {newton ? PS_OPT_NEWTON : PS_OPT_LBFGS, m, max_iter, tol, ftol, l2, wsum, ts.dead, targets};
  fit_trace_t *traces = ps_calloc((size_t)k, sizeof(fit_trace_t));
  /* What this run is: a checkpoint of any other run is refused on resume. */
  char fp[4096];
  {
    struct stat st;
    memset(&st, 0, sizeof st);
    stat(data, &st);
    int n = snprintf(fp, sizeof fp, "data=%s;size=%lld;mtime=%lld;ranks=%d;device=%s/%s;solver=%s;targets=", data,
                     (long long)st.st_size, (long long)st.st_mtime, ps_size, b->name, x_dtype, newton ? "newton" : "lbfgs");
    for (int h = 0; h < k && n < (int)sizeof fp - 64; h++) n += snprintf(fp + n, sizeof fp - (size_t)n, "%s,", targets[h]);
    snprintf(fp + n, sizeof fp - (size_t)n,
             ";l2=%s;pos_weight=%s;holdout=%.17g;salt=%lld;tol=%.17g;ftol=%.17g;m=%d;max_iter=%d;missing=%d;nonfinite=%s",
             l2_s, pw_s, holdout, (long long)salt, tol, ftol, m, max_iter, missing_ind, nonfinite);
  }
  fit_ckpt_t ck = {ckpt, fp, ckpt_every};
  double t_fit = ps_now();
  int rc = fit_heads(pass, cols, k, &fo, theta, traces, &ck);
  t_fit = ps_now() - t_fit;
  if (rc == PS_EXIT_STOPPED) {
    ps_out("train: stopped by signal %d after a checkpoint (%s): run the same command again to resume",
           ps_stop_signal(), ckpt);
    manifest_phase("fit", t_fit);
    manifest_finish(PS_EXIT_STOPPED, "stopped by a signal; checkpoint written");
    for (int h = 0; h < k; h++) free(traces[h].data);
    free(traces); free(theta); free(w_pos); free(w_neg); free(wsum); free(l2); free(pw); free(bal); free(ckpt_default);
    ps_free_strv(targets);
    trainset_free(&ts);
    h5io_close_data(&d);
    b->destroy(b);
    return PS_EXIT_STOPPED;
  }
  double t_metrics = ps_now();

  /* Metrics on both splits (unweighted log-loss, as scikit-learn's log_loss). */
  ps_metrics_t *mtr = ps_calloc((size_t)k, sizeof(ps_metrics_t)), *mva = ps_calloc((size_t)k, sizeof(ps_metrics_t));
  float *Ptr = ps_malloc(sizeof(float) * (size_t)k * (size_t)(ts.n_tr + 1));
  float *Pva = ps_malloc(sizeof(float) * (size_t)k * (size_t)(ts.n_va + 1));
  predict_splits(&tc, theta, Ptr, Pva);
  for (int h = 0; h < k; h++) {
    uint8_t *y = trainset_labels(ts.Ytr, ts.n_tr, k, h);
    metrics_compute(Ptr + (size_t)h * (size_t)ts.n_tr, y, NULL, ts.n_tr, &mtr[h]);
    free(y);
    if (ts.g_va > 0) {
      y = trainset_labels(ts.Yva, ts.n_va, k, h);
      metrics_compute(Pva + (size_t)h * (size_t)ts.n_va, y, NULL, ts.n_va, &mva[h]);
      free(y);
    }
  }
  free(Ptr);
  free(Pva);
  t_metrics = ps_now() - t_metrics;
  ps_log("train: phases: load+prepare %.2f s, fit %.2f s, metrics %.2f s", t_load, t_fit, t_metrics);

  ps_model_t mdl = {ts.f, cols, k, d.feature_names, targets, ts.src, ts.kind, ts.mean, ts.scale, theta, holdout, salt};
  char cw[64];
  snprintf(cw, sizeof cw, "%s", !strcmp(pw_s, "balanced") ? "balanced" : pw_s);
  ps_train_report_t rep = {newton ? "newton" : "lbfgs", cw, data, b->name, tol, ftol, holdout, max_iter,
                           missing_ind, ps_size, l2, pw, ts.n_pos, ts.g_tr, ts.g_va, traces, mtr,
                           ts.g_va > 0 ? mva : NULL};
  if (ps_rank == 0) {
    model_write(model, &mdl, &rep);
    unlink(ckpt); /* the model is complete: the checkpoint has served */
  }
  comm_barrier();

  manifest_input("data", data, 0);
  manifest_output("model", model);
  manifest_param_str("solver", newton ? "newton" : "lbfgs");
  manifest_param_str("l2", l2_s);
  manifest_param_str("pos_weight", pw_s);
  manifest_param_num("holdout", holdout);
  manifest_param_num("split_salt", (double)salt);
  manifest_param_num("tol", tol);
  manifest_param_num("ftol", ftol);
  manifest_param_num("max_iter", max_iter);
  manifest_param_num("missing_indicators", missing_ind);
  manifest_param_str("nonfinite", nonfinite);
  manifest_param_num("host_mem_limit", (double)mem_limit);
  manifest_param_str("rows", ts.streamed ? "streamed" : "resident");
  manifest_param_num("gpu_mem_limit", (double)gpu_limit);
  manifest_phase("load_prepare", t_load);
  manifest_phase("fit", t_fit);
  manifest_phase("metrics", t_metrics);
  cJSON *mj = manifest_metrics();
  for (int h = 0; mj && h < k; h++) {
    cJSON *o = cJSON_AddObjectToObject(mj, targets[h]);
    cJSON_AddNumberToObject(o, "iterations", traces[h].rows - 1);
    cJSON_AddStringToObject(o, "stop", traces[h].stop);
    cJSON_AddNumberToObject(o, "train_auc", mtr[h].auc);
    cJSON_AddNumberToObject(o, "train_log_loss", mtr[h].logloss);
    if (ts.g_va > 0) {
      cJSON_AddNumberToObject(o, "valid_auc", mva[h].auc);
      cJSON_AddNumberToObject(o, "valid_log_loss", mva[h].logloss);
    }
  }

  for (int h = 0; h < k; h++) {
    if (ts.g_va > 0)
      ps_out("train: %-16s %3d iterations (%s)  train AUC %.4f log-loss %.5f | valid AUC %.4f log-loss %.5f",
             targets[h], traces[h].rows - 1, traces[h].stop, mtr[h].auc, mtr[h].logloss, mva[h].auc, mva[h].logloss);
    else
      ps_out("train: %-16s %3d iterations (%s)  train AUC %.4f log-loss %.5f", targets[h], traces[h].rows - 1,
             traces[h].stop, mtr[h].auc, mtr[h].logloss);
  }
  ps_out("train: wrote %s (%lld columns x %d heads) in %.2f s", model, (long long)cols, k, ps_now() - t0);
  int failed = 0;
  for (int h = 0; h < k; h++) failed |= traces[h].status == PS_LSFAIL && traces[h].rows <= 1;

  manifest_finish(failed ? PS_EXIT_ERROR : 0, failed ? "a head made no progress" : NULL);
  free(ckpt_default);
  for (int h = 0; h < k; h++) free(traces[h].data);
  free(traces); free(mtr); free(mva); free(theta); free(w_pos); free(w_neg); free(wsum);
  free(l2); free(pw); free(bal);
  ps_free_strv(targets);
  trainset_free(&ts);
  h5io_close_data(&d);
  b->destroy(b);
  return failed ? PS_EXIT_ERROR : 0;
}
