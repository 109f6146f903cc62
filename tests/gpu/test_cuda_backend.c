/* test_cuda_backend.c: the CUDA backend against its CPU twin on the same
 * rows -- loss, gradient, Hessian (all heads and masked ones), scores of
 * the resident training rows, of standardized and of raw rows; float32 and
 * bfloat16 storage; the fused and the cuBLAS gradient; more than 16 heads;
 * resident rows and rows streamed in blocks (eval_begin/rows/end) -- and
 * bitwise repeatability; then what broke before: a device almost full
 * (rows must go up in bounded blocks), streamed rows double-buffered over
 * two streams (a missing wait changes the sums or is a stream race), a
 * model with more parameters than
 * the last one (theta grows), a transform changed in place (the cache is
 * keyed by value, not by address). Runs on a GPU and on the emulated device
 * (tests/cudasim); exits 77 (ctest: skipped) with "no CUDA device" when the
 * machine has neither. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "comm/comm.h"
#include "common/psmath.h"
#include "core/rng.h"
#include "core/util.h"
#include "logreg/logreg_kernels.h"
#include "models/logreg/backend.h"

#include "common/test_expect.h"

/* NaN anywhere but in both (fmax would skip it) is an infinite difference. */
static double max_rel(const double *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(a[i]) != isnan(b[i])) return INFINITY;
    num = fmax(num, fabs(a[i] - b[i]));
    den = fmax(den, fabs(b[i]));
  }
  return num / (den > 0 ? den : 1);
}

static double max_abs_f(const float *a, const float *b, size_t n) {
  double e = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(a[i]) != isnan(b[i])) return INFINITY;
    e = fmax(e, fabs((double)a[i] - (double)b[i]));
  }
  return e;
}

/* Rows, labels, class weights and parameters of one case. */
typedef struct {
  int64_t n, c;
  int k;
  float *X;
  uint8_t *Y;
  double *wp, *wn, *theta;
} data_t;

static data_t make_data(int64_t n, int64_t c, int k, int bf16, uint64_t seed) {
  data_t d = {n, c, k, NULL, NULL, NULL, NULL, NULL};
  d.X = ps_malloc(sizeof(float) * (size_t)(n * c + 1));
  d.Y = ps_malloc((size_t)(n * k + 1));
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < c; j++) {
      float v = (float)ps_rng_normal(seed, 1, (uint64_t)i, 2 * (uint64_t)j);
      d.X[i * c + j] = bf16 ? ps_bf16_to_float(ps_float_to_bf16(v)) : v; /* the CPU sees the rounded rows */
    }
    for (int h = 0; h < k; h++) d.Y[i * k + h] = ps_rng_unif(seed, 2, (uint64_t)i, (uint64_t)h) < 0.1 + 0.03 * (h % 8);
  }
  d.wp = ps_malloc(sizeof(double) * (size_t)k);
  d.wn = ps_malloc(sizeof(double) * (size_t)k);
  for (int h = 0; h < k; h++) {
    d.wp[h] = 1.0 + h;
    d.wn[h] = 1.0;
  }
  d.theta = ps_malloc(sizeof(double) * (size_t)(k * (c + 1)));
  for (int64_t i = 0; i < k * (c + 1); i++) d.theta[i] = 0.05 * ps_rng_normal(seed, 9, (uint64_t)i, 0);
  return d;
}

static void free_data(data_t *d) {
  free(d->X);
  free(d->Y);
  free(d->wp);
  free(d->wn);
  free(d->theta);
}

/* A transform over the first c of f = c raw columns, shuffled, with missing indicators and a constant column. */
typedef struct {
  int64_t *src;
  uint8_t *kind;
  double *mean, *scale;
  ps_transform_t t;
} tf_t;

static tf_t make_tf(int64_t c) {
  tf_t x;
  x.src = ps_malloc(sizeof(int64_t) * (size_t)c);
  x.kind = ps_malloc((size_t)c);
  x.mean = ps_malloc(sizeof(double) * (size_t)c);
  x.scale = ps_malloc(sizeof(double) * (size_t)c);
  for (int64_t j = 0; j < c; j++) {
    x.src[j] = (j * 7) % c;
    x.kind[j] = j % 5 == 4 ? PS_COL_MISSING : PS_COL_VALUE;
    x.mean[j] = 0.1 * (double)(j % 3);
    x.scale[j] = j % 11 == 10 ? 0.0 : 1.0 + 0.01 * (double)j;
  }
  ps_transform_t t = {c, c, x.src, x.kind, x.mean, x.scale};
  x.t = t;
  return x;
}

