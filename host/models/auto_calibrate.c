/* auto_calibrate.c: --calibrate inside auto's cross-validation (see
 * auto_calibrate.h). The map of head h is fitted on the probabilities that
 * `score` would write for each row from the fold fit that did not see it:
 * the float32 sigmoid of the chosen candidate's logit (the blend's: the
 * blend's logit, as blend_scorer.c). The rows are gathered on rank 0 and
 * fitted sorted by (probability, label) -- the order isotonic regression
 * sorts them in anyway (stats/calibrate.c, ties by label) -- so Platt's
 * sums too run in an order that depends neither on the rank count nor on
 * the rows' order in the file: the same scores give the same map bits. A
 * stop and resume refits the folds, so their scores come back bit for
 * bit. */
#define _POSIX_C_SOURCE 200809L
#include "models/auto_calibrate.h"

#include <stdlib.h>

#include "comm/comm.h"
#include "common/psmath.h"
#include "core/partition.h"
#include "core/util.h"
#include "io/manifest.h"
#include "models/calibration.h"
#include "models/calibration_fit.h"
#include "models/labels.h"

double *auto_calib_alloc(const train_opts_t *o, const train_input_t *in, int folds, int nc) {
  if (!o->cm.calibrate || folds < 2) return NULL;
  int64_t row0, n;
  ps_partition(in->d->n, ps_size, ps_rank, &row0, &n);
  return ps_calloc((size_t)nc * (size_t)in->k * (size_t)(n > 0 ? n : 1), sizeof(double));
}

void auto_calib_keep(double *oof, int nc, int k, const uint8_t *mask, int64_t n, int64_t m, double *const *Z) {
  if (!oof) return;
  for (int c = 0; c < nc; c++)
    for (int64_t h = 0; h < k; h++) {
      double *o = oof + ((size_t)c * (size_t)k + (size_t)h) * (size_t)n;
      for (int64_t i = 0, r = 0; i < n; i++)
        if (mask[i] == PS_KEEP_VALID) o[i] = Z[c][h * m + r++];
    }
}

/* Head h's rows: v[2 i] the out-of-fold probability, v[2 i + 1] the label. */
static double *head_rows(const train_input_t *in, const double *oof, int h, int c, int64_t row0, int64_t n) {
  const double *z = oof + ((size_t)c * (size_t)in->k + (size_t)h) * (size_t)n;
  uint8_t *y = ps_malloc((size_t)(n > 0 ? n : 1));
  data_read_labels(in->d, in->targets[h], row0, n, 1, 0, y);
  double *v = ps_malloc(sizeof(double) * 2 * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    v[2 * i] = (double)(float)ps_sigmoid(z[i]); /* what score writes */
    v[2 * i + 1] = (double)y[i];
  }
  free(y);
  return v;
}

void auto_calibrate(const train_opts_t *o, const ps_output_t *out, const train_input_t *in, const double *oof,
                    const int *wins) {
  if (!o->cm.calibrate) return;
  if (!oof) {
    train_job_calibrate(o, out, in);
    return;
  }
  comm_barrier(); /* the model is written */
  int64_t row0, n, rows;
  ps_partition(in->d->n, ps_size, ps_rank, &row0, &n);
  double **v = ps_malloc(sizeof(double *) * (size_t)in->k);
  for (int h = 0; h < in->k; h++) v[h] = head_rows(in, oof, h, wins[h], row0, n);
  calib_maps_t c = {.model = out_tmp(out), .kind = o->cm.calibrate, .targets = in->targets, .k = in->k, .v = v,
                    .nv = n, .keep_scores = o->calibration_scores, .order_free = 1};
  calibration_write_maps(&c);
  for (int h = 0; h < in->k; h++) free(v[h]);
  free(v);
  rows = in->d->n;
  char *on = ps_sprintf("out-of-fold, %lld rows", (long long)rows);
  manifest_param_str("calibrate", PS_CALIB_NAMES[o->cm.calibrate]);
  manifest_param_str("calibrated_on", on);
  free(on);
}
