/* labels.h: a rank's labeled rows for training any model kind: every
 * target's labels (exactly 0 or 1), the customer ids (checked unique), the
 * train/validation split by a hash of the id (the same for any rank count
 * and row order), each split's labels and the positives per head; and the
 * class weights (--pos-weight). */
#ifndef PS_LABELS_H
#define PS_LABELS_H
#include <stdint.h>

#include "io/data.h"

/* A row's place (ps_labeled_t.train): in the training split, in the
 * validation split, or in neither (another group's row under train
 * --uplift: it never reaches the fit, its statistics or its metrics). */
enum { PS_ROW_VALID = 0, PS_ROW_TRAIN = 1, PS_ROW_NONE = 2 };

typedef struct {
  int k;
  int64_t row0, n;       /* this rank's rows of the file */
  int64_t n_tr, n_va;    /* this rank's rows of each split */
  double g_tr, g_va;     /* rows of each split in all ranks */
  uint8_t *train;        /* [n] each row's split: PS_ROW_TRAIN, PS_ROW_VALID or PS_ROW_NONE */
  int64_t *ids;          /* [n] customer ids */
  uint8_t *Ytr, *Yva;    /* [n_tr][k], [n_va][k] */
  double *n_pos;         /* [k] training positives in all ranks */
} ps_labeled_t;

/* keep values beyond 0/1: a row of this fit in the split named, whatever
 * the holdout hash says (auto's cross-validation folds). */
enum { PS_KEEP_TRAIN = 2, PS_KEEP_VALID = 3 };

/* Collective. keep: [this rank's rows] 1 = a row of this fit (split by
 * the holdout hash), PS_KEEP_TRAIN / PS_KEEP_VALID = in that split, 0 = in
 * neither split (PS_ROW_NONE); NULL: every row. Dies naming the file and
 * target if a head has one class only in the training split, or if fewer
 * than 2 training rows remain. */
void labels_load(ps_data_t *d, char *const *targets, int k, double holdout, int64_t salt, const uint8_t *keep,
                 ps_labeled_t *l);
void labels_free(ps_labeled_t *l);
/* A row mask for labels_load (caller frees): this rank's rows whose
 * /labels/<label> (checked 0/1) is `value` (train --uplift's groups). */
uint8_t *labels_group_mask(ps_data_t *d, const char *label, int value);
/* Labels of head h of a split (Y [n][k]) as a contiguous array (caller frees). */
uint8_t *labels_head(const uint8_t *Y, int64_t n, int k, int h);
/* Class weights from --pos-weight ("x", "x,y,...", "balanced"): w_pos and
 * w_neg per head, and the ratio w_pos / w_neg for reports. */
void labels_class_weights(const ps_labeled_t *l, const char *spec, double *w_pos, double *w_neg, double *ratio);
#endif
