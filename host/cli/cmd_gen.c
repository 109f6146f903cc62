/* cmd_gen.c: `propscore gen` -- its option table is gen_cmd (gen/gen.c);
 * --density: sparse customers as CSR (gen/sparse.c), --informative only with it. */
#include "cli/cmds.h"
#include "core/util.h"
#include "gen/gen.h"
#include "gen/sparse.h"

int cmd_gen(int argc, char **argv) {
  gen_opts_t o = {0};
  if (opts_parse(&gen_cmd, &o, argc, argv)) return 0;
  if (o.informative > 0 && !(o.density > 0))
    ps_die_all(PS_EXIT_USAGE, "gen: --informative goes with --density (the dense customers' planted model is fixed)");
  return o.density > 0 ? gen_sparse_run(&o) : gen_run(&o);
}
