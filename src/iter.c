/* iter.c -- coalescing and parallel scheduling for strided kernels */
#include "iter.h"
#include <string.h>

int lt_broadcast_strides(const lt_tensor *t, int ndim, const int64_t *shape, int64_t *stride) {
  int lead = ndim - t->ndim;
  if (lead < 0) return -1;
  for (int d = 0; d < ndim; d++) {
    if (d < lead) { stride[d] = 0; continue; }
    int64_t s = t->shape[d - lead];
    if (s == shape[d]) stride[d] = t->stride[d - lead];
    else if (s == 1) stride[d] = 0;
    else return -1;
  }
  return 0;
}

void lt_iter_init(lt_iter *it, int nops, int ndim, const int64_t *shape,
                  char **base, const size_t *elsize, int64_t strides[][LT_MAX_DIM]) {
  it->nops = nops;
  for (int k = 0; k < nops; k++) { it->base[k] = base[k]; it->elsize[k] = elsize[k]; }
  /* drop size-1 dims, then merge dim d into d+1 when every operand is
     laid out so that stepping d equals stepping d+1 shape[d+1] times */
  int nd = 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 1) continue;
    if (nd > 0) {
      int merge = 1;
      for (int k = 0; k < nops; k++)
        if (it->stride[k][nd - 1] != strides[k][d] * shape[d]) { merge = 0; break; }
      if (merge) {
        it->shape[nd - 1] *= shape[d];
        for (int k = 0; k < nops; k++) it->stride[k][nd - 1] = strides[k][d];
        continue;
      }
    }
    it->shape[nd] = shape[d];
    for (int k = 0; k < nops; k++) it->stride[k][nd] = strides[k][d];
    nd++;
  }
  for (int d = 0; d < ndim; d++)
    if (shape[d] == 0) { nd = 1; it->shape[0] = 0; for (int k = 0; k < nops; k++) it->stride[k][0] = 0; break; }
  if (nd == 0) { nd = 1; it->shape[0] = 1; for (int k = 0; k < nops; k++) it->stride[k][0] = 0; }
  it->ndim = nd;
}

int lt_iter_tensors(lt_iter *it, int nops, lt_tensor **ts, int ndim, const int64_t *shape) {
  int64_t strides[LT_ITER_MAX_OPS][LT_MAX_DIM];
  char *base[LT_ITER_MAX_OPS];
  size_t elsize[LT_ITER_MAX_OPS];
  for (int k = 0; k < nops; k++) {
    if (lt_broadcast_strides(ts[k], ndim, shape, strides[k]) < 0) return -1;
    base[k] = lt_data(ts[k]);
    elsize[k] = lt_dtype_size(ts[k]->dtype);
  }
  lt_iter_init(it, nops, ndim, shape, base, elsize, strides);
  return 0;
}

/* run fn over elements [start, end) of the rows x n index space, one call per
   piece of a row */
static void run_range(const lt_iter *it, int64_t start, int64_t end, lt_inner_fn fn, void *ctx) {
  int last = it->ndim - 1;
  int64_t n = it->shape[last];
  char *ptr[LT_ITER_MAX_OPS];
  int64_t inner[LT_ITER_MAX_OPS];
  for (int k = 0; k < it->nops; k++) inner[k] = it->stride[k][last];
  for (int64_t pos = start; pos < end;) {
    int64_t row = pos / n, col = pos % n, len = n - col < end - pos ? n - col : end - pos;
    for (int k = 0; k < it->nops; k++) {
      int64_t off = col * it->stride[k][last], r = row;
      for (int d = last - 1; d >= 0; d--) {
        off += (r % it->shape[d]) * it->stride[k][d];
        r /= it->shape[d];
      }
      ptr[k] = it->base[k] + off * (int64_t)it->elsize[k];
    }
    fn(len, ptr, inner, ctx);
    pos += len;
  }
}

/* Pointwise kernels give the same result however the work is cut, so each
   thread takes one equal share of the elements (an uneven count of fixed
   chunks left one thread idle for the last chunk). */
void lt_iter_run(const lt_iter *it, lt_inner_fn fn, void *ctx) {
  int64_t total = 1;
  for (int d = 0; d < it->ndim; d++) total *= it->shape[d];
  if (total == 0) return;
  int nt = lt_get_num_threads();
  if (total < 2 * LT_PAR_GRAIN || nt == 1) {
    run_range(it, 0, total, fn, ctx);
    return;
  }
  if ((int64_t)nt > total / LT_PAR_GRAIN) nt = (int)(total / LT_PAR_GRAIN);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int t = 0; t < nt; t++) run_range(it, total * t / nt, total * (t + 1) / nt, fn, ctx);
}
