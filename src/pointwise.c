/* pointwise.c -- elementwise kernels with NumPy broadcasting.
 *
 * Operands are first brought to one compute dtype (PyTorch's promotion:
 * int64 < float32 < float64; true division of integers gives float32),
 * then a kernel per dtype runs over the broadcast index space. Each kernel
 * has unit-stride and scalar fast paths the compiler vectorises.
 * Comparisons produce int64 masks of 0 and 1.
 */
#include "iter.h"
#include "vmath.h"
#include <tgmath.h>
#include <stdlib.h>

typedef struct { int op; int err; double lo, hi; } opctx;
#define OP_CLAMP LT_UNARY_COUNT /* clamp shares the unary kernels */

static const char *binop_names[] = {"add", "sub", "mul", "div", "pow", "remainder", "floor_divide", "maximum",
                                    "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge"};
static const char *unop_names[] = {"neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid",
                                   "relu", "sin", "cos", "log1p", "expm1", "floor", "ceil",
                                   "round", "sign", "rsqrt", "reciprocal", "square", "erf"};
const char *lt_binop_name(lt_binop op) { return binop_names[op]; }
const char *lt_unop_name(lt_unop op) { return unop_names[op]; }

static int is_compare(lt_binop op) { return op >= LT_EQ; }

