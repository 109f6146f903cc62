/* bundle.c: exclusive feature bundling -- the bundles from the binning
 * sample, the bundle columns of the binned rows, and per-feature
 * histograms recovered from the columns' (see bundle.h). */
#include "models/gbdt/bundle.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "gbdt/gbdt_cpu.h"

#define CODES 256 /* a column's codes fit a byte */
#define SEARCH 32 /* candidate columns checked per all-rank sum */

static int64_t nbins(const ps_bins_t *bins, int64_t j) { return bins->bin_off[j + 1] - bins->bin_off[j]; }

void bundles_layout(ps_bundles_t *bd, const ps_bins_t *bins) {
  int64_t f = bd->f, nb = 0;
  for (int64_t j = 0; j < f; j++)
    if (bd->group[j] + 1 > nb) nb = bd->group[j] + 1;
  bd->nb = nb;
  free(bd->mem_off); free(bd->member); free(bd->bin_off);
  bd->mem_off = ps_calloc((size_t)nb + 1, sizeof(int64_t));
  bd->member = ps_malloc(sizeof(int32_t) * (size_t)(f > 0 ? f : 1));
  bd->bin_off = ps_malloc(sizeof(int64_t) * ((size_t)nb + 1));
  for (int64_t j = 0; j < f; j++) bd->mem_off[bd->group[j] + 1]++;
  for (int64_t g = 0; g < nb; g++) bd->mem_off[g + 1] += bd->mem_off[g];
  int64_t *fill = ps_malloc(sizeof(int64_t) * ((size_t)nb + 1));
  memcpy(fill, bd->mem_off, sizeof(int64_t) * ((size_t)nb + 1));
  for (int64_t j = 0; j < f; j++) bd->member[fill[bd->group[j]]++] = (int32_t)j; /* by feature index */
  free(fill);
  bd->nmulti = 0;
  bd->bin_off[0] = 0;
  for (int64_t g = 0; g < nb; g++) {
    int64_t a = bd->mem_off[g], e = bd->mem_off[g + 1], code = 1;
    if (e - a == 1) { /* a lone feature: its bins as they are */
      bd->code_off[bd->member[a]] = 0;
      code = nbins(bins, bd->member[a]);
    } else {
      bd->nmulti++;
      for (int64_t q = a; q < e; q++) {
        bd->code_off[bd->member[q]] = (int32_t)code;
        code += nbins(bins, bd->member[q]) - 1;
      }
    }
    bd->bin_off[g + 1] = bd->bin_off[g] + code;
  }
  bd->total_bins = bd->bin_off[nb];
}

/* Each feature's default bin (the most frequent over every rank's sample,
 * the lowest on ties) and its rows off it (all ranks); Bs [m][f] binned. */
static void defaults(const uint8_t *Bs, int64_t m, const ps_bins_t *bins, uint8_t *dflt, int64_t *nnz, int64_t *M) {
  int64_t f = bins->f, *cnt = ps_calloc((size_t)bins->total_bins + 1, sizeof(int64_t));
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < f; j++) cnt[bins->bin_off[j] + Bs[(size_t)i * (size_t)f + (size_t)j]]++;
  cnt[bins->total_bins] = m;
  comm_allreduce_sum_i64(cnt, (size_t)bins->total_bins + 1);
  *M = cnt[bins->total_bins];
  for (int64_t j = 0; j < f; j++) {
    const int64_t *c = cnt + bins->bin_off[j];
    int64_t d = 0;
    for (int64_t b = 1; b < nbins(bins, j); b++)
      if (c[b] > c[d]) d = b;
    dflt[j] = (uint8_t)d;
    nnz[j] = *M - c[d];
  }
  free(cnt);
}

/* The features in the greedy's order: more rows off the default first, then the lower index. */
static const int64_t *sort_nnz;
static int by_nnz(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  if (sort_nnz[x] != sort_nnz[y]) return sort_nnz[x] > sort_nnz[y] ? -1 : 1;
  return (x > y) - (x < y);
}