static void free_tf(tf_t *x) {
  free(x->src);
  free(x->kind);
  free(x->mean);
  free(x->scale);
}

/* Loss, gradient and Hessian of both backends: resident and streamed in pieces. */
static void check_eval(ps_backend_t *cpu, ps_backend_t *gpu, const data_t *d, int bf16, const char *path,
                       int hessians) {
  int64_t c1 = d->c + 1;
  int k = d->k;
  size_t gl = (size_t)(k * c1), hl = (size_t)(k * c1 * c1);
  int want_h = hessians && c1 <= 300;
  double *l1 = ps_malloc(sizeof(double) * (size_t)k), *l2 = ps_malloc(sizeof(double) * (size_t)k);
  double *g1 = ps_malloc(sizeof(double) * gl), *g2 = ps_malloc(sizeof(double) * gl), *g3 = ps_malloc(sizeof(double) * gl);
  double *h1 = want_h ? ps_malloc(sizeof(double) * hl) : NULL, *h2 = want_h ? ps_malloc(sizeof(double) * hl) : NULL;
  uint8_t *mask = ps_malloc((size_t)k);
  for (int h = 0; h < k; h++) mask[h] = k == 1 || h % 2 == 0; /* every other head: the rest must be zeros */
  if (want_h)
    for (size_t i = 0; i < hl; i++) h2[i] = NAN;
  cpu->eval(cpu, d->theta, l1, g1, h1, mask);
  gpu->eval(gpu, d->theta, l2, g2, h2, mask);
  double el = max_rel(l2, l1, (size_t)k), eg = max_rel(g2, g1, gl), eh = want_h ? max_rel(h2, h1, hl) : 0;
  printf("eval n=%lld c=%lld k=%d %s (%s): loss %.2e grad %.2e hess %.2e (relative)\n", (long long)d->n,
         (long long)d->c, k, bf16 ? "bf16" : "f32", path, el, eg, eh);
  EXPECT(el < 1e-10, "loss differs %.3e", el);
  EXPECT(eg < 1e-5, "gradient differs %.3e", eg);
  EXPECT(eh < 1e-5, "Hessian differs %.3e (masked heads must be zeros)", eh);
  gpu->eval(gpu, d->theta, l2, g3, NULL, NULL);
  EXPECT(memcmp(g2, g3, sizeof(double) * gl) == 0, "two GPU evaluations differ");

  /* the same rows streamed in three uneven pieces */
  int64_t cut1 = d->n / 3, cut2 = cut1 + (d->n > 1);
  gpu->eval_begin(gpu, d->theta, d->c, k, d->wp, d->wn, want_h ? mask : NULL);
  gpu->eval_rows(gpu, d->X, d->Y, cut1);
  gpu->eval_rows(gpu, d->X + cut1 * d->c, d->Y + cut1 * k, cut2 - cut1);
  gpu->eval_rows(gpu, d->X + cut2 * d->c, d->Y + cut2 * k, d->n - cut2);
  if (want_h)
    for (size_t i = 0; i < hl; i++) h2[i] = NAN;
  gpu->eval_end(gpu, l2, g3, h2);
  el = max_rel(l2, l1, (size_t)k);
  eg = max_rel(g3, g1, gl);
  eh = want_h ? max_rel(h2, h1, hl) : 0;
  printf("  streamed in 3 pieces: loss %.2e grad %.2e hess %.2e\n", el, eg, eh);
  EXPECT(el < 1e-10, "streamed loss differs %.3e", el);
  EXPECT(eg < 1e-5, "streamed gradient differs %.3e", eg);
  EXPECT(eh < 1e-5, "streamed Hessian differs %.3e", eh);
  free(l1); free(l2); free(g1); free(g2); free(g3); free(h1); free(h2); free(mask);
}

