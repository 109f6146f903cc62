/* cuda_bf16.h (cudasim): bfloat16 as in CUDA's cuda_bf16.h: the raw
 * 16-bit struct, the __nv_bfloat16 type and the host/device conversions
 * (float -> bf16 rounds to nearest even, NaN -> 0x7fff as CUDA does). */
#ifndef CUDASIM_CUDA_BF16_H
#define CUDASIM_CUDA_BF16_H
#include <string.h>

typedef struct __nv_bfloat16_raw {
  unsigned short x;
} __nv_bfloat16_raw;

static inline unsigned short cudasim_float_to_bf16_bits(float f) {
  unsigned int u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fffu; /* NaN */
  u += 0x7fffu + ((u >> 16) & 1u);                     /* round to nearest, ties to even */
  return (unsigned short)(u >> 16);
}
static inline float cudasim_bf16_bits_to_float(unsigned short b) {
  unsigned int u = (unsigned int)b << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

#ifdef __cplusplus
struct __nv_bfloat16 {
  unsigned short __x;
  __nv_bfloat16() = default;
  constexpr __nv_bfloat16(const __nv_bfloat16_raw &r) : __x(r.x) {}
  __nv_bfloat16(float f) : __x(cudasim_float_to_bf16_bits(f)) {}
  __nv_bfloat16(double f) : __x(cudasim_float_to_bf16_bits((float)f)) {}
  operator __nv_bfloat16_raw() const { return __nv_bfloat16_raw{__x}; }
  operator float() const { return cudasim_bf16_bits_to_float(__x); }
};
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16(__nv_bfloat16_raw{cudasim_float_to_bf16_bits(f)}); }
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline __nv_bfloat16 __double2bfloat16(double d) { return __float2bfloat16_rn((float)d); }
inline float __bfloat162float(__nv_bfloat16 b) { return cudasim_bf16_bits_to_float(b.__x); }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) { return __nv_bfloat16(__nv_bfloat16_raw{u}); }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return b.__x; }
#else
typedef struct __nv_bfloat16 {
  unsigned short __x;
} __nv_bfloat16;
#endif
#endif
