/* predict_heads.cu: every head's forest over raw float rows, each row read
 * from HBM once (issue 28; twin: predict_cpu.c -- per head the same double
 * additions in tree order, so its bits). A block of R threads takes
 * tiles of R rows (grid-stride; R = 512, or 256, 128, 64 for rows too wide
 * for a 512-row tile: ps_gbdt_predict_heads_rows); thread r turns row r into
 * order-preserving uint32 keys (row_key(): NaN the largest) in a
 * transposed tile [feature][R rows], so each lane reads its own bank;
 * then for each head it walks row r through that head's trees, in batches
 * that fit T_BYTES of shared memory: a batch is one blob of 16-byte
 * records (plan_create packs it); the pairs' tree bases and the batch and
 * head tables are the kernel's parameters (ph_forests_t, < 4 KiB).
 *
 * Super nodes (issue 28, branch gpupred3): a node n absorbs one child c that
 * is a node (the one that leaves the fewest super steps below, super_cost),
 * so one step decides two levels: the record {xn, wn, xc, wc} holds n's and
 * c's threshold key + default bit (x) and w = default bit << 31 | flip <<
 * 30 | feature * 2048 | (wn only) the byte offset of n's slot group in its
 * tree; the group is [n's other child, c's left, c's right] ([n's left, n's
 * right] when n absorbs none: xc 0xffffffff, never right), each slot a record;
 * a leaf's record has the child field and features 0 and its value in xn,
 * xc. A step is branch-free: both keys read (row * 4 | (w & feature field)
 * / (512 / R): a shift at R < 512 only; a lane at its leaf reads feature 0's),
 * toward c iff (key + d > x) xor flip (flip: c is n's left child; one
 * ISETP.GT.U32.XOR), c's decision ANDed in, the slot the group + 16 toward c
 * + 16 if c goes right, read at the tree's base in a uniform register
 * (LDS.128 [slot + UR]) unless the lane is at its leaf. Two trees are walked
 * at once (two chains a thread), PH_FIRST super steps each, then a step at a
 * time until a warp vote (__any_sync) finds one with every lane at its leaf,
 * then the other alone until it has too (a warp walks as deep as its deepest
 * row); their leaves are added in tree order. The decision is leaf_raw's
 * (predict_cpu.c): key + d > threshold key + d, in toward_c and step. */
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "common/cuda_check.h"
#include "common/device_limits.h"
#include "common/launch.h"
#include "gbdt/predict_heads.h"

struct __align__(16) ph_rec_t { /* 16 bytes, LDS.128: a super node or a leaf (predict_heads.h) */
  uint32_t xn, wn, xc, wc;
};

struct __align__(16) ph_f4_t { /* 4 row values, one 16-byte load */
  float x, y, z, w;
};

constexpr int PH_HEADS = 32, PH_BATCHES = 48, PH_PAIRS = 640; /* the plan's tables in the kernel's parameters (< 4 KiB) */

struct ph_batch_t {
  int32_t p0, p1;    /* its pairs of trees [p0, p1) of the plan's pair table */
  int32_t word, n;   /* the blob's 16-byte records [word, word + n) */
};

/* The kernel's view of a plan, passed by value: its tables are kernel parameters, so a
 * warp reads a pair's tree bases into uniform registers (ULDC) and a record load is
 * LDS.128 [rel + base] with no per-step add. */
struct ph_forests_t {
  int32_t k, pairs;
  const ph_rec_t *blob;                /* every batch's records (device) */
  int32_t head_batch[PH_HEADS + 1];    /* head h's batches [head_batch[h], head_batch[h+1]) */
  ph_batch_t batch[PH_BATCHES];
  uint16_t base[2 * PH_PAIRS];         /* the pair's two trees' roots, in 16-byte records from the batch's start */
};
static_assert(sizeof(ph_forests_t) + 64 <= 4096, "the kernel's parameters: 4 KiB (with X, n, f, z, ldz)");

