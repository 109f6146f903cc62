/* segment.c: the segment job (see segment.h): its options, the resident
 * standardized rows, the fit (resumable) or a saved model, the personas
 * file and the profile. */
#define _POSIX_C_SOURCE 200809L
#include "models/kmeans/segment.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/fingerprint.h"
#include "core/partition.h"
#include "core/signals.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/output.h"
#include "models/kmeans/checkpoint.h"
#include "models/kmeans/fit.h"
#include "models/kmeans/model.h"
#include "models/kmeans/profile.h"
#include "stats/colstats.h"
#include "stats/prepare.h"

#define F(field) offsetof(segment_opts_t, field)
static const ps_option_t SEGMENT_OPTS[] = {
    {.name = "data", .type = OPT_STR, .off = F(data), .arg = "FILE", .help = "input feature file (datasets/SCHEMA.md)",
     .flags = OPT_REQUIRED, .short_name = 'd'},
    {.name = "out", .type = OPT_STR, .off = F(out), .arg = "FILE",
     .help = "personas file: /customer_id, /segments/persona, /segments/distance\n"
             "and the model (datasets/SCHEMA.md); optional (profile only)",
     .short_name = 'o'},
    {.name = "k", .type = OPT_INT, .off = F(k), .def = "26", .min = 1, .max = 100000, .arg = "K",
     .help = "personas (default 26); 1 <= K <= rows", .fp = "k", .short_name = 'k'},
    {.name = "columns", .type = OPT_STR, .off = F(columns), .arg = "LIST",
     .help = "comma-separated feature names; NAME* selects a prefix (emb_*)\n"
             "(default: every feature). Standardized as in train; NaN/Inf\n"
             "imputed by the column mean",
     .fp = "columns", .short_name = 'c'},
    {.name = "model", .type = OPT_STR, .off = F(model), .arg = "FILE",
     .help = "assign customers to a saved personas file's centroids (its\n"
             "columns and standardization): stable persona ids month to month",
     .short_name = 'm'},
    {.name = "n-init", .type = OPT_INT, .off = F(n_init), .def = "3", .min = 1, .max = 1000, .arg = "N",
     .help = "restarts with different seeds; the lowest inertia is kept (default 3)", .fp = "n_init",
     .short_name = 'i'},
    {.name = "max-iter", .type = OPT_INT, .off = F(max_iter), .def = "300", .min = 1, .max = 1000000, .arg = "N",
     .help = "Lloyd iterations at most (default 300)", .fp = "max_iter", .short_name = 'x'},
    {.name = "tol", .type = OPT_DOUBLE, .off = F(tol), .def = "1e-6", .lo = 0.0, .hi = 1.0, .arg = "T",
     .help = "stop when the relative inertia change is below T (default 1e-6)", .fp = "tol", .short_name = 't'},
    {.name = "seed", .type = OPT_U64, .off = F(seed), .def = "42", .min = 0, .max = INT64_MAX, .arg = "S",
     .help = "seed of the initialization (default 42)", .fp = "seed", .short_name = 's'},
    {.name = "k-range", .type = OPT_STR, .off = F(k_range), .arg = "LO:HI",
     .help = "for each k in LO..HI: inertia and a silhouette estimate on an\n"
             "id-hashed sample (nothing written)",
     .short_name = 'r'},
    {.name = "sample", .type = OPT_I64, .off = F(sample), .def = "2000", .min = 2, .max = 100000, .arg = "N",
     .help = "silhouette sample size, about (default 2000)", .short_name = 'S'},
    {.name = "top", .type = OPT_INT, .off = F(top), .def = "3", .min = 0, .max = 1000, .arg = "N",
     .help = "distinguishing features shown per persona (default 3)", .short_name = 'T'},
    {.name = "scores", .type = OPT_STR, .off = F(scores), .arg = "FILE",
     .help = "a scores file of the same customers (score): each persona's mean\n"
             "score per target; the actual rate of each target with labels in\n"
             "--data is shown too",
     .short_name = 'P'},
    {.name = "json", .type = OPT_FLAG, .off = F(json),
     .help = "the profile (or the k-range table) as one JSON document on stdout", .short_name = 'j'},
    {.name = "device", .type = OPT_STR, .off = F(device), .def = "cpu", .arg = "D",
     .help = "cpu (default), cuda or auto: Lloyd iterations on the GPU (rows\n"
             "resident there; cuBLAS distances may break near-ties differently)",
     .short_name = 'D'},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .help = "no progress log", .short_name = 'q'},
    {0}};