/* Scores of the training rows, of standardized rows and of raw rows. */
static void check_scores(ps_backend_t *cpu, ps_backend_t *gpu, const data_t *d) {
  int64_t n = d->n, c = d->c;
  int k = d->k;
  size_t np = (size_t)(n * k);
  float *P1 = ps_malloc(sizeof(float) * np + 4), *P2 = ps_malloc(sizeof(float) * np + 4), *P3 = ps_malloc(sizeof(float) * np + 4);
  cpu->predict_train(cpu, d->theta, P1);
  gpu->predict_train(gpu, d->theta, P2);
  double e = max_abs_f(P1, P2, np);
  EXPECT(e < 1e-6, "scores of the training rows differ %.3e", e);
  double et = e;
  cpu->predict_std(cpu, d->theta, k, d->X, n, c, P1);
  gpu->predict_std(gpu, d->theta, k, d->X, n, c, P2);
  e = max_abs_f(P1, P2, np);
  EXPECT(e < 1e-6, "standardized scores differ %.3e", e);
  double es = e;
  tf_t tf = make_tf(c);
  float *R = ps_malloc(sizeof(float) * (size_t)(n * c + 1));
  memcpy(R, d->X, sizeof(float) * (size_t)(n * c));
  for (int64_t i = 0; i < n; i += 13) R[i * c + (i % c)] = NAN;
  cpu->predict_raw(cpu, &tf.t, d->theta, k, R, n, P1);
  gpu->predict_raw(gpu, &tf.t, d->theta, k, R, n, P2);
  e = max_abs_f(P1, P2, np);
  printf("  scores: training rows %.2e, standardized %.2e, raw %.2e (max |dp|)\n", et, es, e);
  EXPECT(e < 1e-6, "raw scores differ %.3e", e);
  gpu->predict_raw(gpu, &tf.t, d->theta, k, R, n, P3);
  EXPECT(memcmp(P2, P3, sizeof(float) * np) == 0, "two GPU scorings differ");
  free(P1); free(P2); free(P3); free(R);
  free_tf(&tf);
}

static void case_eval(int64_t n, int64_t c, int k, int bf16) {
  data_t d = make_data(n, c, k, bf16, 7);
  ps_backend_t *cpu = backend_cpu_create(), *gpu = backend_cuda_create(bf16 ? PS_X_BF16 : PS_X_F32);
  cpu->set_train(cpu, d.X, d.Y, n, c, k, d.wp, d.wn);
  gpu->set_train(gpu, d.X, d.Y, n, c, k, d.wp, d.wn);
  int fused = (c + 1) * k <= PS_GRAD_MAX_PAIRS && c <= PS_GRAD_MAX_COLS && k <= PS_KMAX;
  check_eval(cpu, gpu, &d, bf16, fused ? "fused" : "cuBLAS path", 1);
  check_scores(cpu, gpu, &d);
  cpu->destroy(cpu);
  gpu->destroy(gpu);
  free_data(&d);
}

/* Takes all but about `left` bytes of the device (a ballast allocation, so a
 * case runs the same on a GPU and on the emulated device); NULL if none. */
static void *fill_device_to(size_t left) {
  size_t fr = 0, tot = 0;
  void *ballast = NULL;
  cudaMemGetInfo(&fr, &tot);
  for (size_t want = fr > left ? fr - left : 0; want > 0 && !ballast; want -= want / 64)
    if (cudaMalloc(&ballast, want) != cudaSuccess) {
      ballast = NULL;
      cudaGetLastError();
      if (want < ((size_t)1 << 20)) break;
    }
  return ballast;
}

/* A device almost full: the training rows take ~45% of what is free, then
 * the same number of rows is scored and streamed: it must go up in blocks
 * (before, predict_std and predict_raw uploaded all rows at once and ran
 * out of memory after the fit). The rest of the device is taken by a
 * ballast allocation, so the case runs the same on a GPU. */
static void case_memory_limit(void) {
  const size_t target = (size_t)4 << 20;
  ps_backend_t *cpu = backend_cpu_create(), *gpu = backend_cuda_create(PS_X_F32);
  size_t fr = 0, tot = 0;
  void *ballast = fill_device_to(target);
  cudaMemGetInfo(&fr, &tot);
  int64_t c = 24, n = (int64_t)(0.45 * (double)fr / (4.0 * (double)c));
  printf("memory limit: %zu bytes free, %lld resident rows (%.0f%% of it)\n", fr, (long long)n,
         100.0 * (double)(n * c * 4) / (double)fr);
  data_t d = make_data(n, c, 2, 0, 11);
  cpu->set_train(cpu, d.X, d.Y, n, c, 2, d.wp, d.wn);
  gpu->set_train(gpu, d.X, d.Y, n, c, 2, d.wp, d.wn);
  /* no Hessians: their work space is a fixed 16384-row tile ((c+1) x 128 KiB) */
  check_eval(cpu, gpu, &d, 0, "fused, device almost full", 0);
  check_scores(cpu, gpu, &d);
  cpu->destroy(cpu);
  gpu->destroy(gpu);
  if (ballast) cudaFree(ballast);
  free_data(&d);
}

