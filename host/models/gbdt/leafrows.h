/* leafrows.h: the validation rows' scores, tree by tree, without walking
 * the tree for each row (issue 26): the rows' bins are kept by column and
 * each grown tree's splits are replayed in node order on the rows -- the
 * stable partition of the training rows (backend_cpu.c) -- so each leaf's
 * rows end as one segment, and score[i] += its leaf's value is one pass over
 * the segments. One addition a row, as the walk (ps_gbdt_predict_bins_cpu):
 * the same bits. A leaf's rows read one column of a line shared by 64 rows,
 * where the walk reads each row's line of f bins. */
#ifndef PS_GBDT_LEAFROWS_H
#define PS_GBDT_LEAFROWS_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"

typedef struct gbdt_leafrows gbdt_leafrows_t;
/* The n rows B [n][f] (copied by column: B may be freed). */
gbdt_leafrows_t *leafrows_create(const uint8_t *B, int64_t n, int64_t f);
/* out[i] += tree t's value for row i, every row i < n. */
void leafrows_add(gbdt_leafrows_t *lr, const ps_forest_view_t *v, int32_t t, double *out);
void leafrows_free(gbdt_leafrows_t *lr);
#endif
