/* runtime.cc: the emulated CUDA runtime. Device memory is host memory in
 * its own mapping (guard pages around it, canary bytes in the slack,
 * poisoned with 0xff bytes -- NaN -- when allocated, no host access outside
 * device work), counted against a capacity (PROPSCORE_CUDASIM_MEM, default 2G).
 * Work queued on a stream runs lazily, when something waits for it, in
 * stream order. Every operation records the buffers it reads and writes;
 * with a vector clock per stream and one for the host, an operation that
 * touches a buffer last written (or, for a write, read) by another stream
 * with no event, stream or device synchronization in between is a stream
 * race: the emulator stops naming both operations. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "cudasim.h"
#include "internal.h"

namespace cudasim {

void die(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "cudasim: %s\n", buf);
  fflush(stderr);
  abort();
}

void note(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "cudasim: %s\n", buf);
  fflush(stderr);
}

void trace(const char *fmt, ...) {
  const char *path = getenv("PROPSCORE_CUDASIM_TRACE");
  if (!path || !*path) return;
  char buf[1024];
  int k = snprintf(buf, sizeof buf, "%d ", (int)getpid());
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + k, sizeof buf - (size_t)k - 1, fmt, ap);
  va_end(ap);
  size_t len = strlen(buf);
  buf[len++] = '\n';
  FILE *f = fopen(path, "a"); /* one write a line: ranks append whole lines */
  if (!f) die("PROPSCORE_CUDASIM_TRACE=%s: %s", path, strerror(errno));
  setvbuf(f, NULL, _IONBF, 0);
  fwrite(buf, 1, len, f);
  fclose(f);
}

std::string strf(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

void site_to(char *buf, size_t n, const char *file, int line) {
  if (!file) {
    snprintf(buf, n, "?");
    return;
  }
  const char *p = file + strlen(file), *cut = file;
  int slashes = 0;
  while (p > file)
    if (*--p == '/' && ++slashes == 2) {
      cut = p + 1;
      break;
    }
  snprintf(buf, n, "%s:%d", cut, line);
}

std::string site(const char *file, int line) {
  char buf[512];
  site_to(buf, sizeof buf, file, line);
  return buf;
}

size_t env_size(const char *name, size_t dflt) {
  const char *s = getenv(name);
  if (!s || !*s) return dflt;
  char *end;
  double v = strtod(s, &end);
  double mult = 1;
  switch (*end) {
    case 'k': case 'K': mult = 1024.0; end++; break;
    case 'm': case 'M': mult = 1048576.0; end++; break;
    case 'g': case 'G': mult = 1073741824.0; end++; break;
    default: break;
  }
  if (*end == 'B' || *end == 'b') end++;
  if (*end || !(v >= 0)) die("%s=%s: expected a size such as 8M, 2G or 65536", name, s);
  return (size_t)(v * mult);
}

namespace {

using VC = std::vector<uint64_t>;
void vc_join(VC &a, const VC &b) {
  if (a.size() < b.size()) a.resize(b.size(), 0);
  for (size_t i = 0; i < b.size(); i++)
    if (b[i] > a[i]) a[i] = b[i];
}
uint64_t vc_get(const VC &v, int i) { return (size_t)i < v.size() ? v[(size_t)i] : 0; }

struct OpInfo {
  int stream;
  uint64_t seq;
  std::string what, where;
};
using OpRef = std::shared_ptr<const OpInfo>;

const unsigned char CANARY = 0xa5;

struct Alloc {
  int id;
  bool pinned;
  char *base; /* what the caller got */
  size_t size;
  size_t charged;       /* counted against the capacity */
  char *map;            /* device: [guard page][data][guard page] */
  size_t map_bytes;
  char *data;
  size_t data_bytes;
  std::string where;    /* allocation site */
  OpRef last_write;     /* the stream-order state of the buffer */
  std::map<int, OpRef> reads; /* since last_write: the latest read per stream */
};

struct Op {
  OpRef info;
  VC vc;
  std::function<void()> run;
  std::vector<Alloc *> touched;
};

} // namespace
} // namespace cudasim

struct CUstream_st {
  int id;
  bool legacy, nonblocking, destroyed;
  uint64_t seq, done;
  cudasim::VC vc;
  std::deque<cudasim::Op> pending;
  std::string name;
};

struct CUevent_st {
  unsigned flags;
  CUstream_st *stream;
  uint64_t seq;
  cudasim::VC vc;
  bool recorded, destroyed;
  double t; /* when its marker ran (lazily: when the stream was synchronized) */
};

