/* test_offers_budget.c: the offers' budget selection (offers_select_budget,
 * targeting/offers.c: a distributed search over value and customer id
 * keys) against a brute-force oracle: every rank builds the same global
 * candidates, sorts them all (value descending, id ascending, slot
 * ascending) and keeps the first `budget`; each rank's keep flags must be
 * exactly its candidates among those. Small cases with many ties: equal
 * values across customers, a customer's equal slots cut by the budget,
 * ids at the ends of int64, extreme values, a rank holding everything and
 * ranks holding nothing. Run on 1 and 3 ranks (tests/CMakeLists.txt). */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "comm/comm.h"
#include "core/util.h"
#include "targeting/offers.h"

enum { MAXC = 256 };
typedef struct {
  ps_offer_t all[MAXC];
  int owner[MAXC]; /* the rank holding each candidate (its customer's) */
  int64_t n;
} cands_t;

static uint64_t state;
static uint64_t next(void) { /* splitmix64: the same candidates on every rank */
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Customers with 1-3 offers, values non-increasing along their slots. */
static void add_customer(cands_t *c, int64_t id, int owner, const double *values, int k) {
  for (int s = 0; s < k; s++) {
    c->all[c->n] = (ps_offer_t){.value = values[s], .id = id, .slot = s};
    c->owner[c->n++] = owner;
  }
}

/* Check every budget in `budgets` against the oracle. */
static void check(const cands_t *c, const int64_t *budgets, int nb) {
  ps_offer_t sorted[MAXC], mine[MAXC];
  int64_t n = 0;
  memcpy(sorted, c->all, sizeof(ps_offer_t) * (size_t)c->n);
  offers_sort(sorted, c->n);
  for (int64_t i = 1; i < c->n; i++) assert_true(offers_better(&sorted[i - 1], &sorted[i])); /* a strict order */
  for (int64_t i = 0; i < c->n; i++)
    if (c->owner[i] == ps_rank) mine[n] = c->all[i], mine[n].row = n, n++;
  offers_sort(mine, n);
  for (int q = 0; q < nb; q++) {
    int64_t budget = budgets[q];
    uint8_t keep[MAXC];
    memset(keep, 7, sizeof keep);
    int64_t kept = offers_select_budget(mine, n, budget, keep);
    int64_t bad = kept != (budget < c->n ? (budget > 0 ? budget : 0) : c->n);
    for (int64_t i = 0; i < n; i++) {
      int64_t pos = 0; /* the candidate's place in the global order */
      while (sorted[pos].id != mine[i].id || sorted[pos].slot != mine[i].slot) pos++;
      if (keep[i] != (pos < budget)) {
        print_error("rank %d, budget %lld: id %lld slot %d (global #%lld) keep %d\n", ps_rank, (long long)budget,
                    (long long)mine[i].id, mine[i].slot, (long long)pos, keep[i]);
        bad++;
      }
    }
    comm_allreduce_sum_i64(&bad, 1); /* every rank passes or fails together: no rank left in a collective */
    assert_int_equal(bad, 0);
  }
}

/* Budgets worth trying: the ends, and every cut inside a run of equal values. */
static int budgets_of(const cands_t *c, int64_t *b) {
  ps_offer_t s[MAXC];
  memcpy(s, c->all, sizeof(ps_offer_t) * (size_t)c->n);
  offers_sort(s, c->n);
  int k = 0;
  int64_t fixed[] = {0, 1, 2, c->n / 2, c->n - 1, c->n, c->n + 3};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) b[k++] = fixed[i];
  for (int64_t i = 1; i + 1 < c->n && k < 24; i++)
    if (s[i].value == s[i - 1].value && s[i].value == s[i + 1].value) b[k++] = i + 1, i += 3;
  return k;
}

static void random_customers_with_ties(void **st) {
  static const double levels[] = {0.25, 1.0, 1.0, 2.5, 2.5, 2.5, DBL_MIN, 1e300, 0x1.0000000000001p0};
  for (int round = 0; round < 4; round++) {
    cands_t c = {.n = 0};
    state = 1000 + (uint64_t)round;
    for (int cust = 0; cust < 30; cust++) {
      int k = 1 + (int)(next() % 3);
      double v[3];
      for (int s = 0; s < k; s++) v[s] = levels[next() % (sizeof levels / sizeof *levels)];
      for (int s = 1; s < k; s++) /* a customer's offers come best first */
        if (v[s] > v[s - 1]) v[s] = v[s - 1];
      int64_t id = (int64_t)(next() % 1000) * 1000 + cust - 500000; /* unique, negative ones too */
      add_customer(&c, id, round == 3 ? 0 : (int)(next() % (uint64_t)ps_size), v, k);
    }
    int64_t b[32];
    check(&c, b, budgets_of(&c, b));
  }
}

static void equal_values_ids_at_the_ends(void **st) {
  cands_t c = {.n = 0};
  static const double three[3] = {4.0, 4.0, 4.0};
  int64_t ids[] = {INT64_MAX, INT64_MIN, -1, 0, 1, INT64_MIN + 1, INT64_MAX - 1};
  for (int i = 0; i < 7; i++) add_customer(&c, ids[i], i % ps_size, three, 1 + i % 3);
  int64_t b[32];
  for (int64_t i = 0; i <= c.n + 1; i++) b[i] = i; /* every cut: between ids and inside a customer's slots */
  check(&c, b, (int)c.n + 2);
}

static void a_customers_equal_slots_cut_by_the_budget(void **st) {
  cands_t c = {.n = 0};
  static const double top[3] = {9.0, 9.0, 9.0}, low[2] = {1.0, 0.5};
  add_customer(&c, 77, ps_size - 1, top, 3);
  add_customer(&c, 5, 0, low, 2);
  add_customer(&c, 78, ps_size > 1 ? 1 : 0, top, 2);
  int64_t b[] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  check(&c, b, 9);
}

static void no_candidates_anywhere(void **st) {
  cands_t c = {.n = 0};
  int64_t b[] = {0, 1, 5};
  check(&c, b, 3);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  const struct CMUnitTest tests[] = {cmocka_unit_test(random_customers_with_ties),
                                     cmocka_unit_test(equal_values_ids_at_the_ends),
                                     cmocka_unit_test(a_customers_equal_slots_cut_by_the_budget),
                                     cmocka_unit_test(no_candidates_anywhere)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  comm_finalize();
  return rc;
}
