/* offers.c: the offers job (see offers.h). */
#include "targeting/offers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/output.h"
#include "io/pipeline.h"
#include "io/scores_file.h"

int offers_better(const ps_offer_t *a, const ps_offer_t *b) {
  if (a->value != b->value) return a->value > b->value;
  if (a->id != b->id) return a->id < b->id;
  return a->slot < b->slot;
}
static int cmp_better(const void *x, const void *y) {
  const ps_offer_t *a = x, *b = y;
  return offers_better(a, b) ? -1 : offers_better(b, a) ? 1 : 0;
}

void offers_sort(ps_offer_t *c, int64_t n) { qsort(c, (size_t)n, sizeof(ps_offer_t), cmp_better); }

/* Order-preserving maps to uint64: larger value -> larger key; smaller id -> larger key. */
static uint64_t vkey(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return (u >> 63) ? ~u : u | 0x8000000000000000ull;
}
static uint64_t ikey(int64_t id) { return ~((uint64_t)id ^ 0x8000000000000000ull); }

/* Candidates sorted better first: keys are non-increasing along the array
 * (value key first, then id key). Count of those with (vk, ik) >= (v, i). */
static int64_t count_ge(const ps_offer_t *c, int64_t n, uint64_t v, int level2, uint64_t i) {
  int64_t lo = 0, hi = n; /* first index whose key is < the bound */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    uint64_t a = vkey(c[mid].value);
    int ge = a > v || (a == v && (!level2 || ikey(c[mid].id) >= i));
    if (ge) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static int64_t global_count(const ps_offer_t *c, int64_t n, uint64_t v, int level2, uint64_t i) {
  int64_t k = count_ge(c, n, v, level2, i);
  comm_allreduce_sum_i64(&k, 1);
  return k;
}

int64_t offers_select_budget(const ps_offer_t *c, int64_t n, int64_t budget, uint8_t *keep) {
  int64_t total = n;
  comm_allreduce_sum_i64(&total, 1);
  if (total <= budget) {
    memset(keep, 1, (size_t)n);
    return total;
  }
  memset(keep, 0, (size_t)n);
  if (budget <= 0) return 0;
  /* the largest value key V with count(vk >= V) >= budget */
  uint64_t lo = 0, hi = UINT64_MAX; /* invariant: count(>= lo) >= budget; answer in [lo, hi] */
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2 + 1;
    if (global_count(c, n, mid, 0, 0) >= budget) lo = mid;
    else hi = mid - 1;
  }
  uint64_t V = lo;
  int64_t above = V == UINT64_MAX ? 0 : global_count(c, n, V + 1, 0, 0);
  /* among value key V: the largest id key I with count((V, >= I)) >= budget */
  uint64_t ilo = 0, ihi = UINT64_MAX;
  while (ilo < ihi) {
    uint64_t mid = ilo + (ihi - ilo) / 2 + 1;
    if (global_count(c, n, V, 1, mid) >= budget) ilo = mid;
    else ihi = mid - 1;
  }
  uint64_t I = ilo;
  int64_t above2 = I == UINT64_MAX ? above : global_count(c, n, V, 1, I + 1);
  int64_t r2 = budget - above2; /* slots of the customer (V, I), on the rank that holds it */
  int64_t kept = 0;
  for (int64_t i = 0; i < n; i++) {
    uint64_t a = vkey(c[i].value), b = ikey(c[i].id);
    if (a > V || (a == V && b > I)) keep[i] = 1;
    else if (a == V && b == I && r2 > 0) keep[i] = 1, r2--; /* sorted: slots ascending */
    kept += keep[i];
  }
  comm_allreduce_sum_i64(&kept, 1);
  return kept;
}

