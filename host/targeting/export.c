/* export.c: the export job (see export.h). */
#define _POSIX_C_SOURCE 200809L
#include "targeting/export.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/output.h"
#include "io/scores_file.h"
#include "targeting/export_explain.h"
#include "targeting/offers.h"

const char *const EXPORT_GROUPS[] = {"treatment", "control", NULL};

#define F(field) offsetof(export_opts_t, field)
static const ps_option_t EXPORT_OPTS[] = {
    {.name = "scores", .type = OPT_STR, .off = F(scores), .arg = "FILE", .help = "scores file (propscore score)",
     .flags = OPT_REQUIRED, .short_name = 's'},
    {.name = "by", .type = OPT_STR, .off = F(by), .arg = "TARGET", .help = "rank by /scores/TARGET (with --uplift: /uplift/TARGET)",
     .flags = OPT_REQUIRED, .short_name = 'b'},
    {.name = "top", .type = OPT_I64, .off = F(top), .min = 0, .max = INT64_MAX, .arg = "N",
     .help = "the N best (ties at the cut: lower customer id first)", .short_name = 'n'},
    {.name = "top-percent", .type = OPT_DOUBLE, .off = F(top_percent), .lo = 0, .hi = 100, .arg = "P",
     .help = "the best P% (0-100) of the customers considered", .short_name = 'p'},
    {.name = "id-key-file", .type = OPT_STR, .off = F(key_file), .arg = "KEY", .flags = OPT_REQUIRED, .short_name = 'k',
     .help = "file holding the key: 32 hex digits (`openssl rand -hex 16`);\na file, not an option value, so the key stays "
             "out of process\nlists, shell history and the run manifest"},
    {.name = "uplift", .type = OPT_FLAG, .off = F(uplift), .help = "rank by /uplift/TARGET instead of /scores/TARGET",
     .short_name = 'u'},
    {.name = "holdout", .type = OPT_STR, .off = F(holdout), .arg = "FILE",
     .help = "a holdout file (propscore holdout) of the same customers ...", .short_name = 'H'},
    {.name = "group", .type = OPT_CHOICE, .off = F(group), .choices = EXPORT_GROUPS, .arg = "G",
     .help = "... and only its treatment or control group", .short_name = 'g'},
    {.name = "campaign", .type = OPT_STR, .off = F(campaign), .arg = "NAME",
     .help = "the campaign in FILE (default: its only one)", .short_name = 'c'},
    {.name = "personas", .type = OPT_STR, .off = F(personas), .arg = "FILE",
     .help = "a personas file (propscore segment) of the same customers ...", .short_name = 'P'},
    {.name = "persona", .type = OPT_I64, .off = F(persona), .min = 0, .max = INT32_MAX, .arg = "N",
     .help = "... and only its persona N (with --holdout: both)", .short_name = 'N'},
    {.name = "out", .type = OPT_STR, .off = F(out), .arg = "FILE", .flags = OPT_REQUIRED, .short_name = 'o',
     .help = ".csv, or .parquet (converted from the CSV by\nscripts/csv_to_parquet.py run by $PROPSCORE_PYTHON, "
             "default\npython3, with pyarrow); mode 0640,\ntemporary name renamed when complete"},
    {.name = "explain", .type = OPT_FLAG, .off = F(explain), .short_name = 'x',
     .help = "also each customer's reasons for --by: columns\nreason_1,contribution_1,... (feature names, signed "
             "log-odds\ncontributions) from a scores file written by score --explain N"},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .help = "no progress log", .short_name = 'q'},
    {0}};
#undef F

