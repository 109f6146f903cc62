/* cmd_eval.c: `propscore eval` -- its option table is eval_cmd
 * (stats/evaluate.c); runs eval --uplift (targeting/uplift_eval.h) or the
 * eval job, with its HTML report (cli/eval_report.h). */
#include <stdlib.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "cli/eval_report.h"
#include "core/options.h"
#include "core/util.h"
#include "stats/evaluate.h"
#include "targeting/uplift_eval.h"

static int run_uplift(const eval_opts_t *o) {
  if (o->report || o->baseline_scores)
    ps_die_all(PS_EXIT_USAGE, "eval: --report and --baseline-scores are for eval without --uplift; give the "
                              "uplift JSON to --report-uplift");
  args_require("eval", "--treatment", o->treatment);
  uplift_eval_opts_t u = {.data = o->data, .scores = o->scores, .split = o->split, .targets = o->targets,
                          .treatment = o->treatment, .holdout = o->holdout, .split_salt = o->split_salt,
                          .json = o->json};
  return uplift_eval_run(&u);
}

/* eval, then the report from its JSON. Every input is checked against DIR
 * (which is replaced whole) before any work. */
static int run_report(eval_opts_t *o, const eval_report_t *rep) {
  ps_path_t in[4 + sizeof rep->extra / sizeof rep->extra[0]] = {
      {.role = "--data", .path = o->data},
      {.role = "--scores", .path = o->scores},
      {.role = "--baseline-scores", .path = o->baseline_scores},
      {.role = "the model of the scores", .path = eval_model_path(o->scores)}};
  int nin = 4;
  for (int i = 0; i < rep->nextra; i++)
    in[nin++] = (ps_path_t){.role = rep->extra[i].role, .path = rep->extra[i].path};
  char msg[2048];
  int cannot = eval_report_check(rep, in, nin, msg, sizeof msg);
  free((char *)in[3].path);
  char *json = NULL;
  o->json_text = &json;
  int rc = eval_run(o); /* the results are printed first, whatever becomes of the report */
  if (rc != 0) return rc;
  if (cannot) ps_die_all(PS_EXIT_ERROR, "eval --report %s: %s (the metrics above are complete)", rep->dir, msg);
  if (eval_report_write(rep, json, msg, sizeof msg))
    ps_die_all(PS_EXIT_ERROR, "eval --report %s: %s (the metrics above are complete)", rep->dir, msg);
  free(json);
  return 0;
}

int cmd_eval(int argc, char **argv) {
  eval_opts_t o = {.holdout = -1, .split_salt = -1}; /* < 0: as the scores file records */
  if (opts_parse(&eval_cmd, &o, argc, argv)) return 0;
  if (opts_given("split")) o.split = EVAL_SPLITS[o.split_i];
  if (o.treatment && !o.uplift) ps_die_all(PS_EXIT_USAGE, "eval: --treatment needs --uplift");
  /* --report-X FILE reaches report.py as --X=FILE */
  const eval_report_extra_t extra[] = {
      {.flag = "--gate", .role = "--report-gate", .path = o.report_gate},
      {.flag = "--personas", .role = "--report-personas", .path = o.report_personas},
      {.flag = "--uplift", .role = "--report-uplift", .path = o.report_uplift},
      {.flag = "--offers", .role = "--report-offers", .path = o.report_offers},
      {.flag = "--manifest", .role = "--report-manifest", .path = o.report_manifest}};
  eval_report_t rep = {.dir = o.report};
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    if (extra[i].path) rep.extra[rep.nextra++] = extra[i];
  if (rep.nextra && !rep.dir) ps_die_all(PS_EXIT_USAGE, "eval: %s needs --report DIR", rep.extra[0].role);
  if (o.split) eval_check_split(o.split, o.holdout, o.split_salt); /* --split all with --holdout: now */
  if (o.uplift) return run_uplift(&o);
  return rep.dir ? run_report(&o, &rep) : eval_run(&o);
}