int offers_run(const offers_opts_t *o) {
  ps_h5_t sf = scores_open(o->scores, "scores");
  const char *grp = o->uplift ? "/uplift" : "/scores";
  int K = 0;
  char **heads = h5_list_datasets(sf, grp, &K);
  if (K == 0) ps_die_all(PS_EXIT_ERROR, "%s: no %s/<head> datasets", o->scores, grp);
  int M = o->max_offers > 0 && o->max_offers < K ? o->max_offers : K;
  /* values and eligibility per head */
  double *val = ps_malloc(sizeof(double) * (size_t)K);
  char **elig = ps_calloc((size_t)K + 1, sizeof(char *));
  for (int h = 0; h < K; h++) val[h] = 1.0;
  const char *specs[2] = {o->values, o->eligible}, *opt[2] = {"--value", "--eligible"};
  for (int s = 0; s < 2; s++) {
    if (!specs[s]) continue;
    int np = 0;
    char **pairs = ps_split(specs[s], ',', &np);
    for (int i = 0; i < np; i++) {
      char *eq = strchr(pairs[i], '=');
      if (!eq || eq == pairs[i] || !eq[1])
        ps_die_all(PS_EXIT_USAGE, "offers: %s '%s': expected HEAD=%s", opt[s], pairs[i], s ? "LABEL" : "VALUE");
      *eq = 0;
      int h = 0;
      while (h < K && strcmp(heads[h], pairs[i])) h++;
      if (h == K) ps_die_all(PS_EXIT_USAGE, "offers: %s: no head '%s' in %s%s", opt[s], pairs[i], o->scores, grp);
      if (s == 0) {
        char *end;
        double v = strtod(eq + 1, &end);
        if (*end || !isfinite(v) || v < 0)
          ps_die_all(PS_EXIT_USAGE, "offers: --value %s=%s: not a finite number >= 0", pairs[i], eq + 1);
        val[h] = v;
      } else {
        free(elig[h]);
        elig[h] = ps_strdup(eq + 1);
      }
    }
    ps_free_strv(pairs);
  }
  if (o->eligible && !o->data) ps_die_all(PS_EXIT_USAGE, "offers: --eligible reads labels of --data: give --data");
  ps_path_t ins[2] = {{"--scores", o->scores}, {"--data", o->data}}, outs[] = {{"--out", o->out}};
  out_check_paths(ins, o->data ? 2 : 1, outs, 1);
  double t0 = ps_now();

  int64_t N, row0, n;
  int64_t *ids = scores_read_ids(sf, o->scores, &N, &row0, &n);
  size_t nn = (size_t)(n > 0 ? n : 1);
  ps_data_t d;
  int have_data = o->data != NULL;
  if (have_data) {
    data_open(o->data, &d);
    scores_check_ids(d.fid, o->data, ids, N, row0, n, "scores", o->scores);
    for (int h = 0; h < K; h++)
      if (elig[h]) data_check_targets(&d, &elig[h], 1);
  }
  ps_data_t tmp = {0};
  tmp.path = o->scores;
  data_check_unique_ids(&tmp, ids, row0, n);
  /* expected values, ineligible -> not offered */
  double *V = ps_malloc(sizeof(double) * nn * (size_t)K);
  float *p = ps_malloc(sizeof(float) * nn);
  uint8_t *e = ps_malloc(nn);
  for (int h = 0; h < K; h++) {
    char *name = ps_sprintf("%s/%s", grp, heads[h]);
    scores_read_head(sf, o->scores, name, N, row0, n, o->uplift ? &PS_SCORE_UPLIFT : &PS_SCORE_PROBABILITY, PS_F32, p);
    if (elig[h]) data_read_labels(&d, elig[h], row0, n, 1, 0, e);
    for (int64_t i = 0; i < n; i++)
      V[(size_t)i * (size_t)K + (size_t)h] = (!elig[h] || e[i]) ? (double)p[i] * val[h] : -INFINITY;
    free(name);
  }
  free(p);
  free(e);
  /* per customer: heads by value descending (ties: lower head first), positive values only */
  int32_t *rk = ps_malloc(sizeof(int32_t) * nn * (size_t)M);
  double *rv = ps_malloc(sizeof(double) * nn * (size_t)M);
  int *ord = ps_malloc(sizeof(int) * (size_t)K);
  int64_t ncand = 0;
  for (int64_t i = 0; i < n; i++) {
    const double *v = V + (size_t)i * (size_t)K;
    for (int h = 0; h < K; h++) {
      int j = h;
      while (j > 0 && v[ord[j - 1]] < v[h]) ord[j] = ord[j - 1], j--; /* insertion: stable */
      ord[j] = h;
    }
    for (int m = 0; m < M; m++) {
      int h = ord[m];
      int ok = v[h] > 0;
      rk[(size_t)i * (size_t)M + (size_t)m] = ok ? h : -1;
      rv[(size_t)i * (size_t)M + (size_t)m] = ok ? v[h] : 0.0;
      ncand += ok;
    }
  }
  free(ord);
  free(V);
  int64_t offered = ncand;
  if (o->budget >= 0) {
    ps_offer_t *c = ps_malloc(sizeof(ps_offer_t) * (size_t)(ncand > 0 ? ncand : 1));
    int64_t j = 0;
    for (int64_t i = 0; i < n; i++)
      for (int m = 0; m < M; m++)
        if (rk[(size_t)i * (size_t)M + (size_t)m] >= 0)
          c[j++] = (ps_offer_t){rv[(size_t)i * (size_t)M + (size_t)m], ids[i], (int32_t)m, i};
    offers_sort(c, ncand);
    uint8_t *keep = ps_malloc((size_t)(ncand > 0 ? ncand : 1));
    offered = offers_select_budget(c, ncand, o->budget, keep);
    /* drop what was not kept: a customer's kept offers are a prefix of its ranks */
    for (int64_t q = 0; q < ncand; q++)
      if (!keep[q]) {
        rk[(size_t)c[q].row * (size_t)M + (size_t)c[q].slot] = -1;
        rv[(size_t)c[q].row * (size_t)M + (size_t)c[q].slot] = 0.0;
      }
    free(keep);
    free(c);
  } else {
    comm_allreduce_sum_i64(&offered, 1);
  }
  int64_t customers = 0;
  for (int64_t i = 0; i < n; i++) customers += rk[(size_t)i * (size_t)M] >= 0;
  comm_allreduce_sum_i64(&customers, 1);

  /* write */
  ps_output_t *outf = out_begin(o->out, 1);
  ps_h5_t fid = h5_create(out_tmp(outf), 1);
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "offers");
  h5_attr_str(fid, "generator", "propscore offers " PROPSCORE_VERSION);
  h5_attr_str(fid, "scores", o->scores);
  h5_attr_str(fid, "score", o->uplift ? "uplift" : "probability");
  h5_attr_i64(fid, "max_offers", M);
  h5_attr_i64(fid, "budget", o->budget);
  h5_attr_i64(fid, "offers", offered);
  h5_attr_i64(fid, "customers_with_offers", customers);
  int64_t dims1[1] = {N}, chunk1[1] = {N < (1 << 20) ? (N > 0 ? N : 1) : (1 << 20)};
  ps_h5_t did = h5_dset_create(fid, "/customer_id", PS_I64, 1, dims1, chunk1);
  ps_h5_t g = h5_group_create(fid, "/offers");
  int64_t dk[1] = {K};
  h5_write_strings(g, "heads", heads, K);
  h5_write_small(g, "head_value", PS_F64, 1, dk, val);
  ps_h5_t *dr = ps_malloc(sizeof(ps_h5_t) * (size_t)M), *dv = ps_malloc(sizeof(ps_h5_t) * (size_t)M);
  ps_pipe_col_t *cols = ps_malloc(sizeof(ps_pipe_col_t) * (size_t)(1 + 2 * M));
  cols[0] = (ps_pipe_col_t){did, PS_I64, 0};
  for (int m = 0; m < M; m++) {
    char nm[64];
    snprintf(nm, sizeof nm, "rank_%d", m);
    dr[m] = h5_dset_create(g, nm, PS_I32, 1, dims1, chunk1);
    snprintf(nm, sizeof nm, "value_%d", m);
    dv[m] = h5_dset_create(g, nm, PS_F64, 1, dims1, chunk1);
    cols[1 + 2 * m] = (ps_pipe_col_t){dr[m], PS_I32, 0};
    cols[2 + 2 * m] = (ps_pipe_col_t){dv[m], PS_F64, 0};
  }
  ps_pipe_spec_t spec = {"offers", row0, n, h5_block_rows(8 + 12 * M, 0), 0, 1 + 2 * M, NULL, cols, 0};
  ps_pipe_t *pipe = pipe_open(&spec);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    memcpy(b.out[0], ids + b.first, sizeof(int64_t) * (size_t)b.rows);
    for (int m = 0; m < M; m++) {
      int32_t *r = b.out[1 + 2 * m];
      double *v = b.out[2 + 2 * m];
      for (int64_t i = 0; i < b.rows; i++) {
        r[i] = rk[(size_t)(b.first + i) * (size_t)M + (size_t)m];
        v[i] = rv[(size_t)(b.first + i) * (size_t)M + (size_t)m];
      }
    }
  }
  pipe_check(pipe, NULL);
  pipe_close(pipe);
  for (int m = 0; m < M; m++) h5_close(dr[m]), h5_close(dv[m]);
  h5_close(g);
  h5_close(did);
  h5_close(fid);
  comm_barrier();
  out_commit(outf);
  ps_out("offers: wrote %s: %lld customers, %lld offers to %lld of them (%d head%s, at most %d each%s), %.2f s",
         o->out, (long long)N, (long long)offered, (long long)customers, K, K == 1 ? "" : "s", M,
         o->budget >= 0 ? ", budget" : "", ps_now() - t0);
  free(dr);
  free(dv);
  free(cols);
  free(rk);
  free(rv);
  free(ids);
  free(val);
  for (int h = 0; h < K; h++) free(elig[h]);
  free(elig);
  ps_free_strv(heads);
  if (have_data) data_close(&d);
  h5_close(sf);
  return 0;
}
