/* binning.c: cut points from a distributed sample (see binning.h). */
#include "models/gbdt/binning.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/sort_floats.h"
#include "core/util.h"
#include "gbdt/gbdt_math.h"

int bins_in_sample(int64_t id, double rate, uint64_t seed) {
  return rate >= 1.0 || ps_id_unit(id, seed ^ 0xb175b175ull) < rate;
}

/* A feature of at most FEW_MAX distinct values (0/1 and one-hot columns):
 * its distinct values ascending in v[0..nd) with their counts, each the
 * first of its equals in v (-0 and +0 are equal: the stable sort's
 * compaction keeps the first too), without the sort; -1 if more. */
#define FEW_MAX 8
static int64_t few_distinct(float *v, int64_t n, int64_t *cnt) {
  float d[FEW_MAX];
  int64_t c[FEW_MAX], nd = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t k = 0;
    while (k < nd && d[k] != v[i]) k++;
    if (k == nd) {
      if (nd == FEW_MAX) return -1;
      d[nd] = v[i];
      c[nd++] = 0;
    }
    c[k]++;
  }
  for (int64_t k = 0; k < nd; k++) { /* insertion by value: distinct, so no ties */
    int64_t at = k;
    float x = d[k];
    int64_t cx = c[k];
    for (; at > 0 && v[at - 1] > x; at--) v[at] = v[at - 1], cnt[at] = cnt[at - 1];
    v[at] = x;
    cnt[at] = cx;
  }
  return nd;
}

/* Cuts of one feature from its sampled finite values v[0..n) (sorted here). */
static int feature_cuts(float *v, int64_t n, int max_bin, float *out) {
  int64_t *cnt = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  int64_t nd = few_distinct(v, n, cnt);
  if (nd >= 0) {
    int nc = bins_counted_cuts(v, cnt, nd, n, max_bin, out);
    free(cnt);
    return nc;
  }
  ps_sort_floats(v, n);
  nd = 0; /* distinct values, compacted at the front, with counts */
  for (int64_t i = 0; i < n; i++) {
    if (nd > 0 && v[nd - 1] == v[i]) cnt[nd - 1]++;
    else {
      v[nd] = v[i];
      cnt[nd++] = 1;
    }
  }
  int nc = bins_counted_cuts(v, cnt, nd, n, max_bin, out);
  free(cnt);
  return nc;
}

int bins_counted_cuts(const float *v, const int64_t *cnt, int64_t nd, int64_t n, int max_bin, float *out) {
  int nc = 0;
  int64_t *at = ps_malloc(sizeof(int64_t) * (size_t)(max_bin + 1)); /* the distinct value each cut follows */
  if (nd <= max_bin) { /* a bin per value: cut between neighbours */
    for (int64_t k = 0; k + 1 < nd; k++) at[nc++] = k;
  } else { /* equal counts: a cut once the running count passes the next quantile */
    double per = (double)n / max_bin, acc = 0;
    for (int64_t k = 0; k + 1 < nd && nc < max_bin - 1; k++) {
      acc += (double)cnt[k];
      if (acc >= per * (nc + 1)) at[nc++] = k;
    }
  }
  /* midpoints, in float, never reaching the next value: value <= cut goes left */
  for (int c = 0; c < nc; c++) {
    float lo = v[at[c]], hi = v[at[c] + 1];
    float mid = (float)((double)lo + ((double)hi - (double)lo) / 2);
    out[c] = mid < hi && mid >= lo ? mid : lo;
  }
  free(at);
  return nc;
}

static void offsets(ps_bins_t *b) {
  b->bin_off = ps_malloc(sizeof(int64_t) * (size_t)(b->f + 1));
  b->bin_off[0] = 0;
  for (int64_t j = 0; j < b->f; j++) b->bin_off[j + 1] = b->bin_off[j] + (b->cut_off[j + 1] - b->cut_off[j]) + 2;
  b->total_bins = b->bin_off[b->f];
}

/* send = S [m][f] by column, rank r's features (j % P == r) after rank r-1's,
 * a feature's m values in row order; 64 rows at a time (S is read a row
 * after the other, not a column: 1,000-wide rows were a cache miss a value). */
