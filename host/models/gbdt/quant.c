/* quant.c: quantized gradients of a tree (quant.h); the rounding rule is
 * gbdt_math.h's ps_gbdt_quant, the pass kernels/gbdt/grad_q_cpu.c's. */
#include "models/gbdt/quant.h"

#include "comm/comm.h"
#include "gbdt/gbdt_cpu.h"

int32_t gbdt_quant_qmax(int bits) { return bits > 0 ? (int32_t)((1 << (bits - 1)) - 1) : 0; }

/* auto's rule (docs/BENCHMARKS.md, "The --grad-bits default"): quantizing
 * is the fastest fit, and its validation AUC is within 0.001 of exact's
 * and LightGBM's once the rounding noise of a leaf's sums is far below the
 * sampling noise of the data: measured from 400,000 training rows on
 * (1M x 64 generated, both heads); below min_rows (default 500,000) the
 * fit is a few seconds and stays exact, so small tables keep their models. */
int gbdt_grad_bits(int choice, double train_rows, int64_t min_rows) {
  static const int bits[] = {0, 16, 8, 4};
  if (choice < 4) return bits[choice];
  return train_rows >= (double)min_rows ? GBDT_AUTO_BITS : 0;
}

/* The smallest step s >= 1 with v <= Q s. */
static int64_t step_of(int64_t v, int32_t qmax) {
  int64_t s = (v + qmax - 1) / qmax;
  return s > 0 ? s : 1;
}

void gbdt_quant_steps_all(const int64_t top[2], int32_t qmax, int64_t *sg, int64_t *sh) {
  *sg = step_of(top[0], qmax);
  *sh = step_of(top[1], qmax);
}

void gbdt_quant_steps(int64_t top[2], int32_t qmax, int64_t *sg, int64_t *sh) {
  comm_allreduce_max_i64(top, 2);
  gbdt_quant_steps_all(top, qmax, sg, sh);
}

void gbdt_quantize_top(int64_t top[2], const int64_t *gq, const int64_t *hq, const int64_t *ids, int64_t n,
                       int32_t qmax, uint64_t seed, int head, int tree, int32_t *gh, int64_t *sg, int64_t *sh) {
  gbdt_quant_steps(top, qmax, sg, sh);
  uint64_t key = ((uint64_t)(uint32_t)head << 32) | (uint64_t)(uint32_t)tree;
  ps_gbdt_quant_cpu(gq, hq, ids, n, seed, key, *sg, *sh, gh);
}

void gbdt_quantize(const int64_t *gq, const int64_t *hq, const int64_t *ids, int64_t n, int32_t qmax, uint64_t seed,
                   int head, int tree, int32_t *gh, int64_t *sg, int64_t *sh) {
  int64_t top[2] = {0, 0};
  for (int64_t i = 0; i < n; i++) {
    int64_t a = gq[i] < 0 ? -gq[i] : gq[i];
    if (a > top[0]) top[0] = a;
    if (hq[i] > top[1]) top[1] = hq[i];
  }
  gbdt_quantize_top(top, gq, hq, ids, n, qmax, seed, head, tree, gh, sg, sh);
}
