/* cmd_eval.c: `propscore eval` -- options for the eval job (stats/evaluate.h)
 * and its HTML report (cli/eval_report.h). */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "cli/eval_report.h"
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
    "  --json           one JSON document on stdout (with the curves' points: ROC,\n"
    "                   precision-recall and gains at 110 depths; score histograms)\n"
    "  --baseline-scores OLD.h5  the published model's scores: each head's score\n"
    "                   histogram against theirs and the PSI the gate computes\n"
    "                   (every row of both files)\n"
    "  --report DIR     also write DIR/index.html, a page for people (no JavaScript,\n"
    "                   no network): per target ROC, precision-recall, gains and lift,\n"
    "                   calibration with the Brier score, the score histogram (against\n"
    "                   the baseline's), GBDT feature importances; PNG charts beside it,\n"
    "                   their data points in DIR/report.json, this JSON in DIR/eval.json.\n"
    "                   Drawn by scripts/report.py (python3 + matplotlib; PROPSCORE_PYTHON,\n"
    "                   PROPSCORE_REPORT_SCRIPT override them). DIR is new, empty or an\n"
    "                   earlier report, and is replaced whole when the new one is complete\n"
    "  --report-gate FILE      with --report: `gate --json` output: the verdict in the header\n"
    "  --report-personas FILE  with --report: `segment --json` output: persona sizes, profiles\n"
    "  --report-uplift FILE    with --report: `eval --uplift --json` output: Qini curves\n"
    "  --report-offers FILE    with --report: an offers file (offers.h5): value by depth\n"
    "  --report-manifest FILE  with --report: the run manifest for the header (default:\n"
    "                   SCORES.h5.manifest.json, and the model's beside it)\n"
    "  --uplift         evaluate /uplift/<target> of the scores file instead: Qini\n"
    "                   curve and coefficient, AUUC, uplift by decile (treated rate,\n"
    "                   control rate, difference, its standard error) and incremental\n"
    "                   conversions at each decile's depth -- scikit-uplift's definitions\n"
    "                   (qini_auc_score, uplift_auc_score, uplift_by_percentile)\n"
    "  --treatment FLAG with --uplift: the 0/1 label /labels/FLAG that says who was treated\n";

int cmd_eval(int argc, char **argv) {
  eval_opts_t o = {NULL, NULL, NULL, NULL, -1, -1, 0, NULL, NULL};
  eval_report_t rep = {0};
  static const char *const splits[] = {"valid", "train", "all", NULL};
  static struct option opts[] = {{"data", 1, 0, 'd'},    {"scores", 1, 0, 's'},     {"split", 1, 0, 'p'},
                                 {"holdout", 1, 0, 'H'}, {"split-salt", 1, 0, 'S'}, {"targets", 1, 0, 't'},
                                 {"json", 0, 0, 'j'},    {"help", 0, 0, 'h'},       {"uplift", 0, 0, 'U'},
                                 {"treatment", 1, 0, 'T'}, {"report", 1, 0, 'R'},
                                 {"baseline-scores", 1, 0, 'B'}, {"report-gate", 1, 0, 1},
                                 {"report-personas", 1, 0, 2}, {"report-uplift", 1, 0, 3},
                                 {"report-offers", 1, 0, 4}, {"report-manifest", 1, 0, 5},
                                 {0, 0, 0, 0}};
  static const char *const extra_opt[] = {NULL, "--report-gate", "--report-personas", "--report-uplift",
                                          "--report-offers", "--report-manifest"};
  static const char *const extra_flag[] = {NULL, "--gate", "--personas", "--uplift", "--offers", "--manifest"};
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
      case 'R': rep.dir = optarg; break;
      case 'B': o.baseline_scores = optarg; break;
      case 1: case 2: case 3: case 4: case 5:
        if (rep.nextra == (int)(sizeof rep.extra / sizeof rep.extra[0]))
          ps_die_all(PS_EXIT_USAGE, "eval: too many --report-* files");
        rep.extra[rep.nextra++] = (eval_report_extra_t){extra_flag[c], extra_opt[c], optarg};
        break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("eval");
    }
  }
  args_no_extra("eval", argc, argv);
  if (!o.data || !o.scores)
    ps_die_all(PS_EXIT_USAGE, "eval: --data and --scores are required (see propscore eval --help)");
  if (treatment && !uplift) ps_die_all(PS_EXIT_USAGE, "eval: --treatment needs --uplift");
  if (rep.nextra && !rep.dir) ps_die_all(PS_EXIT_USAGE, "eval: %s needs --report DIR", rep.extra[0].role);
  if (uplift && (rep.dir || o.baseline_scores))
    ps_die_all(PS_EXIT_USAGE, "eval: --report and --baseline-scores are for eval without --uplift; give the "
                              "uplift JSON to --report-uplift");
  if (uplift) {
    args_require("eval", "--treatment", treatment);
    uplift_eval_opts_t u = {o.data, o.scores, o.split, o.targets, treatment, o.holdout, o.split_salt, o.json};
    return uplift_eval_run(&u);
  }
  if (!rep.dir) return eval_run(&o);
  ps_path_t in[3] = {{"--data", o.data}, {"--scores", o.scores}, {"--baseline-scores", o.baseline_scores}};
  char msg[2048];
  int cannot = eval_report_check(&rep, in, 3, msg, sizeof msg);
  char *json = NULL;
  o.json_text = &json;
  int rc = eval_run(&o); /* the results are printed first, whatever becomes of the report */
  if (rc != 0) return rc;
  if (cannot) ps_die_all(PS_EXIT_ERROR, "eval --report %s: %s (the metrics above are complete)", rep.dir, msg);
  if (eval_report_write(&rep, json, msg, sizeof msg))
    ps_die_all(PS_EXIT_ERROR, "eval --report %s: %s (the metrics above are complete)", rep.dir, msg);
  free(json);
  return 0;
}
