/* index.c -- gathering by index tensors, and joining tensors */
#include "iter.h"
#include <stdlib.h>
#include <string.h>

static int check_index(lt_tensor *index, const char *what) {
  if (index->dtype != LT_INT64)
    return lt_seterr("%s must be an int64 tensor, got %s", what, lt_dtype_name(index->dtype));
  return 0;
}

/* out = t with positions along dim taken from the 1-d index (0-based) */
lt_tensor *lt_index_select(lt_tensor *t, int dim, lt_tensor *index) {
  if (dim < 0 || dim >= t->ndim)
    return lt_seterr("dimension %d is out of range (tensor has %d dimensions)", dim + 1, t->ndim), NULL;
  if (check_index(index, "index") < 0) return NULL;
  if (index->ndim > 1) return lt_seterr("index must be 1-d, got %d dimensions", index->ndim), NULL;
  int64_t n = lt_numel(index), size = t->shape[dim];
  lt_tensor *idx = lt_contiguous(index);
  if (!idx) return NULL;
  const int64_t *ix = lt_data(idx);
  for (int64_t i = 0; i < n; i++)
    if (ix[i] < 0 || ix[i] >= size) {
      lt_seterr("index %lld is out of range for dimension %d of size %lld", (long long)ix[i] + 1,
                dim + 1, (long long)size);
      lt_release(idx);
      return NULL;
    }
  int64_t shape[LT_MAX_DIM];
  for (int d = 0; d < t->ndim; d++) shape[d] = d == dim ? n : t->shape[d];
  lt_tensor *out = lt_empty(t->dtype, t->ndim, shape);
  for (int64_t i = 0; out && i < n; i++) {
    lt_tensor *src = lt_select(t, dim, ix[i]), *dst = lt_select(out, dim, i);
    if (src && dst) lt_copy_(dst, src);
    lt_release(src);
    lt_release(dst);
  }
  lt_release(idx);
  return out;
}

