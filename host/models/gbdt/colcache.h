/* colcache.h: the partition's columns of rows too wide for a whole copy by
 * column (backend_cpu.c: over 128 features): the last k split features'
 * bins kept by column, least recently used out (colcache.c). */
#ifndef PS_GBDT_COLCACHE_H
#define PS_GBDT_COLCACHE_H
#include <stdint.h>

typedef struct gbdt_colcache gbdt_colcache_t;

/* A cache of k columns [n] of the rows B [n][f] (kept, not copied). */
gbdt_colcache_t *colcache_create(const uint8_t *B, int64_t n, int64_t f, int k);
/* Feature j's bins of every row by column [n]: kept, or copied out of B now. */
const uint8_t *colcache_get(gbdt_colcache_t *c, int32_t j);
/* The same if kept, else NULL. */
const uint8_t *colcache_find(gbdt_colcache_t *c, int32_t j);
void colcache_free(gbdt_colcache_t *c);

#endif
