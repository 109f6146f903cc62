/* test_split_cat_kernels.c: the category-set split search on the device
 * (split_cat.cu, issue 28) against its CPU twin (split_cat_cpu.c, the
 * host's search), bitwise: the split's every field (the gain's bits) and
 * the 32-byte set, for exact and quantized histograms of random rows over
 * numeric and categorical features: the one-vs-rest path (few
 * categories), many categories (up to 255), --max-cat-threshold binding,
 * --min-data-per-group and --cat-smooth leaving categories and prefixes
 * out, categories with zero rows (--cat-smooth 0: their 0/0 keys sort
 * last), ties (categories with equal sums: by code; equal features: the
 * lower one; a numeric and a categorical feature with the same best gain),
 * a feature mask, no split at all. Exits 77 (ctest: skipped) with "no
 * CUDA device" without a GPU (or the emulated one). */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/split_cat.h"

#include "common/test_device.h"
#include "common/test_expect.h"

#define MAXF 8

/* A case: rows, features (card[j] categories, 0: numeric with 2 + 37 j % 200 bins), how the rows are drawn. */
typedef struct {
  const char *name;
  int64_t n, f;
  int card[MAXF];
  int zero;      /* category `zero` of every categorical feature gets no rows (-1: none) */
  int pairs;     /* rows in pairs with equal (g, h), codes 2k and 2k+1: categories with equal sums */
  int same;      /* feature same-1 is a copy of feature same-2 (0: none) */
  int32_t qmax;  /* quantized gradients up to qmax (0: exact) */
  int masked;
  int want;      /* the winning feature + 1 (0: any) */
  ps_split_params_t p;
} case_t;

static const ps_split_params_t DEF = {.l2 = 1.0, .min_data = 20, .min_hess = 1e-3, .min_gain = 0.0, .scale = 1024.0,
                                      .cat_smooth = 10.0, .cat_l2 = 10.0, .cat_min_group = 100, .cat_onehot = 4,
                                      .cat_max_set = 32};

static int64_t nbins(const case_t *c, int64_t j) {
  if (c->same && (j == c->same - 1 || j == c->same - 2)) { /* a copy and its feature: the same bins */
    int64_t k = c->card[c->same - 1] ? c->same - 1 : c->same - 2;
    return c->card[k] ? c->card[k] + 1 : 2 + (37 * k) % 200;
  }
  return c->card[j] ? c->card[j] + 1 : 2 + (37 * j) % 200;
}

/* Row i's bin of feature j: skewed codes (rare high ones), a signal in the low codes and bins. */
static int64_t draw_bin(const case_t *c, int64_t i, int64_t j, int64_t g) {
  int64_t nb = nbins(c, j), row = c->pairs ? i / 2 : i;
  if (c->same && j == c->same - 1) j = c->same - 2;
  double u = ps_rng_unif(41, 1, (uint64_t)row, (uint64_t)j);
  if (!c->card[j]) { /* a signal in the copied numeric feature: positive g in bin 1 */
    if (ps_rng_unif(41, 2, (uint64_t)i, (uint64_t)j) < 0.05) return 0;
    if (c->same && j == c->same - 2 && g > 0 && u < 0.6) return 1;
    return 1 + (int64_t)(ps_rng_unif(41, 6, (uint64_t)row, (uint64_t)j) * (double)(nb - 1));
  }
  int64_t C = c->card[j], code = (int64_t)(u * u * (double)C);
  if (g > 0 && code % 3 == 1) code = (code + 1) % C; /* the signal */
  if (c->pairs) code = (code & ~(int64_t)1) + (i & 1) < C ? (code & ~(int64_t)1) + (i & 1) : code;
  if (code == c->zero) code = (code + 1) % C;
  return ps_rng_unif(41, 3, (uint64_t)row, (uint64_t)j) < 0.03 ? 0 : 1 + code;
}

static int same_split(const ps_split_t *a, const ps_split_t *b) {
  return a->feature == b->feature && (a->feature < 0 || (memcmp(&a->gain, &b->gain, sizeof a->gain) == 0 &&
                                                          a->bin == b->bin && a->default_left == b->default_left &&
                                                          a->lg == b->lg && a->lh == b->lh && a->ln == b->ln));
}

