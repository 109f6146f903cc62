/* comm_nccl.c: the NCCL transport of the float64 sums (CUDA builds; see
 * nccl.h). The communicator comes from MPI (rank 0's unique id,
 * broadcast). A sum is an ncclAllGather of every rank's vector plus a
 * kernel that adds them in rank order (kernels/common/sum_parts.cu), so it
 * gives the same bits as the MPI path, on every rank. The result comes back
 * through pinned memory, so the wait below polls: NCCL's asynchronous error
 * or a timeout (PROPSCORE_NCCL_TIMEOUT seconds, default 600) aborts the job
 * instead of hanging when a peer is gone. */
#define _POSIX_C_SOURCE 200809L
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>
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
static int active;
static cudaStream_t stream;
static double *dsend, *drecv, *dsum, *host; /* host: pinned */
static size_t cap;                           /* elements of dsend / dsum / host */

int nccl_active(void) { return active; }

void nccl_setup(int device) {
  if (active) return;
  ncclUniqueId id;
  memset(&id, 0, sizeof id);
  if (ps_rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
  if (MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
    ps_die_local("NCCL setup: MPI_Bcast of the unique id failed");
  CUDA_CHECK(cudaSetDevice(device));
  NCCL_CHECK(ncclCommInitRank(&nccl, ps_size, id, ps_rank));
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  active = 1;
  ps_log("comm: NCCL over %d ranks, one GPU each", ps_size);
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
  active = 0;
  release();
  NCCL_CHECK(ncclCommDestroy(nccl));
  CUDA_CHECK(cudaStreamDestroy(stream));
}

static void wait_polling(const char *what) {
  const char *env = getenv("PROPSCORE_NCCL_TIMEOUT");
  double limit = env ? atof(env) : 600.0, t0 = ps_now();
  struct timespec nap = {0, 50000};
  for (;;) {
    cudaError_t e = cudaStreamQuery(stream);
    if (e == cudaSuccess) return;
    if (e != cudaErrorNotReady) ps_die_local("NCCL %s: CUDA error %s", what, cudaGetErrorString(e));
    ncclResult_t r = ncclSuccess;
    NCCL_CHECK(ncclCommGetAsyncError(nccl, &r));
    if (r != ncclSuccess && r != ncclInProgress) {
      ncclCommAbort(nccl);
      ps_die_local("NCCL %s failed: %s", what, ncclGetErrorString(r));
    }
    if (ps_now() - t0 > limit) {
      ncclCommAbort(nccl);
      ps_die_local("NCCL %s: no progress in %.0f s (a rank is gone?); aborting the job", what, limit);
    }
    nanosleep(&nap, NULL);
  }
}

void nccl_allreduce_sum_f64(double *buf, size_t n) {
  if (n == 0) return;
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
  NCCL_CHECK(ncclAllGather(dsend, drecv, n, ncclDouble, nccl, stream));
  ps_sum_parts(drecv, ps_size, n, dsum, stream);
  CUDA_CHECK(cudaMemcpyAsync(host, dsum, n * sizeof(double), cudaMemcpyDeviceToHost, stream));
  wait_polling("allreduce");
  memcpy(buf, host, n * sizeof(double));
}
