/* comm_mpi.c: the MPI backend of comm.h. Sums are done by gathering every
 * rank's chunk and adding in rank order (deterministic and identical on all
 * ranks, unlike MPI_Allreduce whose order is unspecified). */
#include "comm.h"

#include <mpi.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define CHUNK ((size_t)1 << 20) /* elements per message: far below 2^31 */

static int local_rank = 0, local_size = 1;
int comm_local_rank(void) { return local_rank; }
int comm_local_size(void) { return local_size; }

void comm_init(int *argc, char ***argv) {
  /* SERIALIZED: the block reader thread does MPI-IO while the main thread
   * computes; the two never call MPI at the same time */
  int provided = 0;
  MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  if (provided < MPI_THREAD_SERIALIZED) {
    fprintf(stderr, "propscore: error: this MPI provides thread level %d; MPI_THREAD_SERIALIZED is needed\n", provided);
    MPI_Abort(MPI_COMM_WORLD, PS_EXIT_ERROR);
  }
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &ps_rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &ps_size));
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm node;
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, ps_rank, MPI_INFO_NULL, &node));
  MPI_CHECK(MPI_Comm_rank(node, &local_rank));
  MPI_CHECK(MPI_Comm_size(node, &local_size));
  MPI_Comm_free(&node);
}
void comm_finalize(void) { MPI_Finalize(); }
void comm_barrier(void) { MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

void comm_allreduce_sum_f64(double *buf, size_t n) {
  if (ps_size == 1) return;
#ifdef PROPSCORE_HAVE_CUDA
  if (comm_nccl_active()) { /* same order of addition, same bits */
    comm_nccl_allreduce_sum_f64(buf, n);
    return;
  }
#endif
  size_t c = n < CHUNK ? n : CHUNK;
  double *all = ps_malloc(c * (size_t)ps_size * sizeof(double));
  for (size_t off = 0; off < n; off += CHUNK) {
    size_t m = n - off < CHUNK ? n - off : CHUNK;
    MPI_CHECK(MPI_Allgather(buf + off, (int)m, MPI_DOUBLE, all, (int)m, MPI_DOUBLE, MPI_COMM_WORLD));
    for (size_t i = 0; i < m; i++) {
      double s = 0.0;
      for (int r = 0; r < ps_size; r++) s += all[(size_t)r * m + i];
      buf[off + i] = s;
    }
  }
  free(all);
}

static void allreduce_op(void *buf, size_t n, MPI_Datatype t, size_t esz, MPI_Op op) {
  if (ps_size == 1) return;
  for (size_t off = 0; off < n; off += CHUNK) {
    size_t m = n - off < CHUNK ? n - off : CHUNK;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * esz, (int)m, t, op, MPI_COMM_WORLD));
  }
}
/* Integer sums and the max are exact in any order. */
void comm_allreduce_sum_i64(int64_t *buf, size_t n) { allreduce_op(buf, n, MPI_INT64_T, 8, MPI_SUM); }
void comm_allreduce_max_f64(double *buf, size_t n) { allreduce_op(buf, n, MPI_DOUBLE, 8, MPI_MAX); }

void comm_bcast(void *buf, size_t bytes, int root) {
  if (ps_size == 1) return;
  size_t cb = CHUNK * 64;
  for (size_t off = 0; off < bytes; off += cb) {
    size_t m = bytes - off < cb ? bytes - off : cb;
    MPI_CHECK(MPI_Bcast((char *)buf + off, (int)m, MPI_BYTE, root, MPI_COMM_WORLD));
  }
}

void comm_allgather(const void *in, void *out, size_t bytes) {
  if (ps_size == 1) { memcpy(out, in, bytes); return; }
  MPI_CHECK(MPI_Allgather(in, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE, MPI_COMM_WORLD));
}

void *comm_gatherv_bytes(const void *in, size_t bytes, size_t *total, size_t *out_sizes) {
  int64_t mine = (int64_t)bytes;
  int64_t *sizes = ps_malloc(sizeof(int64_t) * (size_t)ps_size);
  comm_allgather(&mine, sizes, sizeof mine);
  size_t tot = 0;
  for (int r = 0; r < ps_size; r++) tot += (size_t)sizes[r];
  *total = tot;
  if (out_sizes)
    for (int r = 0; r < ps_size; r++) out_sizes[r] = (size_t)sizes[r];
  char *out = NULL;
  if (ps_rank == 0) {
    out = ps_malloc(tot);
    memcpy(out, in, bytes);
  }
  /* Point-to-point in chunks: no 2^31 limit on a rank's contribution. */
  size_t cb = CHUNK * 64, pos = (size_t)sizes[0];
  for (int r = 1; r < ps_size; r++) {
    for (size_t off = 0; off < (size_t)sizes[r]; off += cb) {
      size_t m = (size_t)sizes[r] - off < cb ? (size_t)sizes[r] - off : cb;
      if (ps_rank == r) MPI_CHECK(MPI_Send((const char *)in + off, (int)m, MPI_BYTE, 0, 11, MPI_COMM_WORLD));
      if (ps_rank == 0)
        MPI_CHECK(MPI_Recv(out + pos + off, (int)m, MPI_BYTE, r, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    }
    pos += (size_t)sizes[r];
  }
  free(sizes);
  return out;
}
