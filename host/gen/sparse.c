/* sparse.c: gen --density D (see sparse.h). A row touches m ~ Poisson(D*F)
 * distinct columns (at most F), drawn with a skew towards the low columns
 * (popular products: column = floor(F*u^2)), each value a count 1 +
 * floor(Exp(1)). Per target t a planted logistic model on the raw values:
 * 20% of the columns carry a weight N(0,1)*scale (scale: a logit standard
 * deviation of about 1.5; --informative K: the K columns of the smallest
 * selection draws instead), the intercept found by bisection on the first
 * rows (every rank does the same) to hit the target's rate. Above D = 1/2
 * each column is stored with probability D instead. Each rank
 * generates its rows in memory (12 bytes a stored value) and writes them
 * at its offset (a prefix sum of the ranks' stored values). */
#include "gen/sparse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"
#include "gen/synth.h"
#include "io/h5.h"
#include "io/output.h"

enum { ST_COUNT = 21, ST_COL = 22, ST_VAL = 23, ST_COEF = 24 };
#define CALIB_ROWS 20000

typedef struct {
  uint64_t seed;
  int64_t f;
  double lam;
  int k;
  int64_t informative; /* 0: each column weighted with probability 0.2 */
  double *coef; /* [k][f] */
  double *b;    /* [k] intercepts */
} sgen_t;

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Row `row`'s sorted distinct columns and values into idx, val (room for f);
 * its count. The columns: the first m distinct of the draws k = 0, 1, ...
 * (rounds of the missing number of draws, sorted, repeats dropped). */
static int64_t sparse_row(const sgen_t *g, int64_t row, int32_t *idx, float *val) {
  uint64_t r = (uint64_t)row, k = 0;
  int64_t m = 0, f = g->f, got = 0;
  if (2 * g->lam > (double)f) { /* dense rows (D > 1/2): each column by a coin, uniform */
    for (int64_t j = 0; j < f; j++)
      if (ps_rng_unif(g->seed, ST_COL, r, (uint64_t)j) * (double)f < g->lam) idx[m++] = (int32_t)j;
    got = m;
  } else {
    m = (int64_t)ps_rng_poisson(g->lam, g->seed, ST_COUNT, r, 0);
  }
  while (got < m) {
    while (got < m) {
      double u = ps_rng_unif(g->seed, ST_COL, r, k++);
      int32_t j = (int32_t)((double)f * (2 * m > f ? u : u * u)); /* popular columns first */
      idx[got++] = j < f ? j : (int32_t)(f - 1);
    }
    qsort(idx, (size_t)m, sizeof(int32_t), cmp_i32);
    int64_t u = 0;
    for (int64_t q = 0; q < m; q++)
      if (u == 0 || idx[q] != idx[u - 1]) idx[u++] = idx[q];
    got = u;
  }
  for (int64_t q = 0; q < m; q++)
    val[q] = (float)(1.0 + floor(-log(ps_rng_unif(g->seed, ST_VAL, r, (uint64_t)idx[q]))));
  return m;
}

static double row_logit(const sgen_t *g, int t, const int32_t *idx, const float *val, int64_t m) {
  double z = 0;
  for (int64_t q = 0; q < m; q++) z += g->coef[(size_t)t * (size_t)g->f + (size_t)idx[q]] * (double)val[q];
  return z;
}

typedef struct {
  double u;
  int64_t j;
} draw_t;

static int cmp_draw(const void *a, const void *b) {
  const draw_t *x = a, *y = b;
  if (x->u != y->u) return x->u < y->u ? -1 : 1;
  return (x->j > y->j) - (x->j < y->j);
}

/* on[j] = 1 for the columns target t weights: a column's selection draw
 * below 0.2, or with --informative K the K smallest draws (ties: the lower
 * column), the same draws either way. */
