/* backend_cuda.c: the CUDA backend of backend.h. Training rows stay resident
 * on the GPU (float32, or bfloat16 with --x-dtype bf16) across iterations;
 * an evaluation uploads theta (k x (c+1) doubles), runs the fused gradient
 * kernel (or its cuBLAS variant when (c+1) k is too wide), and downloads the
 * k + k(c+1) sums; Newton adds one DSYRK pass per head. Rows that are not
 * resident (streamed evaluation, scoring) go up in blocks of at most
 * block_bytes of device memory, never all at once. Every copy and memset is
 * asynchronous on the backend's own non-blocking stream, through pinned
 * host buffers for the rows and the results, so every kernel sees the data
 * its stream put there (nothing runs on the legacy default stream).
 * Streamed evaluation (eval_rows) is double-buffered: pieces of rows go up
 * on a second stream through two pinned buffers and two device buffers, so
 * the copy of piece b+1 (and the host's staging of it) overlaps the kernels
 * of piece b; events order the two streams both ways (see stream_piece).
 * Scoring (predict_std, predict_raw) goes the same way (score_piece): the
 * rows of piece b+1 are staged and copied up while piece b is scored, and
 * each piece's probabilities come down behind its kernel.
 * Every CUDA and cuBLAS call is checked. NVTX ranges name each phase. */
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/cuda_check.h"
#include "core/util.h"
#include "logreg/logreg_kernels.h"
#include "models/device.h"
#include "models/logreg/backend.h"

typedef struct {
  int device;
  cudaStream_t s;
  cublasHandle_t blas;
  int xtype;
  size_t esz;         /* bytes of a stored x: 4 (float32) or 2 (bfloat16) */
  size_t block_bytes; /* device memory for one block of rows going up */
  /* resident training rows (set_train) */
  void *X;
  uint8_t *Y;
  size_t x_bytes, y_bytes;
  int64_t n, c;
  int k;
  /* parameters, sums and work space, grown on demand */
  double *theta, *w_pos, *w_neg, *out, *scratch, *work, *H;
  size_t theta_bytes, wp_bytes, wn_bytes, out_bytes, scratch_bytes, work_bytes, h_bytes;
  /* probabilities of the resident rows coming down (predict_train) */
  float *pb;
  size_t pb_bytes;
  /* pinned host buffers: rows going up, results coming down */
  void *pin_x;
  float *pin_p;
  double *pin_r;
  size_t pin_x_bytes, pin_p_bytes, pin_r_bytes;
  /* streamed evaluation (eval_begin .. eval_end), double-buffered: piece
   * i of rows uses slot i % 2 (pinned staging, device rows and labels,
   * pinned sums); up[slot]: its copy is done (copy stream), done[slot]: its
   * kernels and the copy of its sums are done (compute stream) */
  cudaStream_t cs;
  cudaEvent_t up[2], done[2];
  void *sx[2], *pin_sx[2];
  uint8_t *sy[2], *pin_sy[2];
  double *pin_sr[2];
  size_t sx_bytes[2], sy_bytes[2], pin_sx_bytes[2], pin_sy_bytes[2], pin_sr_bytes[2];
  int pending[2];     /* the slot's sums are not yet added to acc */
  int64_t pieces;     /* pieces since eval_begin */
  int64_t sc;
  int sk;
  double *acc;        /* host running sums: k losses, k (c+1) gradient */
  const uint8_t *hmask;
  double *hacc;       /* device Hessians of the masked heads, [k][(c+1)^2] */
  size_t hacc_bytes;
  /* scoring, double-buffered like eval_rows (its own events and count):
   * piece i uses slot i % 2 (sx/pin_sx for its rows, sp/pin_sp for its
   * probabilities); retiring the slot puts them into place in pP */
  cudaEvent_t pup[2], pdone[2];
  float *sp[2], *pin_sp[2];
  size_t sp_bytes[2], pin_sp_bytes[2];
  int ppend[2];
  int64_t pr0[2], pm[2], ppieces, pn;
  int pk;
  float *pP;
  /* the transform of predict_raw on the device, and what it holds */
  int64_t *src;
  uint8_t *kind;
  double *mean, *scale;
  size_t src_bytes, kind_bytes, mean_bytes, scale_bytes;
  int64_t tf_c, tf_f;
  char *tf_host; /* src | kind | mean | scale as uploaded */
} cuda_t;