/* The case's histograms (exact [bins][3] or quantized [bins][2]) and leaf sums. */
static int64_t *histogram(const case_t *c, const int64_t *bin_off, ps_split_q_t *q, int64_t *G, int64_t *H) {
  int w = c->qmax ? 2 : PS_HIST_W;
  int64_t *h = ps_calloc((size_t)w * (size_t)bin_off[c->f] + 1, sizeof(int64_t)), sg = 3, sh = 2;
  *G = *H = 0;
  for (int64_t i = 0; i < c->n; i++) {
    int64_t row = c->pairs ? i / 2 : i, Q = c->qmax ? c->qmax : 4000;
    int64_t g = (int64_t)(ps_rng_unif(41, 4, (uint64_t)row, 0) * (double)(2 * Q + 1)) - Q;
    int64_t hh = (int64_t)(ps_rng_unif(41, 5, (uint64_t)row, 0) * (double)(Q + 1));
    *G += c->qmax ? g * sg : g;
    *H += c->qmax ? hh * sh : hh;
    for (int64_t j = 0; j < c->f; j++) {
      int64_t b = bin_off[j] + draw_bin(c, i, j, g);
      h[w * b] += g, h[w * b + 1] += hh;
      if (!c->qmax) h[w * b + 2] += 1;
    }
  }
  int64_t hq = *H / sh;
  *q = (ps_split_q_t){.qg_step = sg, .qh_step = sh, .per = hq > 0 ? (double)c->n / (double)hq : 0.0};
  return h;
}

static void check(const case_t *c) {
  int64_t f = c->f, bin_off[MAXF + 1] = {0}, G, H;
  uint8_t cat[MAXF], use[MAXF], mask[MAXF];
  for (int64_t j = 0; j < f; j++) {
    bin_off[j + 1] = bin_off[j] + nbins(c, j);
    cat[j] = c->card[j] > 0;
    use[j] = !c->masked || j % 3 != 1;
  }
  ps_split_q_t q;
  int64_t *h = histogram(c, bin_off, &q, &G, &H), *work = ps_malloc(sizeof(int64_t) * 3 * (size_t)(bin_off[f] + 1));
  ps_split_t twin, got;
  uint8_t tset[PS_GBDT_CAT_BYTES], gset[PS_GBDT_CAT_BYTES];
  int is_cat = c->qmax
                   ? ps_gbdt_split_mixed_q_cpu(h, f, bin_off, cat, use, G, H, c->n, &c->p, &q, work, mask, &twin, tset)
                   : ps_gbdt_split_mixed_cpu(h, f, bin_off, cat, use, G, H, c->n, &c->p, mask, &twin, tset);
  size_t hb = sizeof(int64_t) * (c->qmax ? 2 : 3) * (size_t)bin_off[f];
  int64_t *dh = dev_copy(h, hb), *doff = dev_copy(bin_off, sizeof bin_off);
  uint8_t *dcat = dev_copy(cat, (size_t)f), *duse = dev_copy(use, (size_t)f), *dset = dev_copy(NULL, sizeof gset);
  ps_split_t *dbest = dev_copy(NULL, sizeof got);
  void *dwork = dev_copy(NULL, ps_gbdt_split_cat_work(f));
  if (c->qmax) ps_gbdt_split_cat_q_cuda(dh, f, doff, dcat, duse, G, H, c->n, c->p, q, dwork, dbest, dset, 0);
  else ps_gbdt_split_cat_cuda(dh, f, doff, dcat, duse, G, H, c->n, c->p, dwork, dbest, dset, 0);
  get(&got, dbest, sizeof got);
  get(gset, dset, sizeof gset);
  EXPECT(same_split(&twin, &got), "%s: kernel (f %d bin %d gain %.17g ln %lld) != twin (f %d bin %d gain %.17g "
         "ln %lld)", c->name, got.feature, got.bin, got.gain, (long long)got.ln, twin.feature, twin.bin, twin.gain,
         (long long)twin.ln);
  EXPECT(memcmp(tset, gset, sizeof tset) == 0, "%s: the kernel's category set != the twin's", c->name);
  EXPECT(!c->want || twin.feature == c->want - 1, "%s: the winner is feature %d, not %d", c->name, twin.feature,
         c->want - 1);
  printf("  %-28s winner: feature %d%s (gain %.6g, %lld rows left)\n", c->name, twin.feature, is_cat ? " (a set)" : "",
         twin.gain, (long long)twin.ln);
  cudaFree(dh), cudaFree(doff), cudaFree(dcat), cudaFree(duse), cudaFree(dset), cudaFree(dbest), cudaFree(dwork);
  free(h), free(work);
}

