/* cmd_segment.c: `propscore segment` -- its option table is segment_cmd
 * (models/kmeans/segment.c); here only what ties options together. */
#include <stdio.h>

#include "cli/cmds.h"
#include "core/util.h"
#include "models/device.h"
#include "models/kmeans/segment.h"

/* Options that only a fit reads: refused beside --model (it has its own). */
static const char *const FIT_ONLY[] = {"k", "columns", "n-init", "max-iter", "tol", "seed", "sample", "device", NULL};

int cmd_segment(int argc, char **argv) {
  segment_opts_t o = {0};
  if (opts_parse(&segment_cmd, &o, argc, argv)) return 0;
  if (o.k_range) {
    int lo = 0, hi = 0, used = 0;
    if (sscanf(o.k_range, "%d:%d%n", &lo, &hi, &used) != 2 || o.k_range[used] != 0 || lo < 1 || hi < lo ||
        hi > 100000)
      ps_die_all(PS_EXIT_USAGE, "--k-range: expected LO:HI with 1 <= LO <= HI, got '%s'", o.k_range);
    o.k_lo = lo;
    o.k_hi = hi;
  }
  if (o.model && o.k_lo > 0) ps_die_all(PS_EXIT_USAGE, "segment: --model and --k-range do not go together");
  for (int i = 0; o.model && FIT_ONLY[i]; i++)
    if (opts_given(FIT_ONLY[i]))
      ps_die_all(PS_EXIT_USAGE, "segment: --%s does not apply with --model (the saved model's personas are used as "
                 "they are)", FIT_ONLY[i]);
  o.cuda = device_choose(o.device);
  if (o.k_lo > 0 && o.out) ps_die_all(PS_EXIT_USAGE, "segment: --k-range writes no file; leave out --out");
  if (o.model && !o.out) ps_die_all(PS_EXIT_USAGE, "segment: --model needs --out (where the assignments go)");
  return segment_run(&o);
}
