/* fit.c: k-means|| initialization and Lloyd iterations (see fit.h). */
#include "models/kmeans/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"
#include "kmeans/kmeans_cpu.h"
#include "models/kmeans/backend.h"

/* rng streams (per restart: stream + 16 * restart) */
enum { S_FIRST = 1, S_ROUND = 2, S_PP = 3 };

typedef struct {
  const float *X;
  const int64_t *ids;
  int64_t n, c;
  float *work;
  km_backend_t *be;
  double *xnorm;
  const float *panels; /* the rows as panels (fused assignment) or NULL (OpenBLAS) */
} ctx_t;

/* Nearest of m centers for every row of this rank: the fused panel kernel
 * where the rows are packed, else OpenBLAS blocks (the same path for the
 * CPU and the CUDA backend, so both start from the same centers). */
static void assign_all(ctx_t *x, const float *Cf, const double *cnorm, int m, int32_t *lab, double *d2) {
  if (x->panels)
    km_assign_panels_cpu(x->panels, x->xnorm, x->n, x->c, Cf, cnorm, m, lab, d2);
  else
    km_assign_cpu(x->X, x->xnorm, x->n, x->c, Cf, cnorm, m, lab, d2, x->work);
}

/* a candidate center: its row's id and values */
typedef struct {
  int64_t id;
  double key; /* sort key (u or d2) */
} cand_hdr_t;

/* rounded up to the header's alignment: with an odd column count the next
 * record's header would be misaligned (UBSan) */
static size_t rec_bytes(int64_t c) {
  return (sizeof(cand_hdr_t) + sizeof(float) * (size_t)c + _Alignof(cand_hdr_t) - 1) & ~(_Alignof(cand_hdr_t) - 1);
}

static void centers_f32(const double *C, int k, int64_t c, float *Cf, double *cnorm) {
  for (int j = 0; j < k; j++) {
    for (int64_t t = 0; t < c; t++) Cf[(size_t)j * (size_t)c + (size_t)t] = (float)C[(size_t)j * (size_t)c + (size_t)t];
    cnorm[j] = km_norm2(Cf + (size_t)j * (size_t)c, c);
  }
}

/* Gather every rank's records (each rec_bytes(c)) to all ranks, sorted by id. */
static int id_cmp(const void *a, const void *b) {
  int64_t x = ((const cand_hdr_t *)a)->id, y = ((const cand_hdr_t *)b)->id;
  return x < y ? -1 : x > y;
}
static char *gather_all(const char *mine, int64_t cnt, int64_t c, int64_t *total) {
  size_t rb = rec_bytes(c), tot = 0;
  char *g = comm_gatherv_bytes(mine, (size_t)cnt * rb, &tot, NULL);
  int64_t t = (int64_t)(tot / rb);
  comm_bcast(&t, sizeof t, 0);
  if (ps_rank != 0) g = ps_malloc((size_t)(t > 0 ? t : 1) * rb);
  if (t > 0) comm_bcast(g, (size_t)t * rb, 0);
  qsort(g, (size_t)t, rb, id_cmp);
  *total = t;
  return g;
}

/* Rows (of this rank) nearest to new centers: mind2 = min(mind2, d2 to them). */
static void min_update(ctx_t *x, const float *Cf, const double *cnorm, int m, double *mind2, int32_t *lab,
                       double *d2) {
  /* in groups of at most 256 centers (work sized for that) */
  for (int j0 = 0; j0 < m; j0 += 256) {
    int mm = m - j0 < 256 ? m - j0 : 256;
    assign_all(x, Cf + (size_t)j0 * (size_t)x->c, cnorm + j0, mm, lab, d2);
    for (int64_t i = 0; i < x->n; i++)
      if (d2[i] < mind2[i]) mind2[i] = d2[i];
  }
}

static double cand_d2(const float *cand, int64_t c, int64_t a, int64_t b) {
  const float *x = cand + (size_t)a * (size_t)c, *y = cand + (size_t)b * (size_t)c;
  double s = 0;
  for (int64_t t = 0; t < c; t++) {
    double d = (double)x[t] - (double)y[t];
    s += d * d;
  }
  return s;
}

