/* vmath.h -- elementwise float math the compiler can vectorise.
 *
 * libm's expf is one scalar call per element; a training step calls exp for
 * softmax, sigmoid and losses over whole tensors, so it is worth a
 * branch-free version that GCC turns into AVX code inside our loops.
 */
#ifndef LUNET_VMATH_H
#define LUNET_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* 2^k for an integer k in [-126, 127], built in the exponent bits */
static inline float lt_pow2i(int32_t k) {
  uint32_t bits = (uint32_t)(k + 127) << 23;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* e^x in float32: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two parts
   so n ln2 is exact), e^r by its Taylor series to r^7 (truncation below
   6e-9, under 0.1 ulp), and 2^n applied as 2^(n/2) 2^(n - n/2) so that
   overflow to inf and underflow to 0 happen in the multiply. Within 2 ulp
   of the true value; NaN stays NaN. */
static inline float lt_expf(float x) {
  const float log2e = 1.44269504088896341f, ln2_hi = 0.693145751953125f,
              ln2_lo = 1.42860682030941723e-6f;
  float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  xc = xc == xc ? xc : 0.0f; /* keep NaN out of the integer conversion */
  /* round to nearest by adding and removing 1.5 * 2^23 (nearbyintf does
     not vectorise); |xc * log2e| < 151 is well inside the trick's range */
  const float shifter = 12582912.0f;
  float n = (xc * log2e + shifter) - shifter;
  float r = (xc - n * ln2_hi) - n * ln2_lo;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t ni = (int32_t)n, n1 = ni >> 1; /* floor(n / 2) */
  float e = p * lt_pow2i(n1) * lt_pow2i(ni - n1);
  return x == x ? e : x;
}

/* 1 / (1 + e^-x): e^-x overflows to inf for x < -89, giving exactly 0 */
static inline float lt_sigmoidf(float x) { return 1.0f / (1.0f + lt_expf(-x)); }

#endif
