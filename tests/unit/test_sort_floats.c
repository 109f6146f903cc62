/* test_sort_floats.c: the cut points' sort (ps_sort_floats, host/core/
 * sort_floats.c) against a stable sort by the float comparison (qsort of
 * (value, input position) pairs), bit for bit: -0 and +0 mixed (their input
 * order kept), +-Inf, subnormals, heavy duplicates, negative values only,
 * one value only, and lengths around the insertion cut-off (0..200) and
 * large (100,000). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/sort_floats.h"

static uint64_t state = 0x853C49E6748FEA9Bull;
static uint64_t next(void) { /* xorshift64* */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

typedef struct {
  float v;
  int64_t at;
} pair_t;

static int cmp_pair(const void *a, const void *b) {
  const pair_t *x = a, *y = b;
  if (x->v != y->v) return x->v < y->v ? -1 : 1;
  return (x->at > y->at) - (x->at < y->at);
}

/* A value of kind 0..5: small integers (duplicates), signed zeros, specials, wide, negatives, one value. */
static float value(int kind) {
  static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1e-45f, -1e-45f, 1.17549435e-38f, -3.4e38f};
  uint64_t r = next();
  switch (kind) {
  case 0: return (float)((int)(r % 7) - 3);
  case 1: return r & 1 ? -0.0f : 0.0f;
  case 2: return special[r % 8];
  case 3: return (float)((double)(int64_t)r * 0x1.0p-40);
  case 4: return -(float)(r % 1000) * 0.25f - 1.0f;
  default: return 2.5f;
  }
}

static void check(int64_t n, int kind) {
  float *v = malloc(sizeof(float) * (size_t)(n + 1));
  pair_t *p = malloc(sizeof(pair_t) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) {
    v[i] = kind == 6 ? value((int)(next() % 5)) : value(kind); /* 6: every kind mixed */
    p[i] = (pair_t){.v = v[i], .at = i};
  }
  qsort(p, (size_t)n, sizeof(pair_t), cmp_pair);
  ps_sort_floats(v, n);
  for (int64_t i = 0; i < n; i++) {
    uint32_t a, b;
    memcpy(&a, &p[i].v, sizeof a);
    memcpy(&b, &v[i], sizeof b);
    if (a != b) fail_msg("n %lld kind %d position %lld: %08x, want %08x", (long long)n, kind, (long long)i, b, a);
  }
  free(v);
  free(p);
}

static void sort_equals_stable_qsort(void **st) {
  (void)st;
  for (int kind = 0; kind <= 6; kind++) {
    for (int64_t n = 0; n <= 200; n++) check(n, kind);
    check(100000, kind);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(sort_equals_stable_qsort)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
