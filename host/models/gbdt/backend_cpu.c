/* backend_cpu.c: the trees' CPU backend (backend.h) over the CPU twins of
 * kernels/gbdt: the row partition is one array of row indices, a leaf a
 * contiguous segment of it, split in place stably (LightGBM's layout). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_cpu.h"
#include "gbdt/hist_groups_cpu.h"
#include "gbdt/hist_pack_cpu.h"
#include "gbdt/leaf_index_cpu.h"
#include "models/device.h"
#include "models/gbdt/backend.h"
#include "models/gbdt/colcache.h"

typedef struct {
  const uint8_t *B;
  int64_t n, f, total_bins;
  const int64_t *bin_off;
  const int64_t *gq, *hq;
  int64_t *rows, *tmp;          /* [n] */
  int64_t *begin, *count;       /* [max_leaves] a leaf's segment of rows */
  const int32_t *gh;            /* packed quantized gradients, or NULL */
  int32_t qmax;
  const ps_bundles_t *bd;       /* bundle columns Bb [n][bd->nb], or NULL */
  const uint8_t *Bb;
  int64_t *hb;                  /* [bd->total_bins][PS_HIST_W] their histogram */
  const ps_gbdt_sparse_t *sp;   /* sparse rows (B unused), or NULL */
  uint64_t *swork;              /* [total_bins] packed accumulators of the sparse rows' quantized histogram */
  int in_order;                 /* the tree's rows are 0..n-1 (no bagging): a leaf of n rows needs no gather */
  int64_t *gwork;               /* [f][PS_GBDT_COL_STRIDE][3] accumulators (hist_groups_cpu.h) */
  int64_t *gfirst;              /* [f + 1] the column groups */
  uint8_t *Bt;                  /* [f][n] the bins by column (the partition's reads), or NULL: B's */
  ps_gbdt_pack_t pk;            /* small histogram columns sharing bytes (hist_pack_cpu.h) */
  uint8_t *P;                   /* [n][pk.np] the packed rows, built at the first quantized histogram */
  int pk_state;                 /* 0 not planned, 1 packed rows in use, -1 nothing packs */
  int64_t room;                 /* host bytes left for Bt and P (b->host_room at set_rows; -1: no limit) */
  gbdt_colcache_t *cc;          /* without Bt: the last split features' columns (colcache.h), or NULL */
  uint8_t *lof;                 /* [n] each row's leaf (leaf_index_cpu.h), valid while lof_ok */
  int lof_ok;
} cpu_t;

/* The partition reads one feature's bins of a leaf's rows (ascending):
 * from B [n][f] each row costs a cache line of its own, from a copy by
 * column [f][n] the rows of a line share it (a leaf of a 64th of the rows
 * or more reads about every line of the column once). The copy costs n x f
 * bytes, so only up to this many features (wider rows: B's line a row). */
#define PS_GBDT_COLUMNS_MAX_F 128
/* Wider rows: the last this many split features' columns (n bytes each). */
#define PS_GBDT_COLCACHE_K 32

static uint8_t *columns(const uint8_t *B, int64_t n, int64_t f) {
  uint8_t *Bt = ps_malloc((size_t)(n > 0 ? n : 1) * (size_t)f);
  for (int64_t i0 = 0; i0 < n; i0 += 4096) { /* 4096 rows (<= 512 KiB of B) at a time */
    int64_t i1 = i0 + 4096 < n ? i0 + 4096 : n;
    for (int64_t j = 0; j < f; j++)
      for (int64_t i = i0; i < i1; i++) Bt[(size_t)j * (size_t)n + (size_t)i] = B[(size_t)i * (size_t)f + (size_t)j];
  }
  return Bt;
}

/* Whether an optional copy of `bytes` fits the host room left
 * (--host-mem-limit; taken from it if so); without it the same model. */
static int room_take(cpu_t *s, double bytes, const char *what) {
  if (s->room < 0) return 1;
  if (bytes <= (double)s->room) {
    s->room -= (int64_t)bytes;
    return 1;
  }
  ps_log("train: no %s (%.0f bytes): it does not fit --host-mem-limit beside the binned rows", what, bytes);
  return 0;
}

/* Forget the packed rows (their source changed). */
static void pack_reset(cpu_t *s) {
  if (s->pk_state > 0 && s->room >= 0) s->room += (int64_t)((double)s->n * (double)s->pk.np + 1); /* room_take's */
  if (s->pk_state) ps_gbdt_pack_free(&s->pk);
  free(s->P);
  s->P = NULL;
  s->pk_state = 0;
}