static void planted_support(const sgen_t *g, int t, uint8_t *on) {
  draw_t *d = ps_malloc(sizeof(draw_t) * (size_t)g->f);
  for (int64_t j = 0; j < g->f; j++) {
    d[j] = (draw_t){.u = ps_rng_unif(g->seed, ST_COEF, (uint64_t)t, 2 * (uint64_t)j), .j = j};
    on[j] = d[j].u < 0.2;
  }
  if (g->informative > 0) {
    qsort(d, (size_t)g->f, sizeof(draw_t), cmp_draw);
    memset(on, 0, (size_t)g->f);
    for (int64_t q = 0; q < g->informative; q++) on[d[q].j] = 1;
  }
  free(d);
}

/* Planted weights and the intercepts that give each target its rate on the first rows. */
static void sgen_init(sgen_t *g, const gen_opts_t *o, const synth_t *s) {
  g->seed = o->seed;
  g->f = o->features;
  g->lam = o->density * (double)o->features;
  g->k = s->k;
  g->informative = o->informative;
  double frac = o->informative > 0 ? (double)o->informative / (double)o->features : 0.2;
  double ex2 = 3.5, scale = 1.5 / sqrt(fmax(1.0, frac * g->lam * ex2));
  g->coef = ps_calloc((size_t)g->k * (size_t)g->f, sizeof(double));
  g->b = ps_calloc((size_t)g->k, sizeof(double));
  uint8_t *on = ps_malloc((size_t)g->f);
  for (int t = 0; t < g->k; t++) {
    planted_support(g, t, on);
    for (int64_t j = 0; j < g->f; j++)
      if (on[j])
        g->coef[(size_t)t * (size_t)g->f + (size_t)j] = scale * ps_rng_normal(g->seed, ST_COEF, 1000 + (uint64_t)t, 2 * (uint64_t)j);
  }
  free(on);
  int64_t nc = o->rows < CALIB_ROWS ? o->rows : CALIB_ROWS;
  int32_t *idx = ps_malloc(sizeof(int32_t) * (size_t)g->f);
  float *val = ps_malloc(sizeof(float) * (size_t)g->f);
  double *z = ps_malloc(sizeof(double) * (size_t)nc * (size_t)g->k);
  for (int64_t i = 0; i < nc; i++) {
    int64_t m = sparse_row(g, i, idx, val);
    for (int t = 0; t < g->k; t++) z[(size_t)i * (size_t)g->k + (size_t)t] = row_logit(g, t, idx, val, m);
  }
  for (int t = 0; t < g->k; t++) {
    double lo = -30, hi = 30;
    for (int it = 0; it < 80; it++) {
      double mid = 0.5 * (lo + hi), mean = 0;
      for (int64_t i = 0; i < nc; i++) mean += 1.0 / (1.0 + exp(-(mid + z[(size_t)i * (size_t)g->k + (size_t)t])));
      if (mean / (double)nc < s->rate[t]) lo = mid;
      else hi = mid;
    }
    g->b[t] = 0.5 * (lo + hi);
  }
  free(idx);
  free(val);
  free(z);
}

/* A rank's rows: CSR (ptr from 0), ids, labels and true probabilities [k][n]. */
typedef struct {
  int64_t row0, n, nnz, cap;
  int64_t *ptr, *ids;
  int32_t *idx;
  float *val, *prob;
  uint8_t *lab;
} srows_t;

