/* export_explain.h: export --explain -- the reason codes of the exported
 * customers: each one's strongest features for the --by head, by name (the
 * scores file's /explain/feature_names), and their signed contributions to
 * the log-odds (/explain/<by>/feature and value, datasets/SCHEMA.md), read
 * from a scores file written by `score --explain N` and written as CSV
 * columns reason_1,contribution_1,...,reason_N,contribution_N beside the
 * pseudonym and score. */
#ifndef PS_EXPORT_EXPLAIN_H
#define PS_EXPORT_EXPLAIN_H
#include <stdint.h>
#include <stdio.h>

typedef struct {
  int64_t top;   /* N of the scores file */
  int16_t *feat; /* this rank's rows [n][top] */
  float *val;    /* [n][top] */
  char **names;  /* [nf] */
  int64_t nf;
} export_explain_t;

/* Collective: this rank's rows [row0, row0 + n) of /explain/<by> of the
 * scores file (N rows in all). Dies (one line naming the file and what is
 * missing) when the file has no /explain, no /explain/<by> or no
 * /explain/feature_names, or at a feature index outside the names. */
void export_explain_read(export_explain_t *x, const char *scores, const char *by, int64_t N, int64_t row0,
                         int64_t n);
/* Collective: the reasons of this rank's rows `rows` [m] (local indices),
 * gathered on rank 0 in rank order (records of export_explain_record
 * bytes); NULL elsewhere. */
char *export_explain_gather(const export_explain_t *x, const int64_t *rows, int64_t m);
size_t export_explain_record(const export_explain_t *x);
/* The CSV header's reason columns, and record r of a gathered buffer, each starting with ','. */
void export_explain_header(const export_explain_t *x, FILE *f);
void export_explain_csv(const export_explain_t *x, const char *gathered, int64_t r, FILE *f);
void export_explain_free(export_explain_t *x);
#endif
