/* colstats.c: distributed column statistics (see colstats.h). */
#include "stats/colstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/simd.h"
#include "core/partition.h"
#include "core/util.h"

#define SUB PS_ROW_GRID /* rows per sub-block (a grid block): fits in L2, two exact passes */

void stats_init(ps_colstat_t *st, int64_t f) {
  for (int64_t j = 0; j < f; j++) {
    memset(&st[j], 0, sizeof st[j]);
    st[j].min = INFINITY;
    st[j].max = -INFINITY;
  }
}

static void merge(ps_colstat_t *a, const ps_colstat_t *b) {
  a->nan += b->nan;
  a->inf += b->inf;
  if (b->count == 0) return;
  if (b->min < a->min) a->min = b->min;
  if (b->max > a->max) a->max = b->max;
  if (a->count == 0) {
    a->count = b->count;
    a->mean = b->mean;
    a->m2 = b->m2;
    return;
  }
  double n = a->count + b->count, d = b->mean - a->mean;
  a->mean += d * b->count / n;
  a->m2 += b->m2 + d * d * a->count * b->count / n;
  a->count = n;
}

/* One sub-block's first pass, branch-free so that it vectorizes across
 * columns: finite values' sum (double), count, min and max (float: exact),
 * NaN count. Returns the rows kept (Infs = kept - finite - NaN). */
PS_KERNEL static int64_t pass1(const float *restrict x, int64_t r0, int64_t r1, int64_t f, const uint8_t *keep,
                               double *restrict sum, int32_t *restrict cnt, float *restrict mn, float *restrict mx,
                               int32_t *restrict nan) {
  int64_t kept = 0;
  for (int64_t i = r0; i < r1; i++) {
    if (keep && keep[i] != 1) continue;
    kept++;
    const float *restrict xi = x + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) {
      float v = xi[j];
      int fin = v - v == 0.0f, isn = v != v;
      float lo = fin ? v : INFINITY, hi = fin ? v : -INFINITY;
      mn[j] = lo < mn[j] ? lo : mn[j];
      mx[j] = hi > mx[j] ? hi : mx[j];
      cnt[j] += fin;
      nan[j] += isn;
    }
    for (int64_t j = 0; j < f; j++) {
      double v = xi[j];
      sum[j] += v - v == 0.0 ? v : 0.0;
    }
  }
  return kept;
}

/* Second pass: the finite values' squared deviations from the sub-block mean. */
PS_KERNEL static void pass2(const float *restrict x, int64_t r0, int64_t r1, int64_t f, const uint8_t *keep,
                            const double *restrict mean, double *restrict m2) {
  for (int64_t i = r0; i < r1; i++) {
    if (keep && keep[i] != 1) continue;
    const float *restrict xi = x + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) {
      double v = xi[j], d = v - mean[j];
      d = v - v == 0.0 ? d : 0.0;
      m2[j] += d * d;
    }
  }
}

/* The statistics of rows [r0, r1) alone into out[f] (acc: 8 f scratch doubles). */
static void leaf_stats(const float *x, int64_t r0, int64_t r1, int64_t f, const uint8_t *keep, double *acc,
                       ps_colstat_t *out) {
  size_t fz = (size_t)(f > 0 ? f : 1);
  double *sum = acc, *mean = sum + fz, *m2 = mean + fz;
  float *mn = (float *)(m2 + fz), *mx = mn + fz;
  int32_t *cnt = (int32_t *)(mx + fz), *nan = cnt + fz;
  for (int64_t j = 0; j < f; j++) {
    sum[j] = m2[j] = 0;
    cnt[j] = nan[j] = 0;
    mn[j] = INFINITY;
    mx[j] = -INFINITY;
  }
  double kept = (double)pass1(x, r0, r1, f, keep, sum, cnt, mn, mx, nan);
  for (int64_t j = 0; j < f; j++) mean[j] = cnt[j] > 0 ? sum[j] / (double)cnt[j] : 0.0;
  pass2(x, r0, r1, f, keep, mean, m2);
  for (int64_t j = 0; j < f; j++) {
    ps_colstat_t sub = {.count = (double)cnt[j], .nan = (double)nan[j], .inf = kept - cnt[j] - nan[j], .min = mn[j],
                        .max = mx[j], .mean = mean[j], .m2 = m2[j]};
    out[j] = sub;
  }
}

