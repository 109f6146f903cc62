/* cmd_score.c: `propscore score` -- options for the score job (models/score.h). */
#include <getopt.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "models/score.h"

static const char *USAGE =
    "usage: propscore score --data FILE.h5 --model MODEL.h5 --out SCORES.h5 [options]\n"
    "\n"
    "Write /customer_id and /scores/<target> (float32 probabilities) for every row.\n"
    "  --block-rows N   rows per rank per block (default: about 64 MiB of features);\n"
    "                   memory per rank is about 2 N x (4 x features + 16 + 4 x heads) bytes\n"
    "  --nonfinite P    impute|reject NaN/Inf features (default impute: by the training mean)\n"
    "  --device D       cpu|cuda|auto (default auto: cuda when every rank sees a GPU)\n"
    "  --quiet          no progress log\n"
    "The output is written to SCORES.h5.partial-<run id> and renamed when complete; while\n"
    "it runs, SCORES.h5.lock keeps a second run off the same output. On SIGTERM or SIGUSR1\n"
    "the finished blocks are kept (exit 75); the same command resumes after them.\n";

int cmd_score(int argc, char **argv) {
  score_opts_t o = {NULL, NULL, NULL, "auto", 0, 0};
  static const char *const nonfinite[] = {"impute", "reject", NULL};
  static struct option opts[] = {{"data", 1, 0, 'd'},       {"model", 1, 0, 'm'},  {"out", 1, 0, 'o'},
                                 {"block-rows", 1, 0, 'b'}, {"device", 1, 0, 'D'}, {"quiet", 0, 0, 'q'},
                                 {"nonfinite", 1, 0, 'N'},  {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:m:o:b:D:qN:h", opts, NULL)) != -1) {
    switch (c) {
      case 'd': o.data = optarg; break;
      case 'm': o.model = optarg; break;
      case 'o': o.out = optarg; break;
      case 'b': o.block_rows = ps_parse_ll("--block-rows", optarg, 1, (int64_t)1 << 30); break;
      case 'D': o.device = optarg; break;
      case 'q': ps_quiet = 1; break;
      case 'N': o.reject_nonfinite = ps_parse_choice("--nonfinite", optarg, nonfinite); break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("score");
    }
  }
  args_no_extra("score", argc, argv);
  if (!o.data || !o.model || !o.out)
    ps_die_all(PS_EXIT_USAGE, "score: --data, --model and --out are required (see propscore score --help)");
  return score_run(&o);
}
