/* gen.h: the gen job -- a synthetic customer feature file with planted
 * labels (synth.h), every rank generating its own rows and writing them
 * through the block pipeline; the bytes depend on (seed, rows, features,
 * targets) only, never on the rank count. */
#ifndef PS_GEN_H
#define PS_GEN_H
#include <stdint.h>

#include "core/options.h"

typedef struct {
  const char *out, *targets;
  int64_t rows, features, chunk_rows; /* chunk_rows 0: about 4 MiB of features */
  int64_t block_rows;                 /* rows a rank writes at a time; 0: about 64 MiB */
  uint64_t seed;
  int uplift; /* a planted campaign: /labels/treated, outcomes with a treatment effect, /truth/<t>/uplift */
  int clusters;                       /* > 0: planted clusters (synth_cluster_row), truth in /truth/cluster */
  double density;                     /* > 0: sparse customers written as CSR (gen/sparse.c) */
  int64_t informative;                /* > 0 (with density): the planted model weights this many columns */
} gen_opts_t;

/* `propscore gen`: its options (one table) and help. */
extern const ps_cmd_spec_t gen_cmd;

/* Collective; 0, or PS_EXIT_STOPPED (nothing left behind) on a stop signal.
 * Dense customers only: --density goes to gen_sparse_run (gen/sparse.h). */
int gen_run(const gen_opts_t *o);
#endif