/* Do two sampled-row masks of this rank share a row? */
static int overlap(const uint64_t *a, const uint64_t *b, int64_t words) {
  for (int64_t w = 0; w < words; w++)
    if (a[w] & b[w]) return 1;
  return 0;
}

/* The greedy (bundle.h) over masks fm [f][words] of each feature's sampled
 * rows off its default; a column's mask is kept in its first feature's. */
typedef struct {
  const ps_bins_t *bins;
  uint64_t *fm;
  int64_t words, M;
  const int64_t *nnz;
} greedy_t;

static void greedy(const greedy_t *gr, int32_t *group) {
  int64_t f = gr->bins->f, nb = 0;
  int64_t *order = ps_malloc(sizeof(int64_t) * (size_t)(f + 1)), *first = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  int64_t *gnnz = ps_malloc(sizeof(int64_t) * (size_t)(f + 1)), *codes = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  int64_t *cand = ps_malloc(sizeof(int64_t) * (size_t)(f + 1)), *hit = ps_malloc(sizeof(int64_t) * SEARCH);
  for (int64_t j = 0; j < f; j++) order[j] = j;
  sort_nnz = gr->nnz;
  qsort(order, (size_t)f, sizeof(int64_t), by_nnz);
  for (int64_t q = 0; q < f; q++) {
    int64_t j = order[q], nc = 0, more = nbins(gr->bins, j) - 1, to = -1;
    const uint64_t *mj = gr->fm + (size_t)j * (size_t)gr->words;
    for (int64_t g = 0; g < nb; g++) /* room left: rows (exclusive: at most M) and codes */
      if (gnnz[g] + gr->nnz[j] <= gr->M && codes[g] + more <= CODES) cand[nc++] = g;
    if (gr->nnz[j] == 0 && nc > 0) to = cand[0]; /* off its default in no sampled row of any rank */
    for (int64_t c0 = 0; c0 < nc && to < 0; c0 += SEARCH) { /* SEARCH candidates an all-rank sum */
      int64_t k = nc - c0 < SEARCH ? nc - c0 : SEARCH;
      for (int64_t c = 0; c < k; c++)
        hit[c] = overlap(mj, gr->fm + (size_t)first[cand[c0 + c]] * (size_t)gr->words, gr->words);
      comm_allreduce_sum_i64(hit, (size_t)k);
      for (int64_t c = 0; c < k && to < 0; c++)
        if (hit[c] == 0) to = cand[c0 + c];
    }
    if (to < 0) { /* a new column */
      to = nb++;
      first[to] = j;
      gnnz[to] = 0;
      codes[to] = 1;
    } else {
      uint64_t *mg = gr->fm + (size_t)first[to] * (size_t)gr->words;
      for (int64_t w = 0; w < gr->words; w++) mg[w] |= mj[w];
    }
    gnnz[to] += gr->nnz[j];
    codes[to] += more;
    group[j] = (int32_t)to;
  }
  free(order); free(first); free(gnnz); free(codes); free(cand); free(hit);
}

void bundles_find(const float *S, int64_t m, const ps_bins_t *bins, ps_bundles_t *bd) {
  int64_t f = bins->f, words = (m + 63) / 64, M = 0;
  memset(bd, 0, sizeof *bd);
  bd->f = f;
  bd->group = ps_malloc(sizeof(int32_t) * (size_t)(f + 1));
  bd->code_off = ps_malloc(sizeof(int32_t) * (size_t)(f + 1));
  bd->dflt = ps_malloc((size_t)(f + 1));
  int64_t *nnz = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  uint8_t *Bs = ps_malloc((size_t)(m * f + 1));
  ps_gbdt_bin_cpu(S, m, f, bins->cuts, bins->cut_off, Bs);
  defaults(Bs, m, bins, bd->dflt, nnz, &M);
  uint64_t *fm = ps_calloc((size_t)(f * words + 1), sizeof(uint64_t));
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < f; j++)
      if (Bs[(size_t)i * (size_t)f + (size_t)j] != bd->dflt[j]) fm[(size_t)j * (size_t)words + (size_t)(i >> 6)] |= 1ull << (i & 63);
  free(Bs);
  greedy(&(greedy_t){.bins = bins, .fm = fm, .words = words, .M = M, .nnz = nnz}, bd->group);
  free(fm);
  free(nnz);
  bundles_layout(bd, bins);
}

