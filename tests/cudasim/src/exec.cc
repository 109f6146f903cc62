/* exec.cc: how the emulated device runs a kernel grid. The blocks run one
 * after another. A block's warps are real OS threads (a persistent pool),
 * so warps race as they do on a GPU and ThreadSanitizer sees their shared
 * memory accesses; the 32 lanes of a warp are fibers on their warp's
 * thread, switched only at warp-level sync points (shuffles, votes,
 * __syncwarp, __syncthreads, exit), as a warp's lanes advance together.
 *
 * Checked, with a message naming the kernel, launch site, block, warp and
 * lanes, then abort:
 *   - a warp shuffle/vote/__syncwarp whose mask names a lane that exited,
 *     does not exist (partial warp) or waits at __syncthreads, or that reads
 *     a lane outside the mask; a warp whose lanes can no longer all proceed
 *     (deadlock: e.g. lanes of one mask at different kinds of operation);
 *   - warps meeting at different __syncthreads calls;
 *   - dynamic shared memory: poisoned with 0xff bytes (NaN) before each
 *     block, 64 KiB of guard pages after its end (an access there faults),
 *     canary bytes before it and in the slack, checked after each block;
 *   - a lane overflowing its fiber stack (guard page).
 * PROPSCORE_CUDASIM_SCHEDULE=random[:seed] runs the ready lanes of a warp
 * in a shuffled order instead of lane order.
 *
 * Under ThreadSanitizer (a -DPROPSCORE_TSAN=ON build) every lane is a TSan
 * fiber and this file itself is not instrumented (cudasim.cmake): TSan sees
 * the kernels' memory accesses, and the happens-before edges are exactly
 * CUDA's: the launch before the grid, the end of a block before the next
 * block on the same resources, __syncthreads among the block, __syncwarp
 * among its mask, the end of the grid before the host. A shuffle or vote
 * orders no memory (as in CUDA), so a missing barrier or __syncwarp between
 * a shared-memory write and another lane's read is reported as a data race. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "cudasim.h"
#include "internal.h"

/* ThreadSanitizer's fiber and synchronization interface, when the program
 * is linked with it (weak: null otherwise) */
extern "C" {
void *__tsan_get_current_fiber(void) __attribute__((weak));
void *__tsan_create_fiber(unsigned flags) __attribute__((weak));
void __tsan_switch_to_fiber(void *fiber, unsigned flags) __attribute__((weak));
void __tsan_set_fiber_name(void *fiber, const char *name) __attribute__((weak));
void __tsan_acquire(void *addr) __attribute__((weak));
void __tsan_release(void *addr) __attribute__((weak));
}

__thread uint3 threadIdx;
__thread uint3 blockIdx;
__thread dim3 blockDim;
__thread dim3 gridDim;

