/* comm_mpi.c: the MPI transport of comm.h. Floating-point sums gather every
 * rank's chunk and add in rank order (deterministic and identical on all
 * ranks, unlike MPI_Allreduce whose order is unspecified); with CUDA and a
 * GPU on every rank the sums go through NCCL instead (nccl.h), same order. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "comm/nccl.h"
#include "common/sum_parts.h"
#include "core/util.h"

#define CHUNK ((size_t)1 << 20) /* elements per message: far below 2^31 */

static void mpi_fail(int err, const char *expr, const char *file, int line) {
  char msg[MPI_MAX_ERROR_STRING] = "unknown MPI error";
  int len = 0;
  MPI_Error_string(err, msg, &len);
  ps_die_local("MPI call %s failed: %s [%s:%d]", expr, msg, file, line);
}
#define MPI_CHECK(x)                                   \
  do {                                                 \
    int e_ = (x);                                      \
    if (e_ != MPI_SUCCESS) mpi_fail(e_, #x, __FILE__, __LINE__); \
  } while (0)

static int local_rank = 0, local_size = 1;
static MPI_Comm node = MPI_COMM_NULL; /* this node's ranks (kept until MPI_Finalize) */
int comm_local_rank(void) { return local_rank; }
int comm_local_size(void) { return local_size; }
const void *comm_mpi_comm(void) {
  static MPI_Comm world;
  world = MPI_COMM_WORLD;
  return &world;
}

static int mpi_up(void) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

/* The way out: collective -> everyone waits for rank 0's message, then
 * finalizes; local -> this rank aborts the job. */
static void on_exit_hook(int collective) {
  if (!mpi_up()) return;
  if (collective) {
    MPI_Barrier(MPI_COMM_WORLD);
    nccl_shutdown();
    MPI_Finalize();
  } else {
    MPI_Abort(MPI_COMM_WORLD, PS_EXIT_ERROR);
  }
}

void comm_init(int *argc, char ***argv) {
  /* Open MPI's lockedfile shared-file-pointer component aborts on paths of
   * ~247 characters or more; propscore never uses shared file pointers. */
  setenv("OMPI_MCA_sharedfp", "^lockedfile", 0);
  /* SERIALIZED: a pipeline's thread does MPI-IO and agreements while the main
   * thread computes; the two never call MPI at the same time */
  int provided = 0;
  MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  if (provided < MPI_THREAD_SERIALIZED) {
    fprintf(stderr, "propscore: error: this MPI provides thread level %d; MPI_THREAD_SERIALIZED is needed\n", provided);
    MPI_Abort(MPI_COMM_WORLD, PS_EXIT_ERROR);
  }
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &ps_rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &ps_size));
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, ps_rank, MPI_INFO_NULL, &node));
  MPI_CHECK(MPI_Comm_set_errhandler(node, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_rank(node, &local_rank));
  MPI_CHECK(MPI_Comm_size(node, &local_size));
  ps_on_exit(on_exit_hook);
}

