/* nccl.cc: the NCCL calls propscore makes, on the emulated device, over
 * MPI: a communicator is a duplicate of MPI_COMM_WORLD (its ranks must be
 * the world's, and every rank must pass the same unique id, which is
 * checked; PROPSCORE_CUDASIM_NCCL_FAIL makes the set-up fail on chosen
 * ranks); ncclAllGather (ncclAllReduce: integer sums, maxima) is queued on its
 * stream like any device operation and runs as MPI_Allgather
 * (MPI_Allreduce) when the stream is synchronized -- the ranks meet in
 * stream order, as NCCL's kernels do. */
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "nccl.h"

struct ncclComm {
  MPI_Comm comm;
  int rank, size;
  bool aborted;
};

namespace cudasim {
namespace {
size_t type_size(ncclDataType_t t) {
  switch (t) {
    case ncclInt8: case ncclUint8: return 1;
    case ncclFloat16: return 2;
    case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
    case ncclInt64: case ncclUint64: case ncclFloat64: return 8;
  }
  return 0;
}
/* PROPSCORE_CUDASIM_NCCL_FAIL: the world ranks whose ncclCommInitRank fails
 * (a comma-separated list, or `all`), as NCCL's does on a container's small
 * /dev/shm; it fails after the ranks have met, so no rank hangs. */
bool init_fails(int rank) {
  const char *f = getenv("PROPSCORE_CUDASIM_NCCL_FAIL");
  if (!f || !*f) return false;
  if (!strcmp(f, "all")) return true;
  for (const char *p = f; *p;) {
    char *end;
    long r = strtol(p, &end, 10);
    if (end == p) die("PROPSCORE_CUDASIM_NCCL_FAIL=%s: expected `all` or a list of ranks such as 1,3", f);
    if (r == rank) return true;
    p = *end == ',' ? end + 1 : end;
  }
  return false;
}
bool mpi_up() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}
} // namespace
} // namespace cudasim

using namespace cudasim;

extern "C" {

const char *ncclGetErrorString(ncclResult_t r) {
  switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error";
    case ncclSystemError: return "unhandled system error";
    case ncclInternalError: return "internal error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
  }
  return "unknown result code";
}

ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  if (!id) return ncclInvalidArgument;
  memset(id, 0, sizeof *id);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(id->internal, sizeof id->internal, "cudasim-nccl-%ld-%ld-%ld", (long)getpid(), (long)ts.tv_sec, (long)ts.tv_nsec);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank) {
  if (!comm) return ncclInvalidArgument;
  if (!mpi_up()) {
    note("ncclCommInitRank: the emulated NCCL runs over MPI, which is not initialized");
    return ncclInvalidUsage;
  }
  int wr, ws;
  MPI_Comm_rank(MPI_COMM_WORLD, &wr);
  MPI_Comm_size(MPI_COMM_WORLD, &ws);
  if (nranks != ws || rank != wr) {
    note("ncclCommInitRank(nranks=%d, rank=%d): the emulated NCCL needs the MPI world's ranks (size %d, rank %d)", nranks,
         rank, ws, wr);
    return ncclInvalidUsage;
  }
  std::vector<char> all((size_t)ws * sizeof id);
  MPI_Allgather(&id, (int)sizeof id, MPI_BYTE, all.data(), (int)sizeof id, MPI_BYTE, MPI_COMM_WORLD);
  for (int r = 0; r < ws; r++)
    if (memcmp(all.data() + (size_t)r * sizeof id, &id, sizeof id) != 0) {
      note("ncclCommInitRank: rank %d passed another unique id than rank %d (was rank 0's id broadcast?)", r, wr);
      return ncclInvalidArgument;
    }
  ncclComm *c = new ncclComm{MPI_COMM_NULL, rank, nranks, false};
  if (MPI_Comm_dup(MPI_COMM_WORLD, &c->comm) != MPI_SUCCESS) {
    delete c;
    return ncclSystemError;
  }
  if (init_fails(wr)) { /* after the collective steps: the other ranks' set-up completes */
    note("ncclCommInitRank on rank %d: failing as PROPSCORE_CUDASIM_NCCL_FAIL asks", wr);
    MPI_Comm_free(&c->comm);
    delete c;
    return ncclSystemError;
  }
  *comm = c;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclInvalidArgument;
  cudaDeviceSynchronize(); /* its queued collectives complete first */
  if (mpi_up() && comm->comm != MPI_COMM_NULL) MPI_Comm_free(&comm->comm);
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (!comm) return ncclInvalidArgument;
  comm->aborted = true;
  return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *async_error) {
  if (!comm || !async_error) return ncclInvalidArgument;
  *async_error = comm->aborted ? ncclRemoteError : ncclSuccess;
  return ncclSuccess;
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int *count) {
  if (!comm || !count) return ncclInvalidArgument;
  *count = comm->size;
  return ncclSuccess;
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int *rank) {
  if (!comm || !rank) return ncclInvalidArgument;
  *rank = comm->rank;
  return ncclSuccess;
}

