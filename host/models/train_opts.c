/* train_opts.c: `propscore train`'s options, one table (train.h's
 * train_opts_t: common, logistic regression and gradient-boosted trees):
 * it drives getopt, --help, the ranges, the fingerprint and the manifest. */
#include <stddef.h>

#include "core/util.h"
#include "models/train.h"

static const char *const NONFINITE[] = {"impute", "reject", NULL};
static const char *const KINDS[] = {"logreg", "gbdt", "auto", NULL};
static const char *const STANDARDIZE[] = {"center", "scale", NULL};
static const char *const CALIBRATIONS[] = {"none", "isotonic", "platt", NULL}; /* PS_CALIB_* */
static const char *const SOLVERS[] = {"auto", "lbfgs", "newton", NULL};
static const char *const GRAD_BITS[] = {"exact", "16", "8", "4", "auto", NULL}; /* gbdt_grad_bits' choice */
static const char *const BUNDLE[] = {"auto", "off", NULL};
static const char *const GPU_SUMS[] = {"exact", "fast", NULL}; /* logreg_opts_t.gpu_sums */
#define C(field) offsetof(train_opts_t, cm.field)
#define L(field) offsetof(train_opts_t, lr.field)
#define G(field) offsetof(train_opts_t, gb.field)
#define T(field) offsetof(train_opts_t, field)
static const ps_option_t TRAIN_OPTS[] = {
    {.name = "data", .type = OPT_STR, .off = C(data), .arg = "FILE", .flags = OPT_REQUIRED, .short_name = 'd',
     .help = "feature file (datasets/SCHEMA.md) with /labels/<target>"},
    {.name = "model", .type = OPT_STR, .off = C(model), .arg = "FILE", .flags = OPT_REQUIRED, .short_name = 'o',
     .help = "output model (temporary name, renamed when complete)"},
    {.name = "model-type", .type = OPT_CHOICE, .off = T(kind), .choices = KINDS, .def = "logreg", .arg = "T",
     .help = "logreg|gbdt|auto", .short_name = 'K'},
    {.name = "targets", .type = OPT_STR, .off = C(targets), .arg = "a,b", .short_name = 't',
     .help = "heads to train (default: every /labels/<target>)"},
    {.name = "uplift", .type = OPT_FLAG, .off = T(uplift),
     .help = "two-model uplift: train on the treated rows into MODEL-stem.treated.h5,\n"
             "on the control rows into MODEL-stem.control.h5; MODEL names both and\n"
             "score writes /uplift/<target> = P(y|treated) - P(y|control) and\n"
             "/scores/<target> = P(y|treated). Needs --targets (the outcomes)"},
    {.name = "treatment", .type = OPT_STR, .off = T(treatment), .arg = "FLAG",
     .help = "with --uplift: the 0/1 label /labels/FLAG, 1 = treated"},
    {.name = "pos-weight", .type = OPT_STR, .off = C(pos_weight), .def = "1", .arg = "W", .short_name = 'w',
     .help = "weight of positive rows: a number or 'balanced', one value\nor one per target (default 1)",
     .fp = "pos_weight", .manifest = "pos_weight"},
    {.name = "holdout", .type = OPT_DOUBLE, .off = C(holdout), .def = "0.2", .lo = 0.0, .hi = 0.9, .arg = "F",
     .help = "validation fraction, split by a hash of customer_id", .fp = "holdout", .manifest = "holdout",
     .short_name = 'H'},
    {.name = "split-salt", .type = OPT_I64, .off = C(split_salt), .def = "24301", .min = 0, .max = INT64_MAX,
     .arg = "N", .help = "salt of that hash", .fp = "salt", .manifest = "split_salt", .short_name = 'S'},
    {.name = "device", .type = OPT_STR, .off = C(device), .def = "auto", .arg = "D", .short_name = 'D',
     .help = "cpu|cuda|auto (default auto: cuda when every rank sees a GPU)"},
    {.name = "checkpoint", .type = OPT_STR, .off = C(checkpoint), .arg = "FILE", .short_name = 'C',
     .help = "training state on SIGTERM/SIGUSR1 (default MODEL.ckpt); a rerun\n"
             "of the same command resumes from it, bitwise as if never stopped"},
    {.name = "checkpoint-every", .type = OPT_INT, .off = C(checkpoint_every), .def = "0", .min = 0, .max = 1000000,
     .arg = "N", .short_name = 'E',
     .help = "also write the checkpoint every N passes (logreg) or trees (gbdt)\n(default 0: on signals only)"},
    {.name = "nonfinite", .type = OPT_CHOICE, .off = C(reject_nonfinite), .choices = NONFINITE, .def = "impute",
     .arg = "P", .fp = "reject_nonfinite", .short_name = 'N',
     .help = "impute|reject NaN/Inf features (default impute: by the training mean\n"
             "for logreg, a missing bin with a learned direction for gbdt)"},
    {.name = "host-mem-limit", .type = OPT_SIZE, .off = C(host_mem_limit), .arg = "S", .short_name = 'L',
     .help = "feature rows a rank may hold (e.g. 8G; default: 60% of available\n"
             "memory shared by the node's ranks). logreg: above it rows stream from\n"
             "the file every pass, same model bitwise; labels, the split and the exact\n"
             "metrics add about 75 bytes a row (two heads) beyond it. gbdt: binned\n"
             "rows (1 byte a value) must fit, or the run is refused: use more ranks"},
    {.name = "cv-folds", .type = OPT_INT, .off = T(cv_folds), .def = "0", .min = 0, .max = 20, .arg = "K",
     .help = "auto: choose by K-fold cross-validation (folds by a hash of\n"
             "customer_id), then refit on every row; 1: decide on the --holdout\n"
             "split (default 0: 5 folds unless the validation split holds 10,000\n"
             "rows of each head's rarer class)"},
    {.name = "calibrate", .type = OPT_CHOICE, .off = C(calibrate), .choices = CALIBRATIONS, .def = "none",
     .arg = "C", .help = "isotonic|platt|none: after the fit, map each head's probabilities\n"
                         "to calibrated ones, fitted on the validation rows' scores (needs\n"
                         "--holdout > 0; auto with K >= 2 folds: every row's out-of-fold score;\n"
                         "stored in the model, applied by score)"},
    {.name = "calibration-scores", .type = OPT_FLAG, .off = T(calibration_scores),
     .help = "auto --calibrate with K >= 2 folds: also store the out-of-fold\n"
             "probabilities the map was fitted on (/calibration/<target>/scores,\n"
             "in file row order; for checks)"},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .help = "no progress log", .short_name = 'q'},
    {.help = "logistic regression:"},
    {.name = "l2", .type = OPT_STR, .off = L(l2), .def = "1e-4", .arg = "X[,X...]", .short_name = 'l',
     .help = "L2 strength, one value or one per target (default 1e-4);\nequals scikit-learn's C = 1/(l2 * n_train)",
     .fp = "l2", .manifest = "l2"},
    {.name = "l1", .type = OPT_STR, .off = L(l1), .def = "0", .arg = "X[,X...]",
     .help = "L1 strength (0 to 10), one value or one per target (default 0):\n"
             "+ X * sum |w| on the standardized weights (elastic net with --l2),\n"
             "fitted by OWL-QN (L-BFGS; not with --solver newton); weights\n"
             "of columns that do not earn their penalty become exactly 0",
     .fp = "l1"},
    {.name = "solver", .type = OPT_CHOICE, .off = L(solver), .choices = SOLVERS, .def = "auto", .arg = "S",
     .help = "auto|lbfgs|newton (default auto: newton up to 32 columns)", .fp = "solver", .short_name = 's'},
    {.name = "max-iter", .type = OPT_INT, .off = L(max_iter), .def = "500", .min = 0, .max = 1000000, .arg = "N",
     .help = "iterations per head", .fp = "max_iter", .manifest = "max_iter", .short_name = 'i'},
    {.name = "tol", .type = OPT_DOUBLE, .off = L(tol), .def = "1e-7", .lo = 0.0, .hi = 1.0, .arg = "X",
     .help = "stop when the gradient inf-norm <= X", .fp = "tol", .manifest = "tol", .short_name = 'g'},
    {.name = "ftol", .type = OPT_DOUBLE, .off = L(ftol), .def = "1e-12", .lo = 0.0, .hi = 1.0, .arg = "X",
     .help = "stop when the relative loss change <= X", .fp = "ftol", .manifest = "ftol", .short_name = 'f'},
    {.name = "lbfgs-m", .type = OPT_INT, .off = L(lbfgs_m), .def = "10", .min = 1, .max = 64, .arg = "N",
     .help = "L-BFGS memory pairs (default 10, at most 64)", .fp = "m", .short_name = 'm'},
    {.name = "missing-indicators", .type = OPT_FLAG, .off = L(missing_indicators), .short_name = 'M',
     .help = "add a 0/1 'was missing' column for each column with NaN", .fp = "missing",
     .manifest = "missing_indicators"},
    {.name = "standardize", .type = OPT_CHOICE, .off = L(standardize), .choices = STANDARDIZE, .def = "center",
     .arg = "HOW", .fp = "standardize",
     .help = "center|scale: columns as (x - mean)/std, or x/std (no centering:\nzeros stay zeros; a CSR file then trains on its stored values)"},
    {.name = "x-dtype", .type = OPT_STR, .off = L(x_dtype), .def = "f32", .arg = "T", .fp = "x_dtype", .short_name = 'X',
     .help = "f32|bf16: GPU storage of the resident rows (default f32; bf16\nhalves memory and traffic, sums stay float64)"},
    {.name = "gpu-mem-limit", .type = OPT_SIZE, .off = C(gpu_mem_limit), .arg = "S", .short_name = 'G',
     .help = "device memory for resident rows (default 80% of the free memory);\n"
             "above it rows go up to the GPU block by block every pass"},
    {.help = "gradient-boosted trees (LightGBM's names and defaults):"},
    {.name = "trees", .type = OPT_INT, .off = G(trees), .def = "100", .min = 1, .max = 1000000, .arg = "N",
     .help = "boosting rounds per head", .fp = "trees", .manifest = "trees"},
    {.name = "learning-rate", .type = OPT_DOUBLE, .off = G(learning_rate), .def = "0.1", .lo = 1e-6, .hi = 10,
     .arg = "X", .help = "shrinkage of every leaf value", .fp = "learning_rate", .manifest = "learning_rate"},
    {.name = "num-leaves", .type = OPT_INT, .off = G(num_leaves), .def = "31", .min = 2, .max = 131072, .arg = "N",
     .help = "leaves a tree may grow to, leaf-wise", .fp = "num_leaves", .manifest = "num_leaves"},
    {.name = "max-depth", .type = OPT_INT, .off = G(max_depth), .def = "0", .min = -1, .max = 1000, .arg = "N",
     .help = "depth limit (default 0: none)", .fp = "max_depth", .manifest = "max_depth"},
    {.name = "min-data-in-leaf", .type = OPT_I64, .off = G(min_data), .def = "20", .min = 1, .max = 1000000000000LL,
     .arg = "N", .help = "rows a leaf needs", .fp = "min_data", .manifest = "min_data_in_leaf"},
    {.name = "min-sum-hessian", .type = OPT_DOUBLE, .off = G(min_hess), .def = "1e-3", .lo = 0, .hi = 1e12, .arg = "X",
     .help = "sum of Hessians a leaf needs", .fp = "min_hess"},
    {.name = "lambda-l2", .type = OPT_DOUBLE, .off = G(l2), .def = "0", .lo = 0, .hi = 1e12, .arg = "X",
     .help = "L2 on leaf values", .fp = "l2", .manifest = "lambda_l2"},
    {.name = "min-gain-to-split", .type = OPT_DOUBLE, .off = G(min_gain), .def = "0", .lo = 0, .hi = 1e12, .arg = "X",
     .help = "a split must gain more than this", .fp = "min_gain"},
    {.name = "feature-fraction", .type = OPT_DOUBLE, .off = G(feature_fraction), .def = "1", .lo = 1e-6, .hi = 1,
     .arg = "X", .help = "features each tree may use, drawn per tree", .fp = "feature_fraction",
     .manifest = "feature_fraction"},
    {.name = "bagging-fraction", .type = OPT_DOUBLE, .off = G(bagging_fraction), .def = "1", .lo = 1e-6, .hi = 1,
     .arg = "X", .help = "rows each tree sees, drawn by customer id", .fp = "bagging_fraction",
     .manifest = "bagging_fraction"},
    {.name = "bagging-freq", .type = OPT_INT, .off = G(bagging_freq), .def = "1", .min = 1, .max = 1000000, .arg = "N",
     .help = "draw the rows again every N trees", .fp = "bagging_freq"},
    {.name = "max-bin", .type = OPT_INT, .off = G(max_bin), .def = "255", .min = 2, .max = 255, .arg = "N",
     .help = "value bins per feature, at most 255 (default 255; NaN has its own)", .fp = "max_bin",
     .manifest = "max_bin"},
    {.name = "bin-sample", .type = OPT_I64, .off = G(bin_sample), .def = "200000", .min = 100,
     .max = 1000000000000LL, .arg = "N", .help = "training rows sampled for the cut points", .fp = "bin_sample"},
    {.name = "early-stopping", .type = OPT_INT, .off = G(early_stopping), .def = "30", .min = 0, .max = 1000000,
     .arg = "N", .fp = "early_stopping", .manifest = "early_stopping_rounds",
     .help = "stop a head when its validation log-loss has not improved for N\n"
             "trees and keep the best (default 30; 0: off; only where there are\n"
             "validation rows: --holdout > 0, or auto's folds)"},
    {.name = "seed", .type = OPT_U64, .off = G(seed), .def = "42", .min = 0, .max = INT64_MAX, .arg = "N",
     .help = "seed of the row and feature draws", .fp = "seed"},
    {.name = "grad-bits", .type = OPT_CHOICE, .off = G(grad_bits), .choices = GRAD_BITS, .def = "auto", .arg = "B",
     .fp = "grad_bits",
     .help = "exact|16|8|4|auto: gradients and Hessians of each tree rounded\n(stochastically, by customer id) to B-bit integers for the histograms;\nleaf values refit exactly (default auto: 8 bits from --grad-bits-min-rows\ntraining rows on, exact below)"},
    {.name = "bundle", .type = OPT_CHOICE, .off = G(bundle_off), .choices = BUNDLE, .def = "auto", .arg = "B",
     .help = "auto|off: features never off their most frequent bin in the same\nrow (one-hot, rare flags) share one histogram column; the model is\nthe same bits either way, auto only builds histograms faster (cpu)"},
    {.name = "hist-memory", .type = OPT_SIZE, .off = G(hist_budget), .def = "512M", .arg = "S",
     .help = "leaf histograms kept for the subtraction trick"},
    {.name = "grad-bits-min-rows", .type = OPT_I64, .off = G(grad_bits_min_rows), .def = "500000", .min = 0,
     .max = 1000000000000LL, .arg = "N", .fp = "grad_bits_min_rows", .manifest = "grad_bits_min_rows",
     .help = "--grad-bits auto quantizes when the training rows of all ranks\nnumber at least N"},
    {.help = "categorical features in the trees (LightGBM's names and defaults; gbdt/categorical.h):"},
    {.name = "cat-smooth", .type = OPT_DOUBLE, .off = G(cat_smooth), .def = "10", .lo = 0, .hi = 1e9, .arg = "X",
     .help = "categories with fewer rows are left out of a set search, the rest\n"
             "sorted by sum_g / (sum_h + X)", .fp = "cat_smooth"},
    {.name = "cat-l2", .type = OPT_DOUBLE, .off = G(cat_l2), .def = "10", .lo = 0, .hi = 1e12, .arg = "X",
     .help = "L2 added to --lambda-l2 in a set split's gain", .fp = "cat_l2"},
    {.name = "max-cat-to-onehot", .type = OPT_INT, .off = G(max_cat_onehot), .def = "4", .min = 1, .max = 255,
     .arg = "N", .help = "up to N categories: one category against the rest", .fp = "max_cat_to_onehot"},
    {.name = "min-data-per-group", .type = OPT_I64, .off = G(min_data_per_group), .def = "100", .min = 1,
     .max = 1000000000000LL, .arg = "N", .help = "rows a set adds before it is tried, and the other side keeps",
     .fp = "min_data_per_group"},
    {.name = "max-cat-threshold", .type = OPT_INT, .off = G(max_cat_threshold), .def = "32", .min = 1, .max = 255,
     .arg = "N", .help = "categories a set may hold", .fp = "max_cat_threshold"},
    {.help = "logistic regression, the adaptive lasso (Zou 2006):"},
    {.name = "l1-weights", .type = OPT_STR, .off = L(l1_weights), .arg = "MODEL",
     .help = "with --l1: weight j's L1 strength is --l1 / |w0_j|^gamma, w0 the\n"
             "standardized weights of MODEL (a first logreg fit of the same\n"
             "columns, e.g. with --l1); weights 0 in MODEL stay exactly 0. Choose\n"
             "each fit's --l1 on held-out training rows (docs/BENCHMARKS.md)"},
    {.name = "l1-gamma", .type = OPT_DOUBLE, .off = L(l1_gamma), .def = "1", .lo = 0.1, .hi = 4, .arg = "G",
     .help = "--l1-weights' exponent gamma (0.1 to 4)"},
    {.help = "logistic regression on the GPU (--device cuda; no effect on the CPU):"},
    {.name = "gpu-sums", .type = OPT_CHOICE, .off = L(gpu_sums), .choices = GPU_SUMS, .def = "exact", .arg = "HOW",
     .fp = "gpu_sums",
     .help = "exact|fast: exact sums each grid block of float32 rows on the\n"
             "device in the CPU's order: the CPU's model bytes for any rank\n"
             "count, CSR = dense. fast: grad.cu's tensor-core sums and Newton's\n"
             "Hessians on the device, faster at many heads; the last bits depend\n"
             "on the rank count (within 1e-9 of exact). CSR rows keep their\n"
             "exact sums (default exact)"},
    {0}};
#undef C
#undef L
#undef G
#undef T

const ps_cmd_spec_t train_cmd = {
    .name = "train",
    .opts = TRAIN_OPTS,
    .usage = "usage: propscore train --data FILE.h5 --model MODEL.h5 [--model-type logreg|gbdt|auto] [options]\n"
             "\n"
             "Train one head per target, every head in the same job: multi-head logistic\n"
             "regression (logreg, the default: class-weighted mean log-loss + l2/2 ||w||^2 on\n"
             "standardized columns, every head in one pass over the data per iteration) or\n"
             "gradient-boosted trees (gbdt: LightGBM-style histograms, leaf-wise growth; the same\n"
             "model bits for any rank count). auto chooses per head among logreg, gbdt and their\n"
             "blend (the mean of the two logits) by cross-validated log-loss (--cv-folds), then\n"
             "refits the choice on every row.\n",
    .epilog = "exit codes: 0 ok, 1 error, 2 usage, 75 stopped by a signal after a checkpoint (rerun to resume)\n"};
