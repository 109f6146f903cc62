/* test_stats_metrics.c: column statistics against a direct two-pass
 * computation, and metrics against brute-force definitions (linked with the
 * one-rank transport, comm_local.c: no MPI at all). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "comm/comm.h"
#include "stats/metrics.h"
#include "core/rng.h"
#include "stats/colstats.h"

static void stats_match_two_pass(void **state) {
  (void)state;
  enum { N = 5003, F = 3 };
  static float x[N * F];
  for (int i = 0; i < N; i++) {
    x[i * F + 0] = (float)(1e6 + ps_rng_normal(9, 1, (uint64_t)i, 0)); /* large offset: cancellation test */
    x[i * F + 1] = (i % 17 == 0) ? NAN : (float)exp(ps_rng_normal(9, 1, (uint64_t)i, 2));
    x[i * F + 2] = (i == 11) ? INFINITY : (i == 12) ? -INFINITY : 4.0f;
  }
  ps_colstat_t st[F], half[F];
  stats_init(st, F);
  stats_add_block(st, x, N, F, NULL);
  /* two blocks merged = one block */
  stats_init(half, F);
  stats_add_block(half, x, 2000, F, NULL);
  stats_add_block(half, x + 2000 * F, N - 2000, F, NULL);
  for (int j = 0; j < F; j++) {
    double s = 0, c = 0, ss = 0, mn = INFINITY, mx = -INFINITY, nan = 0, inf = 0;
    for (int i = 0; i < N; i++) {
      double v = x[i * F + j];
      if (isnan(v)) { nan++; continue; }
      if (isinf(v)) { inf++; continue; }
      s += v; c++; mn = fmin(mn, v); mx = fmax(mx, v);
    }
    double mean = s / c;
    for (int i = 0; i < N; i++) {
      double v = x[i * F + j];
      if (isfinite(v)) ss += (v - mean) * (v - mean);
    }
    double sd = sqrt(ss / c);
    assert_true(st[j].count == c && st[j].nan == nan && st[j].inf == inf);
    assert_true(st[j].min == mn && st[j].max == mx);
    assert_true(fabs(stats_mean(&st[j]) - mean) <= 1e-13 * fabs(mean));
    assert_true(fabs(stats_std(&st[j]) - sd) <= 1e-9 * sd + 1e-300);
    assert_true(fabs(stats_mean(&half[j]) - stats_mean(&st[j])) <= 1e-13 * fabs(mean));
    assert_true(fabs(stats_std(&half[j]) - sd) <= 1e-9 * sd + 1e-300);
  }
  uint8_t keep[4] = {1, 0, 1, 0};
  float y[4] = {1, 100, 3, 100};
  ps_colstat_t k1;
  stats_init(&k1, 1);
  stats_add_block(&k1, y, 4, 1, keep);
  assert_true(k1.count == 2 && k1.mean == 2 && k1.m2 == 2);
}

static void metrics_brute_force(void **state) {
  (void)state;
  enum { N = 3000 };
  static float p[N];
  static uint8_t y[N];
  for (int i = 0; i < N; i++) {
    /* coarse scores: many ties */
    p[i] = (float)(floor(ps_rng_unif(4, 1, (uint64_t)i, 0) * 50) / 50.0);
    y[i] = ps_rng_unif(4, 2, (uint64_t)i, 0) < 0.2 + 0.6 * p[i];
  }
  ps_metrics_t m;
  metrics_compute(p, y, NULL, N, &m);
  double num = 0, npos = 0, nneg = 0, ll = 0, br = 0;
  for (int i = 0; i < N; i++) {
    npos += y[i];
    nneg += !y[i];
    double q = fmin(fmax(p[i], 2.220446049250313e-16), 1 - 2.220446049250313e-16);
    ll -= y[i] ? log(q) : log1p(-q);
    br += ((double)p[i] - y[i]) * ((double)p[i] - y[i]);
    if (!y[i]) continue;
    for (int j = 0; j < N; j++)
      if (!y[j]) num += p[i] > p[j] ? 1.0 : p[i] == p[j] ? 0.5 : 0.0;
  }
  assert_true(m.n == N && m.pos == npos);
  assert_true(fabs(m.auc - num / (npos * nneg)) < 1e-12);
  assert_true(fabs(m.logloss - ll / N) < 1e-12 && fabs(m.brier - br / N) < 1e-12);
  /* deciles partition the rows and the positives */
  double rows = 0, pos = 0;
  for (int d = 0; d < PS_BINS; d++) { rows += m.lift_rows[d]; pos += m.lift_pos[d]; }
  assert_true(rows == N && fabs(pos - npos) < 1e-9 && fabs(m.lift_gain[PS_BINS - 1] - 1) < 1e-12);
  assert_true(m.lift[0] > 1 && m.lift[PS_BINS - 1] < 1);
}

