/* reduce.c -- reductions and softmax.
 *
 * The input is viewed as (outer, n, inner) with the reduced dimension in the
 * middle (contiguous copy first if needed); every output element reduces one
 * line of n values with stride `inner`. Floating sums accumulate in double
 * with eight fixed lanes, and reductions over all elements combine fixed
 * blocks in index order, so results do not depend on the thread count.
 * NaN propagates through max/min, as in PyTorch.
 */
#include "iter.h"
#include <math.h>
#include <stdlib.h>

#define BLOCK 65536 /* elements per partial result of an all-reduce */

static const char *reduce_names[] = {"sum", "mean", "prod", "max", "min", "argmax",
                                     "argmin", "var", "std", "logsumexp"};

typedef struct { double v; int64_t i; int64_t l; } acc; /* l: exact int64 value */

/* one line of a float dtype */
#define FLOAT_LINE(NAME, T)                                                       \
  static acc NAME(int op, const T *x, int64_t n, int64_t st, double center) {    \
    acc r = {0, 0, 0};                                                            \
    switch (op) {                                                                 \
    case LT_SUM: case LT_MEAN: {                                                  \
      double l[8] = {0};                                                          \
      int64_t k = 0;                                                              \
      if (st == 1)                                                                \
        for (; k + 8 <= n; k += 8)                                                \
          for (int j = 0; j < 8; j++) l[j] += x[k + j];                           \
      for (; k < n; k++) l[k & 7] += x[k * st];                                   \
      r.v = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));    \
      break;                                                                      \
    }                                                                             \
    case LT_PROD: {                                                               \
      double p = 1;                                                               \
      for (int64_t k = 0; k < n; k++) p *= x[k * st];                             \
      r.v = p;                                                                    \
      break;                                                                      \
    }                                                                             \
    case LT_MAX: case LT_ARGMAX: case LT_MIN: case LT_ARGMIN: {                   \
      int want_max = op == LT_MAX || op == LT_ARGMAX;                             \
      T best = x[0];                                                              \
      int64_t bi = 0;                                                             \
      for (int64_t k = 1; k < n && best == best; k++) {                           \
        T v = x[k * st];                                                          \
        if (v != v || (want_max ? v > best : v < best)) { best = v; bi = k; }     \
      }                                                                           \
      r.v = best; r.i = bi;                                                       \
      break;                                                                      \
    }                                                                             \
    case LT_VAR: case LT_STD: { /* sum of squared deviations from center */       \
      double s = 0;                                                               \
      for (int64_t k = 0; k < n; k++) { double d = x[k * st] - center; s += d * d; } \
      r.v = s;                                                                    \
      break;                                                                      \
    }                                                                             \
    case LT_LOGSUMEXP: { /* sum of exp(x - center), center = max */               \
      double s = 0;                                                               \
      for (int64_t k = 0; k < n; k++) s += exp((double)x[k * st] - center);       \
      r.v = s;                                                                    \
      break;                                                                      \
    }                                                                             \
    }                                                                             \
    return r;                                                                     \
  }
FLOAT_LINE(line_f32, float)
FLOAT_LINE(line_f64, double)

static acc line_i64(int op, const int64_t *x, int64_t n, int64_t st) {
  acc r = {0, 0, 0};
  if (op == LT_SUM || op == LT_PROD) {
    int64_t a = op == LT_PROD;
    for (int64_t k = 0; k < n; k++) a = op == LT_SUM ? a + x[k * st] : a * x[k * st];
    r.l = a;
  } else {
    int want_max = op == LT_MAX || op == LT_ARGMAX;
    int64_t best = x[0], bi = 0;
    for (int64_t k = 1; k < n; k++) {
      int64_t v = x[k * st];
      if (want_max ? v > best : v < best) { best = v; bi = k; }
    }
    r.l = best; r.i = bi;
  }
  return r;
}

static acc line(int op, lt_dtype dt, const char *x, int64_t n, int64_t st, double center) {
  switch (dt) {
  case LT_FLOAT32: return line_f32(op, (const float *)x, n, st, center);
  case LT_FLOAT64: return line_f64(op, (const double *)x, n, st, center);
  default: return line_i64(op, (const int64_t *)x, n, st);
  }
}

