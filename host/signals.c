/* signals.c: the stop flag behind signals.h. */
#define _POSIX_C_SOURCE 200809L
#include "signals.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "util.h"

static volatile sig_atomic_t stop_sig = 0;

static void on_signal(int sig) { stop_sig = sig; }

void ps_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

void ps_fault_tick(const char *where) {
  static long count = 0;
  const char *spec = getenv("PROPSCORE_FAULT_STOP");
  size_t n = strlen(where);
  if (!spec || ps_rank != 0 || strncmp(spec, where, n) != 0 || spec[n] != ':') return;
  if (++count == strtol(spec + n + 1, NULL, 10)) raise(SIGTERM);
}

int ps_stop_requested(void) { return stop_sig != 0; }
int ps_stop_signal(void) { return (int)stop_sig; }

int ps_stop_agreed(void) {
  int64_t v = stop_sig != 0;
  comm_allreduce_sum_i64(&v, 1);
  return v > 0;
}
