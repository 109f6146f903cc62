/* cmd_train.c: `propscore train` -- options for training (models/train.h). */
#include <getopt.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "models/train.h"

static const char *USAGE =
    "usage: propscore train --data FILE.h5 --model MODEL.h5 [options]\n"
    "\n"
    "Fit one logistic-regression head per target, all heads in one pass over the\n"
    "data per iteration. Objective per head: class-weighted mean log-loss +\n"
    "l2/2 * ||w||^2 on standardized columns (bias not penalized).\n"
    "  --data FILE          feature file (datasets/SCHEMA.md) with /labels/<target>\n"
    "  --model FILE         output model (temporary name, renamed when complete)\n"
    "  --targets a,b        heads to train (default: every /labels/<target>)\n"
    "  --l2 X[,X...]        L2 strength, one value or one per target (default 1e-4);\n"
    "                       equals scikit-learn's C = 1/(l2 * n_train)\n"
    "  --pos-weight W       weight of positive rows: a number or 'balanced', one value\n"
    "                       or one per target (default 1)\n"
    "  --solver S           auto|lbfgs|newton (default auto: newton up to 32 columns)\n"
    "  --holdout F          validation fraction, split by a hash of customer_id (default 0.2)\n"
    "  --split-salt N       salt of that hash (default 24301)\n"
    "  --max-iter N         iterations per head (default 500)\n"
    "  --tol X              stop when the gradient inf-norm <= X (default 1e-7)\n"
    "  --ftol X             stop when the relative loss change <= X (default 1e-12)\n"
    "  --lbfgs-m N          L-BFGS memory pairs (default 10, at most 64)\n"
    "  --missing-indicators add a 0/1 'was missing' column for each column with NaN\n"
    "  --device D           cpu|cuda|auto (default auto: cuda when every rank sees a GPU)\n"
    "  --x-dtype T          f32|bf16: GPU storage of the resident rows (default f32; bf16\n"
    "                       halves memory and traffic, sums stay float64)\n"
    "  --checkpoint FILE    optimizer state on SIGTERM/SIGUSR1 (default MODEL.ckpt); a rerun\n"
    "                       of the same command resumes from it, bitwise as if never stopped\n"
    "  --checkpoint-every N also write the checkpoint every N passes (default 0: on signals only)\n"
    "  --nonfinite P        impute|reject NaN/Inf features (default impute: by the training mean)\n"
    "  --host-mem-limit S   feature rows a rank may hold (e.g. 8G); above it rows stream from the\n"
    "                       file every pass, same model bitwise (default: 60% of available\n"
    "                       memory shared by the node's ranks). Labels, the split and the exact\n"
    "                       metrics add about 70 bytes a row beyond it\n"
    "  --gpu-mem-limit S    device memory for resident rows (default 80% of the free memory);\n"
    "                       above it rows go up to the GPU block by block every pass\n"
    "  --quiet              no progress log\n"
    "exit codes: 0 ok, 1 error, 2 usage, 75 stopped by a signal after a checkpoint (rerun to resume)\n";

int cmd_train(int argc, char **argv) {
  train_common_t cm = {NULL, NULL, NULL, NULL, "auto", 0.2, PS_DEFAULT_SPLIT_SALT, 0, 0, 0, 0};
  logreg_opts_t lr = {"1e-4", "1", "auto", "f32", 500, 10, 0, 1e-7, 1e-12};
  static const char *const nonfinite[] = {"impute", "reject", NULL};
  static struct option opts[] = {
      {"data", 1, 0, 'd'},       {"model", 1, 0, 'o'},        {"targets", 1, 0, 't'},     {"l2", 1, 0, 'l'},
      {"pos-weight", 1, 0, 'w'}, {"solver", 1, 0, 's'},       {"holdout", 1, 0, 'H'},     {"split-salt", 1, 0, 'S'},
      {"max-iter", 1, 0, 'i'},   {"tol", 1, 0, 'g'},          {"ftol", 1, 0, 'f'},        {"lbfgs-m", 1, 0, 'm'},
      {"missing-indicators", 0, 0, 'M'}, {"device", 1, 0, 'D'}, {"quiet", 0, 0, 'q'},     {"help", 0, 0, 'h'},
      {"checkpoint", 1, 0, 'C'}, {"checkpoint-every", 1, 0, 'E'}, {"nonfinite", 1, 0, 'N'},
      {"x-dtype", 1, 0, 'X'},    {"host-mem-limit", 1, 0, 'L'}, {"gpu-mem-limit", 1, 0, 'G'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:o:t:l:w:s:H:S:i:g:f:m:MD:qhC:E:N:X:L:G:", opts, NULL)) != -1) {
    switch (c) {
      case 'd': cm.data = optarg; break;
      case 'o': cm.model = optarg; break;
      case 't': cm.targets = optarg; break;
      case 'l': lr.l2 = optarg; break;
      case 'w': lr.pos_weight = optarg; break;
      case 's': lr.solver = optarg; break;
      case 'H': cm.holdout = ps_parse_double("--holdout", optarg, 0.0, 0.9); break;
      case 'S': cm.split_salt = ps_parse_ll("--split-salt", optarg, 0, INT64_MAX); break;
      case 'i': lr.max_iter = (int)ps_parse_ll("--max-iter", optarg, 0, 1000000); break;
      case 'g': lr.tol = ps_parse_double("--tol", optarg, 0.0, 1.0); break;
      case 'f': lr.ftol = ps_parse_double("--ftol", optarg, 0.0, 1.0); break;
      case 'm': lr.lbfgs_m = (int)ps_parse_ll("--lbfgs-m", optarg, 1, 64); break;
      case 'M': lr.missing_indicators = 1; break;
      case 'D': cm.device = optarg; break;
      case 'q': ps_quiet = 1; break;
      case 'C': cm.checkpoint = optarg; break;
      case 'E': cm.checkpoint_every = (int)ps_parse_ll("--checkpoint-every", optarg, 0, 1000000); break;
      case 'N': cm.reject_nonfinite = ps_parse_choice("--nonfinite", optarg, nonfinite); break;
      case 'X': lr.x_dtype = optarg; break;
      case 'L': cm.host_mem_limit = ps_parse_size("--host-mem-limit", optarg); break;
      case 'G': cm.gpu_mem_limit = ps_parse_size("--gpu-mem-limit", optarg); break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("train");
    }
  }
  args_no_extra("train", argc, argv);
  if (!cm.data || !cm.model)
    ps_die_all(PS_EXIT_USAGE, "train: --data and --model are required (see propscore train --help)");
  return logreg_train(&cm, &lr);
}
