/* comm.h: the collective interface the rest of the program sees (ps_rank and
 * ps_size in util.h, deterministic sums, broadcast, gathers). Only comm_*.c touch MPI/NCCL.
 * Every sum is computed in rank order, so all ranks get bitwise-identical
 * results and the same P always gives the same bits. */
#ifndef PS_COMM_H
#define PS_COMM_H
#include <stddef.h>
#include <stdint.h>

void comm_init(int *argc, char ***argv); /* sets ps_rank / ps_size */
void comm_finalize(void);
void comm_barrier(void);

/* In-place sum over ranks, float64, identical bits on every rank. Messages
 * are split into chunks, so n may exceed 2^31. */
void comm_allreduce_sum_f64(double *buf, size_t n);
void comm_allreduce_sum_i64(int64_t *buf, size_t n);
void comm_allreduce_max_f64(double *buf, size_t n);
void comm_bcast(void *buf, size_t bytes, int root);
/* Every rank contributes `bytes` bytes; out holds size*bytes, rank order. */
void comm_allgather(const void *in, void *out, size_t bytes);
/* Variable-size gather of bytes to rank 0; returns a malloc'd buffer there
 * (NULL elsewhere), the total size and, if sizes != NULL, each rank's size
 * (sizes[P], filled on every rank). */
void *comm_gatherv_bytes(const void *in, size_t bytes, size_t *total, size_t *sizes);
/* Ranks on this node (MPI_Comm_split_type shared memory): GPU choice. */
int comm_local_rank(void);
int comm_local_size(void);
/* CUDA builds: move the float64 sums to NCCL on this GPU (comm_nccl.c) when
 * every rank of the node has its own GPU; otherwise MPI stays (host-staged). */
void comm_use_device(int device);
int comm_nccl_active(void);
void comm_nccl_allreduce_sum_f64(double *buf, size_t n);
#endif
