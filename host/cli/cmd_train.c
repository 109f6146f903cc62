/* cmd_train.c: `propscore train` -- options for training (models/train.h). */
#include <getopt.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "models/train.h"
#include "targeting/uplift_train.h"

static const char *USAGE =
    "usage: propscore train --data FILE.h5 --model MODEL.h5 [--model-type logreg|gbdt|auto] [options]\n"
    "\n"
    "Train one head per target, every head in the same job: multi-head logistic\n"
    "regression (logreg, the default: class-weighted mean log-loss + l2/2 ||w||^2 on\n"
    "standardized columns, every head in one pass over the data per iteration) or\n"
    "gradient-boosted trees (gbdt: LightGBM-style histograms, leaf-wise growth; the same\n"
    "model bits for any rank count). auto trains both on the same split and keeps the one\n"
    "with the lower validation log-loss.\n"
    "  --data FILE          feature file (datasets/SCHEMA.md) with /labels/<target>\n"
    "  --model FILE         output model (temporary name, renamed when complete)\n"
    "  --model-type T       logreg|gbdt|auto (default logreg)\n"
    "  --targets a,b        heads to train (default: every /labels/<target>)\n"
    "  --uplift             two-model uplift: train on the treated rows into MODEL-stem.treated.h5,\n"
    "                       on the control rows into MODEL-stem.control.h5; MODEL names both and\n"
    "                       score writes /uplift/<target> = P(y|treated) - P(y|control) and\n"
    "                       /scores/<target> = P(y|treated). Needs --targets (the outcomes)\n"
    "  --treatment FLAG     with --uplift: the 0/1 label /labels/FLAG, 1 = treated\n"
    "  --pos-weight W       weight of positive rows: a number or 'balanced', one value\n"
    "                       or one per target (default 1)\n"
    "  --holdout F          validation fraction, split by a hash of customer_id (default 0.2)\n"
    "  --split-salt N       salt of that hash (default 24301)\n"
    "  --device D           cpu|cuda|auto (default auto: cuda when every rank sees a GPU)\n"
    "  --checkpoint FILE    training state on SIGTERM/SIGUSR1 (default MODEL.ckpt); a rerun\n"
    "                       of the same command resumes from it, bitwise as if never stopped\n"
    "  --checkpoint-every N also write the checkpoint every N passes (logreg) or trees (gbdt)\n"
    "                       (default 0: on signals only)\n"
    "  --nonfinite P        impute|reject NaN/Inf features (default impute: by the training mean\n"
    "                       for logreg, a missing bin with a learned direction for gbdt)\n"
    "  --host-mem-limit S   feature rows a rank may hold (e.g. 8G; default: 60% of available\n"
    "                       memory shared by the node's ranks). logreg: above it rows stream from\n"
    "                       the file every pass, same model bitwise; labels, the split and the exact\n"
    "                       metrics add about 75 bytes a row (two heads) beyond it. gbdt: binned\n"
    "                       rows (1 byte a value) must fit, or the run is refused: use more ranks\n"
    "  --quiet              no progress log\n"
    "logistic regression:\n"
    "  --l2 X[,X...]        L2 strength, one value or one per target (default 1e-4);\n"
    "                       equals scikit-learn's C = 1/(l2 * n_train)\n"
    "  --solver S           auto|lbfgs|newton (default auto: newton up to 32 columns)\n"
    "  --max-iter N         iterations per head (default 500)\n"
    "  --tol X              stop when the gradient inf-norm <= X (default 1e-7)\n"
    "  --ftol X             stop when the relative loss change <= X (default 1e-12)\n"
    "  --lbfgs-m N          L-BFGS memory pairs (default 10, at most 64)\n"
    "  --missing-indicators add a 0/1 'was missing' column for each column with NaN\n"
    "  --x-dtype T          f32|bf16: GPU storage of the resident rows (default f32; bf16\n"
    "                       halves memory and traffic, sums stay float64)\n"
    "  --gpu-mem-limit S    device memory for resident rows (default 80% of the free memory);\n"
    "                       above it rows go up to the GPU block by block every pass\n"
    "gradient-boosted trees (LightGBM's names and defaults):\n"
    "  --trees N            boosting rounds per head (default 100)\n"
    "  --learning-rate X    shrinkage of every leaf value (default 0.1)\n"
    "  --num-leaves N       leaves a tree may grow to, leaf-wise (default 31)\n"
    "  --max-depth N        depth limit (default 0: none)\n"
    "  --min-data-in-leaf N rows a leaf needs (default 20)\n"
    "  --min-sum-hessian X  sum of Hessians a leaf needs (default 1e-3)\n"
    "  --lambda-l2 X        L2 on leaf values (default 0)\n"
    "  --min-gain-to-split X a split must gain more than this (default 0)\n"
    "  --feature-fraction X features each tree may use, drawn per tree (default 1)\n"
    "  --bagging-fraction X rows each tree sees, drawn by customer id (default 1)\n"
    "  --bagging-freq N     draw the rows again every N trees (default 1)\n"
    "  --max-bin N          value bins per feature, at most 255 (default 255; NaN has its own)\n"
    "  --bin-sample N       training rows sampled for the cut points (default 200000)\n"
    "  --early-stopping N   stop a head when its validation log-loss has not improved for N\n"
    "                       trees and keep the best (default 0: off; needs --holdout > 0)\n"
    "  --seed N             seed of the row and feature draws (default 42)\n"
    "  --hist-memory S      leaf histograms kept for the subtraction trick (default 512M)\n"
    "exit codes: 0 ok, 1 error, 2 usage, 75 stopped by a signal after a checkpoint (rerun to resume)\n";

