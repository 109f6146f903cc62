/* pipeline.c: the block I/O pipeline (see pipeline.h). One thread per
 * pipeline does every read, write and agreement of a pass, in the same
 * order on every rank: for block b it waits until block b-2 is computed,
 * writes it, agrees on problems and stop signals, then reads block b into
 * the slot b-2 used. */
#define _POSIX_C_SOURCE 200809L
#include "io/pipeline.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/signals.h"
#include "core/util.h"

struct ps_pipe {
  ps_pipe_spec_t spec;
  ps_pipe_col_t *in, *out;
  int64_t nb;
  void **buf[2]; /* per slot: nin input buffers, then nout output buffers */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* the pass (under mu) */
  int requested, over, quit;
  int64_t first, ready, given, computed, end_at, holding;
  /* this rank's first problem, and the agreed outcome */
  int64_t fail_row, fail_block;
  char fail_msg[1024];
  ps_pipe_status_t status;
  int64_t stop_block;
  char agreed[1024];
  double t_read, t_write;
};

/* Every open pipeline, so that a fatal error can stop them. */
#define MAX_PIPES 8
static ps_pipe_t *open_pipes[MAX_PIPES];

static void stop_thread(ps_pipe_t *p) {
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->thread, NULL);
}

static void on_exit_hook(int collective) {
  for (int i = 0; i < MAX_PIPES; i++)
    if (open_pipes[i]) {
      if (collective) stop_thread(open_pipes[i]); /* on abort, MPI_Abort ends everything */
      open_pipes[i] = NULL;
    }
}

static size_t row_bytes(const ps_pipe_col_t *c) { return h5_dtype_size(c->type) * (size_t)(c->cols > 0 ? c->cols : 1); }

static void block_range(const ps_pipe_t *p, int64_t b, int64_t *r0, int64_t *m) {
  *r0 = b * p->spec.block_rows;
  *m = p->spec.n - *r0;
  if (*m > p->spec.block_rows) *m = p->spec.block_rows;
  if (*m < 0) *m = 0;
  if (*r0 > p->spec.n) *r0 = p->spec.n;
}

static void xfer(ps_pipe_t *p, int64_t b, int write) {
  int64_t r0, m;
  block_range(p, b, &r0, &m);
  int slot = (int)(b % 2), n = write ? p->spec.nout : p->spec.nin;
  const ps_pipe_col_t *cols = write ? p->out : p->in;
  double t0 = ps_now();
  for (int i = 0; i < n; i++)
    if (!write && cols[i].read) cols[i].read(cols[i].ctx, p->spec.row0 + r0, m, p->buf[slot][i]);
    else h5_xfer_rows(cols[i].dset, cols[i].type, p->spec.row0 + r0, m, cols[i].cols,
                      p->buf[slot][(write ? p->spec.nin : 0) + i], write);
  if (write) p->t_write += ps_now() - t0;
  else p->t_read += ps_now() - t0;
}

/* Wait (thread) until block b is computed; 0 if told to quit. */
static int wait_computed(ps_pipe_t *p, int64_t b) {
  pthread_mutex_lock(&p->mu);
  while (p->computed <= b && !p->quit) pthread_cond_wait(&p->cv, &p->mu);
  int ok = !p->quit;
  pthread_mutex_unlock(&p->mu);
  return ok;
}

/* Collective: problems in blocks <= last_block and, if asked, stop signals. */
static void agree(ps_pipe_t *p, int64_t last_block, int with_stop) {
  pthread_mutex_lock(&p->mu);
  int64_t key = p->fail_block >= 0 && p->fail_block <= last_block ? p->fail_row : INT64_MAX;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", p->fail_msg);
  pthread_mutex_unlock(&p->mu);
  int64_t v[2] = {key, with_stop ? -(int64_t)ps_stop_signal() : 0};
  comm_allreduce_min_i64(v, 2);
  if (v[0] != INT64_MAX) {
    comm_agree_failure(key, msg, p->agreed, sizeof p->agreed);
    p->status = PS_PIPE_FAILED;
  } else if (v[1] != 0 && p->status == PS_PIPE_DONE) {
    p->status = PS_PIPE_STOPPED;
  }
}

static void run_pass(ps_pipe_t *p) {
  int64_t first = p->first, nb = p->nb, written = first, stop_at = nb;
  p->status = PS_PIPE_DONE;
  for (int64_t b = first; b < nb; b++) {
    if (b >= first + 2) {
      if (!wait_computed(p, b - 2)) return;
      if (p->spec.nout) xfer(p, b - 2, 1);
      written = b - 1;
    }
    if (b >= first + 1) {
      ps_fault_tick("block");
      agree(p, b - 2, p->spec.agree_stop);
      if (p->status != PS_PIPE_DONE) {
        stop_at = b;
        break;
      }
    }
    xfer(p, b, 0);
    pthread_mutex_lock(&p->mu);
    p->ready = b + 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  pthread_mutex_lock(&p->mu);
  p->end_at = stop_at;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int64_t w = written; w < stop_at; w++) { /* the blocks still in flight */
    if (!wait_computed(p, w)) return;
    if (p->spec.nout) xfer(p, w, 1);
  }
  if (p->status == PS_PIPE_STOPPED) p->stop_block = stop_at;
  agree(p, stop_at - 1, 0); /* problems of the last blocks */
}

