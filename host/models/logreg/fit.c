/* fit.c: drives the per-head optimizers (linesearch.h) over one pass
 * callback and the collective sum (fit.h; exact fixed-point sums,
 * core/xsum.h, so the rank count changes no bit): the objective of head h is the
 * class-weighted mean log-loss plus l2[h]/2 * ||w||^2 (bias not penalized);
 * the optimizer adds l1[h] * |w|_1 (linesearch.h's opt_set_l1). */
#include "models/logreg/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/signals.h"
#include "core/util.h"
#include "core/xsum.h"

typedef struct {
  fit_pass_t pass;
  int64_t c;
  int k;
  const fit_opts_t *fo;
  double *loss, *grad, *hess, *buf;
  int64_t *acc; /* exact sums (core/xsum.h) and the stop flag */
  int stop; /* a stop signal reached some rank before this evaluation's sum */
} evaluator_t;

const ps_direction_t *fit_direction(int method) { return method == PS_OPT_NEWTON ? &ps_dir_newton : &ps_dir_lbfgs; }

size_t fit_sums_count(int64_t c, int k, const uint8_t *hmask) {
  size_t c1 = (size_t)c + 1, n = (size_t)k * (1 + c1);
  for (int h = 0; hmask && h < k; h++) n += hmask[h] ? c1 * (c1 + 1) / 2 : 0;
  return n;
}

void fit_sums_add(int64_t *acc, int64_t c, int k, const uint8_t *hmask, const double *loss, const double *grad,
                  const double *hess) {
  int64_t c1 = c + 1;
  for (int h = 0; h < k; h++, acc += PS_XS_WORDS) ps_xsum_add(acc, loss[h]);
  for (int64_t i = 0; i < (int64_t)k * c1; i++, acc += PS_XS_WORDS) ps_xsum_add(acc, grad[i]);
  for (int h = 0; hess && hmask && h < k; h++) {
    if (!hmask[h]) continue;
    const double *H = hess + (size_t)h * (size_t)(c1 * c1);
    for (int64_t i = 0; i < c1; i++)
      for (int64_t j = i; j < c1; j++, acc += PS_XS_WORDS) ps_xsum_add(acc, H[i * c1 + j]);
  }
}

/* Objective, gradient (and Hessians of masked heads) of every head at theta:
 * exact sums over rows and ranks (one message, with the ranks' stop flags),
 * normalized. */
static void evaluate(evaluator_t *e, const double *theta, const uint8_t *hmask, double *f, double *g, double *H) {
  int64_t c1 = e->c + 1;
  int k = e->k, nh = 0;
  for (int h = 0; hmask && h < k; h++) nh += hmask[h] != 0;
  size_t n = fit_sums_count(e->c, k, nh ? hmask : NULL), words = n * PS_XS_WORDS;
  int64_t *acc = e->acc;
  memset(acc, 0, sizeof(int64_t) * (words + 1));
  if (e->pass.fn_exact) {
    e->pass.fn_exact(e->pass.ctx, theta, nh ? hmask : NULL, acc);
  } else {
    e->pass.fn(e->pass.ctx, theta, e->loss, e->grad, nh ? e->hess : NULL, hmask);
    fit_sums_add(acc, e->c, k, nh ? hmask : NULL, e->loss, e->grad, nh ? e->hess : NULL);
  }
  for (size_t i = 0; i < n; i++) ps_xsum_norm(acc + i * PS_XS_WORDS);
  acc[words] = ps_stop_requested() ? 1 : 0;
  comm_allreduce_sum_i64(acc, words + 1);
  e->stop = acc[words] > 0;
  double *buf = e->buf;
  for (size_t i = 0; i < n; i++) buf[i] = ps_xsum_value(acc + i * PS_XS_WORDS);
  size_t pos = (size_t)k + (size_t)k * (size_t)c1;
  for (int h = 0; h < k; h++) {
    const double *w = theta + (size_t)h * (size_t)c1;
    double inv = 1.0 / e->fo->wsum[h], l2 = e->fo->l2[h], pen = 0;
    for (int64_t j = 0; j < e->c; j++) pen += w[j] * w[j];
    f[h] = buf[h] * inv + 0.5 * l2 * pen;
    double *gh = g + (size_t)h * (size_t)c1;
    const double *gs = buf + k + (size_t)h * (size_t)c1;
    for (int64_t j = 0; j < c1; j++) gh[j] = gs[j] * inv + (j < e->c ? l2 * w[j] : 0.0);
    if (nh && hmask[h]) {
      double *Hh = H + (size_t)h * (size_t)(c1 * c1);
      for (int64_t i = 0; i < c1; i++)
        for (int64_t j = i; j < c1; j++) Hh[i * c1 + j] = Hh[j * c1 + i] = buf[pos++] * inv;
      for (int64_t j = 0; j < e->c; j++) Hh[j * c1 + j] += l2 + (e->fo->dead && e->fo->dead[j] ? 1.0 : 0.0);
    }
  }
}

void fit_set_l1(ps_opt_t *o, const fit_opts_t *fo, int h, int64_t c) {
  opt_set_l1(o, fo->l1 ? fo->l1[h] : 0, (int)c);
  if (fo->l1w) opt_set_l1_weights(o, fo->l1w + (size_t)h * (size_t)c);
}