static void gen_rows_sparse(const sgen_t *g, const synth_t *s, srows_t *r) {
  int64_t n = r->n, k = g->k;
  size_t nn = (size_t)(n > 0 ? n : 1);
  r->ptr = ps_malloc(sizeof(int64_t) * (nn + 1));
  r->ids = ps_malloc(sizeof(int64_t) * nn);
  r->prob = ps_malloc(sizeof(float) * nn * (size_t)k);
  r->lab = ps_malloc(nn * (size_t)k);
  r->cap = (int64_t)((double)n * g->lam * 1.1) + g->f + 16;
  r->idx = ps_malloc(sizeof(int32_t) * (size_t)r->cap);
  r->val = ps_malloc(sizeof(float) * (size_t)r->cap);
  r->ptr[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t row = r->row0 + i, p = r->ptr[i];
    if (p + g->f > r->cap) {
      r->cap = 2 * r->cap + g->f;
      r->idx = ps_realloc(r->idx, sizeof(int32_t) * (size_t)r->cap);
      r->val = ps_realloc(r->val, sizeof(float) * (size_t)r->cap);
    }
    int64_t m = sparse_row(g, row, r->idx + p, r->val + p);
    r->ptr[i + 1] = p + m;
    r->ids[i] = synth_customer_id(row);
    for (int t = 0; t < k; t++) {
      double pr = 1.0 / (1.0 + exp(-(g->b[t] + row_logit(g, t, r->idx + p, r->val + p, m))));
      r->prob[(size_t)t * nn + (size_t)i] = (float)pr;
      r->lab[(size_t)t * nn + (size_t)i] = (uint8_t)synth_label(s, t, row, pr);
    }
  }
  r->nnz = r->ptr[n];
}

/* The planted truth of each target: /truth/<t>/coef, intercept, rate, model. */
static void write_truth(ps_h5_t fid, const sgen_t *g, const synth_t *s, ps_h5_t *dprob, ps_h5_t *dlab,
                        const int64_t *dims1, const int64_t *chunk1) {
  ps_h5_t glab = h5_group_create(fid, "/labels"), gtruth = h5_group_create(fid, "/truth");
  for (int t = 0; t < g->k; t++) {
    dlab[t] = h5_dset_create(glab, s->targets[t], PS_U8, 1, dims1, chunk1);
    ps_h5_t tg = h5_group_create(gtruth, s->targets[t]);
    dprob[t] = h5_dset_create(tg, "prob", PS_F32, 1, dims1, chunk1);
    int64_t df[1] = {g->f};
    h5_write_small(tg, "coef", PS_F64, 1, df, g->coef + (size_t)t * (size_t)g->f);
    h5_attr_f64(tg, "intercept", g->b[t]);
    h5_attr_f64(tg, "rate", s->rate[t]);
    if (g->informative > 0) h5_attr_i64(tg, "informative", g->informative);
    h5_attr_str(tg, "model", "logit = intercept + sum over the row's stored values of coef[j] * x_j (raw values; "
                             "gen --density: host/gen/sparse.c)");
    h5_close(tg);
  }
  h5_close(glab);
  h5_close(gtruth);
}

