/* cmd_inspect.c: `propscore inspect` -- its option table is inspect_cmd
 * (stats/inspect.c). */
#include "cli/cmds.h"
#include "stats/inspect.h"

int cmd_inspect(int argc, char **argv) {
  inspect_opts_t o = {0};
  if (opts_parse(&inspect_cmd, &o, argc, argv)) return 0;
  return inspect_run(&o);
}
