/* cmd_score.c: `propscore score` -- its option table is score_cmd
 * (models/score.c). */
#include "cli/cmds.h"
#include "models/score.h"

int cmd_score(int argc, char **argv) {
  score_opts_t o = {0};
  if (opts_parse(&score_cmd, &o, argc, argv)) return 0;
  return score_run(&o);
}