struct ps_gbdt_predict_plan {
  ph_forests_t fo;
  void *dev; /* the device records behind fo.blob */
};

namespace {

constexpr int R_MAX = 512;         /* rows a tile at most, one a thread (R: the key tile's row stride R * 4 B) */
constexpr int R_MIN = 64;          /* the fewest (2 warps an SM): wider rows take the head-at-a-time kernels */
constexpr int T_BYTES = 96 << 10;  /* a batch of trees' shared memory; the key tile follows */
constexpr int PH_FIRST = 4;       /* super steps of both trees of a pair before the first vote */
constexpr uint32_t REL = 0x7f0u;   /* wn's child field: the byte offset of the node's slot group in its tree, 0: a leaf */
constexpr uint32_t FLIP = 0x40000000u; /* wn's bit: the absorbed child c is n's LEFT child */
constexpr uint32_t FEAT = 0x3ffff800u; /* w's feature field: feature * R_MAX * 4, features < 2^19 */

/* Order-preserving key of a row value or threshold: u <= v as floats iff
 * key(u) <= key(v); -0 and +0 one key, NaN above +inf (0xff800000). */
__host__ __device__ __forceinline__ uint32_t key(float v) {
  if (v != v) return 0xffffffffu;
  v = v + 0.0f; /* -0 -> +0 */
  uint32_t u;
  memcpy(&u, &v, 4);
  return u ^ ((uint32_t)((int32_t)u >> 31) | 0x80000000u);
}

/* A row value's key as staged: key() without making -0 +0 (one FADD a value
 * less). Both zeros still decide alike: thresholds are keys of +0 for -0, so
 * no threshold key lies between key(-0) = 0x7fffffff and key(+0) = 0x80000000. */
__device__ __forceinline__ uint32_t row_key(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  const uint32_t k = u ^ ((uint32_t)((int32_t)u >> 31) | 0x80000000u);
  return v != v ? 0xffffffffu : k;
}

/* The one decision (predict_cpu.c's leaf_raw): right iff key + d > threshold key + d, d the
 * default bit (bit 31 of w); toward c when that differs from the record's flip bit. */
__device__ __forceinline__ bool toward_c(uint32_t k, const ph_rec_t &e) {
#if defined(__CUDA_ARCH__)
  uint32_t r; /* one ISETP.GT.U32.XOR on the flip bit's predicate (nvcc would extract the bit to a register) */
  asm("{ .reg .pred f, g; .reg .b32 t; and.b32 t, %1, 0x40000000; setp.ne.u32 f, t, 0;"
      " setp.gt.xor.u32 g, %2, %3, f; selp.u32 %0, 1, 0, g; }"
      : "=r"(r) : "r"(e.wn), "r"(k + (e.wn >> 31)), "r"(e.xn));
  return r != 0;
#else
  return (k + (e.wn >> 31) > e.xn) != ((e.wn & FLIP) != 0);
#endif
}

/* One super step of a chain, branch-free (predicated): while the record e is a super node
 * (its child field is not 0) read the row's keys of n's and c's features (the key tile at
 * T_BYTES, (w & FEAT) / (R_MAX / R) | r4), decide both, and read the record of the slot
 * they send the row to: its group holds [n's other child, c's left, c's right] (c-less:
 * [n's left, n's right]), so the slot is the group + 16 toward c + 16 more if c goes
 * right. A lane at its leaf loads nothing more and keeps it. */
template <int R>
__device__ __forceinline__ void step(const char *tb, const char *sb, uint32_t r4, ph_rec_t &e) {
  constexpr uint32_t S = R == 512 ? 0 : R == 256 ? 1 : R == 128 ? 2 : 3; /* R_MAX / R = 2^S: shift, then one LOP3 */
  static_assert(R_MAX >> S == R, "R: 512, 256, 128 or 64");
  uint32_t q = e.wn & REL; /* the same LOP3.P as the vote before it (walk) */
  const bool a = q != 0;
  const uint32_t kn = *(const uint32_t *)(sb + (T_BYTES + ((e.wn >> S & FEAT >> S) | r4))); /* a leaf: feature 0's */
  const uint32_t kc = *(const uint32_t *)(sb + (T_BYTES + ((e.wc >> S & FEAT >> S) | r4)));
  const bool c = toward_c(kn, e);
  const bool y = c & (kc + (e.wc >> 31) > e.xc); /* c's decision (a c-less record: xc 0xffffffff, never) */
  if (c) q += 16;
  if (y) q += 16;
  if (a) e = *(const ph_rec_t *)(tb + q);
}

/* Whether some lane of the warp has a super node for its record e (still walks). */
__device__ __forceinline__ bool warp_walks(const ph_rec_t &e) { return __any_sync(0xffffffffu, (e.wn & REL) != 0); }

__device__ __forceinline__ double leaf_value(const ph_rec_t &e) {
  const uint64_t u = (uint64_t)e.xc << 32 | e.xn;
  double v;
  memcpy(&v, &u, 8);
  return v;
}

/* Row r (its keys in column r of the key tile) through the staged batch's pairs of
 * trees: both chains two super steps at a time until one tree has every lane of the
 * warp at its leaf (a vote), then the other alone, a super step at a time, until it has;
 * the leaves added in tree order (an odd head's last pair has no second tree). Every
 * lane of the warp walks (rows past n on the tile's zero keys): the votes take the
 * whole warp. */
template <int R>
__device__ __forceinline__ double walk(const ph_forests_t &p, const char *sb, int p0, int p1, uint32_t r4, double s) {
  for (int t = p0; t < p1; t++) {
    const char *ta = sb + 16 * (uint32_t)p.base[2 * t], *tb = sb + 16 * (uint32_t)p.base[2 * t + 1];
    ph_rec_t ea = *(const ph_rec_t *)ta, eb = *(const ph_rec_t *)tb; /* the roots */
#pragma unroll
    for (int i = 0; i < PH_FIRST; i++) step<R>(ta, sb, r4, ea), step<R>(tb, sb, r4, eb); /* no vote: most warps need more */
    bool wa, wb; /* some lane of the warp at a super node of a, of b (voted before the steps: their first test) */
    for (;;) {
      wa = warp_walks(ea), wb = warp_walks(eb);
      if (!(wa && wb)) break;
      step<R>(ta, sb, r4, ea), step<R>(tb, sb, r4, eb);
    }
    for (; wa; wa = warp_walks(ea)) step<R>(ta, sb, r4, ea); /* the deeper tree alone */
    for (; wb; wb = warp_walks(eb)) step<R>(tb, sb, r4, eb);
    s += leaf_value(ea);
    s += leaf_value(eb); /* an odd batch's last b: a leaf of -0.0, s + -0.0 == s */
  }
  return s;
}

/* Row `row` of X [n][f] as keys (row_key) into column r of the tile xk [f][R]: the
 * thread's own row (16-byte loads when rows are 16-byte aligned; each 4 keys
 * to 4 feature rows of the tile, the lanes' columns in distinct banks). */
template <int R>
__device__ __forceinline__ void stage_keys(const float *__restrict__ X, int64_t row, int f, uint32_t *xk) {
  const float *x = X + row * (int64_t)f;
  int j = 0;
  if (f % 4 == 0 && (uintptr_t)X % 16 == 0)
    for (; j < f; j += 4) {
      const ph_f4_t v = *(const ph_f4_t *)(x + j);
      xk[j * R] = row_key(v.x), xk[(j + 1) * R] = row_key(v.y), xk[(j + 2) * R] = row_key(v.z);
      xk[(j + 3) * R] = row_key(v.w);
    }
  for (; j < f; j++) xk[j * R] = row_key(__ldg(x + j));
}

template <int R>
__global__ void __launch_bounds__(R, 1) predict_heads_kernel(const ph_forests_t p, const float *__restrict__ X,
                                                                 int64_t n, int f, double *z, int64_t ldz) {
  extern __shared__ __align__(16) uint8_t smem_h[];
  const char *sb = (const char *)smem_h;
  uint32_t *xk = (uint32_t *)(smem_h + T_BYTES);
  const int r = (int)threadIdx.x;
  int held = -1; /* the batch in shared memory */
  for (int64_t i0 = (int64_t)blockIdx.x * R; i0 < n; i0 += (int64_t)gridDim.x * R) {
    const bool mine = i0 + r < n;
    __syncthreads(); /* the previous tile's keys are read */
    if (mine) stage_keys<R>(X, i0 + r, f, xk + r);
    else
      for (int j = 0; j < f; j++) xk[j * R + r] = 0; /* a row past n walks zero keys: the warp's votes need it */
    __syncthreads(); /* the tile is staged */
    for (int h = 0; h < p.k; h++) {
      double s = mine ? z[h * ldz + i0 + r] : 0.0;
      for (int b = p.head_batch[h]; b < p.head_batch[h + 1]; b++) {
        if (b != held) { /* the same for the whole block */
          __syncthreads(); /* every row is done with the batch held */
          for (int q = r; q < p.batch[b].n; q += R) ((ph_rec_t *)smem_h)[q] = p.blob[p.batch[b].word + q];
          held = b;
          __syncthreads();
        }
        s = walk<R>(p, sb, p.batch[b].p0, p.batch[b].p1, 4u * r, s);
      }
      if (mine) z[h * ldz + i0 + r] = s;
    }
  }
}

/* Tree t's super nodes: each node n absorbs the child c (a node, if it has one) that
 * minimises the most super steps below it (cost), so a step decides n and c. */
int32_t super_cost(const ps_forest_view_t *v, int64_t nb, int32_t o, std::vector<int32_t> &cost,
                   std::vector<int32_t> &absorb) {
  if (o < 0) return 0;
  if (cost[o] >= 0) return cost[o];
  const int32_t l = v->left[nb + o], r = v->right[nb + o];
  const int32_t cl = super_cost(v, nb, l, cost, absorb), cr = super_cost(v, nb, r, cost, absorb);
  int32_t best = 1 + (cl > cr ? cl : cr), c = -1;
  for (int side = 0; side < 2; side++) { /* c the right child first: ties keep flip 0 */
    const int32_t ch = side ? l : r, other = side ? cr : cl;
    if (ch < 0) continue;
    const int32_t gl = super_cost(v, nb, v->left[nb + ch], cost, absorb);
    const int32_t gr = super_cost(v, nb, v->right[nb + ch], cost, absorb);
    int32_t m = other > gl ? other : gl;
    m = 1 + (m > gr ? m : gr);
    if (c < 0 || m < best) best = m, c = ch;
  }
  absorb[o] = c;
  return cost[o] = best;
}

/* A node's decision fields: {threshold key + d, d << 31 | feature * R_MAX * 4}; false on a NaN threshold or a feature past 2^19. */
bool node_key(const ps_forest_view_t *v, int64_t q, uint32_t &x, uint32_t &w) {
  const float thr = v->threshold[q];
  if (thr != thr || v->feature[q] < 0 || v->feature[q] >= (1 << 19)) return false;
  const uint32_t d = v->default_left[q] ? 1u : 0u;
  x = key(thr) + d, w = d << 31 | (uint32_t)v->feature[q] * (R_MAX * 4);
  return true;
}

/* Tree t's records into recs (its root first): super nodes in breadth-first order, each
 * followed later by its slot group; false when it does not fit the layout (2 KiB a tree). */
bool pack_tree(const ps_forest_view_t *v, int32_t t, std::vector<ph_rec_t> &recs) {
  const int64_t nb = v->node_off[t], nn = v->node_off[t + 1] - nb, lb = v->leaf_off[t], nl = v->leaf_off[t + 1] - lb;
  if (nl != nn + 1 || nn > 256) return false;
  std::vector<int32_t> cost(nn, -1), absorb(nn, -1), slot(1, nn > 0 ? 0 : ~0); /* a node >= 0 or ~leaf a record */
  if (nn > 0) super_cost(v, nb, 0, cost, absorb);
  std::vector<uint32_t> group(1, 0);
  for (size_t e = 0; e < slot.size(); e++) { /* breadth first: each super node's group after the records so far */
    group.push_back(0);
    const int32_t o = slot[e];
    if (o < 0) continue;
    group[e] = (uint32_t)slot.size() * 16;
    const int32_t c = absorb[o], l = v->left[nb + o], r = v->right[nb + o];
    if (c < 0) slot.push_back(l), slot.push_back(r);
    else slot.push_back(c == r ? l : r), slot.push_back(v->left[nb + c]), slot.push_back(v->right[nb + c]);
  }
  if (slot.size() * 16 > REL + 16) return false;
  for (size_t e = 0; e < slot.size(); e++) {
    const int32_t o = slot[e];
    ph_rec_t rec = {0, 0, 0, 0};
    if (o < 0) { /* a leaf: child field and features 0, its value in xn (low half) and xc */
      const double val = v->leaf_value[lb + ~o];
      uint64_t u;
      memcpy(&u, &val, 8);
      rec.xn = (uint32_t)u, rec.xc = (uint32_t)(u >> 32);
    } else {
      const int32_t c = absorb[o];
      if (!node_key(v, nb + o, rec.xn, rec.wn)) return false;
      rec.wn |= group[e] | (c >= 0 && c == v->left[nb + o] ? FLIP : 0u);
      if (c < 0) rec.xc = 0xffffffffu, rec.wc = 0; /* no c: never right, its slot group [left, right] */
      else if (!node_key(v, nb + c, rec.xc, rec.wc)) return false;
    }
    recs.push_back(rec);
  }
  return true;
}

/* The plan being packed on the host: the kernel's tables and every batch's records. */
struct packing_t {
  ph_forests_t fo;
  std::vector<ph_rec_t> blob;
  std::vector<uint32_t> roots; /* the open batch's trees' roots, in records from its start */
  size_t word;                 /* the open batch's first record */
};

/* Closes the open batch: its trees paired in order (an odd count's last pair with a leaf
 * of value 0 for b, never added); false when the tables are full. */
bool close_batch(packing_t &pk) {
  if (pk.roots.empty()) return true;
  ph_forests_t &fo = pk.fo;
  const int nb = fo.head_batch[fo.k + 1]; /* batches so far (the open head's end) */
  if (nb >= PH_BATCHES || fo.pairs + (int)(pk.roots.size() + 1) / 2 > PH_PAIRS) return false;
  if (pk.roots.size() % 2) /* b of the last pair: a leaf of -0.0 (its xc the sign bit), adding it changes no sum */
    pk.roots.push_back((uint32_t)(pk.blob.size() - pk.word)), pk.blob.push_back({0, 0, 0x80000000u, 0});
  fo.batch[nb] = ph_batch_t{.p0 = fo.pairs, .p1 = fo.pairs + (int32_t)pk.roots.size() / 2,
                            .word = (int32_t)pk.word, .n = (int32_t)(pk.blob.size() - pk.word)};
  for (size_t i = 0; i < pk.roots.size(); i++) fo.base[2 * fo.pairs + i] = (uint16_t)pk.roots[i];
  fo.pairs += (int32_t)pk.roots.size() / 2;
  fo.head_batch[fo.k + 1] = nb + 1;
  pk.roots.clear();
  pk.word = pk.blob.size();
  return true;
}

/* Head h's forest into pk, in batches of at most T_BYTES; false when a tree or the tables do not fit. */
bool pack_head(const ps_forest_view_t *v, packing_t &pk) {
  std::vector<ph_rec_t> recs;
  for (int32_t t = 0; t < v->ntrees; t++) {
    recs.clear();
    if (!pack_tree(v, t, recs)) return false;
    if ((pk.blob.size() - pk.word + recs.size() + 1) * 16 > (size_t)T_BYTES && !close_batch(pk)) return false;
    pk.roots.push_back((uint32_t)(pk.blob.size() - pk.word));
    pk.blob.insert(pk.blob.end(), recs.begin(), recs.end());
  }
  return close_batch(pk);
}

} // namespace

