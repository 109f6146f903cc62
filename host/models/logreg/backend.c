/* backend.c: the logistic-regression compute backend for --device and
 * --x-dtype f32|bf16, the same on every rank. */
#include <string.h>

#include "core/parse.h"
#include "core/util.h"
#include "models/device.h"
#include "models/logreg/backend.h"

extern void openblas_set_num_threads(int);

ps_backend_t *logreg_backend_create(const char *device, const char *x_dtype) {
  /* One BLAS thread per rank: ranks are the parallelism, and a fixed thread
   * count keeps the summation order (and so the bits) fixed. */
  openblas_set_num_threads(1);
  static const char *const dtypes[] = {"f32", "bf16", NULL};
  int bf16 = ps_parse_choice("--x-dtype", x_dtype, dtypes) == 1;
  int cuda = device_choose(device);
#ifdef PROPSCORE_HAVE_CUDA
  if (cuda) return backend_cuda_create(bf16);
#endif
  (void)cuda;
  if (bf16) ps_log("--x-dtype bf16 applies to the GPU backend; the CPU backend keeps float32");
  return backend_cpu_create();
}