/* Creates the file's datasets and writes this rank's rows at their offsets (collective). */
static void write_sparse(const gen_opts_t *o, const sgen_t *g, const synth_t *s, srows_t *r, const char *path) {
  int64_t *all = ps_malloc(sizeof(int64_t) * (size_t)ps_size), off = 0, total = 0;
  comm_allgather(&r->nnz, all, sizeof(int64_t));
  for (int q = 0; q < ps_size; q++) {
    if (q < ps_rank) off += all[q];
    total += all[q];
  }
  free(all);
  ps_h5_t fid = h5_create(path, 1);
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "features");
  h5_attr_str(fid, "generator", "propscore gen --density " PROPSCORE_VERSION);
  h5_attr_i64(fid, "seed", (int64_t)o->seed);
  h5_attr_f64(fid, "density", o->density);
  int64_t N = o->rows, np1[1] = {N + 1}, nz[1] = {total}, dims1[1] = {N};
  int64_t cp[1] = {N + 1 < (1 << 20) ? N + 1 : (1 << 20)}, cz[1] = {total < 1 ? 1 : total < (1 << 20) ? total : (1 << 20)};
  int64_t chunk1[1] = {N < (1 << 20) ? N : (1 << 20)};
  ps_h5_t grp = h5_group_create(fid, "/features_csr");
  ps_h5_t dp = h5_dset_create(grp, "indptr", PS_I64, 1, np1, cp), di = h5_dset_create(grp, "indices", PS_I32, 1, nz, cz);
  ps_h5_t dv = h5_dset_create(grp, "data", PS_F32, 1, nz, cz), did = h5_dset_create(fid, "/customer_id", PS_I64, 1, dims1, chunk1);
  char **names = ps_malloc(sizeof(char *) * (size_t)(g->f + 1));
  for (int64_t j = 0; j < g->f; j++) names[j] = ps_sprintf("item_%lld", (long long)j);
  names[g->f] = NULL;
  h5_write_strings(fid, "/feature_names", names, g->f);
  ps_free_strv(names);
  ps_h5_t *dprob = ps_malloc(sizeof(ps_h5_t) * (size_t)g->k), *dlab = ps_malloc(sizeof(ps_h5_t) * (size_t)g->k);
  write_truth(fid, g, s, dprob, dlab, dims1, chunk1);
  for (int64_t i = 0; i <= r->n; i++) r->ptr[i] += off;
  int first = r->row0 == 0 && r->n > 0; /* the rank holding row 0 writes indptr[0] too */
  h5_xfer_rows(dp, PS_I64, r->row0 + (first ? 0 : 1), r->n > 0 ? r->n + first : 0, 0, r->ptr + (first ? 0 : 1), 1);
  h5_xfer_rows(di, PS_I32, off, r->nnz, 0, r->idx, 1);
  h5_xfer_rows(dv, PS_F32, off, r->nnz, 0, r->val, 1);
  h5_xfer_rows(did, PS_I64, r->row0, r->n, 0, r->ids, 1);
  size_t nn = (size_t)(r->n > 0 ? r->n : 1);
  for (int t = 0; t < g->k; t++) {
    h5_xfer_rows(dlab[t], PS_U8, r->row0, r->n, 0, r->lab + (size_t)t * nn, 1);
    h5_xfer_rows(dprob[t], PS_F32, r->row0, r->n, 0, r->prob + (size_t)t * nn, 1);
    h5_close(dlab[t]);
    h5_close(dprob[t]);
  }
  free(dprob);
  free(dlab);
  ps_h5_t rest[] = {dp, di, dv, did, grp, fid};
  for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) h5_close(rest[i]);
  comm_barrier();
  r->nnz = total;
}

int gen_sparse_run(const gen_opts_t *o) {
  if (o->uplift || o->clusters)
    ps_die_all(PS_EXIT_USAGE, "gen: --density makes sparse customers; it does not go with --uplift or --clusters");
  if (o->rows < ps_size)
    ps_die_all(PS_EXIT_USAGE, "gen: --rows %lld is less than the number of ranks (%d): every rank needs a row",
               (long long)o->rows, ps_size);
  if (o->informative > o->features)
    ps_die_all(PS_EXIT_USAGE, "gen: --informative %lld is more than --features %lld", (long long)o->informative,
               (long long)o->features);
  ps_path_t outs[] = {{"--out", o->out}};
  out_check_paths(NULL, 0, outs, 1);
  double t0 = ps_now();
  synth_t s;
  synth_init(&s, o->seed, 1, o->targets); /* the targets and their rates */
  sgen_t g;
  sgen_init(&g, o, &s);
  srows_t r = {0};
  ps_partition(o->rows, ps_size, ps_rank, &r.row0, &r.n);
  gen_rows_sparse(&g, &s, &r);
  ps_output_t *out = out_begin(o->out, 1);
  write_sparse(o, &g, &s, &r, out_tmp(out));
  out_commit(out);
  ps_out("gen: wrote %s: %lld rows x %lld features, CSR with %lld stored values (density %.4f%%), %d target%s in "
         "%.2f s (%d rank%s)", o->out, (long long)o->rows, (long long)o->features, (long long)r.nnz,
         100.0 * (double)r.nnz / ((double)o->rows * (double)o->features), g.k, g.k == 1 ? "" : "s", ps_now() - t0,
         ps_size, ps_size == 1 ? "" : "s");
  for (int t = 0; t < g.k; t++) ps_log("gen: target %s: planted positive rate %.4f", s.targets[t], s.rate[t]);
  free(r.ptr); free(r.ids); free(r.idx); free(r.val); free(r.prob); free(r.lab);
  free(g.coef);
  free(g.b);
  synth_free(&s);
  return 0;
}
