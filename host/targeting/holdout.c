/* holdout.c: the holdout job (see holdout.h). */
#include "targeting/holdout.h"

#include <math.h>
#include <stddef.h>
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

#define F(field) offsetof(holdout_opts_t, field)
static const ps_option_t HOLDOUT_OPTS[] = {
    {.name = "data", .type = OPT_STR, .off = F(data), .arg = "FILE",
     .help = "input file with /customer_id (datasets/SCHEMA.md)", .flags = OPT_REQUIRED, .short_name = 'd'},
    {.name = "campaign", .type = OPT_STR, .off = F(campaign), .arg = "NAME", .flags = OPT_REQUIRED, .short_name = 'c',
     .help = "campaign name, 1-64 of A-Z a-z 0-9 _ . - (salts the hash;\nnames the output dataset /holdout/NAME)"},
    {.name = "fraction", .type = OPT_DOUBLE, .off = F(fraction), .lo = 0, .hi = 1, .arg = "F", .flags = OPT_REQUIRED,
     .help = "control share wanted, 0 < F < 1 (e.g. 0.1)", .short_name = 'f'},
    {.name = "strata", .type = OPT_STR, .off = F(strata), .arg = "LABEL", .short_name = 's',
     .help = "report the realised control share per value of\n/labels/LABEL (integer values 0..1023), with standard errors"},
    {.name = "out", .type = OPT_STR, .off = F(out), .arg = "FILE", .flags = OPT_REQUIRED, .short_name = 'o',
     .help = "output: /customer_id and /holdout/NAME (uint8, 1 = control),\nwith --strata also "
             "/strata/NAME/{value,count,control};\nwritten to a temporary name, renamed when complete"},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .help = "no progress log", .short_name = 'q'},
    {0}};
#undef F

const ps_cmd_spec_t holdout_cmd = {
    .name = "holdout",
    .opts = HOLDOUT_OPTS,
    .usage = "usage: propscore holdout --data FILE.h5 --campaign NAME --fraction F\n"
             "                         [--strata LABEL] --out ASSIGN.h5 [--quiet]\n"
             "\n"
             "Split the customers of a data file into a control group (held out of the\n"
             "campaign) and a treatment group. A customer is in control iff a hash of its\n"
             "customer id salted with the campaign name falls below F: the same customer\n"
             "gets the same group for any rank count, any row order, and next month's file\n"
             "(new customers do not move existing ones). Use a new campaign name for a new\n"
             "random split.\n",
    .epilog = "The group is not a stratified draw: each customer is an independent hashed\n"
              "Bernoulli(F), so every stratum's share is F up to sampling error (reported).\n"
              "exit codes: 0 ok, 1 error, 2 usage\n"};

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

/* One run: this rank's rows and the counts per stratum. */
typedef struct {
  const holdout_opts_t *o;
  ps_data_t d;
  int64_t N, row0, n;
  int64_t *ids;
  uint16_t *sv; /* this rank's stratum of each row (--strata), or NULL */
  int64_t *cnt; /* [stratum][customers, control] on all ranks once written */
} holdout_job_t;

/* --strata: the stratum of each row (integer label values 0..1023). */
static uint16_t *read_strata(const holdout_job_t *j) {
  int64_t n = j->n;
  double *lab = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  data_read_labels_raw(&j->d, j->o->strata, j->row0, n, lab);
  int64_t bad = INT64_MAX;
  char msg[512] = "";
  for (int64_t i = 0; i < n; i++) {
    double v = lab[i];
    if (!(v >= 0 && v < HOLDOUT_MAX_STRATA && v == floor(v))) {
      bad = j->row0 + i;
      snprintf(msg, sizeof msg, "holdout: %s: /labels/%s row %lld: value %g is not a stratum (an integer 0..%d)",
               j->d.path, j->o->strata, (long long)bad, v, HOLDOUT_MAX_STRATA - 1);
      break;
    }
  }
  char agreed[512];
  if (comm_agree_failure(bad, msg, agreed, sizeof agreed)) ps_die_all(PS_EXIT_ERROR, "%s", agreed);
  uint16_t *sv = ps_malloc(sizeof(uint16_t) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) sv[i] = (uint16_t)lab[i];
  free(lab);
  return sv;
}

/* /customer_id and /holdout/NAME, row by row (collective); counts per stratum. */
static void write_groups(holdout_job_t *j, ps_h5_t did, ps_h5_t dh) {
  uint64_t salt = holdout_salt(j->o->campaign);
  ps_pipe_col_t cols[2] = {{.dset = did, .type = PS_I64}, {.dset = dh, .type = PS_U8}};
  ps_pipe_spec_t spec = {.what = "holdout", .row0 = j->row0, .n = j->n, .block_rows = h5_block_rows(9, 0),
                         .nin = 0, .nout = 2, .in = NULL, .out = cols, .agree_stop = 0};
  ps_pipe_t *pipe = pipe_open(&spec);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    int64_t *bid = b.out[0];
    uint8_t *bh = b.out[1];
    for (int64_t i = 0; i < b.rows; i++) {
      int64_t r = b.first + i, id = j->ids[r];
      int c = holdout_is_control(id, salt, j->o->fraction);
      bid[i] = id;
      bh[i] = (uint8_t)c;
      int s = j->sv ? j->sv[r] : 0;
      j->cnt[2 * s]++;
      j->cnt[2 * s + 1] += c;
    }
  }
  pipe_check(pipe, NULL);
  pipe_close(pipe);
  comm_allreduce_sum_i64(j->cnt, 2 * HOLDOUT_MAX_STRATA);
}

