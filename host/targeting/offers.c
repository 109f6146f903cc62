/* offers.c: the offers job (see offers.h). */
#include "targeting/offers.h"

#include <math.h>
#include <stddef.h>
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

#define F(field) offsetof(offers_opts_t, field)
static const ps_option_t OFFERS_OPTS[] = {
    {.name = "scores", .type = OPT_STR, .off = F(scores), .arg = "FILE",
     .help = "scores file (propscore score): heads /scores/<head>", .flags = OPT_REQUIRED, .short_name = 's'},
    {.name = "uplift", .type = OPT_FLAG, .off = F(uplift), .short_name = 'u',
     .help = "rank by /uplift/<head> (an uplift model's scores) instead of\nthe probability: only customers the offer moves get it"},
    {.name = "value", .type = OPT_STR, .off = F(values), .arg = "LIST", .short_name = 'v',
     .help = "value of an accepted offer per head, e.g. card=120,loan=300\n(default 1 for every head not listed; >= 0)"},
    {.name = "eligible", .type = OPT_STR, .off = F(eligible), .arg = "LIST", .short_name = 'e',
     .help = "HEAD=LABEL pairs: head HEAD only where /labels/LABEL of --data is 1"},
    {.name = "data", .type = OPT_STR, .off = F(data), .arg = "FILE", .short_name = 'd',
     .help = "data file of the scores (same customers, same order), for --eligible"},
    {.name = "max-offers", .type = OPT_INT, .off = F(max_offers), .min = 1, .max = 1000000, .arg = "N",
     .help = "at most N offers a customer (default: one per head)", .short_name = 'm'},
    {.name = "budget", .type = OPT_I64, .off = F(budget), .min = 0, .max = INT64_MAX, .arg = "N", .short_name = 'b',
     .help = "at most N offers in all: the N of highest value over every\ncustomer (ties: lower customer id, then better "
             "rank); exact\nfor any rank count"},
    {.name = "out", .type = OPT_STR, .off = F(out), .arg = "FILE", .flags = OPT_REQUIRED, .short_name = 'o',
     .help = "/customer_id, /offers/rank_<i> (int32 head index into\n/offers/heads, -1 none) and /offers/value_<i> "
             "(float64, 0 none)\nfor i = 0 .. max offers - 1; temporary name, renamed when complete"},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .help = "no progress log", .short_name = 'q'},
    {0}};
#undef F

const ps_cmd_spec_t offers_cmd = {
    .name = "offers",
    .opts = OFFERS_OPTS,
    .usage = "usage: propscore offers --scores SCORES.h5 --out OFFERS.h5 [--value HEAD=V,...]\n"
             "                        [--data FILE.h5 --eligible HEAD=LABEL,...] [--max-offers N]\n"
             "                        [--budget N] [--uplift] [--quiet]\n"
             "\n"
             "Next best offer: with one head per product line, rank each customer's offers by\n"
             "expected value = score x value of the head, best first (ties: the head listed\n"
             "first in /offers/heads). Only offers with a value > 0 that the customer is\n"
             "eligible for are made.\n",
    .epilog = "exit codes: 0 ok, 1 error, 2 usage\n"};

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

/* One run: the heads and their values, this rank's rows and its offers. */
typedef struct {
  const offers_opts_t *o;
  const char *grp; /* "/scores" or "/uplift" */
  int K, M;        /* heads; offers a customer at most */
  char **heads;
  double *val;     /* [K] value of an accepted offer */
  char **elig;     /* [K] the label a customer must have, or NULL */
  int64_t N, row0, n;
  int64_t *ids;    /* this rank's customer ids */
  ps_h5_t sf;      /* --scores */
  ps_data_t d;     /* --data, when given */
  int32_t *rk;     /* [n][M] head index, -1 none */
  double *rv;      /* [n][M] expected value, 0 none */
  int64_t offered, customers; /* on all ranks */
} offers_job_t;

/* The head of one HEAD=X pair of --value or --eligible (the pair is cut at
 * its '='; *x is what follows); a head named twice in one list is refused. */