namespace cudasim {
namespace {

size_t page_size() {
  static size_t p = (size_t)sysconf(_SC_PAGESIZE);
  return p;
}
size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }
double now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The node has `node` GPUs (PROPSCORE_CUDASIM_DEVICES); CUDA_VISIBLE_DEVICES,
 * as with CUDA, picks which of them this process sees and in what order: a
 * comma-separated list of indices that ends at the first entry that is not
 * one (an empty list: none). srun --gpus-per-task=1 sets it per rank. */
std::vector<int> visible_devices(int node) {
  std::vector<int> v;
  const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
  if (!cvd) {
    for (int i = 0; i < node; i++) v.push_back(i);
    return v;
  }
  for (const char *p = cvd; *p;) {
    char *end;
    long i = strtol(p, &end, 10);
    if (end == p || (*end && *end != ',') || i < 0 || i >= node) break;
    for (int seen : v)
      if (seen == (int)i) return {}; /* CUDA: a repeated index makes no device visible */
    v.push_back((int)i);
    p = *end ? end + 1 : end;
  }
  return v;
}

struct sigaction prev_segv, prev_bus;
void on_fault(int sig, siginfo_t *si, void *uc);

struct State {
  std::recursive_mutex mu;
  size_t capacity, used = 0;
  int devices;              /* the GPUs this process sees */
  std::vector<int> visible; /* [devices]: each one's index among the node's GPUs */
  bool protect;
  std::map<uintptr_t, Alloc *> allocs; /* by base */
  int next_alloc = 1;
  std::vector<CUstream_st *> streams; /* [0]: the legacy default stream */
  std::set<const CUstream_st *> live;
  VC host;
  std::map<const void *, int> func_smem;
  size_t smem_optin; /* opt-in dynamic shared memory of a block (PROPSCORE_CUDASIM_SMEM_OPTIN) */
  int exec_depth = 0;
  State() {
    capacity = env_size("PROPSCORE_CUDASIM_MEM", (size_t)2 << 30);
    smem_optin = env_size("PROPSCORE_CUDASIM_SMEM_OPTIN", (size_t)227 << 10);
    if (smem_optin < ((size_t)48 << 10) || smem_optin > ((size_t)227 << 10))
      die("PROPSCORE_CUDASIM_SMEM_OPTIN=%zu: expected 48K to 227K (99K: sm_86/89, 163K: sm_80, 227K: sm_90)",
          smem_optin);
    const char *d = getenv("PROPSCORE_CUDASIM_DEVICES");
    visible = visible_devices(d && *d ? atoi(d) : 1);
    devices = (int)visible.size();
    const char *h = getenv("PROPSCORE_CUDASIM_HOST_ACCESS");
    protect = !(h && !strcmp(h, "allow"));
    CUstream_st *legacy = new CUstream_st{0, true, false, false, 0, 0, {}, {}, "the legacy default stream"};
    streams.push_back(legacy);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &prev_segv);
    sigaction(SIGBUS, &sa, &prev_bus);
  }
};
State &st() {
  static State *s = new State(); /* never destroyed: work may be pending at exit */
  return *s;
}

thread_local cudaError_t last_error = cudaSuccess;
thread_local int current_device = 0;

cudaError_t fail(cudaError_t e) {
  last_error = e;
  return e;
}

Alloc *find_alloc(const void *p) {
  State &s = st();
  uintptr_t a = (uintptr_t)p;
  auto it = s.allocs.upper_bound(a);
  if (it == s.allocs.begin()) return nullptr;
  --it;
  Alloc *al = it->second;
  if (a >= (uintptr_t)al->base && a <= (uintptr_t)al->base + al->size) return al; /* one past the end counts */
  return nullptr;
}

/* The allocation whose mapping (guard pages included) holds a. */
Alloc *find_mapping(const void *p) {
  State &s = st();
  uintptr_t a = (uintptr_t)p;
  for (auto &kv : s.allocs) {
    Alloc *al = kv.second;
    if (!al->pinned && a >= (uintptr_t)al->map && a < (uintptr_t)al->map + al->map_bytes) return al;
  }
  return nullptr;
}

void alloc_desc_to(char *buf, size_t n, const Alloc *a) {
  snprintf(buf, n, "%s #%d (%zu bytes, %s at %s)", a->pinned ? "pinned host buffer" : "device buffer", a->id, a->size,
           a->pinned ? "cudaMallocHost" : "cudaMalloc", a->where.c_str());
}

std::string alloc_desc(const Alloc *a) {
  char buf[600];
  alloc_desc_to(buf, sizeof buf, a);
  return buf;
}

std::string stream_desc(int id) { return st().streams[(size_t)id]->name; }

void set_device_access(bool on) {
  State &s = st();
  for (auto &kv : s.allocs) {
    Alloc *a = kv.second;
    if (!a->pinned && mprotect(a->data, a->data_bytes, on ? PROT_READ | PROT_WRITE : PROT_NONE) != 0)
      die("mprotect of device buffer #%d failed: %s", a->id, strerror(errno));
  }
}

/* Device work runs inside: device memory is accessible only then. */
struct DeviceScope {
  DeviceScope() {
    State &s = st();
    if (s.exec_depth++ == 0 && s.protect) set_device_access(true);
  }
  ~DeviceScope() {
    State &s = st();
    if (--s.exec_depth == 0 && s.protect) set_device_access(false);
  }
};

void check_canaries(const Alloc *a, const OpInfo *by) {
  if (a->pinned) return;
  auto bad = [](const char *p, size_t n) -> const char * {
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)p[i] != CANARY) return p + i;
    return nullptr;
  };
  size_t front = (size_t)(a->base - a->data);
  size_t front_check = front < 65536 ? front : 65536;
  const char *after = a->base + a->size, *end = a->data + a->data_bytes;
  const char *p = bad(after, (size_t)(end - after));
  const char *q = bad(a->base - front_check, front_check);
  if (p || q)
    die("%s wrote outside %s: byte %s%td of the buffer changed (the canary bytes %s it)",
        by ? (by->what + " (" + by->where + ")").c_str() : "something", alloc_desc(a).c_str(), p ? "+" : "",
        p ? p - a->base : q - a->base, p ? "after" : "before");
}