/* The twin's own properties on a case: the winner is a set; with want_codes >= 0, the set has that many codes. */
static void expect_set(const case_t *c, int64_t feature, int want_codes) {
  int64_t f = c->f, bin_off[MAXF + 1] = {0}, G, H;
  uint8_t cat[MAXF], mask[MAXF], set[PS_GBDT_CAT_BYTES];
  for (int64_t j = 0; j < f; j++) bin_off[j + 1] = bin_off[j] + nbins(c, j), cat[j] = c->card[j] > 0;
  ps_split_q_t q;
  int64_t *h = histogram(c, bin_off, &q, &G, &H);
  ps_split_t b;
  int is_cat = ps_gbdt_split_mixed_cpu(h, f, bin_off, cat, NULL, G, H, c->n, &c->p, mask, &b, set);
  int codes = 0;
  for (int k = 0; k < 256; k++) codes += ps_gbdt_cat_has(set, k);
  EXPECT(is_cat && b.feature == feature, "%s: the winner is feature %d (set %d), not feature %lld's set", c->name,
         b.feature, is_cat, (long long)feature);
  EXPECT(want_codes < 0 || codes == want_codes, "%s: %d codes in the set, not %d", c->name, codes, want_codes);
  free(h);
}

/* --cat-smooth 0 and a category without rows (its key 0/0): it sorts after every other, so the best
 * prefix of the sorted categories is the planted {1, 2} (an insertion sort comparing NaN keys kept code 0
 * first and put it in the set). The kernel agrees. */