static void transpose_by_rank(const float *S, int64_t m, int64_t f, int P, float *send) {
  float **dst = ps_malloc(sizeof(float *) * (size_t)P);
  int64_t j0 = 0;
  for (int r = 0; r < P; r++) { /* rank r's first feature's column */
    dst[r] = send + (size_t)j0 * (size_t)m;
    j0 += f > r ? (f - r + P - 1) / P : 0;
  }
  for (int64_t i0 = 0; i0 < m; i0 += 64) {
    int64_t i1 = i0 + 64 < m ? i0 + 64 : m;
    for (int64_t j = 0; j < f; j++) {
      float *d = dst[j % P] + (size_t)(j / P) * (size_t)m;
      for (int64_t i = i0; i < i1; i++) d[i] = S[(size_t)i * (size_t)f + (size_t)j];
    }
  }
  free(dst);
}

void bins_from_sample(const float *S, int64_t m, int64_t f, int max_bin, ps_bins_t *b) {
  int P = ps_size;
  /* send rank r the values of its features (j % P == r), feature after feature */
  size_t *ss = ps_calloc((size_t)P, sizeof(size_t)), *rs = ps_calloc((size_t)P, sizeof(size_t));
  for (int64_t j = 0; j < f; j++) ss[j % P] += (size_t)m * sizeof(float);
  float *send = ps_malloc(sizeof(float) * (size_t)(m * f + 1));
  transpose_by_rank(S, m, f, P, send);
  int64_t *counts = ps_malloc(sizeof(int64_t) * (size_t)P); /* rows each rank sampled */
  int64_t mine = m;
  comm_allgather(&mine, counts, sizeof mine);
  size_t total = 0;
  float *recv = comm_alltoallv_bytes(send, ss, rs, &total);
  free(send);
  int64_t all = 0;
  for (int r = 0; r < P; r++) all += counts[r];
  /* my features' cuts, in fixed slots of max_bin floats + a count */
  int64_t myf = f > ps_rank ? (f - ps_rank + P - 1) / P : 0, slot = max_bin + 1;
  int64_t per_rank = (f + P - 1) / P;
  float *mycuts = ps_calloc((size_t)(per_rank * slot + 1), sizeof(float));
  float *vals = ps_malloc(sizeof(float) * (size_t)(all + 1));
  for (int64_t q = 0; q < myf; q++) {
    int64_t nv = 0, off = 0;
    for (int r = 0; r < P; r++) { /* rank r's block: its m_r values of each of my features */
      const float *blk = recv + off + (size_t)q * (size_t)counts[r];
      for (int64_t i = 0; i < counts[r]; i++)
        if (isfinite(blk[i])) vals[nv++] = blk[i];
      off += (size_t)counts[r] * (size_t)myf;
    }
    int nc = feature_cuts(vals, nv, max_bin, mycuts + q * slot + 1);
    mycuts[q * slot] = (float)nc;
  }
  free(vals);
  free(recv);
  bins_share_cuts(mycuts, f, max_bin, b);
  free(ss);
  free(rs);
  free(counts);
}

void bins_share_cuts(float *mycuts, int64_t f, int max_bin, ps_bins_t *b) {
  int P = ps_size;
  int64_t slot = max_bin + 1, per_rank = (f + P - 1) / P;
  float *allcuts = ps_malloc(sizeof(float) * (size_t)(P * per_rank * slot + 1));
  comm_allgather(mycuts, allcuts, sizeof(float) * (size_t)(per_rank * slot));
  free(mycuts);
  b->f = f;
  b->cut_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  b->cut_off[0] = 0;
  for (int64_t j = 0; j < f; j++) b->cut_off[j + 1] = b->cut_off[j] + (int64_t)allcuts[((j % P) * per_rank + j / P) * slot];
  b->cuts = ps_malloc(sizeof(float) * (size_t)(b->cut_off[f] + 1));
  for (int64_t j = 0; j < f; j++)
    memcpy(b->cuts + b->cut_off[j], allcuts + ((j % P) * per_rank + j / P) * slot + 1,
           sizeof(float) * (size_t)(b->cut_off[j + 1] - b->cut_off[j]));
  free(allcuts);
  b->cat = NULL; /* numerical until categorical.c says otherwise */
  offsets(b);
}

void bins_from_cuts(int64_t f, const float *cuts, const int64_t *cut_off, ps_bins_t *b) {
  b->f = f;
  b->cat = NULL;
  b->cut_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  memcpy(b->cut_off, cut_off, sizeof(int64_t) * (size_t)(f + 1));
  b->cuts = ps_malloc(sizeof(float) * (size_t)(cut_off[f] + 1));
  memcpy(b->cuts, cuts, sizeof(float) * (size_t)cut_off[f]);
  offsets(b);
}

void bins_free(ps_bins_t *b) {
  free(b->cuts);
  free(b->cut_off);
  free(b->bin_off);
  free(b->cat);
  memset(b, 0, sizeof *b);
}
