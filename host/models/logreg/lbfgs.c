/* lbfgs.c: the L-BFGS direction (direction.h): the two-loop recursion over
 * a memory of m curvature pairs (s, y), newest at (head + count - 1) % m. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/vec.h"
#include "models/logreg/direction.h"

typedef struct {
  int n, m, count, head;
  double *S, *Y, *rho, *alpha;
} lbfgs_t;

static void *create(int n, int m) {
  lbfgs_t *s = ps_calloc(1, sizeof *s);
  s->n = n;
  s->m = m > 0 ? m : 10;
  s->S = ps_calloc((size_t)s->m * (size_t)n, sizeof(double));
  s->Y = ps_calloc((size_t)s->m * (size_t)n, sizeof(double));
  s->rho = ps_calloc((size_t)s->m, sizeof(double));
  s->alpha = ps_calloc((size_t)s->m, sizeof(double));
  return s;
}

static void destroy(void *st) {
  lbfgs_t *s = st;
  free(s->S);
  free(s->Y);
  free(s->rho);
  free(s->alpha);
  free(s);
}

static void accept(void *st, int n, const double *sv, const double *yv) {
  lbfgs_t *s = st;
  double sy = ps_dot(sv, yv, n);
  if (!(sy > 1e-300)) return; /* curvature condition failed: keep the old memory */
  int slot = (s->head + s->count) % s->m;
  if (s->count == s->m) {
    slot = s->head;
    s->head = (s->head + 1) % s->m;
  } else {
    s->count++;
  }
  memcpy(s->S + (size_t)slot * (size_t)n, sv, sizeof(double) * (size_t)n);
  memcpy(s->Y + (size_t)slot * (size_t)n, yv, sizeof(double) * (size_t)n);
  s->rho[slot] = 1.0 / sy;
}

static int compute(void *st, int n, const double *g, const double *H, double *q) {
  lbfgs_t *s = st;
  (void)H;
  for (int i = 0; i < n; i++) q[i] = -g[i];
  for (int j = s->count - 1; j >= 0; j--) { /* newest to oldest */
    int slot = (s->head + j) % s->m;
    const double *sv = s->S + (size_t)slot * (size_t)n, *yv = s->Y + (size_t)slot * (size_t)n;
    s->alpha[j] = s->rho[slot] * ps_dot(sv, q, n);
    for (int i = 0; i < n; i++) q[i] -= s->alpha[j] * yv[i];
  }
  if (s->count > 0) { /* initial Hessian gamma * I, gamma = s'y / y'y of the newest pair */
    int slot = (s->head + s->count - 1) % s->m;
    const double *yv = s->Y + (size_t)slot * (size_t)n;
    double gamma = 1.0 / (s->rho[slot] * ps_dot(yv, yv, n));
    for (int i = 0; i < n; i++) q[i] *= gamma;
  }
  for (int j = 0; j < s->count; j++) { /* oldest to newest */
    int slot = (s->head + j) % s->m;
    const double *sv = s->S + (size_t)slot * (size_t)n, *yv = s->Y + (size_t)slot * (size_t)n;
    double beta = s->rho[slot] * ps_dot(yv, q, n);
    for (int i = 0; i < n; i++) q[i] += (s->alpha[j] - beta) * sv[i];
  }
  return 0;
}

static void reset(void *st) { ((lbfgs_t *)st)->count = 0; }
static int scaled(const void *st) { return ((const lbfgs_t *)st)->count > 0; }

/* [count, head, rho[m], S[m][n], Y[m][n]] */
static size_t state_size(const void *st) {
  const lbfgs_t *s = st;
  return 2 + (size_t)s->m * (1 + 2 * (size_t)s->n);
}
static void state_save(const void *st, double *out) {
  const lbfgs_t *s = st;
  size_t mn = (size_t)s->m * (size_t)s->n;
  out[0] = s->count;
  out[1] = s->head;
  memcpy(out + 2, s->rho, sizeof(double) * (size_t)s->m);
  memcpy(out + 2 + s->m, s->S, sizeof(double) * mn);
  memcpy(out + 2 + s->m + mn, s->Y, sizeof(double) * mn);
}
static void state_load(void *st, const double *in) {
  lbfgs_t *s = st;
  size_t mn = (size_t)s->m * (size_t)s->n;
  s->count = (int)in[0];
  s->head = (int)in[1];
  memcpy(s->rho, in + 2, sizeof(double) * (size_t)s->m);
  memcpy(s->S, in + 2 + s->m, sizeof(double) * mn);
  memcpy(s->Y, in + 2 + s->m + mn, sizeof(double) * mn);
}

const ps_direction_t ps_dir_lbfgs = {.name = "lbfgs", .needs_hessian = 0, .create = create, .destroy = destroy,
    .compute = compute, .accept = accept, .reset = reset, .scaled = scaled,
    .state_size = state_size, .state_save = state_save, .state_load = state_load};
