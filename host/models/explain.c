/* explain.c: open a model of any kind as an explainer; a row's top
 * contributions (see explain.h). */
#include "models/explain.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

ps_explainer_t *explainer_open(const char *path, const char *device, const char *who) {
  ps_h5_t fid = h5_open(path, 0);
  char *type = h5_get_attr_str(fid, "model_type");
  ps_explainer_t *e = NULL;
  if (!type || !strcmp(type, "logreg")) e = logreg_explainer_open(fid, path);
  else if (!strcmp(type, "gbdt")) e = gbdt_explainer_open(fid, path, device);
  else if (!strcmp(type, "uplift"))
    ps_die_all(PS_EXIT_USAGE, "%s: --explain is not available for an uplift model (%s: two models, scored as a "
               "difference of probabilities); explain its treated and control models one by one", who, path);
  else ps_die_all(PS_EXIT_ERROR, "%s: model_type '%s' has no explanations", path, type);
  free(type);
  h5_close(fid);
  return e;
}

void explainer_close(ps_explainer_t *e) {
  if (e) e->destroy(e);
}

void explain_top(const double *phi, int64_t n, int64_t f, int top, int16_t *feat, float *val) {
  int64_t *idx = ps_malloc(sizeof(int64_t) * (size_t)(top > 0 ? top : 1));
  for (int64_t i = 0; i < n; i++) {
    const double *p = phi + (size_t)i * (size_t)f;
    int m = 0; /* idx[0..m): the best so far, in order (insertion: top is small) */
    for (int64_t j = 0; j < f; j++) {
      if (m == top && !explain_before(p[j], j, p[idx[m - 1]], idx[m - 1])) continue;
      int at = m < top ? m++ : top - 1;
      while (at > 0 && explain_before(p[j], j, p[idx[at - 1]], idx[at - 1])) {
        idx[at] = idx[at - 1];
        at--;
      }
      idx[at] = j;
    }
    for (int r = 0; r < top; r++) {
      feat[(size_t)i * (size_t)top + (size_t)r] = (int16_t)idx[r];
      val[(size_t)i * (size_t)top + (size_t)r] = (float)p[idx[r]];
    }
  }
  free(idx);
}
