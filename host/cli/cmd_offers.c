/* cmd_offers.c: `propscore offers` -- its option table is offers_cmd
 * (targeting/offers.c). */
#include "cli/cmds.h"
#include "targeting/offers.h"

int cmd_offers(int argc, char **argv) {
  offers_opts_t o = {0};
  if (opts_parse(&offers_cmd, &o, argc, argv)) return 0;
  if (!opts_given("budget")) o.budget = -1; /* none */
  return offers_run(&o);
}