static void *thread_main(void *arg) {
  ps_pipe_t *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && !(p->requested && !p->over)) pthread_cond_wait(&p->cv, &p->mu);
    if (p->quit) break;
    pthread_mutex_unlock(&p->mu);
    run_pass(p);
    pthread_mutex_lock(&p->mu);
    p->over = 1;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

ps_pipe_t *pipe_open(const ps_pipe_spec_t *spec) {
  ps_pipe_t *p = ps_calloc(1, sizeof *p);
  p->spec = *spec;
  if (p->spec.block_rows < 1) p->spec.block_rows = 1;
  int nio = spec->nin + spec->nout;
  p->in = ps_malloc(sizeof(ps_pipe_col_t) * (size_t)(spec->nin + 1));
  p->out = ps_malloc(sizeof(ps_pipe_col_t) * (size_t)(spec->nout + 1));
  if (spec->nin) memcpy(p->in, spec->in, sizeof(ps_pipe_col_t) * (size_t)spec->nin);
  if (spec->nout) memcpy(p->out, spec->out, sizeof(ps_pipe_col_t) * (size_t)spec->nout);
  p->spec.in = p->in;
  p->spec.out = p->out;
  p->nb = h5_common_blocks(spec->n, p->spec.block_rows); /* collective: the same count on every rank */
  for (int s = 0; s < 2; s++) {
    p->buf[s] = ps_calloc((size_t)nio + 1, sizeof(void *));
    for (int i = 0; i < nio; i++) {
      const ps_pipe_col_t *c = i < spec->nin ? &p->in[i] : &p->out[i - spec->nin];
      p->buf[s][i] = ps_malloc(row_bytes(c) * (size_t)p->spec.block_rows);
    }
  }
  p->fail_block = -1;
  p->holding = -1;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  if (pthread_create(&p->thread, NULL, thread_main, p) != 0) ps_die_local("cannot start the %s I/O thread", spec->what);
  int slot = -1;
  for (int i = 0; i < MAX_PIPES && slot < 0; i++)
    if (!open_pipes[i]) slot = i;
  if (slot < 0) ps_die_local("too many open pipelines");
  open_pipes[slot] = p;
  ps_on_exit(on_exit_hook);
  return p;
}

void pipe_start(ps_pipe_t *p, int64_t first_block) {
  pthread_mutex_lock(&p->mu);
  p->first = p->ready = p->given = p->computed = first_block < p->nb ? first_block : p->nb;
  p->end_at = -1;
  p->holding = -1;
  p->over = 0;
  p->requested = 1;
  p->fail_block = -1;
  p->fail_msg[0] = 0;
  p->agreed[0] = 0;
  p->stop_block = -1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

int pipe_next(ps_pipe_t *p, ps_block_t *b) {
  pthread_mutex_lock(&p->mu);
  if (p->holding >= 0) { /* the caller is done with it: it may be written */
    p->computed = p->holding + 1;
    p->holding = -1;
    pthread_cond_broadcast(&p->cv);
  }
  int64_t next = p->given;
  while (p->ready <= next && !(p->end_at >= 0 && next >= p->end_at)) pthread_cond_wait(&p->cv, &p->mu);
  if (p->end_at >= 0 && next >= p->end_at) {
    while (!p->over) pthread_cond_wait(&p->cv, &p->mu);
    p->requested = 0;
    pthread_mutex_unlock(&p->mu);
    return 0;
  }
  p->given = next + 1;
  p->holding = next;
  pthread_mutex_unlock(&p->mu);
  int slot = (int)(next % 2);
  b->index = next;
  block_range(p, next, &b->first, &b->rows);
  b->in = p->buf[slot];
  b->out = p->buf[slot] + p->spec.nin;
  return 1;
}

void pipe_fail(ps_pipe_t *p, int64_t global_row, const char *fmt, ...) {
  pthread_mutex_lock(&p->mu);
  if (p->fail_block < 0) { /* blocks come in order: the first problem has the lowest row */
    p->fail_block = p->holding;
    p->fail_row = global_row;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->fail_msg, sizeof p->fail_msg, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&p->mu);
}

ps_pipe_status_t pipe_status(const ps_pipe_t *p, int64_t *stop_block, const char **msg) {
  if (stop_block) *stop_block = p->stop_block;
  if (msg) *msg = p->agreed;
  return p->status;
}

ps_pipe_status_t pipe_check(const ps_pipe_t *p, int64_t *stop_block) {
  const char *msg;
  ps_pipe_status_t st = pipe_status(p, stop_block, &msg);
  if (st == PS_PIPE_FAILED) ps_die_all(PS_EXIT_ERROR, "%s", msg);
  return st;
}

int64_t pipe_blocks(const ps_pipe_t *p) { return p->nb; }
double pipe_read_seconds(const ps_pipe_t *p) { return p->t_read; }
double pipe_write_seconds(const ps_pipe_t *p) { return p->t_write; }

void pipe_close(ps_pipe_t *p) {
  if (!p) return;
  for (int i = 0; i < MAX_PIPES; i++)
    if (open_pipes[i] == p) open_pipes[i] = NULL;
  ps_forget_exit(on_exit_hook);
  stop_thread(p);
  for (int s = 0; s < 2; s++) {
    for (int i = 0; i < p->spec.nin + p->spec.nout; i++) free(p->buf[s][i]);
    free(p->buf[s]);
  }
  free(p->in);
  free(p->out);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
}