const ps_cmd_spec_t export_cmd = {
    .name = "export",
    .opts = EXPORT_OPTS,
    .usage = "usage: propscore export --scores SCORES.h5 --by TARGET (--top N | --top-percent P)\n"
             "                        --id-key-file KEY --out AUDIENCE.csv|.parquet\n"
             "                        [--uplift] [--holdout ASSIGN.h5 --group treatment|control\n"
             "                        [--campaign NAME]] [--personas P.h5 --persona N] [--explain]\n"
             "                        [--quiet]\n"
             "\n"
             "Write an audience list for downstream tools: the best customers by a score,\n"
             "best first, as columns pseudo_id,score. Raw customer ids never leave propscore:\n"
             "pseudo_id is SipHash-2-4 of the id under a secret 128-bit key (16 hex digits,\n"
             "after a 'p' where they would read as a number), the same for the same key and\n"
             "id (join lists from several runs with one key).\n",
    .epilog = "exit codes: 0 ok, 1 error, 2 usage\n"};

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
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block the run */
  if (fd < 0) return snprintf(msg, mn, "export: --id-key-file %s: %s", path, strerror(errno)), 1;
  char buf[256];
  struct stat st;
  ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, sizeof buf - 1) : -2;
  close(fd);
  if (n == -2) return snprintf(msg, mn, "export: --id-key-file %s: not a regular file", path), 1;
  if (n < 0) return snprintf(msg, mn, "export: --id-key-file %s: %s", path, strerror(errno)), 1;
  buf[n] = 0;
  char *s = buf;
  while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') s++;
  size_t len = 0;
  while (s[len] && strchr("0123456789abcdefABCDEF", s[len])) len++;
  char *rest = s + len;
  while (*rest == ' ' || *rest == '\n' || *rest == '\r' || *rest == '\t') rest++;
  if (len != 32 || rest != buf + n || st.st_size >= (off_t)sizeof buf)
    return snprintf(msg, mn, "export: --id-key-file %s: expected 32 hex digits (a 128-bit key, e.g. from "
                             "`openssl rand -hex 16`)%s", path, memchr(buf, 0, (size_t)n) ? "; it holds a NUL byte"
                             : st.st_size >= (off_t)sizeof buf ? "; it is too long" : ""), 1;
  uint8_t kb[16];
  for (int i = 0; i < 16; i++) {
    char h[3] = {s[2 * i], s[2 * i + 1], 0};
    kb[i] = (uint8_t)strtoul(h, NULL, 16);
  }
  *k0 = *k1 = 0;
  for (int i = 7; i >= 0; i--) *k0 = (*k0 << 8) | kb[i], *k1 = (*k1 << 8) | kb[8 + i];
  if (st.st_mode & S_IROTH) ps_warn("export: --id-key-file %s is readable by every user: chmod o-r it", path);
  if (!*k0 && !*k1) ps_warn("export: --id-key-file %s holds the all-zero key: pseudonyms are no secret", path);
  return 0;
}

/* Rank 0 reads the key; every rank gets it or dies with the same line. */
static void load_key(const char *path, uint64_t *k0, uint64_t *k1) {
  char msg[1024] = "";
  int bad = ps_rank == 0 ? read_key(path, k0, k1, msg, sizeof msg) : 0;
  comm_bcast(&bad, sizeof bad, 0);
  if (bad) {
    comm_bcast(msg, sizeof msg, 0);
    ps_die_all(PS_EXIT_USAGE, "%s", msg);
  }
  comm_bcast(k0, sizeof *k0, 0);
  comm_bcast(k1, sizeof *k1, 0);
}

/* The pseudonym of hash h: 16 hex digits, with a leading 'p' where a
 * spreadsheet would read them as a number (all digits, or digits e digits). */
static void pseudonym(uint64_t h, char out[18]) {
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
  size_t d = strspn(hex, "0123456789");
  int number = d == 16 || (d > 0 && hex[d] == 'e' && d < 15 && strspn(hex + d + 1, "0123456789") == 15 - d);
  snprintf(out, 18, "%s%s", number ? "p" : "", hex);
}

