/* backend.h: the compute of a Lloyd iteration behind a small interface --
 * the CPU twins (backend_cpu.c, kernels/kmeans/assign_cpu.c, update_cpu.c) or the CUDA
 * kernels with the rows resident on the device (backend_cuda.c, CUDA
 * builds). The rows are given once; each call works on all of them. */
#ifndef PS_KMEANS_BACKEND_H
#define PS_KMEANS_BACKEND_H
#include <stdint.h>

typedef struct km_backend km_backend_t;
struct km_backend {
  const char *name;
  const float *X; /* host rows [n][c] */
  int64_t n, c;
  int kmax;
  void *impl;
  /* One Lloyd pass against the k centers Cf [k][c] (float32, squared norms
   * cnorm [k]): acc [k*c + k + 1] (host, zeroed by the caller) += the
   * fixed-point sums, counts and inertia of the nearest-center assignment.
   * label [n], d2 [n] (host): where the CPU backend puts that assignment;
   * the CUDA backend leaves them until fetch. */
  void (*step)(km_backend_t *b, const float *Cf, const double *cnorm, int k, int32_t *label, double *d2,
               int64_t *acc);
  /* label, d2 as the last step gave them: the nearest center and the
   * squared distance of km_dot (re-seeding needs them). */
  void (*fetch)(km_backend_t *b, int32_t *label, double *d2);
  void (*destroy)(km_backend_t *b);
};

/* panels: the rows packed by km_pack_panels (the caller's, kept while the
 * backend lives): the fused assignment; NULL: OpenBLAS SGEMM + argmin. */
km_backend_t *km_backend_cpu(const float *X, const float *panels, int64_t n, int64_t c, int kmax);
/* The rows as panels for the fused CPU assignment, or NULL where it is not
 * used: collective, NULL on every rank unless every rank has AVX-512, no
 * PROPSCORE_KMEANS_ASSIGN=blas and the memory to pack; free() it. */
float *km_panels_new(const float *X, int64_t n, int64_t c);
/* NULL in builds without CUDA. */
km_backend_t *km_backend_cuda(const float *X, int64_t n, int64_t c, int kmax);
/* The CUDA backend when cuda, else the CPU one (on the caller's panels, or
 * NULL); dies (usage) where the build has no CUDA. */
km_backend_t *kmeans_backend_create(const float *X, const float *panels, int64_t n, int64_t c, int kmax, int cuda);
#endif
