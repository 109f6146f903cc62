/* explain_csr.h: score --explain on CSR rows for a logistic-regression
 * model, from the stored values (explain_csr.c): a feature's contribution
 * depends on its own value only, so a feature not stored in a row gives
 * the same contribution in every row (0 for a scale-only column,
 * -w mean scale for a centred one, summed over its model columns as
 * explain.c sums them). Those are computed and ordered once per head; a
 * row's top N merges its stored features' contributions with that order:
 * O(stored values + N) a row, explain_top's output on the rows made dense. */
#ifndef PS_LOGREG_EXPLAIN_CSR_H
#define PS_LOGREG_EXPLAIN_CSR_H
#include <stdint.h>

#include "models/logreg/model.h"

typedef struct logreg_explain_csr logreg_explain_csr_t;

/* For model m (kept by the caller while this lives). */
logreg_explain_csr_t *logreg_explain_csr_create(const ps_model_t *m);
/* Head h's top N of CSR rows ptr [n+1] (any base) -> feat/out [n][top]. */
void logreg_explain_csr_top(logreg_explain_csr_t *x, int h, const int64_t *ptr, const int32_t *idx,
                            const float *val, int64_t n, int top, int16_t *feat, float *out);
void logreg_explain_csr_free(logreg_explain_csr_t *x);
#endif
