/* cmd_holdout.c: `propscore holdout` -- its option table is holdout_cmd
 * (targeting/holdout.c). */
#include "cli/cmds.h"
#include "targeting/holdout.h"

int cmd_holdout(int argc, char **argv) {
  holdout_opts_t o = {0};
  if (opts_parse(&holdout_cmd, &o, argc, argv)) return 0;
  return holdout_run(&o);
}
