/* export_model.h: the export-model job -- a propscore model as a file other
 * tools load: gradient-boosted trees as LightGBM's text model (one file a
 * head, models/gbdt/lightgbm.c), logistic regression as JSON
 * (models/logreg/export_json.c). */
#ifndef PS_EXPORT_MODEL_H
#define PS_EXPORT_MODEL_H
#include "core/options.h"
#include "io/h5.h"

typedef struct {
  const char *model, *out, *target;
  int format; /* EXPORT_AUTO, EXPORT_LIGHTGBM, EXPORT_JSON */
} export_model_opts_t;

enum { EXPORT_AUTO = 0, EXPORT_LIGHTGBM = 1, EXPORT_JSON = 2 };

/* `propscore export-model`: its options (one table) and help. */
extern const ps_cmd_spec_t export_model_cmd;

/* Collective (rank 0 writes); returns the exit code. */
int export_model_run(const export_model_opts_t *o);

/* One exporter per model kind (the open model file fid); collective, rank 0
 * writes. A trees model of k > 1 heads without --target gives one file a
 * head: OUT with ".<target>" put before its extension (model.txt ->
 * model.churn.txt; no extension: OUT.<target>). */
void gbdt_export_lightgbm(const export_model_opts_t *o, ps_h5_t fid);
void logreg_export_json(const export_model_opts_t *o, ps_h5_t fid);
#endif
