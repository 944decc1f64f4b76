/* loader.h -- batch gathering and seeded permutations for the DataLoader.
 * Pure C on the tensor core; indices are 0-based here. */
#ifndef LUNET_LOADER_H
#define LUNET_LOADER_H

#include "tensor.h"

/* out[i] = t[idx[i]] along the first dimension, one memcpy per row for a
   contiguous t (a view is made contiguous first). Every idx is checked
   against t's first dimension; NULL + lt_errmsg on failure. */
lt_tensor *lt_gather_rows(lt_tensor *t, const int64_t *idx, int64_t n);

/* a permutation of 0..n-1 into out from its own generator (splitmix64 of
   seed and stream), so lunet's global RNG is left as it was */
void lt_seeded_perm(int64_t *out, int64_t n, uint64_t seed, uint64_t stream);

#endif