namespace cudasim {
namespace exec {
namespace {

using detail::WarpKind;

const char *kind_name(int k) {
  switch (k) {
    case detail::SHFL_IDX: return "__shfl_sync";
    case detail::SHFL_UP: return "__shfl_up_sync";
    case detail::SHFL_DOWN: return "__shfl_down_sync";
    case detail::SHFL_XOR: return "__shfl_xor_sync";
    case detail::BALLOT: return "__ballot_sync";
    case detail::ANY: return "__any_sync";
    case detail::ALL: return "__all_sync";
    case detail::SYNCWARP: return "__syncwarp";
  }
  return "?";
}

std::string lanes_str(unsigned m) {
  std::string s;
  for (int i = 0; i < 32;) {
    if (!(m >> i & 1)) {
      i++;
      continue;
    }
    int j = i;
    while (j + 1 < 32 && (m >> (j + 1) & 1)) j++;
    if (!s.empty()) s += ",";
    s += j > i ? strf("%d-%d", i, j) : strf("%d", i);
    i = j + 1;
  }
  return s.empty() ? "none" : s;
}

/* "lane 3 waits" / "lanes 0-2 wait" */
std::string lanes_wait(unsigned m) {
  bool one = m && !(m & (m - 1));
  return strf("%s %s %s", one ? "lane" : "lanes", lanes_str(m).c_str(), one ? "waits" : "wait");
}

enum LaneState { READY, AT_BARRIER, AT_WARP, EXITED };

struct WarpOp {
  bool active;
  int kind;
  unsigned mask, arrived;
  const char *file;
  int line;
  uint64_t val[32];
  int arg[32], width[32];
};

struct Warp;
struct Lane {
  int lane;
  Warp *w;
  LaneState st;
  uint3 tid;
  const char *file; /* where it waits */
  int line;
  uint64_t result;
  const WarpOp *op; /* the one it waits at */
  fiber::Context ctx;
  char *stack_map; /* [guard page][stack] */
  size_t stack_bytes;
  void *tsan;
};

struct Warp {
  int index;
  std::thread th;
  std::mutex m; /* job hand-off */
  std::condition_variable cv;
  uint64_t job = 0;
  const Grid *grid = nullptr;
  int nlanes = 0;
  unsigned exited = 0;
  unsigned at_barrier = 0; /* lanes waiting at __syncthreads */
  unsigned ops_active = 0; /* slots of ops[] in use */
  WarpOp ops[32];
  Lane lanes[32];
  bool lanes_made[32] = {};
  fiber::Context sched;
  void *tsan_sched = nullptr;
  std::mt19937 rng;
  char syncwarp_hb; /* ThreadSanitizer sync object of __syncwarp */
};

/* Among the warps of a block (OS threads): __syncthreads, and the end of a block. */
struct Barrier {
  std::mutex m;
  std::condition_variable cv;
  int expected = 0, arrived = 0;
  uint64_t gen = 0;
  const char *file = nullptr;
  int line = 0, first = 0;
};

struct Pool {
  std::mutex run_mu; /* one grid at a time */
  std::mutex m;
  std::condition_variable done_cv;
  int running = 0;
  std::vector<Warp *> warps;
  const Grid *grid = nullptr;
  int nwarps = 0;
  unsigned long long nblocks = 0;
  Barrier sync, end;
  /* dynamic shared memory: [front canary ... | block's bytes | slack canary][guard page] */
  char *smem_map = nullptr, *smem_guard = nullptr, *smem_base = nullptr;
  size_t smem_map_bytes = 0, smem = 0;
  bool random_order = false;
  char block_hb, bar_hb; /* ThreadSanitizer sync objects: block boundaries, __syncthreads */
  unsigned seed = 1;
  size_t stack_bytes = 0;
} pool;

const unsigned char CANARY = 0xa5;
const size_t SMEM_MAX = 227 * 1024, FRONT_CHECK = 4096, GUARD = 64 * 1024;

__thread Lane *cur_lane = nullptr;
__thread Warp *cur_warp = nullptr;

bool tsan() { return __tsan_switch_to_fiber != nullptr; }
/* happens-before for ThreadSanitizer: a release on addr by one fiber, an acquire by another */
void hb_release(void *addr) {
  if (__tsan_release) __tsan_release(addr);
}
void hb_acquire(void *addr) {
  if (__tsan_acquire) __tsan_acquire(addr);
}
const unsigned TSAN_NO_SYNC = 1; /* __tsan_switch_to_fiber_no_sync */

size_t page_size() { return (size_t)sysconf(_SC_PAGESIZE); }

std::string where_str() {
  const Grid *g = pool.grid;
  Lane *L = cur_lane;
  if (!g || !L) return "outside a kernel";
  return strf("kernel %s (launched at %s), block (%u,%u,%u), warp %d", g->name, site(g->file, g->line).c_str(),
              blockIdx.x, blockIdx.y, blockIdx.z, L->w->index);
}

void tsan_switch(void *to) {
  if (tsan()) __tsan_switch_to_fiber(to, TSAN_NO_SYNC);
}

void yield(Lane *L) {
  Warp *w = L->w;
  tsan_switch(w->tsan_sched);
  fiber::swap(&L->ctx, &w->sched);
}

void lane_exit(Lane *L);

void lane_entry(void *p) {
  Lane *L = (Lane *)p;
  for (;;) {
    const Grid *g = L->w->grid;
    hb_acquire(&pool.block_hb); /* after the launch and the blocks before */
    g->body(g->args);
    lane_exit(L);
    hb_release(&pool.block_hb);
    yield(L);
  }
}

void make_lane(Warp *w, int i) {
  Lane *L = &w->lanes[i];
  size_t pg = page_size();
  L->lane = i;
  L->w = w;
  L->stack_bytes = pool.stack_bytes;
  void *m = mmap(nullptr, L->stack_bytes + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) die("cannot map a %zu-byte lane stack: %s", L->stack_bytes, strerror(errno));
  L->stack_map = (char *)m;
  mprotect(L->stack_map, pg, PROT_NONE);
  fiber::make(&L->ctx, L->stack_map + pg, L->stack_bytes, lane_entry, L);
  if (tsan()) {
    L->tsan = __tsan_create_fiber(0);
    __tsan_set_fiber_name(L->tsan, "cudasim lane");
  }
  w->lanes_made[i] = true;
}

void run_lane(Warp *w, Lane *L) {
  cur_lane = L;
  threadIdx = L->tid;
  tsan_switch(L->tsan);
  fiber::swap(&w->sched, &L->ctx);
  cur_lane = nullptr;
}

[[noreturn]] void lane_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lane_die(const char *fmt, ...) {
  char buf[3000];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  die("%s: %s", where_str().c_str(), buf);
}

/* Lanes whose warp operation still waits for lane L, which is going
 * elsewhere (`doing`: "returned from the kernel", "reached __syncthreads (at)"). */
void check_nobody_waits(Warp *w, Lane *L, const std::string &doing) {
  unsigned bit = 1u << L->lane;
  for (unsigned m = w->ops_active; m; m &= m - 1) {
    WarpOp &o = w->ops[__builtin_ctz(m)];
    if ((o.mask & bit) && !(o.arrived & bit))
      lane_die("lane %d %s while %s for it at %s (%s, mask 0x%08x)", L->lane, doing.c_str(),
               lanes_wait(o.arrived).c_str(), kind_name(o.kind), site(o.file, o.line).c_str(), o.mask);
  }
}

void lane_exit(Lane *L) {
  Warp *w = L->w;
  check_nobody_waits(w, L, "exited (returned from the kernel)");
  L->st = EXITED;
  w->exited |= 1u << L->lane;
}

void compute(Warp *w, WarpOp &o) {
  unsigned ballot = 0;
  if (o.kind >= detail::BALLOT)
    for (unsigned m = o.mask; m; m &= m - 1)
      if (o.val[__builtin_ctz(m)]) ballot |= 1u << __builtin_ctz(m);
  for (unsigned m = o.mask; m; m &= m - 1) {
    int lane = __builtin_ctz(m);
    uint64_t r = 0;
    switch (o.kind) {
      case detail::SHFL_IDX:
      case detail::SHFL_UP:
      case detail::SHFL_DOWN:
      case detail::SHFL_XOR: { /* PTX shfl.sync: segments of `width` lanes, clamped at their ends */
        int b = o.arg[lane] & 31, seg = (32 - o.width[lane]) & 31, cval = o.kind == detail::SHFL_UP ? 0 : 31;
        int maxl = (lane & seg) | (cval & ~seg), minl = lane & seg, j = lane;
        bool ok = false;
        if (o.kind == detail::SHFL_UP) { j = lane - b; ok = j >= maxl; }
        else if (o.kind == detail::SHFL_DOWN) { j = lane + b; ok = j <= maxl; }
        else if (o.kind == detail::SHFL_XOR) { j = lane ^ b; ok = j <= maxl; }
        else { j = minl | (b & ~seg & 31); ok = j <= maxl; }
        if (!ok) j = lane;
        if (!(o.mask >> j & 1))
          lane_die("lane %d reads lane %d at %s (%s), a lane outside the mask 0x%08x: its value is undefined", lane, j,
                   kind_name(o.kind), site(o.file, o.line).c_str(), o.mask);
        r = o.val[j];
        break;
      }
      case detail::BALLOT: r = ballot; break;
      case detail::ANY: r = ballot != 0; break;
      case detail::ALL: r = ballot == o.mask; break;
      default: r = 0; break;
    }
    Lane &L = w->lanes[lane];
    L.result = r;
    if (L.st == AT_WARP) L.st = READY;
  }
  o.active = false;
  w->ops_active &= ~(1u << (&o - w->ops));
}

void describe_lanes(Warp *w, std::string *out) {
  for (int i = 0; i < w->nlanes; i++) {
    Lane &L = w->lanes[i];
    unsigned same = 0;
    for (int j = 0; j < w->nlanes; j++) {
      Lane &M = w->lanes[j];
      if (M.st == L.st && M.file == L.file && M.line == L.line) same |= 1u << j;
    }
    if ((same & ((1u << i) - 1)) != 0) continue; /* described with a lower lane */
    std::string what;
    if (L.st == EXITED) what = "exited";
    else if (L.st == AT_BARRIER) what = "wait at __syncthreads (" + site(L.file, L.line) + ")";
    else if (L.st == AT_WARP)
      what = strf("wait at %s (%s, mask 0x%08x)", kind_name(L.op->kind), site(L.file, L.line).c_str(), L.op->mask);
    else
      what = "ready";
    *out += strf("\n  lanes %s: %s", lanes_str(same).c_str(), what.c_str());
  }
}

void block_sync(Warp *w, const char *file, int line) {
  Barrier &b = pool.sync;
  std::unique_lock<std::mutex> l(b.m);
  if (b.arrived == 0) {
    b.file = file;
    b.line = line;
    b.first = w->index;
  } else if (b.line != line || strcmp(b.file, file) != 0) {
    l.unlock();
    die("kernel %s (launched at %s), block (%u,%u,%u): warp %d waits at __syncthreads (%s) while warp %d waits at "
        "another __syncthreads (%s): a barrier in divergent code",
        pool.grid->name, site(pool.grid->file, pool.grid->line).c_str(), blockIdx.x, blockIdx.y, blockIdx.z, w->index,
        site(file, line).c_str(), b.first, site(b.file, b.line).c_str());
  }
  if (++b.arrived == b.expected) {
    b.arrived = 0;
    b.gen++;
    b.cv.notify_all();
  } else {
    uint64_t g = b.gen;
    b.cv.wait(l, [&] { return b.gen != g; });
  }
}

void block_leave() {
  Barrier &b = pool.sync;
  std::lock_guard<std::mutex> l(b.m);
  b.expected--;
  if (b.arrived > 0 && b.arrived == b.expected) {
    b.arrived = 0;
    b.gen++;
    b.cv.notify_all();
  }
}

void prepare_shared() {
  size_t front = (size_t)(pool.smem_base - pool.smem_map);
  memset(pool.smem_map + (front > FRONT_CHECK ? front - FRONT_CHECK : 0), CANARY, front > FRONT_CHECK ? FRONT_CHECK : front);
  memset(pool.smem_base, 0xff, pool.smem);
  memset(pool.smem_base + pool.smem, CANARY, (size_t)(pool.smem_guard - pool.smem_base) - pool.smem);
}

void check_shared() {
  const char *base = pool.smem_base;
  size_t front = (size_t)(base - pool.smem_map), n = front > FRONT_CHECK ? FRONT_CHECK : front;
  for (const char *p = base - n; p < base; p++)
    if ((unsigned char)*p != CANARY)
      die("kernel %s (launched at %s), block (%u,%u,%u): wrote %td bytes before the start of its dynamic shared memory",
          pool.grid->name, site(pool.grid->file, pool.grid->line).c_str(), blockIdx.x, blockIdx.y, blockIdx.z, base - p);
  for (const char *p = base + pool.smem; p < pool.smem_guard; p++)
    if ((unsigned char)*p != CANARY)
      die("kernel %s (launched at %s), block (%u,%u,%u): wrote byte %td of dynamic shared memory, past the %zu bytes the "
          "launch gave",
          pool.grid->name, site(pool.grid->file, pool.grid->line).c_str(), blockIdx.x, blockIdx.y, blockIdx.z, p - base,
          pool.smem);
}

void block_end(Warp *w, bool last_block) {
  (void)w;
  Barrier &e = pool.end;
  std::unique_lock<std::mutex> l(e.m);
  if (++e.arrived == e.expected) {
    hb_acquire(&pool.block_hb); /* the block's lanes, done */
    check_shared();
    if (!last_block) prepare_shared();
    hb_release(&pool.block_hb); /* the poison before the next block */
    pool.sync.expected = pool.nwarps;
    pool.sync.arrived = 0;
    e.arrived = 0;
    e.gen++;
    e.cv.notify_all();
  } else {
    uint64_t g = e.gen;
    e.cv.wait(l, [&] { return e.gen != g; });
  }
}

/* The lanes of warp w through one block. */
void run_block(Warp *w) {
  const Grid *g = w->grid;
  unsigned bx = g->block.x, by = g->block.y;
  w->exited = 0;
  w->at_barrier = 0;
  for (WarpOp &o : w->ops) o.active = false;
  w->ops_active = 0;
  for (int i = 0; i < w->nlanes; i++) {
    Lane &L = w->lanes[i];
    unsigned t = (unsigned)(w->index * 32 + i);
    L.tid = uint3{t % bx, (t / bx) % by, t / (bx * by)};
    L.st = READY;
    L.file = nullptr;
    L.line = 0;
  }
  int order[32];
  for (int i = 0; i < 32; i++) order[i] = i;
  for (;;) {
    bool ran = false;
    if (pool.random_order) std::shuffle(order, order + w->nlanes, w->rng);
    for (int k = 0; k < w->nlanes; k++) {
      Lane &L = w->lanes[order[k]];
      if (L.st != READY) continue;
      run_lane(w, &L);
      ran = true;
    }
    if (ran) continue;
    int alive = 0, at_barrier = 0;
    const Lane *first = nullptr;
    bool same_site = true;
    for (int i = 0; i < w->nlanes; i++) {
      Lane &L = w->lanes[i];
      if (L.st == EXITED) continue;
      alive++;
      if (L.st != AT_BARRIER) continue;
      at_barrier++;
      if (!first) first = &L;
      else if (L.line != first->line || strcmp(L.file, first->file) != 0) same_site = false;
    }
    if (alive == 0) break;
    if (at_barrier == alive && same_site) {
      block_sync(w, first->file, first->line);
      for (int i = 0; i < w->nlanes; i++)
        if (w->lanes[i].st == AT_BARRIER) w->lanes[i].st = READY;
      w->at_barrier = 0;
      continue;
    }
    std::string d;
    describe_lanes(w, &d);
    die("kernel %s (launched at %s), block (%u,%u,%u), warp %d: its lanes cannot proceed (%s):%s", g->name,
        site(g->file, g->line).c_str(), blockIdx.x, blockIdx.y, blockIdx.z, w->index,
        at_barrier == alive ? "they wait at different __syncthreads" : "deadlock", d.c_str());
  }
  block_leave();
}

void run_warp(Warp *w) {
  const Grid *g = pool.grid;
  w->grid = g;
  unsigned threads = g->block.x * g->block.y * g->block.z;
  w->nlanes = (int)(threads - (unsigned)w->index * 32 < 32 ? threads - (unsigned)w->index * 32 : 32);
  for (int i = 0; i < w->nlanes; i++)
    if (!w->lanes_made[i]) make_lane(w, i);
  blockDim = g->block;
  gridDim = g->grid;
  cur_warp = w;
  unsigned long long gx = g->grid.x, gy = g->grid.y;
  for (unsigned long long b = 0; b < pool.nblocks; b++) {
    blockIdx = uint3{(unsigned)(b % gx), (unsigned)((b / gx) % gy), (unsigned)(b / (gx * gy))};
    if (pool.random_order) w->rng.seed(pool.seed * 2654435761u + (unsigned)b * 40503u + (unsigned)w->index);
    run_block(w);
    block_end(w, b + 1 == pool.nblocks);
  }
  cur_warp = nullptr;
}

void warp_main(Warp *w) {
  alt_stack();
  if (tsan()) w->tsan_sched = __tsan_get_current_fiber();
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(w->m);
      w->cv.wait(l, [&] { return w->job != seen; });
      seen = w->job;
    }
    run_warp(w);
    std::lock_guard<std::mutex> l(pool.m);
    if (--pool.running == 0) pool.done_cv.notify_one();
  }
}

void init_pool() {
  if (pool.smem_map) return;
  size_t pg = page_size();
  size_t data = (SMEM_MAX + FRONT_CHECK + pg - 1) / pg * pg;
  pool.smem_map_bytes = data + GUARD;
  void *m = mmap(nullptr, pool.smem_map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) die("cannot map shared memory: %s", strerror(errno));
  pool.smem_map = (char *)m;
  pool.smem_guard = pool.smem_map + data;
  mprotect(pool.smem_guard, GUARD, PROT_NONE);
  const char *sch = getenv("PROPSCORE_CUDASIM_SCHEDULE");
  if (sch && !strncmp(sch, "random", 6)) {
    pool.random_order = true;
    if (sch[6] == ':') pool.seed = (unsigned)strtoul(sch + 7, nullptr, 10);
  } else if (sch && *sch && strcmp(sch, "order") != 0) {
    die("PROPSCORE_CUDASIM_SCHEDULE=%s: expected order, random or random:SEED", sch);
  }
  pool.stack_bytes = env_size("PROPSCORE_CUDASIM_STACK", tsan() ? (size_t)1 << 20 : (size_t)256 << 10);
  pool.stack_bytes = (pool.stack_bytes + pg - 1) / pg * pg;
}

} // namespace

