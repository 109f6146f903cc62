/* test_bin_cpu.c: the CPU binning (kernels/gbdt/bin_cpu.c, a search without
 * branches on the data) against gbdt_math.h's ps_gbdt_bin (the kernels'
 * search), code for code: cut counts 0..254 (0, 1, 2, powers of two and
 * their neighbours, 254 = 255 bins), values equal to every cut and between,
 * below the first and above the last, -0 / +0 against a cut at 0, +-Inf,
 * NaN, subnormals; several features a row (cut_off offsets). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "gbdt/gbdt_cpu.h"

/* ncuts strictly increasing cuts around 0 (one of them 0 when ncuts > 2). */
static void make_cuts(float *c, int ncuts) {
  for (int k = 0; k < ncuts; k++) c[k] = (float)(k - ncuts / 2) * 0.5f;
}

/* Values probing every cut of c: each cut, just below and above it, and the specials. */
static int64_t probes(const float *c, int ncuts, float *v) {
  static const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-45f, -1e-45f, 3.4e38f, -3.4e38f};
  int64_t m = 0;
  for (size_t s = 0; s < sizeof special / sizeof *special; s++) v[m++] = special[s];
  for (int k = 0; k < ncuts; k++) {
    v[m++] = c[k];
    v[m++] = nextafterf(c[k], -INFINITY);
    v[m++] = nextafterf(c[k], INFINITY);
    v[m++] = c[k] + 0.25f;
  }
  return m;
}

static void equals_search(void **state) {
  (void)state;
  enum { MAXC = 254, F = 3 };
  static float cuts[F * MAXC], X[9 + 4 * MAXC][F];
  static uint8_t B[9 + 4 * MAXC][F];
  int64_t cut_off[F + 1];
  for (int nc = 0; nc <= MAXC; nc++) {
    int counts[F] = {nc, MAXC - nc, nc % 7}; /* codes fit a byte: <= 254 cuts a feature */
    cut_off[0] = 0;
    for (int j = 0; j < F; j++) {
      make_cuts(cuts + cut_off[j], counts[j]);
      cut_off[j + 1] = cut_off[j] + counts[j];
    }
    float v[9 + 4 * MAXC];
    int64_t m = probes(cuts, counts[0], v);
    for (int64_t i = 0; i < m; i++)
      for (int j = 0; j < F; j++) X[i][j] = v[(i + 3 * j) % m];
    ps_gbdt_bin_cpu(&X[0][0], m, F, cuts, cut_off, &B[0][0]);
    for (int64_t i = 0; i < m; i++)
      for (int j = 0; j < F; j++)
        assert_int_equal(B[i][j], ps_gbdt_bin(X[i][j], cuts + cut_off[j], (int)(cut_off[j + 1] - cut_off[j])));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(equals_search)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