ncclResult_t cudasim_ncclAllGather(const char *file, int line, const void *send, void *recv, size_t count,
                                   ncclDataType_t type, ncclComm_t comm, cudaStream_t stream) {
  if (!comm || comm->aborted) return ncclInvalidArgument;
  size_t es = type_size(type);
  if (!es) return ncclInvalidArgument;
  size_t bytes = count * es;
  if (bytes > (size_t)0x7fffffff) {
    note("ncclAllGather at %s: %zu bytes per rank; the emulation sends at most 2^31-1", site(file, line).c_str(), bytes);
    return ncclInvalidUsage;
  }
  if (bytes == 0) return ncclSuccess;
  bool in_place = (const char *)send == (const char *)recv + (size_t)comm->rank * bytes;
  std::vector<rt::Use> uses{rt::Use{recv, bytes * (size_t)comm->size, true, "recvbuff"}};
  if (!in_place) uses.push_back(rt::Use{send, bytes, false, "sendbuff"});
  MPI_Comm c = comm->comm;
  cudaError_t e = rt::enqueue(stream, strf("ncclAllGather (%zu bytes a rank)", bytes), file, line, uses, [=] {
    if (MPI_Allgather(in_place ? MPI_IN_PLACE : send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, c) != MPI_SUCCESS)
      die("ncclAllGather (queued at %s): MPI_Allgather failed", site(file, line).c_str());
  });
  return e == cudaSuccess ? ncclSuccess : ncclInvalidArgument;
}

ncclResult_t cudasim_ncclAllReduce(const char *file, int line, const void *send, void *recv, size_t count,
                                   ncclDataType_t type, ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  if (!comm || comm->aborted) return ncclInvalidArgument;
  MPI_Datatype mt = type == ncclInt64 ? MPI_INT64_T : type == ncclInt32 ? MPI_INT32_T : MPI_DATATYPE_NULL;
  if (mt == MPI_DATATYPE_NULL || (op != ncclSum && op != ncclMax)) {
    note("ncclAllReduce at %s: the emulation sums / maxes ncclInt32 / ncclInt64 only", site(file, line).c_str());
    return ncclInvalidUsage;
  }
  size_t bytes = count * type_size(type);
  if (count > (size_t)0x7fffffff) {
    note("ncclAllReduce at %s: %zu values; the emulation sends at most 2^31-1", site(file, line).c_str(), count);
    return ncclInvalidUsage;
  }
  if (bytes == 0) return ncclSuccess;
  trace("ncclAllReduce %s %zu %s", op == ncclMax ? "max" : "sum", count, site(file, line).c_str());
  bool in_place = send == recv;
  std::vector<rt::Use> uses{rt::Use{recv, bytes, true, "recvbuff"}};
  if (!in_place) uses.push_back(rt::Use{send, bytes, false, "sendbuff"});
  MPI_Comm c = comm->comm;
  cudaError_t e = rt::enqueue(stream, strf("ncclAllReduce (%zu bytes)", bytes), file, line, uses, [=] {
    if (MPI_Allreduce(in_place ? MPI_IN_PLACE : send, recv, (int)count, mt, op == ncclMax ? MPI_MAX : MPI_SUM, c) !=
        MPI_SUCCESS)
      die("ncclAllReduce (queued at %s): MPI_Allreduce failed", site(file, line).c_str());
  });
  return e == cudaSuccess ? ncclSuccess : ncclInvalidArgument;
}

} // extern "C"