/* o = EXPR(x, y) over n elements; p = {out, a, b} */
#define LOOP2(TI, TO, EXPR)                                                               \
  do {                                                                                    \
    TO *o = (TO *)p[0];                                                                   \
    const TI *A = (const TI *)p[1], *B = (const TI *)p[2];                                \
    if (s[0] == 1 && s[1] == 1 && s[2] == 1)                                              \
      for (int64_t k = 0; k < n; k++) { TI x = A[k], y = B[k]; o[k] = (TO)(EXPR); }       \
    else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {                                       \
      const TI y = B[0];                                                                  \
      for (int64_t k = 0; k < n; k++) { TI x = A[k]; o[k] = (TO)(EXPR); }                 \
    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {                                     \
      const TI x = A[0];                                                                  \
      for (int64_t k = 0; k < n; k++) { TI y = B[k]; o[k] = (TO)(EXPR); }                 \
    } else                                                                                \
      for (int64_t k = 0; k < n; k++) {                                                   \
        TI x = A[k * s[1]], y = B[k * s[2]];                                              \
        o[k * s[0]] = (TO)(EXPR);                                                         \
      }                                                                                   \
  } while (0)

/* floor-mod: the result takes the divisor's sign, as Lua's % and PyTorch's remainder */
#define FMOD_FLOOR(x, y) ({ __typeof__(x) r_ = fmod(x, y); (r_ != 0 && ((r_ < 0) != (y < 0))) ? r_ + y : r_; })

#define FLOAT_BINARY(NAME, T)                                                     \
  static void NAME(int64_t n, char **p, const int64_t *s, void *vc) {             \
    switch (((opctx *)vc)->op) {                                                  \
    case LT_ADD: LOOP2(T, T, x + y); break;                                       \
    case LT_SUB: LOOP2(T, T, x - y); break;                                       \
    case LT_MUL: LOOP2(T, T, x * y); break;                                       \
    case LT_DIV: LOOP2(T, T, x / y); break;                                       \
    case LT_POW: LOOP2(T, T, pow(x, y)); break;                                   \
    case LT_MOD: LOOP2(T, T, FMOD_FLOOR(x, y)); break;                            \
    case LT_FLOORDIV: LOOP2(T, T, floor(x / y)); break;                           \
    case LT_MAXIMUM: LOOP2(T, T, (x > y || x != x) ? x : y); break;               \
    case LT_MINIMUM: LOOP2(T, T, (x < y || x != x) ? x : y); break;               \
    case LT_ATAN2: LOOP2(T, T, atan2(x, y)); break;                               \
    case LT_EQ: LOOP2(T, int64_t, x == y); break;                                 \
    case LT_NE: LOOP2(T, int64_t, x != y); break;                                 \
    case LT_LT: LOOP2(T, int64_t, x < y); break;                                  \
    case LT_LE: LOOP2(T, int64_t, x <= y); break;                                 \
    case LT_GT: LOOP2(T, int64_t, x > y); break;                                  \
    case LT_GE: LOOP2(T, int64_t, x >= y); break;                                 \
    }                                                                             \
  }
FLOAT_BINARY(binary_f32, float)
FLOAT_BINARY(binary_f64, double)

static int64_t ipow(int64_t b, int64_t e) {
  if (e < 0) return b == 1 ? 1 : b == -1 ? (e % 2 ? -1 : 1) : 0;
  uint64_t r = 1, ub = (uint64_t)b;
  while (e) { if (e & 1) r *= ub; ub *= ub; e >>= 1; }
  return (int64_t)r;
}

/* integer remainder; division by zero is reported through the context */
static int64_t imod(int64_t x, int64_t y, opctx *c) {
  if (y == 0) { __atomic_store_n(&c->err, 1, __ATOMIC_RELAXED); return 0; }
  if (y == -1) return 0; /* INT64_MIN % -1 traps on x86 */
  int64_t r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}

/* integer division rounding toward -inf, as Lua's // and PyTorch's floor_divide */
static int64_t ifloordiv(int64_t x, int64_t y, opctx *c) {
  if (y == 0) { __atomic_store_n(&c->err, 1, __ATOMIC_RELAXED); return 0; }
  if (y == -1) return -x; /* INT64_MIN / -1 traps on x86; -x wraps (-fwrapv) */
  int64_t q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

static void binary_i64(int64_t n, char **p, const int64_t *s, void *vc) {
  opctx *c = vc;
  switch (c->op) {
  case LT_ADD: LOOP2(int64_t, int64_t, x + y); break;
  case LT_SUB: LOOP2(int64_t, int64_t, x - y); break;
  case LT_MUL: LOOP2(int64_t, int64_t, x * y); break;
  case LT_POW: LOOP2(int64_t, int64_t, ipow(x, y)); break;
  case LT_MOD: LOOP2(int64_t, int64_t, imod(x, y, c)); break;
  case LT_FLOORDIV: LOOP2(int64_t, int64_t, ifloordiv(x, y, c)); break;
  case LT_MAXIMUM: LOOP2(int64_t, int64_t, x > y ? x : y); break;
  case LT_MINIMUM: LOOP2(int64_t, int64_t, x < y ? x : y); break;
  case LT_EQ: LOOP2(int64_t, int64_t, x == y); break;
  case LT_NE: LOOP2(int64_t, int64_t, x != y); break;
  case LT_LT: LOOP2(int64_t, int64_t, x < y); break;
  case LT_LE: LOOP2(int64_t, int64_t, x <= y); break;
  case LT_GT: LOOP2(int64_t, int64_t, x > y); break;
  case LT_GE: LOOP2(int64_t, int64_t, x >= y); break;
  default: break; /* DIV and ATAN2 are computed in float32 */
  }
}

static const lt_inner_fn binary_fns[3] = {binary_f32, binary_f64, binary_i64};

/* the dtype the op computes in */
static lt_dtype compute_dtype(lt_binop op, lt_dtype a, lt_dtype b) {
  lt_dtype dt = lt_promote(a, b);
  if (dt == LT_INT64 && (op == LT_DIV || op == LT_ATAN2)) dt = LT_FLOAT32;
  return dt;
}

int lt_broadcast_shape(const lt_tensor *a, const lt_tensor *b, int *ndim, int64_t *shape) {
  char sa[128], sb[128];
  int n = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int d = 0; d < n; d++) {
    int da = d - (n - a->ndim), db = d - (n - b->ndim);
    int64_t x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
    if (x != y && x != 1 && y != 1)
      return lt_seterr("shapes %s and %s cannot be broadcast (dimension %d: %lld vs %lld)",
                       lt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                       lt_shape_str(b->ndim, b->shape, sb, sizeof sb), d + 1, (long long)x,
                       (long long)y);
    shape[d] = x == 1 ? y : x;
  }
  *ndim = n;
  return 0;
}

static int finish(opctx *c, lt_binop op) {
  if (c->err) return lt_seterr("integer %s by zero", op == LT_MOD ? "remainder" : "division");
  return 0;
}

lt_tensor *lt_binary(lt_binop op, lt_tensor *a, lt_tensor *b) {
  int ndim;
  int64_t shape[LT_MAX_DIM];
  if (lt_broadcast_shape(a, b, &ndim, shape) < 0) return NULL;
  lt_dtype dt = compute_dtype(op, a->dtype, b->dtype);
  lt_tensor *ca = lt_to(a, dt), *cb = ca ? lt_to(b, dt) : NULL;
  lt_tensor *out = cb ? lt_empty(is_compare(op) ? LT_INT64 : dt, ndim, shape) : NULL;
  if (out) {
    lt_iter it;
    lt_tensor *ops[3] = {out, ca, cb};
    opctx c = {.op = op};
    lt_iter_tensors(&it, 3, ops, ndim, shape);
    lt_iter_run(&it, binary_fns[dt], &c);
    if (finish(&c, op) < 0) { lt_release(out); out = NULL; }
  }
  lt_release(ca);
  lt_release(cb);
  return out;
}

/* a scalar operand is a stride-0 operand pointing at a local value */
static int run_scalar(lt_binop op, lt_tensor *out, lt_tensor *a, lt_dtype dt, double s,
                      int scalar_first) {
  union { float f; double d; int64_t l; } v;
  if (dt == LT_FLOAT32) v.f = (float)s;
  else if (dt == LT_FLOAT64) v.d = s;
  else v.l = lt_double_to_i64(s);
  lt_iter it;
  int64_t strides[3][LT_MAX_DIM];
  char *base[3] = {lt_data(out), lt_data(a), (char *)&v};
  size_t elsize[3] = {lt_dtype_size(out->dtype), lt_dtype_size(dt), lt_dtype_size(dt)};
  lt_broadcast_strides(out, out->ndim, out->shape, strides[0]);
  lt_broadcast_strides(a, out->ndim, out->shape, strides[1]);
  for (int d = 0; d < out->ndim; d++) strides[2][d] = 0;
  if (scalar_first) {
    char *tb = base[1]; base[1] = base[2]; base[2] = tb;
    for (int d = 0; d < out->ndim; d++) { strides[2][d] = strides[1][d]; strides[1][d] = 0; }
  }
  lt_iter_init(&it, 3, out->ndim, out->shape, base, elsize, strides);
  opctx c = {.op = op};
  lt_iter_run(&it, binary_fns[dt], &c);
  return finish(&c, op);
}

lt_tensor *lt_binary_scalar(lt_binop op, lt_tensor *a, double s, int scalar_is_int,
                            int scalar_first) {
  lt_dtype dt = compute_dtype(op, a->dtype, scalar_is_int ? LT_INT64 : LT_FLOAT32);
  if (a->dtype == LT_FLOAT64) dt = LT_FLOAT64;
  lt_tensor *ca = lt_to(a, dt);
  lt_tensor *out = ca ? lt_empty(is_compare(op) ? LT_INT64 : dt, a->ndim, a->shape) : NULL;
  if (out && run_scalar(op, out, ca, dt, s, scalar_first) < 0) { lt_release(out); out = NULL; }
  lt_release(ca);
  return out;
}

/* b reads exactly the elements a writes, one for one */
static int same_view(const lt_tensor *a, const lt_tensor *b) {
  if (a->storage != b->storage || a->offset != b->offset || !lt_same_shape(a, b)) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] > 1 && a->stride[d] != b->stride[d]) return 0;
  return 1;
}

