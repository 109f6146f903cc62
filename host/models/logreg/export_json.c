/* export_json.c: export-model for logistic regression (models/export_model.h):
 * the model as a small JSON file that any tool can score with
 * (datasets/SCHEMA.md): the model columns (input feature, value or missing
 * indicator, training mean and 1/std), and per head the weights and the
 * intercept; "formula" says how they make a probability. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "comm/comm.h"
#include "common/psmath.h"
#include "core/util.h"
#include "io/output.h"
#include "models/export_model.h"
#include "models/logreg/model.h"

static const char *const FORMULA =
    "p = 1 / (1 + exp(-z)), z = intercept + sum over columns c of weights[c] * s_c, s_c = float32((v - mean) * "
    "scale) where for a 'value' column v = x[feature] (s_c = 0 when x[feature] is NaN or +-Inf: imputed by the "
    "training mean), for a 'missing' column v = 1 if x[feature] is NaN or +-Inf, else 0, and for a 'category' "
    "column v = 1 if x[feature] equals its code, else 0";

static cJSON *columns_json(const ps_model_t *m) {
  cJSON *cols = cJSON_CreateArray();
  for (int64_t j = 0; j < m->c; j++) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "feature", (double)m->src[j]);
    cJSON_AddStringToObject(c, "name", m->feature_names[m->src[j]]);
    cJSON_AddStringToObject(c, "kind", m->kind[j] >= PS_COL_CATEGORY ? "category"
                                       : m->kind[j] == PS_COL_MISSING ? "missing" : "value");
    if (m->kind[j] >= PS_COL_CATEGORY) cJSON_AddNumberToObject(c, "code", m->kind[j] - PS_COL_CATEGORY);
    cJSON_AddNumberToObject(c, "mean", m->mean[j]);
    cJSON_AddNumberToObject(c, "scale", m->scale[j]);
    cJSON_AddItemToArray(cols, c);
  }
  return cols;
}

static char *logreg_json_text(const ps_model_t *m) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "format", "propscore-logreg");
  cJSON_AddNumberToObject(r, "version", 1);
  cJSON_AddStringToObject(r, "model_type", "logreg");
  cJSON_AddStringToObject(r, "formula", FORMULA);
  cJSON *names = cJSON_AddArrayToObject(r, "features");
  for (int64_t j = 0; j < m->f; j++) cJSON_AddItemToArray(names, cJSON_CreateString(m->feature_names[j]));
  cJSON_AddItemToObject(r, "columns", columns_json(m));
  cJSON *heads = cJSON_AddArrayToObject(r, "heads");
  int64_t c1 = m->c + 1;
  for (int h = 0; h < m->k; h++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "target", m->targets[h]);
    cJSON_AddNumberToObject(o, "intercept", m->theta[h * c1 + m->c]);
    cJSON_AddItemToObject(o, "weights", cJSON_CreateDoubleArray(m->theta + h * c1, (int)m->c));
    cJSON_AddItemToArray(heads, o);
  }
  char *text = cJSON_Print(r);
  cJSON_Delete(r);
  if (!text) ps_die_local("export-model: out of memory");
  return text;
}

void logreg_export_json(const export_model_opts_t *o, ps_h5_t fid) {
  if (o->target) ps_die_all(PS_EXIT_USAGE, "export-model: --target is for trees models (the JSON holds every head)");
  ps_model_t m;
  logreg_model_read(fid, o->model, &m);
  ps_path_t in[] = {{"--model", o->model}}, outs[] = {{"--out", o->out}};
  out_check_paths(in, 1, outs, 1);
  if (ps_rank == 0) {
    char *text = logreg_json_text(&m);
    ps_output_t *out = out_begin(o->out, 0);
    FILE *f = fopen(out_tmp(out), "w");
    if (!f || fputs(text, f) < 0 || fflush(f) != 0 || ferror(f) || fclose(f) != 0)
      ps_die_local("export-model: cannot write %s: %s", o->out, strerror(errno));
    out_commit(out);
    free(text);
    ps_out("export-model: wrote %s: %d head%s, %lld columns, JSON", o->out, m.k, m.k == 1 ? "" : "s",
           (long long)m.c);
  }
  logreg_model_free(&m);
}