/* combine partial results of consecutive blocks, in order */
static acc combine(int op, lt_dtype dt, acc a, acc b, int64_t b_offset) {
  b.i += b_offset;
  switch (op) {
  case LT_SUM: case LT_MEAN: case LT_VAR: case LT_STD: case LT_LOGSUMEXP:
    a.v += b.v; a.l += b.l; return a;
  case LT_PROD: a.v *= b.v; a.l *= b.l; return a;
  default: {
    int want_max = op == LT_MAX || op == LT_ARGMAX;
    if (dt == LT_INT64) return (want_max ? b.l > a.l : b.l < a.l) ? b : a;
    if (a.v != a.v) return a;
    return (b.v != b.v || (want_max ? b.v > a.v : b.v < a.v)) ? b : a;
  }
  }
}

/* reduce n contiguous elements in fixed blocks, in parallel */
static acc reduce_flat(int op, lt_dtype dt, const char *x, int64_t n, double center) {
  int64_t nb = (n + BLOCK - 1) / BLOCK;
  size_t es = lt_dtype_size(dt);
  if (nb <= 1) return line(op, dt, x, n, 1, center);
  acc *part = malloc((size_t)nb * sizeof *part);
  if (!part) { /* fall back to one pass rather than fail */
    return line(op, dt, x, n, 1, center);
  }
#pragma omp parallel for schedule(static) if (lt_get_num_threads() > 1)
  for (int64_t b = 0; b < nb; b++) {
    int64_t len = (b + 1) * BLOCK <= n ? BLOCK : n - b * BLOCK;
    part[b] = line(op, dt, x + b * BLOCK * (int64_t)es, len, 1, center);
  }
  acc r = part[0];
  for (int64_t b = 1; b < nb; b++) r = combine(op, dt, r, part[b], b * BLOCK);
  free(part);
  return r;
}

static lt_dtype out_dtype(int op, lt_dtype in) {
  if (op == LT_ARGMAX || op == LT_ARGMIN) return LT_INT64;
  if (in == LT_INT64 && (op == LT_MEAN || op == LT_VAR || op == LT_STD || op == LT_LOGSUMEXP))
    return LT_FLOAT32;
  return in;
}

/* finish one output from the line results: value (and index) */
static double finish_value(int op, acc r, int64_t n, int correction, double center) {
  /* correction above n: divide by 0 (inf), as PyTorch, never by a negative count */
  double dof = n > correction ? (double)(n - correction) : 0;
  switch (op) {
  case LT_MEAN: return r.v / (double)n;
  case LT_VAR: return r.v / dof;
  case LT_STD: return sqrt(r.v / dof);
  case LT_LOGSUMEXP: return isinf(center) ? center : center + log(r.v);
  default: return r.v;
  }
}

static void store(lt_tensor *out, int64_t k, int op, lt_dtype in, acc r, double v) {
  char *p = (char *)lt_data(out);
  if (op == LT_ARGMAX || op == LT_ARGMIN) ((int64_t *)p)[k] = r.i;
  else if (out->dtype == LT_INT64) ((int64_t *)p)[k] = in == LT_INT64 ? r.l : lt_double_to_i64(v);
  else if (out->dtype == LT_FLOAT32) ((float *)p)[k] = (float)v;
  else ((double *)p)[k] = v;
}

/* Sums over a dimension that is not the last (a bias gradient: the column
   sums of an (n, inner) matrix). Walking each column with a stride is slow,
   so this adds whole rows into a strip of COLS accumulators per lane, with
   lane k & 7 and the final combination of FLOAT_LINE: the same bits. */
enum { COLS = 256 };
#define COLUMN_SUMS(NAME, T)                                                         \
  static void NAME(int op, const T *x, int64_t outer, int64_t n, int64_t inner,      \
                   lt_tensor *values) {                                              \
    int64_t strips = (inner + COLS - 1) / COLS;                                      \
    _Pragma("omp parallel for schedule(static) if (outer * inner * n > 4 * 32768 && lt_get_num_threads() > 1)") \
    for (int64_t b = 0; b < outer * strips; b++) {                                   \
      int64_t o = b / strips, i0 = (b % strips) * COLS;                              \
      int64_t w = inner - i0 < COLS ? inner - i0 : COLS;                             \
      double lanes[8][COLS];                                                         \
      for (int j = 0; j < 8; j++) for (int64_t i = 0; i < w; i++) lanes[j][i] = 0;   \
      const T *rows = x + o * n * inner + i0;                                        \
      for (int64_t k = 0; k < n; k++) {                                              \
        double *l = lanes[k & 7];                                                    \
        const T *r = rows + k * inner;                                               \
        for (int64_t i = 0; i < w; i++) l[i] += r[i];                                \
      }                                                                              \
      for (int64_t i = 0; i < w; i++) {                                              \
        acc r = {0, 0, 0};                                                           \
        r.v = ((lanes[0][i] + lanes[1][i]) + (lanes[2][i] + lanes[3][i])) +          \
              ((lanes[4][i] + lanes[5][i]) + (lanes[6][i] + lanes[7][i]));           \
        store(values, o * inner + i0 + i, op, values->dtype, r, finish_value(op, r, n, 0, 0)); \
      }                                                                              \
    }                                                                                \
  }
