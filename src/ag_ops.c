/* ag_ops.c -- the differentiable forms of the core ops: each runs the core
 * op, records a node when an input requires grad, and has a backward that
 * reads like the derivative. The engine reduces broadcast gradients and
 * converts dtypes (autograd.c), so a backward returns gradients in the
 * output's shape whenever the input was broadcast.
 */
#include "ag_util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* mask of g's dtype: 1 where cond holds */
static lt_tensor *as_float_mask(lt_tensor *m, lt_dtype dt) { return lt_to(m, dt); }

/* ---- binary ----------------------------------------------------------------- */
/* f[0] = scalar, i[0] = 1 when the scalar came first, i[1] = op */
static int bw_binary(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  lt_binop op = (lt_binop)n->i[1];
  lt_tensor *a = lt_saved(n, 0), *b = n->nsaved > 1 ? lt_saved(n, 1) : NULL;
  switch (op) {
  case LT_ADD:
    if (n->needs[0]) gin[0] = lt_retain(g);
    if (n->needs[1]) gin[1] = lt_retain(g);
    break;
  case LT_SUB:
    if (n->needs[0]) gin[0] = lt_retain(g);
    if (n->needs[1]) OUT(gin[1], lt_unary(LT_NEG, g));
    break;
  case LT_MUL:
    if (n->needs[0]) OUT(gin[0], MUL(g, b));
    if (n->needs[1]) OUT(gin[1], MUL(g, a));
    break;
  case LT_DIV:
    if (n->needs[0]) OUT(gin[0], DIV(g, b));
    if (n->needs[1]) OUT(gin[1], lt_unary(LT_NEG, K(DIV(K(MUL(g, a)), K(MUL(b, b))))));
    break;
  case LT_POW: { /* d a^b = b a^(b-1) da + a^b log(a) db */
    if (n->needs[0]) OUT(gin[0], MUL(g, K(MUL(b, K(lt_binary(LT_POW, a, K(lt_binary_scalar(LT_SUB, b, 1, 1, 0))))))));
    if (n->needs[1]) OUT(gin[1], MUL(g, K(MUL(K(lt_binary(LT_POW, a, b)), K(lt_unary(LT_LOG, a))))));
    break;
  }
  case LT_MOD: /* a - b floor(a / b) */
    if (n->needs[0]) gin[0] = lt_retain(g);
    if (n->needs[1]) OUT(gin[1], MUL(g, K(lt_unary(LT_NEG, K(lt_unary(LT_FLOOR, K(DIV(a, b))))))));
    break;
  case LT_MAXIMUM: case LT_MINIMUM: { /* ties share the gradient, as PyTorch */
    lt_tensor *win = K(as_float_mask(K(lt_binary(op == LT_MAXIMUM ? LT_GT : LT_LT, a, b)), g->dtype));
    lt_tensor *tie = K(SMUL(K(as_float_mask(K(lt_binary(LT_EQ, a, b)), g->dtype)), 0.5));
    lt_tensor *wa = K(ADD(win, tie));
    if (n->needs[0]) OUT(gin[0], MUL(g, wa));
    if (n->needs[1]) OUT(gin[1], MUL(g, K(lt_binary_scalar(LT_SUB, wa, 1, 1, 1))));
    break;
  }
  case LT_ATAN2: { /* d atan2(a, b) = (b da - a db) / (a^2 + b^2) */
    lt_tensor *r = K(ADD(K(MUL(a, a)), K(MUL(b, b))));
    if (n->needs[0]) OUT(gin[0], MUL(g, K(DIV(b, r))));
    if (n->needs[1]) OUT(gin[1], MUL(g, K(lt_unary(LT_NEG, K(DIV(a, r))))));
    break;
  }
  default: break; /* floor_divide: zero gradient almost everywhere */
  }
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

/* the node of a binary op, named before recording so detect_anomaly can name it */
static const char *binary_node_name(lt_binop op, const char *other) {
  static const char *names[] = {"AddBackward", "SubBackward", "MulBackward", "DivBackward",
                                "PowBackward", "RemainderBackward", "FloorDivideBackward",
                                "MaximumBackward", "MinimumBackward", "Atan2Backward"};
  return op < (int)(sizeof names / sizeof names[0]) ? names[op] : other;
}

lt_tensor *ag_binary(lt_binop op, lt_tensor *a, lt_tensor *b) {
  lt_tensor *out = lt_binary(op, a, b);
  lt_tensor *in[2] = {a, b};
  lt_node *node = record(&out, binary_node_name(op, "BinaryBackward"), bw_binary, 2, in);
  if (!node) return out;
  node->i[1] = op;
  /* add and sub need no values (so later in-place writes to a or b are fine) */
  if (op != LT_ADD && op != LT_SUB && op != LT_FLOORDIV && (lt_save(node, a) < 0 || lt_save(node, b) < 0))
    return fail_out(out);
  return out;
}

/* x op s or s op x with a number s */
static int bw_scalar(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  lt_binop op = (lt_binop)n->i[1];
  int first = (int)n->i[0];
  double s = n->f[0];
  lt_tensor *x = n->nsaved ? lt_saved(n, 0) : NULL;
  switch (op) {
  case LT_ADD: gin[0] = lt_retain(g); break;
  case LT_SUB: OUT(gin[0], first ? lt_unary(LT_NEG, g) : lt_retain(g)); break;
  case LT_MUL: OUT(gin[0], SMUL(g, s)); break;
  case LT_DIV: /* x / s, or s / x with derivative -s / x^2 */
    if (!first) OUT(gin[0], SMUL(g, 1.0 / s));
    else OUT(gin[0], MUL(g, K(lt_binary_scalar(LT_DIV, K(MUL(x, x)), -s, 0, 1))));
    break;
  case LT_POW:
    if (!first) OUT(gin[0], MUL(g, K(SMUL(K(lt_binary_scalar(LT_POW, x, s - 1, 0, 0)), s))));
    else OUT(gin[0], MUL(g, K(SMUL(K(lt_binary_scalar(LT_POW, x, s, 0, 1)), log(s)))));
    break;
  case LT_MOD:
    if (!first) gin[0] = lt_retain(g);
    else OUT(gin[0], MUL(g, K(lt_unary(LT_NEG, K(lt_unary(LT_FLOOR, K(lt_binary_scalar(LT_DIV, x, s, 0, 1))))))));
    break;
  case LT_MAXIMUM: case LT_MINIMUM: {
    lt_tensor *win = K(as_float_mask(K(lt_binary_scalar(op == LT_MAXIMUM ? LT_GT : LT_LT, x, s, 0, 0)), g->dtype));
    lt_tensor *tie = K(SMUL(K(as_float_mask(K(lt_binary_scalar(LT_EQ, x, s, 0, 0)), g->dtype)), 0.5));
    OUT(gin[0], MUL(g, K(ADD(win, tie))));
    break;
  }
  case LT_ATAN2: { /* atan2(x, s) or atan2(s, x) */
    lt_tensor *r = K(lt_binary_scalar(LT_ADD, K(MUL(x, x)), s * s, 0, 0));
    if (!first) OUT(gin[0], SMUL(K(DIV(g, r)), s));
    else OUT(gin[0], SMUL(K(DIV(g, r)), -s));
    break;
  }
  default: break;
  }
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

lt_tensor *ag_binary_scalar(lt_binop op, lt_tensor *a, double s, int scalar_is_int, int scalar_first) {
  lt_tensor *out = lt_binary_scalar(op, a, s, scalar_is_int, scalar_first);
  lt_node *node = record(&out, binary_node_name(op, "ScalarBackward"), bw_scalar, 1, &a);
  if (!node) return out;
  node->i[0] = scalar_first;
  node->i[1] = op;
  node->f[0] = s;
  int linear = op == LT_ADD || op == LT_SUB || op == LT_MUL || op == LT_FLOORDIV ||
               ((op == LT_DIV || op == LT_MOD) && !scalar_first);
  if (!linear && lt_save(node, a) < 0) return fail_out(out);
  return out;
}

/* ---- unary ------------------------------------------------------------------ */
/* which unary backward needs the input x (1), the output y (2), or neither */
static int unary_needs(lt_unop op) {
  switch (op) {
  case LT_LOG: case LT_ABS: case LT_RELU: case LT_SIN: case LT_COS: case LT_LOG1P: case LT_SQUARE:
  case LT_ERF: return 1;
  case LT_EXP: case LT_SQRT: case LT_TANH: case LT_SIGMOID: case LT_EXPM1: case LT_RSQRT: case LT_RECIPROCAL: return 2;
  default: return 0;
  }
}

static int bw_unary(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  lt_tensor *x = lt_saved(n, 0), *y = lt_saved(n, 0); /* the one unary_needs saved */
  switch ((lt_unop)n->i[0]) {
  case LT_NEG: OUT(gin[0], lt_unary(LT_NEG, g)); break;
  case LT_EXP: OUT(gin[0], MUL(g, y)); break;
  case LT_LOG: OUT(gin[0], DIV(g, x)); break;
  case LT_SQRT: OUT(gin[0], DIV(g, K(SMUL(y, 2)))); break;
  case LT_ABS: OUT(gin[0], MUL(g, K(lt_unary(LT_SIGN, x)))); break;
  case LT_TANH: OUT(gin[0], MUL(g, K(lt_binary_scalar(LT_SUB, K(MUL(y, y)), 1, 1, 1)))); break;
  case LT_SIGMOID: OUT(gin[0], MUL(g, K(MUL(y, K(lt_binary_scalar(LT_SUB, y, 1, 1, 1)))))); break;
  case LT_RELU: OUT(gin[0], MUL(g, K(as_float_mask(K(lt_binary_scalar(LT_GT, x, 0, 1, 0)), g->dtype)))); break;
  case LT_SIN: OUT(gin[0], MUL(g, K(lt_unary(LT_COS, x)))); break;
  case LT_COS: OUT(gin[0], MUL(g, K(lt_unary(LT_NEG, K(lt_unary(LT_SIN, x)))))); break;
  case LT_LOG1P: OUT(gin[0], DIV(g, K(lt_binary_scalar(LT_ADD, x, 1, 1, 0)))); break;
  case LT_EXPM1: OUT(gin[0], MUL(g, K(lt_binary_scalar(LT_ADD, y, 1, 1, 0)))); break;
  case LT_RSQRT: OUT(gin[0], MUL(g, K(SMUL(K(MUL(y, K(MUL(y, y)))), -0.5)))); break;
  case LT_RECIPROCAL: OUT(gin[0], MUL(g, K(lt_unary(LT_NEG, K(MUL(y, y)))))); break;
  case LT_SQUARE: OUT(gin[0], MUL(g, K(SMUL(x, 2)))); break;
  case LT_ERF: /* 2 / sqrt(pi) exp(-x^2) */
    OUT(gin[0], MUL(g, K(SMUL(K(lt_unary(LT_EXP, K(lt_unary(LT_NEG, K(MUL(x, x)))))), 1.1283791670955126))));
    break;
  default: break; /* floor, ceil, round, sign: zero gradient */
  }
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

lt_tensor *ag_unary(lt_unop op, lt_tensor *a) {
  static const char *names[] = {"NegBackward", "ExpBackward", "LogBackward", "SqrtBackward",
                                "AbsBackward", "TanhBackward", "SigmoidBackward", "ReluBackward",
                                "SinBackward", "CosBackward", "Log1pBackward", "Expm1Backward",
                                "FloorBackward", "CeilBackward", "RoundBackward", "SignBackward",
                                "RsqrtBackward", "ReciprocalBackward", "SquareBackward", "ErfBackward"};
  lt_tensor *out = lt_unary(op, a);
  lt_node *node = record(&out, names[op], bw_unary, 1, &a);
  if (!node) return out;
  node->i[0] = op;
  int need = unary_needs(op);
  if (need && lt_save(node, need == 1 ? a : out) < 0) return fail_out(out);
  return out;
}

/* clamp: the gradient passes where lo <= x <= hi, as PyTorch */
static int bw_clamp(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  lt_tensor *x = lt_saved(n, 0);
  lt_tensor *lo = K(lt_binary_scalar(LT_GE, x, n->f[0], 0, 0)), *hi = K(lt_binary_scalar(LT_LE, x, n->f[1], 0, 0));
  OUT(gin[0], MUL(g, K(as_float_mask(K(MUL(lo, hi)), g->dtype))));
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

lt_tensor *ag_clamp(lt_tensor *a, double lo, double hi) {
  lt_tensor *out = lt_clamp(a, lo, hi);
  lt_node *node = record(&out, "ClampBackward", bw_clamp, 1, &a);
  if (!node) return out;
  node->f[0] = lo != lo ? -INFINITY : lo;
  node->f[1] = hi != hi ? INFINITY : hi;
  if (lt_save(node, a) < 0) return fail_out(out);
  return out;
}

/* where(cond, a, b) and masked_fill: the mask routes the gradient */
static int bw_where(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  lt_tensor *m = K(as_float_mask(K(lt_binary_scalar(LT_NE, lt_saved(n, 0), 0, 1, 0)), g->dtype));
  if (n->needs[0]) OUT(gin[0], MUL(g, m));
  if (n->ninputs > 1 && n->needs[1]) OUT(gin[1], MUL(g, K(lt_binary_scalar(LT_SUB, m, 1, 1, 1))));
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

lt_tensor *ag_where(lt_tensor *cond, lt_tensor *a, lt_tensor *b) {
  lt_tensor *out = lt_where(cond, a, b);
  lt_tensor *in[2] = {a, b};
  lt_node *node = record(&out, "WhereBackward", bw_where, 2, in);
  if (node && lt_save(node, cond) < 0) return fail_out(out);
  return out;
}

/* masked_fill keeps the gradient where the mask is 0: save the inverted mask */
lt_tensor *ag_masked_fill(lt_tensor *t, lt_tensor *mask, double v) {
  lt_tensor *out = lt_clone(t);
  if (out && lt_masked_fill_(out, mask, v) < 0) return fail_out(out);
  lt_node *node = record(&out, "MaskedFillBackward", bw_where, 1, &t);
  if (!node) return out;
  lt_tensor *keepm = lt_binary_scalar(LT_EQ, mask, 0, 1, 0);
  int rc = keepm ? lt_save(node, keepm) : -1;
  lt_release(keepm);
  return rc < 0 ? fail_out(out) : out;
}

/* ---- reductions ----------------------------------------------------------------- */
/* g of a reduction over dim (or all, dim < 0) brought back to rank ndim */
static lt_tensor *unreduce(lt_tensor *g, int ndim, int dim, int keepdim) {
  if (dim < 0) {
    int64_t ones[LT_MAX_DIM];
    for (int d = 0; d < ndim; d++) ones[d] = 1;
    return lt_reshape(g, ndim, ones);
  }
  return keepdim ? lt_retain(g) : lt_unsqueeze(g, dim);
}

/* which reductions need the input and output values (sum and mean need none) */
static int reduce_saves(lt_reduce_op op) { return op != LT_SUM && op != LT_MEAN; }

/* i[0] = op, i[1] = dim, i[2] = keepdim, i[3] = correction; saved: x, out */
static int bw_reduce(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  int dim = (int)n->i[1], keepdim = (int)n->i[2], nd = n->in_ndim[0];
  const int64_t *shape = n->in_shape[0];
  int64_t count = 1;
  for (int d = 0; d < nd; d++) if (dim < 0 || d == dim) count *= shape[d];
  lt_tensor *x = n->nsaved ? lt_saved(n, 0) : NULL, *y = n->nsaved ? lt_saved(n, 1) : NULL;
  lt_tensor *gu = K(unreduce(g, nd, dim, keepdim));
  lt_tensor *yu = y ? K(unreduce(y, nd, dim, keepdim)) : NULL;
  switch ((lt_reduce_op)n->i[0]) {
  case LT_SUM: OUT(gin[0], lt_expand(gu, nd, shape)); break;
  case LT_MEAN: OUT(gin[0], SMUL(K(lt_expand(gu, nd, shape)), 1.0 / (double)count)); break;
  case LT_PROD: /* prod / x: exact for inputs without zeros */
    OUT(gin[0], MUL(gu, K(DIV(yu, x))));
    break;
  case LT_MAX: case LT_MIN: { /* ties share the gradient evenly */
    lt_tensor *m = K(as_float_mask(K(lt_binary(LT_EQ, x, yu)), g->dtype));
    lt_tensor *c = K(dim < 0 ? lt_reduce(LT_SUM, m, -1, 0, 0) : lt_reduce(LT_SUM, m, dim, 1, 0));
    lt_tensor *cu = K(unreduce(c, nd, dim, dim >= 0));
    OUT(gin[0], MUL(K(DIV(gu, cu)), m));
    break;
  }
  case LT_VAR: case LT_STD: { /* d var = 2 (x - mean) / (n - c); d std = d var / (2 std) */
    lt_tensor *mean = K(dim < 0 ? lt_reduce(LT_MEAN, x, -1, 0, 0) : lt_reduce(LT_MEAN, x, dim, 1, 0));
    lt_tensor *mu = K(unreduce(mean, nd, dim, dim >= 0));
    lt_tensor *dx = K(SMUL(K(SUB(x, mu)), 1.0 / (double)(count - n->i[3])));
    if (n->i[0] == LT_VAR) OUT(gin[0], MUL(gu, K(SMUL(dx, 2))));
    else OUT(gin[0], MUL(K(DIV(gu, yu)), dx));
    break;
  }
  case LT_LOGSUMEXP: OUT(gin[0], MUL(gu, K(lt_unary(LT_EXP, K(SUB(x, yu)))))); break;
  default: break;
  }
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

lt_tensor *ag_reduce(lt_reduce_op op, lt_tensor *t, int dim, int keepdim, int correction) {
  static const char *names[] = {"SumBackward", "MeanBackward", "ProdBackward", "MaxBackward",
                                "MinBackward", "ArgmaxBackward", "ArgminBackward", "VarBackward",
                                "StdBackward", "LogsumexpBackward"};
  lt_tensor *out = lt_reduce(op, t, dim, keepdim, correction);
  lt_node *node = record(&out, names[op], bw_reduce, 1, &t);
  if (!node) return out;
  node->i[0] = op; node->i[1] = dim; node->i[2] = keepdim; node->i[3] = correction;
  if (reduce_saves(op) && (lt_save(node, t) < 0 || lt_save(node, out) < 0)) return fail_out(out);
  return out;
}

/* max/min over dim: the gradient goes to the chosen position only */
static int bw_index_reduce(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  int dim = (int)n->i[1], keepdim = (int)n->i[2];
  lt_tensor *idx = lt_saved(n, 0);
  int64_t size = n->in_shape[0][dim];
  lt_tensor *gu = K(unreduce(g, n->in_ndim[0], dim, keepdim));
  lt_tensor *iu = K(unreduce(idx, n->in_ndim[0], dim, keepdim));
  /* one-hot along dim: positions 0..size-1 compared with the index */
  lt_tensor *pos = K(lt_arange(LT_INT64, 0, (double)size, 1));
  int64_t shape[LT_MAX_DIM];
  for (int d = 0; d < n->in_ndim[0]; d++) shape[d] = d == dim ? size : 1;
  lt_tensor *posv = K(lt_view(pos, n->in_ndim[0], shape));
  OUT(gin[0], MUL(gu, K(as_float_mask(K(lt_binary(LT_EQ, posv, iu)), g->dtype))));
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

int ag_reduce_with_index(lt_reduce_op op, lt_tensor *t, int dim, int keepdim, lt_tensor **values,
                         lt_tensor **indices) {
  if (lt_reduce_with_index(op, t, dim, keepdim, values, indices) < 0) return -1;
  lt_node *node = record(values, op == LT_MAX ? "MaxBackward" : "MinBackward", bw_index_reduce, 1, &t);
  if (!*values) { lt_release(*indices); *indices = NULL; return -1; }
  if (!node) return 0;
  node->i[1] = dim; node->i[2] = keepdim;
  if (lt_save(node, *indices) < 0) {
    lt_release(*values); lt_release(*indices); *values = *indices = NULL;
    return -1;
  }
  return 0;
}

/* softmax: y (g - sum(g y)); log_softmax: g - exp(y) sum(g) */
static int bw_softmax(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  lt_tensor *y = lt_saved(n, 0);
  int dim = (int)n->i[0];
  if (n->i[1]) {
    lt_tensor *s = K(lt_reduce(LT_SUM, g, dim, 1, 0));
    OUT(gin[0], SUB(g, K(MUL(K(lt_unary(LT_EXP, y)), s))));
  } else {
    lt_tensor *s = K(lt_reduce(LT_SUM, K(MUL(g, y)), dim, 1, 0));
    OUT(gin[0], MUL(y, K(SUB(g, s))));
  }
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

lt_tensor *ag_softmax(lt_tensor *t, int dim, int log_) {
  lt_tensor *out = lt_softmax(t, dim, log_);
  lt_node *node = record(&out, log_ ? "LogSoftmaxBackward" : "SoftmaxBackward", bw_softmax, 1, &t);
  if (!node) return out;
  node->i[0] = dim; node->i[1] = log_;
  if (lt_save(node, out) < 0) return fail_out(out);
  return out;
}

/* ---- products ------------------------------------------------------------------- */
/* the last two dims swapped (a vector stays as it is) */
static lt_tensor *mT(lt_tensor *t) { return t->ndim < 2 ? lt_retain(t) : lt_transpose(t, t->ndim - 2, t->ndim - 1); }

/* matmul of (.., m, k) and (.., k, n): ga = g b^T, gb = a^T g, with vectors
   lifted to matrices for the products and dropped again after */
static int bw_matmul(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  lt_tensor *a = lt_saved(n, 0), *b = lt_saved(n, 1);
  lt_tensor *A = K(a->ndim == 1 ? lt_unsqueeze(a, 0) : lt_retain(a));
  lt_tensor *B = K(b->ndim == 1 ? lt_unsqueeze(b, 1) : lt_retain(b));
  lt_tensor *G = g;
  if (a->ndim == 1) G = K(lt_unsqueeze(G, G->ndim - (b->ndim == 1 ? 0 : 1)));
  if (b->ndim == 1) G = K(lt_unsqueeze(G, G->ndim));
  if (n->needs[0]) {
    lt_tensor *ga = K(lt_matmul(G, K(mT(B))));
    OUT(gin[0], a->ndim == 1 ? lt_squeeze(ga, ga->ndim - 2) : lt_retain(ga));
  }
  if (n->needs[1]) {
    lt_tensor *gb = K(lt_matmul(K(mT(A)), G));
    OUT(gin[1], b->ndim == 1 ? lt_squeeze(gb, gb->ndim - 1) : lt_retain(gb));
  }
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

static lt_tensor *product(lt_tensor *out, const char *name, lt_tensor *a, lt_tensor *b) {
  lt_tensor *in[2] = {a, b};
  lt_node *node = record(&out, name, bw_matmul, 2, in);
  if (node && (lt_save(node, a) < 0 || lt_save(node, b) < 0)) return fail_out(out);
  return out;
}

lt_tensor *ag_mm(lt_tensor *a, lt_tensor *b) { return product(lt_mm(a, b), "MmBackward", a, b); }
lt_tensor *ag_bmm(lt_tensor *a, lt_tensor *b) { return product(lt_bmm(a, b), "BmmBackward", a, b); }
lt_tensor *ag_matmul(lt_tensor *a, lt_tensor *b) { return product(lt_matmul(a, b), "MatmulBackward", a, b); }
lt_tensor *ag_dot(lt_tensor *a, lt_tensor *b) { return product(lt_dot(a, b), "DotBackward", a, b); }

/* ---- shape and views ----------------------------------------------------------------- */
/* the gradient has the input's elements in another shape: reshape it back */
static int bw_reshape(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  return (gin[0] = lt_reshape(g, n->in_ndim[0], n->in_shape[0])) ? 0 : -1;
}

static lt_tensor *reshaped(lt_tensor *out, const char *name, lt_tensor *t) {
  record(&out, name, bw_reshape, 1, &t);
  return out;
}

lt_tensor *ag_view(lt_tensor *t, int ndim, const int64_t *shape) { return reshaped(lt_view(t, ndim, shape), "ViewBackward", t); }
lt_tensor *ag_reshape(lt_tensor *t, int ndim, const int64_t *shape) { return reshaped(lt_reshape(t, ndim, shape), "ReshapeBackward", t); }
lt_tensor *ag_squeeze(lt_tensor *t, int dim) { return reshaped(lt_squeeze(t, dim), "SqueezeBackward", t); }
lt_tensor *ag_unsqueeze(lt_tensor *t, int dim) { return reshaped(lt_unsqueeze(t, dim), "UnsqueezeBackward", t); }
lt_tensor *ag_flatten(lt_tensor *t, int s, int e) { return reshaped(lt_flatten(t, s, e), "FlattenBackward", t); }

/* the gradient is already the input's: contiguous, clone, to(dtype) (the
   engine converts the dtype back), expand (the engine sums it back) */
static int bw_identity(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  (void)n;
  gin[0] = lt_retain(g);
  return 0;
}

static lt_tensor *passthrough(lt_tensor *out, const char *name, lt_tensor *t) {
  record(&out, name, bw_identity, 1, &t);
  return out;
}

lt_tensor *ag_contiguous(lt_tensor *t) {
  if (lt_is_contiguous(t)) return lt_retain(t); /* the same tensor, graph and all */
  return passthrough(lt_contiguous(t), "ContiguousBackward", t);
}
lt_tensor *ag_clone(lt_tensor *t) { return passthrough(lt_clone(t), "CloneBackward", t); }
lt_tensor *ag_expand(lt_tensor *t, int ndim, const int64_t *shape) { return passthrough(lt_expand(t, ndim, shape), "ExpandBackward", t); }
lt_tensor *ag_to(lt_tensor *t, lt_dtype dt) {
  if (t->dtype == dt) return lt_retain(t);
  return passthrough(lt_to(t, dt), "ToBackward", t);
}

/* transpose and permute: the inverse permutation */
static int bw_permute(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int inv[LT_MAX_DIM];
  for (int d = 0; d < g->ndim; d++) inv[n->i[d]] = d;
  return (gin[0] = lt_permute(g, inv)) ? 0 : -1;
}

lt_tensor *ag_permute(lt_tensor *t, const int *dims) {
  lt_tensor *out = lt_permute(t, dims);
  lt_node *node = record(&out, "PermuteBackward", bw_permute, 1, &t);
  if (node) for (int d = 0; d < t->ndim; d++) node->i[d] = dims[d];
  return out;
}

lt_tensor *ag_transpose(lt_tensor *t, int d0, int d1) {
  lt_tensor *out = lt_transpose(t, d0, d1);
  lt_node *node = record(&out, "TransposeBackward", bw_permute, 1, &t);
  if (node) {
    for (int d = 0; d < t->ndim; d++) node->i[d] = d;
    node->i[d0] = d1;
    node->i[d1] = d0;
  }
  return out;
}

/* narrow, slice and select: the gradient lands in a zero tensor of the input's
   shape, at the same view. i[0] = kind (0 slice, 1 select), i[1] = dim,
   i[2] = start, i[3] = stop or index, i[4] = step */
static int bw_view_into(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *z = lt_zeros(g->dtype, n->in_ndim[0], n->in_shape[0]);
  if (!z) return -1;
  lt_tensor *v = n->i[0] ? lt_select(z, (int)n->i[1], n->i[3])
                         : lt_slice(z, (int)n->i[1], n->i[2], n->i[3], n->i[4]);
  int rc = v ? lt_copy_(v, g) : -1;
  lt_release(v);
  if (rc < 0) { lt_release(z); return -1; }
  gin[0] = z;
  return 0;
}

static lt_tensor *view_into(lt_tensor *out, const char *name, lt_tensor *t, int kind, int dim,
                            int64_t start, int64_t stop, int64_t step) {
  lt_node *node = record(&out, name, bw_view_into, 1, &t);
  if (node) { node->i[0] = kind; node->i[1] = dim; node->i[2] = start; node->i[3] = stop; node->i[4] = step; }
  return out;
}

lt_tensor *ag_narrow(lt_tensor *t, int dim, int64_t start, int64_t length) {
  return view_into(lt_narrow(t, dim, start, length), "NarrowBackward", t, 0, dim, start, start + length, 1);
}
lt_tensor *ag_slice(lt_tensor *t, int dim, int64_t start, int64_t stop, int64_t step) {
  return view_into(lt_slice(t, dim, start, stop, step), "SliceBackward", t, 0, dim, start, stop, step);
}
lt_tensor *ag_select(lt_tensor *t, int dim, int64_t index) {
  return view_into(lt_select(t, dim, index), "SelectBackward", t, 1, dim, 0, index, 1);
}

/* ---- gathering and joining ------------------------------------------------------------ */
/* index_select and gather: scatter-add the gradient back. i[0] = dim, i[1] = kind */
static int bw_scatter(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *z = lt_zeros(g->dtype, n->in_ndim[0], n->in_shape[0]);
  if (!z) return -1;
  int rc = n->i[1] ? lt_scatter_add_(z, (int)n->i[0], lt_saved(n, 0), g)
                   : lt_index_add_(z, (int)n->i[0], lt_saved(n, 0), g);
  if (rc < 0) { lt_release(z); return -1; }
  gin[0] = z;
  return 0;
}

static lt_tensor *scattered(lt_tensor *out, const char *name, lt_tensor *t, int dim, lt_tensor *index, int kind) {
  lt_node *node = record(&out, name, bw_scatter, 1, &t);
  if (!node) return out;
  node->i[0] = dim; node->i[1] = kind;
  if (lt_save(node, index) < 0) return fail_out(out);
  return out;
}

lt_tensor *ag_index_select(lt_tensor *t, int dim, lt_tensor *index) {
  return scattered(lt_index_select(t, dim, index), "IndexSelectBackward", t, dim, index, 0);
}
lt_tensor *ag_gather(lt_tensor *t, int dim, lt_tensor *index) {
  return scattered(lt_gather(t, dim, index), "GatherBackward", t, dim, index, 1);
}

/* cat: each input gets its slice of the gradient; stack: its select.
   i[0] = dim, i[1] = stack */
static int bw_join(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int dim = (int)n->i[0];
  int64_t at = 0;
  for (int k = 0; k < n->ninputs; k++) {
    int64_t len = n->i[1] ? 1 : n->in_shape[k][dim];
    if (n->needs[k]) {
      gin[k] = n->i[1] ? lt_select(g, dim, at) : lt_narrow(g, dim, at, len);
      if (!gin[k]) return -1;
    }
    at += len;
  }
  return 0;
}

static lt_tensor *joined(lt_tensor *out, const char *name, lt_tensor **ts, int n, int dim, int stack) {
  lt_node *node = record(&out, name, bw_join, n, ts);
  if (node) { node->i[0] = dim; node->i[1] = stack; }
  return out;
}

lt_tensor *ag_cat(lt_tensor **ts, int n, int dim) { return joined(lt_cat(ts, n, dim), "CatBackward", ts, n, dim, 0); }
lt_tensor *ag_stack(lt_tensor **ts, int n, int dim) { return joined(lt_stack(ts, n, dim), "StackBackward", ts, n, dim, 1); }
