/* simd.h: the attribute that gives a hot CPU loop an AVX2 clone beside the
 * baseline x86-64 one, picked at run time (-ffp-contract=off in ISO C mode
 * keeps both bitwise identical). No clones under the sanitizers: their
 * ifunc resolvers run before the sanitizer runtime is up. */
#ifndef PS_SIMD_H
#define PS_SIMD_H
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define PS_KERNEL __attribute__((target_clones("avx2", "default")))
/* the same with an AVX-512 clone first (64-bit integer multiplies and
 * conversions in vectors: x86-64-v4 = AVX-512 F, DQ, BW, VL) */
#define PS_KERNEL_512 __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
/* an AVX2 + FMA version of a function beside the baseline one, picked by
 * PS_HAVE_AVX2_FMA at run time (explicit fma() calls inline, never a
 * contraction; target_clones cannot name two features in one clone) */
#define PS_AVX2_FMA __attribute__((target("avx2,fma")))
#define PS_HAVE_AVX2_FMA() (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
/* an AVX-512 version (x86-64-v4: F, DQ, BW, VL, with v3's AVX2 and FMA) beside those */
#define PS_AVX512 __attribute__((target("arch=x86-64-v4")))
#define PS_HAVE_AVX512() __builtin_cpu_supports("x86-64-v4")
#else
#define PS_KERNEL
#define PS_KERNEL_512
#define PS_AVX2_FMA
#define PS_HAVE_AVX2_FMA() 0
#define PS_AVX512
#define PS_HAVE_AVX512() 0
#endif
#endif
