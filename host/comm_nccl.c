/* comm_nccl.c: the NCCL transport behind comm.h (CUDA builds). The
 * communicator comes from MPI (rank 0's unique id, broadcast). A float64 sum
 * is an ncclAllGather of every rank's vector plus a kernel that adds them in
 * rank order, so it gives the same bits as the MPI path and on every rank.
 * While waiting, NCCL's asynchronous error is polled; an error or a timeout
 * (PROPSCORE_NCCL_TIMEOUT seconds, default 600) aborts the job instead of
 * hanging. */
#define _POSIX_C_SOURCE 200809L
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>
#include <stdlib.h>
#include <time.h>

#include "comm.h"
#include "cuda_check.h"
#include "ps_kernels.h"
#include "util.h"

static ncclComm_t nccl;
static int active;
static cudaStream_t stream;
static double *dsend, *drecv, *dsum;
static size_t cap; /* elements of dsend / dsum */

int comm_nccl_active(void) { return active; }

void comm_use_device(int device) {
  if (active || ps_size == 1 || getenv("PROPSCORE_NO_NCCL")) return;
  ncclUniqueId id;
  if (ps_rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
  MPI_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD));
  CUDA_CHECK(cudaSetDevice(device));
  NCCL_CHECK(ncclCommInitRank(&nccl, ps_size, id, ps_rank));
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  active = 1;
  ps_log("comm: NCCL over %d ranks, one GPU each", ps_size);
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

void comm_nccl_allreduce_sum_f64(double *buf, size_t n) {
  if (n == 0) return;
  if (n > cap) {
    cudaFree(dsend); cudaFree(drecv); cudaFree(dsum);
    CUDA_CHECK(cudaMalloc((void **)&dsend, n * sizeof(double)));
    CUDA_CHECK(cudaMalloc((void **)&drecv, n * (size_t)ps_size * sizeof(double)));
    CUDA_CHECK(cudaMalloc((void **)&dsum, n * sizeof(double)));
    cap = n;
  }
  CUDA_CHECK(cudaMemcpyAsync(dsend, buf, n * sizeof(double), cudaMemcpyHostToDevice, stream));
  NCCL_CHECK(ncclAllGather(dsend, drecv, n, ncclDouble, nccl, stream));
  ps_sum_parts(drecv, ps_size, n, dsum, stream);
  CUDA_CHECK(cudaMemcpyAsync(buf, dsum, n * sizeof(double), cudaMemcpyDeviceToHost, stream));
  wait_polling("allreduce");
}
