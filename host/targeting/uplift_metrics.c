/* uplift_metrics.c: eval --uplift's Qini, AUUC and deciles (see
 * uplift_metrics.h), exact and distributed the way stats/metrics.c does
 * ROC/PR -- no rank gathers the rows:
 *
 * - each kept row becomes one key: its score's order bits, its row number
 *   and its (outcome, treatment) class in the lowest two bits, so that
 *   ascending keys are sklift's order read backwards (score descending, a
 *   later row first among equal scores). Keys are 8 bytes (the score's
 *   float32 order: 31 bits, the row: up to 31 bits, the class: 2), 16 when
 *   the scores are not all float32 values or the file has over 2^31 rows.
 *   Every key is distinct (the row), so the sample sort below splits even a
 *   column of equal scores evenly;
 * - a sample sort: splitters from every rank's regular sample, each key sent
 *   once to the rank owning its key range (higher ranks: higher keys, i.e.
 *   earlier in sklift's order), then a radix sort of the slice;
 * - an allgather of each slice's class counts and the counts of its first
 *   and last groups of equal scores: every rank knows the counts above its
 *   slice and where the curve's previous point is, though a group of equal
 *   scores may span several ranks (its point is made by the rank holding
 *   its end);
 * - each rank walks its slice: a curve point at each end of a group, the
 *   trapezoid to it added in exact fixed point (core/xsum.h), each row's
 *   decile from its global position (numpy.array_split); integer counts and
 *   fixed-point sums are then summed across ranks, exact in any order;
 * - the perfect curves depend only on the four class counts: their groups
 *   (one class each, or two for the Qini curve's zero) in their fixed order.
 *
 * So every rank gets the same bits for any rank count. Memory: a rank holds
 * its rows' scores (8 bytes a row, which become its keys), the keys it sends
 * and the slice it receives (8 bytes a row each, in the scores' memory when
 * they fit) and the radix sort's spare (the send buffer). */
#include "targeting/uplift_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "core/xsum.h"

typedef unsigned __int128 u128;
#define ALWAYS inline __attribute__((always_inline))

/* The classes (y << 1 | t), the key's lowest two bits. */
enum { CN = 0, TN = 1, CR = 2, TR = 3 };

/* Where a key's fields are: [score order][row: rb bits][class: 2 bits]. */
typedef struct {
  int W;     /* 64-bit words a key: 1 or 2 */
  int shift; /* the score order's lowest bit (rb + 2) */
  int bits;  /* bits used */
  int f32;   /* the scores are float32 values: 31 order bits, else 63 */
} layout_t;

/* Scores in [-1, 1] -> integers in the same order; -0 is +0 (sklift's
 * np.diff sees no change). float32: 0 .. 2 * 0x3F800000 < 2^31. */
static inline uint64_t ord_f32(double x) {
  float f = (float)x;
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  uint32_t mag = b & 0x7FFFFFFFu;
  return (b >> 31) ? 0x3F800000u - mag : 0x3F800000u + mag;
}
static inline uint64_t ord_f64(double x) {
  const uint64_t one = 0x3FF0000000000000ull; /* 1.0: 0 .. 2 * one < 2^63 */
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  uint64_t mag = b & 0x7FFFFFFFFFFFFFFFull;
  return (b >> 63) ? one - mag : one + mag;
}

static ALWAYS u128 kget(const uint64_t *k, size_t i, int W) {
  return W == 1 ? (u128)k[i] : ((u128)k[2 * i + 1] << 64 | k[2 * i]);
}
static ALWAYS void kcopy(uint64_t *dst, size_t j, const uint64_t *src, size_t i, int W) {
  if (W == 1) dst[j] = src[i];
  else dst[2 * j] = src[2 * i], dst[2 * j + 1] = src[2 * i + 1];
}
static ALWAYS uint64_t ord_at(const uint64_t *k, size_t i, int W, int shift) {
  return W == 1 ? k[i] >> shift : (uint64_t)(kget(k, i, 2) >> shift);
}
static ALWAYS int cls_at(const uint64_t *k, size_t i, int W) { return (int)(k[(size_t)W * i] & 3); }

/* The kept rows' keys into out (which may be u's own memory when W = 1: key
 * j is written after score i >= j is read, through memcpy); their count. */
