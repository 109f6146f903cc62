/* export.h: the export job -- an audience list for downstream tools. The
 * top N (or top P%) customers by a score (/scores/<by>, or /uplift/<by>),
 * optionally only those of one group of a holdout file and/or of one
 * persona of a personas file (propscore segment), are written by rank
 * 0 as CSV (pseudo_id,score) or Parquet (the same columns, converted from
 * the CSV by scripts/csv_to_parquet.py with pyarrow), best first. Customer
 * ids never leave the job: each is replaced by its pseudonym, SipHash-2-4
 * of the id (8 bytes, little-endian) under a 128-bit key read from a key
 * file (32 hex digits), as 16 hex digits (with a leading 'p' where they
 * would read as a number: digits only, or digits 'e' digits). The file is
 * written under a temporary name (0600) and renamed 0640 when complete; the
 * CSV a Parquet file is made from is another output temporary. Ties at the
 * cut go to the lower customer id (exact for any rank count); repeated ids
 * are refused. With --explain, each customer's reason codes follow
 * (targeting/export_explain.h). */
#ifndef PS_EXPORT_H
#define PS_EXPORT_H
#include <stdint.h>

#include "core/options.h"

typedef struct {
  const char *scores, *by, *out, *key_file, *holdout, *campaign, *personas;
  int group;       /* with holdout: index in EXPORT_GROUPS (0 treatment, 1 control) */
  int64_t persona; /* with personas: the persona kept */
  int64_t top;        /* < 0: use top_percent */
  double top_percent; /* < 0: use top */
  int uplift;
  int explain; /* --explain: each customer's reason codes (targeting/export_explain.h) */
} export_opts_t;

/* `propscore export`: its options (one table) and help; --group's words. */
extern const ps_cmd_spec_t export_cmd;
extern const char *const EXPORT_GROUPS[];

int export_run(const export_opts_t *o);
/* SipHash-2-4 of 8 bytes (little-endian id) under key k0, k1. */
uint64_t export_siphash(uint64_t k0, uint64_t k1, int64_t id);
#endif
