/* l1_weights.c: the adaptive lasso's per-weight L1 factors from a first
 * fit's model file (l1_weights.h). The file must describe the same model
 * columns (feature names, source and kind of each column) and hold every
 * head being trained; its weights are read as stored (standardized units). */
#include "models/logreg/l1_weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/h5.h"

void l1w_read(const char *path, ps_model_t *m) {
  ps_h5_t fid = h5_open(path, 0);
  char *type = h5_get_attr_str(fid, "model_type");
  if (!type || strcmp(type, "logreg"))
    ps_die_all(PS_EXIT_USAGE, "%s: --l1-weights needs a logreg model file (model_type is '%s')", path,
               type ? type : "absent");
  free(type);
  logreg_model_read(fid, path, m);
  h5_close(fid);
}

/* The model's columns must be this fit's: one line on the first difference. */
static void check_columns(const ps_model_t *m, const char *path, char *const *names, int64_t f,
                          const ps_columns_t *cols) {
  if (m->f != f)
    ps_die_all(PS_EXIT_USAGE, "%s: %lld input features, the data has %lld: --l1-weights needs a model of these columns",
               path, (long long)m->f, (long long)f);
  for (int64_t j = 0; j < f; j++)
    if (strcmp(m->feature_names[j], names[j]))
      ps_die_all(PS_EXIT_USAGE, "%s: /feature_names[%lld] is '%s', the data's is '%s': --l1-weights needs a model "
                 "of these columns", path, (long long)j, m->feature_names[j], names[j]);
  if (m->c != cols->c)
    ps_die_all(PS_EXIT_USAGE, "%s: %lld model columns, this fit has %lld: --l1-weights needs a model trained with the "
               "same --missing-indicators", path, (long long)m->c, (long long)cols->c);
  for (int64_t j = 0; j < m->c; j++)
    if (m->src[j] != cols->src[j] || m->kind[j] != cols->kind[j])
      ps_die_all(PS_EXIT_USAGE, "%s: /columns row %lld differs from this fit's: --l1-weights needs a model of these "
                 "columns", path, (long long)j);
}

double *l1w_factors(const ps_model_t *m, const char *path, char *const *names, int64_t f, const ps_columns_t *cols,
                    char *const *targets, int k, double gamma) {
  check_columns(m, path, names, f, cols);
  int64_t c = m->c;
  double *w = ps_malloc(sizeof(double) * (size_t)k * (size_t)c);
  for (int h = 0; h < k; h++) {
    int at = -1;
    for (int i = 0; i < m->k && at < 0; i++)
      if (!strcmp(m->targets[i], targets[h])) at = i;
    if (at < 0)
      ps_die_all(PS_EXIT_USAGE, "%s: no head '%s' in /targets: --l1-weights needs a model of every target trained",
                 path, targets[h]);
    const double *w0 = m->theta + (size_t)at * (size_t)(c + 1);
    double *wh = w + (size_t)h * (size_t)c;
    for (int64_t j = 0; j < c; j++)
      wh[j] = w0[j] == 0 ? INFINITY : gamma == 1 ? 1 / fabs(w0[j]) : pow(fabs(w0[j]), -gamma);
  }
  return w;
}