#undef F

const ps_cmd_spec_t segment_cmd = {
    .name = "segment",
    .opts = SEGMENT_OPTS,
    .usage = "usage: propscore segment --data FILE.h5 [--out PERSONAS.h5] [--k K] [--columns LIST]\n"
             "                         [--n-init N] [--max-iter N] [--tol T] [--seed S] [--top N] [--json]\n"
             "                         [--scores SCORES.h5]\n"
             "       propscore segment --data FILE.h5 --model PERSONAS.h5 --out NEW.h5\n"
             "       propscore segment --data FILE.h5 --k-range LO:HI [--sample N] [--json]\n"
             "\n"
             "Group every customer into K personas by k-means on standardized features\n"
             "(k-means|| initialization, Lloyd iterations; the same bytes for any number of\n"
             "ranks) and print a profile of each persona.\n",
    .epilog = "On SIGTERM or SIGUSR1 a fit stops between two Lloyd iterations and keeps its state\n"
              "in PERSONAS.h5.ckpt (exit 75); the same command resumes it, to the same bytes.\n"
              "exit codes: 0 ok, 1 error, 2 usage, 75 stopped by a signal (rerun to resume)\n"};

/* The job's resident rows: the chosen columns, standardized. */
typedef struct {
  ps_data_t d;
  int64_t N, row0, n, c;
  int64_t *ids, *sel; /* [n]; [c] the chosen columns' places in the data */
  float *Xs;          /* [n][c] */
  ps_columns_t cols;
  km_model_t model;   /* --model: the saved personas */
} seg_rows_t;

/* The chosen input columns: all, a comma list of names, NAME* prefixes. */
static int64_t select_columns(const ps_data_t *d, const char *spec, int64_t *sel) {
  if (!spec) {
    for (int64_t j = 0; j < d->f; j++) sel[j] = j;
    return d->f;
  }
  int cnt = 0;
  char **v = ps_split(spec, ',', &cnt);
  uint8_t *taken = ps_calloc((size_t)d->f, 1);
  int64_t c = 0;
  for (int i = 0; i < cnt; i++) {
    size_t L = strlen(v[i]);
    int prefix = L > 0 && v[i][L - 1] == '*';
    int64_t hits = 0;
    for (int64_t j = 0; j < d->f; j++) {
      int m = prefix ? strncmp(d->feature_names[j], v[i], L - 1) == 0 : strcmp(d->feature_names[j], v[i]) == 0;
      if (!m) continue;
      hits++;
      if (!taken[j]) taken[j] = 1, sel[c++] = j;
    }
    if (L == 0 || hits == 0)
      ps_die_all(PS_EXIT_USAGE, "segment: --columns: %s '%s' matches no column of %s /feature_names",
                 prefix ? "prefix" : "column", v[i], d->path);
  }
  ps_free_strv(v);
  free(taken);
  return c;
}

/* The saved model's columns, found by name in the data (each exactly once). */
static void map_model_columns(const segment_opts_t *o, seg_rows_t *R) {
  for (int64_t j = 0; j < R->model.c; j++) {
    int64_t hit = -1;
    for (int64_t t = 0; t < R->d.f; t++) {
      if (strcmp(R->d.feature_names[t], R->model.names[j]) != 0) continue;
      if (hit >= 0)
        ps_die_all(PS_EXIT_ERROR, "%s: /feature_names has '%s' at columns %lld and %lld: the model %s's column of "
                   "that name cannot be matched", o->data, R->model.names[j], (long long)hit, (long long)t, o->model);
      hit = t;
    }
    if (hit < 0)
      ps_die_all(PS_EXIT_ERROR, "%s: the model's column '%s' is not in %s /feature_names", o->model, R->model.names[j],
                 o->data);
    R->sel[j] = hit;
  }
  R->c = R->model.c;
}