/* Streamed evaluation and scoring, double-buffered (backend_cuda.c
 * stream_piece, score_piece): with
 * ~4 MiB of the device free, 60000 rows go up in a dozen pieces in one
 * eval_rows call, then again in uneven calls, so each slot's pinned and
 * device buffers are reused while the other slot's piece is in flight.
 * Catches a missing wait: on the emulated device copies run lazily, so
 * staging a piece over a slot whose copy has not run yet changes the sums;
 * a kernel that does not wait for its copy stream is a reported stream race. */
static void case_stream_overlap(void) {
  const size_t target = (size_t)4 << 20;
  int64_t n = 60000, c = 24;
  int k = 2;
  data_t d = make_data(n, c, k, 0, 13);
  tf_t tf = make_tf(c);
  size_t np = (size_t)n * (size_t)k;
  /* scores in a piece or two, before the device fills up: the reference */
  float *Sref = ps_malloc(sizeof(float) * np), *Rref = ps_malloc(sizeof(float) * np);
  ps_backend_t *ref = backend_cuda_create(PS_X_F32);
  ref->predict_std(ref, d.theta, k, d.X, n, c, Sref);
  ref->predict_raw(ref, &tf.t, d.theta, k, d.X, n, Rref);
  ref->destroy(ref);
  ps_backend_t *cpu = backend_cpu_create(), *gpu = backend_cuda_create(PS_X_F32);
  size_t fr = 0, tot = 0;
  void *ballast = fill_device_to(target);
  cudaMemGetInfo(&fr, &tot);
  cpu->set_train(cpu, d.X, d.Y, n, c, k, d.wp, d.wn);
  double l1[2], l2[2], l3[2], *g1 = ps_malloc(sizeof(double) * (size_t)(k * (c + 1)));
  double *g2 = ps_malloc(sizeof(double) * (size_t)(k * (c + 1))), *g3 = ps_malloc(sizeof(double) * (size_t)(k * (c + 1)));
  cpu->eval(cpu, d.theta, l1, g1, NULL, NULL);
  gpu->eval_begin(gpu, d.theta, c, k, d.wp, d.wn, NULL);
  gpu->eval_rows(gpu, d.X, d.Y, n);
  gpu->eval_end(gpu, l2, g2, NULL);
  const int64_t cuts[] = {0, 7001, 7002, 31000, 31500, 60000};
  gpu->eval_begin(gpu, d.theta, c, k, d.wp, d.wn, NULL);
  for (int i = 0; i + 1 < 6; i++)
    gpu->eval_rows(gpu, d.X + cuts[i] * c, d.Y + cuts[i] * k, cuts[i + 1] - cuts[i]);
  gpu->eval_end(gpu, l3, g3, NULL);
  size_t gl = (size_t)(k * (c + 1));
  double el = fmax(max_rel(l2, l1, 2), max_rel(l3, l1, 2)), eg = fmax(max_rel(g2, g1, gl), max_rel(g3, g1, gl));
  printf("streamed, double-buffered (%zu bytes free): loss %.2e grad %.2e (relative)\n", fr, el, eg);
  EXPECT(el < 1e-10, "double-buffered streamed loss differs %.3e", el);
  EXPECT(eg < 1e-5, "double-buffered streamed gradient differs %.3e", eg);
  free(g1); free(g2); free(g3);
  /* scoring goes the same way (score_piece): now in a dozen pieces, each
   * row's score the same bits as in one piece, and the CPU twin's to 1e-6;
   * a missing wait would score rows not yet up or overwrite a slot in use */
  float *S = ps_malloc(sizeof(float) * np), *R = ps_malloc(sizeof(float) * np), *C = ps_malloc(sizeof(float) * np);
  gpu->predict_std(gpu, d.theta, k, d.X, n, c, S);
  gpu->predict_raw(gpu, &tf.t, d.theta, k, d.X, n, R);
  EXPECT(!memcmp(S, Sref, sizeof(float) * np), "scores of standardized rows in pieces differ from one piece's");
  EXPECT(!memcmp(R, Rref, sizeof(float) * np), "scores of raw rows in pieces differ from one piece's");
  cpu->predict_std(cpu, d.theta, k, d.X, n, c, C);
  double es = max_abs_f(S, C, np);
  cpu->predict_raw(cpu, &tf.t, d.theta, k, d.X, n, C);
  double er = max_abs_f(R, C, np);
  printf("scored in pieces, double-buffered: std %.2e raw %.2e (max |dp| vs CPU)\n", es, er);
  EXPECT(es < 1e-6 && er < 1e-6, "scores in pieces differ from the CPU twin's: %.3e %.3e", es, er);
  free(S); free(R); free(C); free(Sref); free(Rref);
  free_tf(&tf);
  cpu->destroy(cpu);
  gpu->destroy(gpu);
  if (ballast) cudaFree(ballast);
  free_data(&d);
}

