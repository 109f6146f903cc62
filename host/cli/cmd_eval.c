/* cmd_eval.c: `propscore eval` -- options for the eval job (stats/evaluate.h). */
#include <getopt.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "stats/evaluate.h"
#include "targeting/uplift_eval.h"

static const char *USAGE =
    "usage: propscore eval --data FILE.h5 --scores SCORES.h5 [options]\n"
    "\n"
    "Per target: ROC-AUC, PR-AUC (average precision), log-loss, Brier score, a\n"
    "decile lift table and a 10-bin calibration table.\n"
    "  --split S        valid|train|all (default: valid when the scores came from a\n"
    "                   model trained with a holdout, else all)\n"
    "  --holdout F      override the validation fraction recorded in the scores file\n"
    "  --split-salt N   override the split salt recorded in the scores file\n"
    "  --targets a,b    targets to evaluate (default: every /scores/<target>)\n"
    "  --json           one JSON document on stdout\n"
    "  --uplift         evaluate /uplift/<target> of the scores file instead: Qini\n"
    "                   curve and coefficient, AUUC, uplift by decile (treated rate,\n"
    "                   control rate, difference, its standard error) and incremental\n"
    "                   conversions at each decile's depth -- scikit-uplift's definitions\n"
    "                   (qini_auc_score, uplift_auc_score, uplift_by_percentile)\n"
    "  --treatment FLAG with --uplift: the 0/1 label /labels/FLAG that says who was treated\n";

int cmd_eval(int argc, char **argv) {
  eval_opts_t o = {NULL, NULL, NULL, NULL, -1, -1, 0};
  static const char *const splits[] = {"valid", "train", "all", NULL};
  static struct option opts[] = {{"data", 1, 0, 'd'},    {"scores", 1, 0, 's'},     {"split", 1, 0, 'p'},
                                 {"holdout", 1, 0, 'H'}, {"split-salt", 1, 0, 'S'}, {"targets", 1, 0, 't'},
                                 {"json", 0, 0, 'j'},    {"help", 0, 0, 'h'},       {"uplift", 0, 0, 'U'},
                                 {"treatment", 1, 0, 'T'}, {0, 0, 0, 0}};
  int uplift = 0;
  const char *treatment = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "d:s:p:H:S:t:jh", opts, NULL)) != -1) {
    switch (c) {
      case 'd': o.data = optarg; break;
      case 's': o.scores = optarg; break;
      case 'p': o.split = splits[ps_parse_choice("--split", optarg, splits)]; break;
      case 'H': o.holdout = ps_parse_double("--holdout", optarg, 0.0, 0.9); break;
      case 'S': o.split_salt = ps_parse_ll("--split-salt", optarg, 0, INT64_MAX); break;
      case 't': o.targets = optarg; break;
      case 'j': o.json = 1; break;
      case 'U': uplift = 1; break;
      case 'T': treatment = optarg; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("eval");
    }
  }
  args_no_extra("eval", argc, argv);
  if (!o.data || !o.scores)
    ps_die_all(PS_EXIT_USAGE, "eval: --data and --scores are required (see propscore eval --help)");
  if (treatment && !uplift) ps_die_all(PS_EXIT_USAGE, "eval: --treatment needs --uplift");
  if (uplift) {
    args_require("eval", "--treatment", treatment);
    uplift_eval_opts_t u = {o.data, o.scores, o.split, o.targets, treatment, o.holdout, o.split_salt, o.json};
    return uplift_eval_run(&u);
  }
  return eval_run(&o);
}