/* Whether the quantized pass reads packed rows: planned on the histogram
 * columns (the bundle columns when bundled), built once when packing takes
 * at least a tenth of the adds a row away (n * np bytes beside the
 * columns: gen's 58 columns in 54 bytes measured within the noise, so
 * they keep their memory; the wide one-hot tables 1.9-9x less CPU). */
static int packed_rows(cpu_t *s) {
  if (s->pk_state) return s->pk_state > 0;
  const uint8_t *B = s->bd ? s->Bb : s->B;
  const int64_t *off = s->bd ? s->bd->bin_off : s->bin_off;
  int64_t f = s->bd ? s->bd->nb : s->f;
  ps_gbdt_pack_plan(off, f, &s->pk);
  s->pk_state = (f - s->pk.np) * 10 >= f && s->pk.np < f ? 1 : -1;
  if (s->pk_state > 0 && !room_take(s, (double)s->n * (double)s->pk.np + 1, "packed 4-bit rows"))
    s->pk_state = -1;
  if (s->pk_state > 0) {
    s->P = ps_malloc((size_t)s->n * (size_t)s->pk.np + 1);
    ps_gbdt_pack_rows(B, s->n, off, &s->pk, s->P);
  }
  return s->pk_state > 0;
}

static void set_rows(ps_gbdt_backend_t *b, const uint8_t *B, int64_t n, int64_t f, const int64_t *bin_off,
                     int64_t total_bins, int max_leaves) {
  cpu_t *s = b->impl;
  s->B = B;
  s->n = n;
  s->f = f;
  s->bin_off = bin_off;
  s->total_bins = total_bins;
  free(s->rows); free(s->tmp); free(s->begin); free(s->count);
  s->rows = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  s->tmp = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  s->begin = ps_calloc((size_t)max_leaves + 1, sizeof(int64_t));
  s->count = ps_calloc((size_t)max_leaves + 1, sizeof(int64_t));
  free(s->gwork); free(s->gfirst);
  pack_reset(s);
  s->room = b->host_room;
  s->gwork = ps_malloc(sizeof(int64_t) * 3 * PS_GBDT_COL_STRIDE * (size_t)(f > 0 ? f : 1));
  s->gfirst = ps_malloc(sizeof(int64_t) * ((size_t)f + 1));
  free(s->Bt);
  int copy = B && f <= PS_GBDT_COLUMNS_MAX_F && room_take(s, (double)(n > 0 ? n : 1) * (double)f, "column copy of the bins");
  s->Bt = copy ? columns(B, n, f) : NULL;
  colcache_free(s->cc);
  s->cc = B && f > PS_GBDT_COLUMNS_MAX_F &&
                  room_take(s, (double)(n > 0 ? n : 1) * PS_GBDT_COLCACHE_K, "split features' columns")
              ? colcache_create(B, n, f, PS_GBDT_COLCACHE_K)
              : NULL;
  free(s->lof);
  s->lof = ps_malloc((size_t)(n > 0 ? n : 1));
  s->lof_ok = 0;
}

static void begin_tree(ps_gbdt_backend_t *b, const int64_t *gq, const int64_t *hq, const uint8_t *bag) {
  cpu_t *s = b->impl;
  s->gq = gq;
  s->hq = hq;
  s->begin[0] = 0;
  s->count[0] = ps_gbdt_bag_rows_cpu(bag, s->n, s->rows);
  s->in_order = bag == NULL;
  s->lof_ok = 0;
}

/* A leaf's rows for the grouped pass: NULL when they are 0..n-1 in order
 * (splits are stable, so a leaf of all n rows of an unbagged tree is). */
static const int64_t *leaf_list(const cpu_t *s, int leaf) {
  return s->in_order && s->count[leaf] == s->n ? NULL : s->rows + s->begin[leaf];
}

