/* export.c: the export job (see export.h). */
#define _POSIX_C_SOURCE 200809L
#include "targeting/export.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/output.h"
#include "io/scores_file.h"
#include "targeting/offers.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                   \
  do {                                                                                                             \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                                      \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                                         \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                                         \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                                      \
  } while (0)

uint64_t export_siphash(uint64_t k0, uint64_t k1, int64_t id) {
  uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
  uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
  uint64_t m = (uint64_t)id; /* the 8 bytes little-endian: as a little-endian word */
  v3 ^= m;
  SIPROUND;
  SIPROUND;
  v0 ^= m;
  uint64_t b = (uint64_t)8 << 56; /* length 8, no tail bytes */
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

/* 32 hex digits (whitespace around allowed) -> k0, k1 (bytes 0-7, 8-15 little-endian). 0 ok. */
static int read_key(const char *path, uint64_t *k0, uint64_t *k1, char *msg, size_t mn) {
  FILE *f = fopen(path, "r");
  if (!f) return snprintf(msg, mn, "export: --id-key-file %s: %s", path, strerror(errno)), 1;
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *s = buf;
  while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') s++;
  size_t len = 0;
  while (s[len] && strchr("0123456789abcdefABCDEF", s[len])) len++;
  char *rest = s + len;
  while (*rest == ' ' || *rest == '\n' || *rest == '\r' || *rest == '\t') rest++;
  if (len != 32 || *rest)
    return snprintf(msg, mn, "export: --id-key-file %s: expected 32 hex digits (a 128-bit key, e.g. from "
                             "`openssl rand -hex 16`)", path), 1;
  uint8_t kb[16];
  for (int i = 0; i < 16; i++) {
    char h[3] = {s[2 * i], s[2 * i + 1], 0};
    kb[i] = (uint8_t)strtoul(h, NULL, 16);
  }
  *k0 = *k1 = 0;
  for (int i = 7; i >= 0; i--) *k0 = (*k0 << 8) | kb[i], *k1 = (*k1 << 8) | kb[8 + i];
  return 0;
}

typedef struct {
  double score;
  int64_t id;
} pick_t;
static int by_score(const void *x, const void *y) {
  const pick_t *a = x, *b = y;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* The Parquet helper beside the sources of this binary (<exe>/../scripts), or $PROPSCORE_PARQUET_HELPER. */
static char *helper_path(void) {
  const char *env = getenv("PROPSCORE_PARQUET_HELPER");
  if (env && *env) return ps_strdup(env);
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return ps_strdup("scripts/csv_to_parquet.py");
  exe[n] = 0;
  char *sl = strrchr(exe, '/');
  if (sl) *sl = 0;
  return ps_sprintf("%s/../scripts/csv_to_parquet.py", exe);
}

/* Open a file of the same customers as the scores (its kind checked, its
 * /customer_id equal to the scores' row for row); the caller reads from it. */
static ps_h5_t open_aligned(const char *path, const char *kind, const char *scores, const int64_t *ids, int64_t N,
                            int64_t row0, int64_t n) {
  ps_h5_t f = scores_open(path, kind);
  scores_check_ids(f, path, ids, N, row0, n, "scores", scores);
  return f;
}

int export_run(const export_opts_t *o) {
  size_t ol = strlen(o->out);
  int parquet = ol > 8 && !strcmp(o->out + ol - 8, ".parquet");
  int csv = ol > 4 && !strcmp(o->out + ol - 4, ".csv");
  if (!parquet && !csv) ps_die_all(PS_EXIT_USAGE, "export: --out %s: name it .csv or .parquet", o->out);
  if ((o->holdout != NULL) != (o->group != NULL))
    ps_die_all(PS_EXIT_USAGE, "export: --holdout and --group go together");
  uint64_t k0 = 0, k1 = 0;
  char msg[1024] = "";
  int bad = ps_rank == 0 ? read_key(o->key_file, &k0, &k1, msg, sizeof msg) : 0;
  comm_bcast(&bad, sizeof bad, 0);
  if (bad) {
    comm_bcast(msg, sizeof msg, 0);
    ps_die_all(PS_EXIT_USAGE, "%s", msg);
  }
  comm_bcast(&k0, sizeof k0, 0);
  comm_bcast(&k1, sizeof k1, 0);
  ps_path_t ins[4] = {{"--scores", o->scores}, {"--id-key-file", o->key_file}};
  int nin = 2;
  if (o->holdout) ins[nin++] = (ps_path_t){"--holdout", o->holdout};
  if (o->personas) ins[nin++] = (ps_path_t){"--personas", o->personas};
  ps_path_t outs[] = {{"--out", o->out}};
  out_check_paths(ins, nin, outs, 1);
  double t0 = ps_now();

  ps_h5_t sf = scores_open(o->scores, "scores");
  int64_t N, row0, n;
  int64_t *ids = scores_read_ids(sf, o->scores, &N, &row0, &n);
  size_t nn = (size_t)(n > 0 ? n : 1);
  char *name = ps_sprintf("%s/%s", o->uplift ? "/uplift" : "/scores", o->by);
  float *p = ps_malloc(sizeof(float) * nn);
  scores_read_head(sf, o->scores, name, N, row0, n, &PS_SCORE_FINITE, PS_F32, p);
  h5_close(sf);
  uint8_t *in = ps_malloc(nn);
  memset(in, 1, nn);
  if (o->holdout) {
    int want = !strcmp(o->group, "control");
    ps_h5_t hf = open_aligned(o->holdout, "holdout", o->scores, ids, N, row0, n);
    int nc = 0;
    char **camps = h5_list_datasets(hf, "/holdout", &nc);
    const char *camp = o->campaign;
    if (!camp) {
      if (nc != 1)
        ps_die_all(PS_EXIT_USAGE, "export: %s holds %d campaigns: name one with --campaign", o->holdout, nc);
      camp = camps[0];
    }
    int64_t hd[1];
    char *hn = ps_sprintf("/holdout/%s", camp);
    ps_h5_t gd = h5_dset_open(hf, o->holdout, hn, 1, PS_KIND_INT, "uint8", hd);
    h5_read_range(gd, PS_U8, row0, n, 0, in);
    h5_close(gd);
    for (int64_t i = 0; i < n; i++) in[i] = (in[i] != 0) == want;
    free(hn);
    ps_free_strv(camps);
    h5_close(hf);
  }
  if (o->personas) {
    ps_h5_t pf = open_aligned(o->personas, "personas", o->scores, ids, N, row0, n);
    int64_t pk = 0, pd1[1];
    if (!h5_get_attr_i64(pf, "k", &pk) || pk < 1)
      ps_die_all(PS_EXIT_ERROR, "%s: no attribute k (the number of personas): not written by propscore segment?",
                 o->personas);
    if (o->persona >= pk)
      ps_die_all(PS_EXIT_USAGE, "export: --persona %lld: %s has personas 0 to %lld", (long long)o->persona,
                 o->personas, (long long)(pk - 1));
    ps_h5_t pset = h5_dset_open(pf, o->personas, "/segments/persona", 1, PS_KIND_INT, "int32", pd1);
    int32_t *per = ps_malloc(sizeof(int32_t) * nn);
    h5_read_range(pset, PS_I32, row0, n, 0, per);
    h5_close(pset);
    for (int64_t i = 0; i < n; i++) in[i] = in[i] && per[i] == o->persona;
    free(per);
    h5_close(pf);
  }
  /* candidates of the group, best first; the cut exact over all ranks */
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++) m += in[i];
  ps_offer_t *c = ps_malloc(sizeof(ps_offer_t) * (size_t)(m > 0 ? m : 1));
  for (int64_t i = 0, j = 0; i < n; i++)
    if (in[i]) c[j++] = (ps_offer_t){(double)p[i], ids[i], 0, i};
  int64_t M = m;
  comm_allreduce_sum_i64(&M, 1);
  int64_t top = o->top >= 0 ? o->top : (int64_t)floor(o->top_percent / 100.0 * (double)M + 1e-9);
  if (top > M) top = M;
  offers_sort(c, m);
  uint8_t *keep = ps_malloc((size_t)(m > 0 ? m : 1));
  offers_select_budget(c, m, top, keep);
  int64_t mine = 0;
  for (int64_t j = 0; j < m; j++) mine += keep[j];
  pick_t *pk = ps_malloc(sizeof(pick_t) * (size_t)(mine > 0 ? mine : 1));
  for (int64_t j = 0, q = 0; j < m; j++)
    if (keep[j]) pk[q++] = (pick_t){c[j].value, c[j].id};
  free(keep);
  free(c);
  free(in);
  free(p);
  free(ids);
  size_t total = 0;
  pick_t *all = comm_gatherv_bytes(pk, sizeof(pick_t) * (size_t)mine, &total, NULL);
  free(pk);
  int rc = 0;
  if (ps_rank == 0) {
    int64_t g = (int64_t)(total / sizeof(pick_t));
    qsort(all, (size_t)g, sizeof(pick_t), by_score);
    ps_output_t *out = out_begin(o->out, 0);
    char *csvp = parquet ? ps_sprintf("%s.csv", out_tmp(out)) : ps_strdup(out_tmp(out));
    if (parquet) ps_tmp_register(csvp);
    FILE *f = fopen(csvp, "w");
    if (!f) ps_die_local("export: cannot write %s: %s", csvp, strerror(errno));
    fprintf(f, "pseudo_id,score\n");
    for (int64_t i = 0; i < g; i++)
      fprintf(f, "%016llx,%.17g\n", (unsigned long long)export_siphash(k0, k1, all[i].id), all[i].score);
    if (fflush(f) != 0 || ferror(f) || fclose(f) != 0) ps_die_local("export: cannot write %s: %s", csvp, strerror(errno));
    if (parquet) {
      char *helper = helper_path();
      pid_t pid = fork();
      if (pid == 0) {
        const char *py = getenv("PROPSCORE_PYTHON");
        if (!py || !*py) py = "python3";
        execlp(py, py, helper, csvp, out_tmp(out), (char *)NULL);
        _exit(127);
      }
      int st = 0;
      if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        unlink(csvp);
        ps_tmp_forget(csvp);
        ps_die_local("export: the Parquet helper %s failed ($PROPSCORE_PYTHON or python3, with pyarrow, is needed; "
                     "or write .csv)", helper);
      }
      unlink(csvp);
      ps_tmp_forget(csvp);
      free(helper);
    }
    free(csvp);
    out_commit(out);
    char slice[64] = "";
    if (o->personas) snprintf(slice, sizeof slice, " of persona %lld", (long long)o->persona);
    ps_out("export: wrote %s: %lld of %lld customers%s%s%s by %s, pseudonymous ids, %.2f s", o->out, (long long)g,
           (long long)M, o->group ? " of the group " : "", o->group ? o->group : "", slice, name, ps_now() - t0);
  }
  free(all);
  free(name);
  comm_barrier();
  return rc;
}
