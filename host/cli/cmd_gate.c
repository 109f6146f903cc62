/* cmd_gate.c: `propscore gate` -- its option table is gate_cmd
 * (models/gate.c). */
#include "cli/cmds.h"
#include "core/options.h"
#include "core/util.h"
#include "models/gate.h"

int cmd_gate(int argc, char **argv) {
  gate_opts_t o = {0};
  if (opts_parse(&gate_cmd, &o, argc, argv)) return 0;
  if ((o.scores != NULL) != (o.baseline_scores != NULL))
    ps_die_all(PS_EXIT_USAGE, "gate: give both --scores and --baseline-scores, or neither");
  if (o.scores && !o.baseline) ps_die_all(PS_EXIT_USAGE, "gate: --scores needs --baseline");
  return gate_run(&o);
}
