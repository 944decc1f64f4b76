/* iter.h -- walking up to three strided operands over one index space.
 *
 * Kernels see the work as rows x n: `n` elements along the innermost
 * (coalesced) dimension with a stride per operand, and rows over the rest.
 * Dimensions are coalesced first, so contiguous operands become one long row
 * and kernels hit their unit-stride fast path. Threads split the elements
 * evenly; every kernel run this way is elementwise, so the result does not
 * depend on the split (reductions have their own fixed blocks, reduce.c).
 */
#ifndef LUNET_ITER_H
#define LUNET_ITER_H

#include "tensor.h"

#define LT_ITER_MAX_OPS 4
#define LT_PAR_GRAIN 32768 /* elements per thread at least; below this one thread is faster */

typedef struct {
  int nops;
  int ndim;
  int64_t shape[LT_MAX_DIM];
  int64_t stride[LT_ITER_MAX_OPS][LT_MAX_DIM];
  char *base[LT_ITER_MAX_OPS];
  size_t elsize[LT_ITER_MAX_OPS];
} lt_iter;

/* ops[k] must already have `shape` (after broadcasting: pass strides of 0). */
void lt_iter_init(lt_iter *it, int nops, int ndim, const int64_t *shape,
                  char **base, const size_t *elsize, int64_t strides[][LT_MAX_DIM]);
/* convenience: operands that are tensors broadcast to shape */
int lt_iter_tensors(lt_iter *it, int nops, lt_tensor **ts, int ndim, const int64_t *shape);

typedef void (*lt_inner_fn)(int64_t n, char **ptr, const int64_t *stride, void *ctx);
/* run fn over every element, in pieces of rows; in parallel when the work is large */
void lt_iter_run(const lt_iter *it, lt_inner_fn fn, void *ctx);

/* broadcast strides of t to (ndim, shape); -1 if not broadcastable */
int lt_broadcast_strides(const lt_tensor *t, int ndim, const int64_t *shape, int64_t *stride);

#endif
