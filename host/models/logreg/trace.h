/* trace.h: one head's optimization history: a row per iteration
 * (iteration, loss, gradient inf-norm, step, evaluations), how it stopped
 * and how long it took. Kept in the model file and the checkpoint. */
#ifndef PS_TRACE_H
#define PS_TRACE_H
#define PS_TRACE_COLS 5

typedef struct {
  int rows;       /* iterations + 1 (row 0: the start) */
  double *data;   /* [rows][PS_TRACE_COLS] */
  int status;     /* linesearch.h PS_CONVERGED, ... */
  const char *stop;
  double seconds;
} fit_trace_t;
#endif
