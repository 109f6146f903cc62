/* predict_heads.cu: every head's forest over raw float rows, each row read
 * from HBM once (issue 28; twin: predict_cpu.c -- per head the same double
 * additions in tree order, so its bits). A block of R threads takes
 * tiles of R rows (grid-stride; R = 512, or 256, 128, 64 for rows too wide
 * for a 512-row tile: ps_gbdt_predict_heads_rows); thread r turns row r into
 * order-preserving uint32 keys (row_key(): NaN the largest) in a
 * transposed tile [feature][R rows], so each lane reads its own bank;
 * then for each head it walks row r through that head's trees, in batches
 * that fit T_BYTES of shared memory: a batch is one blob of 8-byte
 * entries, leaf values and a table of pairs of trees (plan_create packs it).
 *
 * A tree's entries are its nodes AND its leaves in level order, siblings
 * side by side (right child = left + 8 bytes), inside a power-of-two span
 * aligned to its size: a node {threshold key + default bit, w = default
 * bit << 31 | feature * 2048 | left child's offset in the span}, a leaf
 * {0xffffffff, LEAF | the byte offset of its value in the batch}. A step is then
 * branch-free and short: the key's address is row * 4 | (w & feature
 * field) / (512 / R) (a shift at R < 512 only), the default direction is
 * the key plus bit 31 of w (NaN wraps to 0: left; otherwise k + d <=
 * key(threshold) + d), the child is (w & span mask) | tree base, + 8 when
 * right. A lane stops loading once it has read its leaf entry. Two trees
 * are walked at once (two chains of loads a thread), four steps at a time,
 * until one of them has every lane of the warp at its leaf (__any_sync),
 * then the other alone, two steps at a time, until it has too (a warp walks
 * as deep as its deepest row, not the tree's depth); their leaves are added
 * in tree order. The node decision lives in go_right only. */
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "common/cuda_check.h"
#include "common/device_limits.h"
#include "common/launch.h"
#include "gbdt/predict_heads.h"

struct __align__(8) ph_ent_t { /* 8 bytes, LDS.64: a node, a leaf or half a pair-table entry */
  uint32_t x, y;
};
__host__ __device__ __forceinline__ ph_ent_t ent(uint32_t x, uint32_t y) {
  ph_ent_t e;
  e.x = x, e.y = y;
  return e;
}

struct __align__(16) ph_f4_t { /* 4 row values, one 16-byte load */
  float x, y, z, w;
};

struct ph_batch_t {
  int32_t t0, t1;    /* trees [t0, t1) of the plan */
  int32_t word, n;   /* the blob's 8-byte words [word, word + n) */
  int32_t table;     /* the pair table's byte offset in the batch (16-byte aligned) */
  int32_t pad;
};

/* The kernel's view of a plan: device arrays, over every head. */
struct ph_forests_t {
  int k;
  const int32_t *head_batch; /* [k+1]: head h's batches [head_batch[h], head_batch[h+1]) */
  const ph_batch_t *batch;   /* [batches] */
  const ph_ent_t *blob;         /* every batch's entries, leaf values, pair table */
};

struct ps_gbdt_predict_plan {
  ph_forests_t fo;
  void *dev; /* the one device allocation behind fo */
};