static int check_inplace(lt_binop op, lt_tensor *self, lt_dtype other) {
  if (is_compare(op)) return lt_seterr("%s has no in-place form", binop_names[op]);
  if (lt_check_writable(self) < 0) return -1; /* an expanded self: refuse, as PyTorch */
  lt_dtype dt = compute_dtype(op, self->dtype, other);
  /* a float result is stored into any float tensor (float64 into float32 as
     PyTorch does); only a float result into an int64 tensor is refused */
  if (dt != self->dtype && !(lt_is_float(dt) && lt_is_float(self->dtype)))
    return lt_seterr("result of %s is %s, which cannot be stored in place in an %s tensor",
                     binop_names[op], lt_dtype_name(dt), lt_dtype_name(self->dtype));
  return 0;
}

int lt_binary_(lt_binop op, lt_tensor *a, lt_tensor *b) {
  char sa[128], sb[128];
  if (check_inplace(op, a, b->dtype) < 0) return -1;
  lt_tensor *cb = lt_to(b, a->dtype);
  /* b overlapping a in another layout (x:add_(x:t()), x:add_(x[1])) would read
     elements already written: read a copy */
  if (cb && cb->storage == a->storage && !same_view(a, cb)) {
    lt_tensor *c = lt_clone(cb);
    lt_release(cb);
    cb = c;
  }
  if (!cb) return -1;
  lt_iter it;
  lt_tensor *ops[3] = {a, a, cb};
  int rc = 0;
  if (lt_iter_tensors(&it, 3, ops, a->ndim, a->shape) < 0) {
    rc = lt_seterr("cannot broadcast shape %s to %s in place",
                   lt_shape_str(b->ndim, b->shape, sb, sizeof sb),
                   lt_shape_str(a->ndim, a->shape, sa, sizeof sa));
  } else {
    opctx c = {.op = op};
    lt_iter_run(&it, binary_fns[a->dtype], &c);
    rc = finish(&c, op);
    lt_bump_version(a);
  }
  lt_release(cb);
  return rc;
}

