/* signals.c: the stop flag behind signals.h. */
#define _POSIX_C_SOURCE 200809L
#include "core/signals.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

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
  if (!spec || strncmp(spec, where, n) != 0 || spec[n] != ':') return;
  char *end = NULL;
  long at = strtol(spec + n + 1, &end, 10);
  int rank = end && *end == ':' ? atoi(end + 1) : 0;
  if (ps_rank == rank && ++count == at) raise(SIGTERM);
}

int ps_stop_requested(void) { return stop_sig != 0; }
int ps_stop_signal(void) { return (int)stop_sig; }

const char *ps_signal_name(int sig) {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "a signal";
  }
}
