/* cmd_gen.c: `propscore gen` -- its option table is gen_cmd (gen/gen.c);
 * --density: sparse customers as CSR (gen/sparse.c). */
#include "cli/cmds.h"
#include "gen/gen.h"
#include "gen/sparse.h"

int cmd_gen(int argc, char **argv) {
  gen_opts_t o = {0};
  if (opts_parse(&gen_cmd, &o, argc, argv)) return 0;
  return o.density > 0 ? gen_sparse_run(&o) : gen_run(&o);
}
