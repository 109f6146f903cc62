/* uplift_scorer.h: the two-model uplift model file (kind "model",
 * model_type "uplift"), written and read in one place (uplift_scorer.c):
 * it names its treated and control sub-models (beside it), and all three
 * carry the same uplift_run_id, so a set whose parts come from different
 * train --uplift runs is refused when scored. The reader is scorer.h's
 * uplift_scorer_open. */
#ifndef PS_UPLIFT_MODEL_H
#define PS_UPLIFT_MODEL_H
#include <stdint.h>

#include "io/output.h"

typedef struct {
  const char *base_model_type;      /* "logreg" or "gbdt" */
  const char *treatment;            /* /labels/<treatment>: 1 = treated */
  const char *treated, *control;    /* the sub-models' paths (their base names are kept) */
  double holdout;
  int64_t split_salt;
  const char *run_id;               /* shared by the three files */
} uplift_model_t;

/* Rank 0: the uplift model into out's temporary (the caller commits it). */
void uplift_model_write(ps_output_t *out, const uplift_model_t *m);
/* Collective: marks a sub-model written at `path` (closed) with the run id. */
void uplift_model_mark_part(const char *path, const char *run_id);
#endif