/* The attributes of /holdout/NAME: the rule and the realised share. */
static void write_summary(const holdout_job_t *j, ps_h5_t dh, int64_t tot, int64_t ctl) {
  double share = j->N > 0 ? (double)ctl / (double)j->N : 0, se = share_se(ctl, tot);
  h5_attr_str(dh, "campaign", j->o->campaign);
  h5_attr_f64(dh, "fraction", j->o->fraction);
  h5_attr_i64(dh, "salt", (int64_t)holdout_salt(j->o->campaign));
  h5_attr_str(dh, "rule", "control iff ps_id_unit(customer_id, fnv1a64(\"holdout:\" + campaign)) < fraction");
  h5_attr_i64(dh, "customers", tot);
  h5_attr_i64(dh, "control", ctl);
  h5_attr_f64(dh, "control_share", share);
  h5_attr_f64(dh, "control_share_se", se);
  h5_attr_str(dh, "strata", j->o->strata ? j->o->strata : "");
}

/* /strata/NAME/{value,count,control}: the strata that have customers. */
static void write_strata(const holdout_job_t *j, ps_h5_t fid) {
  int ns = 0;
  for (int s = 0; s < HOLDOUT_MAX_STRATA; s++) ns += j->cnt[2 * s] > 0;
  int64_t *val = ps_malloc(sizeof(int64_t) * (size_t)(ns + 1)), *sc = ps_malloc(sizeof(int64_t) * (size_t)(ns + 1));
  int64_t *sk = ps_malloc(sizeof(int64_t) * (size_t)(ns + 1));
  int q = 0;
  for (int s = 0; s < HOLDOUT_MAX_STRATA; s++)
    if (j->cnt[2 * s] > 0) val[q] = s, sc[q] = j->cnt[2 * s], sk[q] = j->cnt[2 * s + 1], q++;
  ps_h5_t gs = h5_group_create(fid, "/strata");
  ps_h5_t gc = h5_group_create(gs, j->o->campaign);
  h5_attr_str(gc, "label", j->o->strata);
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

/* The output file (collective), under a temporary name renamed when complete. */
static void write_holdout(holdout_job_t *j, int64_t *tot, int64_t *ctl) {
  ps_output_t *outf = out_begin(j->o->out, 1);
  ps_h5_t fid = h5_create(out_tmp(outf), 1);
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "holdout");
  h5_attr_str(fid, "generator", "propscore holdout " PROPSCORE_VERSION);
  int64_t N = j->N, dims1[1] = {N}, chunk1[1] = {N < (1 << 20) ? (N > 0 ? N : 1) : (1 << 20)};
  ps_h5_t did = h5_dset_create(fid, "/customer_id", PS_I64, 1, dims1, chunk1);
  ps_h5_t g = h5_group_create(fid, "/holdout");
  ps_h5_t dh = h5_dset_create(g, j->o->campaign, PS_U8, 1, dims1, chunk1);
  write_groups(j, did, dh);
  *tot = *ctl = 0;
  for (int s = 0; s < HOLDOUT_MAX_STRATA; s++) *tot += j->cnt[2 * s], *ctl += j->cnt[2 * s + 1];
  write_summary(j, dh, *tot, *ctl);
  if (j->o->strata) write_strata(j, fid);
  h5_close(dh);
  h5_close(g);
  h5_close(did);
  h5_close(fid);
  comm_barrier();
  out_commit(outf);
}

static void report(const holdout_job_t *j, int64_t tot, int64_t ctl, double t0) {
  const holdout_opts_t *o = j->o;
  double share = j->N > 0 ? (double)ctl / (double)j->N : 0;
  ps_out("holdout: wrote %s: campaign %s, %lld customers, control %lld = %.4f (se %.4f; asked %.4f), %.2f s", o->out,
         o->campaign, (long long)tot, (long long)ctl, share, share_se(ctl, tot), o->fraction, ps_now() - t0);
  if (!o->strata) return;
  for (int s = 0; s < HOLDOUT_MAX_STRATA; s++) {
    int64_t c = j->cnt[2 * s], k = j->cnt[2 * s + 1];
    if (c > 0)
      ps_out("holdout:   %s=%d: %lld customers, control %lld = %.4f (se %.4f)", o->strata, s, (long long)c,
             (long long)k, (double)k / (double)c, share_se(k, c));
  }
}

int holdout_run(const holdout_opts_t *o) {
  holdout_check_campaign(o->campaign);
  if (!(o->fraction > 0 && o->fraction < 1))
    ps_die_all(PS_EXIT_USAGE, "holdout: --fraction %g must be in (0, 1)", o->fraction);
  ps_path_t ins[] = {{.role = "--data", .path = o->data}}, outs[] = {{.role = "--out", .path = o->out}};
  out_check_paths(ins, 1, outs, 1);
  double t0 = ps_now();
  holdout_job_t j = {.o = o};
  data_open(o->data, &j.d);
  if (o->strata) {
    char *t[1] = {(char *)o->strata};
    data_check_targets(&j.d, t, 1);
  }
  j.N = j.d.n;
  ps_partition(j.N, ps_size, ps_rank, &j.row0, &j.n);
  j.ids = ps_malloc(sizeof(int64_t) * (size_t)(j.n > 0 ? j.n : 1));
  data_read_ids(&j.d, j.row0, j.n, j.ids);
  data_check_unique_ids(&j.d, j.ids, j.row0, j.n);
  j.cnt = ps_calloc(2 * HOLDOUT_MAX_STRATA, sizeof(int64_t));
  if (o->strata) j.sv = read_strata(&j);
  int64_t tot, ctl;
  write_holdout(&j, &tot, &ctl);
  report(&j, tot, ctl, t0);
  free(j.cnt);
  free(j.sv);
  free(j.ids);
  data_close(&j.d);
  return 0;
}
