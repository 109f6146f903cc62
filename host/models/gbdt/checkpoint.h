/* checkpoint.h: the trees' training state between two trees -- the cuts,
 * every finished head's forest, the current head's trees so far, each
 * head's trace and early-stopping state -- so that a stopped run resumes
 * and ends bitwise identical to one that never stopped (the scores are
 * recomputed from the trees, in the same order). */
#ifndef PS_GBDT_CHECKPOINT_H
#define PS_GBDT_CHECKPOINT_H
#include <stdint.h>

#include "models/gbdt/model.h"

typedef struct {
  int head;            /* the head being trained */
  int64_t *best;       /* [k] best iteration so far */
  double *best_loss;   /* [k] */
  int *done;           /* [k] head finished */
  double **trace;      /* [k] [rows][3] */
  int64_t *trace_rows; /* [k] */
} ps_gbdt_state_t;

/* Collective: rank 0 writes atomically. */
void gbdt_ckpt_save(const char *path, const char *fingerprint, const ps_gbdt_model_t *m, const ps_gbdt_state_t *s);
/* Every rank: 0 if none; 1 with the model's trees and the state restored
 * (the model's bins must already be those of this data). Dies naming the
 * first differing setting if it is another run's. */
int gbdt_ckpt_load(const char *path, const char *fingerprint, ps_gbdt_model_t *m, ps_gbdt_state_t *s);
#endif