CUstream_st *stream_of(cudaStream_t s, cudaError_t *err) {
  State &S = st();
  *err = cudaSuccess;
  if (s == nullptr || s == cudaStreamLegacy) return S.streams[0];
  if (s == cudaStreamPerThread) {
    note("cudaStreamPerThread is not emulated");
    *err = cudaErrorNotSupported;
    return nullptr;
  }
  if (!S.live.count(s)) {
    *err = cudaErrorInvalidResourceHandle;
    return nullptr;
  }
  return s;
}

void race(const Alloc *a, const OpInfo &op, const char *verb, const OpInfo &prev, const char *prev_verb) {
  die("stream race on %s:\n"
      "  %s (%s) on %s %s it,\n"
      "  but %s (%s) on %s %s it before, and nothing orders the two: no event, stream or device\n"
      "  synchronization between them (the legacy default stream does not order non-blocking streams)",
      alloc_desc(a).c_str(), op.what.c_str(), op.where.c_str(), stream_desc(op.stream).c_str(), verb,
      prev.what.c_str(), prev.where.c_str(), stream_desc(prev.stream).c_str(), prev_verb);
}

void flush(CUstream_st *s, uint64_t upto);

/* The host waits for everything v covers: run it, then order the host after it. */
void host_wait(const VC &v) {
  State &S = st();
  for (size_t t = 0; t < v.size() && t < S.streams.size(); t++)
    if (v[t] > S.streams[t]->done) flush(S.streams[t], v[t]);
  vc_join(S.host, v);
}

void flush(CUstream_st *s, uint64_t upto) {
  State &S = st();
  DeviceScope scope;
  while (!s->pending.empty() && s->pending.front().info->seq <= upto) {
    const VC &vc = s->pending.front().vc;
    for (size_t t = 0; t < vc.size(); t++)
      if ((int)t != s->id && vc[t] > S.streams[t]->done) flush(S.streams[t], vc[t]);
    Op op = std::move(s->pending.front());
    s->pending.pop_front();
    op.run();
    for (Alloc *a : op.touched) check_canaries(a, op.info.get());
    s->done = op.info->seq;
  }
}

struct Resolved {
  Alloc *a;
  const rt::Use *u;
};

/* Queue an operation (lock held, uses resolved and in bounds). */
OpRef push(CUstream_st *s, const std::string &what, const char *file, int line, const std::vector<Resolved> &uses,
           std::function<void()> run) {
  State &S = st();
  vc_join(s->vc, S.host);
  if (s->legacy) {
    for (CUstream_st *b : S.streams)
      if (!b->legacy && !b->nonblocking) vc_join(s->vc, b->vc);
  } else if (!s->nonblocking) {
    vc_join(s->vc, S.streams[0]->vc);
  }
  if (s->vc.size() <= (size_t)s->id) s->vc.resize((size_t)s->id + 1, 0);
  s->vc[(size_t)s->id] = ++s->seq;
  auto info = std::make_shared<OpInfo>(OpInfo{s->id, s->seq, what, site(file, line)});
  Op op{info, s->vc, std::move(run), {}};
  for (const Resolved &r : uses) {
    Alloc *a = r.a;
    const OpRef &lw = a->last_write;
    if (lw && lw->stream != s->id && vc_get(op.vc, lw->stream) < lw->seq)
      race(a, *info, r.u->write ? "writes" : "reads", *lw, "wrote");
    if (r.u->write)
      for (auto &kv : a->reads)
        if (kv.first != s->id && vc_get(op.vc, kv.first) < kv.second->seq) race(a, *info, "writes", *kv.second, "read");
  }
  for (const Resolved &r : uses) {
    if (r.u->write) {
      r.a->last_write = info;
      r.a->reads.clear();
    } else {
      r.a->reads[s->id] = info;
    }
    op.touched.push_back(r.a);
  }
  s->pending.push_back(std::move(op));
  return info;
}

bool resolve(const std::vector<rt::Use> &uses, bool allow_pinned, std::vector<Resolved> *out, std::string *why) {
  for (const rt::Use &u : uses) {
    Alloc *a = find_alloc(u.p);
    if (!a) {
      *why = strf("%s (%p) is not device memory", u.role.c_str(), u.p);
      return false;
    }
    if (a->pinned && !allow_pinned) {
      *why = strf("%s (%p) is pinned host memory (%s), not device memory", u.role.c_str(), u.p, alloc_desc(a).c_str());
      return false;
    }
    size_t off = (size_t)((const char *)u.p - a->base);
    if (u.bytes > a->size - off) {
      *why = strf("%s: %zu bytes at byte %zu of %s run past its end", u.role.c_str(), u.bytes, off, alloc_desc(a).c_str());
      return false;
    }
    out->push_back(Resolved{a, &u});
  }
  return true;
}

