/* tensor.c -- storage, tensor lifecycle, views, copies and element access */
#include "tensor.h"
#include "iter.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---------------------------------------------------------------- */
static _Thread_local char errbuf[512];

const char *lt_errmsg(void) { return errbuf; }

int lt_seterr(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errbuf, sizeof errbuf, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- dtypes ---------------------------------------------------------------- */
static const char *dtype_names[] = {"float32", "float64", "int64"};
static const size_t dtype_sizes[] = {4, 8, 8};

size_t lt_dtype_size(lt_dtype dt) { return dtype_sizes[dt]; }
const char *lt_dtype_name(lt_dtype dt) { return dtype_names[dt]; }
int lt_is_float(lt_dtype dt) { return dt != LT_INT64; }

int lt_dtype_from_name(const char *name, lt_dtype *out) {
  static const struct { const char *name; lt_dtype dt; } names[] = {
      {"float32", LT_FLOAT32}, {"float", LT_FLOAT32},  {"float64", LT_FLOAT64},
      {"double", LT_FLOAT64},  {"int64", LT_INT64},    {"long", LT_INT64}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(name, names[i].name) == 0) { *out = names[i].dt; return 0; }
  return -1;
}

/* int64 < float32 < float64, as PyTorch promotes */
lt_dtype lt_promote(lt_dtype a, lt_dtype b) {
  if (a == LT_FLOAT64 || b == LT_FLOAT64) return LT_FLOAT64;
  if (a == LT_FLOAT32 || b == LT_FLOAT32) return LT_FLOAT32;
  return LT_INT64;
}

int64_t lt_double_to_i64(double v) {
  if (v != v) return 0;
  if (v >= 9223372036854775807.0) return INT64_MAX;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}

/* ---- lifecycle ------------------------------------------------------------- */
char *lt_shape_str(int ndim, const int64_t *shape, char *buf, size_t len) {
  size_t pos = 0;
  buf[0] = '\0';
  if (ndim == 0) { snprintf(buf, len, "scalar"); return buf; }
  for (int d = 0; d < ndim && pos < len; d++)
    pos += (size_t)snprintf(buf + pos, len - pos, d ? "x%lld" : "%lld", (long long)shape[d]);
  return buf;
}

/* bytes of tensor and storage headers: small, but a loop of tiny ops makes
   millions of them, so the GC pacing in the binding counts them too */
static size_t header_bytes;
size_t lt_mem_headers(void) { return header_bytes; }

static lt_storage *storage_new(size_t nbytes) {
  lt_storage *s = malloc(sizeof *s);
  if (!s) { lt_seterr("out of memory"); return NULL; }
  header_bytes += sizeof *s;
  s->data = NULL;
  s->nbytes = nbytes;
  s->refcount = 1;
  s->version = 0;
  if (nbytes > 0 && !(s->data = lt_alloc(nbytes))) { header_bytes -= sizeof *s; free(s); return NULL; }
  return s;
}

static void storage_release(lt_storage *s) {
  if (s && --s->refcount == 0) {
    if (s->data) lt_free(s->data, s->nbytes);
    header_bytes -= sizeof *s;
    free(s);
  }
}

static void contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) { stride[d] = s; s *= shape[d] > 0 ? shape[d] : 1; }
}

/* a tensor header over `storage` (retained) */
static lt_tensor *header(lt_storage *storage, lt_dtype dt, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset) {
  lt_tensor *t = malloc(sizeof *t);
  if (!t) { lt_seterr("out of memory"); return NULL; }
  header_bytes += sizeof *t;
  t->refcount = 1;
  t->dtype = dt;
  t->ndim = ndim;
  for (int d = 0; d < ndim; d++) { t->shape[d] = shape[d]; t->stride[d] = stride[d]; }
  t->offset = offset;
  t->storage = storage;
  t->ag = NULL;
  storage->refcount++;
  return t;
}

