/* blockreader.c: the prefetching row-block reader (see blockreader.h). */
#define _POSIX_C_SOURCE 200809L
#include "blockreader.h"

#include <pthread.h>
#include <stdlib.h>

#include "h5io.h"
#include "util.h"

struct blockreader {
  hid_t dset;
  int64_t row0, n, f, br, nb;
  float *buf[2];
  int64_t first[2], count[2];
  int ready[2];        /* buffer holds block `which[i]`, unread by the caller */
  int64_t which[2];
  int64_t next_read;   /* block the thread reads next (nb: pass done) */
  int64_t next_give;   /* block the caller gets next */
  int held;            /* buffer the caller holds (-1: none) */
  int pass_active, quit;
  double read_s;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static void *reader_main(void *arg) {
  blockreader_t *r = arg;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    /* wait for a pass with blocks left to read and a free buffer */
    int slot = -1;
    while (!r->quit) {
      if (r->pass_active && r->next_read < r->nb) {
        int s = (int)(r->next_read % 2);
        if (!r->ready[s] && r->held != s) { slot = s; break; }
      }
      pthread_cond_wait(&r->cv, &r->mu);
    }
    if (r->quit) break;
    int64_t b = r->next_read;
    pthread_mutex_unlock(&r->mu);
    int64_t off = b * r->br, m = r->n - off;
    if (m > r->br) m = r->br;
    if (m < 0) m = 0;
    double t0 = ps_now();
    h5io_xfer_rows(r->dset, H5T_NATIVE_FLOAT, r->row0 + off, m, r->f, r->buf[slot], 0);
    double dt = ps_now() - t0;
    pthread_mutex_lock(&r->mu);
    r->read_s += dt;
    r->first[slot] = off < r->n ? off : r->n;
    r->count[slot] = m;
    r->which[slot] = b;
    r->ready[slot] = 1;
    r->next_read++;
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

blockreader_t *blockreader_open(hid_t dset, int64_t row0, int64_t n, int64_t f, int64_t block_rows) {
  blockreader_t *r = ps_calloc(1, sizeof *r);
  r->dset = dset;
  r->row0 = row0;
  r->n = n;
  r->f = f;
  r->br = block_rows;
  r->nb = h5io_common_blocks(n, block_rows); /* collective: same count on every rank */
  for (int i = 0; i < 2; i++) r->buf[i] = ps_malloc(sizeof(float) * (size_t)block_rows * (size_t)f);
  r->held = -1;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  if (pthread_create(&r->thread, NULL, reader_main, r) != 0) ps_die_local("cannot start the reader thread");
  return r;
}

void blockreader_rewind(blockreader_t *r) {
  pthread_mutex_lock(&r->mu);
  while (r->pass_active && r->next_read < r->nb) { /* a pass left unfinished: drain it (reads are collective) */
    r->ready[0] = r->ready[1] = 0;
    r->held = -1;
    pthread_cond_broadcast(&r->cv);
    pthread_cond_wait(&r->cv, &r->mu);
  }
  r->ready[0] = r->ready[1] = 0;
  r->held = -1;
  r->next_read = 0;
  r->next_give = 0;
  r->pass_active = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

int blockreader_next(blockreader_t *r, const float **X, int64_t *first, int64_t *m) {
  pthread_mutex_lock(&r->mu);
  if (r->held >= 0) { /* release the previous block */
    r->ready[r->held] = 0;
    r->held = -1;
    pthread_cond_broadcast(&r->cv);
  }
  if (r->next_give >= r->nb) {
    r->pass_active = 0;
    pthread_mutex_unlock(&r->mu);
    return 0;
  }
  int s = (int)(r->next_give % 2);
  while (!(r->ready[s] && r->which[s] == r->next_give)) pthread_cond_wait(&r->cv, &r->mu);
  r->held = s;
  r->next_give++;
  *X = r->buf[s];
  *first = r->first[s];
  *m = r->count[s];
  pthread_mutex_unlock(&r->mu);
  return 1;
}

int64_t blockreader_blocks(const blockreader_t *r) { return r->nb; }
double blockreader_read_seconds(const blockreader_t *r) { return r->read_s; }

void blockreader_close(blockreader_t *r) {
  if (!r) return;
  pthread_mutex_lock(&r->mu);
  while (r->pass_active && r->next_read < r->nb) {
    r->ready[0] = r->ready[1] = 0;
    r->held = -1;
    pthread_cond_broadcast(&r->cv);
    pthread_cond_wait(&r->cv, &r->mu);
  }
  r->quit = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  free(r->buf[0]);
  free(r->buf[1]);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r);
}
