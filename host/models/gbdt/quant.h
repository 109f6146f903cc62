/* quant.h: quantized gradients of a tree (--grad-bits, issue 26): every
 * training row's fixed-point (g, h) scaled to small integers by stochastic
 * rounding whose random bits hash (seed, customer id, head, tree) -- the
 * same for any rank count and row order -- and packed into one int32. */
#ifndef PS_GBDT_QUANT_H
#define PS_GBDT_QUANT_H
#include <stdint.h>

/* Q = 2^(bits-1) - 1 for bits in {4, 8, 16}; 0 for exact (bits 0). */
int32_t gbdt_quant_qmax(int bits);
/* The bits a fit uses (0: exact) for --grad-bits' choice index (exact, 16,
 * 8, 4, auto) and the training rows of all ranks (the same on every rank):
 * auto quantizes to GBDT_AUTO_BITS from min_rows rows on, exact below. */
#define GBDT_AUTO_BITS 8
int gbdt_grad_bits(int choice, double train_rows, int64_t min_rows);
/* The steps (*sg, *sh >= 1, fixed-point units per quantum) from the
 * largest |g| and h over every rank's n training rows (collective), then
 * gh[i] = PS_GBDT_QPACK(qg, qh). ids: the rows' customer ids. */
void gbdt_quantize(const int64_t *gq, const int64_t *hq, const int64_t *ids, int64_t n, int32_t qmax, uint64_t seed,
                   int head, int tree, int32_t *gh, int64_t *sg, int64_t *sh);
/* The same from this rank's maxima top[0] = max |gq|, top[1] = max hq
 * (ps_gbdt_grad_q_cpu's; all ranks' on return). */
void gbdt_quantize_top(int64_t top[2], const int64_t *gq, const int64_t *hq, const int64_t *ids, int64_t n,
                       int32_t qmax, uint64_t seed, int head, int tree, int32_t *gh, int64_t *sg, int64_t *sh);
/* Only the steps from this rank's maxima (collective; top: all ranks' on
 * return): the device makes the words (backend.h's quant). */
void gbdt_quant_steps(int64_t top[2], int32_t qmax, int64_t *sg, int64_t *sh);
/* The steps from maxima already over all ranks (the device's, backend.h's grad). */
void gbdt_quant_steps_all(const int64_t top[2], int32_t qmax, int64_t *sg, int64_t *sh);
#endif