static void average_precision_small(void **state) {
  (void)state;
  /* scikit-learn: average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.8333... */
  float p[4] = {0.1f, 0.4f, 0.35f, 0.8f};
  uint8_t y[4] = {0, 0, 1, 1};
  ps_metrics_t m;
  metrics_compute(p, y, NULL, 4, &m);
  assert_true(fabs(m.pr_auc - 0.8333333333333333) < 1e-12);
  assert_true(fabs(m.auc - 0.75) < 1e-12);
  uint8_t keep[4] = {1, 1, 0, 1};
  metrics_compute(p, y, keep, 4, &m);
  assert_true(m.n == 3 && m.pos == 1 && m.auc == 1.0);
}

/* A NaN prediction is refused with an error (exit 1), never a stall: run in
 * a child process under an alarm. */
static void nan_score_is_an_error(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(20); /* a stall dies by SIGALRM */
    float p[5] = {0.2f, NAN, 0.7f, 0.7f, 0.1f};
    uint8_t y[5] = {0, 1, 1, 0, 0};
    ps_metrics_t m;
    metrics_compute(p, y, NULL, 5, &m);
    _exit(0);
  }
  int st = 0;
  assert_true(waitpid(pid, &st, 0) == pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

/* metrics_compute_in (keys in the scores' own memory), with or without lent
 * memory of any size, gives the same bits as metrics_compute. */
static void in_place_matches(void **state) {
  (void)state;
  enum { N = 5000 };
  static float p[N], q[N], lent[3 * N];
  static uint8_t y[N], keep[N];
  for (int i = 0; i < N; i++) {
    p[i] = (float)(floor(ps_rng_unif(5, 1, (uint64_t)i, 0) * 300) / 300.0); /* ties */
    y[i] = ps_rng_unif(5, 2, (uint64_t)i, 0) < 0.1 + 0.8 * p[i];
    keep[i] = ps_rng_unif(5, 3, (uint64_t)i, 0) < 0.7;
  }
  p[0] = -0.0f; /* -0 ties with +0 */
  p[1] = 0.0f;
  for (int k = 0; k < 2; k++) {
    const uint8_t *kp = k ? keep : NULL;
    ps_metrics_t a, b;
    metrics_compute(p, y, kp, N, &a);
    size_t lend[] = {0, 16, sizeof(float) * N, sizeof lent};
    for (int l = 0; l < 4; l++) {
      memcpy(q, p, sizeof p);
      if (lend[l]) metrics_lend(lent, lend[l]);
      metrics_compute_in(q, y, kp, N, &b);
      metrics_release();
      assert_memory_equal(&a, &b, sizeof a);
    }
  }
  float z[2] = {-0.0f, 0.0f};
  uint8_t zy[2] = {1, 0};
  ps_metrics_t m;
  metrics_compute(z, zy, NULL, 2, &m);
  assert_true(m.auc == 0.5);
  /* a run of zeros reports +0 as its score, whatever sign its rows had */
  assert_true(m.lift_min_score[PS_BINS - 1] == 0.0 && !signbit(m.lift_min_score[PS_BINS - 1]));
  assert_true(m.curve_score[PS_CURVE - 1] == 0.0 && !signbit(m.curve_score[PS_CURVE - 1]));
}

/* A score outside [0, 1] is refused with one line naming the problem. */
static void out_of_range_is_an_error(void **state) {
  (void)state;
  int fd[2];
  assert_true(pipe(fd) == 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(20);
    dup2(fd[1], 2);
    float p[3] = {0.2f, 1.5f, 0.7f};
    uint8_t y[3] = {0, 1, 1};
    ps_metrics_t m;
    metrics_compute(p, y, NULL, 3, &m);
    _exit(0);
  }
  close(fd[1]);
  char buf[4096] = {0};
  size_t got = 0;
  for (ssize_t r; got < sizeof buf - 1 && (r = read(fd[0], buf + got, sizeof buf - 1 - got)) > 0;) got += (size_t)r;
  close(fd[0]);
  int st = 0;
  assert_true(waitpid(pid, &st, 0) == pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
  assert_non_null(strstr(buf, "metrics: scores outside [0, 1] (1 of them)"));
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  const struct CMUnitTest tests[] = {cmocka_unit_test(stats_match_two_pass), cmocka_unit_test(metrics_brute_force),
                                     cmocka_unit_test(average_precision_small), cmocka_unit_test(nan_score_is_an_error),
                                     cmocka_unit_test(in_place_matches), cmocka_unit_test(out_of_range_is_an_error)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  comm_finalize();
  return rc;
}
