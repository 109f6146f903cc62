/* cmd_export_model.c: `propscore export-model` -- its option table is
 * export_model_cmd (models/export_model.c). */
#include "cli/cmds.h"
#include "models/export_model.h"

int cmd_export_model(int argc, char **argv) {
  export_model_opts_t o = {0};
  if (opts_parse(&export_model_cmd, &o, argc, argv)) return 0;
  return export_model_run(&o);
}