const char *kind_name(cudaMemcpyKind k) {
  switch (k) {
    case cudaMemcpyHostToHost: return "HostToHost";
    case cudaMemcpyHostToDevice: return "HostToDevice";
    case cudaMemcpyDeviceToHost: return "DeviceToHost";
    case cudaMemcpyDeviceToDevice: return "DeviceToDevice";
    case cudaMemcpyDefault: return "Default";
  }
  return "?";
}

enum Where { PAGEABLE, PINNED, DEVICE };
Where where_is(const void *p) {
  Alloc *a = find_alloc(p);
  return !a ? PAGEABLE : a->pinned ? PINNED : DEVICE;
}

cudaError_t memcpy_impl(const char *file, int line, void *dst, const void *src, size_t n, cudaMemcpyKind kind,
                        cudaStream_t stream, bool async) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  const char *api = async ? "cudaMemcpyAsync" : "cudaMemcpy";
  cudaError_t e;
  CUstream_st *s = stream_of(async ? stream : nullptr, &e);
  if (!s) return fail(e);
  if (n == 0) return cudaSuccess;
  if (!dst || !src) {
    note("%s at %s: a null pointer", api, site(file, line).c_str());
    return fail(cudaErrorInvalidValue);
  }
  Where wd = where_is(dst), ws = where_is(src);
  if (kind == cudaMemcpyDefault)
    kind = ws == DEVICE ? (wd == DEVICE ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
                        : (wd == DEVICE ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
  bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if ((int)kind < 0 || (int)kind > 4) {
    note("%s at %s: copy kind %d is not a cudaMemcpyKind", api, site(file, line).c_str(), (int)kind);
    return fail(cudaErrorInvalidMemcpyDirection);
  }
  if (dst_dev != (wd == DEVICE) || src_dev != (ws == DEVICE)) {
    note("%s at %s (%s): the %s %p is %s", api, site(file, line).c_str(), kind_name(kind),
         dst_dev != (wd == DEVICE) ? "destination" : "source", dst_dev != (wd == DEVICE) ? dst : (void *)src,
         (dst_dev != (wd == DEVICE) ? dst_dev : src_dev) ? "not device memory" : "device memory");
    return fail(cudaErrorInvalidValue);
  }
  std::vector<rt::Use> uses;
  if (wd != PAGEABLE) uses.push_back(rt::Use{dst, n, true, "the destination"});
  if (ws != PAGEABLE) uses.push_back(rt::Use{src, n, false, "the source"});
  std::vector<Resolved> res;
  std::string why;
  if (!resolve(uses, true, &res, &why)) {
    note("%s at %s (%s): %s", api, site(file, line).c_str(), kind_name(kind), why.c_str());
    return fail(cudaErrorInvalidValue);
  }
  std::string what = strf("%s %s (%zu bytes)", api, kind_name(kind), n);
  trace("%s %zu %s", kind_name(kind), n, site(file, line).c_str());
  /* When the host waits (the CUDA runtime's documented synchronization of
   * each kind), and where the source is read. */
  bool host_waits = false;
  std::function<void()> run;
  if (kind == cudaMemcpyHostToHost) {
    host_wait(s->vc); /* fully synchronous */
    host_waits = true;
    run = [dst, src, n] { memmove(dst, src, n); };
  } else if (kind == cudaMemcpyHostToDevice && ws == PAGEABLE) {
    /* staged: the source is copied before the call returns; a synchronous
     * copy first waits for the stream, then returns before the DMA ends */
    if (!async) host_wait(s->vc);
    auto staged = std::make_shared<std::vector<char>>((const char *)src, (const char *)src + n);
    run = [dst, staged] { memcpy(dst, staged->data(), staged->size()); };
  } else {
    run = [dst, src, n] { memmove(dst, src, n); };
    if (kind == cudaMemcpyDeviceToHost) host_waits = !async || wd == PAGEABLE;
    if (kind == cudaMemcpyHostToDevice) host_waits = !async; /* from pinned memory: synchronous */
  }
  push(s, what, file, line, res, std::move(run));
  if (host_waits) {
    VC v = s->vc;
    host_wait(v);
  }
  return cudaSuccess;
}

cudaError_t memset_impl(const char *file, int line, void *dst, int value, size_t n, cudaStream_t stream, bool async) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  const char *api = async ? "cudaMemsetAsync" : "cudaMemset";
  cudaError_t e;
  CUstream_st *s = stream_of(async ? stream : nullptr, &e);
  if (!s) return fail(e);
  if (n == 0) return cudaSuccess;
  std::vector<rt::Use> uses{rt::Use{dst, n, true, "the destination"}};
  std::vector<Resolved> res;
  std::string why;
  if (!resolve(uses, true, &res, &why)) {
    note("%s at %s: %s", api, site(file, line).c_str(), why.c_str());
    return fail(cudaErrorInvalidValue);
  }
  bool pinned = res[0].a->pinned;
  push(s, strf("%s (%zu bytes)", api, n), file, line, res, [dst, value, n] { memset(dst, value, n); });
  if (pinned && !async) {
    VC v = s->vc;
    host_wait(v);
  }
  return cudaSuccess;
}

/* SIGSEGV/SIGBUS: the emulator's guard pages and protected device memory
 * get a message naming what was touched and by whom (no allocation here). */