COLUMN_SUMS(column_sums_f32, float)
COLUMN_SUMS(column_sums_f64, double)

/* outputs of one (outer, n, inner) problem; values (and 0-based indices) */
static void reduce_lines(int op, lt_tensor *x, int64_t outer, int64_t n, int64_t inner,
                         int correction, lt_tensor *values, lt_tensor *indices) {
  lt_dtype dt = x->dtype;
  size_t es = lt_dtype_size(dt);
  const char *base = lt_data(x);
  int64_t nout = outer * inner;
  if ((op == LT_SUM || op == LT_MEAN) && inner >= 8 && values && lt_is_float(dt)) {
    if (dt == LT_FLOAT32) column_sums_f32(op, (const float *)base, outer, n, inner, values);
    else column_sums_f64(op, (const double *)base, outer, n, inner, values);
    return;
  }
#pragma omp parallel for schedule(static) if (nout * n > 4 * 32768 && lt_get_num_threads() > 1)
  for (int64_t k = 0; k < nout; k++) {
    int64_t o = k / inner, i = k % inner;
    const char *l = base + (o * n * inner + i) * (int64_t)es;
    double center = 0;
    if (op == LT_VAR || op == LT_STD) center = line(LT_SUM, dt, l, n, inner, 0).v / (double)n;
    if (op == LT_LOGSUMEXP) {
      center = line(LT_MAX, dt, l, n, inner, 0).v;
      if (center != center) center = NAN;
    }
    acc r = line(op, dt, l, n, inner, center);
    double v = finish_value(op, r, n, correction, center);
    if (values) store(values, k, op, dt, r, v);
    if (indices) ((int64_t *)lt_data(indices))[k] = r.i;
  }
}

static int check_reduce(int op, lt_tensor *t, int dim, int64_t n) {
  if (dim >= t->ndim || (dim < 0 && dim != -1))
    return lt_seterr("dimension %d is out of range (tensor has %d dimensions)", dim + 1, t->ndim);
  if (n == 0 && op != LT_SUM && op != LT_PROD && op != LT_MEAN && op != LT_LOGSUMEXP)
    return lt_seterr("%s of an empty tensor (or an empty dimension) is undefined", reduce_names[op]);
  return 0;
}

static lt_tensor *reduce_dim(int op, lt_tensor *x, int dim, int keepdim, int correction,
                             lt_tensor **indices) {
  int64_t shape[LT_MAX_DIM], outer = 1, inner = 1, n = x->shape[dim];
  int nd = 0;
  for (int d = 0; d < x->ndim; d++) {
    if (d < dim) outer *= x->shape[d];
    if (d > dim) inner *= x->shape[d];
    if (d != dim) shape[nd++] = x->shape[d];
    else if (keepdim) shape[nd++] = 1;
  }
  lt_tensor *c = lt_contiguous(x);
  lt_tensor *out = c ? lt_empty(out_dtype(op, x->dtype), nd, shape) : NULL;
  if (out && indices && !(*indices = lt_empty(LT_INT64, nd, shape))) { lt_release(out); out = NULL; }
  if (out) {
    if (n == 0) lt_fill_(out, op == LT_PROD ? 1 : op == LT_LOGSUMEXP ? -INFINITY : op == LT_MEAN ? NAN : 0);
    else reduce_lines(op, c, outer, n, inner, correction, out, indices ? *indices : NULL);
  }
  lt_release(c);
  return out;
}

static lt_tensor *reduce_all(int op, lt_tensor *x, int keepdim, int correction) {
  int64_t n = lt_numel(x), shape[LT_MAX_DIM];
  for (int d = 0; d < x->ndim; d++) shape[d] = 1;
  lt_tensor *c = lt_contiguous(x);
  lt_tensor *out = c ? lt_empty(out_dtype(op, x->dtype), keepdim ? x->ndim : 0, shape) : NULL;
  if (!out) { lt_release(c); return NULL; }
  if (n == 0) {
    lt_fill_(out, op == LT_PROD ? 1 : op == LT_LOGSUMEXP ? -INFINITY : op == LT_MEAN ? NAN : 0);
  } else {
    const char *p = lt_data(c);
    double center = 0;
    if (op == LT_VAR || op == LT_STD) center = reduce_flat(LT_SUM, c->dtype, p, n, 0).v / (double)n;
    if (op == LT_LOGSUMEXP) center = reduce_flat(LT_MAX, c->dtype, p, n, 0).v;
    acc r = reduce_flat(op, c->dtype, p, n, center);
    store(out, 0, op, c->dtype, r, finish_value(op, r, n, correction, center));
  }
  lt_release(c);
  return out;
}