lt_tensor *lt_empty(lt_dtype dt, int ndim, const int64_t *shape) {
  char buf[128];
  if (ndim < 0 || ndim > LT_MAX_DIM) {
    lt_seterr("at most %d dimensions are supported, got %d", LT_MAX_DIM, ndim);
    return NULL;
  }
  uint64_t n = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0) {
      lt_seterr("size of dimension %d must be non-negative, got %lld", d + 1, (long long)shape[d]);
      return NULL;
    }
    if (shape[d] != 0 && n > ((uint64_t)1 << 62) / (uint64_t)shape[d] / 8) {
      lt_seterr("tensor of shape %s is too large", lt_shape_str(ndim, shape, buf, sizeof buf));
      return NULL;
    }
    n *= (uint64_t)shape[d];
  }
  lt_storage *s = storage_new(n * lt_dtype_size(dt));
  if (!s) {
    char size[32];
    lt_seterr("cannot allocate %s (%llu bytes) for a %s tensor of shape %s: %s",
              lt_format_bytes(n * lt_dtype_size(dt), size, sizeof size), (unsigned long long)(n * lt_dtype_size(dt)),
              lt_dtype_name(dt), lt_shape_str(ndim, shape, buf, sizeof buf), lt_mem_failure());
    return NULL;
  }
  int64_t stride[LT_MAX_DIM];
  contiguous_strides(ndim, shape, stride);
  lt_tensor *t = header(s, dt, ndim, shape, stride, 0);
  storage_release(s);
  return t;
}

lt_tensor *lt_zeros(lt_dtype dt, int ndim, const int64_t *shape) {
  lt_tensor *t = lt_empty(dt, ndim, shape);
  if (t && t->storage->nbytes) memset(t->storage->data, 0, t->storage->nbytes);
  return t;
}

lt_tensor *lt_retain(lt_tensor *t) { t->refcount++; return t; }

void (*lt_agmeta_free)(struct lt_agmeta *meta);

void lt_release(lt_tensor *t) {
  if (t && --t->refcount == 0) {
    if (t->ag) lt_agmeta_free(t->ag);
    storage_release(t->storage);
    header_bytes -= sizeof *t;
    free(t);
  }
}

int64_t lt_numel(const lt_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

int lt_is_contiguous(const lt_tensor *t) {
  int64_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->shape[d] != 1 && t->stride[d] != s) return 0;
    s *= t->shape[d];
  }
  return 1;
}

int lt_same_shape(const lt_tensor *a, const lt_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++) if (a->shape[d] != b->shape[d]) return 0;
  return 1;
}

void *lt_data(const lt_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)lt_dtype_size(t->dtype);
}

void lt_bump_version(lt_tensor *t) { t->storage->version++; }

int lt_check_writable(const lt_tensor *t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->stride[d] == 0 && t->shape[d] > 1)
      return lt_seterr("cannot write in place into an expanded tensor (several elements share "
                       "one memory location); clone() it first");
  return 0;
}

/* ---- element access -------------------------------------------------------- */
static char *element(const lt_tensor *t, const int64_t *idx) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
  return (char *)t->storage->data + off * (int64_t)lt_dtype_size(t->dtype);
}

double lt_get(const lt_tensor *t, const int64_t *idx) {
  char *p = element(t, idx);
  switch (t->dtype) {
  case LT_FLOAT32: return *(float *)p;
  case LT_FLOAT64: return *(double *)p;
  default: return (double)*(int64_t *)p;
  }
}

int64_t lt_get_i64(const lt_tensor *t, const int64_t *idx) {
  if (t->dtype == LT_INT64) return *(int64_t *)element(t, idx);
  return (int64_t)lt_get(t, idx);
}

void lt_set(lt_tensor *t, const int64_t *idx, double v) {
  char *p = element(t, idx);
  switch (t->dtype) {
  case LT_FLOAT32: *(float *)p = (float)v; break;
  case LT_FLOAT64: *(double *)p = v; break;
  default: *(int64_t *)p = lt_double_to_i64(v); break;
  }
}

void lt_set_i64(lt_tensor *t, const int64_t *idx, int64_t v) {
  if (t->dtype == LT_INT64) *(int64_t *)element(t, idx) = v;
  else lt_set(t, idx, (double)v);
}

