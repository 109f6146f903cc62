/* progress.h: a progress line on rank 0 at most every few seconds: percent,
 * rows, rows/s, GB/s and the time left. */
#ifndef PS_PROGRESS_H
#define PS_PROGRESS_H
typedef struct {
  const char *what;
  double t0, last, every;
  double total;     /* units of work in all */
  double bytes_per; /* bytes moved per unit (for GB/s) */
} ps_progress_t;
void ps_progress_init(ps_progress_t *p, const char *what, double total, double bytes_per);
void ps_progress_update(ps_progress_t *p, double done);
#endif
