/* train_job.h: the one training driver (train_job.c) and what it hands a
 * fit. A fit (gbdt_fit, logreg_fit) is a library call: the opened data,
 * its heads and a row mask in, a model and its metrics in memory out; it
 * writes no file but its checkpoint (through the hooks). The job owns the
 * rest for every kind: the outputs checked and MODEL.lock taken before any
 * work, the fingerprint, the checkpoint's path, the model write and the
 * manifest. `auto` and `--uplift` run several fits on one job. */
#ifndef PS_TRAIN_JOB_H
#define PS_TRAIN_JOB_H
#include <cJSON.h>
#include <stdint.h>

#include "io/data.h"
#include "io/h5.h"
#include "io/output.h"
#include "models/train.h"
#include "stats/metrics.h"

/* What a fit may do beyond its own memory. */
typedef struct {
  const char *ckpt;                  /* checkpoint file */
  const char *fp;                    /* fingerprint of this fit: another fit's checkpoint is refused */
  int every;                         /* also checkpoint every N passes or trees (0: on signals only) */
  int sig;                           /* out, when stopped: the signal */
  double t_fit;                      /* out, when stopped: seconds fitted */
} train_hooks_t;

/* A fit's input: the data (opened), its heads, the rows it may use. */
typedef struct {
  ps_data_t *d;
  char **targets; /* [k] */
  int k;
  const uint8_t *keep; /* [this rank's rows, labels.h] 1 = usable, or NULL: every row */
} train_input_t;

/* A model kind as the job drives it. fit returns the fitted model (NULL
 * when stopped by a signal after a checkpoint: *rc = PS_EXIT_STOPPED);
 * *rc may also be PS_EXIT_ERROR with a model to write (a head that made no
 * progress: the model is written and the job fails). */
typedef struct {
  const char *name; /* "logreg", "gbdt" */
  void *(*fit)(const train_opts_t *o, const train_input_t *in, train_hooks_t *hk, int *rc);
  double (*valid_loss)(const void *fit); /* validation log-loss summed over the heads */
  void (*write)(const void *fit, const train_opts_t *o, ps_output_t *out); /* rank 0 */
  void (*manifest)(const void *fit, const train_opts_t *o);                /* parameters, phases, metrics */
  /* the heads' results; then, with wrote (the model's path), the job's
   * last line (t0: when it began, ps_now()) */
  void (*print)(const void *fit, const train_opts_t *o, const char *wrote, double t0);
  void (*free)(void *fit);
  /* auto's cross-validation and blend (models/auto.c): the logits of raw
   * rows X [n][f] -> Z[h*n + i] (the scorer's CPU doubles); gbdt only: head
   * h's trees kept, and its trees written into another kind's model file
   * (every rank, the file opened collectively: the blend's). */
  void (*logits)(const void *fit, const float *X, int64_t n, double *Z);
  int64_t (*trees)(const void *fit, int h);
  void (*add_trees)(const void *fit, ps_h5_t fid);
} train_kind_t;
extern const train_kind_t logreg_kind, gbdt_kind;

/* `propscore train` after its options (cmd_train.c): one model, auto or
 * --uplift. Collective; returns the exit status. */
int train_job_run(train_opts_t *o);
/* --model-type auto (models/auto.c). */
int auto_train(const train_opts_t *o);

/* The validation log-loss summed over k heads (NaN without validation rows). */
double train_job_valid_loss(int k, double g_va, const ps_metrics_t *mva);
/* kind->fit with the hooks; a stopped fit (after its checkpoint) or one
 * whose head made no progress (*rc set) finishes the manifest and gives NULL. */
void *train_job_fit(const train_kind_t *kind, const train_opts_t *o, const train_input_t *in, train_hooks_t *hk,
                    int *rc);

/* The fingerprint text of a kind's fit: model type, version, data, heads,
 * the table's options of the common and the kind's sections, and `extra`
 * (or NULL). The caller frees. */
char *train_job_fingerprint(const train_opts_t *o, const train_kind_t *kind, const train_input_t *in,
                            const char *extra);
/* The manifest parameters of the common and the kind's table sections. */
void train_job_params(const train_opts_t *o, const train_kind_t *kind);
/* Opens --data into d; returns the heads (--targets, else every
 * /labels/<target>; *k of them), each checked to be a label; dies when
 * there is none. */
char **train_job_targets(const train_common_t *cm, ps_data_t *d, int *k);
/* --host-mem-limit; automatic (0): 60% of the available memory shared by
 * this node's ranks. */
int64_t train_job_mem_limit(const train_common_t *cm);
/* A run stopped by signal sig after writing checkpoint ckpt: says how to
 * resume and finishes the manifest (exit status: PS_EXIT_STOPPED). */
void train_job_stopped(int sig, const char *ckpt, double t_fit);
/* train --calibrate (collective; nothing without it): the model just written
 * to out's temporary file gets its calibration map (models/calibration.h);
 * in: the job's data and heads. */
void train_job_calibrate(const train_opts_t *o, const ps_output_t *out, const train_input_t *in);
/* A head's metrics in the manifest's object jo: train_auc, train_log_loss
 * and, when there are validation rows (valid not NULL), valid_auc,
 * valid_log_loss. */
void train_job_manifest_metrics(cJSON *jo, const ps_metrics_t *train, const ps_metrics_t *valid);
#endif