namespace {

constexpr int R_MAX = 512;         /* rows a tile at most, one a thread (R: the key tile's row stride R * 4 B) */
constexpr int R_MIN = 64;          /* the fewest (2 warps an SM): wider rows take the head-at-a-time kernels */
constexpr int T_BYTES = 96 << 10;  /* a batch of trees' shared memory; the key tile follows */
constexpr uint32_t LEAF = 0x40000000u; /* w's leaf bit: the rest is the leaf value's byte offset */
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

/* The one decision (predict_cpu.c's leaf_raw): right iff key + d > threshold key + d, d the default bit. */
__device__ __forceinline__ bool go_right(uint32_t k, ph_ent_t e) { return k + (e.y >> 31) > e.x; }

/* One step of a chain, branch-free (predicated): while the last entry read
 * e = {threshold key, w} is a node, read the row's key of its feature (the
 * key tile at T_BYTES, (w & FEAT) / (R_MAX / R) | r * 4) and the entry of the
 * child it sends the row to; a lane whose last entry is its leaf
 * (w & LEAF) loads nothing more and keeps it. */
template <int R>
__device__ __forceinline__ void step(const char *sb, uint32_t r4, uint32_t base, uint32_t cm, ph_ent_t &e,
                                     uint32_t &k) {
  const bool a = !(e.y & LEAF);
  uint32_t q = (e.y & cm) | base;
  constexpr uint32_t S = R == 512 ? 0 : R == 256 ? 1 : R == 128 ? 2 : 3; /* R_MAX / R = 2^S: shift, then one LOP3 */
  static_assert(R_MAX >> S == R, "R: 512, 256, 128 or 64");
  if (a) k = *(const uint32_t *)(sb + (T_BYTES + ((e.y >> S & FEAT >> S) | r4)));
  if (go_right(k, e)) q += 8; /* never at a leaf (k: the last key read): its threshold key is 0xffffffff */
  if (a) e = *(const ph_ent_t *)(sb + q);
}

/* Whether some lane of the warp has a node for its last entry e (still walks). */
__device__ __forceinline__ bool warp_walks(ph_ent_t e) { return __any_sync(0xffffffffu, !(e.y & LEAF)); }

/* A pair of consecutive trees as the host prepared it (16 bytes, one LDS.128
 * for the whole warp): the byte offsets of their roots (each its span's
 * first entry; an odd batch's last pair has for b a leaf entry, never
 * added), their span masks (a | b << 16) and whether b is a tree (n). */
struct __align__(16) ph_pair_t {
  uint32_t a, b, m, n;
};

/* Row r (its keys in column r of the key tile) through the staged batch's
 * pairs of trees: both chains four steps at a time until one tree has every
 * lane of the warp at its leaf (a vote), then the other alone, two steps at
 * a time, until it has; the leaves added in tree order. Every lane of the
 * warp walks (rows past n on the tile's zero keys): the votes take the
 * whole warp. */
template <int R>
__device__ __forceinline__ double walk(const char *sb, const ph_pair_t *tab, int np, uint32_t r4, double s) {
  uint32_t ka = 0, kb = 0; /* the last keys read (a lane at its leaf never goes right, whatever they hold) */
  for (int t = 0; t < np; t++) {
    const ph_pair_t p = tab[t];
    ph_ent_t ea = *(const ph_ent_t *)(sb + p.a), eb = *(const ph_ent_t *)(sb + p.b); /* the roots */
    const uint32_t ma = p.m & 0xffffu, mb = p.m >> 16;
    bool wa, wb; /* some lane of the warp at a node of a, of b */
    do {
#pragma unroll
      for (int i = 0; i < 4; i++) step<R>(sb, r4, p.a, ma, ea, ka), step<R>(sb, r4, p.b, mb, eb, kb);
      wa = warp_walks(ea), wb = warp_walks(eb);
    } while (wa && wb);
    while (wa) { /* the deeper tree alone */
      step<R>(sb, r4, p.a, ma, ea, ka), step<R>(sb, r4, p.a, ma, ea, ka);
      wa = warp_walks(ea);
    }
    while (wb) {
      step<R>(sb, r4, p.b, mb, eb, kb), step<R>(sb, r4, p.b, mb, eb, kb);
      wb = warp_walks(eb);
    }
    s += *(const double *)(sb + (ea.y & ~LEAF));
    if (p.n) s += *(const double *)(sb + (eb.y & ~LEAF));
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
        const ph_batch_t bt = p.batch[b];
        if (b != held) { /* the same for the whole block */
          __syncthreads(); /* every row is done with the batch held */
          for (int q = r; q < bt.n; q += R) ((ph_ent_t *)smem_h)[q] = p.blob[bt.word + q];
          held = b;
          __syncthreads();
        }
        s = walk<R>(sb, (const ph_pair_t *)(sb + bt.table), (bt.t1 - bt.t0 + 1) / 2, 4u * r, s);
      }
      if (mine) z[h * ldz + i0 + r] = s;
    }
  }
}