int lt_binary_scalar_(lt_binop op, lt_tensor *a, double s) {
  int is_int = s == floor(s) && fabs(s) < 9.2e18;
  if (check_inplace(op, a, is_int ? LT_INT64 : LT_FLOAT32) < 0) return -1;
  lt_bump_version(a);
  return run_scalar(op, a, a, a->dtype, s, 0);
}

/* ---- unary ----------------------------------------------------------------- */
#define LOOP1(T, EXPR)                                                           \
  do {                                                                           \
    T *o = (T *)p[0];                                                            \
    const T *A = (const T *)p[1];                                                \
    if (s[0] == 1 && s[1] == 1)                                                  \
      for (int64_t k = 0; k < n; k++) { T x = A[k]; o[k] = (EXPR); }             \
    else                                                                         \
      for (int64_t k = 0; k < n; k++) { T x = A[k * s[1]]; o[k * s[0]] = (EXPR); } \
  } while (0)

/* float32 exp and sigmoid use the vectorisable forms in vmath.h */
static double sigmoid_d(double x) { /* never exp of a large positive number */
  return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}
#define VEXP(x) _Generic((x), float: lt_expf, default: exp)(x)
#define VSIGMOID(x) _Generic((x), float: lt_sigmoidf, default: sigmoid_d)(x)

#define FLOAT_UNARY(NAME, T)                                                      \
  static void NAME(int64_t n, char **p, const int64_t *s, void *vc) {             \
    opctx *c = vc;                                                                \
    const T lo = (T)c->lo, hi = (T)c->hi;                                         \
    switch (c->op) {                                                              \
    case LT_NEG: LOOP1(T, -x); break;                                             \
    case LT_EXP: LOOP1(T, VEXP(x)); break;                                        \
    case LT_LOG: LOOP1(T, log(x)); break;                                         \
    case LT_SQRT: LOOP1(T, sqrt(x)); break;                                       \
    case LT_ABS: LOOP1(T, fabs(x)); break;                                        \
    case LT_TANH: LOOP1(T, tanh(x)); break;                                       \
    case LT_SIGMOID: LOOP1(T, VSIGMOID(x)); break;                                \
    case LT_RELU: LOOP1(T, x > 0 ? x : (x != x ? x : 0)); break;                  \
    case LT_SIN: LOOP1(T, sin(x)); break;                                         \
    case LT_COS: LOOP1(T, cos(x)); break;                                         \
    case LT_LOG1P: LOOP1(T, log1p(x)); break;                                     \
    case LT_EXPM1: LOOP1(T, expm1(x)); break;                                     \
    case LT_FLOOR: LOOP1(T, floor(x)); break;                                     \
    case LT_CEIL: LOOP1(T, ceil(x)); break;                                       \
    case LT_ROUND: LOOP1(T, nearbyint(x)); break; /* half to even, as PyTorch */  \
    case LT_SIGN: LOOP1(T, (T)((x > 0) - (x < 0)) + (x != x ? x : 0)); break;     \
    case LT_RSQRT: LOOP1(T, 1 / sqrt(x)); break;                                  \
    case LT_RECIPROCAL: LOOP1(T, 1 / x); break;                                   \
    case LT_SQUARE: LOOP1(T, x * x); break;                                       \
    case LT_ERF: LOOP1(T, erf(x)); break;                                         \
    case OP_CLAMP:                      \
      LOOP1(T, x < lo ? lo : (x > hi ? hi : x)); break;                           \
    }                                                                             \
  }