/* ---- views ----------------------------------------------------------------- */
lt_tensor *lt_as_strided(lt_tensor *t, int ndim, const int64_t *shape, const int64_t *stride,
                         int64_t offset) {
  return header(t->storage, t->dtype, ndim, shape, stride, offset);
}

static int check_dim(int dim, int ndim) {
  if (dim < 0 || dim >= ndim) {
    if (ndim == 0) return lt_seterr("dimension %d is out of range for a 0-dim tensor", dim + 1);
    return lt_seterr("dimension %d is out of range (tensor has %d dimension%s)", dim + 1, ndim,
                     ndim == 1 ? "" : "s");
  }
  return 0;
}

/* resolve one -1 and check that the element count matches */
static int infer_shape(const lt_tensor *t, int ndim, const int64_t *in, int64_t *out) {
  char a[128], b[128];
  int64_t known = 1;
  int infer = -1, zero = 0, overflow = 0;
  if (ndim > LT_MAX_DIM) return lt_seterr("at most %d dimensions are supported", LT_MAX_DIM);
  for (int d = 0; d < ndim; d++) {
    out[d] = in[d];
    if (in[d] == -1) {
      if (infer >= 0) return lt_seterr("only one dimension can be -1");
      infer = d;
    } else if (in[d] < 0) {
      return lt_seterr("invalid size %lld in shape", (long long)in[d]);
    } else if (in[d] == 0) {
      zero = 1;
    } else if (known > INT64_MAX / in[d]) {
      overflow = 1; /* a wrapped product could match numel 0 and make a view past the storage */
    } else {
      known *= in[d];
    }
  }
  if (zero) known = 0;
  else if (overflow) return lt_seterr("shape %s is too large", lt_shape_str(ndim, in, a, sizeof a));
  int64_t n = lt_numel(t);
  if (infer >= 0) {
    if (known == 0 || n % known != 0)
      return lt_seterr("shape %s is invalid for a tensor of %lld elements",
                       lt_shape_str(ndim, in, a, sizeof a), (long long)n);
    out[infer] = n / known;
  } else if (known != n) {
    return lt_seterr("shape %s is invalid for a tensor of shape %s (%lld elements)",
                     lt_shape_str(ndim, in, a, sizeof a),
                     lt_shape_str(t->ndim, t->shape, b, sizeof b), (long long)n);
  }
  return 0;
}

/* strides for viewing t with a new shape without copying, or -1 if the
   layout does not allow it. Old dims are taken in runs that are contiguous
   among themselves; each run must be covered exactly by a run of new dims,
   which then step through it with the run's innermost stride. */
static int view_strides(const lt_tensor *t, int ndim, const int64_t *shape, int64_t *stride) {
  if (lt_numel(t) == 0 || t->ndim == 0) { contiguous_strides(ndim, shape, stride); return 0; }
  int nd = ndim - 1;
  int64_t base = t->stride[t->ndim - 1], old_n = 1, new_n = 1;
  for (int od = t->ndim - 1; od >= 0; od--) {
    old_n *= t->shape[od];
    int run_ends = od == 0 || (t->shape[od - 1] != 1 && t->stride[od - 1] != old_n * base);
    if (!run_ends) continue;
    while (nd >= 0 && (new_n < old_n || shape[nd] == 1)) {
      stride[nd] = new_n * base;
      new_n *= shape[nd];
      nd--;
    }
    if (new_n != old_n) return -1;
    if (od > 0) { base = t->stride[od - 1]; old_n = 1; new_n = 1; }
  }
  return nd == -1 ? 0 : -1;
}

lt_tensor *lt_view(lt_tensor *t, int ndim, const int64_t *shape) {
  int64_t sh[LT_MAX_DIM], st[LT_MAX_DIM];
  char a[128], b[128];
  if (infer_shape(t, ndim, shape, sh) < 0) return NULL;
  if (view_strides(t, ndim, sh, st) < 0) {
    lt_seterr("cannot view a non-contiguous tensor of shape %s as %s; use reshape",
              lt_shape_str(t->ndim, t->shape, a, sizeof a), lt_shape_str(ndim, sh, b, sizeof b));
    return NULL;
  }
  return header(t->storage, t->dtype, ndim, sh, st, t->offset);
}

