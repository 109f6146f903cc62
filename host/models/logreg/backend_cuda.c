/* backend_cuda.c: the CUDA backend of backend.h. Training rows stay resident
 * on the GPU (float32, or bfloat16 with --x-dtype bf16) across iterations;
 * an evaluation uploads theta (k x (c+1) doubles), runs the fused gradient
 * kernel (or its cuBLAS variant when (c+1) k is too wide), and downloads the
 * k + k(c+1) sums; Newton adds one DSYRK pass per head. Scoring uploads row
 * blocks and runs the fused scoring kernel. NVTX ranges name each phase. */
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/cuda_check.h"
#include "core/util.h"
#include "logreg/logreg_kernels.h"
#include "models/logreg/backend.h"

typedef struct {
  int device;
  cudaStream_t s;
  cublasHandle_t blas;
  int xtype;
  void *X;          /* resident training rows */
  uint8_t *Y;
  int64_t n, c;
  int k;
  double *theta, *w_pos, *w_neg, *out, *scratch, *work, *H;
  size_t scratch_bytes, work_bytes;
  /* scoring buffers, grown on demand */
  float *xb, *pb;
  size_t xb_bytes, pb_bytes;
  const ps_transform_t *tf_cached;
  /* streamed evaluation (rows larger than --gpu-mem-limit or the host's) */
  void *sx;           /* device block of rows */
  uint8_t *sy;
  float *pin;         /* pinned staging for the block */
  size_t sx_bytes, sy_bytes, pin_bytes;
  double *acc;        /* host running sums: k losses, k (c+1) gradient */
  const uint8_t *hmask;
  double *hacc;       /* device Hessians of the masked heads, [k][(c+1)^2] */
  int64_t *src;
  uint8_t *kind;
  double *mean, *scale;
} cuda_t;

static void *dev_alloc(size_t bytes) {
  void *p = NULL;
  CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 8));
  return p;
}

static void grow(void **p, size_t *have, size_t want) {
  if (*have >= want) return;
  if (*p) CUDA_CHECK(cudaFree(*p));
  *p = dev_alloc(want);
  *have = want;
}

