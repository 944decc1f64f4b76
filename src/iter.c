/* iter.c -- coalescing and parallel row/chunk scheduling for strided kernels */
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

static void run_task(const lt_iter *it, int64_t task, int64_t nchunks, int64_t chunk,
                     lt_inner_fn fn, void *ctx) {
  int last = it->ndim - 1;
  int64_t n = it->shape[last];
  int64_t row = task / nchunks, c = task % nchunks;
  int64_t start = c * chunk, len = n - start < chunk ? n - start : chunk;
  char *ptr[LT_ITER_MAX_OPS];
  int64_t inner[LT_ITER_MAX_OPS];
  for (int k = 0; k < it->nops; k++) {
    int64_t off = start * it->stride[k][last];
    int64_t r = row;
    for (int d = last - 1; d >= 0; d--) {
      off += (r % it->shape[d]) * it->stride[k][d];
      r /= it->shape[d];
    }
    ptr[k] = it->base[k] + off * (int64_t)it->elsize[k];
    inner[k] = it->stride[k][last];
  }
  fn(len, ptr, inner, ctx);
}

void lt_iter_run(const lt_iter *it, lt_inner_fn fn, void *ctx) {
  int last = it->ndim - 1;
  int64_t n = it->shape[last];
  if (n == 0) return;
  int64_t rows = 1;
  for (int d = 0; d < last; d++) rows *= it->shape[d];
  if (rows == 0) return;
  int64_t chunk = n > LT_PAR_GRAIN ? LT_PAR_GRAIN : n;
  int64_t nchunks = (n + chunk - 1) / chunk;
  int64_t tasks = rows * nchunks;
  int64_t total = rows * n;
  if (total < 2 * LT_PAR_GRAIN || lt_get_num_threads() == 1) {
    for (int64_t t = 0; t < tasks; t++) run_task(it, t, nchunks, chunk, fn, ctx);
    return;
  }
  /* many short rows: group rows so each task is about LT_PAR_GRAIN elements */
  if (nchunks == 1 && n < LT_PAR_GRAIN) {
    int64_t per = LT_PAR_GRAIN / n;
    int64_t groups = (rows + per - 1) / per;
#pragma omp parallel for schedule(static)
    for (int64_t g = 0; g < groups; g++) {
      int64_t end = (g + 1) * per < rows ? (g + 1) * per : rows;
      for (int64_t t = g * per; t < end; t++) run_task(it, t, 1, chunk, fn, ctx);
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tasks; t++) run_task(it, t, nchunks, chunk, fn, ctx);
}