/* k-means||: candidates then weighted k-means++ down to k centers. */
static int64_t init_parallel(ctx_t *x, const km_params_t *p, int restart, double *C) {
  int64_t n = x->n, c = x->c;
  int k = p->k;
  uint64_t s0 = 16 * (uint64_t)restart;
  size_t rb = rec_bytes(c), nn = (size_t)(n > 0 ? n : 1);
  double *mind2 = ps_malloc(sizeof(double) * nn), *d2 = ps_malloc(sizeof(double) * nn);
  int32_t *lab = ps_malloc(sizeof(int32_t) * nn);
  /* the first candidate: the row with the smallest hash of its id */
  char *mine = ps_calloc(1, rb);
  cand_hdr_t *h = (cand_hdr_t *)mine;
  h->id = INT64_MAX;
  h->key = 2.0;
  for (int64_t i = 0; i < n; i++) {
    double u = ps_rng_unif(p->seed, S_FIRST + s0, (uint64_t)x->ids[i], 0);
    if (u < h->key || (u == h->key && x->ids[i] < h->id)) {
      h->key = u;
      h->id = x->ids[i];
      memcpy(mine + sizeof(cand_hdr_t), x->X + (size_t)i * (size_t)c, sizeof(float) * (size_t)c);
    }
  }
  char *all = ps_malloc(rb * (size_t)ps_size);
  comm_allgather(mine, all, rb);
  int best = 0;
  for (int r = 1; r < ps_size; r++) {
    cand_hdr_t *a = (cand_hdr_t *)(all + rb * (size_t)r), *b = (cand_hdr_t *)(all + rb * (size_t)best);
    if (a->key < b->key || (a->key == b->key && a->id < b->id)) best = r;
  }
  int64_t ncand = 1, cap = 64;
  float *cand = ps_malloc(sizeof(float) * (size_t)cap * (size_t)c);
  memcpy(cand, all + rb * (size_t)best + sizeof(cand_hdr_t), sizeof(float) * (size_t)c);
  free(all);
  free(mine);
  double *cn = ps_malloc(sizeof(double) * (size_t)cap);
  cn[0] = km_norm2(cand, c);
  for (int64_t i = 0; i < n; i++) mind2[i] = INFINITY;
  min_update(x, cand, cn, 1, mind2, lab, d2);
  double l = p->oversample * k;
  for (int round = 1; round <= p->rounds; round++) {
    int64_t phi = 0;
    for (int64_t i = 0; i < n; i++) phi += km_fix_d2(mind2[i]);
    comm_allreduce_sum_i64(&phi, 1);
    if (phi == 0) break;
    double phid = (double)phi / KM_FIX_D2;
    int64_t cnt = 0;
    char *sel = NULL;
    for (int64_t i = 0; i < n; i++) {
      double pr = l * mind2[i] / phid;
      if (mind2[i] > 0 && ps_rng_unif(p->seed, S_ROUND + s0, (uint64_t)x->ids[i], (uint64_t)round) < pr) {
        sel = ps_realloc(sel, rb * (size_t)(cnt + 1));
        cand_hdr_t *hh = (cand_hdr_t *)(sel + rb * (size_t)cnt);
        hh->id = x->ids[i];
        hh->key = 0;
        memcpy(sel + rb * (size_t)cnt + sizeof(cand_hdr_t), x->X + (size_t)i * (size_t)c, sizeof(float) * (size_t)c);
        cnt++;
      }
    }
    int64_t tot = 0;
    char *g = gather_all(sel, cnt, c, &tot);
    free(sel);
    if (ncand + tot > cap) {
      while (ncand + tot > cap) cap *= 2;
      cand = ps_realloc(cand, sizeof(float) * (size_t)cap * (size_t)c);
      cn = ps_realloc(cn, sizeof(double) * (size_t)cap);
    }
    for (int64_t t = 0; t < tot; t++) {
      memcpy(cand + (size_t)(ncand + t) * (size_t)c, g + rb * (size_t)t + sizeof(cand_hdr_t),
             sizeof(float) * (size_t)c);
      cn[ncand + t] = km_norm2(cand + (size_t)(ncand + t) * (size_t)c, c);
    }
    free(g);
    if (tot > 0) min_update(x, cand + (size_t)ncand * (size_t)c, cn + ncand, (int)tot, mind2, lab, d2);
    ncand += tot;
  }
  /* weights: rows nearest to each candidate (lowest index on ties) */
  int64_t *w = ps_calloc((size_t)ncand, sizeof(int64_t));
  {
    double *best_d = ps_malloc(sizeof(double) * nn);
    int64_t *best_j = ps_malloc(sizeof(int64_t) * nn);
    for (int64_t i = 0; i < n; i++) best_d[i] = INFINITY, best_j[i] = 0;
    for (int64_t j0 = 0; j0 < ncand; j0 += 256) {
      int mm = ncand - j0 < 256 ? (int)(ncand - j0) : 256;
      assign_all(x, cand + (size_t)j0 * (size_t)c, cn + j0, mm, lab, d2);
      for (int64_t i = 0; i < n; i++)
        if (d2[i] < best_d[i]) best_d[i] = d2[i], best_j[i] = j0 + lab[i];
    }
    for (int64_t i = 0; i < n; i++) w[best_j[i]]++;
    free(best_d);
    free(best_j);
  }
  comm_allreduce_sum_i64(w, (size_t)ncand);
  /* weighted k-means++ on the candidates: the same on every rank */
  double *cd = ps_malloc(sizeof(double) * (size_t)ncand);
  int64_t W = 0;
  for (int64_t j = 0; j < ncand; j++) W += w[j];
  double u = ps_rng_unif(p->seed, S_PP + s0, 0, 0) * (double)W, acc = 0;
  int64_t pick = ncand - 1;
  for (int64_t j = 0; j < ncand; j++) {
    acc += (double)w[j];
    if (u < acc) {
      pick = j;
      break;
    }
  }
  /* greedy k-means++ (as scikit-learn): 2 + log k draws a step, the one
   * that lowers the weighted potential most is kept */
  int trials = 2 + (int)log((double)k);
  double *nd = ps_malloc(sizeof(double) * (size_t)ncand), *bd = ps_malloc(sizeof(double) * (size_t)ncand);
  for (int64_t j = 0; j < ncand; j++) cd[j] = INFINITY;
  double tot = 0;
  for (int q = 0; q < k; q++) {
    const float *pc = cand + (size_t)pick * (size_t)c;
    for (int64_t t = 0; t < c; t++) C[(size_t)q * (size_t)c + (size_t)t] = pc[t];
    if (q == k - 1) break;
    if (q == 0) {
      tot = 0;
      for (int64_t j = 0; j < ncand; j++) {
        cd[j] = cand_d2(cand, c, j, pick);
        tot += cd[j] * (double)w[j];
      }
    }
    if (!(tot > 0))
      ps_die_all(PS_EXIT_USAGE,
                 "segment: only %lld distinct rows (after standardization) but --k %d: k must be at most the number "
                 "of distinct rows",
                 (long long)(q + 1), k);
    double best_tot = INFINITY;
    int64_t best_pick = -1;
    for (int tr = 0; tr < trials; tr++) {
      u = ps_rng_unif(p->seed, S_PP + s0, (uint64_t)q + 1, (uint64_t)tr) * tot;
      acc = 0;
      int64_t pk = -1;
      for (int64_t j = 0; j < ncand; j++) {
        acc += cd[j] * (double)w[j];
        if (cd[j] * (double)w[j] > 0) {
          pk = j;
          if (u < acc) break;
        }
      }
      double nt = 0;
      for (int64_t j = 0; j < ncand; j++) {
        double e = cand_d2(cand, c, j, pk);
        nd[j] = e < cd[j] ? e : cd[j];
        nt += nd[j] * (double)w[j];
      }
      if (nt < best_tot) {
        best_tot = nt;
        best_pick = pk;
        double *sw = bd;
        bd = nd;
        nd = sw;
      }
    }
    pick = best_pick;
    memcpy(cd, bd, sizeof(double) * (size_t)ncand);
    tot = best_tot;
  }
  free(nd);
  free(bd);
  /* weighted Lloyd on the candidates (the k-means|| recluster step): the
   * same double arithmetic on every rank */
  int32_t *ca = ps_malloc(sizeof(int32_t) * (size_t)ncand);
  double *sum = ps_malloc(sizeof(double) * (size_t)k * (size_t)c), *ws = ps_malloc(sizeof(double) * (size_t)k);
  for (int64_t j = 0; j < ncand; j++) ca[j] = -1;
  for (int it = 0; it < 100; it++) {
    int changed = 0;
    for (int64_t j = 0; j < ncand; j++) {
      const float *xj = cand + (size_t)j * (size_t)c;
      double bd2 = INFINITY;
      int32_t bq = 0;
      for (int q = 0; q < k; q++) {
        const double *cq = C + (size_t)q * (size_t)c;
        double s = 0;
        for (int64_t t = 0; t < c; t++) {
          double e = (double)xj[t] - cq[t];
          s += e * e;
        }
        if (s < bd2) bd2 = s, bq = q;
      }
      changed += ca[j] != bq;
      ca[j] = bq;
    }
    if (!changed) break;
    memset(sum, 0, sizeof(double) * (size_t)k * (size_t)c);
    memset(ws, 0, sizeof(double) * (size_t)k);
    for (int64_t j = 0; j < ncand; j++) {
      ws[ca[j]] += (double)w[j];
      for (int64_t t = 0; t < c; t++) sum[(size_t)ca[j] * (size_t)c + (size_t)t] += (double)w[j] * cand[(size_t)j * (size_t)c + (size_t)t];
    }
    for (int q = 0; q < k; q++)
      if (ws[q] > 0)
        for (int64_t t = 0; t < c; t++) C[(size_t)q * (size_t)c + (size_t)t] = sum[(size_t)q * (size_t)c + (size_t)t] / ws[q];
  }
  free(ca), free(sum), free(ws);
  free(cd);
  free(w);
  free(cand);
  free(cn);
  free(mind2);
  free(d2);
  free(lab);
  return ncand;
}