/* A batch being packed: entries (spans aligned), leaf values, each tree's {base, span mask} (paired at close). */
struct packing_t {
  std::vector<ph_ent_t> ent; /* 8-byte entries, byte offset = 8 * index */
  std::vector<double> val;
  std::vector<ph_ent_t> tab;
  std::vector<size_t> leaves; /* entries whose w is a value index, made a byte offset at close */
  int32_t t0;
};

/* Tree t's entries in level order into pk at a span aligned to its size; false when it does not fit the layout. */
bool pack_tree(const ps_forest_view_t *v, int32_t t, packing_t &pk) {
  const int64_t nb = v->node_off[t], nn = v->node_off[t + 1] - nb, lb = v->leaf_off[t], nl = v->leaf_off[t + 1] - lb;
  const int64_t ne = nn + nl;
  uint32_t span = 8;
  while (span < 8 * ne) span *= 2;
  if (ne > 256 || nl != nn + 1) return false;
  while (pk.ent.size() * 8 % span) pk.ent.push_back(ent(0, LEAF)); /* padding: never read */
  const uint32_t base = (uint32_t)pk.ent.size() * 8;
  std::vector<int32_t> order(1, nn > 0 ? 0 : ~0); /* a node >= 0 or ~leaf, level by level, siblings adjacent */
  for (size_t e = 0; e < order.size(); e++)
    if (order[e] >= 0) order.push_back(v->left[nb + order[e]]), order.push_back(v->right[nb + order[e]]);
  size_t child = 1;
  for (size_t e = 0; e < order.size(); e++) {
    const int32_t o = order[e];
    if (o < 0) {
      pk.leaves.push_back(pk.ent.size());
      pk.ent.push_back(ent(0xffffffffu, (uint32_t)(pk.val.size() + ~o)));
      continue;
    }
    const int64_t q = nb + o;
    const float thr = v->threshold[q];
    if (thr != thr || v->feature[q] < 0 || v->feature[q] >= (1 << 19)) return false;
    const uint32_t d = v->default_left[q] ? 1u : 0u;
    pk.ent.push_back(ent(key(thr) + d, d << 31 | (uint32_t)v->feature[q] * (R_MAX * 4) | (uint32_t)(8 * child)));
    child += 2;
  }
  for (int64_t l = 0; l < nl; l++) pk.val.push_back(v->leaf_value[lb + l]);
  pk.tab.push_back(ent(base, (span - 1) & ~7u));
  return true;
}

/* The batch's bytes: entries (and a leaf for an odd count's last pair), values, a 16-byte aligned pair table. */
size_t batch_bytes(const packing_t &pk) {
  return (pk.ent.size() + pk.val.size() + 2 + (pk.tab.size() + 1) / 2 * 2) * 8;
}

/* Trees a and b of the batch as a pair-table entry (ph_pair_t: two 8-byte
 * words); no b (NULL): b's root is the leaf entry at byte offset leaf. */
void pair_words(const ph_ent_t a, const ph_ent_t *b, uint32_t leaf, std::vector<ph_ent_t> &blob) {
  blob.push_back(ent(a.x, b ? b->x : leaf));
  blob.push_back(ent((a.y & 0xffffu) | (b ? b->y & 0xffffu : 0) << 16, b ? 1u : 0u));
}

