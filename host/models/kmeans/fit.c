/* fit.c: k-means|| initialization and Lloyd iterations (see fit.h). */
#include "models/kmeans/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"
#include "kmeans/kmeans_cpu.h"

/* rng streams (per restart: stream + 16 * restart) */
enum { S_FIRST = 1, S_ROUND = 2, S_PP = 3 };

typedef struct {
  const km_rows_t *rows;
  const float *X;
  int64_t n, c;
  float *work;
  km_backend_t *be;
  double *xnorm;
} ctx_t;

/* Nearest of m centers for every row of this rank: the fused panel kernel
 * where the rows are packed, else OpenBLAS blocks (the same path for the
 * CPU and the CUDA backend, so both start from the same centers). */
static void assign_all(ctx_t *x, const float *Cf, const double *cnorm, int m, int32_t *lab, double *d2) {
  if (x->rows->panels)
    km_assign_panels_cpu(x->rows->panels, x->xnorm, x->n, x->c, Cf, cnorm, m, lab, d2);
  else
    km_assign_cpu(x->X, x->xnorm, x->n, x->c, Cf, cnorm, m, lab, d2, x->work);
}

/* A record exchanged between ranks: a candidate center's header, then its
 * row's values, padded to 8 bytes so that every record of an array is
 * aligned for the header (an odd column count made it misaligned). */
typedef struct {
  int64_t id;
  double key; /* sort key (u or d2) */
} cand_hdr_t;

static size_t rec_bytes(int64_t c) { return sizeof(cand_hdr_t) + ((sizeof(float) * (size_t)c + 7) & ~(size_t)7); }

/* Record r of an array: its header (a copy) and its values. */
static cand_hdr_t rec_hdr(const char *recs, size_t rb, int64_t r) {
  cand_hdr_t h;
  memcpy(&h, recs + rb * (size_t)r, sizeof h);
  return h;
}
static const float *rec_values(const char *recs, size_t rb, int64_t r) {
  return (const float *)(recs + rb * (size_t)r + sizeof(cand_hdr_t));
}
static void rec_set(char *recs, size_t rb, int64_t r, cand_hdr_t h, const float *v, int64_t c) {
  memset(recs + rb * (size_t)r, 0, rb);
  memcpy(recs + rb * (size_t)r, &h, sizeof h);
  if (v) memcpy(recs + rb * (size_t)r + sizeof(cand_hdr_t), v, sizeof(float) * (size_t)c);
}

static void centers_f32(const double *C, int k, int64_t c, float *Cf, double *cnorm) {
  for (int j = 0; j < k; j++) {
    for (int64_t t = 0; t < c; t++) Cf[(size_t)j * (size_t)c + (size_t)t] = (float)C[(size_t)j * (size_t)c + (size_t)t];
    cnorm[j] = km_norm2(Cf + (size_t)j * (size_t)c, c);
  }
}

/* Gather every rank's records (each rec_bytes(c)) to all ranks, sorted by id. */
static int id_cmp(const void *a, const void *b) {
  int64_t x = rec_hdr(a, 0, 0).id, y = rec_hdr(b, 0, 0).id;
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

/* The k-means|| candidates: rows (float32) and their squared norms. */
typedef struct {
  float *v;
  double *norm;
  int64_t n, cap, c;
} cands_t;

static void cands_push(cands_t *s, const float *v) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->v = ps_realloc(s->v, sizeof(float) * (size_t)s->cap * (size_t)s->c);
    s->norm = ps_realloc(s->norm, sizeof(double) * (size_t)s->cap);
  }
  float *to = s->v + (size_t)s->n * (size_t)s->c;
  memcpy(to, v, sizeof(float) * (size_t)s->c);
  s->norm[s->n++] = km_norm2(to, s->c);
}

static double cand_d2(const cands_t *s, int64_t a, int64_t b) {
  const float *x = s->v + (size_t)a * (size_t)s->c, *y = s->v + (size_t)b * (size_t)s->c;
  double d = 0;
  for (int64_t t = 0; t < s->c; t++) {
    double e = (double)x[t] - (double)y[t];
    d += e * e;
  }
  return d;
}

