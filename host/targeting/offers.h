/* offers.h: the offers job (next best offer). Per customer, the heads of a
 * scores file (one per product line) are ranked by expected value =
 * score x value of the head (--value; 1 by default), where the score is the
 * probability /scores/<head> or, with --uplift, /uplift/<head>. An offer is
 * made only if its value is > 0 and the customer is eligible for it
 * (--eligible HEAD=LABEL: /labels/LABEL of --data is 1); at most
 * --max-offers a customer; ties go to the lower head index. With --budget N
 * at most N offers in all are kept, the best by value over every customer:
 * exact for any rank count (a distributed selection by value, then customer
 * id ascending, then rank). Output (datasets/SCHEMA.md): /customer_id,
 * /offers/rank_<i> int32 head index (-1: none) and /offers/value_<i>
 * float64 (0 when none), /offers/heads. */
#ifndef PS_OFFERS_H
#define PS_OFFERS_H
#include <stdint.h>

#include "core/options.h"

typedef struct {
  const char *scores, *data, *values, *eligible, *out;
  int max_offers; /* 0: as many as heads */
  int64_t budget; /* < 0: none */
  int uplift;
} offers_opts_t;

/* `propscore offers`: its options (one table) and help. */
extern const ps_cmd_spec_t offers_cmd;

int offers_run(const offers_opts_t *o);

/* One candidate offer; the selection order (better first): value
 * descending, customer id ascending, slot (the customer's rank) ascending. */
typedef struct {
  double value;
  int64_t id;
  int32_t slot;
  int64_t row; /* this rank's row (not part of the order) */
} ps_offer_t;
/* Keep the `budget` best of every rank's candidates (collective): sets
 * keep[i] for this rank's `n` candidates, which must be sorted better
 * first. Returns the number kept on all ranks. */
int64_t offers_select_budget(const ps_offer_t *c, int64_t n, int64_t budget, uint8_t *keep);
int offers_better(const ps_offer_t *a, const ps_offer_t *b);
/* Sort better first. */
void offers_sort(ps_offer_t *c, int64_t n);
#endif