/* Standardization: the saved model's, or this data's (constant columns warned about). */
static void columns_of(const segment_opts_t *o, seg_rows_t *R, const float *Xr) {
  int64_t c = R->c;
  ps_columns_t *cols = &R->cols;
  if (o->model) {
    *cols = (ps_columns_t){.c = c, .f = c, .src = ps_malloc(sizeof(int64_t) * (size_t)c),
                           .kind = ps_calloc((size_t)c, 1), .dead = ps_calloc((size_t)c, 1),
                           .mean = R->model.mean, .scale = R->model.scale};
    for (int64_t j = 0; j < c; j++) cols->src[j] = j, cols->dead[j] = R->model.scale[j] == 0;
    R->model.mean = R->model.scale = NULL;
    return;
  }
  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)c);
  stats_init(st, c);
  stats_add_block(st, Xr, R->n, c, NULL);
  stats_allreduce(st, c);
  prepare_columns(st, c, 0, cols);
  for (int64_t j = 0; j < c; j++)
    if (st[j].count == 0)
      ps_die_all(PS_EXIT_ERROR, "%s: /features column %lld (%s) has no finite value", o->data, (long long)R->sel[j],
                 R->d.feature_names[R->sel[j]]);
  free(st);
  for (int64_t j = 0; j < c; j++)
    if (cols->dead[j])
      ps_warn("segment: column %s is constant: it cannot separate personas (standardized to 0)",
              R->d.feature_names[R->sel[j]]);
}

/* The chosen columns of this rank's rows into Xr [n][c]: dense rows read
 * whole (n x F floats a moment), a CSR file's a block of CSR at a time,
 * each row's stored values scattered into one F-float row and gathered
 * (never n x F: 4 bytes a chosen value, 16 a stored value of a block). */
static void read_chosen(seg_rows_t *R, float *Xr) {
  int64_t f = R->d.f, c = R->c, br = 65536, nb = h5_common_blocks(R->n, br);
  if (!R->d.csr) {
    float *X = ps_malloc(sizeof(float) * (size_t)(R->n > 0 ? R->n : 1) * (size_t)f);
    data_read_rows(&R->d, R->row0, R->n, X);
    for (int64_t i = 0; i < R->n; i++)
      for (int64_t j = 0; j < c; j++) Xr[(size_t)i * (size_t)c + (size_t)j] = X[(size_t)i * (size_t)f + (size_t)R->sel[j]];
    free(X);
    return;
  }
  float *row = ps_calloc((size_t)f, sizeof(float));
  for (int64_t k = 0; k < nb; k++) {
    int64_t r0 = k * br, m = R->n - r0 < br ? R->n - r0 : br;
    ps_csr_block_t b;
    csr_read_block(&R->d.sp, R->row0 + r0, m > 0 ? m : 0, &b);
    for (int64_t i = 0; i < b.n; i++) {
      for (int64_t p = b.ptr[i]; p < b.ptr[i + 1]; p++) row[b.idx[p]] = b.val[p];
      for (int64_t j = 0; j < c; j++) Xr[(size_t)(r0 + i) * (size_t)c + (size_t)j] = row[R->sel[j]];
      for (int64_t p = b.ptr[i]; p < b.ptr[i + 1]; p++) row[b.idx[p]] = 0.0f;
    }
    csr_block_free(&b);
  }
  free(row);
}

/* Reads this rank's rows and ids, chooses the columns and standardizes them. */
static void load_rows(const segment_opts_t *o, seg_rows_t *R) {
  double t0 = ps_now();
  memset(R, 0, sizeof *R);
  data_open(o->data, &R->d);
  int64_t f = R->d.f;
  R->N = R->d.n;
  ps_partition(R->N, ps_size, ps_rank, &R->row0, &R->n);
  size_t nn = (size_t)(R->n > 0 ? R->n : 1);
  R->ids = ps_malloc(sizeof(int64_t) * nn);
  data_read_ids(&R->d, R->row0, R->n, R->ids);
  data_check_unique_ids(&R->d, R->ids, R->row0, R->n);
  R->sel = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  if (o->model) {
    kmeans_model_read(o->model, &R->model);
    R->sel = ps_realloc(R->sel, sizeof(int64_t) * (size_t)(R->model.c + 1));
    map_model_columns(o, R);
  } else {
    R->c = select_columns(&R->d, o->columns, R->sel);
  }
  int k = o->k_lo > 0 ? o->k_hi : o->k;
  if (!o->model && (int64_t)k > R->N)
    ps_die_all(PS_EXIT_USAGE, "segment: --k %d is more than the %lld rows of %s", k, (long long)R->N, o->data);
  int64_t c = R->c;
  float *Xr = ps_malloc(sizeof(float) * nn * (size_t)c);
  read_chosen(R, Xr);
  columns_of(o, R, Xr);
  ps_transform_t tf = prepare_transform(&R->cols);
  R->Xs = ps_malloc(sizeof(float) * nn * (size_t)c);
  prepare_rows(&tf, Xr, R->n, NULL, R->Xs, NULL);
  free(Xr);
  ps_log("segment: %lld rows x %lld columns read and standardized in %.2f s", (long long)R->N, (long long)c,
         ps_now() - t0);
}

