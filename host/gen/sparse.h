/* sparse.h: gen --density D: planted-truth sparse customers written as a
 * CSR feature file (datasets/SCHEMA.md "CSR layout"). Every value is a pure
 * function of (seed, row): the same bytes for any rank count. */
#ifndef PS_GEN_SPARSE_H
#define PS_GEN_SPARSE_H
#include "gen/gen.h"

/* Collective; 0 when written. */
int gen_sparse_run(const gen_opts_t *o);
#endif
