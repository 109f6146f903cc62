/* backend.c: choose a compute backend by name (--device cpu|cuda|auto). */
#include <openblas_config.h>
#include <string.h>

#include "backend.h"
#include "util.h"

extern void openblas_set_num_threads(int);

ps_backend_t *backend_create(const char *name) {
  /* One BLAS thread per rank: ranks are the parallelism, and a fixed thread
   * count keeps the summation order (and so the bits) fixed. */
  openblas_set_num_threads(1);
  if (!strcmp(name, "cpu") || !strcmp(name, "auto")) return backend_cpu_create();
  if (!strcmp(name, "cuda"))
    ps_die_all(PS_EXIT_USAGE, "--device cuda: this build has no CUDA backend yet (use --device cpu)");
  ps_die_all(PS_EXIT_USAGE, "--device: '%s' is not one of cpu, cuda, auto", name);
}
