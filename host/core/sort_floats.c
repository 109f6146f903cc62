/* sort_floats.c: ps_sort_floats (sort_floats.h): an LSD radix sort of
 * order-preserving 32-bit keys, a byte a pass (the four bytes' counts in
 * one pass; a pass where every key has the same byte skipped), insertion
 * for short lists. +0 and -0 share a key, so they stay in input order (a
 * radix sort is stable); their signs are put back in that order. */
#include "core/sort_floats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define ZERO_KEY 0x80000000u /* the key of +0 and of -0 */

static uint32_t key_of(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) == 0) return ZERO_KEY;
  return u >> 31 ? ~u : u | 0x80000000u; /* negatives reversed below the positives */
}

static float value_of(uint32_t k) {
  uint32_t u = k >> 31 ? k ^ 0x80000000u : ~k;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static void insertion(float *v, int64_t n) {
  for (int64_t i = 1; i < n; i++) {
    float x = v[i];
    int64_t j = i;
    for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
    v[j] = x;
  }
}

/* The zeros' signs in input order (1: -0), nzero of them. */
static uint8_t *zero_signs(const float *v, int64_t n, int64_t nzero) {
  uint8_t *s = ps_malloc((size_t)nzero);
  for (int64_t i = 0, z = 0; i < n; i++)
    if (v[i] == 0.0f) s[z++] = signbit(v[i]) != 0;
  return s;
}

void ps_sort_floats(float *v, int64_t n) {
  if (n < 64) {
    insertion(v, n);
    return;
  }
  uint32_t *k = ps_malloc(sizeof(uint32_t) * (size_t)n), *t = ps_malloc(sizeof(uint32_t) * (size_t)n);
  int64_t c[4][256] = {{0}}, nzero = 0, negzero = 0;
  for (int64_t i = 0; i < n; i++) {
    uint32_t x = key_of(v[i]);
    k[i] = x;
    nzero += x == ZERO_KEY;
    negzero += x == ZERO_KEY && signbit(v[i]);
    for (int p = 0; p < 4; p++) c[p][(x >> (8 * p)) & 255u]++;
  }
  uint8_t *zs = negzero > 0 ? zero_signs(v, n, nzero) : NULL;
  for (int p = 0; p < 4; p++) {
    int sh = 8 * p;
    if (c[p][(k[0] >> sh) & 255u] == n) continue; /* one byte value: nothing moves */
    int64_t at[256], sum = 0;
    for (int b = 0; b < 256; b++) {
      at[b] = sum;
      sum += c[p][b];
    }
    for (int64_t i = 0; i < n; i++) t[at[(k[i] >> sh) & 255u]++] = k[i];
    uint32_t *x = k;
    k = t;
    t = x;
  }
  for (int64_t i = 0, z = 0; i < n; i++)
    v[i] = k[i] == ZERO_KEY && zs ? (zs[z++] ? -0.0f : 0.0f) : value_of(k[i]);
  free(zs);
  free(k);
  free(t);
}