/* The first candidate: the row with the smallest hash of its id. */
static void first_candidate(ctx_t *x, const km_params_t *p, uint64_t s0, cands_t *cs) {
  size_t rb = rec_bytes(x->c);
  cand_hdr_t h = {.id = INT64_MAX, .key = 2.0};
  const float *row = NULL;
  for (int64_t i = 0; i < x->n; i++) {
    double u = ps_rng_unif(p->seed, S_FIRST + s0, (uint64_t)x->rows->ids[i], 0);
    if (u < h.key || (u == h.key && x->rows->ids[i] < h.id)) {
      h.key = u;
      h.id = x->rows->ids[i];
      row = x->X + (size_t)i * (size_t)x->c;
    }
  }
  char *mine = ps_malloc(rb), *all = ps_malloc(rb * (size_t)ps_size);
  rec_set(mine, rb, 0, h, row, x->c);
  comm_allgather(mine, all, rb);
  int best = 0;
  for (int r = 1; r < ps_size; r++) {
    cand_hdr_t a = rec_hdr(all, rb, r), b = rec_hdr(all, rb, best);
    if (a.key < b.key || (a.key == b.key && a.id < b.id)) best = r;
  }
  cands_push(cs, rec_values(all, rb, best));
  free(all);
  free(mine);
}

/* The k-means|| rounds: each row joins with probability l d2 / phi, for
 * l = oversample x k; mind2 [n] is every row's d2 to the candidates. */
static void candidate_rounds(ctx_t *x, const km_params_t *p, uint64_t s0, cands_t *cs, double *mind2, int32_t *lab,
                             double *d2) {
  int64_t n = x->n, c = x->c;
  size_t rb = rec_bytes(c);
  double l = p->oversample * p->k;
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
      if (mind2[i] > 0 && ps_rng_unif(p->seed, S_ROUND + s0, (uint64_t)x->rows->ids[i], (uint64_t)round) < pr) {
        sel = ps_realloc(sel, rb * (size_t)(cnt + 1));
        rec_set(sel, rb, cnt++, (cand_hdr_t){.id = x->rows->ids[i]}, x->X + (size_t)i * (size_t)c, c);
      }
    }
    int64_t tot = 0, was = cs->n;
    char *g = gather_all(sel, cnt, c, &tot);
    free(sel);
    for (int64_t t = 0; t < tot; t++) cands_push(cs, rec_values(g, rb, t));
    free(g);
    if (tot > 0) min_update(x, cs->v + (size_t)was * (size_t)c, cs->norm + was, (int)tot, mind2, lab, d2);
  }
}

/* Weights: the rows nearest to each candidate (lowest index on ties), summed over ranks. */
static int64_t *candidate_weights(ctx_t *x, const cands_t *cs, int32_t *lab, double *d2) {
  int64_t n = x->n, ncand = cs->n;
  size_t nn = (size_t)(n > 0 ? n : 1);
  int64_t *w = ps_calloc((size_t)ncand, sizeof(int64_t));
  double *best_d = ps_malloc(sizeof(double) * nn);
  int64_t *best_j = ps_malloc(sizeof(int64_t) * nn);
  for (int64_t i = 0; i < n; i++) best_d[i] = INFINITY, best_j[i] = 0;
  for (int64_t j0 = 0; j0 < ncand; j0 += 256) {
    int mm = ncand - j0 < 256 ? (int)(ncand - j0) : 256;
    assign_all(x, cs->v + (size_t)j0 * (size_t)x->c, cs->norm + j0, mm, lab, d2);
    for (int64_t i = 0; i < n; i++)
      if (d2[i] < best_d[i]) best_d[i] = d2[i], best_j[i] = j0 + lab[i];
  }
  for (int64_t i = 0; i < n; i++) w[best_j[i]]++;
  free(best_d);
  free(best_j);
  comm_allreduce_sum_i64(w, (size_t)ncand);
  return w;
}

/* One greedy k-means++ trial: the candidate that u (in [0, total weighted
 * potential)) falls on; nd = the potentials with it added, returns their sum. */
static double pp_trial(const cands_t *cs, const int64_t *w, const double *cd, double u, int64_t *pick, double *nd) {
  double acc = 0;
  int64_t pk = -1;
  for (int64_t j = 0; j < cs->n; j++) {
    acc += cd[j] * (double)w[j];
    if (cd[j] * (double)w[j] > 0) {
      pk = j;
      if (u < acc) break;
    }
  }
  double nt = 0;
  for (int64_t j = 0; j < cs->n; j++) {
    double e = cand_d2(cs, j, pk);
    nd[j] = e < cd[j] ? e : cd[j];
    nt += nd[j] * (double)w[j];
  }
  *pick = pk;
  return nt;
}