static int pair_head(offers_job_t *j, const char *opt, char *pair, const char *what, uint8_t *seen, char **x) {
  char *eq = strchr(pair, '=');
  if (!eq || eq == pair || !eq[1]) ps_die_all(PS_EXIT_USAGE, "offers: %s '%s': expected HEAD=%s", opt, pair, what);
  *eq = 0;
  *x = eq + 1;
  int h = 0;
  while (h < j->K && strcmp(j->heads[h], pair)) h++;
  if (h == j->K) ps_die_all(PS_EXIT_USAGE, "offers: %s: no head '%s' in %s%s", opt, pair, j->o->scores, j->grp);
  if (seen[h]++) ps_die_all(PS_EXIT_USAGE, "offers: %s names head '%s' twice", opt, pair);
  return h;
}

/* --value and --eligible: a value (1 by default) and a label (or none) per head. */
static void parse_heads(offers_job_t *j) {
  j->val = ps_malloc(sizeof(double) * (size_t)j->K);
  j->elig = ps_calloc((size_t)j->K + 1, sizeof(char *));
  for (int h = 0; h < j->K; h++) j->val[h] = 1.0;
  const char *specs[2] = {j->o->values, j->o->eligible}, *opt[2] = {"--value", "--eligible"};
  uint8_t *seen = ps_malloc((size_t)j->K);
  for (int s = 0; s < 2; s++) {
    if (!specs[s]) continue;
    memset(seen, 0, (size_t)j->K);
    int np = 0;
    char **pairs = ps_split(specs[s], ',', &np);
    for (int i = 0; i < np; i++) {
      char *x;
      int h = pair_head(j, opt[s], pairs[i], s ? "LABEL" : "VALUE", seen, &x);
      if (s == 1) {
        j->elig[h] = ps_strdup(x);
        continue;
      }
      char *end;
      double v = strtod(x, &end);
      if (*end || !isfinite(v) || v < 0)
        ps_die_all(PS_EXIT_USAGE, "offers: --value %s=%s: not a finite number >= 0", pairs[i], x);
      j->val[h] = v;
    }
    ps_free_strv(pairs);
  }
  free(seen);
}

/* [n][K] expected values: score x value, -inf where the customer is not eligible. */
static double *expected_values(offers_job_t *j) {
  size_t nn = (size_t)(j->n > 0 ? j->n : 1), K = (size_t)j->K;
  double *V = ps_malloc(sizeof(double) * nn * K);
  float *p = ps_malloc(sizeof(float) * nn);
  uint8_t *e = ps_malloc(nn);
  for (size_t h = 0; h < K; h++) {
    char *name = ps_sprintf("%s/%s", j->grp, j->heads[h]);
    scores_read_head(j->sf, j->o->scores, name, j->N, j->row0, j->n,
                     j->o->uplift ? &PS_SCORE_UPLIFT : &PS_SCORE_PROBABILITY, PS_F32, p);
    if (j->elig[h]) data_read_labels(&j->d, j->elig[h], j->row0, j->n, 1, 0, e);
    for (int64_t i = 0; i < j->n; i++)
      V[(size_t)i * K + h] = (!j->elig[h] || e[i]) ? (double)p[i] * j->val[h] : -INFINITY;
    free(name);
  }
  free(p);
  free(e);
  return V;
}

/* Per customer: heads by value descending (ties: lower head first), positive
 * values only, at most M. Returns this rank's offers. */
static int64_t rank_offers(offers_job_t *j, const double *V) {
  size_t nn = (size_t)(j->n > 0 ? j->n : 1), K = (size_t)j->K, M = (size_t)j->M;
  j->rk = ps_malloc(sizeof(int32_t) * nn * M);
  j->rv = ps_malloc(sizeof(double) * nn * M);
  int *ord = ps_malloc(sizeof(int) * K);
  int64_t ncand = 0;
  for (int64_t i = 0; i < j->n; i++) {
    const double *v = V + (size_t)i * K;
    for (int h = 0; h < (int)K; h++) {
      int q = h;
      while (q > 0 && v[ord[q - 1]] < v[h]) ord[q] = ord[q - 1], q--; /* insertion: stable */
      ord[q] = h;
    }
    for (size_t m = 0; m < M; m++) {
      int h = ord[m];
      int ok = v[h] > 0;
      j->rk[(size_t)i * M + m] = ok ? h : -1;
      j->rv[(size_t)i * M + m] = ok ? v[h] : 0.0;
      ncand += ok;
    }
  }
  free(ord);
  return ncand;
}