void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  char msg[1024], desc[600];
  const void *addr = si->si_addr;
  if (exec::describe_fault(addr, msg, sizeof msg)) die("%s", msg);
  Alloc *a = find_mapping(addr);
  if (a) {
    const char *p = (const char *)addr;
    alloc_desc_to(desc, sizeof desc, a);
    if (p >= a->data && p < a->data + a->data_bytes && st().exec_depth == 0)
      die("host code touched device memory at %p (byte %td of %s): device memory is not host-accessible; copy it "
          "with cudaMemcpy",
          addr, p - a->base, desc);
    die("%s accessed %p, %td bytes %s %s", msg[0] ? msg : "device code", addr,
        p < a->base ? a->base - p : p - (a->base + a->size), p < a->base ? "before" : "past the end of", desc);
  }
  /* not the emulator's: let the previous handler (or the default) have it */
  sigaction(sig, sig == SIGSEGV ? &prev_segv : &prev_bus, nullptr);
}

} // namespace

/* ---- what the other emulator sources use ---- */
namespace rt {
cudaError_t enqueue(cudaStream_t stream, const std::string &what, const char *file, int line,
                    const std::vector<Use> &uses, std::function<void()> run, Sync sync) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  cudaError_t e;
  CUstream_st *s = stream_of(stream, &e);
  if (!s) return fail(e);
  std::vector<Resolved> res;
  std::string why;
  if (!resolve(uses, false, &res, &why)) {
    note("%s at %s: %s", what.c_str(), site(file, line).c_str(), why.c_str());
    return fail(cudaErrorInvalidValue);
  }
  push(s, what, file, line, res, std::move(run));
  if (sync == HOST_WAITS) {
    VC v = s->vc;
    host_wait(v);
  }
  return cudaSuccess;
}

bool device_range(const void *p, size_t bytes, bool allow_pinned, std::string *why) {
  std::lock_guard<std::recursive_mutex> lock(st().mu);
  std::vector<Resolved> res;
  std::vector<Use> uses{Use{p, bytes, false, strf("%p", p)}};
  return resolve(uses, allow_pinned, &res, why);
}

void set_last_error(cudaError_t e) { last_error = e; }

bool stream_ok(cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(st().mu);
  cudaError_t e;
  return stream_of(s, &e) != nullptr;
}

bool describe_address(const void *a, std::string *out, bool *is_guard) {
  Alloc *al = find_alloc(a);
  if (al) {
    *out = alloc_desc(al);
    *is_guard = false;
    return true;
  }
  al = find_mapping(a);
  if (!al) return false;
  *out = alloc_desc(al);
  *is_guard = true;
  return true;
}

int func_max_dynamic_smem(const void *fn) {
  std::lock_guard<std::recursive_mutex> lock(st().mu);
  auto it = st().func_smem.find(fn);
  return it == st().func_smem.end() ? 0 : it->second;
}
} // namespace rt

/* ---- kernel launches (cudasim.h's Launch) ---- */
namespace detail {
void launch(const char *name, const char *file, int line, const void *fn, dim3 g, dim3 b, size_t smem,
            cudaStream_t stream, const PtrArg *ptrs, int nptrs, std::shared_ptr<const void> keep,
            void (*body)(const void *)) {
  const size_t DEFAULT_SMEM = 48 * 1024, MAX_SMEM = st().smem_optin;
  std::string where = site(file, line);
  auto refuse = [&](cudaError_t e, const std::string &why) {
    note("launch of %s at %s refused (%s): %s", name, where.c_str(), cudaGetErrorName(e), why.c_str());
    last_error = e;
  };
  unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
  if (b.x == 0 || b.y == 0 || b.z == 0 || b.x > 1024 || b.y > 1024 || b.z > 64 || threads > 1024)
    return refuse(cudaErrorInvalidConfiguration,
                  strf("block (%u, %u, %u): at most 1024 threads, x and y <= 1024, z <= 64", b.x, b.y, b.z));
  if (g.x == 0 || g.y == 0 || g.z == 0 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535)
    return refuse(cudaErrorInvalidConfiguration,
                  strf("grid (%u, %u, %u): x in 1..2^31-1, y and z in 1..65535", g.x, g.y, g.z));
  if (smem > MAX_SMEM)
    return refuse(cudaErrorInvalidValue, strf("%zu bytes of dynamic shared memory; a block has at most %zu", smem, MAX_SMEM));
  if (smem > DEFAULT_SMEM) {
    int opt = rt::func_max_dynamic_smem(fn);
    if ((size_t)opt < smem)
      return refuse(cudaErrorInvalidValue,
                    strf("%zu bytes of dynamic shared memory: above 48 KiB a kernel needs cudaFuncSetAttribute("
                         "cudaFuncAttributeMaxDynamicSharedMemorySize) first (set: %d)",
                         smem, opt));
  }
  std::vector<rt::Use> uses;
  for (int i = 0; i < nptrs; i++) {
    std::string why;
    if (!rt::device_range(ptrs[i].p, 0, true, &why))
      die("kernel %s launched at %s: argument %d (%p) is not device memory (a host pointer?)", name, where.c_str(),
          ptrs[i].index, ptrs[i].p);
    uses.push_back(rt::Use{ptrs[i].p, 0, ptrs[i].write, strf("argument %d", ptrs[i].index)});
  }
  if (!rt::stream_ok(stream)) return refuse(cudaErrorInvalidResourceHandle, "the stream is not a live stream");
  exec::Grid grid{name, file, line, g, b, smem, keep.get(), body};
  std::string what = strf("kernel %s<<<(%u,%u,%u), (%u,%u,%u), %zu>>>", name, g.x, g.y, g.z, b.x, b.y, b.z, smem);
  /* kernel arguments use their whole allocation */
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  cudaError_t e;
  CUstream_st *s = stream_of(stream, &e);
  std::vector<Resolved> res;
  for (const rt::Use &u : uses) res.push_back(Resolved{find_alloc(u.p), &u});
  push(s, what, file, line, res, [grid, keep] { exec::run(grid); });
}
} // namespace detail
} // namespace cudasim