static void cuda_set_train(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n, int64_t c, int k,
                           const double *w_pos, const double *w_neg) {
  cuda_t *s = b->impl;
  nvtxRangePushA("copy training rows to GPU");
  s->n = n; s->c = c; s->k = k;
  size_t cells = (size_t)(n > 0 ? n : 1) * (size_t)c;
  if (s->xtype == PS_X_BF16) {
    uint16_t *h = ps_malloc(cells * 2);
    for (size_t i = 0; i < (size_t)n * (size_t)c; i++) h[i] = ps_float_to_bf16(X[i]);
    s->X = dev_alloc(cells * 2);
    CUDA_CHECK(cudaMemcpy(s->X, h, (size_t)n * (size_t)c * 2, cudaMemcpyHostToDevice));
    free(h);
  } else {
    s->X = dev_alloc(cells * 4);
    CUDA_CHECK(cudaMemcpy(s->X, X, (size_t)n * (size_t)c * 4, cudaMemcpyHostToDevice));
  }
  s->Y = dev_alloc((size_t)(n > 0 ? n : 1) * (size_t)k);
  CUDA_CHECK(cudaMemcpy(s->Y, Y, (size_t)n * (size_t)k, cudaMemcpyHostToDevice));
  s->theta = dev_alloc(sizeof(double) * (size_t)k * (size_t)(c + 1));
  s->w_pos = dev_alloc(sizeof(double) * (size_t)k);
  s->w_neg = dev_alloc(sizeof(double) * (size_t)k);
  CUDA_CHECK(cudaMemcpy(s->w_pos, w_pos, sizeof(double) * (size_t)k, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(s->w_neg, w_neg, sizeof(double) * (size_t)k, cudaMemcpyHostToDevice));
  s->out = dev_alloc(sizeof(double) * (size_t)k * (size_t)(c + 2));
  s->scratch_bytes = ps_grad_scratch(n, (int)c, k);
  s->scratch = dev_alloc(s->scratch_bytes);
  nvtxRangePop();
}

static int fused_fits(int64_t c, int k) {
  return (c + 1) * k <= PS_GRAD_MAX_PAIRS && k <= PS_KMAX && c <= PS_GRAD_MAX_COLS;
}

static void cuda_eval(ps_backend_t *b, const double *theta, double *loss, double *grad, double *hess,
                      const uint8_t *hmask) {
  cuda_t *s = b->impl;
  int64_t c = s->c, c1 = c + 1;
  int k = s->k;
  nvtxRangePushA("gradient");
  CUDA_CHECK(cudaMemcpyAsync(s->theta, theta, sizeof(double) * (size_t)(k * c1), cudaMemcpyHostToDevice, s->s));
  if (fused_fits(c, k)) {
    ps_grad_fused(s->X, s->xtype, s->Y, s->n, (int)c, k, s->theta, s->w_pos, s->w_neg, s->scratch, s->out, s->s);
  } else {
    grow((void **)&s->work, &s->work_bytes, ps_grad_blas_work((int)c, k));
    ps_grad_blas(s->blas, s->X, s->xtype, s->Y, s->n, (int)c, k, s->theta, s->w_pos, s->w_neg, s->work, s->out, s->s);
  }
  double *host = ps_malloc(sizeof(double) * (size_t)(k + k * c1));
  CUDA_CHECK(cudaMemcpyAsync(host, s->out, sizeof(double) * (size_t)(k + k * c1), cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  memcpy(loss, host, sizeof(double) * (size_t)k);
  memcpy(grad, host + k, sizeof(double) * (size_t)(k * c1));
  free(host);
  nvtxRangePop();
  if (!hess) return;
  nvtxRangePushA("hessian");
  if (!s->H) s->H = dev_alloc(sizeof(double) * (size_t)(c1 * c1));
  grow((void **)&s->work, &s->work_bytes, ps_hess_work((int)c));
  for (int h = 0; h < k; h++) {
    double *Hh = hess + (size_t)h * (size_t)(c1 * c1);
    if (!hmask[h]) continue;
    CUDA_CHECK(cudaMemsetAsync(s->H, 0, sizeof(double) * (size_t)(c1 * c1), s->s));
    ps_hess(s->blas, s->X, s->xtype, s->Y, s->n, (int)c, k, h, s->theta, s->w_pos, s->w_neg, s->work, s->H, s->s);
    CUDA_CHECK(cudaMemcpyAsync(Hh, s->H, sizeof(double) * (size_t)(c1 * c1), cudaMemcpyDeviceToHost, s->s));
    CUDA_CHECK(cudaStreamSynchronize(s->s));
    /* column-major upper triangle = row-major lower; mirror to full symmetric */
    for (int64_t i = 0; i < c1; i++)
      for (int64_t j = i + 1; j < c1; j++) Hh[i * c1 + j] = Hh[j * c1 + i];
  }
  nvtxRangePop();
}

/* Streamed rows: each block goes up through pinned memory and through the
 * same kernels; block sums are added on the host in arrival order (so the
 * result depends on the block sizes, unlike the CPU twin's tiles; it stays
 * within the GPU-vs-CPU tolerance). The reader thread overlaps the file. */
static void cuda_eval_begin(ps_backend_t *b, const double *theta, int64_t c, int k, const double *w_pos,
                            const double *w_neg, const uint8_t *hmask) {
  cuda_t *s = b->impl;
  int64_t c1 = c + 1;
  if (!s->theta || s->c != c || s->k != k) {
    if (s->theta) { cudaFree(s->theta); cudaFree(s->w_pos); cudaFree(s->w_neg); cudaFree(s->out); }
    s->theta = dev_alloc(sizeof(double) * (size_t)(k * c1));
    s->w_pos = dev_alloc(sizeof(double) * (size_t)k);
    s->w_neg = dev_alloc(sizeof(double) * (size_t)k);
    s->out = dev_alloc(sizeof(double) * (size_t)k * (size_t)(c + 2));
  }
  s->c = c;
  s->k = k;
  CUDA_CHECK(cudaMemcpy(s->theta, theta, sizeof(double) * (size_t)(k * c1), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(s->w_pos, w_pos, sizeof(double) * (size_t)k, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(s->w_neg, w_neg, sizeof(double) * (size_t)k, cudaMemcpyHostToDevice));
  free(s->acc);
  s->acc = ps_calloc((size_t)(k + k * c1), sizeof(double));
  s->hmask = hmask;
  if (hmask) {
    if (s->hacc) cudaFree(s->hacc);
    s->hacc = dev_alloc(sizeof(double) * (size_t)k * (size_t)(c1 * c1));
    CUDA_CHECK(cudaMemset(s->hacc, 0, sizeof(double) * (size_t)k * (size_t)(c1 * c1)));
  }
}

static void cuda_eval_rows(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n) {
  cuda_t *s = b->impl;
  int64_t c = s->c, c1 = c + 1;
  int k = s->k;
  if (n == 0) return;
  nvtxRangePushA("gradient (streamed block)");
  size_t esz = s->xtype == PS_X_BF16 ? 2 : 4, xb = esz * (size_t)n * (size_t)c;
  if (s->pin_bytes < xb) {
    if (s->pin) cudaFreeHost(s->pin);
    CUDA_CHECK(cudaMallocHost((void **)&s->pin, xb));
    s->pin_bytes = xb;
  }
  if (s->xtype == PS_X_BF16) {
    uint16_t *p = (uint16_t *)s->pin;
    for (size_t i = 0; i < (size_t)n * (size_t)c; i++) p[i] = ps_float_to_bf16(X[i]);
  } else {
    memcpy(s->pin, X, xb);
  }
  grow(&s->sx, &s->sx_bytes, xb);
  grow((void **)&s->sy, &s->sy_bytes, (size_t)n * (size_t)k);
  nvtxRangePushA("copy rows to GPU");
  CUDA_CHECK(cudaMemcpyAsync(s->sx, s->pin, xb, cudaMemcpyHostToDevice, s->s));
  CUDA_CHECK(cudaMemcpyAsync(s->sy, Y, (size_t)n * (size_t)k, cudaMemcpyHostToDevice, s->s));
  nvtxRangePop();
  if (fused_fits(c, k)) {
    size_t need = ps_grad_scratch(n, (int)c, k);
    grow((void **)&s->scratch, &s->scratch_bytes, need);
    ps_grad_fused(s->sx, s->xtype, s->sy, n, (int)c, k, s->theta, s->w_pos, s->w_neg, s->scratch, s->out, s->s);
  } else {
    grow((void **)&s->work, &s->work_bytes, ps_grad_blas_work((int)c, k));
    ps_grad_blas(s->blas, s->sx, s->xtype, s->sy, n, (int)c, k, s->theta, s->w_pos, s->w_neg, s->work, s->out, s->s);
  }
  double *host = ps_malloc(sizeof(double) * (size_t)(k + k * c1));
  CUDA_CHECK(cudaMemcpyAsync(host, s->out, sizeof(double) * (size_t)(k + k * c1), cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  for (int64_t i = 0; i < k + k * c1; i++) s->acc[i] += host[i];
  free(host);
  if (s->hmask) {
    grow((void **)&s->work, &s->work_bytes, ps_hess_work((int)c));
    for (int h = 0; h < k; h++)
      if (s->hmask[h])
        ps_hess(s->blas, s->sx, s->xtype, s->sy, n, (int)c, k, h, s->theta, s->w_pos, s->w_neg, s->work,
                s->hacc + (size_t)h * (size_t)(c1 * c1), s->s);
    CUDA_CHECK(cudaStreamSynchronize(s->s));
  }
  nvtxRangePop();
}

static void cuda_eval_end(ps_backend_t *b, double *loss, double *grad, double *hess) {
  cuda_t *s = b->impl;
  int64_t c1 = s->c + 1;
  int k = s->k;
  memcpy(loss, s->acc, sizeof(double) * (size_t)k);
  memcpy(grad, s->acc + k, sizeof(double) * (size_t)(k * c1));
  if (hess && s->hmask) {
    CUDA_CHECK(cudaMemcpy(hess, s->hacc, sizeof(double) * (size_t)k * (size_t)(c1 * c1), cudaMemcpyDeviceToHost));
    for (int h = 0; h < k; h++) {
      double *Hh = hess + (size_t)h * (size_t)(c1 * c1);
      for (int64_t i = 0; i < c1; i++)
        for (int64_t j = i + 1; j < c1; j++) Hh[i * c1 + j] = Hh[j * c1 + i];
    }
  }
}

static void download_probs(cuda_t *s, int k, int64_t n, float *P) {
  CUDA_CHECK(cudaMemcpyAsync(P, s->pb, sizeof(float) * (size_t)k * (size_t)n, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
}

static void cuda_predict_std(ps_backend_t *b, const double *theta, int k, const float *X, int64_t n, int64_t c,
                             float *P) {
  cuda_t *s = b->impl;
  nvtxRangePushA("score");
  size_t esz = s->xtype == PS_X_BF16 ? 2 : 4;
  grow((void **)&s->xb, &s->xb_bytes, esz * (size_t)n * (size_t)c);
  grow((void **)&s->pb, &s->pb_bytes, sizeof(float) * (size_t)k * (size_t)n);
  if (s->xtype == PS_X_BF16) { /* score what training saw: the same rounding */
    uint16_t *h = ps_malloc(2 * (size_t)n * (size_t)c + 2);
    for (size_t i = 0; i < (size_t)n * (size_t)c; i++) h[i] = ps_float_to_bf16(X[i]);
    CUDA_CHECK(cudaMemcpy(s->xb, h, 2 * (size_t)n * (size_t)c, cudaMemcpyHostToDevice));
    free(h);
  } else {
    CUDA_CHECK(cudaMemcpy(s->xb, X, 4 * (size_t)n * (size_t)c, cudaMemcpyHostToDevice));
  }
  if (!s->theta) s->theta = dev_alloc(sizeof(double) * (size_t)k * (size_t)(c + 1));
  CUDA_CHECK(cudaMemcpyAsync(s->theta, theta, sizeof(double) * (size_t)k * (size_t)(c + 1), cudaMemcpyHostToDevice, s->s));
  ps_score_std(s->xb, s->xtype, n, (int)c, k, s->theta, s->pb, s->s);
  download_probs(s, k, n, P);
  nvtxRangePop();
}

/* The resident training rows, already on the device. */
static void cuda_predict_train(ps_backend_t *b, const double *theta, float *P) {
  cuda_t *s = b->impl;
  nvtxRangePushA("score training rows");
  grow((void **)&s->pb, &s->pb_bytes, sizeof(float) * (size_t)s->k * (size_t)(s->n > 0 ? s->n : 1));
  CUDA_CHECK(cudaMemcpyAsync(s->theta, theta, sizeof(double) * (size_t)s->k * (size_t)(s->c + 1), cudaMemcpyHostToDevice,
                             s->s));
  ps_score_std(s->X, s->xtype, s->n, (int)s->c, s->k, s->theta, s->pb, s->s);
  download_probs(s, s->k, s->n, P);
  nvtxRangePop();
}

static void cuda_predict_raw(ps_backend_t *b, const ps_transform_t *t, const double *theta, int k, const float *X,
                             int64_t n, float *P) {
  cuda_t *s = b->impl;
  int64_t c = t->c;
  nvtxRangePushA("score");
  if (s->tf_cached != t) { /* the model's transform, uploaded once */
    cudaFree(s->src); cudaFree(s->kind); cudaFree(s->mean); cudaFree(s->scale); cudaFree(s->theta);
    s->src = dev_alloc(sizeof(int64_t) * (size_t)c);
    s->kind = dev_alloc((size_t)c);
    s->mean = dev_alloc(sizeof(double) * (size_t)c);
    s->scale = dev_alloc(sizeof(double) * (size_t)c);
    s->theta = dev_alloc(sizeof(double) * (size_t)k * (size_t)(c + 1));
    CUDA_CHECK(cudaMemcpy(s->src, t->src, sizeof(int64_t) * (size_t)c, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(s->kind, t->kind, (size_t)c, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(s->mean, t->mean, sizeof(double) * (size_t)c, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(s->scale, t->scale, sizeof(double) * (size_t)c, cudaMemcpyHostToDevice));
    s->tf_cached = t;
  }
  CUDA_CHECK(cudaMemcpy(s->theta, theta, sizeof(double) * (size_t)k * (size_t)(c + 1), cudaMemcpyHostToDevice));
  grow((void **)&s->xb, &s->xb_bytes, sizeof(float) * (size_t)n * (size_t)t->f);
  grow((void **)&s->pb, &s->pb_bytes, sizeof(float) * (size_t)k * (size_t)n);
  nvtxRangePushA("copy rows to GPU");
  CUDA_CHECK(cudaMemcpyAsync(s->xb, X, sizeof(float) * (size_t)n * (size_t)t->f, cudaMemcpyHostToDevice, s->s));
  nvtxRangePop();
  ps_score_raw(s->xb, n, (int)t->f, (int)c, k, s->src, s->kind, s->mean, s->scale, s->theta, s->pb, s->s);
  download_probs(s, k, n, P);
  nvtxRangePop();
}

static void cuda_destroy(ps_backend_t *b) {
  cuda_t *s = b->impl;
  void *bufs[] = {s->X, s->Y, s->theta, s->w_pos, s->w_neg, s->out, s->scratch, s->work, s->H, s->xb, s->pb,
                  s->src, s->kind, s->mean, s->scale, s->sx, s->sy, s->hacc};
  if (s->pin) cudaFreeHost(s->pin);
  free(s->acc);
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    if (bufs[i]) cudaFree(bufs[i]);
  cublasDestroy(s->blas);
  cudaStreamDestroy(s->s);
  free(s);
  free(b);
}

int backend_cuda_devices(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

ps_backend_t *backend_cuda_create(int xtype) {
  int count = backend_cuda_devices();
  if (count == 0) ps_die_local("--device cuda: no CUDA device visible to rank %d", ps_rank);
  cuda_t *s = ps_calloc(1, sizeof *s);
  /* one GPU per rank by node-local rank; ranks beyond the GPUs share them */
  s->device = comm_local_rank() % count;
  CUDA_CHECK(cudaSetDevice(s->device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&s->s, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasCreate(&s->blas));
  /* deterministic cuBLAS: no atomics-based reductions */
  CUBLAS_CHECK(cublasSetAtomicsMode(s->blas, CUBLAS_ATOMICS_NOT_ALLOWED));
  s->xtype = xtype;
  ps_backend_t *b = ps_calloc(1, sizeof *b);
  b->name = "cuda";
  b->impl = s;
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  b->device_memory = (int64_t)(0.8 * (double)free_b / (comm_local_size() > count ? (comm_local_size() + count - 1) / count : 1));
  b->set_train = cuda_set_train;
  b->eval = cuda_eval;
  b->eval_begin = cuda_eval_begin;
  b->eval_rows = cuda_eval_rows;
  b->eval_end = cuda_eval_end;
  b->predict_train = cuda_predict_train;
  b->predict_std = cuda_predict_std;
  b->predict_raw = cuda_predict_raw;
  b->destroy = cuda_destroy;
  /* NCCL for the sums when every rank on the node has a GPU of its own */
  if (comm_local_size() <= count) comm_use_device(s->device);
  return b;
}