static size_t make_keys(const double *u, const uint8_t *y, const uint8_t *t, const uint8_t *keep, int64_t row0,
                        int64_t n, const layout_t *L, uint64_t *out) {
  size_t m = 0;
  for (int64_t i = 0; i < n; i++) {
    if (keep && !keep[i]) continue;
    double x;
    memcpy(&x, (const char *)u + sizeof(double) * (size_t)i, sizeof x);
    u128 k = (u128)(L->f32 ? ord_f32(x) : ord_f64(x)) << L->shift | (u128)(uint64_t)(row0 + i) << 2 |
             (u128)((y[i] != 0) << 1 | (t[i] != 0));
    uint64_t w[2] = {(uint64_t)k, (uint64_t)(k >> 64)};
    memcpy((char *)out + sizeof(uint64_t) * (size_t)L->W * m, w, sizeof(uint64_t) * (size_t)L->W);
    m++;
  }
  return m;
}

/* LSD radix sort of n keys on the used bits, 11-bit digits, the histograms
 * in one read (which also counts the classes into cls[4]); a digit all keys
 * share is skipped. tmp holds n keys. Returns where the sorted keys are. */
#define RBITS 11
#define RBUCKETS (1 << RBITS)
static ALWAYS size_t digit(const uint64_t *k, size_t i, int W, int sh) {
  if (W == 1) return (size_t)(k[i] >> sh) & (RBUCKETS - 1);
  return (size_t)(kget(k, i, 2) >> sh) & (RBUCKETS - 1);
}
static ALWAYS uint64_t *radix_w(uint64_t *k, uint64_t *tmp, size_t n, int bits, int64_t *cls, int W) {
  int nd = (bits + RBITS - 1) / RBITS;
  size_t(*count)[RBUCKETS + 1] = ps_calloc((size_t)nd, sizeof *count);
  for (size_t i = 0; i < n; i++)
    for (int d = 0; d < nd; d++) count[d][digit(k, i, W, RBITS * d) + 1]++;
  for (int b = 0; b < RBUCKETS; b++) cls[b & 3] += (int64_t)count[0][b + 1];
  uint64_t *src = k, *dst = tmp;
  for (int d = 0; d < nd; d++) {
    size_t *c = count[d];
    int trivial = 0;
    for (int b = 0; b < RBUCKETS; b++) trivial |= c[b + 1] == n;
    if (trivial) continue;
    for (int b = 0; b < RBUCKETS; b++) c[b + 1] += c[b];
    for (size_t i = 0; i < n; i++) kcopy(dst, c[digit(src, i, W, RBITS * d)]++, src, i, W);
    uint64_t *s = src;
    src = dst;
    dst = s;
  }
  free(count);
  return src;
}
static uint64_t *radix_sort(uint64_t *k, uint64_t *tmp, size_t n, const layout_t *L, int64_t *cls) {
  return L->W == 1 ? radix_w(k, tmp, n, L->bits, cls, 1) : radix_w(k, tmp, n, L->bits, cls, 2);
}

/* Sample sort: splitters at the weighted quantiles of every rank's regular
 * sample (keys are distinct, so the ranges are even however many scores tie
 * and however unequal the ranks' counts: a slice is the average within a
 * few % -- 1/sqrt(samples)); rank q
 * takes the keys in (split[q-1], split[q]]. Each key is sent once. The
 * slice arrives in key[] when it fits its cap keys (callers leave room:
 * pages never written cost no memory), else in new memory (*fresh); the
 * send buffer, with room for the slice, is returned in *spare for the sort.
 * Returns the slice and its size in *r. */
