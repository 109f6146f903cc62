/* internal.h: what the emulator's own sources share (runtime.cc, exec.cc,
 * cublas.cc, nccl.cc, fiber.cc); nothing here is visible to kernels or to
 * the host code under test. */
#ifndef CUDASIM_INTERNAL_H
#define CUDASIM_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <string>
#include <vector>

#include "cuda_runtime_api.h"

namespace cudasim {

/* "cudasim: <message>" on stderr, then abort(): the emulator's way to fail
 * loudly (a device fault, a stream race, a warp that cannot proceed). */
[[noreturn]] void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "cudasim: <message>" on stderr and go on (e.g. why a launch was refused). */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* With PROPSCORE_CUDASIM_TRACE=FILE: one line "<pid> <text>" appended to
 * FILE (copies and NCCL calls, for the tests that count what crosses). */
void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* file:line with the path cut to its last two components (site_to: into
 * buf, no allocation, for the fault handler). */
std::string site(const char *file, int line);
void site_to(char *buf, size_t n, const char *file, int line);
/* An environment size such as 8M, 1G or 65536; dflt when unset. */
size_t env_size(const char *name, size_t dflt);

namespace rt {
/* A device (or pinned host) range an operation uses. bytes == 0: the whole
 * allocation that p points into (kernel arguments). */
struct Use {
  const void *p;
  size_t bytes;
  bool write;
  std::string role; /* "argument 3", "A", "sendbuff", ... for messages */
};
enum Sync { ASYNC, HOST_WAITS };
/* Checks every use (device memory, in bounds) and the stream order, then
 * queues run() on stream s; HOST_WAITS runs it now and orders the host
 * after it. The caller holds no lock. Returns cudaErrorInvalidValue (with
 * a note) when a use is not device memory or runs out of its allocation. */
cudaError_t enqueue(cudaStream_t s, const std::string &what, const char *file, int line, const std::vector<Use> &uses,
                    std::function<void()> run, Sync sync = ASYNC);
/* Is [p, p + bytes) inside one device allocation (pinned host memory too
 * if allow_pinned)? If not, why in *why. */
bool device_range(const void *p, size_t bytes, bool allow_pinned, std::string *why);
/* The last error of this host thread (cudaGetLastError). */
void set_last_error(cudaError_t e);
/* Is stream s a live stream handle (or a default stream)? */
bool stream_ok(cudaStream_t s);
/* Describe the allocation (device or pinned) holding address a, if any. */
bool describe_address(const void *a, std::string *out, bool *is_guard);
/* Maximum dynamic shared memory set by cudaFuncSetAttribute for fn (0: none). */
int func_max_dynamic_smem(const void *fn);
} // namespace rt

namespace exec {
/* One kernel grid: blocks one after another; each block's warps are OS
 * threads, each warp's lanes fibers on its thread (exec.cc). */
struct Grid {
  const char *name, *file;
  int line;
  dim3 grid, block;
  size_t smem;
  const void *args;
  void (*body)(const void *);
};
void run(const Grid &g);
/* For the fault handler (no allocation): true with a message in out if the
 * address is in the shared-memory guard or a lane's stack guard; else
 * false, with the faulting lane's kernel, block and thread in out ("" if
 * the fault is not in a lane). */
bool describe_fault(const void *addr, char *out, size_t n);
/* Install an alternate signal stack on this thread (for stack overflows). */
void alt_stack();
} // namespace exec

namespace fiber {
/* A minimal context switch: a fiber runs entry(arg) on its own stack. */
struct Context {
  void *sp = nullptr;
};
void make(Context *c, void *stack_lo, size_t stack_bytes, void (*entry)(void *), void *arg);
void swap(Context *from, Context *to);
} // namespace fiber
} // namespace cudasim
#endif