/* ---- memory ---- */

static void dev_grow(void **p, size_t *have, size_t want, const char *what) {
  if (want == 0) want = 8;
  if (*p && *have >= want) return;
  if (*p) CUDA_CHECK(cudaFree(*p));
  *p = NULL;
  *have = 0;
  ps_cuda_malloc(p, want, what);
  *have = want;
}

static void pin_grow(void **p, size_t *have, size_t want) {
  if (want == 0) want = 8;
  if (*p && *have >= want) return;
  if (*p) CUDA_CHECK(cudaFreeHost(*p));
  *p = NULL;
  CUDA_CHECK(cudaMallocHost(p, want));
  *have = want;
}

/* Device bytes for the next block of rows: block_bytes, or less when the
 * device has filled up since the backend was made (a quarter of what is
 * free, counting every block buffer this backend holds already: the next
 * pass gets the same pieces as this one, so the same sums). */
static size_t block_budget(cuda_t *s) {
  size_t fr = 0, tot = 0;
  CUDA_CHECK(cudaMemGetInfo(&fr, &tot));
  size_t avail = (fr + s->pb_bytes + s->sx_bytes[0] + s->sx_bytes[1] +
                  s->sy_bytes[0] + s->sy_bytes[1] + s->sp_bytes[0] + s->sp_bytes[1]) / 4;
  size_t b = s->block_bytes < avail ? s->block_bytes : avail;
  return b > 65536 ? b : 65536;
}

static void upload(cuda_t *s, void *dst, const void *src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s->s));
}

/* Rows of X (float32, host) into the device's storage type at dst, through
 * the pinned staging buffer, a block at a time; returns when they are up. */
static void upload_rows(cuda_t *s, void *dst, const float *X, int64_t n, int64_t c) {
  size_t row = s->esz * (size_t)c, per = row ? s->block_bytes / row : (size_t)n;
  if (per == 0) per = 1;
  for (int64_t r0 = 0; r0 < n; r0 += (int64_t)per) {
    int64_t m = n - r0 < (int64_t)per ? n - r0 : (int64_t)per;
    size_t cells = (size_t)m * (size_t)c;
    pin_grow(&s->pin_x, &s->pin_x_bytes, cells * s->esz);
    const float *x = X + (size_t)r0 * (size_t)c;
    if (s->xtype == PS_X_BF16) {
      uint16_t *b = s->pin_x;
      for (size_t i = 0; i < cells; i++) b[i] = ps_float_to_bf16(x[i]);
    } else {
      memcpy(s->pin_x, x, cells * 4);
    }
    upload(s, (char *)dst + (size_t)r0 * row, s->pin_x, cells * s->esz);
    CUDA_CHECK(cudaStreamSynchronize(s->s)); /* the staging buffer is free again */
  }
}

