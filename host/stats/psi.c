/* psi.c: score histograms on the logit scale and the PSI of the gate (see psi.h). */
#include "stats/psi.h"

#include <math.h>
#include <stdlib.h>

#include "comm/comm.h"
#include "core/util.h"

int psi_bin(double p) {
  double q = fmin(fmax(p, 1e-9), 1 - 1e-9), z = log(q / (1 - q));
  int b = (int)((z + PS_PSI_ZMAX) / (2 * PS_PSI_ZMAX) * PS_PSI_FINE);
  return b < 0 ? 0 : b >= PS_PSI_FINE ? PS_PSI_FINE - 1 : b;
}

void psi_hist_add(const float *p, int64_t n, int64_t *hist) {
  for (int64_t i = 0; i < n; i++) {
    if (!(p[i] >= 0.0f && p[i] <= 1.0f)) {
      hist[PS_PSI_FINE]++;
      continue;
    }
    hist[psi_bin((double)p[i])]++;
  }
}

double psi_value(const double *base, const double *cur, int *edges, double *expected, double *actual, int *bins) {
  double tb = 0, tc = 0;
  for (int b = 0; b < PS_PSI_FINE; b++) {
    tb += base[b];
    tc += cur[b];
  }
  double out = 0, eb = 0, ec = 0, acc = 0;
  int d = 1, nb = 0;
  if (edges) edges[0] = 0;
  for (int b = 0; b < PS_PSI_FINE; b++) {
    eb += base[b];
    ec += cur[b];
    acc += base[b];
    if (acc >= d * tb / PS_PSI_BINS || b == PS_PSI_FINE - 1) {
      double pe = fmax(eb / tb, 1e-6), pa = fmax(ec / tc, 1e-6);
      out += (pa - pe) * log(pa / pe);
      if (edges) {
        expected[nb] = eb / tb;
        actual[nb] = ec / tc;
        edges[++nb] = b + 1;
      }
      eb = ec = 0;
      while (d <= PS_PSI_BINS && acc >= d * tb / PS_PSI_BINS) d++;
    }
  }
  if (bins) *bins = nb;
  return out;
}

int64_t psi_hist_all(const float *p, int64_t n, double *hist) {
  int64_t *cnt = ps_calloc(PS_PSI_FINE + 1, sizeof(int64_t));
  psi_hist_add(p, n, cnt);
  comm_allreduce_sum_i64(cnt, PS_PSI_FINE + 1);
  for (int b = 0; b < PS_PSI_FINE; b++) hist[b] = (double)cnt[b];
  int64_t bad = cnt[PS_PSI_FINE];
  free(cnt);
  return bad;
}
