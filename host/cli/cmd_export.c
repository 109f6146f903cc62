/* cmd_export.c: `propscore export` -- its option table is export_cmd
 * (targeting/export.c); the options that go together are checked here. */
#include "cli/cmds.h"
#include "core/util.h"
#include "targeting/export.h"

int cmd_export(int argc, char **argv) {
  export_opts_t o = {0};
  if (opts_parse(&export_cmd, &o, argc, argv)) return 0;
  if (opts_given("personas") != opts_given("persona"))
    ps_die_all(PS_EXIT_USAGE, "export: --personas and --persona go together");
  if (opts_given("top") == opts_given("top-percent"))
    ps_die_all(PS_EXIT_USAGE, "export: give one of --top and --top-percent");
  if (opts_given("holdout") != opts_given("group"))
    ps_die_all(PS_EXIT_USAGE, "export: --holdout and --group go together");
  if (opts_given("campaign") && !opts_given("holdout"))
    ps_die_all(PS_EXIT_USAGE, "export: --campaign names a campaign of a --holdout file: give --holdout and --group");
  if (!opts_given("top")) o.top = -1;                 /* by --top-percent */
  if (!opts_given("top-percent")) o.top_percent = -1; /* by --top */
  if (!opts_given("persona")) o.persona = -1;
  return export_run(&o);
}
