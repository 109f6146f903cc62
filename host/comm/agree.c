/* agree.c: collective agreement on failures and stop signals, and the
 * one-call all-to-all, built on the transport primitives of comm.h (so they
 * work on every transport). */
#include <stdio.h>
#include <string.h>

#include "comm/comm.h"
#include "core/signals.h"
#include "core/util.h"

void *comm_alltoallv_bytes(const void *in, const size_t *send_sizes, size_t *recv_sizes, size_t *total) {
  *total = comm_alltoall_sizes(send_sizes, recv_sizes);
  void *out = ps_malloc(*total > 0 ? *total : 1);
  comm_alltoallv_bytes_into(in, send_sizes, recv_sizes, out);
  return out;
}

int comm_agree_failure(int64_t key, const char *msg, char *out, size_t n) {
  int64_t lo = key;
  comm_allreduce_min_i64(&lo, 1);
  if (lo == INT64_MAX) return 0;
  /* the lowest rank holding the lowest key sends its message to everyone */
  int64_t who = key == lo ? ps_rank : ps_size;
  comm_allreduce_min_i64(&who, 1);
  char buf[1024] = {0};
  if (ps_rank == who) snprintf(buf, sizeof buf, "%s", msg && msg[0] ? msg : "failed");
  comm_bcast(buf, sizeof buf, (int)who);
  if (out && n) snprintf(out, n, "%s", buf);
  return 1;
}

void ps_check_all(int bad, const char *msg) {
  char buf[1024];
  if (comm_agree_failure(bad ? ps_rank : INT64_MAX, msg, buf, sizeof buf)) ps_die_all(PS_EXIT_ERROR, "%s", buf);
}

int comm_agree_stop(void) {
  int64_t sig = ps_stop_signal();
  comm_allreduce_max_i64(&sig, 1);
  return (int)sig;
}
