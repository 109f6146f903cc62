/* checkpoint.c: a k-means fit's state to and from HDF5 (see checkpoint.h). */
#define _POSIX_C_SOURCE 200809L
#include "models/kmeans/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/output.h"
#include "models/checkpoint_file.h"

/* The integer fields, in file order. */
#define KM_CKPT_INTS(X)                                                                                               \
  X(restart, s->restart) X(iteration, s->iteration) X(reseeded, s->reseeded) X(candidates, s->candidates)            \
  X(prev, s->prev) X(best, s->best) X(kept_iterations, s->kept.iterations) X(kept_restart, s->kept.restart)           \
  X(kept_reseeded, s->kept.reseeded) X(kept_candidates, s->kept.candidates)

void km_ckpt_save(const char *path, const char *fingerprint, const km_state_t *s) {
  if (ps_rank == 0) {
    ps_output_t *out = out_begin(path, 0);
    ps_h5_t fid = ckpt_file_create(out, "kmeans", fingerprint);
#define SAVE(name, field) h5_attr_i64(fid, #name, (int64_t)(field));
    KM_CKPT_INTS(SAVE)
#undef SAVE
    int64_t dkc[2] = {s->kept.k, s->kept.c}, dk[1] = {s->kept.k};
    h5_write_small(fid, "centers", PS_F64, 2, dkc, s->centers);
    h5_write_small(fid, "kept_centers", PS_F64, 2, dkc, s->kept.centers);
    h5_write_small(fid, "kept_sizes", PS_I64, 1, dk, s->kept.sizes);
    h5_close(fid);
    out_commit(out);
  }
  comm_barrier();
}

int km_ckpt_load(const char *path, const char *fingerprint, km_state_t *s) {
  ps_h5_t fid;
  if (!ckpt_file_open(path, "kmeans", "segment", "--out", fingerprint, &fid)) return 0;
  int64_t v = 0;
  int ok = 1;
#define LOAD(name, field) ok = ok && h5_get_attr_i64(fid, #name, &v), (field) = v;
  KM_CKPT_INTS(LOAD)
#undef LOAD
  int64_t kc = (int64_t)s->kept.k * s->kept.c;
  if (!ok || s->restart < 0 || s->iteration < -1 || s->kept.restart < 0)
    ps_die_all(PS_EXIT_ERROR, "%s: checkpoint state is damaged", path);
  h5_read_small(fid, path, "centers", PS_F64, s->centers, kc);
  h5_read_small(fid, path, "kept_centers", PS_F64, s->kept.centers, kc);
  h5_read_small(fid, path, "kept_sizes", PS_I64, s->kept.sizes, s->kept.k);
  h5_close(fid);
  return 1;
}