/* out[i][j][k] = t[index[i][j][k]][j][k] for dim 0, and so on (0-based) */
lt_tensor *lt_gather(lt_tensor *t, int dim, lt_tensor *index) {
  char a[128], b[128];
  if (dim < 0 || dim >= t->ndim)
    return lt_seterr("dimension %d is out of range (tensor has %d dimensions)", dim + 1, t->ndim), NULL;
  if (check_index(index, "index") < 0) return NULL;
  if (index->ndim != t->ndim)
    return lt_seterr("index has %d dimensions but the tensor has %d", index->ndim, t->ndim), NULL;
  for (int d = 0; d < t->ndim; d++)
    if (d != dim && index->shape[d] > t->shape[d])
      return lt_seterr("index of shape %s is larger than the tensor of shape %s in dimension %d",
                       lt_shape_str(index->ndim, index->shape, a, sizeof a),
                       lt_shape_str(t->ndim, t->shape, b, sizeof b), d + 1), NULL;
  lt_tensor *out = lt_empty(t->dtype, index->ndim, index->shape);
  if (!out) return NULL;
  int64_t n = lt_numel(index), idx[LT_MAX_DIM] = {0}, src[LT_MAX_DIM];
  size_t es = lt_dtype_size(t->dtype);
  char *o = lt_data(out);
  for (int64_t i = 0; i < n; i++) {
    int64_t k = lt_get_i64(index, idx);
    if (k < 0 || k >= t->shape[dim]) {
      lt_seterr("index %lld is out of range for dimension %d of size %lld", (long long)k + 1,
                dim + 1, (long long)t->shape[dim]);
      lt_release(out);
      return NULL;
    }
    memcpy(src, idx, sizeof src);
    src[dim] = k;
    int64_t off = t->offset;
    for (int d = 0; d < t->ndim; d++) off += src[d] * t->stride[d];
    memcpy(o + i * (int64_t)es, (char *)t->storage->data + off * (int64_t)es, es);
    for (int d = t->ndim - 1; d >= 0; d--) {
      if (++idx[d] < index->shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

lt_tensor *lt_cat(lt_tensor **ts, int n, int dim) {
  char a[128], b[128];
  if (n <= 0) return lt_seterr("expected a non-empty list of tensors"), NULL;
  lt_tensor *ref = ts[0];
  if (dim < 0 || dim >= ref->ndim)
    return lt_seterr("dimension %d is out of range (tensors have %d dimensions)", dim + 1, ref->ndim), NULL;
  lt_dtype dt = ref->dtype;
  int64_t shape[LT_MAX_DIM];
  for (int d = 0; d < ref->ndim; d++) shape[d] = ref->shape[d];
  shape[dim] = 0;
  for (int i = 0; i < n; i++) {
    lt_tensor *t = ts[i];
    int ok = t->ndim == ref->ndim;
    for (int d = 0; ok && d < ref->ndim; d++) ok = d == dim || t->shape[d] == ref->shape[d];
    if (!ok)
      return lt_seterr("tensor %d has shape %s, which does not match %s outside dimension %d", i + 1,
                       lt_shape_str(t->ndim, t->shape, a, sizeof a),
                       lt_shape_str(ref->ndim, ref->shape, b, sizeof b), dim + 1), NULL;
    shape[dim] += t->shape[dim];
    dt = lt_promote(dt, t->dtype);
  }
  lt_tensor *out = lt_empty(dt, ref->ndim, shape);
  int64_t at = 0;
  for (int i = 0; out && i < n; i++) {
    lt_tensor *dst = lt_narrow(out, dim, at, ts[i]->shape[dim]);
    if (dst) lt_copy_(dst, ts[i]);
    lt_release(dst);
    at += ts[i]->shape[dim];
  }
  return out;
}

lt_tensor *lt_stack(lt_tensor **ts, int n, int dim) {
  char a[128], b[128];
  if (n <= 0) return lt_seterr("expected a non-empty list of tensors"), NULL;
  if (dim < 0 || dim > ts[0]->ndim)
    return lt_seterr("dimension %d is out of range (expected 1 to %d)", dim + 1, ts[0]->ndim + 1), NULL;
  for (int i = 1; i < n; i++)
    if (!lt_same_shape(ts[i], ts[0]))
      return lt_seterr("tensor %d has shape %s but tensor 1 has shape %s", i + 1,
                       lt_shape_str(ts[i]->ndim, ts[i]->shape, a, sizeof a),
                       lt_shape_str(ts[0]->ndim, ts[0]->shape, b, sizeof b)), NULL;
  lt_tensor **us = malloc((size_t)n * sizeof *us); /* n comes from a Lua list: not the stack */
  if (!us) return lt_seterr("out of memory stacking %d tensors", n), NULL;
  int made = 0;
  lt_tensor *out = NULL;
  for (; made < n; made++)
    if (!(us[made] = lt_unsqueeze(ts[made], dim))) break;
  if (made == n) out = lt_cat(us, n, dim);
  for (int i = 0; i < made; i++) lt_release(us[i]);
  free(us);
  return out;
}

int lt_index_add_(lt_tensor *dst, int dim, lt_tensor *index, lt_tensor *src) {
  if (check_index(index, "index") < 0) return -1;
  int64_t n = lt_numel(index);
  if (index->ndim > 1 || dim < 0 || dim >= dst->ndim || src->ndim != dst->ndim || src->shape[dim] != n)
    return lt_seterr("index_add: index of %lld positions does not fit source and destination", (long long)n);
  for (int64_t i = 0; i < n; i++) {
    int64_t k = lt_get_i64(index, &i);
    if (k < 0 || k >= dst->shape[dim])
      return lt_seterr("index %lld is out of range for dimension %d of size %lld", (long long)k + 1, dim + 1,
                       (long long)dst->shape[dim]);
    lt_tensor *d = lt_select(dst, dim, k), *sv = lt_select(src, dim, i);
    int rc = (d && sv) ? lt_binary_(LT_ADD, d, sv) : -1;
    lt_release(d);
    lt_release(sv);
    if (rc < 0) return -1;
  }
  return 0;
}

/* element by element, in index order, so repeated indices add up the same way every time */
int lt_scatter_add_(lt_tensor *dst, int dim, lt_tensor *index, lt_tensor *src) {
  if (check_index(index, "index") < 0) return -1;
  if (index->ndim != dst->ndim || !lt_same_shape(index, src) || dim < 0 || dim >= dst->ndim)
    return lt_seterr("scatter_add: index, source and destination shapes do not fit");
  if (lt_check_writable(dst) < 0) return -1;
  int64_t n = lt_numel(index), idx[LT_MAX_DIM] = {0}, at[LT_MAX_DIM];
  for (int64_t i = 0; i < n; i++) {
    int64_t k = lt_get_i64(index, idx);
    if (k < 0 || k >= dst->shape[dim])
      return lt_seterr("index %lld is out of range for dimension %d of size %lld", (long long)k + 1, dim + 1,
                       (long long)dst->shape[dim]);
    memcpy(at, idx, sizeof at);
    at[dim] = k;
    lt_set(dst, at, lt_get(dst, at) + lt_get(src, idx));
    for (int d = index->ndim - 1; d >= 0; d--) {
      if (++idx[d] < index->shape[d]) break;
      idx[d] = 0;
    }
  }
  lt_bump_version(dst);
  return 0;
}
