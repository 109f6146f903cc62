/* logits_cpu.h: private to the CPU twins in this folder: the logits of a
 * tile of rows for every head, and the attribute that gives hot loops an
 * AVX2 clone beside the baseline x86-64 one (picked at run time;
 * -ffp-contract=off in ISO C mode keeps both bitwise identical). No clones
 * under the sanitizers: their ifunc resolvers run before the runtime is up. */
#ifndef PS_LOGITS_CPU_H
#define PS_LOGITS_CPU_H
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define PS_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define PS_KERNEL
#endif

/* z[h*ld + i] = bias_h + sum_j X[i][j] * w_h[j] for rows [0, m) of a tile,
 * each row summed in fixed lanes: a row's logit has the same bits whichever
 * path (or tile) it went through. */
void ps_logits_cpu(const float *X, int64_t m, int64_t c, int k, const double *theta, double *z, int64_t ld);
#endif
