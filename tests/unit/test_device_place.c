/* test_device_place.c: the placement of a node's ranks on its GPUs
 * (device_place_ranks, models/device.h) for each kind of binding: every
 * GPU visible to every rank, one a rank (srun --gpus-per-task=1), each rank
 * a subset, the same GPUs in different orders, fewer GPUs than ranks, a
 * rank that sees none. Per rank: the device index, the ranks sharing its
 * GPU (its memory budget's divisor; NCCL needs 1 everywhere), and the
 * node's GPU and rank counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "models/device.h"

#define MAXV 4

typedef struct {
  int device, share;
} want_t;

/* L ranks, rank r seeing seen[r][0..n[r]): each rank's placement as wanted, the node's counts. */
static void check(int L, const int *n, int seen[][MAXV], const want_t *want, int gpus, int max_share) {
  for (int me = 0; me < L; me++) {
    device_place_t p;
    device_place_ranks(L, n, &seen[0][0], MAXV, me, &p);
    assert_int_equal(p.device, want[me].device);
    assert_int_equal(p.share, want[me].share);
    assert_int_equal(p.node_ranks, L);
    assert_int_equal(p.node_gpus, gpus);
    assert_int_equal(p.max_share, max_share);
  }
}

static void all_visible(void **state) {
  (void)state;
  int n[] = {2, 2, 2, 2}, seen[][MAXV] = {{0, 1}, {0, 1}, {0, 1}, {0, 1}};
  check(2, n, seen, (want_t[]){{0, 1}, {1, 1}}, 2, 1);                 /* as many GPUs as ranks */
  check(4, n, seen, (want_t[]){{0, 2}, {1, 2}, {0, 2}, {1, 2}}, 2, 2); /* two ranks a GPU */
}

static void one_a_rank(void **state) { /* before: 2 ranks / 1 visible GPU = shared, NCCL off */
  (void)state;
  int n[] = {1, 1, 1, 1}, seen[][MAXV] = {{0}, {1}, {2}, {3}};
  check(4, n, seen, (want_t[]){{0, 1}, {0, 1}, {0, 1}, {0, 1}}, 4, 1);
}

static void subsets_and_orders(void **state) {
  (void)state;
  int n[] = {2, 2, 2, 2}, seen[][MAXV] = {{0, 1}, {0, 1}, {2, 3}, {3, 2}};
  /* ranks 2 and 3 see GPUs 2 and 3 in opposite orders: each takes the one it sees first */
  check(4, n, seen, (want_t[]){{0, 1}, {1, 1}, {0, 1}, {0, 1}}, 4, 1);
  int m[] = {2, 2}, rev[][MAXV] = {{0, 1}, {1, 0}}; /* the same GPUs in reverse order: still one each */
  check(2, m, rev, (want_t[]){{0, 1}, {0, 1}}, 2, 1);
}

static void fewer_gpus_than_ranks(void **state) {
  (void)state;
  int n[] = {2, 2, 2}, seen[][MAXV] = {{0, 1}, {0, 1}, {0, 1}};
  check(3, n, seen, (want_t[]){{0, 2}, {1, 1}, {0, 2}}, 2, 2);
  int one[] = {1, 1}, same[][MAXV] = {{0}, {0}}; /* each rank bound to the same GPU */
  check(2, one, same, (want_t[]){{0, 2}, {0, 2}}, 1, 2);
}

static void a_rank_without_a_gpu(void **state) {
  (void)state;
  int n[] = {1, 0}, seen[][MAXV] = {{0}, {0}};
  check(2, n, seen, (want_t[]){{0, 1}, {-1, 0}}, 1, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(all_visible), cmocka_unit_test(one_a_rank),
                                     cmocka_unit_test(subsets_and_orders), cmocka_unit_test(fewer_gpus_than_ranks),
                                     cmocka_unit_test(a_rank_without_a_gpu)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
