/* export_model.c: the export-model job (see export_model.h): options, the
 * model file's kind, then that kind's exporter. */
#define _POSIX_C_SOURCE 200809L
#include "models/export_model.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"

static const char *const FORMATS[] = {"auto", "lightgbm", "json", NULL};
#define F(field) offsetof(export_model_opts_t, field)
static const ps_option_t EXPORT_MODEL_OPTS[] = {
    {.name = "model", .type = OPT_STR, .off = F(model), .arg = "FILE", .help = "model file (gbdt or logreg)", .flags = OPT_REQUIRED, .short_name = 'm'},
    {.name = "out", .type = OPT_STR, .off = F(out), .arg = "FILE", .help = "output file (one a head: see below)", .flags = OPT_REQUIRED, .short_name = 'o'},
    {.name = "format", .type = OPT_CHOICE, .off = F(format), .choices = FORMATS, .def = "auto", .arg = "F",
     .help = "auto|lightgbm|json (default auto: lightgbm for gbdt, json for logreg)", .short_name = 'f'},
    {.name = "target", .type = OPT_STR, .off = F(target), .arg = "T", .help = "export only this head (gbdt), to FILE itself", .short_name = 't'},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .help = "no log", .short_name = 'q'},
    {0}};
#undef F

const ps_cmd_spec_t export_model_cmd = {
    .name = "export-model",
    .opts = EXPORT_MODEL_OPTS,
    .usage = "usage: propscore export-model --model MODEL.h5 --out FILE [--format lightgbm|json] [--target T]\n"
             "\n"
             "Write a model as a file other tools load: gradient-boosted trees as LightGBM's text\n"
             "model (lightgbm.Booster(model_file=FILE): raw scores are propscore's log-odds),\n"
             "logistic regression as JSON (weights, intercept, standardization).\n",
    .epilog = "A trees model with several heads gives one LightGBM file a head: FILE with .<target>\n"
              "before its extension (model.txt -> model.churn.txt), or --target picks one head.\n"};

int export_model_run(const export_model_opts_t *o) {
  ps_h5_t fid = h5_open(o->model, 0);
  char *kind = h5_get_attr_str(fid, "kind");
  if (!kind || strcmp(kind, "model") != 0)
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore model file (kind = %s)", o->model, kind ? kind : "missing");
  free(kind);
  int64_t v = 0;
  if (!h5_get_attr_i64(fid, "schema_version", &v) || v != PS_SCHEMA_VERSION)
    ps_die_all(PS_EXIT_ERROR, "%s: model schema_version %lld, this propscore reads version %d", o->model, (long long)v,
               PS_SCHEMA_VERSION);
  char *type = h5_get_attr_str(fid, "model_type");
  const char *t = type ? type : "logreg";
  int gbdt = !strcmp(t, "gbdt"), logreg = !strcmp(t, "logreg");
  if (!gbdt && !logreg)
    ps_die_all(PS_EXIT_ERROR, "export-model: %s is a model of type '%s'; only gbdt and logreg models export%s",
               o->model, t, !strcmp(t, "uplift") ? " (export the uplift model's treated and control models one by one)" : "");
  if (o->format == EXPORT_LIGHTGBM && !gbdt)
    ps_die_all(PS_EXIT_USAGE, "export-model: --format lightgbm needs a gbdt model; %s is %s (use --format json)",
               o->model, t);
  if (o->format == EXPORT_JSON && !logreg)
    ps_die_all(PS_EXIT_USAGE, "export-model: --format json is for logreg models; %s is %s (use --format lightgbm)",
               o->model, t);
  if (gbdt) gbdt_export_lightgbm(o, fid);
  else logreg_export_json(o, fid);
  free(type);
  h5_close(fid);
  comm_barrier();
  return 0;
}