void run(const Grid &g) {
  std::lock_guard<std::mutex> run_lock(pool.run_mu);
  init_pool();
  unsigned threads = g.block.x * g.block.y * g.block.z;
  int nwarps = (int)((threads + 31) / 32);
  pool.grid = &g;
  pool.nwarps = nwarps;
  pool.nblocks = (unsigned long long)g.grid.x * g.grid.y * g.grid.z;
  pool.smem = g.smem;
  pool.smem_base = pool.smem_guard - (g.smem + 15) / 16 * 16;
  pool.sync.expected = nwarps;
  pool.sync.arrived = 0;
  pool.end.expected = nwarps;
  pool.end.arrived = 0;
  prepare_shared();
  while ((int)pool.warps.size() < nwarps) {
    Warp *w = new Warp();
    w->index = (int)pool.warps.size();
    pool.warps.push_back(w);
    w->th = std::thread(warp_main, w);
    w->th.detach();
  }
  {
    std::lock_guard<std::mutex> l(pool.m);
    pool.running = nwarps;
  }
  hb_release(&pool.block_hb); /* what the host did before the launch */
  for (int i = 0; i < nwarps; i++) {
    Warp *w = pool.warps[(size_t)i];
    std::lock_guard<std::mutex> l(w->m);
    w->job++;
    w->cv.notify_one();
  }
  std::unique_lock<std::mutex> l(pool.m);
  pool.done_cv.wait(l, [] { return pool.running == 0; });
  pool.grid = nullptr;
  hb_acquire(&pool.block_hb); /* the grid before what the host does next */
}