FLOAT_UNARY(unary_f32, float)
FLOAT_UNARY(unary_f64, double)

static void unary_i64(int64_t n, char **p, const int64_t *s, void *vc) {
  opctx *c = vc;
  const int64_t lo = lt_double_to_i64(ceil(c->lo)), hi = lt_double_to_i64(floor(c->hi));
  switch (c->op) {
  case LT_NEG: LOOP1(int64_t, -x); break;
  case LT_ABS: LOOP1(int64_t, x < 0 ? -x : x); break;
  case LT_RELU: LOOP1(int64_t, x > 0 ? x : 0); break;
  case LT_SIGN: LOOP1(int64_t, (x > 0) - (x < 0)); break;
  case LT_SQUARE: LOOP1(int64_t, x * x); break;
  case LT_FLOOR: case LT_CEIL: case LT_ROUND: LOOP1(int64_t, x); break;
  case OP_CLAMP: LOOP1(int64_t, x < lo ? lo : (x > hi ? hi : x)); break;
  default: break; /* the rest compute in float32 */
  }
}

static const lt_inner_fn unary_fns[3] = {unary_f32, unary_f64, unary_i64};

static int int_unary(int op) {
  return op == LT_NEG || op == LT_ABS || op == LT_RELU || op == LT_SIGN || op == LT_SQUARE ||
         op == LT_FLOOR || op == LT_CEIL || op == LT_ROUND || op == OP_CLAMP;
}

static lt_tensor *unary_out(int op, lt_tensor *a, double lo, double hi) {
  lt_dtype dt = (a->dtype == LT_INT64 && !int_unary(op)) ? LT_FLOAT32 : a->dtype;
  lt_tensor *ca = lt_to(a, dt);
  lt_tensor *out = ca ? lt_empty(dt, a->ndim, a->shape) : NULL;
  if (out) {
    lt_iter it;
    lt_tensor *ops[2] = {out, ca};
    opctx c = {.op = op, .lo = lo, .hi = hi};
    lt_iter_tensors(&it, 2, ops, a->ndim, a->shape);
    lt_iter_run(&it, unary_fns[dt], &c);
  }
  lt_release(ca);
  return out;
}

static int unary_inplace(int op, lt_tensor *a, double lo, double hi) {
  if (lt_check_writable(a) < 0) return -1;
  if (a->dtype == LT_INT64 && !int_unary(op))
    return lt_seterr("result of %s is float32, which cannot be stored in place in an int64 tensor",
                     op == OP_CLAMP ? "clamp" : unop_names[op]);
  lt_iter it;
  lt_tensor *ops[2] = {a, a};
  opctx c = {.op = op, .lo = lo, .hi = hi};
  lt_iter_tensors(&it, 2, ops, a->ndim, a->shape);
  lt_iter_run(&it, unary_fns[a->dtype], &c);
  lt_bump_version(a);
  return 0;
}

lt_tensor *lt_unary(lt_unop op, lt_tensor *a) { return unary_out(op, a, 0, 0); }
int lt_unary_(lt_unop op, lt_tensor *a) { return unary_inplace(op, a, 0, 0); }

static int clamp_bounds(double *lo, double *hi) {
  if (*lo != *lo) *lo = -INFINITY;
  if (*hi != *hi) *hi = INFINITY;
  if (*lo > *hi) return lt_seterr("min (%g) must not exceed max (%g)", *lo, *hi);
  return 0;
}

lt_tensor *lt_clamp(lt_tensor *a, double lo, double hi) {
  if (clamp_bounds(&lo, &hi) < 0) return NULL;
  return unary_out(OP_CLAMP, a, lo, hi);
}

int lt_clamp_(lt_tensor *a, double lo, double hi) {
  if (clamp_bounds(&lo, &hi) < 0) return -1;
  return unary_inplace(OP_CLAMP, a, lo, hi);
}