static void free_rows(seg_rows_t *R) {
  free(R->ids), free(R->sel), free(R->Xs);
  prepare_free(&R->cols);
  kmeans_model_free(&R->model);
  data_close(&R->d);
}

/* A stop between two Lloyd iterations, agreed by every rank, saves the fit's state. */
typedef struct {
  const char *path, *fp; /* the checkpoint and what the run is */
  int sig;
} stop_t;

static int on_iteration(void *ctx, const km_state_t *s) {
  stop_t *st = ctx;
  ps_fault_tick("iteration");
  st->sig = comm_agree_stop();
  if (st->sig && st->path) km_ckpt_save(st->path, st->fp, s);
  return st->sig != 0;
}

/* What this fit is: a checkpoint of another run is refused. */
static void fit_fingerprint(const segment_opts_t *o, const km_backend_t *be, ps_fp_t *fp) {
  fp_init(fp);
  fp_str(fp, "job", "segment");
  fp_str(fp, "version", PROPSCORE_VERSION);
  fp_file(fp, "data", o->data);
  opts_fingerprint(SEGMENT_OPTS, o, fp);
  fp_str(fp, "backend", be->name);
}

/* The fit, resumed from ckpt (<out>.ckpt; NULL: none kept) when a stopped
 * run of it left one; 1 when a signal stopped it (*sig), its state kept there. */
static int fit(const segment_opts_t *o, const seg_rows_t *R, const char *ckpt, km_result_t *r, int *sig) {
  km_rows_t rows;
  km_rows_init(&rows, R->Xs, R->ids, R->n, R->c);
  km_backend_t *be = kmeans_backend_create(R->Xs, rows.panels, R->n, R->c, o->k, o->cuda);
  ps_fp_t fp;
  fit_fingerprint(o, be, &fp);
  km_state_t st;
  km_state_init(&st, o->k, R->c);
  if (ckpt && km_ckpt_load(ckpt, fp.s, &st))
    ps_log("segment: resumed at restart %d, iteration %d from %s", st.restart, st.iteration, ckpt);
  stop_t stop = {.path = ckpt, .fp = fp.s};
  km_hooks_t hooks = {.iteration = on_iteration, .ctx = &stop};
  km_params_t prm = {.k = o->k, .n_init = o->n_init, .max_iter = o->max_iter, .tol = o->tol, .seed = o->seed,
                     .rounds = 5, .oversample = 2.0};
  int stopped = kmeans_fit(&rows, &prm, be, &hooks, &st, r);
  *sig = stop.sig;
  km_state_free(&st);
  fp_free(&fp);
  be->destroy(be);
  km_rows_free(&rows);
  return stopped;
}

/* The personas file of the rows' assignment (label, d2) to r's centers. */
static void write_personas(const segment_opts_t *o, const seg_rows_t *R, const km_result_t *r, const km_profile_t *pf,
                           const int32_t *lab, const double *d2) {
  char **names = ps_calloc((size_t)R->c + 1, sizeof(char *));
  for (int64_t j = 0; j < R->c; j++) names[j] = ps_strdup(R->d.feature_names[R->sel[j]]);
  km_personas_t p = {.k = r->k, .c = R->c, .N = R->N, .row0 = R->row0, .n = R->n, .inertia = pf->inertia,
                     .iterations = r->iterations, .n_init = o->n_init, .assigned = o->model != NULL, .seed = o->seed,
                     .centers = r->centers, .centers_raw = pf->centers_raw, .mean = R->cols.mean,
                     .scale = R->cols.scale, .mean_raw = pf->mean_raw, .mean_std = pf->mean_std, .sizes = pf->size,
                     .source = R->sel, .names = names, .ids = R->ids, .persona = lab, .d2 = d2};
  kmeans_model_write(o->out, &p);
  ps_free_strv(names);
}