bool describe_fault(const void *addr, char *out, size_t n) {
  const char *a = (const char *)addr;
  size_t pg = page_size();
  Lane *L = cur_lane;
  char ctx[600], at[256];
  ctx[0] = 0;
  if (L && pool.grid) {
    site_to(at, sizeof at, pool.grid->file, pool.grid->line);
    snprintf(ctx, sizeof ctx, "kernel %s (launched at %s), block (%u,%u,%u), thread (%u,%u,%u)", pool.grid->name, at,
             blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z);
  }
  if (pool.smem_guard && a >= pool.smem_guard && a < pool.smem_guard + GUARD) {
    snprintf(out, n, "%s: accessed byte %td of dynamic shared memory, past the %zu bytes the launch gave",
             L ? ctx : "host code", a - pool.smem_base, pool.smem);
    return true;
  }
  Warp *w = cur_warp;
  if (w)
    for (int i = 0; i < 32; i++)
      if (w->lanes_made[i] && a >= w->lanes[i].stack_map && a < w->lanes[i].stack_map + pg) {
        snprintf(out, n, "%s: overflowed its %zu-byte stack (PROPSCORE_CUDASIM_STACK sets it)", ctx, pool.stack_bytes);
        return true;
      }
  snprintf(out, n, "%s", ctx);
  return false;
}

