/* direction.h: how a head picks its search direction -- the interface the
 * line search (linesearch.c) calls; L-BFGS (lbfgs.c) and Newton (newton.c)
 * implement it. A direction method keeps its own state between iterations
 * and can flatten it to doubles for a checkpoint. */
#ifndef PS_DIRECTION_H
#define PS_DIRECTION_H
#include <stddef.h>

typedef struct {
  const char *name;
  int needs_hessian;
  void *(*create)(int n, int m);
  void (*destroy)(void *st);
  /* d = the direction at gradient g (H: n x n Hessian, or NULL); 0 ok,
   * -1 if unusable (the line search then takes -g and calls reset). */
  int (*compute)(void *st, int n, const double *g, const double *H, double *d);
  /* an accepted step s = x_new - x, y = g_new - g */
  void (*accept)(void *st, int n, const double *s, const double *y);
  void (*reset)(void *st);
  /* 1 when a unit step is natural (curvature known), 0 for a first step */
  int (*scaled)(const void *st);
  /* the state as doubles, for checkpoints */
  size_t (*state_size)(const void *st);
  void (*state_save)(const void *st, double *out);
  void (*state_load)(void *st, const double *in);
} ps_direction_t;

extern const ps_direction_t ps_dir_lbfgs;  /* lbfgs.c */
extern const ps_direction_t ps_dir_newton; /* newton.c */
#endif