/* One backend, then a wider model (more parameters than set_train's) and a
 * transform whose values change in place (same address). */
static void case_reuse(void) {
  data_t small = make_data(500, 10, 1, 0, 3), wide = make_data(700, 30, 3, 0, 5);
  ps_backend_t *cpu = backend_cpu_create(), *gpu = backend_cuda_create(PS_X_F32);
  cpu->set_train(cpu, small.X, small.Y, small.n, small.c, small.k, small.wp, small.wn);
  gpu->set_train(gpu, small.X, small.Y, small.n, small.c, small.k, small.wp, small.wn);
  size_t np = (size_t)(wide.n * wide.k);
  float *P1 = ps_malloc(sizeof(float) * np), *P2 = ps_malloc(sizeof(float) * np);
  cpu->predict_std(cpu, wide.theta, wide.k, wide.X, wide.n, wide.c, P1);
  gpu->predict_std(gpu, wide.theta, wide.k, wide.X, wide.n, wide.c, P2);
  double e = max_abs_f(P1, P2, np);
  EXPECT(e < 1e-6, "a wider model's scores differ %.3e", e);
  tf_t tf = make_tf(wide.c);
  cpu->predict_raw(cpu, &tf.t, wide.theta, wide.k, wide.X, wide.n, P1);
  gpu->predict_raw(gpu, &tf.t, wide.theta, wide.k, wide.X, wide.n, P2);
  double e1 = max_abs_f(P1, P2, np);
  for (int64_t j = 0; j < wide.c; j++) tf.mean[j] += 0.5; /* another model, same address */
  cpu->predict_raw(cpu, &tf.t, wide.theta, wide.k, wide.X, wide.n, P1);
  gpu->predict_raw(gpu, &tf.t, wide.theta, wide.k, wide.X, wide.n, P2);
  double e2 = max_abs_f(P1, P2, np);
  printf("reuse: wider model %.2e, transform %.2e, same address new values %.2e (max |dp|)\n", e, e1, e2);
  EXPECT(e1 < 1e-6 && e2 < 1e-6, "raw scores after the transform changed in place differ: %.3e %.3e", e1, e2);
  free(P1);
  free(P2);
  free_tf(&tf);
  cpu->destroy(cpu);
  gpu->destroy(gpu);
  free_data(&small);
  free_data(&wide);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  if (backend_cuda_devices() == 0) {
    printf("no CUDA device: GPU tests skipped\n");
    comm_finalize();
    return 77;
  }
  double t0 = ps_now();
  case_eval(20011, 64, 2, 0);   /* odd n: partial last tile */
  case_eval(20011, 64, 2, 1);   /* bf16 storage */
  case_eval(3001, 256, 16, 0);  /* 16 heads, fused */
  case_eval(3001, 255, 3, 0);
  case_eval(501, 400, 2, 0);    /* fused with 56 KiB of shared memory (cudaFuncSetAttribute) */
  case_eval(1, 5, 1, 0);        /* one row */
  case_eval(1003, 40, 17, 0);   /* 17 heads: cuBLAS gradient, scores in two head groups */
  case_eval(600, 5000, 2, 0);   /* (c+1) k > 8192: cuBLAS path */
  case_eval(700, 2000, 3, 1);   /* c > 1536: cuBLAS path, bf16 rows */
  case_memory_limit();
  case_stream_overlap();
  case_reuse();
  printf("%s: %d failure%s (%.1f s)\n", failures ? "FAILED" : "passed", failures, failures == 1 ? "" : "s", ps_now() - t0);
  comm_finalize();
  return failures ? 1 : 0;
}