static void hist(ps_gbdt_backend_t *b, int leaf, int64_t *h) {
  cpu_t *s = b->impl;
  if (s->sp) { /* the kept bins, the zero bins by subtraction */
    ps_gbdt_hist_sparse_cpu(s->sp, s->rows + s->begin[leaf], s->count[leaf], s->gq, s->hq, h);
    return;
  }
  const int64_t *rows = leaf_list(s, leaf);
  if (s->bd) { /* over the bundle columns, then each feature's recovered */
    ps_gbdt_hist_groups_cpu(s->Bb, s->bd->nb, s->bd->bin_off, rows, s->count[leaf], s->gq, s->hq, s->gwork, s->gfirst,
                            s->hb);
    bundles_expand(s->bd, s->bin_off, s->hb, PS_HIST_W, h);
    return;
  }
  ps_gbdt_hist_groups_cpu(s->B, s->f, s->bin_off, rows, s->count[leaf], s->gq, s->hq, s->gwork, s->gfirst, h);
}

/* Where the partition of a leaf of m rows reads a feature's bins: its
 * column of Bt or of the column cache (one column of stride 1: *feature
 * becomes 0), else the rows of B. A feature not in the cache is copied in
 * only for a leaf of an eighth of the rows or more (the copy reads all n). */
static const uint8_t *split_bins(const cpu_t *s, int64_t m, int32_t *feature, int64_t *stride) {
  const uint8_t *col = s->Bt ? s->Bt + (size_t)*feature * (size_t)s->n : NULL;
  if (!col && s->cc) col = m * 8 >= s->n ? colcache_get(s->cc, *feature) : colcache_find(s->cc, *feature);
  *stride = col ? 1 : s->f;
  if (!col) return s->B;
  *feature = 0;
  return col;
}

static void split(ps_gbdt_backend_t *b, int leaf, int right, int32_t feature, int32_t bin, int32_t default_left) {
  cpu_t *s = b->impl;
  int64_t stride = 0;
  const uint8_t *X = s->sp ? NULL : split_bins(s, s->count[leaf], &feature, &stride);
  int64_t nl = s->sp ? ps_gbdt_partition_sparse_cpu(s->sp, s->rows + s->begin[leaf], s->count[leaf], feature, bin,
                                                    default_left, s->tmp)
                     : ps_gbdt_partition_cpu(X, stride, s->rows + s->begin[leaf], s->count[leaf], feature, bin,
                                             default_left, s->tmp);
  s->begin[right] = s->begin[leaf] + nl;
  s->count[right] = s->count[leaf] - nl;
  s->count[leaf] = nl;
  s->lof_ok = 0;
}

static void split_set(ps_gbdt_backend_t *b, int leaf, int right, int32_t feature, const uint8_t *set) {
  cpu_t *s = b->impl;
  int64_t stride;
  const uint8_t *X = split_bins(s, s->count[leaf], &feature, &stride);
  int64_t nl = ps_gbdt_partition_set_cpu(X, stride, s->rows + s->begin[leaf], s->count[leaf], feature, set, s->tmp);
  s->begin[right] = s->begin[leaf] + nl;
  s->count[right] = s->count[leaf] - nl;
  s->count[leaf] = nl;
  s->lof_ok = 0;
}

/* Each row's leaf, once a grown tree (when nleaves fit a byte): 1, else 0. */
static int leaf_index(cpu_t *s, int nleaves) {
  if (s->sp || nleaves > PS_GBDT_LEAF_INDEX_MAX) return 0;
  if (!s->lof_ok) ps_gbdt_leaf_index_cpu(s->rows, s->begin, s->count, nleaves, s->n, s->in_order, s->lof);
  s->lof_ok = 1;
  return 1;
}

static void add_leaves(ps_gbdt_backend_t *b, int nleaves, const double *value, double *score) {
  cpu_t *s = b->impl;
  if (s->in_order && leaf_index(s, nleaves)) { /* every row in a leaf: in order */
    ps_gbdt_add_leaves_index_cpu(s->lof, s->n, value, score);
    return;
  }
  for (int leaf = 0; leaf < nleaves; leaf++) { /* a leaf is a segment of the row array */
    const int64_t *r = s->rows + s->begin[leaf];
    for (int64_t i = 0; i < s->count[leaf]; i++) score[r[i]] += value[leaf];
  }
}

static void set_quant(ps_gbdt_backend_t *b, const int32_t *gh, int32_t qmax) {
  cpu_t *s = b->impl;
  s->gh = gh;
  s->qmax = qmax;
}

