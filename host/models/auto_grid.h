/* auto_grid.h: auto's grid of gbdt learning rates (auto_grid.c): the
 * folds run once per rate, and the rate whose per-head winners have the
 * least summed mean fold log-loss is refitted. */
#ifndef PS_AUTO_GRID_H
#define PS_AUTO_GRID_H
#include "models/train.h"

/* Grid points: --learning-rate, then half of it. */
#define AUTO_GRID_MAX 2

/* The grid's size for a job of K folds: AUTO_GRID_MAX with K >= 2 folds
 * and --learning-rate not given, else 1 (the rate as given; the single
 * split of big data stays one pass). */
int auto_grid_size(int folds);
/* Grid point g's options: o with learning rate lr / 2^g, and --trees and
 * --early-stopping times 2^g (the same stretch of boosting at the smaller
 * step). */
train_opts_t auto_grid_opts(const train_opts_t *o, int g);
#endif