/* Re-seed empty clusters with the rows farthest from their centers
 * (largest d2, lowest id on ties), the same on every rank. */
typedef struct {
  cand_hdr_t h;
} far_t;
static int far_cmp(const void *a, const void *b) {
  const cand_hdr_t *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}
static void reseed(ctx_t *x, const double *d2, const int *empty, int m, double *C) {
  int64_t c = x->c;
  size_t rb = rec_bytes(c);
  char *mine = ps_calloc((size_t)m, rb);
  for (int q = 0; q < m; q++) {
    cand_hdr_t *h = (cand_hdr_t *)(mine + rb * (size_t)q);
    h->key = -1;
    h->id = INT64_MAX;
  }
  for (int64_t i = 0; i < x->n; i++) {
    cand_hdr_t cur = {x->ids[i], d2[i]};
    cand_hdr_t *last = (cand_hdr_t *)(mine + rb * (size_t)(m - 1));
    if (far_cmp(&cur, last) >= 0) continue;
    int q = m - 1;
    while (q > 0 && far_cmp(&cur, mine + rb * (size_t)(q - 1)) < 0) {
      memcpy(mine + rb * (size_t)q, mine + rb * (size_t)(q - 1), rb);
      q--;
    }
    memcpy(mine + rb * (size_t)q, &cur, sizeof cur);
    memcpy(mine + rb * (size_t)q + sizeof(cand_hdr_t), x->X + (size_t)i * (size_t)c, sizeof(float) * (size_t)c);
  }
  char *all = ps_malloc(rb * (size_t)m * (size_t)ps_size);
  comm_allgather(mine, all, rb * (size_t)m);
  qsort(all, (size_t)m * (size_t)ps_size, rb, far_cmp);
  for (int q = 0; q < m; q++) {
    const float *v = (const float *)(all + rb * (size_t)q + sizeof(cand_hdr_t));
    for (int64_t t = 0; t < c; t++) C[(size_t)empty[q] * (size_t)c + (size_t)t] = v[t];
  }
  free(all);
  free(mine);
}