using namespace cudasim;

/* ---- the C API ---- */
extern "C" {

const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorUnknown: return "cudaErrorUnknown";
  }
  return "unrecognized error code";
}

const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorUnknown: return "unknown error";
  }
  return "unrecognized error code";
}

cudaError_t cudaGetLastError(void) {
  cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return last_error; }

cudaError_t cudaGetDeviceCount(int *count) {
  int n = st().devices;
  *count = n > 0 ? n : 0;
  return n > 0 ? cudaSuccess : fail(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int device) {
  if (st().devices <= 0) return fail(cudaErrorNoDevice);
  if (device < 0 || device >= st().devices) return fail(cudaErrorInvalidDevice);
  current_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device) {
  if (st().devices <= 0) return fail(cudaErrorNoDevice);
  *device = current_device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int device) {
  if (st().devices <= 0) return fail(cudaErrorNoDevice);
  if (device < 0 || device >= st().devices) return fail(cudaErrorInvalidDevice);
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "cudasim (emulated device, H100 limits)");
  p->totalGlobalMem = st().capacity;
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = st().smem_optin;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 132;
  p->l2CacheSize = 50 * 1024 * 1024;
  /* the same GPU of the same node has the same UUID in every process: the
   * node's name (its host name) and the GPU's index on the node */
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const char *c = host; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
  int phys = st().visible[(size_t)device];
  memcpy(p->uuid.bytes, &h, 8);
  memcpy(p->uuid.bytes + 8, "cusim", 5);
  p->uuid.bytes[13] = (char)(phys >> 16), p->uuid.bytes[14] = (char)(phys >> 8), p->uuid.bytes[15] = (char)phys;
  p->pciBusID = phys + 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device) {
  if (st().devices <= 0) return fail(cudaErrorNoDevice);
  if (device < 0 || device >= st().devices) return fail(cudaErrorInvalidDevice);
  if (!value) return fail(cudaErrorInvalidValue);
  switch (attr) {
    case cudaDevAttrMultiProcessorCount: *value = 132; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = (int)st().smem_optin; return cudaSuccess;
  }
  return fail(cudaErrorInvalidValue);
}

cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, const void *func, int block_size,
                                                          size_t dynamic_smem) {
  State &S = st();
  if (S.devices <= 0) return fail(cudaErrorNoDevice);
  if (!blocks || !func || block_size <= 0 || block_size > 1024) return fail(cudaErrorInvalidValue);
  const size_t allowed = dynamic_smem > ((size_t)48 << 10) ? (size_t)rt::func_max_dynamic_smem(func) : dynamic_smem;
  if (dynamic_smem > allowed || dynamic_smem > S.smem_optin) {
    *blocks = 0;
    return cudaSuccess;
  }
  const size_t per_sm = S.smem_optin + 1024, per_block = dynamic_smem + 1024;
  int by_threads = 2048 / block_size, by_smem = (int)(per_sm / per_block);
  int b = by_threads < by_smem ? by_threads : by_smem;
  *blocks = b < 32 ? b : 32;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
  State &S = st();
  if (S.devices <= 0) return fail(cudaErrorNoDevice);
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  *free_bytes = S.capacity - S.used;
  *total_bytes = S.capacity;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int *v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  for (size_t i = 0; i < S.streams.size(); i++) {
    VC v = S.streams[i]->vc;
    host_wait(v);
  }
  return cudaSuccess;
}