void stats_add_block(ps_colstat_t *st, const float *x, int64_t rows, int64_t f, const uint8_t *keep) {
  size_t fz = (size_t)(f > 0 ? f : 1);
  double *acc = ps_malloc(sizeof(double) * 8 * fz);
  ps_colstat_t *sub = ps_malloc(sizeof(ps_colstat_t) * fz);
  for (int64_t r0 = 0; r0 < rows; r0 += SUB) {
    int64_t r1 = r0 + SUB < rows ? r0 + SUB : rows;
    leaf_stats(x, r0, r1, f, keep, acc, sub);
    for (int64_t j = 0; j < f; j++) merge(&st[j], &sub[j]);
  }
  free(sub);
  free(acc);
}

/* ---- the fixed tree ---- */

#define MAXNODES 130 /* a stack of nodes on distinct levels (< 64), plus one being pushed */

typedef struct {
  int64_t level, index; /* covers grid blocks [index 2^level, (index+1) 2^level) */
} node_key_t;

struct ps_colacc {
  int64_t f, next_leaf;
  float *carry;         /* rows of an unfinished grid block: [SUB][f] */
  uint8_t *carry_keep;
  int64_t ncarry;
  int nn;               /* nodes on the stack */
  node_key_t key[MAXNODES];
  ps_colstat_t *st;     /* [MAXNODES][f] */
  double *scratch;
};

static ps_colstat_t *node_st(ps_colacc_t *a, int i) { return a->st + (size_t)i * (size_t)(a->f > 0 ? a->f : 1); }

/* Push node (level, index, st); merge it with its left sibling while that
 * is on top of the stack. Nodes arrive in the order of the grid blocks. */
static void push(ps_colacc_t *a, int64_t level, int64_t index, const ps_colstat_t *st) {
  size_t fz = (size_t)(a->f > 0 ? a->f : 1);
  if (a->nn >= MAXNODES) ps_die_local("column statistics: node stack overflow [%s:%d]", __FILE__, __LINE__);
  memcpy(node_st(a, a->nn), st, sizeof(ps_colstat_t) * fz);
  a->key[a->nn].level = level;
  a->key[a->nn].index = index;
  a->nn++;
  while (a->nn >= 2) {
    node_key_t *l = &a->key[a->nn - 2], *r = &a->key[a->nn - 1];
    if (l->level != r->level || (r->index & 1) == 0 || l->index + 1 != r->index) break;
    ps_colstat_t *ls = node_st(a, a->nn - 2), *rs = node_st(a, a->nn - 1);
    for (int64_t j = 0; j < a->f; j++) merge(&ls[j], &rs[j]);
    l->level++;
    l->index >>= 1;
    a->nn--;
  }
}

ps_colacc_t *stats_tree_begin(int64_t f, int64_t row0) {
  if (row0 % SUB != 0)
    ps_die_local("column statistics: rows start at %lld, off the grid [%s:%d]", (long long)row0, __FILE__, __LINE__);
  ps_colacc_t *a = ps_calloc(1, sizeof *a);
  size_t fz = (size_t)(f > 0 ? f : 1);
  a->f = f;
  a->next_leaf = row0 / SUB;
  a->st = ps_malloc(sizeof(ps_colstat_t) * fz * (MAXNODES + 1));
  a->scratch = ps_malloc(sizeof(double) * 8 * fz);
  a->carry = ps_malloc(sizeof(float) * SUB * fz);
  a->carry_keep = ps_malloc(SUB);
  return a;
}

static void add_leaf(ps_colacc_t *a, const float *x, int64_t r0, int64_t r1, const uint8_t *keep) {
  ps_colstat_t *leaf = node_st(a, MAXNODES); /* the spare slot */
  leaf_stats(x, r0, r1, a->f, keep, a->scratch, leaf);
  push(a, 0, a->next_leaf++, leaf);
}

/* Rows [0, m) into the unfinished grid block. */
static void carry_add(ps_colacc_t *a, const float *x, int64_t m, const uint8_t *keep) {
  size_t f = (size_t)a->f;
  memcpy(a->carry + (size_t)a->ncarry * f, x, sizeof(float) * (size_t)m * f);
  for (int64_t i = 0; i < m; i++) a->carry_keep[a->ncarry + i] = keep ? keep[i] : 1;
  a->ncarry += m;
  if (a->ncarry == SUB) {
    add_leaf(a, a->carry, 0, SUB, a->carry_keep);
    a->ncarry = 0;
  }
}

