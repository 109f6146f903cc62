/* model_file.h: what the model files of every kind write alike
 * (datasets/SCHEMA.md): the header attributes, the training input's
 * identity and each head's train/validation metrics. The kinds' model.c
 * call them in their own order among their own attributes. */
#ifndef PS_MODEL_FILE_H
#define PS_MODEL_FILE_H
#include "io/h5.h"
#include "io/output.h"
#include "stats/metrics.h"

/* Creates the model file at out's temporary name (serial HDF5, rank 0)
 * with schema_version, kind = "model", model_type, propscore_version and
 * created (now, UTC). */
ps_h5_t model_file_create(ps_output_t *out, const char *model_type);
/* The training data's identity: input_path (resolved when it can be),
 * input_size and input_mtime (when it can be stat'ed). */
void model_file_input(ps_h5_t fid, const char *input_path);
/* A head's /metrics/<target> attributes train_loss, train_auc and, with a
 * validation split (valid not NULL), valid_loss, valid_auc, valid_pr_auc. */
void model_file_metrics(ps_h5_t mh, const ps_metrics_t *train, const ps_metrics_t *valid);
#endif