/* Lloyd iterations from C; returns the inertia (fixed point) of the final assignment. */
static int64_t lloyd(ctx_t *x, const km_params_t *p, double *C, int *iters, int *reseeded, int32_t *lab, double *d2) {
  int k = p->k;
  int64_t c = x->c, n = x->n;
  float *Cf = ps_malloc(sizeof(float) * (size_t)k * (size_t)c);
  double *cn = ps_malloc(sizeof(double) * (size_t)k);
  int64_t *acc = ps_malloc(sizeof(int64_t) * ((size_t)k * (size_t)c + (size_t)k + 1));
  int *empty = ps_malloc(sizeof(int) * (size_t)k);
  int64_t prev = -1;
  int it;
  for (it = 0; it < p->max_iter; it++) {
    centers_f32(C, k, c, Cf, cn);
    x->be->assign(x->be, Cf, cn, k, lab, d2);
    memset(acc, 0, sizeof(int64_t) * ((size_t)k * (size_t)c + (size_t)k + 1));
    x->be->update(x->be, lab, d2, k, acc);
    comm_allreduce_sum_i64(acc, (size_t)k * (size_t)c + (size_t)k + 1);
    int64_t *cnt = acc + (size_t)k * (size_t)c, inertia = cnt[k];
    int m = 0;
    for (int j = 0; j < k; j++) {
      if (cnt[j] == 0) {
        empty[m++] = j;
        continue;
      }
      for (int64_t t = 0; t < c; t++)
        C[(size_t)j * (size_t)c + (size_t)t] = (double)acc[(size_t)j * (size_t)c + (size_t)t] / KM_FIX_X / (double)cnt[j];
    }
    if (m > 0) {
      reseed(x, d2, empty, m, C);
      *reseeded += m;
    }
    int done = m == 0 && prev >= 0 &&
               (inertia == 0 || fabs((double)(prev - inertia)) <= p->tol * (double)inertia);
    prev = inertia;
    if (done) {
      it++;
      break;
    }
  }
  *iters = it;
  km_predict(x->X, n, c, C, k, lab, d2);
  int64_t fin = 0;
  for (int64_t i = 0; i < n; i++) fin += km_fix_d2(d2[i]);
  comm_allreduce_sum_i64(&fin, 1);
  free(Cf);
  free(cn);
  free(acc);
  free(empty);
  return fin;
}

