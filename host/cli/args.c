/* args.c: shared command-line helpers (see args.h). */
#include "cli/args.h"

#include "core/util.h"

void args_require(const char *cmd, const char *opt, const char *value) {
  if (!value) ps_die_all(PS_EXIT_USAGE, "%s: %s is required (see propscore %s --help)", cmd, opt, cmd);
}