static int samples_per_rank(int P) { return P <= 64 ? 1024 : P <= 256 ? 65536 / P : 256; }
typedef struct {
  u128 k, w; /* a sampled key, the keys it stands for (times S) */
} wsample_t;
static int cmp_wsample(const void *a, const void *b) {
  const wsample_t *x = a, *y = b;
  return (x->k > y->k) - (x->k < y->k);
}
static inline int rank_of(u128 x, const u128 *split, int P) {
  int lo = 0, hi = P - 1; /* the first q with x <= split[q]; split[P-1] is past every key */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (x <= split[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
static uint64_t *exchange(uint64_t *key, size_t m, size_t cap, const layout_t *L, uint64_t **spare, size_t *r,
                          int *fresh) {
  int P = ps_size, W = L->W, S = samples_per_rank(P);
  size_t rec = sizeof(u128) * (size_t)(S + 1); /* [0]: the rank's key count, then its samples */
  u128 *mine = ps_calloc(1, rec), *smp = ps_malloc(rec * (size_t)P);
  mine[0] = m;
  for (size_t i = 0; i < (size_t)S && m > 0; i++) mine[1 + i] = kget(key, (2 * i + 1) * m / (2 * (size_t)S), W);
  comm_allgather(mine, smp, rec);
  /* a sample stands for m_q / S keys of its rank q: splitters at the
   * weighted quantiles, so ranks holding unequal counts still get even
   * slices (integer weights m_q against targets S * sum(m) * (q + 1) / P) */
  wsample_t *ws = ps_malloc(sizeof(wsample_t) * (size_t)S * (size_t)P);
  size_t ns = 0;
  u128 wsum = 0;
  for (int q = 0; q < P; q++) {
    u128 mq = smp[(size_t)q * (S + 1)];
    for (size_t i = 0; mq > 0 && i < (size_t)S; i++) ws[ns++] = (wsample_t){smp[(size_t)q * (S + 1) + 1 + i], mq};
    wsum += mq * (u128)S;
  }
  qsort(ws, ns, sizeof(wsample_t), cmp_wsample);
  u128 *split = ps_malloc(sizeof(u128) * (size_t)P), acc = 0;
  size_t j = 0;
  for (int q = 0; q < P - 1; q++) {
    u128 target = wsum / (u128)P * (u128)(q + 1) + wsum % (u128)P * (u128)(q + 1) / (u128)P;
    while (j < ns && acc < target) acc += ws[j++].w;
    split[q] = j ? ws[j - 1].k : 0;
  }
  split[P - 1] = ~(u128)0;
  free(ws);
  free(mine);
  free(smp);
  size_t *cnt = ps_calloc((size_t)P, sizeof(size_t)), *at = ps_malloc(sizeof(size_t) * (size_t)P);
  int *dest = ps_malloc(sizeof(int) * (m > 0 ? m : 1)); /* each key's rank, found once */
  for (size_t i = 0; i < m; i++) cnt[dest[i] = rank_of(kget(key, i, W), split, P)]++;
  free(split);
  size_t *bytes = ps_malloc(sizeof(size_t) * (size_t)P), *recv = ps_malloc(sizeof(size_t) * (size_t)P);
  for (int q = 0; q < P; q++) bytes[q] = cnt[q] * sizeof(uint64_t) * (size_t)W;
  size_t total = comm_alltoall_sizes(bytes, recv);
  *r = total / (sizeof(uint64_t) * (size_t)W);
  size_t room = *r > m ? *r : m;
  uint64_t *send = ps_malloc(sizeof(uint64_t) * (size_t)W * (room > 0 ? room : 1));
  at[0] = 0;
  for (int q = 1; q < P; q++) at[q] = at[q - 1] + cnt[q - 1];
  for (size_t i = 0; i < m; i++) kcopy(send, at[dest[i]]++, key, i, W);
  free(dest);
  *fresh = *r > cap; /* the keys are in send now: their buffer is free */
  uint64_t *got = *fresh ? ps_malloc(total) : key;
  comm_alltoallv_bytes_into(send, bytes, recv, got);
  free(cnt);
  free(at);
  free(bytes);
  free(recv);
  *spare = send;
  return got;
}

/* A slice's summary, allgathered: its class counts, the order of its
 * first (highest) and last scores (-1: no rows) and the class counts of
 * its first and last groups of equal scores. */
enum { R_CLS = 0, R_TOP = 4, R_BOT = 5, R_TOPC = 6, R_BOTC = 10, R_LEN = 14 };

static ALWAYS void group_counts(const uint64_t *k, size_t r, int from_top, int W, int shift, int64_t *c) {
  if (r == 0) return;
  if (from_top) {
    uint64_t o = ord_at(k, r - 1, W, shift);
    for (size_t i = r; i > 0 && ord_at(k, i - 1, W, shift) == o; i--) c[cls_at(k, i - 1, W)]++;
  } else {
    uint64_t o = ord_at(k, 0, W, shift);
    for (size_t i = 0; i < r && ord_at(k, i, W, shift) == o; i++) c[cls_at(k, i, W)]++;
  }
}

/* sklift's two curves at a point: all rows so far, of which nt treated, yt
 * treated responders, yc control responders (integers, exact as doubles). */
static inline void curve_at(const int64_t *c, double *vq, double *vu) {
  double all = (double)(c[CN] + c[TN] + c[CR] + c[TR]), nt = (double)(c[TN] + c[TR]), yt = (double)c[TR],
         yc = (double)c[CR], nc = all - nt;
  *vq = yt - (nc != 0 ? yc * (nt / nc) : 0);
  *vu = ((nt != 0 ? yt / nt : 0) - (nc != 0 ? yc / nc : 0)) * all;
}

typedef struct {
  int64_t cum[4];     /* class counts of the rows above the slice (global order) */
  int64_t prev[4];    /* ... at the curve's last point above the slice's first group end */
  int end_below;      /* the slice's last group goes on on a lower rank: its point is made there */
  int64_t hi[PS_UPLIFT_BINS]; /* global positions where each decile ends */
} walk_ctx_t;

/* The slice by descending key: a curve point at each group end, the
 * trapezoids to them (exact sums), each row's decile. */
static ALWAYS void walk_w(const uint64_t *k, size_t r, const walk_ctx_t *x, int shift, int64_t *aq, int64_t *au,
                          int64_t (*bins)[4], int W) {
  int64_t c[4];
  memcpy(c, x->cum, sizeof c);
  double px = (double)(x->prev[0] + x->prev[1] + x->prev[2] + x->prev[3]), pq, pu;
  curve_at(x->prev, &pq, &pu);
  int64_t pos = c[0] + c[1] + c[2] + c[3];
  int b = 0;
  while (b < PS_UPLIFT_BINS - 1 && pos >= x->hi[b]) b++;
  size_t i = r, groups = 0;
  while (i > 0) {
    uint64_t o = ord_at(k, i - 1, W, shift);
    do {
      int cl = cls_at(k, --i, W);
      while (b < PS_UPLIFT_BINS - 1 && pos >= x->hi[b]) b++;
      bins[b][cl]++;
      c[cl]++;
      pos++;
    } while (i > 0 && ord_at(k, i - 1, W, shift) == o);
    if (i == 0 && x->end_below) break;
    double vq, vu, all = (double)pos;
    curve_at(c, &vq, &vu);
    ps_xsum_add(aq, (all - px) * (vq + pq) / 2.0); /* sklift's auc: trapezoids */
    ps_xsum_add(au, (all - px) * (vu + pu) / 2.0);
    px = all, pq = vq, pu = vu;
    if (++groups % (1u << 20) == 0) ps_xsum_norm(aq), ps_xsum_norm(au); /* limbs far from overflow */
  }
}

/* A perfect curve's area over its groups (class counts in order, empty
 * ones skipped), summed as sklift sums it; its last point in lx, ly. */
static double perfect_area(const int64_t (*g)[4], int ng, int qini, double *lx, double *ly) {
  int64_t c[4] = {0, 0, 0, 0};
  double px = 0, py = 0, area = 0;
  for (int j = 0; j < ng; j++) {
    if (g[j][0] + g[j][1] + g[j][2] + g[j][3] == 0) continue;
    for (int z = 0; z < 4; z++) c[z] += g[j][z];
    double vq, vu, all = (double)(c[0] + c[1] + c[2] + c[3]);
    curve_at(c, &vq, &vu);
    double v = qini ? vq : vu;
    area += (all - px) * (v + py) / 2.0;
    px = all, py = v;
  }
  *lx = px;
  *ly = py;
  return area;
}

/* The key layout, the same on every rank: 8-byte keys unless a kept score
 * is not a float32 value or the file has over 2^31 rows. */
static layout_t choose_layout(const double *u, const uint8_t *keep, int64_t n, int64_t n_file) {
  int64_t wide = 0;
  for (int64_t i = 0; i < n && !wide; i++)
    if (!keep || keep[i]) wide = (double)(float)u[i] != u[i];
  comm_allreduce_max_i64(&wide, 1);
  int rb = 1;
  while (rb < 63 && ((int64_t)1 << rb) < n_file) rb++;
  layout_t L = {.f32 = !wide, .shift = rb + 2};
  L.bits = (wide ? 63 : 31) + rb + 2;
  L.W = L.bits <= 64 ? 1 : 2;
  return L;
}

/* The rows' keys, exchanged and sorted: this rank's slice of the global
 * order (ascending keys), its size in *r; *own and *spare are the buffers
 * the caller frees (NULL or memory of this call). */
static uint64_t *sorted_slice(double *u, size_t ucap, const uint8_t *y, const uint8_t *t, const uint8_t *keep,
                              int64_t row0, int64_t n, const layout_t *L, size_t *r, uint64_t **own, uint64_t **spare,
                              int64_t *cls) {
  size_t mk = 0;
  for (int64_t i = 0; i < n; i++) mk += !keep || keep[i];
  /* keys: in u's memory when they are 8 bytes; room for a slice larger
   * than this rank's share either way */
  size_t cap = L->W == 1 ? ucap : mk + mk / 4 + 1024;
  *own = L->W == 1 ? NULL : ps_malloc(sizeof(uint64_t) * 2 * cap);
  uint64_t *key = L->W == 1 ? (uint64_t *)(void *)u : *own, *slice = key;
  *r = make_keys(u, y, t, keep, row0, n, L, key);
  if (ps_size > 1) {
    int fresh = 0;
    slice = exchange(key, *r, cap, L, spare, r, &fresh);
    if (fresh) free(*own), *own = slice;
  } else {
    *spare = ps_malloc(sizeof(uint64_t) * (size_t)L->W * (*r > 0 ? *r : 1));
  }
  return radix_sort(slice, *spare, *r, L, cls);
}

/* From every slice's summary (allgathered): the class counts of all rows
 * (tot) and of the rows above this slice, the last curve point above its
 * first group end -- the start of its first group, which may begin on
 * higher ranks -- and whether its last group goes on below. */
static void walk_context(const int64_t *rec, size_t r, const int64_t *recs, walk_ctx_t *x, int64_t *tot) {
  int P = ps_size, me = ps_rank;
  memset(x, 0, sizeof *x);
  for (int q = 0; q < P; q++)
    for (int z = 0; z < 4; z++) {
      tot[z] += recs[q * R_LEN + R_CLS + z];
      if (q > me) x->cum[z] += recs[q * R_LEN + R_CLS + z];
    }
  memcpy(x->prev, x->cum, sizeof x->prev);
  if (r > 0) {
    for (int q = me + 1; q < P; q++) {
      const int64_t *o = recs + (size_t)q * R_LEN;
      if (o[R_TOP] < 0) continue; /* no rows */
      if (o[R_BOT] != rec[R_TOP]) break;
      for (int z = 0; z < 4; z++) x->prev[z] -= o[R_BOTC + z];
      if (o[R_TOP] != rec[R_TOP]) break; /* else that whole slice is this group: on up */
    }
    for (int q = me - 1; q >= 0; q--) {
      const int64_t *o = recs + (size_t)q * R_LEN;
      if (o[R_TOP] < 0) continue;
      x->end_below = o[R_TOP] == rec[R_BOT];
      break;
    }
  }
  /* deciles as numpy.array_split: the first n % 10 have one row more */
  int64_t nall = tot[0] + tot[1] + tot[2] + tot[3], at = 0;
  for (int b = 0; b < PS_UPLIFT_BINS; b++) x->hi[b] = at += nall / PS_UPLIFT_BINS + (b < nall % PS_UPLIFT_BINS);
}

/* The Qini coefficient and AUUC: the curves' areas (fixed-point sums aq, au)
 * against the perfect curves', both above the diagonal to the same end. */
static void coefficients(const int64_t *tot, int64_t *aq, int64_t *au, ps_uplift_metrics_t *m) {
  /* the perfect curves: groups of one class (the Qini curve's 0 holds both
   * non-responder classes), in sklift's key order */
  double cr = (double)tot[CR], tn = (double)tot[TN];
  int64_t gq[3][4] = {{[TR] = tot[TR]}, {[CN] = tot[CN], [TN] = tot[TN]}, {[CR] = tot[CR]}};
  int64_t gu[4][4] = {{[TR] = tot[TR]}, {[CN] = tot[CN]}, {0}, {0}};
  gu[cr > tn ? 2 : 3][CR] = tot[CR];
  gu[cr > tn ? 3 : 2][TN] = tot[TN];
  for (int q = 1; q >= 0; q--) {
    double px, py, a = ps_xsum_value(q ? aq : au);
    double p = q ? perfect_area((const int64_t(*)[4])gq, 3, 1, &px, &py)
                 : perfect_area((const int64_t(*)[4])gu, 4, 0, &px, &py);
    double base = px * py / 2.0; /* the diagonal to the perfect curve's end (the same end) */
    double v = (a - base) / (p - base);
    if (q) m->qini = v, m->qini_area = a - base;
    else m->auuc = v, m->auuc_area = a - base;
  }
}

/* Each decile's rates, uplift and standard error, and the curves at its end. */
static void deciles(const int64_t (*bins)[4], const int64_t *hi, ps_uplift_metrics_t *m) {
  int64_t nt = 0, yt = 0, yc = 0, at = 0;
  for (int b = 0; b < PS_UPLIFT_BINS; b++) {
    double bt = (double)(bins[b][TN] + bins[b][TR]), bc = (double)(bins[b][CN] + bins[b][CR]);
    double byt = (double)bins[b][TR], byc = (double)bins[b][CR];
    at = hi[b];
    nt += (int64_t)bt;
    yt += (int64_t)byt;
    yc += (int64_t)byc;
    double pt = bt > 0 ? byt / bt : NAN, pc = bc > 0 ? byc / bc : NAN;
    m->bin_n_t[b] = bt;
    m->bin_n_c[b] = bc;
    m->bin_rate_t[b] = pt;
    m->bin_rate_c[b] = pc;
    m->bin_uplift[b] = pt - pc;
    m->bin_se[b] = sqrt(pt * (1 - pt) / bt + pc * (1 - pc) / bc);
    double all = (double)at, nc = all - (double)nt;
    m->depth_rows[b] = all;
    m->depth_incremental[b] = (double)yt - (nc != 0 ? (double)yc * ((double)nt / nc) : 0);
    m->depth_uplift_curve[b] = ((nt ? (double)yt / (double)nt : 0) - (nc != 0 ? (double)yc / nc : 0)) * all;
  }
}

void uplift_metrics(double *u, size_t ucap, const uint8_t *y, const uint8_t *t, const uint8_t *keep, int64_t row0,
                    int64_t n, int64_t n_file, ps_uplift_metrics_t *m) {
  layout_t L = choose_layout(u, keep, n, n_file);
  size_t r = 0;
  uint64_t *own = NULL, *spare = NULL;
  int64_t rec[R_LEN] = {0};
  uint64_t *s = sorted_slice(u, ucap, y, t, keep, row0, n, &L, &r, &own, &spare, rec + R_CLS);
  rec[R_TOP] = r ? (int64_t)(L.W == 1 ? ord_at(s, r - 1, 1, L.shift) : ord_at(s, r - 1, 2, L.shift)) : -1;
  rec[R_BOT] = r ? (int64_t)(L.W == 1 ? ord_at(s, 0, 1, L.shift) : ord_at(s, 0, 2, L.shift)) : -1;
  if (L.W == 1) {
    group_counts(s, r, 1, 1, L.shift, rec + R_TOPC);
    group_counts(s, r, 0, 1, L.shift, rec + R_BOTC);
  } else {
    group_counts(s, r, 1, 2, L.shift, rec + R_TOPC);
    group_counts(s, r, 0, 2, L.shift, rec + R_BOTC);
  }
  int64_t *recs = ps_malloc(sizeof rec * (size_t)ps_size);
  comm_allgather(rec, recs, sizeof rec);
  walk_ctx_t x;
  int64_t tot[4] = {0, 0, 0, 0};
  walk_context(rec, r, recs, &x, tot);
  free(recs);
  /* sums: Qini area, uplift area (fixed point), decile class counts */
  int64_t sums[2 * PS_XS_WORDS + 4 * PS_UPLIFT_BINS];
  memset(sums, 0, sizeof sums);
  int64_t *aq = sums, *au = sums + PS_XS_WORDS, (*bins)[4] = (int64_t(*)[4])(sums + 2 * PS_XS_WORDS);
  if (L.W == 1) walk_w(s, r, &x, L.shift, aq, au, bins, 1);
  else walk_w(s, r, &x, L.shift, aq, au, bins, 2);
  ps_xsum_norm(aq);
  ps_xsum_norm(au);
  comm_allreduce_sum_i64(sums, sizeof sums / sizeof sums[0]); /* integers: exact, any order */
  free(spare);
  free(own);

  memset(m, 0, sizeof *m);
  m->n = (double)(tot[0] + tot[1] + tot[2] + tot[3]);
  m->n_t = (double)(tot[TN] + tot[TR]);
  m->n_c = m->n - m->n_t;
  m->y_t = (double)tot[TR];
  m->y_c = (double)tot[CR];
  coefficients(tot, aq, au, m);
  deciles((const int64_t(*)[4])bins, x.hi, m);
}
