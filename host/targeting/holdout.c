/* holdout.c: the holdout job (see holdout.h). */
#include "targeting/holdout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/fingerprint.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/output.h"
#include "io/pipeline.h"

#define HOLDOUT_MAX_STRATA 1024

uint64_t holdout_salt(const char *campaign) {
  size_t n = strlen(campaign);
  char *s = ps_malloc(n + 9);
  memcpy(s, "holdout:", 8);
  memcpy(s + 8, campaign, n + 1);
  uint64_t h = fp_hash(s);
  free(s);
  return h;
}

int holdout_is_control(int64_t id, uint64_t salt, double fraction) { return ps_id_unit(id, salt) < fraction; }

void holdout_check_campaign(const char *c) {
  size_t n = strlen(c);
  int ok = n >= 1 && n <= 64;
  for (size_t i = 0; ok && i < n; i++) {
    char ch = c[i];
    ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
         ch == '-' || ch == '.';
  }
  if (ok && (!strcmp(c, ".") || !strcmp(c, ".."))) ok = 0;
  if (!ok)
    ps_die_all(PS_EXIT_USAGE, "holdout: --campaign '%.80s' must be 1 to 64 characters of A-Z a-z 0-9 _ . -", c);
}

static double share_se(int64_t k, int64_t n) {
  if (n <= 0) return 0;
  double p = (double)k / (double)n;
  return sqrt(p * (1 - p) / (double)n);
}