lt_tensor *lt_reduce(lt_reduce_op op, lt_tensor *t, int dim, int keepdim, int correction) {
  int64_t n = dim >= 0 && dim < t->ndim ? t->shape[dim] : lt_numel(t);
  if (check_reduce(op, t, dim, n) < 0) return NULL;
  /* integer inputs to float-valued reductions compute in float64 */
  lt_tensor *x = (t->dtype == LT_INT64 && out_dtype(op, LT_INT64) != LT_INT64) ? lt_to(t, LT_FLOAT64)
                                                                               : lt_retain(t);
  if (!x) return NULL;
  lt_tensor *out = dim < 0 ? reduce_all(op, x, keepdim, correction)
                           : reduce_dim(op, x, dim, keepdim, correction, NULL);
  if (out && x != t && out->dtype != LT_FLOAT32 && out_dtype(op, LT_INT64) == LT_FLOAT32) {
    lt_tensor *f = lt_to(out, LT_FLOAT32);
    lt_release(out);
    out = f;
  }
  lt_release(x);
  return out;
}

int lt_reduce_with_index(lt_reduce_op op, lt_tensor *t, int dim, int keepdim, lt_tensor **values,
                         lt_tensor **indices) {
  if (dim < 0 || dim >= t->ndim)
    return lt_seterr("dimension %d is out of range (tensor has %d dimensions)", dim + 1, t->ndim);
  if (check_reduce(op, t, dim, t->shape[dim]) < 0) return -1;
  *indices = NULL;
  *values = reduce_dim(op, t, dim, keepdim, 0, indices);
  return *values ? 0 : -1;
}

/* ---- softmax ----------------------------------------------------------------- */
#define SOFTMAX_LINE(NAME, T)                                                      \
  static void NAME(const T *x, T *y, int64_t n, int64_t st, int log_) {            \
    T m = -INFINITY;                                                               \
    for (int64_t k = 0; k < n; k++) { T v = x[k * st]; if (v > m || v != v) m = v; } \
    if (m == -INFINITY) m = 0; /* all -inf: keep exp finite, the sum decides */    \
    double s = 0;                                                                  \
    for (int64_t k = 0; k < n; k++) s += exp((double)(x[k * st] - m));             \
    if (log_) {                                                                    \
      T ls = (T)log(s);                                                            \
      for (int64_t k = 0; k < n; k++) y[k * st] = x[k * st] - m - ls;              \
    } else {                                                                       \
      double inv = 1.0 / s;                                                        \
      for (int64_t k = 0; k < n; k++) y[k * st] = (T)(exp((double)(x[k * st] - m)) * inv); \
    }                                                                              \
  }
SOFTMAX_LINE(softmax_f32, float)
SOFTMAX_LINE(softmax_f64, double)

lt_tensor *lt_softmax(lt_tensor *t, int dim, int log_) {
  if (dim < 0 || dim >= t->ndim)
    return lt_seterr("dimension %d is out of range (tensor has %d dimensions)", dim + 1, t->ndim), NULL;
  lt_tensor *c = t->dtype == LT_INT64 ? lt_to(t, LT_FLOAT32) : lt_contiguous(t);
  if (c && !lt_is_contiguous(c)) { lt_tensor *cc = lt_contiguous(c); lt_release(c); c = cc; }
  lt_tensor *out = c ? lt_empty(c->dtype, c->ndim, c->shape) : NULL;
  if (out) {
    int64_t outer = 1, inner = 1, n = c->shape[dim];
    for (int d = 0; d < c->ndim; d++) {
      if (d < dim) outer *= c->shape[d];
      if (d > dim) inner *= c->shape[d];
    }
    int64_t nout = outer * inner;
    if (n > 0) {
#pragma omp parallel for schedule(static) if (nout * n > 4 * 32768 && lt_get_num_threads() > 1)
      for (int64_t k = 0; k < nout; k++) {
        int64_t off = (k / inner) * n * inner + k % inner;
        if (c->dtype == LT_FLOAT32)
          softmax_f32((const float *)lt_data(c) + off, (float *)lt_data(out) + off, n, inner, log_);
        else
          softmax_f64((const double *)lt_data(c) + off, (double *)lt_data(out) + off, n, inner, log_);
      }
    }
  }
  lt_release(c);
  return out;
}