cudaError_t cudasim_Malloc(const char *file, int line, void **p, size_t bytes) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  if (!p) return fail(cudaErrorInvalidValue);
  if (S.devices <= 0) return fail(cudaErrorNoDevice);
  if (bytes == 0) {
    *p = nullptr;
    return cudaSuccess;
  }
  size_t charged = round_up(bytes, 256);
  if (charged > S.capacity - S.used) {
    note("cudaMalloc of %zu bytes at %s: out of memory (%zu of %zu bytes in use; PROPSCORE_CUDASIM_MEM sets the "
         "capacity)",
         bytes, site(file, line).c_str(), S.used, S.capacity);
    *p = nullptr;
    return fail(cudaErrorMemoryAllocation);
  }
  size_t pg = page_size();
  Alloc *a = new Alloc();
  a->id = S.next_alloc++;
  a->pinned = false;
  a->size = bytes;
  a->charged = charged;
  a->data_bytes = round_up(charged, pg);
  a->map_bytes = a->data_bytes + 2 * pg;
  void *m = mmap(nullptr, a->map_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) die("cudaMalloc of %zu bytes at %s: mmap failed: %s", bytes, site(file, line).c_str(), strerror(errno));
  a->map = (char *)m;
  a->data = a->map + pg;
  if (mprotect(a->data, a->data_bytes, PROT_READ | PROT_WRITE) != 0) die("mprotect failed: %s", strerror(errno));
  a->base = a->data + a->data_bytes - charged; /* 256-aligned, its end against the guard page */
  memset(a->data, CANARY, (size_t)(a->base - a->data));
  /* uninitialized device memory: NaN in every float type (beyond 64 MiB only
   * the first and last MiB, so that big buffers cost no host memory untouched) */
  if (bytes <= ((size_t)64 << 20)) {
    memset(a->base, 0xff, bytes);
  } else {
    memset(a->base, 0xff, (size_t)1 << 20);
    memset(a->base + bytes - ((size_t)1 << 20), 0xff, (size_t)1 << 20);
  }
  memset(a->base + bytes, CANARY, charged - bytes);
  if (S.protect && S.exec_depth == 0) mprotect(a->data, a->data_bytes, PROT_NONE);
  a->where = site(file, line);
  S.allocs[(uintptr_t)a->base] = a;
  S.used += charged;
  *p = a->base;
  return cudaSuccess;
}

cudaError_t cudasim_Free(const char *file, int line, void *p) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  if (!p) return cudaSuccess;
  auto it = S.allocs.find((uintptr_t)p);
  if (it == S.allocs.end() || it->second->pinned) {
    Alloc *a = find_alloc(p);
    note("cudaFree at %s of %p: %s", site(file, line).c_str(), p,
         !a ? "not a device allocation" : a->pinned ? "pinned host memory (cudaFreeHost frees it)" : "not the start of its allocation");
    return fail(cudaErrorInvalidValue);
  }
  cudaDeviceSynchronize(); /* cudaFree waits for the device */
  Alloc *a = it->second;
  {
    DeviceScope scope;
    check_canaries(a, nullptr);
  }
  S.allocs.erase(it);
  S.used -= a->charged;
  munmap(a->map, a->map_bytes);
  delete a;
  return cudaSuccess;
}

cudaError_t cudasim_MallocHost(const char *file, int line, void **p, size_t bytes) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  if (!p) return fail(cudaErrorInvalidValue);
  if (S.devices <= 0) return fail(cudaErrorNoDevice);
  void *m = nullptr;
  size_t n = round_up(bytes ? bytes : 1, page_size());
  if (posix_memalign(&m, page_size(), n) != 0) {
    *p = nullptr;
    return fail(cudaErrorMemoryAllocation);
  }
  Alloc *a = new Alloc();
  a->id = S.next_alloc++;
  a->pinned = true;
  a->base = (char *)m;
  a->size = bytes;
  a->charged = 0;
  a->map = a->data = a->base;
  a->map_bytes = a->data_bytes = n;
  a->where = site(file, line);
  S.allocs[(uintptr_t)a->base] = a;
  *p = m;
  return cudaSuccess;
}

cudaError_t cudasim_FreeHost(const char *file, int line, void *p) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  if (!p) return cudaSuccess;
  auto it = S.allocs.find((uintptr_t)p);
  if (it == S.allocs.end() || !it->second->pinned) {
    note("cudaFreeHost at %s of %p: not a cudaMallocHost allocation", site(file, line).c_str(), p);
    return fail(cudaErrorInvalidValue);
  }
  cudaDeviceSynchronize();
  Alloc *a = it->second;
  S.allocs.erase(it);
  free(a->base);
  delete a;
  return cudaSuccess;
}

cudaError_t cudasim_Memcpy(const char *file, int line, void *dst, const void *src, size_t bytes,
                           enum cudaMemcpyKind kind) {
  return memcpy_impl(file, line, dst, src, bytes, kind, nullptr, false);
}
cudaError_t cudasim_MemcpyAsync(const char *file, int line, void *dst, const void *src, size_t bytes,
                                enum cudaMemcpyKind kind, cudaStream_t s) {
  return memcpy_impl(file, line, dst, src, bytes, kind, s, true);
}
cudaError_t cudasim_Memset(const char *file, int line, void *dst, int value, size_t bytes) {
  return memset_impl(file, line, dst, value, bytes, nullptr, false);
}
cudaError_t cudasim_MemsetAsync(const char *file, int line, void *dst, int value, size_t bytes, cudaStream_t s) {
  return memset_impl(file, line, dst, value, bytes, s, true);
}

