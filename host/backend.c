/* backend.c: choose a compute backend (--device cpu|cuda|auto, --x-dtype). */
#include <string.h>

#include "backend.h"
#include "comm.h"
#include "util.h"

extern void openblas_set_num_threads(int);

ps_backend_t *backend_create(const char *device, const char *x_dtype) {
  /* One BLAS thread per rank: ranks are the parallelism, and a fixed thread
   * count keeps the summation order (and so the bits) fixed. */
  openblas_set_num_threads(1);
  if (strcmp(device, "cpu") && strcmp(device, "cuda") && strcmp(device, "auto"))
    ps_die_all(PS_EXIT_USAGE, "--device: '%s' is not one of cpu, cuda, auto", device);
  if (strcmp(x_dtype, "f32") && strcmp(x_dtype, "bf16"))
    ps_die_all(PS_EXIT_USAGE, "--x-dtype: '%s' is not one of f32, bf16", x_dtype);
#ifdef PROPSCORE_HAVE_CUDA
  /* every rank must take the same backend: auto means cuda only if all ranks see a GPU */
  int64_t none = backend_cuda_devices() == 0;
  comm_allreduce_sum_i64(&none, 1);
  if (!strcmp(device, "cuda") && none)
    ps_die_all(PS_EXIT_ERROR, "--device cuda: %lld of %d ranks see no CUDA device", (long long)none, ps_size);
  if (strcmp(device, "cpu") && !none) return backend_cuda_create(strcmp(x_dtype, "bf16") ? 0 : 1);
#else
  if (!strcmp(device, "cuda"))
    ps_die_all(PS_EXIT_USAGE, "--device cuda: this propscore was built without CUDA (-DPROPSCORE_CUDA=ON)");
#endif
  if (!strcmp(x_dtype, "bf16") && !strcmp(device, "cpu"))
    ps_log("--x-dtype bf16 applies to the GPU backend; the CPU backend keeps float32");
  return backend_cpu_create();
}
