/* cmd_train.c: `propscore train` -- its option table is train_cmd
 * (models/train_opts.c); one model (models/train_job.h), auto, or
 * --uplift (models/uplift_train.h). */
#include "cli/args.h"
#include "cli/cmds.h"
#include "core/util.h"
#include "models/train_job.h"
#include "models/uplift_train.h"

int cmd_train(int argc, char **argv) {
  train_opts_t o = {0};
  if (opts_parse(&train_cmd, &o, argc, argv)) return 0;
  if (o.gb.max_depth < 0) o.gb.max_depth = 0;
  if (o.treatment && !o.uplift) ps_die_all(PS_EXIT_USAGE, "train: --treatment needs --uplift");
  if (o.cm.calibrate && o.cm.holdout <= 0)
    ps_die_all(PS_EXIT_USAGE, "train: --calibrate needs validation rows to fit on: --holdout must be > 0");
  if (opts_given("cv-folds") && o.kind != PS_KIND_AUTO)
    ps_die_all(PS_EXIT_USAGE, "train: --cv-folds chooses among candidates: it needs --model-type auto");
  if (opts_given("l1-gamma") && !o.lr.l1_weights) ps_die_all(PS_EXIT_USAGE, "train: --l1-gamma needs --l1-weights");
  if (o.cm.calibrate && o.uplift) ps_die_all(PS_EXIT_USAGE, "train: --calibrate is not supported with --uplift");
  if (o.uplift) {
    args_require("train", "--treatment", o.treatment);
    if (o.kind == PS_KIND_AUTO)
      ps_die_all(PS_EXIT_USAGE, "train: --uplift takes --model-type logreg or gbdt, not auto");
    return uplift_train(&o);
  }
  if (o.kind == PS_KIND_AUTO) return auto_train(&o);
  return train_job_run(&o);
}