typedef struct {
  double score;
  int64_t id, src; /* src: on rank 0, its record in the gathered reasons (export_explain.h) */
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

/* This rank's rows of the scores and the rows kept by --holdout/--personas. */
typedef struct {
  const export_opts_t *o;
  int64_t N, row0, n;
  int64_t *ids;
  float *p;    /* the score of each row */
  uint8_t *in; /* the row is considered */
  export_explain_t x; /* with --explain */
  char *reasons;      /* with --explain: the picked rows' reasons, gathered on rank 0 */
} export_rows_t;

/* Keep only the rows of the --group of the --holdout file. */
static void keep_group(export_rows_t *r) {
  const export_opts_t *o = r->o;
  ps_h5_t hf = open_aligned(o->holdout, "holdout", o->scores, r->ids, r->N, r->row0, r->n);
  int nc = 0;
  char **camps = h5_list_datasets(hf, "/holdout", &nc);
  const char *camp = o->campaign;
  if (!camp) {
    if (nc != 1) ps_die_all(PS_EXIT_USAGE, "export: %s holds %d campaigns: name one with --campaign", o->holdout, nc);
    camp = camps[0];
  }
  int64_t hd[1];
  char *hn = ps_sprintf("/holdout/%s", camp);
  ps_h5_t gd = h5_dset_open(hf, o->holdout, hn, 1, PS_KIND_INT, "uint8", hd);
  h5_read_range(gd, PS_U8, r->row0, r->n, 0, r->in);
  h5_close(gd);
  int want = o->group == 1; /* control */
  for (int64_t i = 0; i < r->n; i++) r->in[i] = (r->in[i] != 0) == want;
  free(hn);
  ps_free_strv(camps);
  h5_close(hf);
}

/* Keep only the rows of --persona of the --personas file. */
static void keep_persona(export_rows_t *r) {
  const export_opts_t *o = r->o;
  ps_h5_t pf = open_aligned(o->personas, "personas", o->scores, r->ids, r->N, r->row0, r->n);
  int64_t pk = 0, pd1[1];
  if (!h5_get_attr_i64(pf, "k", &pk) || pk < 1)
    ps_die_all(PS_EXIT_ERROR, "%s: no attribute k (the number of personas): not written by propscore segment?",
               o->personas);
  if (o->persona >= pk)
    ps_die_all(PS_EXIT_USAGE, "export: --persona %lld: %s has personas 0 to %lld", (long long)o->persona,
               o->personas, (long long)(pk - 1));
  ps_h5_t pset = h5_dset_open(pf, o->personas, "/segments/persona", 1, PS_KIND_INT, "int32", pd1);
  int32_t *per = ps_malloc(sizeof(int32_t) * (size_t)(r->n > 0 ? r->n : 1));
  h5_read_range(pset, PS_I32, r->row0, r->n, 0, per);
  h5_close(pset);
  for (int64_t i = 0; i < r->n; i++) r->in[i] = r->in[i] && per[i] == o->persona;
  free(per);
  h5_close(pf);
}

/* The scores of column `name` and the rows considered (ids unique). */
static void read_rows(export_rows_t *r, const char *name) {
  const export_opts_t *o = r->o;
  ps_h5_t sf = scores_open(o->scores, "scores");
  r->ids = scores_read_ids(sf, o->scores, &r->N, &r->row0, &r->n);
  ps_data_t sd = {.path = o->scores};
  data_check_unique_ids(&sd, r->ids, r->row0, r->n);
  size_t nn = (size_t)(r->n > 0 ? r->n : 1);
  r->p = ps_malloc(sizeof(float) * nn);
  scores_read_head(sf, o->scores, name, r->N, r->row0, r->n, &PS_SCORE_FINITE, PS_F32, r->p);
  h5_close(sf);
  r->in = ps_malloc(nn);
  memset(r->in, 1, nn);
  if (o->holdout) keep_group(r);
  if (o->personas) keep_persona(r);
  if (o->explain) export_explain_read(&r->x, o->scores, o->by, r->N, r->row0, r->n);
}

/* The top rows considered over all ranks (ties: lower id), gathered on rank
 * 0 best first (*g of them); *M: the rows considered on all ranks. */
static pick_t *pick_top(export_rows_t *r, int64_t *g, int64_t *M) {
  int64_t m = 0;
  for (int64_t i = 0; i < r->n; i++) m += r->in[i];
  ps_offer_t *c = ps_malloc(sizeof(ps_offer_t) * (size_t)(m > 0 ? m : 1));
  for (int64_t i = 0, j = 0; i < r->n; i++)
    if (r->in[i]) c[j++] = (ps_offer_t){.value = (double)r->p[i], .id = r->ids[i], .slot = 0, .row = i};
  *M = m;
  comm_allreduce_sum_i64(M, 1);
  int64_t top = r->o->top >= 0 ? r->o->top : (int64_t)floor(r->o->top_percent / 100.0 * (double)*M + 1e-9);
  if (top > *M) top = *M;
  offers_sort(c, m);
  uint8_t *keep = ps_malloc((size_t)(m > 0 ? m : 1));
  offers_select_budget(c, m, top, keep);
  int64_t mine = 0;
  for (int64_t j = 0; j < m; j++) mine += keep[j];
  pick_t *pk = ps_malloc(sizeof(pick_t) * (size_t)(mine > 0 ? mine : 1));
  int64_t *rows = ps_malloc(sizeof(int64_t) * (size_t)(mine > 0 ? mine : 1));
  for (int64_t j = 0, q = 0; j < m; j++)
    if (keep[j]) rows[q] = c[j].row, pk[q++] = (pick_t){.score = c[j].value, .id = c[j].id};
  if (r->o->explain) r->reasons = export_explain_gather(&r->x, rows, mine);
  free(rows);
  free(keep);
  free(c);
  size_t total = 0;
  pick_t *all = comm_gatherv_bytes(pk, sizeof(pick_t) * (size_t)mine, &total, NULL);
  free(pk);
  *g = (int64_t)(total / sizeof(pick_t));
  for (int64_t i = 0; ps_rank == 0 && i < *g; i++) all[i].src = i; /* gathered in the same rank order */
  if (ps_rank == 0) qsort(all, (size_t)*g, sizeof(pick_t), by_score);
  return all;
}

/* The CSV to descriptor fd (closed here); 0, or -1 with errno. */
static int write_csv(int fd, const export_rows_t *r, const pick_t *all, int64_t g, uint64_t k0, uint64_t k1) {
  FILE *f = fdopen(fd, "w");
  if (!f) return close(fd), -1;
  fprintf(f, "pseudo_id,score");
  if (r->o->explain) export_explain_header(&r->x, f);
  fprintf(f, "\n");
  for (int64_t i = 0; i < g; i++) {
    char id[18];
    pseudonym(export_siphash(k0, k1, all[i].id), id);
    fprintf(f, "%s,%.17g", id, all[i].score);
    if (r->o->explain) export_explain_csv(&r->x, r->reasons, all[i].src, f);
    fprintf(f, "\n");
  }
  int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
  return fclose(f) != 0 || bad ? -1 : 0;
}

/* Run the Parquet helper: csv -> parquet; 0 ok. */
static int run_helper(const char *helper, const char *csv, const char *parquet) {
  pid_t pid = fork();
  if (pid == 0) {
    const char *py = getenv("PROPSCORE_PYTHON");
    if (!py || !*py) py = "python3";
    execlp(py, py, helper, csv, parquet, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  return pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ? -1 : 0;
}

/* Rank 0: the audience file, CSV or (through a CSV beside it) Parquet. */
static void write_audience(const export_rows_t *r, int parquet, const pick_t *all, int64_t g, uint64_t k0,
                           uint64_t k1) {
  const export_opts_t *o = r->o;
  ps_output_t *out = out_begin(o->out, 0);
  char *csvp = NULL;
  int fd = parquet ? out_side_tmp(out, &csvp) : open(out_tmp(out), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  const char *where = parquet ? (csvp ? csvp : o->out) : out_tmp(out);
  if (fd < 0 || write_csv(fd, r, all, g, k0, k1) != 0) ps_die_local("export: cannot write %s: %s", where, strerror(errno));
  if (parquet) {
    char *helper = helper_path();
    if (run_helper(helper, csvp, out_tmp(out)) != 0) {
      out_side_remove(csvp);
      ps_die_local("export: the Parquet helper %s failed ($PROPSCORE_PYTHON or python3, with pyarrow, is needed; "
                   "or write .csv)", helper);
    }
    out_side_remove(csvp);
    free(helper);
  }
  out_commit(out);
}

int export_run(const export_opts_t *o) {
  size_t ol = strlen(o->out);
  int parquet = ol > 8 && !strcmp(o->out + ol - 8, ".parquet");
  int csv = ol > 4 && !strcmp(o->out + ol - 4, ".csv");
  if (!parquet && !csv) ps_die_all(PS_EXIT_USAGE, "export: --out %s: name it .csv or .parquet", o->out);
  if (o->explain && o->uplift)
    ps_die_all(PS_EXIT_USAGE, "export: --explain is for /scores: uplift scores have no reason codes (score --explain "
                              "refuses uplift models)");
  uint64_t k0 = 0, k1 = 0;
  load_key(o->key_file, &k0, &k1);
  ps_path_t ins[4] = {{.role = "--scores", .path = o->scores}, {.role = "--id-key-file", .path = o->key_file}};
  int nin = 2;
  if (o->holdout) ins[nin++] = (ps_path_t){.role = "--holdout", .path = o->holdout};
  if (o->personas) ins[nin++] = (ps_path_t){.role = "--personas", .path = o->personas};
  ps_path_t outs[] = {{.role = "--out", .path = o->out}};
  out_check_paths(ins, nin, outs, 1);
  double t0 = ps_now();
  char *name = ps_sprintf("%s/%s", o->uplift ? "/uplift" : "/scores", o->by);
  export_rows_t r = {.o = o};
  read_rows(&r, name);
  int64_t g = 0, M = 0;
  pick_t *all = pick_top(&r, &g, &M);
  free(r.in);
  free(r.p);
  free(r.ids);
  if (ps_rank == 0) {
    write_audience(&r, parquet, all, g, k0, k1);
    char slice[64] = "";
    if (o->personas) snprintf(slice, sizeof slice, " of persona %lld", (long long)o->persona);
    ps_out("export: wrote %s: %lld of %lld customers%s%s%s by %s, pseudonymous ids, %.2f s", o->out, (long long)g,
           (long long)M, o->holdout ? " of the group " : "", o->holdout ? EXPORT_GROUPS[o->group] : "", slice, name,
           ps_now() - t0);
  }
  free(all);
  free(name);
  free(r.reasons);
  if (o->explain) export_explain_free(&r.x);
  comm_barrier();
  return 0;
}