void alt_stack() {
  size_t n = 64 * 1024;
  stack_t ss;
  ss.ss_sp = malloc(n);
  ss.ss_size = n;
  ss.ss_flags = 0;
  if (ss.ss_sp) sigaltstack(&ss, nullptr);
}

} // namespace exec

/* ---- the device intrinsics of cudasim.h ---- */
namespace detail {
using namespace exec;

uint64_t warp_op(const char *file, int line, int kind, unsigned mask, uint64_t value, int arg, int width) {
  Lane *L = cur_lane;
  if (!L) die("%s at %s called outside a kernel", kind_name(kind), site(file, line).c_str());
  Warp *w = L->w;
  unsigned bit = 1u << L->lane;
  unsigned exist = w->nlanes == 32 ? 0xffffffffu : (1u << w->nlanes) - 1;
  const char *name = kind_name(kind);
  if (!(mask & bit))
    lane_die("lane %d calls %s (%s) with mask 0x%08x, which leaves out the lane itself", L->lane, name, site(file, line).c_str(), mask);
  if (mask & ~exist)
    lane_die("lane %d calls %s (%s) with mask 0x%08x, but lanes %s do not exist: the warp has %d lanes (blockDim "
             "%u x %u x %u)",
             L->lane, name, site(file, line).c_str(), mask, lanes_str(mask & ~exist).c_str(), w->nlanes, blockDim.x, blockDim.y,
             blockDim.z);
  if (mask & w->exited)
    lane_die("lane %d calls %s (%s) with mask 0x%08x, but lanes %s exited before reaching it", L->lane, name, site(file, line).c_str(),
             mask, lanes_str(mask & w->exited).c_str());
  if (kind <= detail::SHFL_XOR && (width < 1 || width > 32 || (width & (width - 1))))
    lane_die("lane %d calls %s (%s) with width %d: a power of 2 up to 32 is needed", L->lane, name, site(file, line).c_str(), width);
  if (mask & w->at_barrier) {
    int j = __builtin_ctz(mask & w->at_barrier);
    lane_die("lane %d waits at %s (%s, mask 0x%08x) for lane %d, which waits at __syncthreads (%s)", L->lane, name,
             site(file, line).c_str(), mask, j, site(w->lanes[j].file, w->lanes[j].line).c_str());
  }
  /* the lanes of the mask meet at an operation of the same kind and mask
   * (PTX: "the same qualifiers and the same membermask"); lanes of other
   * masks may be at other operations meanwhile */
  WarpOp *o = nullptr;
  for (unsigned m = w->ops_active; m; m &= m - 1) {
    WarpOp &x = w->ops[__builtin_ctz(m)];
    if (x.mask == mask && x.kind == kind) o = &x;
  }
  if (!o) {
    o = &w->ops[__builtin_ctz(~w->ops_active)];
    w->ops_active |= 1u << (o - w->ops);
    o->active = true;
    o->kind = kind;
    o->mask = mask;
    o->arrived = 0;
    o->file = file;
    o->line = line;
  }
  if (kind == detail::SYNCWARP) hb_release(&w->syncwarp_hb);
  o->arrived |= bit;
  o->val[L->lane] = value;
  o->arg[L->lane] = arg;
  o->width[L->lane] = width;
  L->file = file;
  L->line = line;
  if (o->arrived == o->mask) {
    compute(w, *o);
  } else {
    L->st = AT_WARP;
    L->op = o;
    yield(L);
  }
  if (kind == detail::SYNCWARP) hb_acquire(&w->syncwarp_hb);
  return L->result;
}

void syncthreads(const char *file, int line) {
  Lane *L = cur_lane;
  if (!L) die("__syncthreads at %s called outside a kernel", site(file, line).c_str());
  check_nobody_waits(L->w, L, "reached __syncthreads (" + site(file, line) + ")");
  L->w->at_barrier |= 1u << L->lane;
  L->st = AT_BARRIER;
  L->file = file;
  L->line = line;
  hb_release(&pool.bar_hb);
  yield(L);
  hb_acquire(&pool.bar_hb);
}

unsigned active_mask() {
  Lane *L = cur_lane;
  if (!L) die("__activemask called outside a kernel");
  unsigned exist = L->w->nlanes == 32 ? 0xffffffffu : (1u << L->w->nlanes) - 1;
  return exist & ~L->w->exited;
}

void *dynamic_shared_base() {
  if (!cur_lane) die("extern __shared__ memory used outside a kernel (cudasim needs extern __shared__ arrays declared inside the kernel)");
  return pool.smem_base;
}
} // namespace detail
} // namespace cudasim