lt_tensor *lt_reshape(lt_tensor *t, int ndim, const int64_t *shape) {
  int64_t sh[LT_MAX_DIM], st[LT_MAX_DIM];
  if (infer_shape(t, ndim, shape, sh) < 0) return NULL;
  if (view_strides(t, ndim, sh, st) == 0) return header(t->storage, t->dtype, ndim, sh, st, t->offset);
  lt_tensor *c = lt_contiguous(t);
  if (!c) return NULL;
  lt_tensor *v = lt_view(c, ndim, sh);
  lt_release(c);
  return v;
}

lt_tensor *lt_transpose(lt_tensor *t, int d0, int d1) {
  if (check_dim(d0, t->ndim) < 0 || check_dim(d1, t->ndim) < 0) return NULL;
  lt_tensor *v = header(t->storage, t->dtype, t->ndim, t->shape, t->stride, t->offset);
  if (!v) return NULL;
  v->shape[d0] = t->shape[d1]; v->shape[d1] = t->shape[d0];
  v->stride[d0] = t->stride[d1]; v->stride[d1] = t->stride[d0];
  return v;
}

lt_tensor *lt_permute(lt_tensor *t, const int *dims) {
  int seen[LT_MAX_DIM] = {0};
  int64_t sh[LT_MAX_DIM], st[LT_MAX_DIM];
  for (int d = 0; d < t->ndim; d++) {
    if (check_dim(dims[d], t->ndim) < 0) return NULL;
    if (seen[dims[d]]++) { lt_seterr("dimension %d appears twice", dims[d] + 1); return NULL; }
    sh[d] = t->shape[dims[d]];
    st[d] = t->stride[dims[d]];
  }
  return header(t->storage, t->dtype, t->ndim, sh, st, t->offset);
}

lt_tensor *lt_narrow(lt_tensor *t, int dim, int64_t start, int64_t length) {
  if (check_dim(dim, t->ndim) < 0) return NULL;
  if (start < 0 || length < 0 || start + length > t->shape[dim]) {
    lt_seterr("range %lld..%lld is out of bounds for dimension %d of size %lld",
              (long long)start + 1, (long long)(start + length), dim + 1, (long long)t->shape[dim]);
    return NULL;
  }
  lt_tensor *v = header(t->storage, t->dtype, t->ndim, t->shape, t->stride,
                        t->offset + start * t->stride[dim]);
  if (v) v->shape[dim] = length;
  return v;
}

lt_tensor *lt_slice(lt_tensor *t, int dim, int64_t start, int64_t stop, int64_t step) {
  if (check_dim(dim, t->ndim) < 0) return NULL;
  if (step <= 0) { lt_seterr("slice step must be positive, got %lld", (long long)step); return NULL; }
  if (start < 0 || stop > t->shape[dim] || start > stop) {
    lt_seterr("range %lld..%lld is out of bounds for dimension %d of size %lld",
              (long long)start + 1, (long long)stop, dim + 1, (long long)t->shape[dim]);
    return NULL;
  }
  lt_tensor *v = header(t->storage, t->dtype, t->ndim, t->shape, t->stride,
                        t->offset + start * t->stride[dim]);
  if (v) {
    v->shape[dim] = (stop - start + step - 1) / step;
    v->stride[dim] = t->stride[dim] * step;
  }
  return v;
}

lt_tensor *lt_select(lt_tensor *t, int dim, int64_t index) {
  if (check_dim(dim, t->ndim) < 0) return NULL;
  if (index < 0 || index >= t->shape[dim]) {
    lt_seterr("index %lld is out of range for dimension %d of size %lld", (long long)index + 1,
              dim + 1, (long long)t->shape[dim]);
    return NULL;
  }
  int64_t sh[LT_MAX_DIM], st[LT_MAX_DIM];
  int n = 0;
  for (int d = 0; d < t->ndim; d++)
    if (d != dim) { sh[n] = t->shape[d]; st[n] = t->stride[d]; n++; }
  return header(t->storage, t->dtype, n, sh, st, t->offset + index * t->stride[dim]);
}