void close_batch(packing_t &pk, int32_t t1, std::vector<ph_ent_t> &blob, std::vector<ph_batch_t> &batch) {
  if (pk.tab.empty()) return;
  const uint32_t leaf = (uint32_t)pk.ent.size() * 8; /* an odd count's last pair reads it as b's root */
  if (pk.tab.size() % 2) pk.ent.push_back(ent(0xffffffffu, LEAF));
  const uint32_t vbase = (uint32_t)pk.ent.size() * 8;
  for (size_t e : pk.leaves) pk.ent[e].y = LEAF | (vbase + 8 * pk.ent[e].y);
  const size_t w0 = blob.size();
  blob.insert(blob.end(), pk.ent.begin(), pk.ent.end());
  for (double x : pk.val) {
    ph_ent_t u;
    memcpy(&u, &x, 8);
    blob.push_back(u);
  }
  if ((blob.size() - w0) % 2) blob.push_back(ent(0, 0)); /* the pair table 16-byte aligned in shared memory */
  const int32_t table = (int32_t)(blob.size() - w0) * 8;
  for (size_t t = 0; t < pk.tab.size(); t += 2)
    pair_words(pk.tab[t], t + 1 < pk.tab.size() ? &pk.tab[t + 1] : NULL, leaf, blob);
  const ph_batch_t b = {.t0 = pk.t0, .t1 = t1, .word = (int32_t)w0, .n = (int32_t)(blob.size() - w0), .table = table,
                       .pad = 0};
  batch.push_back(b);
  pk = packing_t{};
  pk.t0 = t1;
}

} // namespace

extern "C" ps_gbdt_predict_plan_t *ps_gbdt_predict_plan_create(const ps_forest_view_t *heads, int k, cudaStream_t s) {
  std::vector<ph_batch_t> batch;
  std::vector<ph_ent_t> blob;
  std::vector<int32_t> hb(1, 0);
  int32_t tn = 0; /* trees of the plan so far */
  for (int h = 0; h < k; h++) {
    const ps_forest_view_t *v = &heads[h];
    if (v->cat) return NULL; /* category sets: predict.cu's node kernel decides them */
    packing_t pk{};
    pk.t0 = tn;
    for (int32_t t = 0; t < v->ntrees; t++, tn++) {
      packing_t trial = pk;
      if (!pack_tree(v, t, trial)) return NULL;
      if (batch_bytes(trial) > (size_t)T_BYTES) { /* a new batch */
        close_batch(pk, tn, blob, batch);
        trial = pk;
        if (!pack_tree(v, t, trial) || batch_bytes(trial) > (size_t)T_BYTES) return NULL;
      }
      pk = trial;
    }
    close_batch(pk, tn, blob, batch);
    if (blob.size() > 0x3fffffff) return NULL;
    hb.push_back((int32_t)batch.size());
  }
  ps_gbdt_predict_plan_t *p = (ps_gbdt_predict_plan_t *)calloc(1, sizeof *p);
  if (!p) ps_die_local("out of memory (predict plan)");
  const size_t sb = batch.size() * sizeof(ph_batch_t), so = blob.size() * 8, sh = hb.size() * sizeof(int32_t);
  uint8_t *d = NULL; /* 8-byte items first, then the int32 head table */
  CUDA_CHECK(cudaMalloc((void **)&d, sb + so + sh));
  p->dev = d;
  ph_forests_t &fo = p->fo;
  fo.k = k;
  fo.blob = (const ph_ent_t *)d, fo.batch = (const ph_batch_t *)(d + so), fo.head_batch = (const int32_t *)(d + so + sb);
  if (so) CUDA_CHECK(cudaMemcpyAsync((void *)fo.blob, blob.data(), so, cudaMemcpyHostToDevice, s));
  if (sb) CUDA_CHECK(cudaMemcpyAsync((void *)fo.batch, batch.data(), sb, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync((void *)fo.head_batch, hb.data(), sh, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  return p;
}

extern "C" void ps_gbdt_predict_plan_destroy(ps_gbdt_predict_plan_t *p) {
  if (!p) return;
  CUDA_CHECK(cudaFree(p->dev));
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