/* ---- where and masked_fill --------------------------------------------------- */
#define WHERE_FN(NAME, T)                                                          \
  static void NAME(int64_t n, char **p, const int64_t *s, void *vc) {              \
    (void)vc;                                                                      \
    for (int64_t k = 0; k < n; k++) {                                              \
      int64_t c = *(const int64_t *)(p[1] + k * s[1] * 8);                         \
      *(T *)(p[0] + k * s[0] * (int64_t)sizeof(T)) =                               \
          *(const T *)((c ? p[2] + k * s[2] * (int64_t)sizeof(T)                   \
                          : p[3] + k * s[3] * (int64_t)sizeof(T)));                \
    }                                                                              \
  }
WHERE_FN(where_f32, float)
WHERE_FN(where_f64, double)
WHERE_FN(where_i64, int64_t)
static const lt_inner_fn where_fns[3] = {where_f32, where_f64, where_i64};

/* cond as int64 0/1 so the kernels test one type */
static lt_tensor *as_mask(lt_tensor *cond) {
  if (cond->dtype == LT_INT64) return lt_retain(cond);
  return lt_binary_scalar(LT_NE, cond, 0, 1, 0);
}

lt_tensor *lt_where(lt_tensor *cond, lt_tensor *a, lt_tensor *b) {
  int nd1, nd;
  int64_t s1[LT_MAX_DIM], shape[LT_MAX_DIM];
  if (lt_broadcast_shape(a, b, &nd1, s1) < 0) return NULL;
  lt_tensor tmp = *a;
  tmp.ndim = nd1;
  for (int d = 0; d < nd1; d++) tmp.shape[d] = s1[d];
  if (lt_broadcast_shape(cond, &tmp, &nd, shape) < 0) return NULL;
  lt_dtype dt = lt_promote(a->dtype, b->dtype);
  lt_tensor *m = as_mask(cond), *ca = lt_to(a, dt), *cb = lt_to(b, dt);
  lt_tensor *out = (m && ca && cb) ? lt_empty(dt, nd, shape) : NULL;
  if (out) {
    lt_iter it;
    lt_tensor *ops[4] = {out, m, ca, cb};
    lt_iter_tensors(&it, 4, ops, nd, shape);
    lt_iter_run(&it, where_fns[dt], NULL);
  }
  lt_release(m); lt_release(ca); lt_release(cb);
  return out;
}

#define MASKED_FN(NAME, T)                                                         \
  static void NAME(int64_t n, char **p, const int64_t *s, void *vc) {              \
    T v = *(const T *)vc;                                                          \
    T *o = (T *)p[0];                                                              \
    const int64_t *m = (const int64_t *)p[1];                                      \
    for (int64_t k = 0; k < n; k++) if (m[k * s[1]]) o[k * s[0]] = v;              \
  }
MASKED_FN(masked_f32, float)
MASKED_FN(masked_f64, double)
MASKED_FN(masked_i64, int64_t)

int lt_masked_fill_(lt_tensor *t, lt_tensor *mask, double v) {
  char a[128], b[128];
  if (lt_check_writable(t) < 0) return -1;
  lt_tensor *m = as_mask(mask);
  if (m && m->storage == t->storage && !same_view(t, m)) { /* read the mask before writing */
    lt_tensor *c = lt_clone(m);
    lt_release(m);
    m = c;
  }
  if (!m) return -1;
  lt_iter it;
  lt_tensor *ops[2] = {t, m};
  int rc = 0;
  if (lt_iter_tensors(&it, 2, ops, t->ndim, t->shape) < 0) {
    rc = lt_seterr("mask of shape %s cannot be broadcast to shape %s",
                   lt_shape_str(mask->ndim, mask->shape, a, sizeof a),
                   lt_shape_str(t->ndim, t->shape, b, sizeof b));
  } else {
    float f = (float)v;
    int64_t l = lt_double_to_i64(v);
    switch (t->dtype) {
    case LT_FLOAT32: lt_iter_run(&it, masked_f32, &f); break;
    case LT_FLOAT64: lt_iter_run(&it, masked_f64, &v); break;
    default: lt_iter_run(&it, masked_i64, &l); break;
    }
    lt_bump_version(t);
  }
  lt_release(m);
  return rc;
}