lt_tensor *lt_squeeze(lt_tensor *t, int dim) {
  if (dim >= 0 && check_dim(dim, t->ndim) < 0) return NULL;
  int64_t sh[LT_MAX_DIM], st[LT_MAX_DIM];
  int n = 0;
  for (int d = 0; d < t->ndim; d++) {
    int drop = t->shape[d] == 1 && (dim < 0 || d == dim);
    if (!drop) { sh[n] = t->shape[d]; st[n] = t->stride[d]; n++; }
  }
  return header(t->storage, t->dtype, n, sh, st, t->offset);
}

lt_tensor *lt_unsqueeze(lt_tensor *t, int dim) {
  if (dim < 0 || dim > t->ndim) {
    lt_seterr("dimension %d is out of range (expected 1 to %d)", dim + 1, t->ndim + 1);
    return NULL;
  }
  if (t->ndim == LT_MAX_DIM) { lt_seterr("at most %d dimensions are supported", LT_MAX_DIM); return NULL; }
  int64_t sh[LT_MAX_DIM], st[LT_MAX_DIM];
  for (int d = 0, s = 0; d <= t->ndim; d++) {
    if (d == dim) {
      sh[d] = 1;
      st[d] = dim < t->ndim ? t->stride[dim] * t->shape[dim] : 1;
    } else {
      sh[d] = t->shape[s]; st[d] = t->stride[s]; s++;
    }
  }
  return header(t->storage, t->dtype, t->ndim + 1, sh, st, t->offset);
}

lt_tensor *lt_expand(lt_tensor *t, int ndim, const int64_t *shape) {
  char a[128], b[128];
  int64_t sh[LT_MAX_DIM], st[LT_MAX_DIM];
  if (ndim < t->ndim || ndim > LT_MAX_DIM) goto bad;
  for (int d = 0; d < ndim; d++) {
    int od = d - (ndim - t->ndim);
    sh[d] = shape[d];
    if (od < 0) {
      if (shape[d] < 0) goto bad;
      st[d] = 0;
    } else if (shape[d] == -1 || shape[d] == t->shape[od]) {
      sh[d] = t->shape[od]; st[d] = t->stride[od];
    } else if (t->shape[od] == 1 && shape[d] >= 0) {
      st[d] = 0;
    } else {
      goto bad;
    }
  }
  /* the element count must fit in int64, or numel() wraps (to 0 for 2^40 x 2^40) */
  int64_t count = 1;
  for (int d = 0; d < ndim; d++) if (sh[d] == 0) count = 0;
  for (int d = 0; d < ndim && count; d++) {
    if (count > INT64_MAX / sh[d]) {
      lt_seterr("cannot expand to shape %s: too many elements", lt_shape_str(ndim, sh, a, sizeof a));
      return NULL;
    }
    count *= sh[d];
  }
  return header(t->storage, t->dtype, ndim, sh, st, t->offset);
bad:
  lt_seterr("cannot expand shape %s to %s", lt_shape_str(t->ndim, t->shape, a, sizeof a),
            lt_shape_str(ndim, shape, b, sizeof b));
  return NULL;
}

lt_tensor *lt_flatten(lt_tensor *t, int start, int end) {
  if (t->ndim == 0) return lt_reshape(t, 1, (int64_t[]){1});
  if (check_dim(start, t->ndim) < 0 || check_dim(end, t->ndim) < 0) return NULL;
  if (start > end) { lt_seterr("start dimension %d is after end dimension %d", start + 1, end + 1); return NULL; }
  int64_t sh[LT_MAX_DIM];
  int n = 0;
  for (int d = 0; d < start; d++) sh[n++] = t->shape[d];
  int64_t m = 1;
  for (int d = start; d <= end; d++) m *= t->shape[d];
  sh[n++] = m;
  for (int d = end + 1; d < t->ndim; d++) sh[n++] = t->shape[d];
  return lt_reshape(t, n, sh);
}

