/* cmd_holdout.c: `propscore holdout` -- options for the holdout job (targeting/holdout.h). */
#include <getopt.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "targeting/holdout.h"

static const char *USAGE =
    "usage: propscore holdout --data FILE.h5 --campaign NAME --fraction F\n"
    "                         [--strata LABEL] --out ASSIGN.h5 [--quiet]\n"
    "\n"
    "Split the customers of a data file into a control group (held out of the\n"
    "campaign) and a treatment group. A customer is in control iff a hash of its\n"
    "customer id salted with the campaign name falls below F: the same customer\n"
    "gets the same group for any rank count, any row order, and next month's file\n"
    "(new customers do not move existing ones). Use a new campaign name for a new\n"
    "random split.\n"
    "  --data FILE       input file with /customer_id (datasets/SCHEMA.md)\n"
    "  --campaign NAME   campaign name, 1-64 of A-Z a-z 0-9 _ . - (salts the hash;\n"
    "                    names the output dataset /holdout/NAME)\n"
    "  --fraction F      control share wanted, 0 < F < 1 (e.g. 0.1)\n"
    "  --strata LABEL    report the realised control share per value of\n"
    "                    /labels/LABEL (integer values 0..1023), with standard errors\n"
    "  --out FILE        output: /customer_id and /holdout/NAME (uint8, 1 = control),\n"
    "                    with --strata also /strata/NAME/{value,count,control};\n"
    "                    written to a temporary name, renamed when complete\n"
    "  --quiet           no progress log\n"
    "The group is not a stratified draw: each customer is an independent hashed\n"
    "Bernoulli(F), so every stratum's share is F up to sampling error (reported).\n"
    "exit codes: 0 ok, 1 error, 2 usage\n";

int cmd_holdout(int argc, char **argv) {
  holdout_opts_t o = {NULL, NULL, NULL, NULL, -1};
  static struct option opts[] = {{"data", 1, 0, 'd'},   {"campaign", 1, 0, 'c'}, {"fraction", 1, 0, 'f'},
                                 {"strata", 1, 0, 's'}, {"out", 1, 0, 'o'},      {"quiet", 0, 0, 'q'},
                                 {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:c:f:s:o:qh", opts, NULL)) != -1) {
    switch (c) {
      case 'd': o.data = optarg; break;
      case 'c': o.campaign = optarg; break;
      case 'f': o.fraction = ps_parse_double("--fraction", optarg, 0, 1); break;
      case 's': o.strata = optarg; break;
      case 'o': o.out = optarg; break;
      case 'q': ps_quiet = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("holdout");
    }
  }
  args_no_extra("holdout", argc, argv);
  args_require("holdout", "--data", o.data);
  args_require("holdout", "--campaign", o.campaign);
  args_require("holdout", "--out", o.out);
  if (o.fraction < 0) ps_die_all(PS_EXIT_USAGE, "holdout: --fraction is required");
  return holdout_run(&o);
}