/* n doubles from the device into host memory, through pinned memory. */
static void download_f64(cuda_t *s, double *dst, const double *src, size_t n) {
  pin_grow((void **)&s->pin_r, &s->pin_r_bytes, n * sizeof(double));
  CUDA_CHECK(cudaMemcpyAsync(s->pin_r, src, n * sizeof(double), cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  memcpy(dst, s->pin_r, n * sizeof(double));
}

static void put_theta(cuda_t *s, const double *theta, int k, int64_t c) {
  size_t bytes = sizeof(double) * (size_t)k * (size_t)(c + 1);
  dev_grow((void **)&s->theta, &s->theta_bytes, bytes, "the parameters");
  upload(s, s->theta, theta, bytes);
}

static void put_weights(cuda_t *s, int k, const double *w_pos, const double *w_neg) {
  size_t bytes = sizeof(double) * (size_t)k;
  dev_grow((void **)&s->w_pos, &s->wp_bytes, bytes, "the class weights");
  dev_grow((void **)&s->w_neg, &s->wn_bytes, bytes, "the class weights");
  upload(s, s->w_pos, w_pos, bytes);
  upload(s, s->w_neg, w_neg, bytes);
}

/* The fused kernel: narrow enough, and a tile of rows fits the device's shared memory. */
static int fused_fits(int64_t c, int k, int xtype) {
  return c <= PS_GRAD_MAX_COLS && ps_grad_fused_ok((int)c, k, xtype);
}

/* Loss and gradient sums of n rows on the device into s->out (k + k(c+1)). */
static void grad_rows(cuda_t *s, const void *X, const uint8_t *Y, int64_t n, int64_t c, int k) {
  dev_grow((void **)&s->out, &s->out_bytes, sizeof(double) * (size_t)k * (size_t)(c + 2), "the gradient");
  if (fused_fits(c, k, s->xtype)) {
    dev_grow((void **)&s->scratch, &s->scratch_bytes, ps_grad_scratch(n, (int)c, k, s->xtype),
             "the gradient's partial sums");
    ps_grad_fused(X, s->xtype, Y, n, (int)c, k, s->theta, s->w_pos, s->w_neg, s->scratch, s->out, s->s);
  } else {
    dev_grow((void **)&s->work, &s->work_bytes, ps_grad_blas_work((int)c, k), "the gradient's work space");
    ps_grad_blas(s->blas, X, s->xtype, Y, n, (int)c, k, s->theta, s->w_pos, s->w_neg, s->work, s->out, s->s);
  }
}

/* Mirror the upper triangle (column-major) of a (c+1)^2 Hessian: full symmetric. */
static void mirror(double *H, int64_t c1) {
  for (int64_t i = 0; i < c1; i++)
    for (int64_t j = i + 1; j < c1; j++) H[i * c1 + j] = H[j * c1 + i];
}

/* ---- resident rows ---- */

static void cuda_set_train(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n, int64_t c, int k,
                           const double *w_pos, const double *w_neg) {
  cuda_t *s = b->impl;
  nvtxRangePushA("copy training rows to GPU");
  s->n = n;
  s->c = c;
  s->k = k;
  dev_grow(&s->X, &s->x_bytes, s->esz * (size_t)n * (size_t)c, "the training rows");
  dev_grow((void **)&s->Y, &s->y_bytes, (size_t)n * (size_t)k, "the training labels");
  upload_rows(s, s->X, X, n, c);
  upload(s, s->Y, Y, (size_t)n * (size_t)k);
  put_weights(s, k, w_pos, w_neg);
  if (fused_fits(c, k, s->xtype))
    dev_grow((void **)&s->scratch, &s->scratch_bytes, ps_grad_scratch(n, (int)c, k, s->xtype),
             "the gradient's partial sums");
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  nvtxRangePop();
}

static void cuda_eval(ps_backend_t *b, const double *theta, double *loss, double *grad, double *hess,
                      const uint8_t *hmask) {
  cuda_t *s = b->impl;
  int64_t c = s->c, c1 = c + 1;
  int k = s->k;
  nvtxRangePushA("gradient");
  put_theta(s, theta, k, c);
  grad_rows(s, s->X, s->Y, s->n, c, k);
  double *r = ps_malloc(sizeof(double) * (size_t)(k + k * c1));
  download_f64(s, r, s->out, (size_t)(k + k * c1));
  memcpy(loss, r, sizeof(double) * (size_t)k);
  memcpy(grad, r + k, sizeof(double) * (size_t)(k * c1));
  free(r);
  nvtxRangePop();
  if (!hess) return;
  nvtxRangePushA("hessian");
  size_t hb = sizeof(double) * (size_t)(c1 * c1);
  for (int h = 0; h < k; h++) {
    double *Hh = hess + (size_t)h * (size_t)(c1 * c1);
    if (!hmask || !hmask[h]) { /* as the CPU twin: zeros for the heads not asked for */
      memset(Hh, 0, hb);
      continue;
    }
    dev_grow((void **)&s->H, &s->h_bytes, hb, "a Hessian");
    dev_grow((void **)&s->work, &s->work_bytes, ps_hess_work((int)c), "the Hessian's work space");
    CUDA_CHECK(cudaMemsetAsync(s->H, 0, hb, s->s));
    ps_hess(s->blas, s->X, s->xtype, s->Y, s->n, (int)c, k, h, s->theta, s->w_pos, s->w_neg, s->work, s->H, s->s);
    download_f64(s, Hh, s->H, (size_t)(c1 * c1));
    mirror(Hh, c1);
  }
  nvtxRangePop();
}

/* ---- streamed rows ---- */

/* Each block goes up in pieces of at most half the block budget (two are on
 * the device at once), through the same kernels; the pieces' sums are added
 * on the host in piece order (so the result depends on the piece sizes,
 * unlike the CPU twin's tiles; it stays within the GPU-vs-CPU tolerance). */
static void cuda_eval_begin(ps_backend_t *b, const double *theta, int64_t c, int k, const double *w_pos,
                            const double *w_neg, const uint8_t *hmask) {
  cuda_t *s = b->impl;
  int64_t c1 = c + 1;
  s->sc = c;
  s->sk = k;
  s->pieces = 0;
  put_theta(s, theta, k, c);
  put_weights(s, k, w_pos, w_neg);
  free(s->acc);
  s->acc = ps_calloc((size_t)(k + k * c1), sizeof(double));
  int masked = 0;
  for (int h = 0; hmask && h < k; h++) masked += hmask[h] != 0;
  s->hmask = masked ? hmask : NULL;
  if (masked) {
    size_t bytes = sizeof(double) * (size_t)k * (size_t)(c1 * c1);
    dev_grow((void **)&s->hacc, &s->hacc_bytes, bytes, "the Hessians");
    CUDA_CHECK(cudaMemsetAsync(s->hacc, 0, bytes, s->s));
  }
}

/* Wait for the piece in `slot` (its kernels, the copy of its sums, and so
 * the copy of its rows, which the kernels waited for) and add its sums:
 * afterwards the slot's buffers, pinned and device, are free. */
static void retire_slot(cuda_t *s, int slot) {
  if (!s->pending[slot]) return;
  int64_t nsum = s->sk + s->sk * (s->sc + 1);
  CUDA_CHECK(cudaEventSynchronize(s->done[slot]));
  for (int64_t i = 0; i < nsum; i++) s->acc[i] += s->pin_sr[slot][i];
  s->pending[slot] = 0;
}

/* Piece i = s->pieces of m rows: stage into slot i % 2's pinned buffer once
 * the slot's previous piece (i - 2) is retired, copy up on the copy stream,
 * and queue the kernels on the compute stream behind that copy. Returns
 * without waiting: piece i's copy overlaps piece i - 1's kernels. */
static void stream_piece(cuda_t *s, const float *X, const uint8_t *Y, int64_t m) {
  int64_t c = s->sc, c1 = c + 1;
  int k = s->sk, slot = (int)(s->pieces % 2);
  size_t cells = (size_t)m * (size_t)c, xb = cells * s->esz, yb = (size_t)m * (size_t)k;
  size_t rb = sizeof(double) * (size_t)(k + k * c1);
  retire_slot(s, slot);
  dev_grow(&s->sx[slot], &s->sx_bytes[slot], xb, "a block of rows");
  dev_grow((void **)&s->sy[slot], &s->sy_bytes[slot], yb, "a block of labels");
  pin_grow(&s->pin_sx[slot], &s->pin_sx_bytes[slot], xb);
  pin_grow((void **)&s->pin_sy[slot], &s->pin_sy_bytes[slot], yb);
  pin_grow((void **)&s->pin_sr[slot], &s->pin_sr_bytes[slot], rb);
  nvtxRangePushA("stage and copy rows to GPU");
  if (s->xtype == PS_X_BF16) {
    uint16_t *p = s->pin_sx[slot];
    for (size_t i = 0; i < cells; i++) p[i] = ps_float_to_bf16(X[i]);
  } else {
    memcpy(s->pin_sx[slot], X, cells * 4);
  }
  memcpy(s->pin_sy[slot], Y, yb);
  CUDA_CHECK(cudaMemcpyAsync(s->sx[slot], s->pin_sx[slot], xb, cudaMemcpyHostToDevice, s->cs));
  CUDA_CHECK(cudaMemcpyAsync(s->sy[slot], s->pin_sy[slot], yb, cudaMemcpyHostToDevice, s->cs));
  CUDA_CHECK(cudaEventRecord(s->up[slot], s->cs));
  nvtxRangePop();
  CUDA_CHECK(cudaStreamWaitEvent(s->s, s->up[slot], 0)); /* the kernels read what the copy stream wrote */
  grad_rows(s, s->sx[slot], s->sy[slot], m, c, k);
  CUDA_CHECK(cudaMemcpyAsync(s->pin_sr[slot], s->out, rb, cudaMemcpyDeviceToHost, s->s));
  if (s->hmask) {
    dev_grow((void **)&s->work, &s->work_bytes, ps_hess_work((int)c), "the Hessian's work space");
    for (int h = 0; h < k; h++)
      if (s->hmask[h])
        ps_hess(s->blas, s->sx[slot], s->xtype, s->sy[slot], m, (int)c, k, h, s->theta, s->w_pos, s->w_neg, s->work,
                s->hacc + (size_t)h * (size_t)(c1 * c1), s->s);
  }
  CUDA_CHECK(cudaEventRecord(s->done[slot], s->s));
  s->pending[slot] = 1;
  s->pieces++;
}

static void cuda_eval_rows(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n) {
  cuda_t *s = b->impl;
  int64_t c = s->sc;
  int k = s->sk;
  if (n == 0) return;
  nvtxRangePushA("gradient (streamed block)");
  size_t row = s->esz * (size_t)c + (size_t)k;
  int64_t per = (int64_t)(block_budget(s) / 2 / row);
  if (per < 1) per = 1;
  for (int64_t r0 = 0; r0 < n; r0 += per)
    stream_piece(s, X + (size_t)r0 * (size_t)c, Y + (size_t)r0 * (size_t)k, n - r0 < per ? n - r0 : per);
  nvtxRangePop();
}

static void cuda_eval_end(ps_backend_t *b, double *loss, double *grad, double *hess) {
  cuda_t *s = b->impl;
  int64_t c1 = s->sc + 1;
  int k = s->sk;
  retire_slot(s, (int)(s->pieces % 2)); /* the older piece first: sums in piece order */
  retire_slot(s, (int)((s->pieces + 1) % 2));
  memcpy(loss, s->acc, sizeof(double) * (size_t)k);
  memcpy(grad, s->acc + k, sizeof(double) * (size_t)(k * c1));
  free(s->acc);
  s->acc = NULL;
  if (!hess) return;
  for (int h = 0; h < k; h++) {
    double *Hh = hess + (size_t)h * (size_t)(c1 * c1);
    if (!s->hmask || !s->hmask[h]) {
      memset(Hh, 0, sizeof(double) * (size_t)(c1 * c1));
      continue;
    }
    download_f64(s, Hh, s->hacc + (size_t)h * (size_t)(c1 * c1), (size_t)(c1 * c1));
    mirror(Hh, c1);
  }
}

/* ---- scoring: rows in blocks, probabilities back through pinned memory ---- */

/* Rows per block when each row takes `row` bytes going up and k floats coming down. */
static int64_t rows_per_block(cuda_t *s, size_t row, int k) {
  size_t per = block_budget(s) / (row + sizeof(float) * (size_t)k);
  return per > 0 ? (int64_t)per : 1;
}

/* Probabilities of block rows [r0, r0 + m) in s->pb ([k][m]) into P ([k][n]). */
static void download_probs(cuda_t *s, int k, int64_t m, int64_t r0, int64_t n, float *P) {
  size_t bytes = sizeof(float) * (size_t)k * (size_t)m;
  pin_grow((void **)&s->pin_p, &s->pin_p_bytes, bytes);
  CUDA_CHECK(cudaMemcpyAsync(s->pin_p, s->pb, bytes, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  for (int h = 0; h < k; h++)
    memcpy(P + (size_t)h * (size_t)n + (size_t)r0, s->pin_p + (size_t)h * (size_t)m, sizeof(float) * (size_t)m);
}

/* Wait for the scoring piece in `slot` (its copy down, behind its kernel)
 * and put its probabilities into place: the slot's buffers are free after. */
static void retire_scores(cuda_t *s, int slot) {
  if (!s->ppend[slot]) return;
  CUDA_CHECK(cudaEventSynchronize(s->pdone[slot]));
  int64_t m = s->pm[slot];
  for (int h = 0; h < s->pk; h++)
    memcpy(s->pP + (size_t)h * (size_t)s->pn + (size_t)s->pr0[slot], s->pin_sp[slot] + (size_t)h * (size_t)m,
           sizeof(float) * (size_t)m);
  s->ppend[slot] = 0;
}

/* Scoring piece i = s->ppieces, rows [r0, r0 + m) of X (w floats a row):
 * raw rows through the model's transform (t != NULL, on the device already)
 * or standardized rows in the storage type (bf16: the rounding training
 * saw). Staged once the slot's previous piece is retired, copied up on the
 * copy stream, scored and copied down on the compute stream; returns
 * without waiting, so piece i's staging and copy overlap piece i - 1's
 * kernel. A row's score does not depend on the pieces. */
static void score_piece(cuda_t *s, const ps_transform_t *t, const float *X, int64_t w, int64_t r0, int64_t m) {
  int slot = (int)(s->ppieces % 2), k = s->pk;
  size_t cells = (size_t)m * (size_t)w, xb = cells * (t ? sizeof(float) : s->esz);
  size_t pb = sizeof(float) * (size_t)k * (size_t)m;
  retire_scores(s, slot);
  dev_grow(&s->sx[slot], &s->sx_bytes[slot], xb, "a block of rows");
  dev_grow((void **)&s->sp[slot], &s->sp_bytes[slot], pb, "a block of probabilities");
  pin_grow(&s->pin_sx[slot], &s->pin_sx_bytes[slot], xb);
  pin_grow((void **)&s->pin_sp[slot], &s->pin_sp_bytes[slot], pb);
  nvtxRangePushA("stage and copy rows to GPU");
  const float *x = X + (size_t)r0 * (size_t)w;
  if (!t && s->xtype == PS_X_BF16) {
    uint16_t *p = s->pin_sx[slot];
    for (size_t i = 0; i < cells; i++) p[i] = ps_float_to_bf16(x[i]);
  } else {
    memcpy(s->pin_sx[slot], x, xb);
  }
  CUDA_CHECK(cudaMemcpyAsync(s->sx[slot], s->pin_sx[slot], xb, cudaMemcpyHostToDevice, s->cs));
  CUDA_CHECK(cudaEventRecord(s->pup[slot], s->cs));
  nvtxRangePop();
  CUDA_CHECK(cudaStreamWaitEvent(s->s, s->pup[slot], 0)); /* the kernel reads what the copy stream wrote */
  if (t)
    ps_score_raw(s->sx[slot], m, (int)t->f, (int)t->c, k, s->src, s->kind, s->mean, s->scale, s->theta, s->sp[slot],
                 s->s);
  else
    ps_score_std(s->sx[slot], s->xtype, m, (int)w, k, s->theta, s->sp[slot], s->s);
  CUDA_CHECK(cudaMemcpyAsync(s->pin_sp[slot], s->sp[slot], pb, cudaMemcpyDeviceToHost, s->s));
  CUDA_CHECK(cudaEventRecord(s->pdone[slot], s->s));
  s->pr0[slot] = r0;
  s->pm[slot] = m;
  s->ppend[slot] = 1;
  s->ppieces++;
}

/* Probabilities P ([k][n]) of n rows of X (w floats a row), in pieces of
 * at most half the block budget (two are on the device at once). */
static void score_rows(cuda_t *s, const ps_transform_t *t, const float *X, int64_t n, int64_t w, int k, float *P) {
  s->pP = P;
  s->pn = n;
  s->pk = k;
  s->ppieces = 0;
  int64_t per = rows_per_block(s, (t ? sizeof(float) : s->esz) * (size_t)w, k) / 2;
  if (per < 1) per = 1;
  for (int64_t r0 = 0; r0 < n; r0 += per) score_piece(s, t, X, w, r0, n - r0 < per ? n - r0 : per);
  retire_scores(s, (int)(s->ppieces % 2)); /* the older piece first */
  retire_scores(s, (int)((s->ppieces + 1) % 2));
}

static void cuda_predict_std(ps_backend_t *b, const double *theta, int k, const float *X, int64_t n, int64_t c,
                             float *P) {
  cuda_t *s = b->impl;
  if (n == 0) return;
  nvtxRangePushA("score");
  put_theta(s, theta, k, c);
  score_rows(s, NULL, X, n, c, k, P);
  nvtxRangePop();
}

/* The resident training rows, already on the device: nothing goes up again. */
static void cuda_predict_train(ps_backend_t *b, const double *theta, float *P) {
  cuda_t *s = b->impl;
  int k = s->k;
  int64_t n = s->n, c = s->c;
  if (n == 0) return;
  nvtxRangePushA("score training rows");
  put_theta(s, theta, k, c);
  int64_t per = rows_per_block(s, 0, k);
  for (int64_t r0 = 0; r0 < n; r0 += per) {
    int64_t m = n - r0 < per ? n - r0 : per;
    dev_grow((void **)&s->pb, &s->pb_bytes, sizeof(float) * (size_t)k * (size_t)m, "a block of probabilities");
    ps_score_std((const char *)s->X + s->esz * (size_t)r0 * (size_t)c, s->xtype, m, (int)c, k, s->theta, s->pb, s->s);
    download_probs(s, k, m, r0, n, P);
  }
  nvtxRangePop();
}

/* The model's transform on the device, uploaded when it differs (by value)
 * from what is there. */
static void put_transform(cuda_t *s, const ps_transform_t *t) {
  int64_t c = t->c;
  size_t ns = sizeof(int64_t) * (size_t)c, nk = (size_t)c, nd = sizeof(double) * (size_t)c;
  char *h = ps_malloc(ns + nk + 2 * nd + 1);
  memcpy(h, t->src, ns);
  memcpy(h + ns, t->kind, nk);
  memcpy(h + ns + nk, t->mean, nd);
  memcpy(h + ns + nk + nd, t->scale, nd);
  if (s->tf_host && s->tf_c == c && s->tf_f == t->f && !memcmp(s->tf_host, h, ns + nk + 2 * nd)) {
    free(h);
    return;
  }
  dev_grow((void **)&s->src, &s->src_bytes, ns, "the model's transform");
  dev_grow((void **)&s->kind, &s->kind_bytes, nk, "the model's transform");
  dev_grow((void **)&s->mean, &s->mean_bytes, nd, "the model's transform");
  dev_grow((void **)&s->scale, &s->scale_bytes, nd, "the model's transform");
  upload(s, s->src, h, ns);
  upload(s, s->kind, h + ns, nk);
  upload(s, s->mean, h + ns + nk, nd);
  upload(s, s->scale, h + ns + nk + nd, nd);
  free(s->tf_host);
  s->tf_host = h;
  s->tf_c = c;
  s->tf_f = t->f;
}

static void cuda_predict_raw(ps_backend_t *b, const ps_transform_t *t, const double *theta, int k, const float *X,
                             int64_t n, float *P) {
  cuda_t *s = b->impl;
  if (n == 0) return;
  nvtxRangePushA("score");
  put_transform(s, t);
  put_theta(s, theta, k, t->c);
  score_rows(s, t, X, n, t->f, k, P);
  nvtxRangePop();
}

static void cuda_destroy(ps_backend_t *b) {
  cuda_t *s = b->impl;
  CUDA_CHECK(cudaStreamSynchronize(s->s));
  CUDA_CHECK(cudaStreamSynchronize(s->cs));
  void *dev[] = {s->X,  s->Y,  s->theta, s->w_pos, s->w_neg, s->out,  s->scratch, s->work,  s->H,
                 s->pb, s->hacc,  s->src,   s->kind,  s->mean, s->scale,   s->sx[0], s->sx[1], s->sy[0],
                 s->sy[1], s->sp[0], s->sp[1]};
  for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
    if (dev[i]) CUDA_CHECK(cudaFree(dev[i]));
  void *pinned[] = {s->pin_x,     s->pin_p,     s->pin_r,     s->pin_sx[0], s->pin_sx[1], s->pin_sy[0],
                    s->pin_sy[1], s->pin_sr[0], s->pin_sr[1], s->pin_sp[0], s->pin_sp[1]};
  for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++)
    if (pinned[i]) CUDA_CHECK(cudaFreeHost(pinned[i]));
  CUBLAS_CHECK(cublasDestroy(s->blas));
  for (int i = 0; i < 2; i++) {
    CUDA_CHECK(cudaEventDestroy(s->up[i]));
    CUDA_CHECK(cudaEventDestroy(s->done[i]));
    CUDA_CHECK(cudaEventDestroy(s->pup[i]));
    CUDA_CHECK(cudaEventDestroy(s->pdone[i]));
  }
  CUDA_CHECK(cudaStreamDestroy(s->cs));
  CUDA_CHECK(cudaStreamDestroy(s->s));
  free(s->acc);
  free(s->tf_host);
  free(s);
  free(b);
}

int backend_cuda_devices(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError(); /* no device is an answer, not an error to carry */
    return 0;
  }
  return n;
}

/* The kernels score and train any number of heads (scoring goes through
 * groups of PS_KMAX heads, the gradient through cuBLAS above PS_KMAX). */
int backend_cuda_max_heads(void) { return 0; }

ps_backend_t *backend_cuda_create(int xtype) {
  /* the node's ranks spread over its GPUs; ranks on one GPU share its memory */
  const device_place_t *pl = device_place();
  if (pl->device < 0) ps_die_local("--device cuda: no CUDA device visible to rank %d", ps_rank);
  int share = pl->share;
  cuda_t *s = ps_calloc(1, sizeof *s);
  s->device = pl->device;
  CUDA_CHECK(cudaSetDevice(s->device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&s->s, cudaStreamNonBlocking));
  CUDA_CHECK(cudaStreamCreateWithFlags(&s->cs, cudaStreamNonBlocking)); /* copies up, beside the kernels */
  for (int i = 0; i < 2; i++) {
    CUDA_CHECK(cudaEventCreateWithFlags(&s->up[i], cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&s->done[i], cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&s->pup[i], cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&s->pdone[i], cudaEventDisableTiming));
  }
  CUBLAS_CHECK(cublasCreate(&s->blas));
  /* deterministic cuBLAS: no atomics-based reductions */
  CUBLAS_CHECK(cublasSetAtomicsMode(s->blas, CUBLAS_ATOMICS_NOT_ALLOWED));
  s->xtype = xtype;
  s->esz = xtype == PS_X_BF16 ? 2 : 4;
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  /* a block of rows going up: an eighth of this rank's share, 1 MiB .. 256 MiB */
  s->block_bytes = free_b / 8 / (size_t)share;
  if (s->block_bytes > ((size_t)256 << 20)) s->block_bytes = (size_t)256 << 20;
  if (s->block_bytes < ((size_t)1 << 20)) s->block_bytes = (size_t)1 << 20;
  ps_backend_t *b = ps_calloc(1, sizeof *b);
  b->name = "cuda";
  b->impl = s;
  b->device_memory = (int64_t)(0.8 * (double)free_b / share);
  b->set_train = cuda_set_train;
  b->eval = cuda_eval;
  b->eval_begin = cuda_eval_begin;
  b->eval_rows = cuda_eval_rows;
  b->eval_end = cuda_eval_end;
  b->predict_train = cuda_predict_train;
  b->predict_std = cuda_predict_std;
  b->predict_raw = cuda_predict_raw;
  b->destroy = cuda_destroy;
  /* NCCL for the float64 sums only when every rank of the job has a GPU of
   * its own: every rank says whether it has (collective, allreduce-min), so
   * mixed nodes fall back to MPI together instead of hanging */
  comm_use_device(share == 1 ? s->device : -1);
  device_report("logreg", pl, b->device_memory, comm_nccl_active());
  return b;
}