void km_predict(const float *X, int64_t n, int64_t c, const double *C, int k, int32_t *label, double *d2) {
  float *Cf = ps_malloc(sizeof(float) * (size_t)k * (size_t)c);
  double *cn = ps_malloc(sizeof(double) * (size_t)k);
  centers_f32(C, k, c, Cf, cn);
  double *xn = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  km_norms_cpu(X, n, c, xn);
  /* the assignment of the Lloyd iterations (fused panels or OpenBLAS), so a
   * saved model puts a row where the fit did; panels packed a chunk at a
   * time (a row's result does not depend on its place) */
  enum { CHUNK = 1 << 16 };
  float *P = km_panels_new(X, n < CHUNK ? n : CHUNK, c);
  if (P) {
    for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
      int64_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
      km_pack_panels(X + (size_t)i0 * (size_t)c, m, c, P);
      km_assign_panels_cpu(P, xn + i0, m, c, Cf, cn, k, label + i0, d2 + i0);
    }
    free(P);
  } else {
    float *work = ps_malloc(sizeof(float) * (size_t)km_assign_work(c, k));
    km_assign_cpu(X, xn, n, c, Cf, cn, k, label, d2, work);
    free(work);
  }
  free(xn);
  km_exact_d2_cpu(X, n, c, C, label, d2);
  free(Cf);
  free(cn);
}

void km_fit(const float *X, const int64_t *ids, int64_t n, int64_t c, const km_params_t *p, km_result_t *r) {
  int k = p->k;
  size_t nn = (size_t)(n > 0 ? n : 1);
  float *panels = km_panels_new(X, n, c);
  ctx_t x = {X, ids, n, c, ps_malloc(sizeof(float) * (size_t)km_assign_work(c, k > 256 ? k : 256)), NULL,
             ps_malloc(sizeof(double) * nn), panels};
  km_norms_cpu(X, n, c, x.xnorm);
  x.be = p->cuda ? km_backend_cuda(X, n, c, k) : km_backend_cpu(X, panels, n, c, k);
  if (!x.be) ps_die_all(PS_EXIT_USAGE, "segment: --device cuda: this build has no CUDA");
  double *C = ps_malloc(sizeof(double) * (size_t)k * (size_t)c);
  int32_t *lab = ps_malloc(sizeof(int32_t) * nn);
  double *d2 = ps_malloc(sizeof(double) * nn);
  memset(r, 0, sizeof *r);
  r->k = k;
  r->c = c;
  r->centers = ps_malloc(sizeof(double) * (size_t)k * (size_t)c);
  r->sizes = ps_calloc((size_t)k, sizeof(int64_t));
  int64_t best = INT64_MAX;
  for (int s = 0; s < p->n_init; s++) {
    double t0 = ps_now();
    int64_t ncand = init_parallel(&x, p, s, C);
    double t1 = ps_now();
    int iters = 0, res = 0;
    int64_t in = lloyd(&x, p, C, &iters, &res, lab, d2);
    double t2 = ps_now();
    ps_log("segment: k %d restart %d: %lld candidates, %d iterations, inertia %.9g, %d re-seeded; init %.3f s, "
           "Lloyd %.3f s (%.4f s/iteration, %s)",
           k, s, (long long)ncand, iters, (double)in / KM_FIX_D2, res, t1 - t0, t2 - t1,
           (t2 - t1) / (iters > 0 ? iters : 1), x.be->name);
    if (in < best) {
      best = in;
      memcpy(r->centers, C, sizeof(double) * (size_t)k * (size_t)c);
      r->iterations = iters;
      r->restart = s;
      r->reseeded = res;
      r->candidates = ncand;
      memset(r->sizes, 0, sizeof(int64_t) * (size_t)k);
      for (int64_t i = 0; i < n; i++) r->sizes[lab[i]]++;
    }
  }
  comm_allreduce_sum_i64(r->sizes, (size_t)k);
  r->inertia = (double)best / KM_FIX_D2;
  free(C);
  free(lab);
  free(d2);
  free(x.work);
  free(x.xnorm);
  x.be->destroy(x.be);
  free(panels);
}

void km_result_free(km_result_t *r) {
  free(r->centers);
  free(r->sizes);
  memset(r, 0, sizeof *r);
}
