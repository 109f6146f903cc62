/* args.c: shared command-line parsing helpers (see args.h). */
#include "cli/args.h"

#include <getopt.h>

#include "core/util.h"

void args_bad_option(const char *cmd) {
  ps_die_all(PS_EXIT_USAGE, "%s: bad option (see propscore %s --help)", cmd, cmd);
}

void args_no_extra(const char *cmd, int argc, char **argv) {
  if (optind != argc) ps_die_all(PS_EXIT_USAGE, "%s: unexpected argument '%s'", cmd, argv[optind]);
}

void args_require(const char *cmd, const char *opt, const char *value) {
  if (!value) ps_die_all(PS_EXIT_USAGE, "%s: %s is required (see propscore %s --help)", cmd, opt, cmd);
}
