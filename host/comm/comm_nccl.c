/* comm_nccl.c: the NCCL transport of the float64 sums (CUDA builds; see
 * nccl.h). The communicator comes from MPI (rank 0's unique id,
 * broadcast). A sum is an ncclAllGather of every rank's vector plus a
 * kernel that adds them in rank order (kernels/common/sum_parts.cu), so it
 * gives the same bits as the MPI path, on every rank. The result comes back
 * through pinned memory, so the wait below polls: NCCL's asynchronous error
 * or a timeout (PROPSCORE_NCCL_TIMEOUT seconds, default 600) aborts the job
 * instead of hanging when a peer is gone. The set-up and a first sum may
 * fail instead (comm_mpi.c agrees on that and keeps MPI). Integer sums (maxima) of
 * device buffers (the trees' histograms) are one ncclAllReduce in place. */
#define _POSIX_C_SOURCE 200809L
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comm/comm.h"
#include "comm/nccl.h"
#include "common/cuda_check.h"
#include "common/sum_parts.h"
#include "core/util.h"

#define NCCL_CHECK(x)                                                                           \
  do {                                                                                          \
    ncclResult_t e_ = (x);                                                                      \
    if (e_ != ncclSuccess && e_ != ncclInProgress)                                              \
      ps_die_local("NCCL call %s failed: %s [%s:%d]", #x, ncclGetErrorString(e_), __FILE__, __LINE__); \
  } while (0)

static ncclComm_t nccl;
static int active, have_comm;
static cudaStream_t stream;
static double *dsend, *drecv, *dsum, *host; /* host: pinned */
static size_t cap;                           /* elements of dsend / dsum / host */

int nccl_active(void) { return active; }

int nccl_setup(int device, char *why, size_t n) {
  struct {
    ncclUniqueId id;
    int ok;
  } root;
  memset(&root, 0, sizeof root);
  root.ok = ps_rank != 0 || ncclGetUniqueId(&root.id) == ncclSuccess;
  if (MPI_Bcast(&root, sizeof root, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
    ps_die_local("NCCL setup: MPI_Bcast of the unique id failed");
  if (!root.ok) {
    snprintf(why, n, "rank 0: ncclGetUniqueId failed");
    return -1;
  }
  CUDA_CHECK(cudaSetDevice(device));
  ncclResult_t r = ncclCommInitRank(&nccl, ps_size, root.id, ps_rank);
  if (r != ncclSuccess) {
    snprintf(why, n, "rank %d: ncclCommInitRank: %s", ps_rank, ncclGetErrorString(r));
    return -1;
  }
  have_comm = 1;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return 0;
}

static int sum_into(double *buf, size_t n, char *why, size_t wn);

int nccl_warmup(char *why, size_t n) {
  double one = 1.0;
  active = 1;
  if (sum_into(&one, 1, why, n) != 0 || one != (double)ps_size) {
    if (!why[0]) snprintf(why, n, "rank %d: the first NCCL sum gave %g, not %d", ps_rank, one, ps_size);
    active = 0;
    return -1;
  }
  ps_log("comm: NCCL over %d ranks, one GPU each", ps_size);
  return 0;
}

static void release(void) {
  if (dsend) CUDA_CHECK(cudaFree(dsend));
  if (drecv) CUDA_CHECK(cudaFree(drecv));
  if (dsum) CUDA_CHECK(cudaFree(dsum));
  if (host) CUDA_CHECK(cudaFreeHost(host));
  dsend = drecv = dsum = host = NULL;
  cap = 0;
}

void nccl_shutdown(void) {
  if (!active) return;
  active = have_comm = 0;
  release();
  NCCL_CHECK(ncclCommDestroy(nccl));
  CUDA_CHECK(cudaStreamDestroy(stream));
}

void nccl_abandon(void) {
  if (!have_comm) return;
  active = have_comm = 0;
  ncclCommAbort(nccl); /* its own error, if any, is moot: the sums go over MPI */
  release();
  CUDA_CHECK(cudaStreamDestroy(stream));
}

/* 0 when the stream's work is done; -1 and why on NCCL's asynchronous error
 * or no progress in PROPSCORE_NCCL_TIMEOUT seconds (default 600: a peer is
 * gone); the caller then aborts the communicator, so nothing hangs. */
static int wait_polling(cudaStream_t on, const char *what, char *why, size_t n) {
  const char *env = getenv("PROPSCORE_NCCL_TIMEOUT");
  double limit = env ? atof(env) : 600.0, t0 = ps_now();
  struct timespec nap = {0, 50000};
  for (;;) {
    cudaError_t e = cudaStreamQuery(on);
    if (e == cudaSuccess) return 0;
    if (e != cudaErrorNotReady) ps_die_local("NCCL %s: CUDA error %s", what, cudaGetErrorString(e));
    ncclResult_t r = ncclSuccess;
    NCCL_CHECK(ncclCommGetAsyncError(nccl, &r));
    if (r != ncclSuccess && r != ncclInProgress) {
      snprintf(why, n, "rank %d: NCCL %s failed: %s", ps_rank, what, ncclGetErrorString(r));
      return -1;
    }
    if (ps_now() - t0 > limit) {
      snprintf(why, n, "rank %d: NCCL %s: no progress in %.0f s (a rank is gone?)", ps_rank, what, limit);
      return -1;
    }
    nanosleep(&nap, NULL);
  }
}

/* The rank-order sum of buf over the ranks, through NCCL: 0, or -1 and why. */
static int sum_into(double *buf, size_t n, char *why, size_t wn) {
  if (n > cap) {
    release();
    CUDA_CHECK(cudaMalloc((void **)&dsend, n * sizeof(double)));
    CUDA_CHECK(cudaMalloc((void **)&drecv, n * (size_t)ps_size * sizeof(double)));
    CUDA_CHECK(cudaMalloc((void **)&dsum, n * sizeof(double)));
    CUDA_CHECK(cudaMallocHost((void **)&host, n * sizeof(double)));
    cap = n;
  }
  memcpy(host, buf, n * sizeof(double));
  CUDA_CHECK(cudaMemcpyAsync(dsend, host, n * sizeof(double), cudaMemcpyHostToDevice, stream));
  ncclResult_t r = ncclAllGather(dsend, drecv, n, ncclDouble, nccl, stream);
  if (r != ncclSuccess && r != ncclInProgress) {
    snprintf(why, wn, "rank %d: ncclAllGather failed: %s", ps_rank, ncclGetErrorString(r));
    return -1;
  }
  ps_sum_parts(drecv, ps_size, n, dsum, stream);
  CUDA_CHECK(cudaMemcpyAsync(host, dsum, n * sizeof(double), cudaMemcpyDeviceToHost, stream));
  if (wait_polling(stream, "allreduce", why, wn) != 0) return -1;
  memcpy(buf, host, n * sizeof(double));
  return 0;
}

void nccl_allreduce_sum_f64(double *buf, size_t n) {
  if (n == 0) return;
  char why[512];
  if (sum_into(buf, n, why, sizeof why) != 0) {
    ncclCommAbort(nccl);
    ps_die_local("%s; aborting the job", why);
  }
}

/* The int64 sums of a device buffer in place (exact: any order gives the
 * same integers), on the caller's stream, so the histogram kernel before
 * it and the subtraction and split search after it need no host round
 * trip; polled like the float64 sums. */
static void allreduce_i64_device(int64_t *d, size_t n, void *on, ncclRedOp_t op) {
  if (n == 0) return;
  char why[512] = "";
  ncclResult_t r = ncclAllReduce(d, d, n, ncclInt64, op, nccl, (cudaStream_t)on);
  if (r != ncclSuccess && r != ncclInProgress)
    snprintf(why, sizeof why, "rank %d: ncclAllReduce failed: %s", ps_rank, ncclGetErrorString(r));
  if (why[0] || wait_polling((cudaStream_t)on, "allreduce (int64)", why, sizeof why) != 0) {
    ncclCommAbort(nccl);
    ps_die_local("%s; aborting the job", why);
  }
}
void nccl_allreduce_sum_i64_device(int64_t *d, size_t n, void *on) { allreduce_i64_device(d, n, on, ncclSum); }
/* The trees' gradient maxima (the quantization's steps): max is exact too. */
void nccl_allreduce_max_i64_device(int64_t *d, size_t n, void *on) { allreduce_i64_device(d, n, on, ncclMax); }