cudaError_t cudasim_StreamCreateWithFlags(const char *file, int line, cudaStream_t *ps, unsigned int flags) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  if (!ps || (flags & ~1u)) return fail(cudaErrorInvalidValue);
  if (S.devices <= 0) return fail(cudaErrorNoDevice);
  int id = (int)S.streams.size();
  bool nb = flags & cudaStreamNonBlocking;
  CUstream_st *s = new CUstream_st{id, false, nb, false, 0, 0, {}, {},
                                   strf("stream #%d (%s, created at %s)", id, nb ? "non-blocking" : "blocking",
                                        site(file, line).c_str())};
  S.streams.push_back(s);
  S.live.insert(s);
  *ps = s;
  return cudaSuccess;
}
cudaError_t cudasim_StreamCreate(const char *file, int line, cudaStream_t *ps) {
  return cudasim_StreamCreateWithFlags(file, line, ps, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  if (!stream || stream == cudaStreamLegacy || !S.live.count(stream)) return fail(cudaErrorInvalidResourceHandle);
  flush(stream, stream->seq); /* its work still completes */
  stream->destroyed = true;
  S.live.erase(stream);
  return cudaSuccess;
}

cudaError_t cudasim_StreamSynchronize(const char *file, int line, cudaStream_t stream) {
  (void)file;
  (void)line;
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  cudaError_t e;
  CUstream_st *s = stream_of(stream, &e);
  if (!s) return fail(e);
  VC v = s->vc;
  host_wait(v);
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  cudaError_t e;
  CUstream_st *s = stream_of(stream, &e);
  if (!s) return fail(e);
  bool done = true;
  for (size_t t = 0; t < s->vc.size(); t++)
    if (s->vc[t] > S.streams[t]->done) done = false;
  if (!done) { /* the work runs now; the next query sees it done */
    VC v = s->vc;
    for (size_t t = 0; t < v.size(); t++)
      if (v[t] > S.streams[t]->done) flush(S.streams[t], v[t]);
    return cudaErrorNotReady;
  }
  vc_join(S.host, s->vc);
  return cudaSuccess;
}

cudaError_t cudasim_StreamWaitEvent(const char *file, int line, cudaStream_t stream, cudaEvent_t ev,
                                    unsigned int flags) {
  (void)file;
  (void)line;
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  cudaError_t e;
  CUstream_st *s = stream_of(stream, &e);
  if (!s) return fail(e);
  if (!ev || ev->destroyed || flags) return fail(cudaErrorInvalidResourceHandle);
  if (ev->recorded) vc_join(s->vc, ev->vc);
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned int flags) {
  if (!ev || (flags & ~3u)) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::recursive_mutex> lock(st().mu);
  *ev = new CUevent_st{flags, nullptr, 0, {}, false, false, 0.0};
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *ev) { return cudaEventCreateWithFlags(ev, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t ev) {
  std::lock_guard<std::recursive_mutex> lock(st().mu);
  if (!ev || ev->destroyed) return fail(cudaErrorInvalidResourceHandle);
  ev->destroyed = true; /* kept: a queued marker may still point to it */
  return cudaSuccess;
}

cudaError_t cudasim_EventRecord(const char *file, int line, cudaEvent_t ev, cudaStream_t stream) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  cudaError_t e;
  CUstream_st *s = stream_of(stream, &e);
  if (!s) return fail(e);
  if (!ev || ev->destroyed) return fail(cudaErrorInvalidResourceHandle);
  ev->t = -1;
  OpRef op = push(s, "cudaEventRecord", file, line, {}, [ev] { ev->t = now(); });
  ev->stream = s;
  ev->seq = op->seq;
  ev->vc = s->vc;
  ev->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t ev) {
  std::lock_guard<std::recursive_mutex> lock(st().mu);
  if (!ev || ev->destroyed) return fail(cudaErrorInvalidResourceHandle);
  if (!ev->recorded) return cudaSuccess;
  VC v = ev->vc;
  host_wait(v);
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t ev) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  if (!ev || ev->destroyed) return fail(cudaErrorInvalidResourceHandle);
  if (!ev->recorded) return cudaSuccess;
  if (ev->stream->done < ev->seq) {
    VC v = ev->vc;
    for (size_t t = 0; t < v.size(); t++)
      if (v[t] > S.streams[t]->done) flush(S.streams[t], v[t]);
    return cudaErrorNotReady;
  }
  vc_join(S.host, ev->vc);
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
  std::lock_guard<std::recursive_mutex> lock(st().mu);
  if (!ms || !a || !b || a->destroyed || b->destroyed) return fail(cudaErrorInvalidResourceHandle);
  if (!a->recorded || !b->recorded || (a->flags & cudaEventDisableTiming) || (b->flags & cudaEventDisableTiming))
    return fail(cudaErrorInvalidResourceHandle);
  if (a->t < 0 || b->t < 0) return fail(cudaErrorNotReady);
  *ms = (float)((b->t - a->t) * 1e3);
  return cudaSuccess;
}

cudaError_t cudasim_FuncSetAttribute(const char *file, int line, const void *func, enum cudaFuncAttribute attr,
                                     int value) {
  State &S = st();
  std::lock_guard<std::recursive_mutex> lock(S.mu);
  if (!func) return fail(cudaErrorInvalidDeviceFunction);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || (size_t)value > S.smem_optin) {
      note("cudaFuncSetAttribute at %s: MaxDynamicSharedMemorySize %d; at most %zu (the opt-in limit)",
           site(file, line).c_str(), value, S.smem_optin);
      return fail(cudaErrorInvalidValue);
    }
    S.func_smem[func] = value;
    return cudaSuccess;
  }
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout) return value >= -1 && value <= 100 ? cudaSuccess : fail(cudaErrorInvalidValue);
  return fail(cudaErrorInvalidValue);
}

} // extern "C"
