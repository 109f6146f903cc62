/* calibration.h: a model's probability calibration (train --calibrate,
 * issue 27): the map per head stored in the model file (datasets/SCHEMA.md:
 * attribute `calibration` = isotonic|platt, /calibration/<target>/{x,y} or
 * that group's attributes a, b), fitted by train on the validation rows'
 * scores (calibration_fit.h) and applied by every scorer opened from the
 * file (calibration.c wraps it). */
#ifndef PS_CALIBRATION_H
#define PS_CALIBRATION_H
#include "io/h5.h"
#include "models/scorer.h"

enum { PS_CALIB_NONE = 0, PS_CALIB_ISOTONIC = 1, PS_CALIB_PLATT = 2 };
extern const char *const PS_CALIB_NAMES[]; /* "none", "isotonic", "platt", NULL */

/* The raw score Platt scaling sees: the log-odds of a (float) probability,
 * clamped to [1e-15, 1 - 1e-15] first. */
double calibration_logit(float p);

/* s as opened from the file fid (path): unchanged when the file has no
 * calibration, else a scorer whose probabilities are calibrated (it owns s). */
ps_scorer_t *calibration_wrap(ps_h5_t fid, const char *path, ps_scorer_t *s);

#endif