static void trace_add(fit_trace_t *t, const ps_opt_t *o) {
  t->data = ps_realloc(t->data, sizeof(double) * PS_TRACE_COLS * (size_t)(t->rows + 1));
  double *r = t->data + PS_TRACE_COLS * t->rows;
  r[0] = o->iter;
  r[1] = o->f;
  r[2] = opt_gnorm(o);
  r[3] = o->iter ? o->last_step : 0.0;
  r[4] = o->nfev;
  t->rows++;
}

int fit_heads(fit_pass_t pass, int64_t c, int k, const fit_opts_t *fo, double *theta, fit_trace_t *traces,
              const fit_ckpt_t *ck) {
  int64_t c1 = c + 1;
  int newton = fo->method == PS_OPT_NEWTON;
  evaluator_t e = {.pass = pass, .c = c, .k = k, .fo = fo};
  e.loss = ps_malloc(sizeof(double) * (size_t)k);
  e.grad = ps_malloc(sizeof(double) * (size_t)k * (size_t)c1);
  e.hess = newton ? ps_malloc(sizeof(double) * (size_t)k * (size_t)(c1 * c1)) : NULL;
  size_t nsum = fit_sums_count(c, k, NULL) + (newton ? (size_t)k * (size_t)(c1 * (c1 + 1) / 2) : 0);
  e.buf = ps_malloc(sizeof(double) * nsum);
  e.acc = ps_malloc(sizeof(int64_t) * (nsum * PS_XS_WORDS + 1));
  uint8_t *hmask = ps_malloc((size_t)k);
  double *f = ps_malloc(sizeof(double) * (size_t)k), *g = ps_malloc(sizeof(double) * (size_t)k * (size_t)c1);
  double *H = newton ? ps_malloc(sizeof(double) * (size_t)k * (size_t)(c1 * c1)) : NULL;
  ps_opt_t *o = ps_calloc((size_t)k, sizeof(ps_opt_t));
  double t0 = ps_now();
  int saving = ck && ck->save;

  int resumed = ck && ck->load && ck->load(ck->ctx, k, fo, c1, o, traces);
  if (resumed) {
    for (int h = 0; h < k; h++) ps_log("train: %-16s resumed at iteration %d from %s", fo->names[h], o[h].iter, ck->where);
  } else {
    memset(hmask, newton, (size_t)k);
    evaluate(&e, theta, newton ? hmask : NULL, f, g, H);
    for (int h = 0; h < k; h++) {
      opt_init(&o[h], (int)c1, fit_direction(fo->method), fo->m, fo->tol, fo->ftol, fo->max_iter,
               theta + (size_t)h * (size_t)c1);
      fit_set_l1(&o[h], fo, h, c);
      opt_start(&o[h], f[h], g + (size_t)h * (size_t)c1, newton ? H + (size_t)h * (size_t)(c1 * c1) : NULL);
      memset(&traces[h], 0, sizeof traces[h]);
      trace_add(&traces[h], &o[h]);
      ps_log("train: %-16s start    loss %.10f  |g| %.3e", fo->names[h], o[h].f, opt_gnorm(&o[h]));
    }
  }
  int stopped = 0;
  for (int round = 0;; round++) {
    ps_fault_tick("pass");
    /* Between passes every head's state is complete: the place to stop. */
    int stop = round > 0 || !resumed ? e.stop : comm_agree_stop() != 0;
    int periodic = saving && ck->every > 0 && round > 0 && round % ck->every == 0;
    if (saving && (stop || periodic)) ck->save(ck->ctx, k, o, traces);
    if (stop) {
      if (saving) ps_log("train: stop signal: checkpoint written to %s; run the same command again to resume", ck->where);
      stopped = 1;
      break;
    }
    int running = 0;
    for (int h = 0; h < k; h++) {
      running += o[h].status == PS_RUNNING;
      hmask[h] = newton && o[h].status == PS_RUNNING;
      memcpy(theta + (size_t)h * (size_t)c1, o[h].status == PS_RUNNING ? o[h].xt : o[h].x, sizeof(double) * (size_t)c1);
    }
    if (!running) break;
    evaluate(&e, theta, newton ? hmask : NULL, f, g, H);
    for (int h = 0; h < k; h++) {
      if (o[h].status != PS_RUNNING) continue;
      if (opt_feed(&o[h], f[h], g + (size_t)h * (size_t)c1, newton ? H + (size_t)h * (size_t)(c1 * c1) : NULL)) {
        trace_add(&traces[h], &o[h]);
        ps_log("train: %-16s iter %3d loss %.10f  |g| %.3e  step %-8.3g evals %3d  %7.2fs", fo->names[h], o[h].iter,
               o[h].f, opt_gnorm(&o[h]), o[h].last_step, o[h].nfev, ps_now() - t0);
      }
      if (o[h].status != PS_RUNNING) {
        traces[h].seconds = ps_now() - t0;
        ps_log("train: %-16s stopped after %d iterations (%s)", fo->names[h], o[h].iter, o[h].stop);
      }
    }
  }
  for (int h = 0; h < k; h++) {
    memcpy(theta + (size_t)h * (size_t)c1, o[h].x, sizeof(double) * (size_t)c1);
    traces[h].status = o[h].status;
    if (!stopped) {
      traces[h].stop = o[h].stop;
      if (traces[h].seconds == 0) traces[h].seconds = ps_now() - t0;
    }
    opt_free(&o[h]);
  }
  free(o); free(hmask); free(f); free(g); free(H);
  free(e.loss); free(e.grad); free(e.hess); free(e.buf); free(e.acc);
  return stopped ? PS_EXIT_STOPPED : 0;
}
