/* random.c -- Philox4x32-10, a counter-based generator (Salmon et al., SC'11).
 *
 * The stream is a pure function of (seed, counter): the k-th block of four
 * 32-bit words is philox(key = seed, counter = k). So a tensor's random fill
 * is the same for any thread count, and each fill advances the global
 * counter by the blocks it used, giving reproducible streams for a seed.
 */
#include "tensor.h"
#include <math.h>
#include <stdlib.h>

static uint64_t seed = 67280421310721ULL, counter = 0; /* PyTorch's default seed */

void lt_manual_seed(uint64_t s) { seed = s; counter = 0; }
uint64_t lt_initial_seed(void) { return seed; }

static void philox(uint64_t ctr, uint64_t key, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1; c3 = (uint32_t)p0; c0 = n0; c2 = n2;
    k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* uniform double in [0, 1) from 53 random bits */
static double u01(uint32_t hi, uint32_t lo) {
  return (double)(((uint64_t)hi << 21) ^ (lo >> 11)) * (1.0 / 9007199254740992.0);
}

typedef enum { UNIFORM, NORMAL, INTEGER, BERNOULLI } dist;

/* a distribution: reals in (a, b), or integers lo + [0, range) */
typedef struct { dist d; double a, b; int64_t lo; uint64_t range; } law;

/* fill t (contiguous or not) element by element in row-major order; element i
   uses block base + i so the values do not depend on the layout */
static int fill(lt_tensor *t, law w) {
  if (lt_check_writable(t) < 0) return -1;
  int64_t n = lt_numel(t);
  uint64_t base = counter;
  counter += (uint64_t)n;
  int64_t idx[LT_MAX_DIM] = {0};
  for (int64_t i = 0; i < n; i++) {
    uint32_t r[4];
    philox(base + (uint64_t)i, seed, r);
    double v;
    switch (w.d) {
    case UNIFORM:
      v = w.a + (w.b - w.a) * u01(r[0], r[1]);
      if (t->dtype == LT_FLOAT32 && (float)v >= (float)w.b && w.b > w.a)
        v = nextafterf((float)w.b, (float)w.a); /* rounding must not reach hi */
      break;
    case NORMAL: {
      /* Box-Muller on one block: 1 - u keeps the log argument in (0, 1] */
      double u1 = 1.0 - u01(r[0], r[1]), u2 = u01(r[2], r[3]);
      v = w.a + w.b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
      break;
    }
    case BERNOULLI: v = u01(r[0], r[1]) < w.a ? 1.0 : 0.0; break;
    default: v = 0; break;
    }
    if (w.d == INTEGER) {
      uint64_t x = ((uint64_t)r[0] << 32) | r[1];
      /* unsigned arithmetic: lo + offset cannot overflow for offset < range */
      lt_set_i64(t, idx, (int64_t)((uint64_t)w.lo + x % w.range)); /* bias < range / 2^64 */
    } else {
      lt_set(t, idx, v);
    }
    for (int k = t->ndim - 1; k >= 0; k--) {
      if (++idx[k] < t->shape[k]) break;
      idx[k] = 0;
    }
  }
  lt_bump_version(t);
  return 0;
}

int lt_rand_(lt_tensor *t, double lo, double hi) {
  if (!lt_is_float(t->dtype)) return lt_seterr("rand needs a floating-point tensor");
  if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi))
    return lt_seterr("bounds must be finite with low <= high, got [%g, %g)", lo, hi);
  return fill(t, (law){.d = UNIFORM, .a = lo, .b = hi});
}

int lt_randn_(lt_tensor *t, double mean, double std) {
  if (!lt_is_float(t->dtype)) return lt_seterr("randn needs a floating-point tensor");
  if (!(std >= 0) || !isfinite(mean) || !isfinite(std))
    return lt_seterr("std must be finite and non-negative, got %g", std);
  return fill(t, (law){.d = NORMAL, .a = mean, .b = std});
}

int lt_randint_(lt_tensor *t, int64_t lo, int64_t hi) {
  if (hi <= lo) return lt_seterr("high (%lld) must be greater than low (%lld)", (long long)hi, (long long)lo);
  return fill(t, (law){.d = INTEGER, .lo = lo, .range = (uint64_t)hi - (uint64_t)lo});
}

int lt_bernoulli_(lt_tensor *t, double p) {
  if (!(p >= 0 && p <= 1)) return lt_seterr("probability must be in [0, 1], got %g", p);
  return fill(t, (law){.d = BERNOULLI, .a = p});
}

/* Fisher-Yates with Philox draws */
int64_t *lt_randperm(int64_t n) {
  if (n < 0) { lt_seterr("n must be non-negative, got %lld", (long long)n); return NULL; }
  int64_t *p = malloc((size_t)(n ? n : 1) * sizeof *p);
  if (!p) { lt_seterr("out of memory for a permutation of %lld", (long long)n); return NULL; }
  for (int64_t i = 0; i < n; i++) p[i] = i;
  uint64_t base = counter;
  counter += (uint64_t)n;
  for (int64_t i = n - 1; i > 0; i--) {
    uint32_t r[4];
    philox(base + (uint64_t)i, seed, r);
    int64_t j = (int64_t)((((uint64_t)r[0] << 32) | r[1]) % (uint64_t)(i + 1));
    int64_t tmp = p[i]; p[i] = p[j]; p[j] = tmp;
  }
  return p;
}
