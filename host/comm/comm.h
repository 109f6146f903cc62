/* comm.h: the collective interface the rest of the program sees; ps_rank
 * and ps_size live in core/util.h. Only host/comm/ touches MPI or NCCL.
 * Every floating-point sum is added in rank order, so all ranks get
 * bitwise-identical results and the same P always gives the same bits.
 * Transports: comm_mpi.c (with comm_nccl.c for device sums in CUDA builds)
 * for the program, comm_local.c (one rank, no MPI) for unit tests. */
#ifndef PS_COMM_H
#define PS_COMM_H
#include <stddef.h>
#include <stdint.h>

void comm_init(int *argc, char ***argv); /* sets ps_rank / ps_size; registers the exit hook */
void comm_finalize(void);
void comm_barrier(void);

/* In-place sums over ranks. f64: rank order, identical bits on every rank;
 * messages are split in chunks, so n may exceed 2^31. */
void comm_allreduce_sum_f64(double *buf, size_t n);
void comm_allreduce_sum_i64(int64_t *buf, size_t n);
void comm_allreduce_max_i64(int64_t *buf, size_t n);
void comm_allreduce_min_i64(int64_t *buf, size_t n);
void comm_allreduce_max_f64(double *buf, size_t n);
/* Sums over ranks, scattered (exact: integers): in holds every rank's
 * block, rank r's counts[r] values after those of the ranks before it
 * (counts[P], the same on every rank); out (counts[ps_rank] values) gets
 * the sums of this rank's block. in may equal out on one rank. */
void comm_reduce_scatter_sum_i64(const int64_t *in, int64_t *out, const size_t *counts);
void comm_bcast(void *buf, size_t bytes, int root);
/* Every rank contributes `bytes` bytes; out holds size*bytes, rank order. */
void comm_allgather(const void *in, void *out, size_t bytes);
/* Variable-size gather of bytes to rank 0; returns a malloc'd buffer there
 * (NULL elsewhere), the total size and, if sizes != NULL, each rank's size
 * (sizes[P], filled on every rank). */
void *comm_gatherv_bytes(const void *in, size_t bytes, size_t *total, size_t *sizes);
/* All-to-all of bytes: send_sizes[P] bytes to each rank from `in` (rank
 * order, packed); returns the received bytes (malloc'd, rank order) and
 * fills recv_sizes[P] and *total. (agree.c, from the two calls below.) */
void *comm_alltoallv_bytes(const void *in, const size_t *send_sizes, size_t *recv_sizes, size_t *total);
/* The same in two steps, for callers that receive into memory they keep:
 * the sizes (fills recv_sizes[P], returns their total), then the bytes
 * into out (room for that total). */
size_t comm_alltoall_sizes(const size_t *send_sizes, size_t *recv_sizes);
void comm_alltoallv_bytes_into(const void *in, const size_t *send_sizes, const size_t *recv_sizes, void *out);
/* Ranks on this node (shared memory): GPU choice. */
int comm_local_rank(void);
int comm_local_size(void);
/* The allgather among this node's ranks: out holds comm_local_size()*bytes,
 * in node-rank order (collective over the job: every rank calls it). */
void comm_node_allgather(const void *in, void *out, size_t bytes);

/* Agreement (agree.c, any transport). Collective. */
/* If any rank passes bad != 0, every rank dies (ps_die_all) with the message
 * of the lowest such rank. */
void ps_check_all(int bad, const char *msg);
/* The failure with the lowest key (e.g. a global row; INT64_MAX: none) over
 * all ranks: returns 1 on every rank and copies its message into out (n
 * bytes) if some rank failed, else 0. */
int comm_agree_failure(int64_t key, const char *msg, char *out, size_t n);
/* Did a stop signal reach any rank? Its number (the largest), else 0. */
int comm_agree_stop(void);

/* Devices (CUDA builds): each rank tells which GPU it uses (-1: none, or
 * one it shares with another rank). Collective: float64 sums go through
 * NCCL only if every rank has a GPU of its own and there is more than one
 * rank; otherwise all ranks stay on MPI, so no sum ever mixes transports.
 * If NCCL's set-up fails on any rank, every rank stays on MPI (one warning). */
void comm_use_device(int device);
int comm_nccl_active(void);
/* Exact int64 sums over ranks of a DEVICE buffer, queued on the caller's
 * CUDA stream (a cudaStream_t) and waited for: by ncclAllReduce (ncclInt64,
 * ncclSum: integers, so MPI's bits) when NCCL is active, returning 1; 0
 * when it is not (one rank: nothing to sum, 1): the caller then sums
 * through host memory with comm_allreduce_sum_i64. Collective. */
int comm_allreduce_sum_i64_device(int64_t *dbuf, size_t n, void *stream);
/* The same for the int64 maxima (ncclMax: exact in any order); 0: the
 * caller takes comm_allreduce_max_i64 through host memory. Collective. */
int comm_allreduce_max_i64_device(int64_t *dbuf, size_t n, void *stream);

/* The MPI communicator of the job, as an opaque pointer to an MPI_Comm,
 * for MPI-IO (io/h5.c); NULL when the transport has no MPI. */
const void *comm_mpi_comm(void);
#endif
