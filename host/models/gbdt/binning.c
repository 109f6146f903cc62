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

/* Cuts of one feature from its sampled finite values v[0..n) (sorted here). */
static int feature_cuts(float *v, int64_t n, int max_bin, float *out) {
  ps_sort_floats(v, n);
  int64_t nd = 0; /* distinct values, compacted at the front, with counts */
  int64_t *cnt = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
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

void bins_from_sample(const float *S, int64_t m, int64_t f, int max_bin, ps_bins_t *b) {
  int P = ps_size;
  /* send rank r the values of its features (j % P == r), feature after feature */
  size_t *ss = ps_calloc((size_t)P, sizeof(size_t)), *rs = ps_calloc((size_t)P, sizeof(size_t));
  for (int64_t j = 0; j < f; j++) ss[j % P] += (size_t)m * sizeof(float);
  float *send = ps_malloc(sizeof(float) * (size_t)(m * f + 1)), *p = send;
  for (int r = 0; r < P; r++)
    for (int64_t j = r; j < f; j += P)
      for (int64_t i = 0; i < m; i++) *p++ = S[(size_t)i * (size_t)f + (size_t)j];
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
