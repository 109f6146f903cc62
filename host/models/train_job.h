/* train_job.h: the steps of a training job that every model kind takes
 * alike (models/logreg/train.c, models/gbdt/train.c): outputs checked
 * before any work, the data and its heads, the host memory limit, a stop
 * after a checkpoint, each head's metrics in the manifest. */
#ifndef PS_TRAIN_JOB_H
#define PS_TRAIN_JOB_H
#include <cJSON.h>
#include <stdint.h>

#include "io/data.h"
#include "models/train.h"
#include "stats/metrics.h"

/* Checks the outputs against --data before any work (the model, the
 * checkpoint: --checkpoint or MODEL.ckpt, the manifest MODEL.manifest.json)
 * and sends the manifest there. *ckpt, *manifest: the caller frees. */
void train_job_outputs(const train_common_t *cm, char **ckpt, char **manifest);
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
/* A head's metrics in the manifest's object jo: train_auc, train_log_loss
 * and, when there are validation rows (valid not NULL), valid_auc,
 * valid_log_loss. */
void train_job_manifest_metrics(cJSON *jo, const ps_metrics_t *train, const ps_metrics_t *valid);
#endif