extern "C" ps_gbdt_predict_plan_t *ps_gbdt_predict_plan_create(const ps_forest_view_t *heads, int k, cudaStream_t s) {
  if (k > PH_HEADS) return NULL;
  packing_t *pk = new packing_t(); /* the tables are 4 KiB: not on the stack */
  memset(&pk->fo, 0, sizeof pk->fo);
  pk->word = 0;
  bool ok = true;
  for (int h = 0; h < k && ok; h++) {
    pk->fo.head_batch[h + 1] = pk->fo.head_batch[h];
    ok = !heads[h].cat && pack_head(&heads[h], *pk); /* category sets: predict.cu's node kernel decides them */
    pk->fo.k = h + 1;
  }
  if (!ok || pk->blob.size() > 0x3fffffff) {
    delete pk;
    return NULL;
  }
  ps_gbdt_predict_plan_t *p = (ps_gbdt_predict_plan_t *)calloc(1, sizeof *p);
  if (!p) ps_die_local("out of memory (predict plan)");
  p->fo = pk->fo;
  const size_t so = pk->blob.size() * sizeof(ph_rec_t);
  if (so) {
    CUDA_CHECK(cudaMalloc(&p->dev, so));
    CUDA_CHECK(cudaMemcpyAsync(p->dev, pk->blob.data(), so, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
  }
  p->fo.blob = (const ph_rec_t *)p->dev;
  delete pk;
  return p;
}

extern "C" void ps_gbdt_predict_plan_destroy(ps_gbdt_predict_plan_t *p) {
  if (!p) return;
  if (p->dev) CUDA_CHECK(cudaFree(p->dev));
  free(p);
}

namespace {
/* The kernel at R rows a tile: one block an SM (its shared memory holds one), the tiles grid-strided. */
template <int R>
void launch(const ph_forests_t &fo, const float *X, int64_t n, int f, double *z, int64_t ldz, cudaStream_t s) {
  const size_t smem = (size_t)T_BYTES + (size_t)f * R * 4;
  CUDA_CHECK(cudaFuncSetAttribute(predict_heads_kernel<R>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  unsigned grid = ps_grid_1d((uint64_t)n, (unsigned)R);
  const unsigned sms = (unsigned)ps_device_limits().sms;
  if (grid > sms) grid = sms;
  PS_LAUNCH(grid, R, smem, s, predict_heads_kernel<R>)(fo, X, n, f, z, ldz);
  CUDA_CHECK(cudaGetLastError());
}
} // namespace

extern "C" int ps_gbdt_predict_heads_rows(int64_t f) {
  const size_t optin = ps_device_limits().smem_optin;
  for (int r = R_MAX; f >= 1 && r >= R_MIN; r /= 2)
    if ((size_t)T_BYTES + (size_t)f * r * 4 <= optin) return r;
  return 0;
}

extern "C" int ps_gbdt_predict_plan_run(const ps_gbdt_predict_plan_t *p, const float *X, int64_t n, int64_t f,
                                        double *z, int64_t ldz, cudaStream_t s) {
  const int R = ps_gbdt_predict_heads_rows(f);
  if (R == 0) return 0; /* the key tile does not fit beside a batch, even at R_MIN rows */
  if (n <= 0 || p->fo.k <= 0) return 1;
  switch (R) {
  case 512: launch<512>(p->fo, X, n, (int)f, z, ldz, s); break;
  case 256: launch<256>(p->fo, X, n, (int)f, z, ldz, s); break;
  case 128: launch<128>(p->fo, X, n, (int)f, z, ldz, s); break;
  default: launch<64>(p->fo, X, n, (int)f, z, ldz, s); break;
  }
  return 1;
}