void comm_finalize(void) {
  ps_forget_exit(on_exit_hook);
  nccl_shutdown();
  MPI_CHECK(MPI_Finalize());
}
void comm_barrier(void) { MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

void comm_allreduce_sum_f64(double *buf, size_t n) {
  if (ps_size == 1 || n == 0) return;
  if (nccl_active()) { /* same order of addition, same bits */
    nccl_allreduce_sum_f64(buf, n);
    return;
  }
  size_t c = n < CHUNK ? n : CHUNK;
  double *all = ps_malloc(c * (size_t)ps_size * sizeof(double));
  for (size_t off = 0; off < n; off += CHUNK) {
    size_t m = n - off < CHUNK ? n - off : CHUNK;
    MPI_CHECK(MPI_Allgather(buf + off, (int)m, MPI_DOUBLE, all, (int)m, MPI_DOUBLE, MPI_COMM_WORLD));
    ps_sum_parts_cpu(all, ps_size, m, buf + off);
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
/* Integer sums, minima and maxima are exact in any order. */
void comm_allreduce_sum_i64(int64_t *buf, size_t n) { allreduce_op(buf, n, MPI_INT64_T, 8, MPI_SUM); }
void comm_allreduce_max_i64(int64_t *buf, size_t n) { allreduce_op(buf, n, MPI_INT64_T, 8, MPI_MAX); }
void comm_allreduce_min_i64(int64_t *buf, size_t n) { allreduce_op(buf, n, MPI_INT64_T, 8, MPI_MIN); }
void comm_allreduce_max_f64(double *buf, size_t n) { allreduce_op(buf, n, MPI_DOUBLE, 8, MPI_MAX); }

/* One MPI_Reduce_scatter when every block fits a message, else rounds of
 * at most CHUNK values a rank, each round's pieces packed in rank order. */
void comm_reduce_scatter_sum_i64(const int64_t *in, int64_t *out, const size_t *counts) {
  int P = ps_size;
  if (P == 1) {
    if (out != in && counts[0]) memcpy(out, in, counts[0] * sizeof *out);
    return;
  }
  size_t most = 0;
  for (int r = 0; r < P; r++) most = counts[r] > most ? counts[r] : most;
  int *rc = ps_malloc(sizeof(int) * (size_t)P);
  if (most <= CHUNK) {
    for (int r = 0; r < P; r++) rc[r] = (int)counts[r];
    MPI_CHECK(MPI_Reduce_scatter(in, out, rc, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD));
    free(rc);
    return;
  }
  int64_t *pack = ps_malloc(sizeof(int64_t) * CHUNK * (size_t)P);
  for (size_t k = 0; k < most; k += CHUNK) {
    size_t pos = 0, off = 0;
    for (int r = 0; r < P; r++) {
      size_t m = counts[r] > k ? (counts[r] - k < CHUNK ? counts[r] - k : CHUNK) : 0;
      if (m) memcpy(pack + pos, in + off + k, m * sizeof *pack);
      rc[r] = (int)m;
      pos += m;
      off += counts[r];
    }
    MPI_CHECK(MPI_Reduce_scatter(pack, out + (counts[ps_rank] > k ? k : 0), rc, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD));
  }
  free(pack);
  free(rc);
}

void comm_bcast(void *buf, size_t bytes, int root) {
  if (ps_size == 1) return;
  size_t cb = CHUNK * 64;
  for (size_t off = 0; off < bytes; off += cb) {
    size_t m = bytes - off < cb ? bytes - off : cb;
    MPI_CHECK(MPI_Bcast((char *)buf + off, (int)m, MPI_BYTE, root, MPI_COMM_WORLD));
  }
}

void comm_node_allgather(const void *in, void *out, size_t bytes) {
  MPI_CHECK(MPI_Allgather(in, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE, node));
}

void comm_allgather(const void *in, void *out, size_t bytes) {
  if (ps_size == 1) {
    memcpy(out, in, bytes);
    return;
  }
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
    if (bytes) memcpy(out, in, bytes); /* in may be NULL when rank 0 sends nothing */
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

size_t comm_alltoall_sizes(const size_t *send_sizes, size_t *recv_sizes) {
  int P = ps_size;
  int64_t *ss = ps_malloc(sizeof(int64_t) * (size_t)P), *rs = ps_malloc(sizeof(int64_t) * (size_t)P);
  for (int r = 0; r < P; r++) ss[r] = (int64_t)send_sizes[r];
  if (P == 1) rs[0] = ss[0];
  else MPI_CHECK(MPI_Alltoall(ss, 1, MPI_INT64_T, rs, 1, MPI_INT64_T, MPI_COMM_WORLD));
  size_t tot = 0;
  for (int r = 0; r < P; r++) tot += recv_sizes[r] = (size_t)rs[r];
  free(ss);
  free(rs);
  return tot;
}

void comm_alltoallv_bytes_into(const void *in, const size_t *send_sizes, const size_t *recv_sizes, void *outv) {
  int P = ps_size;
  char *out = outv;
  size_t *soff = ps_malloc(sizeof(size_t) * (size_t)P), *roff = ps_malloc(sizeof(size_t) * (size_t)P), so = 0, ro = 0;
  for (int r = 0; r < P; r++) {
    soff[r] = so;
    so += send_sizes[r];
    roff[r] = ro;
    ro += recv_sizes[r];
  }
  /* pairwise exchange in chunks (no 2^31 limit): step s sends to rank+s and
   * receives from rank-s, each side posting the same chunks */
  size_t cb = CHUNK * 64;
  for (int s = 0; s < P; s++) {
    int to = (ps_rank + s) % P, from = (ps_rank - s + P) % P;
    if (s == 0) {
      if (send_sizes[to]) memcpy(out + roff[from], (const char *)in + soff[to], send_sizes[to]);
      continue;
    }
    size_t nr = (recv_sizes[from] + cb - 1) / cb, ns = (send_sizes[to] + cb - 1) / cb;
    MPI_Request *req = ps_malloc(sizeof(MPI_Request) * (nr + ns + 1));
    for (size_t i = 0; i < nr; i++) {
      size_t off = i * cb, m = recv_sizes[from] - off < cb ? recv_sizes[from] - off : cb;
      MPI_CHECK(MPI_Irecv(out + roff[from] + off, (int)m, MPI_BYTE, from, 12, MPI_COMM_WORLD, &req[i]));
    }
    for (size_t i = 0; i < ns; i++) {
      size_t off = i * cb, m = send_sizes[to] - off < cb ? send_sizes[to] - off : cb;
      MPI_CHECK(MPI_Isend((const char *)in + soff[to] + off, (int)m, MPI_BYTE, to, 12, MPI_COMM_WORLD, &req[nr + i]));
    }
    MPI_CHECK(MPI_Waitall((int)(nr + ns), req, MPI_STATUSES_IGNORE));
    free(req);
  }
  free(soff);
  free(roff);
}

/* After a step of NCCL's set-up: 1 if it failed on some rank, and then
 * every rank drops NCCL and rank 0 warns once, naming the lowest failed rank. */
static int nccl_gave_up; /* the same on every rank: no second try, no second warning */
static int nccl_failed_somewhere(int failed, const char *why) {
  int64_t nfail = failed;
  comm_allreduce_sum_i64(&nfail, 1);
  if (nfail == 0) return 0;
  nccl_gave_up = 1;
  char first[512];
  comm_agree_failure(failed ? ps_rank : INT64_MAX, why, first, sizeof first);
  nccl_abandon();
  ps_warn("comm: NCCL set-up failed on %lld of %d ranks (%s); the float64 and histogram sums go over MPI", (long long)nfail,
          ps_size, first);
  return 1;
}

void comm_use_device(int device) {
  int64_t ok = device >= 0 && !getenv("PROPSCORE_NO_NCCL");
  comm_allreduce_min_i64(&ok, 1);
  if (!ok || ps_size == 1 || nccl_active() || nccl_gave_up) return;
  /* NCCL's set-up can fail on some ranks only (a container's small
   * /dev/shm, P2P off): the ranks agree, and all keep MPI if any failed */
  char why[512] = "";
  if (nccl_failed_somewhere(nccl_setup(device, why, sizeof why) != 0, why)) return;
  nccl_failed_somewhere(nccl_warmup(why, sizeof why) != 0, why);
}
int comm_nccl_active(void) { return nccl_active(); }
int comm_allreduce_sum_i64_device(int64_t *dbuf, size_t n, void *stream) {
  if (ps_size == 1) return 1;
  if (!nccl_active()) return 0;
  nccl_allreduce_sum_i64_device(dbuf, n, stream);
  return 1;
}
int comm_allreduce_max_i64_device(int64_t *dbuf, size_t n, void *stream) {
  if (ps_size == 1) return 1;
  if (!nccl_active()) return 0;
  nccl_allreduce_max_i64_device(dbuf, n, stream);
  return 1;
}