/* Weighted k-means++ on the candidates, the same on every rank: the first
 * drawn by weight, then greedy (as scikit-learn): 2 + log k draws a step,
 * the one that lowers the weighted potential most is kept. C [k][c]. */
static void pp_seed(const cands_t *cs, const int64_t *w, const km_params_t *p, uint64_t s0, double *C) {
  int64_t ncand = cs->n, c = cs->c, W = 0;
  int k = p->k;
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
  int trials = 2 + (int)log((double)k);
  double *cd = ps_malloc(sizeof(double) * (size_t)ncand), *nd = ps_malloc(sizeof(double) * (size_t)ncand),
         *bd = ps_malloc(sizeof(double) * (size_t)ncand), tot = 0;
  for (int q = 0; q < k; q++) {
    const float *pc = cs->v + (size_t)pick * (size_t)c;
    for (int64_t t = 0; t < c; t++) C[(size_t)q * (size_t)c + (size_t)t] = pc[t];
    if (q == k - 1) break;
    if (q == 0)
      for (int64_t j = 0; j < ncand; j++) {
        cd[j] = cand_d2(cs, j, pick);
        tot += cd[j] * (double)w[j];
      }
    if (!(tot > 0))
      ps_die_all(PS_EXIT_USAGE,
                 "segment: only %lld distinct rows (after standardization) but --k %d: k must be at most the number "
                 "of distinct rows",
                 (long long)(q + 1), k);
    double best_tot = INFINITY;
    int64_t best_pick = -1;
    for (int tr = 0; tr < trials; tr++) {
      int64_t pk;
      double nt = pp_trial(cs, w, cd, ps_rng_unif(p->seed, S_PP + s0, (uint64_t)q + 1, (uint64_t)tr) * tot, &pk, nd);
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
  free(cd), free(nd), free(bd);
}

/* Weighted Lloyd on the candidates (the k-means|| recluster step) from C:
 * the same double arithmetic on every rank. */
static void recluster(const cands_t *cs, const int64_t *w, int k, double *C) {
  int64_t ncand = cs->n, c = cs->c;
  const float *cand = cs->v;
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
}

/* k-means||: candidates then weighted k-means++ down to k centers C [k][c]
 * and the recluster step; returns the number of candidates. */
static int64_t init_parallel(ctx_t *x, const km_params_t *p, int restart, double *C) {
  uint64_t s0 = 16 * (uint64_t)restart;
  size_t nn = (size_t)(x->n > 0 ? x->n : 1);
  double *mind2 = ps_malloc(sizeof(double) * nn), *d2 = ps_malloc(sizeof(double) * nn);
  int32_t *lab = ps_malloc(sizeof(int32_t) * nn);
  cands_t cs = {.c = x->c};
  first_candidate(x, p, s0, &cs);
  for (int64_t i = 0; i < x->n; i++) mind2[i] = INFINITY;
  min_update(x, cs.v, cs.norm, 1, mind2, lab, d2);
  candidate_rounds(x, p, s0, &cs, mind2, lab, d2);
  int64_t *w = candidate_weights(x, &cs, lab, d2);
  pp_seed(&cs, w, p, s0, C);
  recluster(&cs, w, p->k, C);
  int64_t ncand = cs.n;
  free(w), free(cs.v), free(cs.norm);
  free(mind2), free(d2), free(lab);
  return ncand;
}

/* Re-seed empty clusters with the rows farthest from their centers
 * (largest d2, lowest id on ties), the same on every rank. */
static int far_cmp(const void *a, const void *b) {
  cand_hdr_t x = rec_hdr(a, 0, 0), y = rec_hdr(b, 0, 0);
  if (x.key != y.key) return x.key > y.key ? -1 : 1;
  return x.id < y.id ? -1 : x.id > y.id;
}
static void reseed(ctx_t *x, const double *d2, const int *empty, int m, double *C) {
  int64_t c = x->c;
  size_t rb = rec_bytes(c);
  char *mine = ps_malloc((size_t)m * rb), *cur = ps_malloc(rb);
  for (int q = 0; q < m; q++) rec_set(mine, rb, q, (cand_hdr_t){.id = INT64_MAX, .key = -1}, NULL, c);
  for (int64_t i = 0; i < x->n; i++) {
    rec_set(cur, rb, 0, (cand_hdr_t){.id = x->rows->ids[i], .key = d2[i]}, NULL, c);
    if (far_cmp(cur, mine + rb * (size_t)(m - 1)) >= 0) continue;
    int q = m - 1;
    while (q > 0 && far_cmp(cur, mine + rb * (size_t)(q - 1)) < 0) {
      memcpy(mine + rb * (size_t)q, mine + rb * (size_t)(q - 1), rb);
      q--;
    }
    rec_set(mine, rb, q, rec_hdr(cur, rb, 0), x->X + (size_t)i * (size_t)c, c);
  }
  char *all = ps_malloc(rb * (size_t)m * (size_t)ps_size);
  comm_allgather(mine, all, rb * (size_t)m);
  qsort(all, (size_t)m * (size_t)ps_size, rb, far_cmp);
  for (int q = 0; q < m; q++) {
    const float *v = rec_values(all, rb, q);
    for (int64_t t = 0; t < c; t++) C[(size_t)empty[q] * (size_t)c + (size_t)t] = v[t];
  }
  free(all);
  free(mine);
  free(cur);
}

/* One Lloyd iteration from the state's centers: new centers (empty clusters
 * re-seeded); returns the inertia (fixed point) of its assignment, *m the
 * clusters re-seeded. acc [k*c + k + 1], Cf [k][c], cn [k], empty [k]: work. */
static int64_t lloyd_step(ctx_t *x, int k, double *C, int32_t *lab, double *d2, int64_t *acc, float *Cf, double *cn,
                          int *empty, int *m) {
  int64_t c = x->c;
  centers_f32(C, k, c, Cf, cn);
  memset(acc, 0, sizeof(int64_t) * ((size_t)k * (size_t)c + (size_t)k + 1));
  x->be->step(x->be, Cf, cn, k, lab, d2, acc);
  comm_allreduce_sum_i64(acc, (size_t)k * (size_t)c + (size_t)k + 1);
  int64_t *cnt = acc + (size_t)k * (size_t)c;
  *m = 0;
  for (int j = 0; j < k; j++) {
    if (cnt[j] == 0) {
      empty[(*m)++] = j;
      continue;
    }
    for (int64_t t = 0; t < c; t++)
      C[(size_t)j * (size_t)c + (size_t)t] = (double)acc[(size_t)j * (size_t)c + (size_t)t] / KM_FIX_X / (double)cnt[j];
  }
  if (*m > 0) {
    x->be->fetch(x->be, lab, d2);
    reseed(x, d2, empty, *m, C);
  }
  return cnt[k];
}

/* Lloyd iterations of the restart under way, from where the state stands:
 * 1 when a hook stopped them, else 0 with the final assignment in lab, d2
 * and its inertia (fixed point) in *fin. */
static int lloyd(ctx_t *x, const km_params_t *p, const km_hooks_t *hk, km_state_t *st, int32_t *lab, double *d2,
                 int64_t *fin) {
  int k = p->k;
  int64_t c = x->c, n = x->n;
  float *Cf = ps_malloc(sizeof(float) * (size_t)k * (size_t)c);
  double *cn = ps_malloc(sizeof(double) * (size_t)k);
  int64_t *acc = ps_malloc(sizeof(int64_t) * ((size_t)k * (size_t)c + (size_t)k + 1));
  int *empty = ps_malloc(sizeof(int) * (size_t)k);
  int stopped = 0;
  while (st->iteration < p->max_iter) {
    int m = 0;
    int64_t inertia = lloyd_step(x, k, st->centers, lab, d2, acc, Cf, cn, empty, &m);
    st->reseeded += m;
    int done = m == 0 && st->prev >= 0 &&
               (inertia == 0 || fabs((double)(st->prev - inertia)) <= p->tol * (double)inertia);
    st->prev = inertia;
    st->iteration++;
    if (done) break;
    if (hk && hk->iteration && hk->iteration(hk->ctx, st)) {
      stopped = 1;
      break;
    }
  }
  free(Cf), free(cn), free(acc), free(empty);
  if (stopped) return 1;
  km_predict(x->X, n, c, st->centers, k, lab, d2);
  *fin = 0;
  for (int64_t i = 0; i < n; i++) *fin += km_fix_d2(d2[i]);
  comm_allreduce_sum_i64(fin, 1);
  return 0;
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

void km_rows_init(km_rows_t *r, const float *X, const int64_t *ids, int64_t n, int64_t c) {
  *r = (km_rows_t){.X = X, .ids = ids, .n = n, .c = c, .panels = km_panels_new(X, n, c)};
}

void km_rows_free(km_rows_t *r) {
  free(r->panels);
  memset(r, 0, sizeof *r);
}

void km_state_init(km_state_t *s, int k, int64_t c) {
  *s = (km_state_t){.iteration = -1, .prev = -1, .best = INT64_MAX, .kept = {.k = k, .c = c}};
  s->centers = ps_calloc((size_t)k * (size_t)c, sizeof(double));
  s->kept.centers = ps_calloc((size_t)k * (size_t)c, sizeof(double));
  s->kept.sizes = ps_calloc((size_t)k, sizeof(int64_t));
}

void km_state_free(km_state_t *s) {
  free(s->centers);
  km_result_free(&s->kept);
  memset(s, 0, sizeof *s);
}

/* The restart just finished is the best so far: keep it. */
static void keep_restart(km_state_t *st, int64_t fin, const int32_t *lab, int64_t n) {
  km_result_t *r = &st->kept;
  st->best = fin;
  memcpy(r->centers, st->centers, sizeof(double) * (size_t)r->k * (size_t)r->c);
  r->iterations = st->iteration;
  r->restart = st->restart;
  r->reseeded = st->reseeded;
  r->candidates = st->candidates;
  memset(r->sizes, 0, sizeof(int64_t) * (size_t)r->k);
  for (int64_t i = 0; i < n; i++) r->sizes[lab[i]]++;
  comm_allreduce_sum_i64(r->sizes, (size_t)r->k);
}

int kmeans_fit(const km_rows_t *rows, const km_params_t *p, km_backend_t *be, const km_hooks_t *hooks,
               km_state_t *st, km_result_t *r) {
  int k = p->k;
  int64_t n = rows->n, c = rows->c;
  size_t nn = (size_t)(n > 0 ? n : 1);
  ctx_t x = {.rows = rows, .X = rows->X, .n = n, .c = c, .be = be,
             .work = ps_malloc(sizeof(float) * (size_t)km_assign_work(c, k > 256 ? k : 256)),
             .xnorm = ps_malloc(sizeof(double) * nn)};
  km_norms_cpu(rows->X, n, c, x.xnorm);
  int32_t *lab = ps_malloc(sizeof(int32_t) * nn);
  double *d2 = ps_malloc(sizeof(double) * nn);
  int stopped = 0;
  for (; st->restart < p->n_init && !stopped; st->restart++) {
    double t0 = ps_now();
    if (st->iteration < 0) {
      st->candidates = init_parallel(&x, p, st->restart, st->centers);
      st->iteration = st->reseeded = 0;
      st->prev = -1;
    }
    double t1 = ps_now();
    int64_t fin = 0;
    if ((stopped = lloyd(&x, p, hooks, st, lab, d2, &fin))) break;
    double t2 = ps_now();
    ps_log("segment: k %d restart %d: %lld candidates, %d iterations, inertia %.9g, %d re-seeded; init %.3f s, "
           "Lloyd %.3f s (%.4f s/iteration, %s)",
           k, st->restart, (long long)st->candidates, st->iteration, (double)fin / KM_FIX_D2, st->reseeded, t1 - t0,
           t2 - t1, (t2 - t1) / (st->iteration > 0 ? st->iteration : 1), be->name);
    if (fin < st->best) keep_restart(st, fin, lab, n);
    st->iteration = -1;
  }
  free(lab), free(d2), free(x.work), free(x.xnorm);
  if (stopped) return 1;
  *r = st->kept;
  r->inertia = (double)st->best / KM_FIX_D2;
  st->kept = (km_result_t){0};
  return 0;
}

void km_result_free(km_result_t *r) {
  free(r->centers);
  free(r->sizes);
  memset(r, 0, sizeof *r);
}
