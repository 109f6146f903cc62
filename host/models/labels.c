/* labels.c: labeled rows and the train/validation split (see labels.h). */
#include "models/labels.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/parse.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"

uint8_t *labels_head(const uint8_t *Y, int64_t n, int k, int h) {
  uint8_t *y = ps_malloc((size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) y[i] = Y[(size_t)i * (size_t)k + (size_t)h];
  return y;
}

uint8_t *labels_group_mask(ps_data_t *d, const char *label, int value) {
  int64_t row0, n;
  ps_partition(d->n, ps_size, ps_rank, &row0, &n);
  uint8_t *keep = ps_malloc((size_t)(n > 0 ? n : 1));
  data_read_labels(d, label, row0, n, 1, 0, keep);
  for (int64_t i = 0; i < n; i++) keep[i] = keep[i] == value;
  return keep;
}

void labels_load(ps_data_t *d, char *const *targets, int k, double holdout, int64_t salt, const uint8_t *keep,
                 ps_labeled_t *l) {
  memset(l, 0, sizeof *l);
  l->k = k;
  ps_partition(d->n, ps_size, ps_rank, &l->row0, &l->n);
  int64_t n = l->n;
  size_t nn = (size_t)(n > 0 ? n : 1);
  uint8_t *Y = ps_malloc(nn * (size_t)k);
  for (int h = 0; h < k; h++) data_read_labels(d, targets[h], l->row0, n, k, h, Y);
  l->ids = ps_malloc(sizeof(int64_t) * nn);
  data_read_ids(d, l->row0, n, l->ids);
  data_check_unique_ids(d, l->ids, l->row0, n);
  l->train = ps_malloc(nn);
  for (int64_t i = 0; i < n; i++) {
    int va = holdout > 0 && ps_id_unit(l->ids[i], (uint64_t)salt) < holdout;
    if (keep && keep[i] >= PS_KEEP_TRAIN) va = keep[i] == PS_KEEP_VALID;
    l->train[i] = keep && !keep[i] ? PS_ROW_NONE : va ? PS_ROW_VALID : PS_ROW_TRAIN;
    l->n_tr += l->train[i] == PS_ROW_TRAIN;
    l->n_va += l->train[i] == PS_ROW_VALID;
  }
  double cnt[2] = {(double)l->n_tr, (double)l->n_va};
  comm_allreduce_sum_f64(cnt, 2);
  l->g_tr = cnt[0];
  l->g_va = cnt[1];
  if (l->g_tr < 2)
    ps_die_all(PS_EXIT_ERROR, "%s: only %.0f training rows after --holdout %g", d->path, cnt[0], holdout);
  l->n_pos = ps_calloc((size_t)k, sizeof(double));
  for (int h = 0; h < k; h++) { /* integer counts: the same as adding 0/1 doubles */
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += (l->train[i] == PS_ROW_TRAIN) & Y[(size_t)i * (size_t)k + (size_t)h];
    l->n_pos[h] = (double)c;
  }
  comm_allreduce_sum_f64(l->n_pos, (size_t)k);
  for (int h = 0; h < k; h++)
    if (l->n_pos[h] == 0 || l->n_pos[h] == l->g_tr)
      ps_die_all(PS_EXIT_ERROR, "%s: /labels/%s: every training label is %d; a model needs both classes", d->path,
                 targets[h], l->n_pos[h] == 0 ? 0 : 1);
  l->Ytr = ps_malloc((size_t)(l->n_tr > 0 ? l->n_tr : 1) * (size_t)k);
  l->Yva = ps_malloc((size_t)(l->n_va > 0 ? l->n_va : 1) * (size_t)k);
  for (int64_t i = 0, itr = 0, iva = 0; i < n; i++) {
    if (l->train[i] == PS_ROW_NONE) continue;
    uint8_t *to = l->train[i] == PS_ROW_TRAIN ? l->Ytr + (size_t)itr++ * (size_t)k : l->Yva + (size_t)iva++ * (size_t)k;
    for (int h = 0; h < k; h++) to[h] = Y[(size_t)i * (size_t)k + (size_t)h];
  }
  free(Y);
}

void labels_free(ps_labeled_t *l) {
  free(l->train);
  free(l->ids);
  free(l->Ytr);
  free(l->Yva);
  free(l->n_pos);
  memset(l, 0, sizeof *l);
}

void labels_class_weights(const ps_labeled_t *l, const char *spec, double *w_pos, double *w_neg, double *ratio) {
  int k = l->k;
  double *pw = ps_malloc(sizeof(double) * (size_t)k);
  int *bal = ps_calloc((size_t)k, sizeof(int));
  ps_parse_per_target("--pos-weight", spec, k, pw, bal, 1e-6, 1e6);
  for (int h = 0; h < k; h++) {
    double np = l->n_pos[h], nn = l->g_tr - np;
    w_pos[h] = bal[h] ? l->g_tr / (2.0 * np) : pw[h];
    w_neg[h] = bal[h] ? l->g_tr / (2.0 * nn) : 1.0;
    ratio[h] = w_pos[h] / w_neg[h];
  }
  free(pw);
  free(bal);
}