int holdout_run(const holdout_opts_t *o) {
  holdout_check_campaign(o->campaign);
  if (!(o->fraction > 0 && o->fraction < 1))
    ps_die_all(PS_EXIT_USAGE, "holdout: --fraction %g must be in (0, 1)", o->fraction);
  ps_path_t ins[] = {{"--data", o->data}}, outs[] = {{"--out", o->out}};
  out_check_paths(ins, 1, outs, 1);
  double t0 = ps_now();
  ps_data_t d;
  data_open(o->data, &d);
  if (o->strata) {
    char *t[1] = {(char *)o->strata};
    data_check_targets(&d, t, 1);
  }
  int64_t row0, n, N = d.n;
  ps_partition(N, ps_size, ps_rank, &row0, &n);
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  data_read_ids(&d, row0, n, ids);
  data_check_unique_ids(&d, ids, row0, n);

  /* strata: integer label values 0..1023 */
  int64_t *cnt = ps_calloc(2 * HOLDOUT_MAX_STRATA, sizeof(int64_t)); /* [value][total, control] */
  uint16_t *sv = NULL;
  if (o->strata) {
    double *lab = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    data_read_labels_raw(&d, o->strata, row0, n, lab);
    int64_t bad = INT64_MAX;
    char msg[512] = "";
    for (int64_t i = 0; i < n; i++) {
      double v = lab[i];
      if (!(v >= 0 && v < HOLDOUT_MAX_STRATA && v == floor(v))) {
        bad = row0 + i;
        snprintf(msg, sizeof msg,
                 "holdout: %s: /labels/%s row %lld: value %g is not a stratum (an integer 0..%d)", d.path,
                 o->strata, (long long)bad, v, HOLDOUT_MAX_STRATA - 1);
        break;
      }
    }
    char agreed[512];
    if (comm_agree_failure(bad, msg, agreed, sizeof agreed)) ps_die_all(PS_EXIT_ERROR, "%s", agreed);
    sv = ps_malloc(sizeof(uint16_t) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) sv[i] = (uint16_t)lab[i];
    free(lab);
  }
  uint64_t salt = holdout_salt(o->campaign);

  ps_output_t *outf = out_begin(o->out, 1);
  ps_h5_t fid = h5_create(out_tmp(outf), 1);
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "holdout");
  h5_attr_str(fid, "generator", "propscore holdout " PROPSCORE_VERSION);
  int64_t dims1[1] = {N}, chunk1[1] = {N < (1 << 20) ? (N > 0 ? N : 1) : (1 << 20)};
  ps_h5_t did = h5_dset_create(fid, "/customer_id", PS_I64, 1, dims1, chunk1);
  ps_h5_t g = h5_group_create(fid, "/holdout");
  ps_h5_t dh = h5_dset_create(g, o->campaign, PS_U8, 1, dims1, chunk1);
  ps_pipe_col_t cols[2] = {{did, PS_I64, 0}, {dh, PS_U8, 0}};
  ps_pipe_spec_t spec = {"holdout", row0, n, h5_block_rows(9, 0), 0, 2, NULL, cols, 0};
  ps_pipe_t *pipe = pipe_open(&spec);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    int64_t *bid = b.out[0];
    uint8_t *bh = b.out[1];
    for (int64_t i = 0; i < b.rows; i++) {
      int64_t r = b.first + i, id = ids[r];
      int c = holdout_is_control(id, salt, o->fraction);
      bid[i] = id;
      bh[i] = (uint8_t)c;
      int s = sv ? sv[r] : 0;
      cnt[2 * s]++;
      cnt[2 * s + 1] += c;
    }
  }
  pipe_check(pipe, NULL);
  pipe_close(pipe);
  comm_allreduce_sum_i64(cnt, 2 * HOLDOUT_MAX_STRATA);
  int64_t tot = 0, ctl = 0;
  for (int s = 0; s < HOLDOUT_MAX_STRATA; s++) tot += cnt[2 * s], ctl += cnt[2 * s + 1];
  double share = N > 0 ? (double)ctl / (double)N : 0, se = share_se(ctl, tot);
  h5_attr_str(dh, "campaign", o->campaign);
  h5_attr_f64(dh, "fraction", o->fraction);
  h5_attr_i64(dh, "salt", (int64_t)salt);
  h5_attr_str(dh, "rule", "control iff ps_id_unit(customer_id, fnv1a64(\"holdout:\" + campaign)) < fraction");
  h5_attr_i64(dh, "customers", tot);
  h5_attr_i64(dh, "control", ctl);
  h5_attr_f64(dh, "control_share", share);
  h5_attr_f64(dh, "control_share_se", se);
  h5_attr_str(dh, "strata", o->strata ? o->strata : "");
  int ns = 0;
  if (o->strata) {
    for (int s = 0; s < HOLDOUT_MAX_STRATA; s++) ns += cnt[2 * s] > 0;
    int64_t *val = ps_malloc(sizeof(int64_t) * (size_t)(ns + 1)), *sc = ps_malloc(sizeof(int64_t) * (size_t)(ns + 1));
    int64_t *sk = ps_malloc(sizeof(int64_t) * (size_t)(ns + 1));
    int j = 0;
    for (int s = 0; s < HOLDOUT_MAX_STRATA; s++)
      if (cnt[2 * s] > 0) val[j] = s, sc[j] = cnt[2 * s], sk[j] = cnt[2 * s + 1], j++;
    ps_h5_t gs = h5_group_create(fid, "/strata");
    ps_h5_t gc = h5_group_create(gs, o->campaign);
    h5_attr_str(gc, "label", o->strata);
    int64_t dn[1] = {ns};
    h5_write_small(gc, "value", PS_I64, 1, dn, val);
    h5_write_small(gc, "count", PS_I64, 1, dn, sc);
    h5_write_small(gc, "control", PS_I64, 1, dn, sk);
    h5_close(gc);
    h5_close(gs);
    free(val);
    free(sc);
    free(sk);
  }
  h5_close(dh);
  h5_close(g);
  h5_close(did);
  h5_close(fid);
  comm_barrier();
  out_commit(outf);
  ps_out("holdout: wrote %s: campaign %s, %lld customers, control %lld = %.4f (se %.4f; asked %.4f), %.2f s", o->out,
         o->campaign, (long long)tot, (long long)ctl, share, se, o->fraction, ps_now() - t0);
  if (o->strata)
    for (int s = 0; s < HOLDOUT_MAX_STRATA; s++)
      if (cnt[2 * s] > 0)
        ps_out("holdout:   %s=%d: %lld customers, control %lld = %.4f (se %.4f)", o->strata, s,
               (long long)cnt[2 * s], (long long)cnt[2 * s + 1], (double)cnt[2 * s + 1] / (double)cnt[2 * s],
               share_se(cnt[2 * s + 1], cnt[2 * s]));
  free(cnt);
  free(sv);
  free(ids);
  data_close(&d);
  return 0;
}
