/* scores_file.h: reading the per-customer files propscore writes (scores,
 * holdout groups, personas: datasets/SCHEMA.md) from the jobs that use them
 * (eval, eval --uplift, segment --scores, offers, export): the file opened
 * with its `kind` checked, its /customer_id read or checked row for row
 * against another file's, a head's values read and range-checked, and the
 * train/valid split a scores file records. Every problem is one line naming
 * file, dataset and row; all calls are collective. */
#ifndef PS_SCORES_FILE_H
#define PS_SCORES_FILE_H
#include <stdint.h>

#include "io/data.h"
#include "io/h5.h"

/* Opens `path` read-only; dies "<path>: not a propscore <kind> file (kind =
 * K)" unless its `kind` attribute is `kind` ("scores", "holdout", ...). */
ps_h5_t scores_open(const char *path, const char *kind);

/* The file's /customer_id: its row count into *N, this rank's rows
 * [*row0, *row0 + *n) of it (ps_partition), returned (ps_malloc'ed, at
 * least one element). */
int64_t *scores_read_ids(ps_h5_t f, const char *path, int64_t *N, int64_t *row0, int64_t *n);

/* Dies unless the file's /customer_id has N rows ("<path>: /customer_id
 * has R rows but <what> <other> has N") and equals `ids` on this rank's
 * rows [row0, row0 + n) ("<path>: /customer_id row R differs from <what>
 * <other> (made from other data?)"). */
void scores_check_ids(ps_h5_t f, const char *path, const int64_t *ids, int64_t N, int64_t row0, int64_t n,
                      const char *what, const char *other);

/* This rank's rows [*row0, *row0 + *n) of the data file d (ps_partition)
 * and their customer ids, returned (ps_malloc'ed, at least one element),
 * after scores_check_ids has matched them with the scores file's. */
int64_t *scores_data_ids(ps_h5_t sf, const char *path, const ps_data_t *d, int64_t *row0, int64_t *n);

/* What a head's values must be: in [lo, hi] (NaN never is); a value that is
 * not is reported as "<noun> V is not <rule>". */
typedef struct {
  double lo, hi;
  const char *noun, *rule;
} ps_score_range_t;
extern const ps_score_range_t PS_SCORE_PROBABILITY; /* score in [0, 1] */
extern const ps_score_range_t PS_SCORE_UPLIFT;      /* uplift in [-1, 1] */
extern const ps_score_range_t PS_SCORE_FINITE;      /* any finite score */

/* Reads this rank's rows [row0, row0 + n) of the float dataset `name`
 * (e.g. "/scores/churn") into out as `type` (PS_F32 or PS_F64). Dies unless it has N rows, as the
 * file's /customer_id ("<path>: <name> has R rows but /customer_id has
 * N"), or at the first value outside `range` ("<path>: <name> row R:
 * <noun> V is not <rule>"). */
void scores_read_head(ps_h5_t f, const char *path, const char *name, int64_t N, int64_t row0, int64_t n,
                      const ps_score_range_t *range, ps_dtype_t type, void *out);

/* The split an evaluation uses. *holdout and *salt < 0 take the scores
 * file's attributes (holdout, split_salt; 0 where absent); split NULL is
 * "valid" when there is a holdout, else "all". Dies (usage) for a split
 * other than "all" without a holdout. Returns the split. */
const char *scores_split(ps_h5_t sf, const char *split, double *holdout, int64_t *salt);
/* keep[i] = 1 iff row i (customer ids[i]) is in the split ("all", "valid":
 * the id-hashed holdout, "train": the rest). */
void scores_split_keep(const int64_t *ids, int64_t n, const char *split, double holdout, int64_t salt,
                       uint8_t *keep);
#endif
