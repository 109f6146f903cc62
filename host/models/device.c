/* device.c: the collective choice of the compute device (see device.h). */
#include "models/device.h"

#include <stdint.h>

#include "comm/comm.h"
#include "core/parse.h"
#include "core/util.h"
#ifdef PROPSCORE_HAVE_CUDA
#include "common/cuda_probe.h"
#endif

int device_count(void) {
#ifdef PROPSCORE_HAVE_CUDA
  char desc[256];
  return ps_cuda_probe(desc, sizeof desc);
#else
  return 0;
#endif
}

int device_choose(const char *device) {
  static const char *const choices[] = {"cpu", "cuda", "auto", NULL};
  int which = ps_parse_choice("--device", device, choices);
  if (which == 0) return 0;
#ifdef PROPSCORE_HAVE_CUDA
  int64_t none = device_count() == 0;
  comm_allreduce_sum_i64(&none, 1);
  if (which == 1 && none)
    ps_die_all(PS_EXIT_ERROR, "--device cuda: %lld of %d ranks see no CUDA device", (long long)none, ps_size);
  return none == 0;
#else
  if (which == 1)
    ps_die_all(PS_EXIT_USAGE, "--device cuda: this propscore was built without CUDA (-DPROPSCORE_CUDA=ON)");
  return 0;
#endif
}
