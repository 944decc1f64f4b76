/* tensor_check.h -- helpers shared by the C tests of kernels: random
 * tensors, non-contiguous copies, comparisons, expected error messages, and
 * gradients against central finite differences (float64, step EPS). */
#ifndef LUNET_TENSOR_CHECK_H
#define LUNET_TENSOR_CHECK_H
#include "tensor.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define EPS 1e-6
#define FD_TOL 1e-6

static inline double *D(lt_tensor *t) { return lt_data(t); }

static inline lt_tensor *randn(lt_dtype dt, int nd, const int64_t *shape) {
  lt_tensor *t = lt_empty(dt, nd, shape);
  lt_randn_(t, 0, 1);
  return t;
}

/* the same values in a non-contiguous view: the last two dims stored
   transposed when both exceed 1 (a permuted layout), otherwise every other
   element along the innermost dim of size > 1 (a 1x1 kernel, a 1x1 output) */
static inline lt_tensor *noncontig(lt_tensor *t) {
  if (t->ndim == 0) return lt_retain(t);
  int nd = t->ndim;
  int64_t shape[LT_MAX_DIM];
  memcpy(shape, t->shape, sizeof shape);
  if (nd >= 2 && t->shape[nd - 2] > 1 && t->shape[nd - 1] > 1) {
    shape[nd - 2] = t->shape[nd - 1];
    shape[nd - 1] = t->shape[nd - 2];
    lt_tensor *store = lt_empty(t->dtype, nd, shape), *v = lt_transpose(store, nd - 2, nd - 1);
    lt_copy_(v, t);
    lt_release(store);
    return v;
  }
  int d = nd - 1;
  while (d > 0 && t->shape[d] == 1) d--;
  shape[d] = 2 * t->shape[d];
  lt_tensor *store = lt_zeros(t->dtype, nd, shape), *v = lt_slice(store, d, 0, shape[d], 2);
  lt_copy_(v, t);
  lt_release(store);
  return v;
}

/* largest |a - b| / (1 + |b|) over all elements (same shape, any dtype) */
static inline double max_rel_diff(lt_tensor *a, lt_tensor *b) {
  if (!a || !b || !lt_same_shape(a, b)) return INFINITY;
  lt_tensor *ca = lt_to(a, LT_FLOAT64), *cb = lt_to(b, LT_FLOAT64);
  lt_tensor *xa = lt_contiguous(ca), *xb = lt_contiguous(cb);
  double m = 0;
  for (int64_t i = 0; i < lt_numel(xa); i++) {
    double d = fabs(D(xa)[i] - D(xb)[i]) / (1 + fabs(D(xb)[i]));
    if (!(d <= m)) m = d; /* NaN counts as a difference */
  }
  lt_release(ca); lt_release(cb); lt_release(xa); lt_release(xb);
  return m;
}

/* sum(y * r): y any float tensor, r contiguous float64 of y's numel; NULL y
   (an output not computed) counts as NaN */
static inline double dot_sum(lt_tensor *y, lt_tensor *r) {
  if (!y) return NAN;
  lt_tensor *c = lt_to(y, LT_FLOAT64), *x = lt_contiguous(c);
  double s = 0;
  for (int64_t i = 0; i < lt_numel(x); i++) s += D(x)[i] * D(r)[i];
  lt_release(c); lt_release(x);
  return s;
}

/* central differences of loss() with respect to every element of t (contiguous
   float64, perturbed in place) against grad; returns the number of mismatches.
   skip_row >= 0 leaves out the rows of that index along dim 0 (their gradient
   is zero by definition, not by the formula). */
typedef double (*loss_fn)(void *ctx);
static inline int fd_check_rows(lt_tensor *t, lt_tensor *grad, loss_fn loss, void *ctx, const char *what,
                         int cas, int64_t skip_row) {
  if (!grad || lt_numel(grad) != lt_numel(t)) {
    fprintf(stderr, "  %s (case %d): no gradient (%s)\n", what, cas, grad ? "wrong size" : lt_errmsg());
    return 1;
  }
  lt_tensor *gc = lt_to(grad, LT_FLOAT64), *g = lt_contiguous(gc);
  double *p = D(t);
  int64_t row = t->ndim ? lt_numel(t) / t->shape[0] : 1;
  int bad = 0;
  for (int64_t i = 0; i < lt_numel(t); i++) {
    if (skip_row >= 0 && i / row == skip_row) continue;
    double old = p[i];
    p[i] = old + EPS;
    double lp = loss(ctx);
    p[i] = old - EPS;
    double lm = loss(ctx);
    p[i] = old;
    double fd = (lp - lm) / (2 * EPS), an = D(g)[i];
    if (!(fabs(fd - an) <= FD_TOL * (1 + fabs(fd)))) {
      if (bad++ < 3) fprintf(stderr, "  %s (case %d) element %lld: backward %.10g, finite difference %.10g\n",
                             what, cas, (long long)i, an, fd);
    }
  }
  lt_release(gc); lt_release(g);
  return bad;
}

static inline int fd_check(lt_tensor *t, lt_tensor *grad, loss_fn loss, void *ctx, const char *what, int cas) {
  return fd_check_rows(t, grad, loss, ctx, what, cas, -1);
}

static inline int msg_is(const char *expected) {
  if (strcmp(lt_errmsg(), expected) == 0) return 1;
  fprintf(stderr, "  message: \"%s\"\n  expected: \"%s\"\n", lt_errmsg(), expected);
  return 0;
}

#endif
