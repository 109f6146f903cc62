/* auto_calibrate.h: train --model-type auto --calibrate with K >= 2 folds
 * (auto_calibrate.c): the calibration map fitted on out-of-fold scores --
 * every training row scored once, by the chosen candidate's fit of the fold
 * that left it out -- and stored in the refitted model as the single-split
 * path stores it (calibration_fit.h), so score applies it unchanged. */
#ifndef PS_AUTO_CALIBRATE_H
#define PS_AUTO_CALIBRATE_H
#include <stdint.h>

#include "io/output.h"
#include "models/train_job.h"

/* The out-of-fold logits' store ([candidate][head][this rank's row], nc
 * candidates: auto_cv.h's scores' oof) when o asks for calibration and
 * folds >= 2, else NULL. */
double *auto_calib_alloc(const train_opts_t *o, const train_input_t *in, int folds, int nc);
/* A fold's logits of its validation rows (mask, in row order; m of them on
 * this rank of n rows): Z[c][h*m + r] for nc candidates and k heads into
 * oof (nothing when NULL). */
void auto_calib_keep(double *oof, int nc, int k, const uint8_t *mask, int64_t n, int64_t m, double *const *Z);
/* Collective: the map of each head fitted on its chosen candidate's
 * (wins[h]) out-of-fold probabilities (oof) and written into out's
 * temporary model file; oof NULL (one fold): train_job_calibrate's map of
 * the --holdout split. Nothing without --calibrate. */
void auto_calibrate(const train_opts_t *o, const ps_output_t *out, const train_input_t *in, const double *oof,
                    const int *wins);
#endif