/* ---- copies ---------------------------------------------------------------- */
#define CAST_LOOP(TD, TS)                                                        \
  do {                                                                           \
    TD *o = (TD *)p[0];                                                          \
    const TS *i = (const TS *)p[1];                                              \
    if (s[0] == 1 && s[1] == 1) for (int64_t k = 0; k < n; k++) o[k] = (TD)i[k]; \
    else for (int64_t k = 0; k < n; k++) o[k * s[0]] = (TD)i[k * s[1]];          \
  } while (0)

#define CAST_FN(NAME, TD, TS)                                                   \
  static void NAME(int64_t n, char **p, const int64_t *s, void *ctx) {          \
    (void)ctx;                                                                  \
    CAST_LOOP(TD, TS);                                                          \
  }
CAST_FN(cp_f_f, float, float)
CAST_FN(cp_f_d, float, double)
CAST_FN(cp_f_l, float, int64_t)
CAST_FN(cp_d_f, double, float)
CAST_FN(cp_d_d, double, double)
CAST_FN(cp_d_l, double, int64_t)
/* float to int64 saturates (NaN to 0): a plain cast of NaN/inf is undefined */
#define SAT_FN(NAME, TS)                                                        \
  static void NAME(int64_t n, char **p, const int64_t *s, void *ctx) {          \
    (void)ctx;                                                                  \
    int64_t *o = (int64_t *)p[0];                                               \
    const TS *i = (const TS *)p[1];                                             \
    for (int64_t k = 0; k < n; k++) o[k * s[0]] = lt_double_to_i64(i[k * s[1]]); \
  }
SAT_FN(cp_l_f, float)
SAT_FN(cp_l_d, double)
CAST_FN(cp_l_l, int64_t, int64_t)

static const lt_inner_fn copy_fns[3][3] = {
    {cp_f_f, cp_f_d, cp_f_l}, {cp_d_f, cp_d_d, cp_d_l}, {cp_l_f, cp_l_d, cp_l_l}};

int lt_copy_(lt_tensor *dst, lt_tensor *src) {
  char a[128], b[128];
  if (lt_check_writable(dst) < 0) return -1;
  lt_iter it;
  lt_tensor *ops[2] = {dst, src};
  if (lt_iter_tensors(&it, 2, ops, dst->ndim, dst->shape) < 0)
    return lt_seterr("cannot copy a tensor of shape %s into one of shape %s",
                     lt_shape_str(src->ndim, src->shape, a, sizeof a),
                     lt_shape_str(dst->ndim, dst->shape, b, sizeof b));
  /* overlapping src and dst (e.g. x[{2,n}] = x[{1,n-1}]): copy src first */
  lt_tensor *tmp = NULL;
  if (src->storage == dst->storage && lt_numel(dst) > 0) {
    if (!(tmp = lt_clone(src))) return -1;
    ops[1] = tmp;
    lt_iter_tensors(&it, 2, ops, dst->ndim, dst->shape);
  }
  lt_iter_run(&it, copy_fns[dst->dtype][ops[1]->dtype], NULL);
  lt_release(tmp);
  lt_bump_version(dst);
  return 0;
}

static void clamp_to_int_range(int64_t n, char **p, const int64_t *s, void *ctx) {
  (void)ctx;
  int64_t *o = (int64_t *)p[0];
  for (int64_t k = 0; k < n; k++) {
    o[k * s[0]] = lt_double_to_i64(((const double *)p[1])[k * s[1]]);
  }
}

lt_tensor *lt_to(lt_tensor *t, lt_dtype dt) {
  if (t->dtype == dt) return lt_retain(t);
  lt_tensor *o = lt_empty(dt, t->ndim, t->shape);
  if (!o) return NULL;
  if (dt == LT_INT64) {
    /* go through float64 and saturate, so NaN/inf never reach an undefined cast */
    lt_tensor *d = lt_to(t, LT_FLOAT64);
    if (!d) { lt_release(o); return NULL; }
    lt_iter it;
    lt_tensor *ops[2] = {o, d};
    lt_iter_tensors(&it, 2, ops, o->ndim, o->shape);
    lt_iter_run(&it, clamp_to_int_range, NULL);
    lt_release(d);
    return o;
  }
  lt_copy_(o, t);
  return o;
}

