/* calibrate_check.c: stats/calibrate.c on the command line, for the
 * scikit-learn oracle test (tests/cli/test_calibrate.py). Reads from stdin
 *   MODE N  then N lines "score label weight"  then M  then M query scores
 * with MODE isotonic|platt|ece (ece: the N scores are probabilities, M = bins,
 * no queries), and prints one value a line (%.17g): the calibrated queries
 * (platt: first a and b). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/calibrate.h"

int main(void) {
  char mode[16];
  long long n, m;
  if (scanf("%15s %lld", mode, &n) != 2 || n < 0) return 2;
  double *s = malloc(sizeof(double) * (size_t)(n + 1)), *y = malloc(sizeof(double) * (size_t)(n + 1)),
         *w = malloc(sizeof(double) * (size_t)(n + 1));
  for (long long i = 0; i < n; i++)
    if (scanf("%lf %lf %lf", &s[i], &y[i], &w[i]) != 3) return 2;
  if (scanf("%lld", &m) != 1) return 2;
  if (!strcmp(mode, "ece")) {
    printf("%.17g\n", calib_ece(s, y, n, (int)m));
    return 0;
  }
  ps_isotonic_t iso;
  ps_platt_t pl = {0};
  if (!strcmp(mode, "isotonic")) {
    if (calib_isotonic_fit(s, y, w, n, &iso) != 0) return 1;
  } else {
    pl = calib_platt_fit(s, y, w, n);
    printf("%.17g\n%.17g\n", pl.a, pl.b);
  }
  for (long long i = 0; i < m; i++) {
    double q;
    if (scanf("%lf", &q) != 1) return 2;
    printf("%.17g\n", !strcmp(mode, "isotonic") ? calib_isotonic_apply(&iso, q) : calib_platt_apply(&pl, q));
  }
  return 0;
}
