/* loader.c -- batch gathering and seeded permutations for the DataLoader */
#include "loader.h"
#include <string.h>

lt_tensor *lt_gather_rows(lt_tensor *t, const int64_t *idx, int64_t n) {
  if (t->ndim < 1) return lt_seterr("cannot gather rows of a 0-dim tensor"), NULL;
  if (n < 0) return lt_seterr("row count must be non-negative, got %lld", (long long)n), NULL;
  int64_t rows = t->shape[0];
  for (int64_t i = 0; i < n; i++)
    if (idx[i] < 0 || idx[i] >= rows)
      return lt_seterr("index %lld is out of range for %lld rows", (long long)idx[i] + 1,
                       (long long)rows), NULL;
  int64_t shape[LT_MAX_DIM];
  memcpy(shape, t->shape, sizeof shape);
  shape[0] = n;
  lt_tensor *src = lt_contiguous(t);
  if (!src) return NULL;
  lt_tensor *out = lt_empty(t->dtype, t->ndim, shape);
  if (out && n > 0) {
    size_t row = lt_dtype_size(t->dtype);
    for (int d = 1; d < t->ndim; d++) row *= (size_t)t->shape[d];
    const char *s = lt_data(src);
    char *o = lt_data(out);
    for (int64_t i = 0; i < n; i++) memcpy(o + (size_t)i * row, s + (size_t)idx[i] * row, row);
  }
  lt_release(src);
  return out;
}

/* splitmix64 (Steele, Lea and Flood, OOPSLA'14): a small, well-mixed stream */
static uint64_t splitmix(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Fisher-Yates; the modulo bias is below n / 2^64 */
void lt_seeded_perm(int64_t *out, int64_t n, uint64_t seed, uint64_t stream) {
  uint64_t state = seed ^ (stream * 0xD1B54A32D192ED03ULL);
  splitmix(&state);
  for (int64_t i = 0; i < n; i++) out[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(splitmix(&state) % (uint64_t)(i + 1));
    int64_t tmp = out[i]; out[i] = out[j]; out[j] = tmp;
  }
}
