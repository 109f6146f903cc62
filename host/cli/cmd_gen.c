/* cmd_gen.c: `propscore gen` -- options for the gen job (gen/gen.h). */
#include <getopt.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "gen/gen.h"

static const char *USAGE =
    "usage: propscore gen --out FILE.h5 [--rows N] [--features F] [--seed S]\n"
    "                     [--targets NAME[:RATE],...] [--chunk-rows R] [--uplift] [--clusters K]\n"
    "                     [--quiet]\n"
    "\n"
    "Generate a synthetic customer feature file (datasets/SCHEMA.md) with labels\n"
    "drawn from a planted model whose truth is stored under /truth.\n"
    "  --out FILE       output file (written to a temporary name, renamed when complete)\n"
    "  --rows N         customers (default 1000000); must be >= the number of ranks\n"
    "  --features F     feature columns (default 64; the first 20 are named RFM/channel\n"
    "                   columns, the rest correlated affinity groups)\n"
    "  --seed S         RNG seed (default 42); same seed -> same bytes for any rank count\n"
    "  --targets LIST   comma-separated targets, optional :RATE positive rate\n"
    "                   (default purchase_3m,churn; rates purchase* 0.04, churn 0.10, else 0.05)\n"
    "  --chunk-rows R   rows per HDF5 chunk (default: about 4 MiB of features)\n"
    "  --block-rows N   rows a rank generates and writes at a time (default: about 64 MiB)\n"
    "  --uplift         a past campaign: /labels/treated (random half) and every target\n"
    "                   with a planted heterogeneous treatment effect; the true uplift\n"
    "                   P(y|treated) - P(y|control) per customer in /truth/<target>/uplift\n"
    "                   (needs --features >= 7)\n"
    "  --clusters K     planted clusters instead of the customer features: each row's\n"
    "                   cluster from its hash, features = center + N(0,1) noise; truth in\n"
    "                   /truth/cluster and /truth/cluster_centers (segment tests)\n"
    "  --quiet          no progress log\n"
    "exit codes: 0 ok, 1 error, 2 usage, 75 stopped by a signal (nothing written)\n";

int cmd_gen(int argc, char **argv) {
  gen_opts_t o = {NULL, "purchase_3m,churn", 1000000, 64, 0, 0, 42, 0, 0};
  static struct option opts[] = {{"out", 1, 0, 'o'},   {"rows", 1, 0, 'n'},    {"features", 1, 0, 'f'},
                                 {"seed", 1, 0, 's'},  {"targets", 1, 0, 't'}, {"chunk-rows", 1, 0, 'c'},
                                 {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},    {"block-rows", 1, 0, 'b'},
                                 {"uplift", 0, 0, 'u'},  {"clusters", 1, 0, 'K'},  {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "o:n:f:s:t:c:qhb:uK:", opts, NULL)) != -1) {
    switch (c) {
      case 'o': o.out = optarg; break;
      case 'n': o.rows = ps_parse_ll("--rows", optarg, 1, (int64_t)1 << 40); break;
      case 'f': o.features = ps_parse_ll("--features", optarg, 1, 1000000); break;
      case 's': o.seed = (uint64_t)ps_parse_ll("--seed", optarg, 0, INT64_MAX); break;
      case 't': o.targets = optarg; break;
      case 'c': o.chunk_rows = ps_parse_ll("--chunk-rows", optarg, 1, (int64_t)1 << 30); break;
      case 'b': o.block_rows = ps_parse_ll("--block-rows", optarg, 1, (int64_t)1 << 30); break;
      case 'u': o.uplift = 1; break;
      case 'K': o.clusters = (int)ps_parse_ll("--clusters", optarg, 1, 100000); break;
      case 'q': ps_quiet = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("gen");
    }
  }
  args_no_extra("gen", argc, argv);
  args_require("gen", "--out", o.out);
  return gen_run(&o);
}