/* The profile of the assignment, on stdout. */
static void print_profile(const segment_opts_t *o, const seg_rows_t *R, const km_result_t *r, const km_profile_t *pf,
                          const int32_t *lab) {
  km_outcomes_t oc;
  km_outcomes(&R->d, o->scores, lab, R->row0, R->n, R->ids, pf, &oc);
  char **names = ps_calloc((size_t)R->c + 1, sizeof(char *));
  for (int64_t j = 0; j < R->c; j++) names[j] = ps_strdup(R->d.feature_names[R->sel[j]]);
  km_print_t how = {.names = names, .iterations = r->iterations, .assigned = o->model != NULL, .top = o->top,
                    .json = o->json};
  km_profile_print(pf, &oc, &how);
  ps_free_strv(names);
  km_outcomes_free(&oc);
}

/* The centers: fitted (1 when a signal stopped the fit), or the saved model's. */
static int centers(const segment_opts_t *o, seg_rows_t *R, const char *ckpt, km_result_t *r) {
  if (o->model) {
    *r = (km_result_t){.k = R->model.k, .c = R->c, .centers = R->model.centers,
                       .sizes = ps_calloc((size_t)R->model.k, sizeof(int64_t))};
    R->model.centers = NULL;
    return 0;
  }
  int sig = 0;
  if (!fit(o, R, ckpt, r, &sig)) return 0;
  if (ckpt)
    ps_out("segment: stopped by %s after a checkpoint (%s): run the same command again to resume",
           ps_signal_name(sig), ckpt);
  else
    ps_out("segment: stopped by %s: nothing written; run it again to start over", ps_signal_name(sig));
  return 1;
}

/* --model: a stop signal during the assignment ends the run before it
 * writes (nothing to keep: the rerun assigns again). */
static int assign_stopped(void) {
  ps_fault_tick("assign");
  int sig = comm_agree_stop();
  if (sig) ps_out("segment: stopped by %s: nothing written; run it again", ps_signal_name(sig));
  return sig != 0;
}

/* Every row's persona and distance to r's centers, the personas file and
 * the profile. */
static int personas(const segment_opts_t *o, const seg_rows_t *R, const km_result_t *r, const char *ckpt, double t0) {
  size_t nn = (size_t)(R->n > 0 ? R->n : 1);
  int32_t *lab = ps_malloc(sizeof(int32_t) * nn);
  double *d2 = ps_malloc(sizeof(double) * nn);
  km_predict(R->Xs, R->n, R->c, r->centers, r->k, lab, d2);
  int rc = o->model && assign_stopped() ? PS_EXIT_STOPPED : 0;
  if (rc == 0) {
    km_profile_t pf;
    km_profile_compute(R->Xs, R->n, R->N, R->c, lab, d2, r->k, r->centers, &R->cols, &pf);
    if (o->out) write_personas(o, R, r, &pf, lab, d2);
    print_profile(o, R, r, &pf, lab);
    if (o->out)
      ps_log("segment: wrote %s in %.2f s (%d rank%s)", o->out, ps_now() - t0, ps_size, ps_size == 1 ? "" : "s");
    if (ckpt && ps_rank == 0) unlink(ckpt);
    km_profile_free(&pf);
  }
  free(lab), free(d2);
  return rc;
}

int segment_run(const segment_opts_t *o) {
  double t0 = ps_now();
  char *ckpt = o->out && !o->model ? ps_sprintf("%s.ckpt", o->out) : NULL;
  ps_path_t ins[3] = {{"--data", o->data}}, outs[2] = {{"--out", o->out}, {"the checkpoint", ckpt}};
  int nin = 1;
  if (o->model) ins[nin++] = (ps_path_t){"--model", o->model};
  if (o->scores) ins[nin++] = (ps_path_t){"--scores", o->scores};
  out_check_paths(ins, nin, outs, o->out ? 1 + (ckpt != NULL) : 0);
  seg_rows_t R;
  load_rows(o, &R);
  int rc = 0;
  km_result_t r = {0};
  if (o->k_lo > 0) rc = segment_k_range(o, R.Xs, R.ids, R.n, R.c, R.N);
  else if (centers(o, &R, ckpt, &r)) rc = PS_EXIT_STOPPED;
  else rc = personas(o, &R, &r, ckpt, t0);
  km_result_free(&r);
  free_rows(&R);
  free(ckpt);
  return rc;
}
