/* krange.c: segment --k-range -- for each k, the fit's inertia and a
 * silhouette estimate on an id-hashed sample (see segment.h). */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/signals.h"
#include "core/util.h"
#include "models/kmeans/fit.h"
#include "models/kmeans/segment.h"

/* The sample's silhouette on rank 0: m records of rb bytes (label, row). */
static double silhouette_of(const char *g, int64_t m, size_t rb, int64_t c, int k) {
  double *sum = ps_malloc(sizeof(double) * (size_t)k);
  int64_t *nc = ps_calloc((size_t)k, sizeof(int64_t));
  int32_t lj;
  for (int64_t i = 0; i < m; i++) memcpy(&lj, g + rb * (size_t)i, sizeof lj), nc[lj]++;
  double acc = 0;
  for (int64_t i = 0; i < m; i++) {
    int32_t li;
    memcpy(&li, g + rb * (size_t)i, sizeof li);
    const float *xi = (const float *)(g + rb * (size_t)i + sizeof(int32_t));
    memset(sum, 0, sizeof(double) * (size_t)k);
    for (int64_t j = 0; j < m; j++) {
      const float *xj = (const float *)(g + rb * (size_t)j + sizeof(int32_t));
      double d = 0;
      for (int64_t t = 0; t < c; t++) {
        double e = (double)xi[t] - (double)xj[t];
        d += e * e;
      }
      memcpy(&lj, g + rb * (size_t)j, sizeof lj);
      sum[lj] += sqrt(d);
    }
    if (nc[li] < 2) continue; /* silhouette 0 by convention */
    double a = sum[li] / (double)(nc[li] - 1), b = INFINITY;
    for (int q = 0; q < k; q++)
      if (q != li && nc[q] > 0 && sum[q] / (double)nc[q] < b) b = sum[q] / (double)nc[q];
    double mx = a > b ? a : b;
    acc += mx > 0 && isfinite(b) ? (b - a) / mx : 0.0;
  }
  free(sum);
  free(nc);
  return m > 0 ? acc / (double)m : NAN;
}

/* Silhouette estimate on an id-hashed sample gathered to rank 0. */
static double silhouette(const float *X, const int64_t *ids, const int32_t *lab, int64_t n, int64_t c, int k,
                         int64_t sample, int64_t N, uint64_t seed) {
  double frac = N > sample ? (double)sample / (double)N : 1.0;
  size_t rb = sizeof(int32_t) + sizeof(float) * (size_t)c;
  char *mine = NULL;
  int64_t cnt = 0;
  for (int64_t i = 0; i < n; i++)
    if (ps_id_unit(ids[i], seed ^ 0x51u) < frac) {
      mine = ps_realloc(mine, rb * (size_t)(cnt + 1));
      memcpy(mine + rb * (size_t)cnt, &lab[i], sizeof(int32_t));
      memcpy(mine + rb * (size_t)cnt + sizeof(int32_t), X + (size_t)i * (size_t)c, sizeof(float) * (size_t)c);
      cnt++;
    }
  size_t tot = 0;
  char *g = comm_gatherv_bytes(mine, rb * (size_t)cnt, &tot, NULL);
  free(mine);
  double s = ps_rank == 0 ? silhouette_of(g, (int64_t)(tot / rb), rb, c, k) : NAN;
  free(g);
  comm_bcast(&s, sizeof s, 0);
  return s;
}

/* A stop signal ends the table between two Lloyd iterations (nothing to keep). */
static int stop_hook(void *ctx, const km_state_t *s) {
  (void)s;
  ps_fault_tick("iteration");
  return (*(int *)ctx = comm_agree_stop()) != 0;
}

int segment_k_range(const segment_opts_t *o, const float *Xs, const int64_t *ids, int64_t n, int64_t c, int64_t N) {
  km_rows_t rows;
  km_rows_init(&rows, Xs, ids, n, c);
  km_backend_t *be = kmeans_backend_create(Xs, rows.panels, n, c, o->k_hi, o->cuda);
  size_t nn = (size_t)(n > 0 ? n : 1);
  int32_t *lab = ps_malloc(sizeof(int32_t) * nn);
  double *d2 = ps_malloc(sizeof(double) * nn);
  int sig = 0;
  km_hooks_t hooks = {.iteration = stop_hook, .ctx = &sig};
  cJSON *arr = cJSON_CreateArray();
  if (!o->json) ps_out("%5s %16s %12s %6s", "k", "inertia", "silhouette", "iters");
  for (int kk = o->k_lo; kk <= o->k_hi && !sig; kk++) {
    km_params_t prm = {.k = kk, .n_init = o->n_init, .max_iter = o->max_iter, .tol = o->tol, .seed = o->seed,
                       .rounds = 5, .oversample = 2.0};
    km_state_t st;
    km_result_t r;
    km_state_init(&st, kk, c);
    int stopped = kmeans_fit(&rows, &prm, be, &hooks, &st, &r);
    km_state_free(&st);
    if (stopped) break;
    km_predict(Xs, n, c, r.centers, kk, lab, d2);
    double sil = silhouette(Xs, ids, lab, n, c, kk, o->sample, N, o->seed);
    if (o->json) {
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "k", kk);
      cJSON_AddNumberToObject(e, "inertia", r.inertia);
      if (isfinite(sil)) cJSON_AddNumberToObject(e, "silhouette", sil);
      else cJSON_AddNullToObject(e, "silhouette");
      cJSON_AddNumberToObject(e, "iterations", r.iterations);
      cJSON_AddItemToArray(arr, e);
    } else {
      ps_out("%5d %16.6f %12.4f %6d", kk, r.inertia, sil, r.iterations);
    }
    km_result_free(&r);
  }
  if (o->json && !sig) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "k_range", arr);
    char *s = cJSON_Print(doc);
    ps_out("%s", s);
    free(s);
    cJSON_Delete(doc);
  } else {
    cJSON_Delete(arr);
  }
  free(lab), free(d2);
  be->destroy(be);
  km_rows_free(&rows);
  if (sig) ps_out("segment: stopped by %s: --k-range keeps nothing; run it again to start over", ps_signal_name(sig));
  return sig ? PS_EXIT_STOPPED : 0;
}