lt_tensor *lt_clone(lt_tensor *t) {
  lt_tensor *o = lt_empty(t->dtype, t->ndim, t->shape);
  if (!o) return NULL;
  lt_iter it;
  lt_tensor *ops[2] = {o, t};
  lt_iter_tensors(&it, 2, ops, o->ndim, o->shape);
  lt_iter_run(&it, copy_fns[t->dtype][t->dtype], NULL);
  return o;
}

lt_tensor *lt_contiguous(lt_tensor *t) {
  if (lt_is_contiguous(t)) return lt_retain(t);
  return lt_clone(t);
}

#define FILL_FN(NAME, T)                                                       \
  static void NAME(int64_t n, char **p, const int64_t *s, void *ctx) {         \
    T v = *(const T *)ctx, *o = (T *)p[0];                                     \
    if (s[0] == 1) for (int64_t k = 0; k < n; k++) o[k] = v;                   \
    else for (int64_t k = 0; k < n; k++) o[k * s[0]] = v;                      \
  }
FILL_FN(fill_f, float)
FILL_FN(fill_d, double)
FILL_FN(fill_l, int64_t)

int lt_fill_(lt_tensor *t, double v) {
  if (lt_check_writable(t) < 0) return -1;
  lt_iter it;
  lt_iter_tensors(&it, 1, &t, t->ndim, t->shape);
  float f = (float)v;
  int64_t l = lt_double_to_i64(v);
  switch (t->dtype) {
  case LT_FLOAT32: lt_iter_run(&it, fill_f, &f); break;
  case LT_FLOAT64: lt_iter_run(&it, fill_d, &v); break;
  default: lt_iter_run(&it, fill_l, &l); break;
  }
  lt_bump_version(t);
  return 0;
}

/* ---- ranges ---------------------------------------------------------------- */
/* element i of a fresh contiguous tensor */
static void set_flat(lt_tensor *t, int64_t i, double v) {
  switch (t->dtype) {
  case LT_FLOAT32: ((float *)lt_data(t))[i] = (float)v; break;
  case LT_FLOAT64: ((double *)lt_data(t))[i] = v; break;
  default: ((int64_t *)lt_data(t))[i] = lt_double_to_i64(v); break;
  }
}

lt_tensor *lt_arange(lt_dtype dt, double start, double end, double step) {
  if (step == 0 || step != step) { lt_seterr("step must be non-zero"); return NULL; }
  if (!isfinite(start) || !isfinite(end)) { lt_seterr("start and end must be finite"); return NULL; }
  double count = ceil((end - start) / step);
  if (count < 0) count = 0;
  if (count > 1e15) { lt_seterr("range of %.0f elements is too large", count); return NULL; }
  int64_t n = (int64_t)count;
  lt_tensor *t = lt_empty(dt, 1, &n);
  if (!t) return NULL;
  for (int64_t i = 0; i < n; i++) set_flat(t, i, start + (double)i * step);
  return t;
}

lt_tensor *lt_linspace(lt_dtype dt, double start, double end, int64_t n) {
  if (n < 0) { lt_seterr("number of steps must be non-negative, got %lld", (long long)n); return NULL; }
  lt_tensor *t = lt_empty(dt, 1, &n);
  if (!t) return NULL;
  double step = n > 1 ? (end - start) / (double)(n - 1) : 0;
  for (int64_t i = 0; i < n; i++) {
    /* the second half counts back from `end` so the last value is exact;
       (n + 1) / 2 so that n = 1 gives `start`, as in PyTorch */
    double v = i < (n + 1) / 2 ? start + step * (double)i : end - step * (double)(n - 1 - i);
    set_flat(t, i, v);
  }
  return t;
}

lt_tensor *lt_eye(lt_dtype dt, int64_t n, int64_t m) {
  lt_tensor *t = lt_zeros(dt, 2, (int64_t[]){n, m});
  if (!t) return NULL;
  for (int64_t i = 0; i < n && i < m; i++) set_flat(t, i * m + i, 1.0);
  return t;
}
