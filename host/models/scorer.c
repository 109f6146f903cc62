/* scorer.c: open a model file of any kind (see scorer.h). */
#include "models/scorer.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

ps_scorer_t *scorer_open(const char *path, const char *device) {
  ps_h5_t fid = h5_open(path, 0);
  char *kind = h5_get_attr_str(fid, "kind");
  if (!kind || strcmp(kind, "model") != 0)
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore model file (kind = %s)", path, kind ? kind : "missing");
  free(kind);
  int64_t v = 0;
  if (!h5_get_attr_i64(fid, "schema_version", &v) || v != PS_SCHEMA_VERSION)
    ps_die_all(PS_EXIT_ERROR, "%s: model schema_version %lld, this propscore reads version %d", path, (long long)v,
               PS_SCHEMA_VERSION);
  char *type = h5_get_attr_str(fid, "model_type");
  ps_scorer_t *s = NULL;
  if (!type || !strcmp(type, "logreg")) s = logreg_scorer_open(fid, path, device);
  else if (!strcmp(type, "gbdt")) s = gbdt_scorer_open(fid, path, device);
  else if (!strcmp(type, "uplift")) s = uplift_scorer_open(fid, path, device);
  else ps_die_all(PS_EXIT_ERROR, "%s: model_type '%s' is unknown to this propscore", path, type);
  free(type);
  h5_close(fid);
  return s;
}

void scorer_close(ps_scorer_t *s) {
  if (s) s->destroy(s);
}

void scorer_check_data(const ps_scorer_t *s, const char *model_path, const ps_data_t *d) {
  int64_t n = s->f < d->f ? s->f : d->f;
  for (int64_t j = 0; j < n; j++)
    if (strcmp(s->feature_names[j], d->feature_names[j]) != 0)
      ps_die_all(PS_EXIT_ERROR, "%s: feature %lld is '%s' but model %s expects '%s'", d->path, (long long)j,
                 d->feature_names[j], model_path, s->feature_names[j]);
  if (s->f != d->f)
    ps_die_all(PS_EXIT_ERROR, "%s: has %lld features but model %s expects %lld (first difference at column %lld)",
               d->path, (long long)d->f, model_path, (long long)s->f, (long long)n);
}
