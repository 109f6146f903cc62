/* auto_grid.c: auto's learning-rate grid (see auto_grid.h).
 *
 * Why a grid of rates chosen by the folds: early stopping on validation
 * log-loss finds the best number of trees for one rate, not the best rate.
 * A smaller rate with proportionally more trees reaches a lower validation
 * log-loss where the trees overfit fast (issue 27's telecom table: the
 * training AUC is 1.0 after ~60 trees at 0.1; at 0.05 the best fold
 * log-loss is lower and the test AUC higher), and gains nothing where a
 * few trees suffice; which holds is a property of the table, so the folds
 * decide, on the same criterion as the candidates (mean fold log-loss:
 * the probabilities are used as such), one rate for the job (the refit's
 * trees share one rate). Patience and the tree cap scale with 1/rate so
 * both grid points search the same stretch of boosting. Cost: the folds'
 * trees about three times over (the half rate grows twice the trees),
 * the logistic fits twice (cheap beside them); with the single split of
 * big data (K = 1, auto_cv.c) the grid is off: one pass, as before, and
 * --learning-rate is the lever there. A rate given on the command line is
 * the user's: no grid. */
#include "models/auto_grid.h"

#include "core/options.h"

int auto_grid_size(int folds) { return folds >= 2 && !opts_given("learning-rate") ? AUTO_GRID_MAX : 1; }

train_opts_t auto_grid_opts(const train_opts_t *o, int g) {
  train_opts_t og = *o;
  for (int i = 0; i < g; i++) {
    og.gb.learning_rate /= 2;
    og.gb.trees = og.gb.trees <= 500000 ? 2 * og.gb.trees : 1000000;
    og.gb.early_stopping = og.gb.early_stopping <= 500000 ? 2 * og.gb.early_stopping : 1000000;
  }
  return og;
}
