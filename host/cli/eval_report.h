/* eval_report.h: eval --report DIR: the HTML report of an eval run, drawn by
 * scripts/report.py (python3 + matplotlib) into a directory written safely
 * (a temporary directory swapped in whole). */
#ifndef PS_EVAL_REPORT_H
#define PS_EVAL_REPORT_H
#include <stddef.h>

#include "io/output.h"

typedef struct {
  const char *flag, *role, *path; /* report.py's option, ours for messages, the file */
} eval_report_extra_t;

typedef struct {
  const char *dir;
  eval_report_extra_t extra[8]; /* --report-gate etc., passed to report.py */
  int nextra;
} eval_report_t;

/* Collective, before the work: dies if DIR cannot be a report directory or
 * an extra file is missing; returns 1 (with a warning printed and msg set)
 * when the script or its Python cannot run -- eval still computes and
 * prints its metrics, then fails with msg. */
int eval_report_check(const eval_report_t *r, const ps_path_t *inputs, int nin, char *msg, size_t n);

/* Collective: rank 0 writes DIR from the eval JSON (json: rank 0's);
 * 0 on success, else 1 on every rank with msg. */
int eval_report_write(const eval_report_t *r, const char *json, char *msg, size_t n);
#endif