/* --budget: keep the best `budget` of the ncand offers over all ranks. */
static void apply_budget(offers_job_t *j, int64_t ncand) {
  size_t M = (size_t)j->M;
  ps_offer_t *c = ps_malloc(sizeof(ps_offer_t) * (size_t)(ncand > 0 ? ncand : 1));
  int64_t q = 0;
  for (int64_t i = 0; i < j->n; i++)
    for (size_t m = 0; m < M; m++)
      if (j->rk[(size_t)i * M + m] >= 0)
        c[q++] = (ps_offer_t){.value = j->rv[(size_t)i * M + m], .id = j->ids[i], .slot = (int32_t)m, .row = i};
  offers_sort(c, ncand);
  uint8_t *keep = ps_malloc((size_t)(ncand > 0 ? ncand : 1));
  j->offered = offers_select_budget(c, ncand, j->o->budget, keep);
  /* drop what was not kept: a customer's kept offers are a prefix of its ranks */
  for (q = 0; q < ncand; q++)
    if (!keep[q]) {
      j->rk[(size_t)c[q].row * M + (size_t)c[q].slot] = -1;
      j->rv[(size_t)c[q].row * M + (size_t)c[q].slot] = 0.0;
    }
  free(keep);
  free(c);
}

static void write_attrs(const offers_job_t *j, ps_h5_t fid) {
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "offers");
  h5_attr_str(fid, "generator", "propscore offers " PROPSCORE_VERSION);
  h5_attr_str(fid, "scores", j->o->scores);
  h5_attr_str(fid, "score", j->o->uplift ? "uplift" : "probability");
  h5_attr_i64(fid, "max_offers", j->M);
  h5_attr_i64(fid, "budget", j->o->budget);
  h5_attr_i64(fid, "offers", j->offered);
  h5_attr_i64(fid, "customers_with_offers", j->customers);
}

/* The rows of the datasets (collective): cols[0] the ids, then rank_m, value_m. */
static void write_rows(const offers_job_t *j, const ps_pipe_col_t *cols) {
  size_t M = (size_t)j->M;
  ps_pipe_spec_t spec = {.what = "offers", .row0 = j->row0, .n = j->n, .block_rows = h5_block_rows(8 + 12 * j->M, 0),
                         .nin = 0, .nout = 1 + 2 * j->M, .in = NULL, .out = cols, .agree_stop = 0};
  ps_pipe_t *pipe = pipe_open(&spec);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    memcpy(b.out[0], j->ids + b.first, sizeof(int64_t) * (size_t)b.rows);
    for (size_t m = 0; m < M; m++) {
      int32_t *r = b.out[1 + 2 * m];
      double *v = b.out[2 + 2 * m];
      for (int64_t i = 0; i < b.rows; i++) {
        r[i] = j->rk[(size_t)(b.first + i) * M + m];
        v[i] = j->rv[(size_t)(b.first + i) * M + m];
      }
    }
  }
  pipe_check(pipe, NULL);
  pipe_close(pipe);
}

