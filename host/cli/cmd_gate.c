/* cmd_gate.c: `propscore gate` -- options for the gate job (models/gate.h). */
#include <getopt.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "models/gate.h"

static const char *USAGE =
    "usage: propscore gate --model NEW.h5 [--baseline OLD.h5] [--scores NEW_SCORES.h5\n"
    "                      --baseline-scores OLD_SCORES.h5] [limits] [--json]\n"
    "\n"
    "Refuse to publish a model whose numbers are not sound, whose validation metrics\n"
    "fell, or whose scores moved, past the limits. Exit 0: publish; 3: refused (one\n"
    "line says why); 1/2: errors. Without --baseline (the first model) only the\n"
    "model's own sanity is checked.\n"
    "  --max-auc-drop X       largest allowed fall of validation ROC-AUC per head (default 0.01)\n"
    "  --max-logloss-rise X   largest allowed relative rise of validation log-loss (default 0.05)\n"
    "  --min-auc X            smallest validation ROC-AUC a head may have (default 0.55)\n"
    "  --max-psi X            largest population stability index of a head's scores\n"
    "                         against the baseline's, over its deciles (default 0.1)\n";

int cmd_gate(int argc, char **argv) {
  gate_opts_t o = {NULL, NULL, NULL, NULL, 0.01, 0.05, 0.55, 0.1, 0};
  static struct option opts[] = {{"model", 1, 0, 'm'},        {"baseline", 1, 0, 'b'},
                                 {"scores", 1, 0, 's'},       {"baseline-scores", 1, 0, 'B'},
                                 {"max-auc-drop", 1, 0, 'a'}, {"max-logloss-rise", 1, 0, 'l'},
                                 {"min-auc", 1, 0, 'A'},      {"max-psi", 1, 0, 'p'},
                                 {"json", 0, 0, 'j'},         {"help", 0, 0, 'h'},
                                 {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "m:b:s:B:a:l:A:p:jh", opts, NULL)) != -1) {
    switch (c) {
      case 'm': o.model = optarg; break;
      case 'b': o.baseline = optarg; break;
      case 's': o.scores = optarg; break;
      case 'B': o.baseline_scores = optarg; break;
      case 'a': o.max_auc_drop = ps_parse_double("--max-auc-drop", optarg, 0, 1); break;
      case 'l': o.max_logloss_rise = ps_parse_double("--max-logloss-rise", optarg, 0, 100); break;
      case 'A': o.min_auc = ps_parse_double("--min-auc", optarg, 0, 1); break;
      case 'p': o.max_psi = ps_parse_double("--max-psi", optarg, 0, 100); break;
      case 'j': o.json = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("gate");
    }
  }
  args_no_extra("gate", argc, argv);
  args_require("gate", "--model", o.model);
  if ((o.scores != NULL) != (o.baseline_scores != NULL))
    ps_die_all(PS_EXIT_USAGE, "gate: give both --scores and --baseline-scores, or neither");
  if (o.scores && !o.baseline) ps_die_all(PS_EXIT_USAGE, "gate: --scores needs --baseline");
  return gate_run(&o);
}