static void hist_q(ps_gbdt_backend_t *b, int leaf, int64_t *h) {
  cpu_t *s = b->impl;
  int64_t m = s->count[leaf];
  int width = ps_gbdt_hist_q_width(m, s->qmax);
  if (s->sp) {
    ps_gbdt_hist_q_sparse_cpu(s->sp, s->rows + s->begin[leaf], m, s->gh, width, s->swork, h);
    return;
  }
  if (width != 128 && packed_rows(s) && m >= s->pk.min_rows) { /* small columns two or more a byte */
    ps_gbdt_hist_q_packed_cpu(s->P, &s->pk, s->bd ? s->bd->bin_off : s->bin_off, leaf_list(s, leaf), m, s->gh, width,
                              s->gwork, s->gfirst, s->bd ? s->hb : h);
    if (s->bd) bundles_expand(s->bd, s->bin_off, s->hb, 2, h);
    return;
  }
  if (s->bd) { /* bundle columns (nb <= f: gwork and gfirst fit) */
    ps_gbdt_hist_q_groups_cpu(s->Bb, s->bd->nb, s->bd->bin_off, leaf_list(s, leaf), m, s->gh, width, s->gwork,
                              s->gfirst, s->hb);
    bundles_expand(s->bd, s->bin_off, s->hb, 2, h);
    return;
  }
  ps_gbdt_hist_q_groups_cpu(s->B, s->f, s->bin_off, leaf_list(s, leaf), m, s->gh, width, s->gwork, s->gfirst, h);
}

static void set_bundles(ps_gbdt_backend_t *b, const ps_bundles_t *bd, const uint8_t *Bb) {
  cpu_t *s = b->impl;
  s->bd = bd;
  s->Bb = Bb;
  pack_reset(s);
  free(s->hb);
  s->hb = ps_malloc(sizeof(int64_t) * PS_HIST_W * (size_t)(bd->total_bins + 1));
}

static void set_sparse(ps_gbdt_backend_t *b, const ps_gbdt_sparse_t *sp) {
  cpu_t *s = b->impl;
  s->sp = sp;
  free(s->swork);
  s->swork = ps_malloc(sizeof(uint64_t) * (size_t)(s->total_bins > 0 ? s->total_bins : 1));
}

static int64_t leaf_rows(ps_gbdt_backend_t *b, int leaf) { return ((cpu_t *)b->impl)->count[leaf]; }

static void leaf_sums(ps_gbdt_backend_t *b, int nleaves, int64_t *sums) {
  cpu_t *s = b->impl;
  if (leaf_index(s, nleaves)) {
    ps_gbdt_leaf_sums_index_cpu(s->lof, s->n, s->gq, s->hq, nleaves, sums);
    return;
  }
  for (int leaf = 0; leaf < nleaves; leaf++) {
    const int64_t *r = s->rows + s->begin[leaf];
    int64_t g = 0, h = 0;
    for (int64_t i = 0; i < s->count[leaf]; i++) {
      g += s->gq[r[i]];
      h += s->hq[r[i]];
    }
    sums[2 * leaf] = g;
    sums[2 * leaf + 1] = h;
  }
}

static void destroy(ps_gbdt_backend_t *b) {
  cpu_t *s = b->impl;
  free(s->rows); free(s->tmp); free(s->begin); free(s->count); free(s->hb);
  free(s->gwork); free(s->gfirst); free(s->swork); free(s->Bt); free(s->lof);
  colcache_free(s->cc);
  pack_reset(s);
  free(s);
  free(b);
}

static const ps_gbdt_backend_t CPU = {.name = "cpu", .set_rows = set_rows, .begin_tree = begin_tree, .hist = hist,
                                      .split = split, .add_leaves = add_leaves, .set_quant = set_quant,
                                      .hist_q = hist_q, .leaf_rows = leaf_rows, .leaf_sums = leaf_sums,
                                      .destroy = destroy, .split_set = split_set, .set_bundles = set_bundles,
                                      .set_sparse = set_sparse, .host_room = -1};

ps_gbdt_backend_t *gbdt_backend_cpu(void) {
  ps_gbdt_backend_t *b = ps_malloc(sizeof *b);
  *b = CPU;
  b->impl = ps_calloc(1, sizeof(cpu_t));
  return b;
}

ps_gbdt_backend_t *gbdt_backend_create(const char *device) {
  int cuda = device_choose(device); /* collective; dies on cuda without a GPU or without CUDA in the build */
#ifdef PROPSCORE_HAVE_CUDA
  if (cuda) return gbdt_backend_cuda();
#endif
  (void)cuda;
  return gbdt_backend_cpu();
}
