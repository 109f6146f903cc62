/* device_limits.cu: ps_device_limits (device_limits.h): the current
 * device's opt-in shared memory per block and SM count, asked of the
 * runtime once per device (every check through CUDA_CHECK). */
#include <atomic>
#include <mutex>

#include "common/cuda_check.h"
#include "common/device_limits.h"

namespace {
constexpr int MAX_DEVICES = 64;
struct cached {
  std::atomic<int> ready{0};
  ps_device_limits_t v;
};
cached cache[MAX_DEVICES];
std::mutex mu;
} // namespace

extern "C" ps_device_limits_t ps_device_limits(void) {
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (dev < 0 || dev >= MAX_DEVICES) ps_die_local("ps_device_limits: device %d (at most %d devices)", dev, MAX_DEVICES);
  cached &c = cache[dev];
  if (c.ready.load(std::memory_order_acquire)) return c.v;
  std::lock_guard<std::mutex> lock(mu);
  if (c.ready.load(std::memory_order_relaxed)) return c.v;
  int optin = 0, sms = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  c.v.smem_optin = (size_t)optin;
  c.v.sms = sms > 0 ? sms : 1;
  c.ready.store(1, std::memory_order_release);
  return c.v;
}

extern "C" size_t ps_smem_plan_budget(void) {
  const size_t optin = ps_device_limits().smem_optin;
  return optin < PS_SMEM_PLAN_CAP ? optin : PS_SMEM_PLAN_CAP;
}
