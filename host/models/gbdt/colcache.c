/* colcache.c: the last split features' bins by column (colcache.h). Trees
 * split on few features and the strongest again and again, so a feature's
 * column is copied out of the rows once (n reads of a byte a row) and
 * every later partition on it reads the column (64 rows a cache line)
 * instead of a cache line a row of 1,000-byte rows. The same bins: the
 * same partition. */
#include "models/gbdt/colcache.h"

#include <stdlib.h>

#include "core/util.h"

struct gbdt_colcache {
  const uint8_t *B;
  int64_t n, f, tick;
  int k;
  uint8_t *cols;  /* [k][n] */
  int32_t *feat;  /* [k] the feature in each slot, -1: none */
  int64_t *used;  /* [k] the tick of its last use */
};

gbdt_colcache_t *colcache_create(const uint8_t *B, int64_t n, int64_t f, int k) {
  gbdt_colcache_t *c = ps_calloc(1, sizeof *c);
  *c = (gbdt_colcache_t){.B = B, .n = n, .f = f, .k = k};
  c->cols = ps_malloc((size_t)(n > 0 ? n : 1) * (size_t)k);
  c->feat = ps_malloc(sizeof(int32_t) * (size_t)k);
  c->used = ps_calloc((size_t)k, sizeof(int64_t));
  for (int s = 0; s < k; s++) c->feat[s] = -1;
  return c;
}

const uint8_t *colcache_find(gbdt_colcache_t *c, int32_t j) {
  for (int s = 0; s < c->k; s++)
    if (c->feat[s] == j) {
      c->used[s] = ++c->tick;
      return c->cols + (size_t)s * (size_t)c->n;
    }
  return NULL;
}

const uint8_t *colcache_get(gbdt_colcache_t *c, int32_t j) {
  int out = 0;
  c->tick++;
  for (int s = 0; s < c->k; s++) {
    if (c->feat[s] == j) {
      c->used[s] = c->tick;
      return c->cols + (size_t)s * (size_t)c->n;
    }
    if (c->used[s] < c->used[out]) out = s;
  }
  uint8_t *col = c->cols + (size_t)out * (size_t)c->n;
  const uint8_t *b = c->B + j;
  for (int64_t i = 0; i < c->n; i++) col[i] = b[(size_t)i * (size_t)c->f];
  c->feat[out] = j;
  c->used[out] = c->tick;
  return col;
}

void colcache_free(gbdt_colcache_t *c) {
  if (!c) return;
  free(c->cols), free(c->feat), free(c->used);
  free(c);
}
