/* checkpoint.c: the trees' training state to and from HDF5 (see checkpoint.h). */
#define _POSIX_C_SOURCE 200809L
#include "models/gbdt/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/output.h"
#include "models/checkpoint_file.h"

void gbdt_ckpt_save(const char *path, const char *fingerprint, const ps_gbdt_model_t *m, const ps_gbdt_state_t *s) {
  if (ps_rank == 0) {
    ps_output_t *out = out_begin(path, 0);
    ps_h5_t fid = ckpt_file_create(out, "gbdt", fingerprint);
    h5_attr_i64(fid, "heads", m->k);
    h5_attr_i64(fid, "head", s->head);
    int heads = s->head + 1 < m->k ? s->head + 1 : m->k;
    gbdt_model_write_trees(fid, m, heads);
    ps_h5_t g = h5_group_create(fid, "/state");
    for (int h = 0; h < heads; h++) {
      ps_h5_t gh = h5_group_create(g, m->targets[h]);
      h5_attr_i64(gh, "best", s->best[h]);
      h5_attr_f64(gh, "best_loss", s->best_loss[h]);
      h5_attr_i64(gh, "done", s->done[h]);
      int64_t dt[2] = {s->trace_rows[h], 3};
      h5_write_small(gh, "trace", PS_F64, 2, dt, s->trace[h]);
      h5_close(gh);
    }
    h5_close(g);
    h5_close(fid);
    out_commit(out);
  }
  comm_barrier();
}

int gbdt_ckpt_load(const char *path, const char *fingerprint, ps_gbdt_model_t *m, ps_gbdt_state_t *s) {
  ps_h5_t fid;
  if (!ckpt_file_open(path, "gbdt", "gradient-boosted trees", "--checkpoint", fingerprint, &fid)) return 0;
  int64_t head = 0, heads = 0;
  if (!h5_get_attr_i64(fid, "head", &head) || !h5_get_attr_i64(fid, "heads", &heads) || heads != m->k || head < 0 ||
      head >= m->k)
    ps_die_all(PS_EXIT_ERROR, "%s: checkpoint heads do not fit this run", path);
  s->head = (int)head;
  bins_free(&m->bins);
  gbdt_model_read_trees(fid, path, m, (int)head + 1);
  for (int h = 0; h <= head; h++) {
    char *name = ps_sprintf("/state/%s", m->targets[h]);
    ps_h5_t gh = h5_group_open(fid, path, name);
    free(name);
    int64_t done = 0;
    if (!h5_get_attr_i64(gh, "best", &s->best[h]) || !h5_get_attr_f64(gh, "best_loss", &s->best_loss[h]) ||
        !h5_get_attr_i64(gh, "done", &done))
      ps_die_all(PS_EXIT_ERROR, "%s: checkpoint state of %s is damaged", path, m->targets[h]);
    s->done[h] = (int)done;
    s->trace_rows[h] = h5_count(gh, "trace") / 3;
    free(s->trace[h]);
    s->trace[h] = ps_malloc(sizeof(double) * 3 * (size_t)(s->trace_rows[h] + 1));
    h5_read_small(gh, path, "trace", PS_F64, s->trace[h], s->trace_rows[h] * 3);
    h5_close(gh);
  }
  h5_close(fid);
  return 1;
}