static void check_zero_row_order(void) {
  int64_t bin_off[2] = {0, 7};
  int64_t h[7][3] = {{0, 0, 0}, {0, 0, 0}, {-5000, 1000, 100}, {-4000, 1000, 100}, {3000, 1000, 100},
                     {4000, 1000, 100}, {5000, 1000, 100}};
  ps_split_params_t p = {.l2 = 1.0, .min_data = 1, .min_hess = 0.0, .min_gain = 0.0, .scale = 1.0,
                         .cat_smooth = 0.0, .cat_l2 = 0.0, .cat_min_group = 1, .cat_onehot = 1, .cat_max_set = 32};
  uint8_t cat = 1;
  uint8_t mask;
  uint8_t set[PS_GBDT_CAT_BYTES];
  uint8_t gset[PS_GBDT_CAT_BYTES];
  uint8_t want[PS_GBDT_CAT_BYTES] = {0x06};
  ps_split_t b;
  ps_split_t got;
  ps_gbdt_split_mixed_cpu(&h[0][0], 1, bin_off, &cat, NULL, 3000, 5000, 500, &p, &mask, &b, set);
  EXPECT(b.feature == 0 && memcmp(set, want, sizeof want) == 0 && b.ln == 200,
         "zero-row category: the twin's set is not {1, 2} (byte 0 = 0x%02x, %lld rows left)", set[0], (long long)b.ln);
  int64_t *dh = dev_copy(h, sizeof h);
  int64_t *doff = dev_copy(bin_off, sizeof bin_off);
  uint8_t *dcat = dev_copy(&cat, 1);
  uint8_t *dset = dev_copy(NULL, sizeof gset);
  ps_split_t *dbest = dev_copy(NULL, sizeof got);
  void *dwork = dev_copy(NULL, ps_gbdt_split_cat_work(1));
  ps_gbdt_split_cat_cuda(dh, 1, doff, dcat, NULL, 3000, 5000, 500, p, dwork, dbest, dset, 0);
  get(&got, dbest, sizeof got);
  get(gset, dset, sizeof gset);
  EXPECT(same_split(&b, &got) && memcmp(set, gset, sizeof set) == 0, "zero-row category: kernel != twin");
  cudaFree(dh);
  cudaFree(doff);
  cudaFree(dcat);
  cudaFree(dset);
  cudaFree(dbest);
  cudaFree(dwork);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  ps_split_params_t thr = DEF;
  thr.cat_max_set = 2;
  ps_split_params_t grp = DEF;
  grp.cat_min_group = 700;
  grp.cat_smooth = 60;
  ps_split_params_t z0 = DEF;
  z0.cat_smooth = 0.0;
  z0.cat_l2 = 0.0;
  ps_split_params_t none = DEF;
  none.min_data = 4000;
  ps_split_params_t hot = DEF;
  hot.cat_onehot = 255;
  ps_split_params_t one = DEF;
  one.min_data = 1;
  one.min_hess = 0.0;
  one.cat_min_group = 1;
  one.cat_smooth = 1.0;
  ps_split_params_t three = one; /* a set of 3: one of a pair of equal categories, the one first in code order */
  three.cat_max_set = 3;
  case_t cases[] = {
      {.name = "one-vs-rest", .n = 3000, .f = 4, .card = {[0] = 3, [2] = 4}, .zero = -1, .p = DEF},
      {.name = "many categories", .n = 20000, .f = 5, .card = {[0] = 255, [2] = 40, [3] = 17}, .zero = -1, .p = DEF},
      {.name = "many, masked", .n = 20000, .f = 5, .card = {[0] = 255, [1] = 40, [3] = 17, [4] = 60}, .zero = -1,
       .masked = 1, .p = DEF},
      {.name = "max-cat-threshold 2", .n = 8000, .f = 3, .card = {[0] = 40, [2] = 90}, .zero = -1, .p = thr},
      {.name = "min-data-per-group 700", .n = 8000, .f = 3, .card = {[0] = 40, [2] = 120}, .zero = -1, .p = grp},
      {.name = "zero rows, cat-smooth 0", .n = 5000, .f = 3, .card = {[0] = 30, [1] = 3}, .zero = 4, .p = z0},
      {.name = "zero rows, cat-smooth 10", .n = 5000, .f = 3, .card = {[0] = 30, [1] = 3}, .zero = 0, .p = DEF},
      {.name = "ties: pairs, copies", .n = 6000, .f = 4, .card = {[0] = 24, [1] = 24}, .zero = -1, .pairs = 1,
       .same = 2, .p = DEF},
      {.name = "ties: numeric = set", .n = 6000, .f = 3, .card = {[1] = 2}, .zero = -1, .same = 2, .want = 1,
       .p = DEF}, /* the set's best gain is the numeric one's (or less): the lower feature wins */
      {.name = "ties: set = numeric", .n = 6000, .f = 3, .card = {[0] = 2}, .zero = -1, .same = 2, .want = 1,
       .p = DEF},
      {.name = "ties: copies", .n = 6000, .f = 3, .card = {[1] = 24, [2] = 24}, .zero = -1, .same = 3, .want = 2,
       .p = DEF},
      {.name = "ties: pairs, every prefix", .n = 4000, .f = 3, .card = {[0] = 24, [1] = 31, [2] = 60}, .zero = -1,
       .pairs = 1, .p = one},
      {.name = "ties: pairs, at most 3", .n = 5000, .f = 2, .card = {[1] = 17}, .zero = -1, .pairs = 1, .p = three},
      {.name = "no split", .n = 3000, .f = 3, .card = {[0] = 30, [2] = 4}, .zero = -1, .p = none},
      {.name = "one-vs-rest of 255", .n = 20000, .f = 2, .card = {[0] = 255}, .zero = 7, .p = hot},
      {.name = "tiny leaf, every prefix", .n = 60, .f = 2, .card = {[0] = 50}, .zero = -1, .p = one},
      {.name = "quantized Q=127", .n = 20000, .f = 5, .card = {[0] = 255, [2] = 40, [3] = 3}, .zero = 5, .qmax = 127,
       .p = DEF},
      {.name = "quantized Q=7, group", .n = 8000, .f = 3, .card = {[0] = 40, [2] = 120}, .zero = -1, .qmax = 7,
       .p = grp},
      {.name = "quantized Q=32767, ties", .n = 6000, .f = 4, .card = {[0] = 24, [1] = 24, [3] = 2}, .zero = 3,
       .pairs = 1, .same = 2, .qmax = 32767, .masked = 1, .p = z0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(&cases[i]);
  check_zero_row_order();
  /* the twin's own properties: the planted-order sets win; the threshold bounds a set */
  case_t one_cat = {.name = "a set wins", .n = 8000, .f = 2, .card = {[1] = 40}, .zero = -1, .p = DEF};
  expect_set(&one_cat, 1, -1);
  case_t bound = one_cat;
  bound.name = "max-cat-threshold 1";
  bound.p.cat_max_set = 1;
  expect_set(&bound, 1, 1);
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("category-set split kernels match their CPU twin\n");
  return failures ? 1 : 0;
}
