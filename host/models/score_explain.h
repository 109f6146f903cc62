/* score_explain.h: `score --explain N` -- for every customer and head the
 * N features of largest |contribution| to the log-odds (models/explain.h)
 * and their signed values, written beside the scores through the same
 * pipeline blocks (so streamed, distributed and resumed like them):
 * /explain/<target>/feature int16 [rows, N] and /explain/<target>/value
 * float32 [rows, N], attribute base_value, and /explain/feature_names
 * (datasets/SCHEMA.md). */
#ifndef PS_SCORE_EXPLAIN_H
#define PS_SCORE_EXPLAIN_H
#include <stdint.h>

#include "io/h5.h"
#include "io/pipeline.h"
#include "models/explain.h"

typedef struct {
  int top;               /* N; 0: no explanations (every call below does nothing) */
  int k;
  int64_t f;
  ps_explainer_t *ex;
  ps_h5_t g, *gh, *feat, *val; /* /explain, its groups and datasets [k] */
  double *phi;           /* one head's contributions of a block [rows][f] */
  int64_t cap;
  float *tile;           /* CSR rows without the explainer's top_csr: a tile of them dense (score_explain_csr.c) */
} score_explain_t;

/* Collective: the explainer of the model; dies on an uplift model or N
 * above the model's features. */
void score_explain_open(score_explain_t *x, int top, const char *model, const char *device, int64_t f);
/* Creates /explain: its datasets, and feature_names [f] (the data's: the names of the feature indices). */
void score_explain_create(score_explain_t *x, ps_h5_t fid, char **targets, char **names, int64_t n_all);
void score_explain_reopen(score_explain_t *x, ps_h5_t fid, const char *file, char **targets);
/* The 2k output columns (feature, value of each head) into out; their number. */
int score_explain_cols(const score_explain_t *x, ps_pipe_col_t *out);
/* A block's rows X [rows][f] -> out[2h] (int16 [rows][N]), out[2h+1] (float32 [rows][N]). */
void score_explain_block(score_explain_t *x, const float *X, int64_t rows, void **out);
/* The same from a block's CSR rows (ptr [rows+1] from 0; score_explain_csr.c):
 * the explainer's top_csr, else tiles of the rows made dense for contrib;
 * explain_top's output on the block made dense, bit for bit. */
void score_explain_block_csr(score_explain_t *x, const int64_t *ptr, const int32_t *idx, const float *val,
                             int64_t rows, void **out);
void score_explain_close(score_explain_t *x);
#endif