int cmd_train(int argc, char **argv) {
  train_common_t cm = {NULL, NULL, NULL, NULL, "auto", 0.2, PS_DEFAULT_SPLIT_SALT, 0, 0, 0, 0};
  logreg_opts_t lr = {"1e-4", "1", "auto", "f32", 500, 10, 0, 1e-7, 1e-12};
  gbdt_opts_t gb = {100, 31, 0, 255, 0, 1, 20, 200000, (int64_t)512 << 20, 0.1, 1e-3, 0.0, 0.0, 1.0, 1.0, 42, "1"};
  static const char *const nonfinite[] = {"impute", "reject", NULL};
  static const char *const kinds[] = {"logreg", "gbdt", "auto", NULL};
  int kind = 0;
  static struct option opts[] = {
      {"data", 1, 0, 'd'},       {"model", 1, 0, 'o'},        {"targets", 1, 0, 't'},     {"l2", 1, 0, 'l'},
      {"pos-weight", 1, 0, 'w'}, {"solver", 1, 0, 's'},       {"holdout", 1, 0, 'H'},     {"split-salt", 1, 0, 'S'},
      {"max-iter", 1, 0, 'i'},   {"tol", 1, 0, 'g'},          {"ftol", 1, 0, 'f'},        {"lbfgs-m", 1, 0, 'm'},
      {"missing-indicators", 0, 0, 'M'}, {"device", 1, 0, 'D'}, {"quiet", 0, 0, 'q'},     {"help", 0, 0, 'h'},
      {"checkpoint", 1, 0, 'C'}, {"checkpoint-every", 1, 0, 'E'}, {"nonfinite", 1, 0, 'N'},
      {"x-dtype", 1, 0, 'X'},    {"host-mem-limit", 1, 0, 'L'}, {"gpu-mem-limit", 1, 0, 'G'},
      {"model-type", 1, 0, 'K'}, {"trees", 1, 0, 1000},      {"learning-rate", 1, 0, 1001}, {"num-leaves", 1, 0, 1002},
      {"max-depth", 1, 0, 1003}, {"min-data-in-leaf", 1, 0, 1004}, {"min-sum-hessian", 1, 0, 1005},
      {"lambda-l2", 1, 0, 1006}, {"min-gain-to-split", 1, 0, 1007}, {"feature-fraction", 1, 0, 1008},
      {"bagging-fraction", 1, 0, 1009}, {"bagging-freq", 1, 0, 1010}, {"max-bin", 1, 0, 1011},
      {"bin-sample", 1, 0, 1012}, {"early-stopping", 1, 0, 1013}, {"seed", 1, 0, 1014}, {"hist-memory", 1, 0, 1015},
      {"uplift", 0, 0, 1100},    {"treatment", 1, 0, 1101},  {0, 0, 0, 0}};
  int uplift = 0;
  const char *treatment = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "d:o:t:l:w:s:H:S:i:g:f:m:MD:qhC:E:N:X:L:G:", opts, NULL)) != -1) {
    switch (c) {
      case 'd': cm.data = optarg; break;
      case 'o': cm.model = optarg; break;
      case 't': cm.targets = optarg; break;
      case 'l': lr.l2 = optarg; break;
      case 'w': lr.pos_weight = gb.pos_weight = optarg; break;
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
      case 'K': kind = ps_parse_choice("--model-type", optarg, kinds); break;
      case 1000: gb.trees = (int)ps_parse_ll("--trees", optarg, 1, 1000000); break;
      case 1001: gb.learning_rate = ps_parse_double("--learning-rate", optarg, 1e-6, 10); break;
      case 1002: gb.num_leaves = (int)ps_parse_ll("--num-leaves", optarg, 2, 131072); break;
      case 1003: gb.max_depth = (int)ps_parse_ll("--max-depth", optarg, -1, 1000); break;
      case 1004: gb.min_data = ps_parse_ll("--min-data-in-leaf", optarg, 1, INT64_MAX); break;
      case 1005: gb.min_hess = ps_parse_double("--min-sum-hessian", optarg, 0, 1e12); break;
      case 1006: gb.l2 = ps_parse_double("--lambda-l2", optarg, 0, 1e12); break;
      case 1007: gb.min_gain = ps_parse_double("--min-gain-to-split", optarg, 0, 1e12); break;
      case 1008: gb.feature_fraction = ps_parse_double("--feature-fraction", optarg, 1e-6, 1); break;
      case 1009: gb.bagging_fraction = ps_parse_double("--bagging-fraction", optarg, 1e-6, 1); break;
      case 1010: gb.bagging_freq = (int)ps_parse_ll("--bagging-freq", optarg, 1, 1000000); break;
      case 1011: gb.max_bin = (int)ps_parse_ll("--max-bin", optarg, 2, 255); break;
      case 1012: gb.bin_sample = ps_parse_ll("--bin-sample", optarg, 100, INT64_MAX); break;
      case 1013: gb.early_stopping = (int)ps_parse_ll("--early-stopping", optarg, 0, 1000000); break;
      case 1014: gb.seed = (uint64_t)ps_parse_ll("--seed", optarg, 0, INT64_MAX); break;
      case 1015: gb.hist_budget = ps_parse_size("--hist-memory", optarg); break;
      case 1100: uplift = 1; break;
      case 1101: treatment = optarg; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("train");
    }
  }
  args_no_extra("train", argc, argv);
  if (!cm.data || !cm.model)
    ps_die_all(PS_EXIT_USAGE, "train: --data and --model are required (see propscore train --help)");
  if (gb.max_depth < 0) gb.max_depth = 0;
  if (treatment && !uplift) ps_die_all(PS_EXIT_USAGE, "train: --treatment needs --uplift");
  if (uplift) {
    args_require("train", "--treatment", treatment);
    if (kind == 2) ps_die_all(PS_EXIT_USAGE, "train: --uplift takes --model-type logreg or gbdt, not auto");
    return uplift_train(&cm, treatment, kind, &lr, &gb);
  }
  if (kind == 1) return gbdt_train(&cm, &gb);
  if (kind == 2) return auto_train(&cm, &lr, &gb);
  return logreg_train(&cm, &lr);
}