/* The output file (collective), under a temporary name renamed when complete. */
static void write_offers(const offers_job_t *j) {
  ps_output_t *outf = out_begin(j->o->out, 1);
  ps_h5_t fid = h5_create(out_tmp(outf), 1);
  write_attrs(j, fid);
  int64_t N = j->N, dims1[1] = {N}, chunk1[1] = {N < (1 << 20) ? (N > 0 ? N : 1) : (1 << 20)}, dk[1] = {j->K};
  ps_h5_t did = h5_dset_create(fid, "/customer_id", PS_I64, 1, dims1, chunk1);
  ps_h5_t g = h5_group_create(fid, "/offers");
  h5_write_strings(g, "heads", j->heads, j->K);
  h5_write_small(g, "head_value", PS_F64, 1, dk, j->val);
  ps_pipe_col_t *cols = ps_malloc(sizeof(ps_pipe_col_t) * (size_t)(1 + 2 * j->M));
  cols[0] = (ps_pipe_col_t){.dset = did, .type = PS_I64};
  for (int m = 0; m < j->M; m++) {
    char nm[64];
    snprintf(nm, sizeof nm, "rank_%d", m);
    cols[1 + 2 * m] = (ps_pipe_col_t){.dset = h5_dset_create(g, nm, PS_I32, 1, dims1, chunk1), .type = PS_I32};
    snprintf(nm, sizeof nm, "value_%d", m);
    cols[2 + 2 * m] = (ps_pipe_col_t){.dset = h5_dset_create(g, nm, PS_F64, 1, dims1, chunk1), .type = PS_F64};
  }
  write_rows(j, cols);
  for (int c = 1; c < 1 + 2 * j->M; c++) h5_close(cols[c].dset);
  free(cols);
  h5_close(g);
  h5_close(did);
  h5_close(fid);
  comm_barrier();
  out_commit(outf);
}

/* The heads, the paths checked, this rank's ids (checked against --data, unique). */
static void open_inputs(offers_job_t *j) {
  const offers_opts_t *o = j->o;
  j->sf = scores_open(o->scores, "scores");
  j->heads = h5_list_datasets(j->sf, j->grp, &j->K);
  if (j->K == 0) ps_die_all(PS_EXIT_ERROR, "%s: no %s/<head> datasets", o->scores, j->grp);
  j->M = o->max_offers > 0 && o->max_offers < j->K ? o->max_offers : j->K;
  parse_heads(j);
  if (o->eligible && !o->data) ps_die_all(PS_EXIT_USAGE, "offers: --eligible reads labels of --data: give --data");
  ps_path_t ins[2] = {{"--scores", o->scores}, {"--data", o->data}}, outs[] = {{"--out", o->out}};
  out_check_paths(ins, o->data ? 2 : 1, outs, 1);
  j->ids = scores_read_ids(j->sf, o->scores, &j->N, &j->row0, &j->n);
  if (o->data) {
    data_open(o->data, &j->d);
    scores_check_ids(j->d.fid, o->data, j->ids, j->N, j->row0, j->n, "scores", o->scores);
    for (int h = 0; h < j->K; h++)
      if (j->elig[h]) data_check_targets(&j->d, &j->elig[h], 1);
  }
  ps_data_t tmp = {.path = o->scores};
  data_check_unique_ids(&tmp, j->ids, j->row0, j->n);
}

int offers_run(const offers_opts_t *o) {
  offers_job_t j = {.o = o, .grp = o->uplift ? "/uplift" : "/scores"};
  open_inputs(&j);
  double t0 = ps_now();
  double *V = expected_values(&j);
  int64_t ncand = rank_offers(&j, V);
  free(V);
  j.offered = ncand;
  if (o->budget >= 0) apply_budget(&j, ncand);
  else comm_allreduce_sum_i64(&j.offered, 1);
  for (int64_t i = 0; i < j.n; i++) j.customers += j.rk[(size_t)i * (size_t)j.M] >= 0;
  comm_allreduce_sum_i64(&j.customers, 1);
  write_offers(&j);
  ps_out("offers: wrote %s: %lld customers, %lld offers to %lld of them (%d head%s, at most %d each%s), %.2f s",
         o->out, (long long)j.N, (long long)j.offered, (long long)j.customers, j.K, j.K == 1 ? "" : "s", j.M,
         o->budget >= 0 ? ", budget" : "", ps_now() - t0);
  free(j.rk);
  free(j.rv);
  free(j.ids);
  free(j.val);
  for (int h = 0; h < j.K; h++) free(j.elig[h]);
  free(j.elig);
  ps_free_strv(j.heads);
  if (o->data) data_close(&j.d);
  h5_close(j.sf);
  return 0;
}