/* Bundle columns of rows [0, n); bad[g] = 1 where column g has a row with
 * two members off their default. */
static void encode_rows(const ps_bundles_t *bd, const uint8_t *B, int64_t n, uint8_t *Bb, int64_t *bad) {
  int64_t f = bd->f, nb = bd->nb;
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *b = B + (size_t)i * (size_t)f;
    uint8_t *o = Bb + (size_t)i * (size_t)nb;
    memset(o, 0, (size_t)nb);
    for (int64_t j = 0; j < f; j++) {
      int32_t g = bd->group[j], off = bd->code_off[j];
      int d = bd->dflt[j];
      if (off == 0) o[g] = b[j];
      else if (b[j] != d) {
        bad[g] |= o[g] != 0;
        o[g] = (uint8_t)(off + b[j] - (b[j] > d));
      }
    }
  }
}

uint8_t *bundles_encode(ps_bundles_t *bd, const ps_bins_t *bins, const uint8_t *B, int64_t n) {
  while (bd->nmulti > 0) {
    uint8_t *Bb = ps_malloc((size_t)(n * bd->nb + 1));
    int64_t *bad = ps_calloc((size_t)bd->nb + 1, sizeof(int64_t)), any = 0;
    encode_rows(bd, B, n, Bb, bad);
    comm_allreduce_max_i64(bad, (size_t)bd->nb);
    for (int64_t g = 0; g < bd->nb; g++) any |= bad[g];
    if (!any) {
      free(bad);
      return Bb;
    }
    free(Bb);
    /* take the conflicting columns apart: each member a column of its own, after the others */
    int64_t nb = bd->nb, next = 0, *to = ps_malloc(sizeof(int64_t) * (size_t)(nb + 1));
    for (int64_t g = 0; g < nb; g++) to[g] = bad[g] ? -1 : next++;
    for (int64_t j = 0; j < bd->f; j++) bd->group[j] = (int32_t)(to[bd->group[j]] >= 0 ? to[bd->group[j]] : next++);
    free(to);
    free(bad);
    bundles_layout(bd, bins);
  }
  return NULL;
}

void bundles_expand(const ps_bundles_t *bd, const int64_t *fbin_off, const int64_t *hb, int w, int64_t *h) {
  for (int64_t g = 0; g < bd->nb; g++) {
    const int64_t *c = hb + w * bd->bin_off[g];
    int64_t nc = bd->bin_off[g + 1] - bd->bin_off[g], a = bd->mem_off[g], e = bd->mem_off[g + 1];
    if (e - a == 1) { /* a lone feature: the same bins */
      memcpy(h + w * fbin_off[bd->member[a]], c, sizeof(int64_t) * (size_t)(w * nc));
      continue;
    }
    int64_t tot[4] = {0, 0, 0, 0}; /* the leaf's sums: every row is in one code of the column */
    for (int64_t q = 0; q < nc; q++)
      for (int t = 0; t < w; t++) tot[t] += c[w * q + t];
    for (int64_t k = a; k < e; k++) {
      int64_t j = bd->member[k], d = bd->dflt[j], off = bd->code_off[j], rest[4];
      int64_t *o = h + w * fbin_off[j];
      memcpy(rest, tot, sizeof rest);
      for (int64_t b = 0; b < fbin_off[j + 1] - fbin_off[j]; b++) {
        if (b == d) continue;
        const int64_t *src = c + w * (off + b - (b > d));
        for (int t = 0; t < w; t++) {
          o[w * b + t] = src[t];
          rest[t] -= src[t];
        }
      }
      for (int t = 0; t < w; t++) o[w * d + t] = rest[t];
    }
  }
}

void bundles_free(ps_bundles_t *bd) {
  free(bd->group); free(bd->code_off); free(bd->dflt);
  free(bd->bin_off); free(bd->member); free(bd->mem_off);
  memset(bd, 0, sizeof *bd);
}
