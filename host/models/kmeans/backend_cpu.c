/* backend_cpu.c: the k-means backend over the CPU twins (backend.h). The
 * assignment is the fused panel kernel (kernels/kmeans/assign_panels_cpu.c:
 * rows packed once, GEMM tile + argmin, AVX-512) where the CPU has AVX-512,
 * otherwise OpenBLAS SGEMM blocks + the argmin twin (assign_cpu.c);
 * PROPSCORE_KMEANS_ASSIGN=blas forces the latter (benchmarks). The ranks
 * agree on one path (km_panels_new is collective), so either is the same
 * bits for any rank count. The panels are the
 * caller's (fit.c packs them once for k-means|| and Lloyd). */
#include "models/kmeans/backend.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "kmeans/kmeans_cpu.h"

#define ROWS (4 * KM_BLOCK) /* rows an assign step takes (OpenBLAS path) */

typedef struct {
  float *work;  /* OpenBLAS path: GEMM output and padding */
  const float *panels; /* fused path: the rows as panels (NULL on the OpenBLAS path) */
  int64_t *acc;        /* fused path: the update made in the assignment's pass */
  double *xnorm;
} cpu_t;

static void step(km_backend_t *b, const float *Cf, const double *cnorm, int k, int32_t *label, double *d2,
                 int64_t *acc) {
  cpu_t *u = b->impl;
  size_t kc = (size_t)k * (size_t)b->c;
  if (u->panels) { /* the update made in the assignment's pass */
    memset(u->acc, 0, sizeof(int64_t) * (kc + (size_t)k + 1));
    km_assign_update_panels_cpu(u->panels, b->X, u->xnorm, b->n, b->c, Cf, cnorm, k, label, d2, u->acc);
    for (size_t i = 0; i < kc + (size_t)k + 1; i++) acc[i] += u->acc[i];
    return;
  }
  for (int64_t i0 = 0; i0 < b->n; i0 += ROWS) {
    int64_t m = b->n - i0 < ROWS ? b->n - i0 : ROWS;
    km_assign_cpu(b->X + (size_t)i0 * (size_t)b->c, u->xnorm + i0, m, b->c, Cf, cnorm, k, label + i0, d2 + i0,
                  u->work);
  }
  km_update_cpu(b->X, b->n, b->c, label, d2, k, acc, acc + kc, acc + kc + k);
}

static void fetch(km_backend_t *b, int32_t *label, double *d2) { (void)b, (void)label, (void)d2; /* step put them there */ }

static void destroy(km_backend_t *b) {
  cpu_t *u = b->impl;
  free(u->work);
  free(u->acc);
  free(u->xnorm);
  free(u);
  free(b);
}

float *km_panels_new(const float *X, int64_t n, int64_t c) {
  /* Collective: every rank takes the same path (the fused panels and the
   * OpenBLAS GEMM give different bits near ties), so a mixed cluster, an
   * environment variable set on some ranks only or a failed allocation on
   * one rank cannot make a row's persona depend on where it lives. */
  const char *force = getenv("PROPSCORE_KMEANS_ASSIGN");
  int forced = force && strcmp(force, "blas") == 0;
  int64_t ok = !forced && km_assign_panels_available();
  size_t bytes = sizeof(float) * (size_t)(km_panel_floats(n > 0 ? n : 1, c));
  float *P = ok ? aligned_alloc(64, bytes) : NULL; /* bytes: a multiple of 64 (panels of 16 floats a column) */
  if (ok && !P) ok = 0;
  int64_t why[2] = {!P && !forced && km_assign_panels_available(), forced};
  comm_allreduce_min_i64(&ok, 1);
  if (!ok) {
    free(P);
    comm_allreduce_max_i64(why, 2);
    static int said; /* once a run */
    if (ps_rank == 0 && !said++)
      ps_log("segment: assignment by OpenBLAS on every rank (%s)",
             why[1] ? "PROPSCORE_KMEANS_ASSIGN=blas" : why[0] ? "a rank could not pack its rows: out of memory"
                                                               : "a rank's CPU has no AVX-512");
    return NULL;
  }
  km_pack_panels(X, n, c, P);
  return P;
}

km_backend_t *km_backend_cpu(const float *X, const float *panels, int64_t n, int64_t c, int kmax) {
  km_backend_t *b = ps_calloc(1, sizeof *b);
  cpu_t *u = ps_calloc(1, sizeof *u);
  u->panels = panels;
  if (!panels) u->work = ps_malloc(sizeof(float) * (size_t)km_assign_work(c, kmax));
  else u->acc = ps_malloc(sizeof(int64_t) * ((size_t)kmax * (size_t)c + (size_t)kmax + 1));
  u->xnorm = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  km_norms_cpu(X, n, c, u->xnorm);
  *b = (km_backend_t){.name = u->panels ? "cpu" : "cpu-blas", .X = X, .n = n, .c = c, .kmax = kmax, .impl = u,
                      .step = step, .fetch = fetch, .destroy = destroy};
  return b;
}

km_backend_t *kmeans_backend_create(const float *X, const float *panels, int64_t n, int64_t c, int kmax, int cuda) {
  km_backend_t *b = cuda ? km_backend_cuda(X, n, c, kmax) : km_backend_cpu(X, panels, n, c, kmax);
  if (!b) ps_die_all(PS_EXIT_USAGE, "segment: --device cuda: this build has no CUDA");
  return b;
}

#ifndef PROPSCORE_HAVE_CUDA
km_backend_t *km_backend_cuda(const float *X, int64_t n, int64_t c, int kmax) {
  (void)X, (void)n, (void)c, (void)kmax;
  return NULL;
}
#endif
