/* export_explain.c: export --explain (see export_explain.h). */
#include "targeting/export_explain.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/scores_file.h"

/* Dies unless the scores file has `name`; what it needs, said once. */
static void need(ps_h5_t f, const char *scores, const char *name) {
  if (!h5_exists(f, name))
    ps_die_all(PS_EXIT_USAGE, "export: --explain: %s has no %s: it needs a scores file written by score --explain N",
               scores, name);
}

void export_explain_read(export_explain_t *x, const char *scores, const char *by, int64_t N, int64_t row0,
                         int64_t n) {
  ps_h5_t f = scores_open(scores, "scores");
  char *fn = ps_sprintf("/explain/%s/feature", by), *vn = ps_sprintf("/explain/%s/value", by);
  need(f, scores, "/explain");
  need(f, scores, "/explain/feature_names");
  need(f, scores, fn);
  need(f, scores, vn);
  x->names = h5_read_strings(f, scores, "/explain/feature_names", &x->nf);
  int64_t fd[2], vd[2];
  ps_h5_t fs = h5_dset_open(f, scores, fn, 2, PS_KIND_INT, "int16", fd);
  ps_h5_t vs = h5_dset_open(f, scores, vn, 2, PS_KIND_FLOAT, "float32", vd);
  if (fd[0] != N || vd[0] != N || fd[1] != vd[1] || fd[1] < 1)
    ps_die_all(PS_EXIT_ERROR, "%s: %s [%lld, %lld] and %s [%lld, %lld] do not fit /customer_id's %lld rows", scores,
               fn, (long long)fd[0], (long long)fd[1], vn, (long long)vd[0], (long long)vd[1], (long long)N);
  x->top = fd[1];
  size_t cells = (size_t)(n > 0 ? n : 1) * (size_t)x->top;
  x->feat = ps_malloc(sizeof(int16_t) * cells);
  x->val = ps_malloc(sizeof(float) * cells);
  h5_read_range(fs, PS_I16, row0, n, x->top, x->feat);
  h5_read_range(vs, PS_F32, row0, n, x->top, x->val);
  h5_close(fs);
  h5_close(vs);
  h5_close(f);
  for (int64_t i = 0; i < n * x->top; i++)
    if (x->feat[i] < 0 || x->feat[i] >= x->nf)
      ps_die_local("%s: %s row %lld column %lld: feature %d is not one of the %lld in /explain/feature_names", scores,
                   fn, (long long)(row0 + i / x->top), (long long)(i % x->top), x->feat[i], (long long)x->nf);
  free(fn);
  free(vn);
}

size_t export_explain_record(const export_explain_t *x) {
  return (size_t)x->top * (sizeof(float) + sizeof(int16_t));
}

char *export_explain_gather(const export_explain_t *x, const int64_t *rows, int64_t m) {
  size_t rec = export_explain_record(x), t = (size_t)x->top, total = 0;
  char *mine = ps_malloc(rec * (size_t)(m > 0 ? m : 1));
  for (int64_t j = 0; j < m; j++) { /* a record: the values, then the features */
    memcpy(mine + rec * (size_t)j, x->val + (size_t)rows[j] * t, sizeof(float) * t);
    memcpy(mine + rec * (size_t)j + sizeof(float) * t, x->feat + (size_t)rows[j] * t, sizeof(int16_t) * t);
  }
  char *all = comm_gatherv_bytes(mine, rec * (size_t)m, &total, NULL);
  free(mine);
  return all;
}

void export_explain_header(const export_explain_t *x, FILE *f) {
  for (int64_t r = 1; r <= x->top; r++) fprintf(f, ",reason_%lld,contribution_%lld", (long long)r, (long long)r);
}

/* A name as a CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break. */
static void csv_field(const char *s, FILE *f) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

void export_explain_csv(const export_explain_t *x, const char *gathered, int64_t r, FILE *f) {
  const char *rec = gathered + export_explain_record(x) * (size_t)r;
  for (int64_t k = 0; k < x->top; k++) {
    float v;
    int16_t j;
    memcpy(&v, rec + sizeof(float) * (size_t)k, sizeof v);
    memcpy(&j, rec + sizeof(float) * (size_t)x->top + sizeof(int16_t) * (size_t)k, sizeof j);
    fputc(',', f);
    csv_field(x->names[j], f);
    fprintf(f, ",%.9g", (double)v);
  }
}

void export_explain_free(export_explain_t *x) {
  free(x->feat);
  free(x->val);
  if (x->names) ps_free_strv(x->names);
  memset(x, 0, sizeof *x);
}
