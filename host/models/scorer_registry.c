/* scorer_registry.c: the model kinds a scorer can be opened from (see
 * scorer_registry.h). The uplift kind is given scorer_open to open its two
 * models, so no kind's file refers back to the registry. */
#include "models/scorer_registry.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "models/calibration.h"

static ps_scorer_t *open_uplift(ps_h5_t fid, const char *path, const char *device) {
  return uplift_scorer_open(fid, path, device, scorer_open);
}

static const struct {
  const char *model_type;
  ps_scorer_t *(*open)(ps_h5_t fid, const char *path, const char *device);
} KINDS[] = {
    {"logreg", logreg_scorer_open},
    {"gbdt", gbdt_scorer_open},
    {"blend", blend_scorer_open},
    {"uplift", open_uplift},
};

/* The file's kind attribute: a model, or a personas file (segment's k-means
 * model, which assigns personas and has no probabilities to score). */
static void check_kind(ps_h5_t fid, const char *path) {
  char *kind = h5_get_attr_str(fid, "kind");
  if (kind && !strcmp(kind, "personas"))
    ps_die_all(PS_EXIT_ERROR, "%s: a personas file (segment's k-means model) scores no probabilities; assign "
               "customers to its personas with propscore segment --model", path);
  if (!kind || strcmp(kind, "model") != 0)
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore model file (kind = %s)", path, kind ? kind : "missing");
  free(kind);
  int64_t v = 0;
  if (!h5_get_attr_i64(fid, "schema_version", &v) || v != PS_SCHEMA_VERSION)
    ps_die_all(PS_EXIT_ERROR, "%s: model schema_version %lld, this propscore reads version %d", path, (long long)v,
               PS_SCHEMA_VERSION);
}

ps_scorer_t *scorer_open(const char *path, const char *device) {
  ps_h5_t fid = h5_open(path, 0);
  check_kind(fid, path);
  char *type = h5_get_attr_str(fid, "model_type");
  ps_scorer_t *s = NULL;
  for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0] && !s; i++)
    if (!strcmp(type ? type : "logreg", KINDS[i].model_type)) s = KINDS[i].open(fid, path, device);
  if (!s) ps_die_all(PS_EXIT_ERROR, "%s: model_type '%s' is unknown to this propscore", path, type);
  free(type);
  s = calibration_wrap(fid, path, s); /* train --calibrate's map, when stored */
  h5_close(fid);
  return s;
}
