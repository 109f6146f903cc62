/* cmd_inspect.c: `propscore inspect` -- options for the inspect job (stats/inspect.h). */
#include <getopt.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "stats/inspect.h"

static const char *USAGE =
    "usage: propscore inspect FILE.h5 [--json] [--quiet]\n"
    "\n"
    "Print the shape and chunking of a feature file, per-feature count (finite\n"
    "values), NaN and Inf counts, min, max, mean and std (population, over the\n"
    "finite values), and the positive rate of every /labels/<target>.\n"
    "  --json           one JSON document on stdout instead of the table\n"
    "  --block-rows N   rows a rank reads at a time (default: about 64 MiB of features)\n"
    "  --quiet          no progress log\n";

int cmd_inspect(int argc, char **argv) {
  inspect_opts_t o = {NULL, 0, 0};
  static struct option opts[] = {{"json", 0, 0, 'j'},       {"quiet", 0, 0, 'q'},
                                 {"block-rows", 1, 0, 'b'}, {"help", 0, 0, 'h'},
                                 {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "jqhb:", opts, NULL)) != -1) {
    switch (c) {
      case 'j': o.json = 1; break;
      case 'q': ps_quiet = 1; break;
      case 'b': o.block_rows = ps_parse_ll("--block-rows", optarg, 1, (int64_t)1 << 30); break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("inspect");
    }
  }
  if (optind != argc - 1) ps_die_all(PS_EXIT_USAGE, "inspect: give exactly one FILE.h5 (see propscore inspect --help)");
  o.path = argv[optind];
  return inspect_run(&o);
}
