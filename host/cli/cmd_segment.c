/* cmd_segment.c: `propscore segment` -- options for the segment job
 * (models/kmeans/segment.h). */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "models/device.h"
#include "models/kmeans/segment.h"

static const char *USAGE =
    "usage: propscore segment --data FILE.h5 [--out PERSONAS.h5] [--k K] [--columns LIST]\n"
    "                         [--n-init N] [--max-iter N] [--tol T] [--seed S] [--top N] [--json]\n"
    "                         [--scores SCORES.h5]\n"
    "       propscore segment --data FILE.h5 --model PERSONAS.h5 --out NEW.h5\n"
    "       propscore segment --data FILE.h5 --k-range LO:HI [--sample N] [--json]\n"
    "\n"
    "Group every customer into K personas by k-means on standardized features\n"
    "(k-means|| initialization, Lloyd iterations; the same bytes for any number of\n"
    "ranks) and print a profile of each persona.\n"
    "  --data FILE      input feature file (datasets/SCHEMA.md)\n"
    "  --out FILE       personas file: /customer_id, /segments/persona, /segments/distance\n"
    "                   and the model (datasets/SCHEMA.md); optional (profile only)\n"
    "  --k K            personas (default 26); 1 <= K <= rows\n"
    "  --columns LIST   comma-separated feature names; NAME* selects a prefix (emb_*)\n"
    "                   (default: every feature). Standardized as in train; NaN/Inf\n"
    "                   imputed by the column mean\n"
    "  --model FILE     assign customers to a saved personas file's centroids (its\n"
    "                   columns and standardization): stable persona ids month to month\n"
    "  --n-init N       restarts with different seeds; the lowest inertia is kept (default 3)\n"
    "  --max-iter N     Lloyd iterations at most (default 300)\n"
    "  --tol T          stop when the relative inertia change is below T (default 1e-6)\n"
    "  --seed S         seed of the initialization (default 42)\n"
    "  --k-range LO:HI  for each k in LO..HI: inertia and a silhouette estimate on an\n"
    "                   id-hashed sample (nothing written)\n"
    "  --sample N       silhouette sample size, about (default 2000)\n"
    "  --top N          distinguishing features shown per persona (default 3)\n"
    "  --scores FILE    a scores file of the same customers (score): each persona's mean\n"
    "                   score per target; the actual rate of each target with labels in\n"
    "                   --data is shown too\n"
    "  --json           the profile (or the k-range table) as one JSON document on stdout\n"
    "  --device D       cpu (default), cuda or auto: Lloyd iterations on the GPU (rows\n"
    "                   resident there; cuBLAS distances may break near-ties differently)\n"
    "  --quiet          no progress log\n"
    "exit codes: 0 ok, 1 error, 2 usage\n";

int cmd_segment(int argc, char **argv) {
  segment_opts_t o = {0};
  o.k = 26;
  o.n_init = 3;
  o.max_iter = 300;
  o.tol = 1e-6;
  o.seed = 42;
  o.top = 3;
  o.sample = 2000;
  const char *device = "cpu";
  static struct option opts[] = {{"data", 1, 0, 'd'},     {"out", 1, 0, 'o'},      {"k", 1, 0, 'k'},
                                 {"columns", 1, 0, 'c'},  {"model", 1, 0, 'm'},    {"n-init", 1, 0, 'i'},
                                 {"max-iter", 1, 0, 'x'}, {"tol", 1, 0, 't'},      {"seed", 1, 0, 's'},
                                 {"k-range", 1, 0, 'r'},  {"sample", 1, 0, 'S'},   {"top", 1, 0, 'T'},
                                 {"json", 0, 0, 'j'},     {"device", 1, 0, 'D'},   {"quiet", 0, 0, 'q'},
                                 {"help", 0, 0, 'h'},     {"scores", 1, 0, 'P'},   {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:o:k:c:m:i:x:t:s:r:S:T:jD:qhP:", opts, NULL)) != -1) {
    switch (c) {
      case 'd': o.data = optarg; break;
      case 'o': o.out = optarg; break;
      case 'k': o.k = (int)ps_parse_ll("--k", optarg, 1, 100000); break;
      case 'c': o.columns = optarg; break;
      case 'm': o.model = optarg; break;
      case 'i': o.n_init = (int)ps_parse_ll("--n-init", optarg, 1, 1000); break;
      case 'x': o.max_iter = (int)ps_parse_ll("--max-iter", optarg, 1, 1000000); break;
      case 't': o.tol = ps_parse_double("--tol", optarg, 0.0, 1.0); break;
      case 's': o.seed = (uint64_t)ps_parse_ll("--seed", optarg, 0, INT64_MAX); break;
      case 'r': {
        int lo = 0, hi = 0, used = 0;
        if (sscanf(optarg, "%d:%d%n", &lo, &hi, &used) != 2 || optarg[used] != 0 || lo < 1 || hi < lo || hi > 100000)
          ps_die_all(PS_EXIT_USAGE, "--k-range: expected LO:HI with 1 <= LO <= HI, got '%s'", optarg);
        o.k_lo = lo;
        o.k_hi = hi;
        break;
      }
      case 'S': o.sample = ps_parse_ll("--sample", optarg, 2, 100000); break;
      case 'T': o.top = (int)ps_parse_ll("--top", optarg, 0, 1000); break;
      case 'j': o.json = 1; break;
      case 'P': o.scores = optarg; break;
      case 'D': device = optarg; break;
      case 'q': ps_quiet = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("segment");
    }
  }
  args_no_extra("segment", argc, argv);
  args_require("segment", "--data", o.data);
  o.cuda = device_choose(device);
  if (o.model && o.k_lo > 0) ps_die_all(PS_EXIT_USAGE, "segment: --model and --k-range do not go together");
  if (o.k_lo > 0 && o.out) ps_die_all(PS_EXIT_USAGE, "segment: --k-range writes no file; leave out --out");
  if (o.model && !o.out) ps_die_all(PS_EXIT_USAGE, "segment: --model needs --out (where the assignments go)");
  return segment_run(&o);
}