void stats_tree_add(ps_colacc_t *a, const float *x, int64_t rows, const uint8_t *keep) {
  int64_t i = 0, f = a->f;
  if (a->ncarry > 0) { /* complete the grid block left unfinished by the previous call */
    i = SUB - a->ncarry < rows ? SUB - a->ncarry : rows;
    carry_add(a, x, i, keep);
  }
  for (; i + SUB <= rows; i += SUB) add_leaf(a, x, i, i + SUB, keep);
  if (i < rows) carry_add(a, x + (size_t)i * (size_t)f, rows - i, keep ? keep + i : NULL);
}

void stats_tree_push(ps_colacc_t *a, const ps_colstat_t *leaf) {
  if (a->ncarry > 0) ps_die_local("column statistics: a leaf pushed off the grid [%s:%d]", __FILE__, __LINE__);
  memcpy(node_st(a, MAXNODES), leaf, sizeof(ps_colstat_t) * (size_t)a->f);
  push(a, 0, a->next_leaf++, node_st(a, MAXNODES));
}

void stats_tree_end(ps_colacc_t *a, ps_colstat_t *st) {
  int64_t f = a->f;
  if (a->ncarry > 0) add_leaf(a, a->carry, 0, a->ncarry, a->carry_keep); /* the rank's (the file's) last rows */
  size_t fz = (size_t)(f > 0 ? f : 1), rec = sizeof(node_key_t) + sizeof(ps_colstat_t) * (size_t)f;
  char *mine = ps_malloc(rec * (size_t)(a->nn > 0 ? a->nn : 1));
  for (int i = 0; i < a->nn; i++) {
    memcpy(mine + rec * (size_t)i, &a->key[i], sizeof(node_key_t));
    memcpy(mine + rec * (size_t)i + sizeof(node_key_t), node_st(a, i), sizeof(ps_colstat_t) * (size_t)f);
  }
  size_t total = 0;
  char *all = comm_gatherv_bytes(mine, rec * (size_t)a->nn, &total, NULL);
  free(mine);
  if (ps_rank == 0) {
    /* the ranks' nodes in rank order = grid order: the same pushes as one rank's */
    ps_colacc_t *t = ps_calloc(1, sizeof *t);
    t->f = f;
    t->st = ps_malloc(sizeof(ps_colstat_t) * fz * (MAXNODES + 1));
    for (size_t off = 0; off + rec <= total && rec > 0; off += rec) {
      node_key_t key;
      memcpy(&key, all + off, sizeof key);
      memcpy(node_st(t, MAXNODES), all + off + sizeof key, sizeof(ps_colstat_t) * (size_t)f);
      push(t, key.level, key.index, node_st(t, MAXNODES));
    }
    /* what is left: subtrees of decreasing size, folded left to right */
    stats_init(st, f);
    for (int i = 0; i < t->nn; i++)
      for (int64_t j = 0; j < f; j++) merge(&st[j], &node_st(t, i)[j]);
    free(t->st);
    free(t);
  }
  free(all);
  comm_bcast(st, sizeof(ps_colstat_t) * (size_t)f, 0);
  free(a->st);
  free(a->scratch);
  free(a->carry);
  free(a->carry_keep);
  free(a);
}

void stats_allreduce(ps_colstat_t *st, int64_t f) {
  if (ps_size == 1) return;
  size_t bytes = sizeof(ps_colstat_t) * (size_t)f;
  ps_colstat_t *all = ps_malloc(bytes * (size_t)ps_size);
  comm_allgather(st, all, bytes);
  stats_init(st, f);
  for (int r = 0; r < ps_size; r++)
    for (int64_t j = 0; j < f; j++) merge(&st[j], &all[(size_t)r * (size_t)f + (size_t)j]);
  free(all);
}

double stats_std(const ps_colstat_t *s) { return s->count > 0 ? sqrt(s->m2 / s->count) : NAN; }
double stats_mean(const ps_colstat_t *s) { return s->count > 0 ? s->mean : NAN; }
