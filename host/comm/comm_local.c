/* comm_local.c: the one-rank transport of comm.h, with no MPI at all: unit
 * tests of the models and statistics link it instead of comm_mpi.c (the
 * layers above never know which). Every collective is the identity. */
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"

void comm_init(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  ps_rank = 0;
  ps_size = 1;
}
void comm_finalize(void) {}
void comm_barrier(void) {}
void comm_allreduce_sum_f64(double *buf, size_t n) { (void)buf; (void)n; }
void comm_allreduce_sum_i64(int64_t *buf, size_t n) { (void)buf; (void)n; }
void comm_allreduce_max_i64(int64_t *buf, size_t n) { (void)buf; (void)n; }
void comm_allreduce_min_i64(int64_t *buf, size_t n) { (void)buf; (void)n; }
void comm_allreduce_max_f64(double *buf, size_t n) { (void)buf; (void)n; }
void comm_reduce_scatter_sum_i64(const int64_t *in, int64_t *out, const size_t *counts) {
  if (out != in && counts[0]) memcpy(out, in, counts[0] * sizeof *out);
}
void comm_bcast(void *buf, size_t bytes, int root) { (void)buf; (void)bytes; (void)root; }
void comm_allgather(const void *in, void *out, size_t bytes) { memcpy(out, in, bytes); }
void *comm_gatherv_bytes(const void *in, size_t bytes, size_t *total, size_t *sizes) {
  void *out = ps_malloc(bytes);
  if (bytes) memcpy(out, in, bytes);
  *total = bytes;
  if (sizes) sizes[0] = bytes;
  return out;
}
size_t comm_alltoall_sizes(const size_t *send_sizes, size_t *recv_sizes) { return recv_sizes[0] = send_sizes[0]; }
void comm_alltoallv_bytes_into(const void *in, const size_t *send_sizes, const size_t *recv_sizes, void *out) {
  (void)recv_sizes;
  if (send_sizes[0]) memcpy(out, in, send_sizes[0]);
}
int comm_local_rank(void) { return 0; }
int comm_local_size(void) { return 1; }
void comm_node_allgather(const void *in, void *out, size_t bytes) { memcpy(out, in, bytes); }
void comm_use_device(int device) { (void)device; }
int comm_nccl_active(void) { return 0; }
int comm_allreduce_sum_i64_device(int64_t *dbuf, size_t n, void *stream) { (void)dbuf, (void)n, (void)stream; return 1; }
int comm_allreduce_max_i64_device(int64_t *dbuf, size_t n, void *stream) { (void)dbuf, (void)n, (void)stream; return 1; }
const void *comm_mpi_comm(void) { return NULL; }
