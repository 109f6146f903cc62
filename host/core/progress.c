/* progress.c: the rank-0 progress printer (see progress.h). */
#include "core/progress.h"

#include "core/util.h"

void ps_progress_init(ps_progress_t *p, const char *what, double total, double bytes_per) {
  p->what = what;
  p->t0 = p->last = ps_now();
  p->every = 5.0;
  p->total = total;
  p->bytes_per = bytes_per;
}

void ps_progress_update(ps_progress_t *p, double done) {
  double t = ps_now();
  if (t - p->last < p->every || done >= p->total || p->total <= 0) return;
  p->last = t;
  double el = t - p->t0, rate = done / (el > 0 ? el : 1e-9);
  double eta = rate > 0 ? (p->total - done) / rate : 0;
  ps_log("%s: %5.1f%%  %.0f/%.0f rows  %.0f rows/s  %.2f GB/s  ETA %.0fs", p->what, 100.0 * done / p->total, done,
         p->total, rate, rate * p->bytes_per / 1e9, eta);
}
