/* main.c: the `propscore` command line: MPI setup, then one subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "comm/comm.h"
#include "core/signals.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/manifest.h"
#ifdef PROPSCORE_HAVE_CUDA
#include "common/cuda_probe.h"
#endif

static const char *USAGE =
    "usage: [mpirun -np P] propscore COMMAND [options]   (propscore COMMAND --help)\n"
    "\n"
    "Train and score customer propensity / churn models on HDF5 feature files.\n"
    "commands:\n"
    "  gen       generate a synthetic customer feature file with planted labels\n"
    "  inspect   shape, chunking, per-feature statistics and label rates of a file\n"
    "  train     fit one head per target: logistic regression (L-BFGS or Newton) or\n"
    "            gradient-boosted trees (--model-type gbdt|auto), write a model\n"
    "  score     write per-customer probabilities for every head of a model\n"
    "  eval      ROC-AUC, PR-AUC, log-loss, Brier, lift and calibration of scores\n"
    "  gate      quality gate: may a new model replace the published one?\n"
    "  holdout   stable treatment/control split of customers for a campaign\n"
    "  offers    next best offer: each customer's offers ranked by expected value\n"
    "  export    audience list (top N by a score) as CSV/Parquet with pseudonymous ids\n"
    "  segment   k-means personas of every customer, with a profile of each\n"
    "  export-model  a model as a file other tools load (LightGBM text, JSON)\n"
    "exit codes: 0 ok, 1 error (bad input, I/O), 2 bad command line, 3 gate refused,\n"
    "            75 stopped by SIGTERM/SIGUSR1 (rerun to resume where a checkpoint was kept)\n";

static const struct {
  const char *name;
  int (*fn)(int, char **);
} COMMANDS[] = {{"gen", cmd_gen},     {"inspect", cmd_inspect}, {"train", cmd_train},
                {"score", cmd_score}, {"eval", cmd_eval},       {"gate", cmd_gate},
                {"holdout", cmd_holdout}, {"offers", cmd_offers},
                {"export", cmd_export},   {"segment", cmd_segment},
                {"export-model", cmd_export_model}};

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  h5_init();
  ps_signals_install();
  int rc = -1;
  const char *cmd = argc > 1 ? argv[1] : "";
  if (argc < 2 || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    ps_out("%s", USAGE);
    rc = argc < 2 ? PS_EXIT_USAGE : 0;
  } else if (!strcmp(cmd, "--version")) {
    ps_out("propscore %s", PROPSCORE_VERSION);
#ifdef PROPSCORE_HAVE_CUDA
    char desc[256];
    ps_cuda_probe(desc, sizeof desc);
    ps_out("backends: cpu, cuda (%s)", desc);
#else
    ps_out("backends: cpu (built without CUDA)");
#endif
    rc = 0;
  } else {
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
      if (!strcmp(cmd, COMMANDS[i].name)) {
        manifest_begin(cmd, argc - 1, argv + 1);
        rc = COMMANDS[i].fn(argc - 1, argv + 1);
      }
    if (rc < 0) ps_die_all(PS_EXIT_USAGE, "unknown command '%s' (see propscore --help)", cmd);
  }
  if (getenv("PROPSCORE_REPORT_RSS")) /* tests: what each rank needed */
    fprintf(stderr, "propscore: rank %d peak RSS %ld KiB\n", ps_rank, ps_peak_rss_kb());
  comm_finalize();
  return rc;
}
