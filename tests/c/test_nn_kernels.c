/* test_nn_kernels.c -- fused nn kernels (src/nn_kernels.c): losses, recurrent
 * cells, embedding, batch norm and layer norm.
 *
 * Every forward is compared with a reference written here from the definition
 * (float64 loops), in float64 and in float32; every backward with central
 * finite differences of the forward under test (float64, eps 1e-6), the
 * outputs weighted by random numbers so each case checks one vector-Jacobian
 * product. Cases include strided views as inputs; the results must not depend
 * on the thread count, and bad arguments must fail with the documented message. */
#include "check.h"
#include "tensor_check.h"
#include "nn_kernels.h"
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------------------- */


static lt_tensor *randu(lt_dtype dt, int nd, const int64_t *shape, double lo, double hi) {
  lt_tensor *t = lt_empty(dt, nd, shape);
  lt_rand_(t, lo, hi);
  return t;
}

static int64_t *I(lt_tensor *t) { return lt_data(t); }


/* t as a kernel argument: a strided copy when nc, else t itself; NULL stays NULL */
static lt_tensor *arg(lt_tensor *t, int nc) {
  if (!t) return NULL;
  return nc ? noncontig(t) : lt_retain(t);
}

/* t in float32 (NULL stays NULL) */
static lt_tensor *f32(lt_tensor *t) { return t ? lt_to(t, LT_FLOAT32) : NULL; }


/* a and b hold the same bits (same dtype and shape) */
static int same_bits(lt_tensor *a, lt_tensor *b) {
  if (!a || !b || a->dtype != b->dtype || !lt_same_shape(a, b)) return 0;
  lt_tensor *xa = lt_contiguous(a), *xb = lt_contiguous(b);
  int same = memcmp(lt_data(xa), lt_data(xb), (size_t)lt_numel(xa) * lt_dtype_size(xa->dtype)) == 0;
  lt_release(xa); lt_release(xb);
  return same;
}

static int all_finite(lt_tensor *t) {
  lt_tensor *c = lt_to(t, LT_FLOAT64), *x = lt_contiguous(c);
  int ok = 1;
  for (int64_t i = 0; i < lt_numel(x); i++) ok &= isfinite(D(x)[i]) != 0;
  lt_release(c); lt_release(x);
  return ok;
}





static void release_all(lt_tensor **ts, size_t n) {
  for (size_t i = 0; i < n; i++) lt_release(ts[i]);
}
#define RELEASE(...)                                                                   \
  release_all((lt_tensor *[]){__VA_ARGS__}, sizeof((lt_tensor *[]){__VA_ARGS__}) / sizeof(lt_tensor *))

static const lt_loss_reduction reductions[3] = {LT_LOSS_NONE, LT_LOSS_MEAN, LT_LOSS_SUM};
static const char *red_name[3] = {"none", "mean", "sum"};

/* the loss weighting of a reduction: r of the per-position shape, or 0-d */
static lt_tensor *loss_weights(lt_loss_reduction red, int nd, const int64_t *shape) {
  return red == LT_LOSS_NONE ? randn(LT_FLOAT64, nd, shape) : randn(LT_FLOAT64, 0, NULL);
}

/* ---- cross entropy and nll_loss -------------------------------------------------------- */

/* from the definition, in double: x contiguous float64 (C) or (N, C, d...),
   log-probabilities (logits = 0) or logits; per-position losses into *each,
   log_softmax into *lp; returns the reduced loss (NaN for none) */
static double nll_ref(lt_tensor *x, int logits, lt_tensor *target, lt_tensor *weight, int64_t ignore,
                      double eps, lt_loss_reduction red, lt_tensor **each, lt_tensor **lp) {
  int64_t C = x->ndim == 1 ? x->shape[0] : x->shape[1], inner = 1, rows = lt_numel(target);
  for (int d = 2; d < x->ndim; d++) inner *= x->shape[d];
  *lp = lt_empty(LT_FLOAT64, x->ndim, x->shape);
  *each = lt_empty(LT_FLOAT64, target->ndim, target->shape);
  double total = 0, wt_sum = 0;
  for (int64_t r = 0; r < rows; r++) {
    int64_t o = r / inner, i = r % inner, t = I(target)[r];
    double z = 0;
    for (int64_t c = 0; c < C; c++) z += exp(D(x)[(o * C + c) * inner + i]);
    for (int64_t c = 0; c < C; c++) {
      double v = D(x)[(o * C + c) * inner + i];
      D(*lp)[(o * C + c) * inner + i] = logits ? v - log(z) : v;
    }
    if (t == ignore) { D(*each)[r] = 0; continue; }
    double wt = weight ? D(weight)[t] : 1, sm = 0;
    for (int64_t c = 0; c < C; c++) sm += (weight ? D(weight)[c] : 1) * D(*lp)[(o * C + c) * inner + i];
    double l = -(1 - eps) * wt * D(*lp)[(o * C + t) * inner + i] - eps / (double)C * sm;
    D(*each)[r] = l;
    total += l;
    wt_sum += wt;
  }
  return red == LT_LOSS_NONE ? NAN : red == LT_LOSS_SUM ? total : total / wt_sum;
}

typedef struct {
  int ndim;
  int64_t shape[4];
  int weight;
  int ign;   /* 0: none ignored; 1: ignore_index -100 on some targets; 2: ignore_index 1 (a class) */
  double eps;
  int nc;    /* strided views as arguments */
} ce_case;

static const ce_case ce_cases[] = {
    {1, {5}, 0, 0, 0, 0},            /* (C) with a 0-d target */
    {1, {5}, 1, 0, 0.2, 1},          /* weights, smoothing, strided */
    {1, {5}, 1, 1, 0.1, 0},          /* the one target ignored */
    {2, {4, 5}, 0, 0, 0, 0},         /* (N, C) */
    {2, {4, 5}, 1, 1, 0, 1},         /* weights, ignored targets, transposed */
    {2, {4, 5}, 1, 2, 0.1, 0},       /* ignore_index is a class */
    {2, {6, 5}, 1, 1, 0.3, 1},
    {2, {6, 1}, 0, 0, 0.5, 0},       /* one class: log_softmax is 0 */
    {3, {2, 3, 5}, 1, 0, 0, 0},      /* (N, C, d1) */
    {4, {3, 4, 2, 3}, 1, 1, 0.1, 0}, /* (N, C, d1, d2) */
    {4, {3, 4, 2, 3}, 0, 0, 0, 1},
    {4, {2, 3, 3, 2}, 0, 2, 0.25, 1},
};
#define NCE (int)(sizeof ce_cases / sizeof ce_cases[0])

typedef struct {
  lt_tensor *x, *target, *weight, *r;
  int64_t ignore;
  double eps;
  lt_loss_reduction red;
  int logits; /* cross_entropy (x: logits) or nll_loss (x: logp) */
} ce_ctx;

static double ce_loss(void *p) {
  ce_ctx *k = p;
  lt_tensor *y = k->logits ? lt_cross_entropy_forward(k->x, k->target, k->weight, k->ignore, k->eps, k->red, NULL)
                           : lt_nll_loss_forward(k->x, k->target, k->weight, k->ignore, k->eps, k->red);
  double l = dot_sum(y, k->r);
  lt_release(y);
  return l;
}

/* targets of x's shape without the class dim, ignore_index on some of them */
static lt_tensor *make_target(lt_tensor *x, int ign, int64_t *ignore) {
  int64_t C = x->ndim == 1 ? x->shape[0] : x->shape[1], shape[LT_MAX_DIM];
  int nd = x->ndim == 1 ? 0 : x->ndim - 1;
  for (int d = 0; d < nd; d++) shape[d] = x->shape[d == 0 ? 0 : d + 1];
  lt_tensor *t = lt_empty(LT_INT64, nd, shape);
  lt_randint_(t, 0, C);
  *ignore = ign == 2 ? 1 : -100;
  for (int64_t r = 0; ign && r < lt_numel(t); r += 3) I(t)[r] = *ignore;
  return t;
}

static void test_cross_entropy(void) {
  for (int ci = 0; ci < NCE; ci++) {
    const ce_case *c = &ce_cases[ci];
    lt_tensor *x = randn(LT_FLOAT64, c->ndim, c->shape);
    lt_binary_scalar_(LT_MUL, x, 2);
    int64_t C = c->ndim == 1 ? c->shape[0] : c->shape[1], ignore;
    lt_tensor *target = make_target(x, c->ign, &ignore);
    lt_tensor *w = c->weight ? randu(LT_FLOAT64, 1, &C, 0.2, 2) : NULL;
    lt_tensor *xa = arg(x, c->nc), *ta = arg(target, c->nc), *wa = arg(w, c->nc);
    lt_tensor *xf = f32(xa), *wf = f32(wa);
    for (int ri = 0; ri < 3; ri++) {
      lt_loss_reduction red = reductions[ri];
      lt_tensor *each, *lpref;
      double ref = nll_ref(x, 1, target, w, ignore, c->eps, red, &each, &lpref);
      /* forward, float64 */
      lt_tensor *lp = NULL, *y = lt_cross_entropy_forward(xa, ta, wa, ignore, c->eps, red, &lp);
      CHECK(y && lp && lt_is_contiguous(y) && y->refcount == 1 && lp->refcount == 1);
      if (!y) { fprintf(stderr, "  ce case %d %s: %s\n", ci, red_name[ri], lt_errmsg()); continue; }
      /* every target ignored: mean is NaN (test_cross_entropy_all_ignored) */
      int nan_mean = red == LT_LOSS_MEAN && isnan(ref);
      double e = red == LT_LOSS_NONE ? max_rel_diff(y, each)
                 : nan_mean          ? (isnan(D(y)[0]) ? 0 : INFINITY)
                                     : fabs(D(y)[0] - ref) / (1 + fabs(ref));
      if (!(e < 1e-12)) fprintf(stderr, "  ce case %d %s: forward differs by %g\n", ci, red_name[ri], e);
      CHECK(e < 1e-12);
      CHECK(y->ndim == (red == LT_LOSS_NONE ? target->ndim : 0));
      CHECK(max_rel_diff(lp, lpref) < 1e-12);
      /* nll_loss on log_softmax is the same loss */
      lt_tensor *lpa = arg(lp, c->nc), *yn = lt_nll_loss_forward(lpa, ta, wa, ignore, c->eps, red);
      CHECK(nan_mean ? isnan(D(yn)[0]) : max_rel_diff(yn, y) < 1e-12);
      /* backward against finite differences */
      lt_tensor *r = loss_weights(red, target->ndim, target->shape), *ra = arg(r, c->nc);
      lt_tensor *gx = lt_cross_entropy_backward(ra, lpa, ta, wa, ignore, c->eps, red);
      lt_tensor *lpm = lt_clone(lp), *gl = lt_nll_loss_backward(ra, lpa, ta, wa, ignore, c->eps, red);
      if (nan_mean) { /* the loss is NaN but the gradient zero */
        lt_tensor *z = lt_zeros(LT_FLOAT64, x->ndim, x->shape);
        CHECK(max_rel_diff(gx, z) == 0 && max_rel_diff(gl, z) == 0);
        lt_release(z);
      } else {
        ce_ctx k = {x, target, w, r, ignore, c->eps, red, 1};
        CHECK(fd_check(x, gx, ce_loss, &k, "cross_entropy grad_logits", ci * 3 + ri) == 0);
        ce_ctx kn = {lpm, target, w, r, ignore, c->eps, red, 0};
        CHECK(fd_check(lpm, gl, ce_loss, &kn, "nll_loss grad_logp", ci * 3 + ri) == 0);
      }
      /* float32 against the float64 reference */
      lt_tensor *lpf = NULL, *yf = lt_cross_entropy_forward(xf, ta, wf, ignore, c->eps, red, &lpf);
      CHECK(yf && yf->dtype == LT_FLOAT32 && lpf && lpf->dtype == LT_FLOAT32);
      if (yf) {
        double yf0 = ((float *)lt_data(yf))[0];
        double ef = red == LT_LOSS_NONE ? max_rel_diff(yf, each)
                    : nan_mean          ? (isnan(yf0) ? 0 : INFINITY)
                                        : fabs(yf0 - ref) / (1 + fabs(ref));
        if (!(ef < 1e-5)) fprintf(stderr, "  ce case %d %s float32: forward differs by %g\n", ci, red_name[ri], ef);
        CHECK(ef < 1e-5);
        CHECK(max_rel_diff(lpf, lpref) < 1e-5);
        lt_tensor *rf = f32(ra), *gxf = lt_cross_entropy_backward(rf, lpf, ta, wf, ignore, c->eps, red);
        lt_tensor *ynf = lt_nll_loss_forward(lpf, ta, wf, ignore, c->eps, red);
        lt_tensor *glf = lt_nll_loss_backward(rf, lpf, ta, wf, ignore, c->eps, red);
        CHECK(gxf && gxf->dtype == LT_FLOAT32 && max_rel_diff(gxf, gx) < 1e-5);
        CHECK((nan_mean || max_rel_diff(ynf, yf) < 1e-6) && max_rel_diff(glf, gl) < 1e-6);
        RELEASE(rf, gxf, ynf, glf);
      }
      RELEASE(each, lpref, lp, y, lpa, yn, r, ra, gx, lpm, gl, lpf, yf);
    }
    RELEASE(x, target, w, xa, ta, wa, xf, wf);
  }
}

/* every target ignored: mean is 0/0 = NaN (PyTorch), sum and none are 0, and
   the gradient is zero */
static void test_cross_entropy_all_ignored(void) {
  lt_tensor *x = randn(LT_FLOAT64, 2, (int64_t[]){3, 4}), *t = lt_empty(LT_INT64, 1, (int64_t[]){3});
  lt_fill_(t, -100);
  for (int dt = 0; dt < 2; dt++) {
    lt_tensor *xx = dt ? f32(x) : lt_retain(x), *lp;
    lt_tensor *m = lt_cross_entropy_forward(xx, t, NULL, -100, 0.1, LT_LOSS_MEAN, &lp);
    lt_tensor *s = lt_cross_entropy_forward(xx, t, NULL, -100, 0.1, LT_LOSS_SUM, NULL);
    lt_tensor *n = lt_nll_loss_forward(xx, t, NULL, -100, 0, LT_LOSS_MEAN);
    CHECK(m && isnan(lt_get(m, NULL)) && s && lt_get(s, NULL) == 0 && n && isnan(lt_get(n, NULL)));
    lt_tensor *one = lt_empty(xx->dtype, 0, NULL);
    lt_fill_(one, 1);
    lt_tensor *g = lt_cross_entropy_backward(one, lp, t, NULL, -100, 0.1, LT_LOSS_MEAN);
    lt_tensor *z = lt_zeros(xx->dtype, 2, x->shape);
    CHECK(g && same_bits(g, z));
    RELEASE(xx, lp, m, s, n, one, g, z);
  }
  RELEASE(x, t);
}

/* extreme logits: log_softmax stays finite (shifted by the max) */
static void test_cross_entropy_extreme(void) {
  lt_tensor *x = lt_empty(LT_FLOAT64, 2, (int64_t[]){2, 3}), *t = lt_zeros(LT_INT64, 1, (int64_t[]){2});
  double v[6] = {1000, -1000, 0, -800, -805, -790};
  memcpy(D(x), v, sizeof v);
  I(t)[1] = 2;
  for (int dt = 0; dt < 2; dt++) {
    lt_tensor *xx = dt ? f32(x) : lt_retain(x), *lp;
    lt_tensor *y = lt_cross_entropy_forward(xx, t, NULL, -100, 0, LT_LOSS_NONE, &lp);
    CHECK(y && all_finite(y) && all_finite(lp));
    CHECK_NEAR(lt_get(y, (int64_t[]){0}), 0, 1e-6);
    CHECK_NEAR(lt_get(y, (int64_t[]){1}), log(1 + exp(-10.0) + exp(-15.0)), 1e-6);
    CHECK_NEAR(lt_get(lp, (int64_t[]){0, 1}), -2000, 1e-6);
    RELEASE(xx, lp, y);
  }
  RELEASE(x, t);
  /* C = 11: the max in the 8-lane part of a row and in its remainder */
  x = lt_empty(LT_FLOAT64, 2, (int64_t[]){2, 11});
  t = lt_zeros(LT_INT64, 1, (int64_t[]){2});
  lt_fill_(x, -1000);
  lt_set(x, (int64_t[]){0, 9}, 1000);
  lt_set(x, (int64_t[]){1, 2}, 1000);
  I(t)[0] = 9;
  I(t)[1] = 2;
  for (int dt = 0; dt < 2; dt++) {
    lt_tensor *xx = dt ? f32(x) : lt_retain(x), *lp;
    lt_tensor *y = lt_cross_entropy_forward(xx, t, NULL, -100, 0, LT_LOSS_SUM, &lp);
    CHECK(y && lt_get(y, NULL) == 0 && all_finite(lp));
    RELEASE(xx, lp, y);
  }
  RELEASE(x, t);
}

/* ---- binary cross entropy ------------------------------------------------------------- */

/* t broadcast to shape, contiguous float64 (NULL stays NULL) */
static lt_tensor *bcast(lt_tensor *t, int nd, const int64_t *shape) {
  if (!t) return NULL;
  lt_tensor *e = lt_expand(t, nd, shape), *c = lt_clone(e);
  lt_release(e);
  return c;
}

/* from the definition, in double (x, y, w, pw contiguous, w and pw already
   broadcast): the logits form through log(1 + e^x) rather than the kernel's
   softplus; per-element losses into *each */
static double bce_ref(lt_tensor *x, lt_tensor *y, lt_tensor *w, lt_tensor *pw, int logits,
                      lt_loss_reduction red, lt_tensor **each) {
  int64_t n = lt_numel(x);
  *each = lt_empty(LT_FLOAT64, x->ndim, x->shape);
  double total = 0;
  for (int64_t k = 0; k < n; k++) {
    double xv = D(x)[k], yv = D(y)[k], wv = w ? D(w)[k] : 1, pv = pw ? D(pw)[k] : 1, l;
    if (logits) l = wv * (pv * yv * log1p(exp(-xv)) + (1 - yv) * log1p(exp(xv)));
    else l = -wv * (yv * fmax(log(xv), -100) + (1 - yv) * fmax(log(1 - xv), -100));
    D(*each)[k] = l;
    total += l;
  }
  return red == LT_LOSS_NONE ? NAN : red == LT_LOSS_SUM ? total : total / (double)n;
}

typedef struct {
  int ndim;
  int64_t shape[3];
  int wnd, pwnd;       /* weight, pos_weight: number of dims (0: none) */
  int64_t wshape[3], pwshape[3];
  int nc;
} bce_case;

static const bce_case bce_cases[] = {
    {2, {4, 3}, 0, 0, {0}, {0}, 0},
    {2, {4, 3}, 1, 1, {3}, {3}, 0},            /* per-class weight and pos_weight */
    {2, {4, 3}, 2, 2, {4, 1}, {1, 3}, 1},      /* weight per row, strided */
    {3, {2, 3, 4}, 2, 1, {3, 1}, {4}, 1},
    {1, {5}, 1, 1, {5}, {1}, 0},
    {3, {2, 2, 3}, 3, 0, {2, 2, 3}, {0}, 1},   /* full-shape weight */
};
#define NBCE (int)(sizeof bce_cases / sizeof bce_cases[0])

typedef struct {
  lt_tensor *x, *y, *w, *pw, *r;
  int logits;
  lt_loss_reduction red;
} bce_ctx;

static double bce_loss(void *p) {
  bce_ctx *k = p;
  lt_tensor *l = k->logits ? lt_binary_cross_entropy_with_logits_forward(k->x, k->y, k->w, k->pw, k->red)
                           : lt_binary_cross_entropy_forward(k->x, k->y, k->w, k->red);
  double v = dot_sum(l, k->r);
  lt_release(l);
  return v;
}

static void test_bce(void) {
  for (int ci = 0; ci < NBCE; ci++) {
    const bce_case *c = &bce_cases[ci];
    lt_tensor *w = c->wnd ? randu(LT_FLOAT64, c->wnd, c->wshape, 0.2, 2) : NULL;
    lt_tensor *pw = c->pwnd ? randu(LT_FLOAT64, c->pwnd, c->pwshape, 0.2, 3) : NULL;
    lt_tensor *wb = bcast(w, c->ndim, c->shape), *pwb = bcast(pw, c->ndim, c->shape);
    lt_tensor *y = randu(LT_FLOAT64, c->ndim, c->shape, 0, 1);
    D(y)[0] = 1; /* hard labels as well as soft ones */
    D(y)[1] = 0;
    for (int logits = 0; logits < 2; logits++) {
      lt_tensor *x = logits ? randn(LT_FLOAT64, c->ndim, c->shape) : randu(LT_FLOAT64, c->ndim, c->shape, 0.05, 0.95);
      if (logits) lt_binary_scalar_(LT_MUL, x, 3);
      lt_tensor *pwl = logits ? pw : NULL, *pwbl = logits ? pwb : NULL;
      lt_tensor *xa = arg(x, c->nc), *ya = arg(y, c->nc), *wa = arg(w, c->nc), *pwa = arg(pwl, c->nc);
      lt_tensor *xf = f32(xa), *yf = f32(ya), *wf = f32(wa), *pwf = f32(pwa);
      for (int ri = 0; ri < 3; ri++) {
        lt_loss_reduction red = reductions[ri];
        int cas = ci * 6 + logits * 3 + ri;
        lt_tensor *each;
        double ref = bce_ref(x, y, wb, pwbl, logits, red, &each);
        lt_tensor *l = logits ? lt_binary_cross_entropy_with_logits_forward(xa, ya, wa, pwa, red)
                              : lt_binary_cross_entropy_forward(xa, ya, wa, red);
        if (!l) { fprintf(stderr, "  bce case %d: %s\n", cas, lt_errmsg()); CHECK(l); lt_release(each); continue; }
        double e = red == LT_LOSS_NONE ? max_rel_diff(l, each) : fabs(D(l)[0] - ref) / (1 + fabs(ref));
        if (!(e < 1e-12)) fprintf(stderr, "  bce case %d: forward differs by %g\n", cas, e);
        CHECK(e < 1e-12);
        CHECK(l->ndim == (red == LT_LOSS_NONE ? c->ndim : 0));
        lt_tensor *r = loss_weights(red, c->ndim, c->shape), *ra = arg(r, c->nc);
        lt_tensor *g = logits ? lt_binary_cross_entropy_with_logits_backward(ra, xa, ya, wa, pwa, red)
                              : lt_binary_cross_entropy_backward(ra, xa, ya, wa, red);
        bce_ctx k = {x, y, w, pwl, r, logits, red};
        CHECK(fd_check(x, g, bce_loss, &k, logits ? "bce_with_logits grad" : "bce grad", cas) == 0);
        /* float32 */
        lt_tensor *lf = logits ? lt_binary_cross_entropy_with_logits_forward(xf, yf, wf, pwf, red)
                               : lt_binary_cross_entropy_forward(xf, yf, wf, red);
        double ef = !lf ? INFINITY : red == LT_LOSS_NONE ? max_rel_diff(lf, each)
                                                         : fabs(((float *)lt_data(lf))[0] - ref) / (1 + fabs(ref));
        if (!(ef < 1e-5)) fprintf(stderr, "  bce case %d float32: forward differs by %g\n", cas, ef);
        CHECK(lf && lf->dtype == LT_FLOAT32 && ef < 1e-5);
        lt_tensor *rf = f32(ra);
        lt_tensor *gf = logits ? lt_binary_cross_entropy_with_logits_backward(rf, xf, yf, wf, pwf, red)
                               : lt_binary_cross_entropy_backward(rf, xf, yf, wf, red);
        CHECK(gf && gf->dtype == LT_FLOAT32 && max_rel_diff(gf, g) < 1e-5);
        RELEASE(each, l, r, ra, g, lf, rf, gf);
      }
      RELEASE(x, xa, ya, wa, pwa, xf, yf, wf, pwf);
    }
    RELEASE(w, pw, wb, pwb, y);
  }
}

/* logits at +-100: stable and finite in both dtypes, the gradient saturates to
   w (1 - y) at +100 and -w pw y at -100 */
static void test_bce_extreme_logits(void) {
  lt_tensor *x = lt_empty(LT_FLOAT64, 2, (int64_t[]){2, 3}), *y = lt_empty(LT_FLOAT64, 2, (int64_t[]){2, 3});
  lt_tensor *pw = lt_empty(LT_FLOAT64, 1, (int64_t[]){3}), *w = lt_empty(LT_FLOAT64, 1, (int64_t[]){3});
  double xv[6] = {100, -100, 100, -100, 100, -100}, yv[6] = {1, 0, 0, 1, 0.5, 0.5};
  memcpy(D(x), xv, sizeof xv);
  memcpy(D(y), yv, sizeof yv);
  D(pw)[0] = 2; D(pw)[1] = 0.5; D(pw)[2] = 3;
  D(w)[0] = 1; D(w)[1] = 2; D(w)[2] = 0.5;
  lt_tensor *wb = bcast(w, 2, x->shape), *pwb = bcast(pw, 2, x->shape), *each;
  bce_ref(x, y, wb, pwb, 1, LT_LOSS_NONE, &each);
  for (int dt = 0; dt < 2; dt++) {
    lt_tensor *xx = dt ? f32(x) : lt_retain(x), *yy = dt ? f32(y) : lt_retain(y);
    lt_tensor *ww = dt ? f32(w) : lt_retain(w), *pp = dt ? f32(pw) : lt_retain(pw);
    lt_tensor *l = lt_binary_cross_entropy_with_logits_forward(xx, yy, ww, pp, LT_LOSS_NONE);
    CHECK(l && all_finite(l) && max_rel_diff(l, each) < 1e-6);
    lt_tensor *s = lt_binary_cross_entropy_with_logits_forward(xx, yy, ww, pp, LT_LOSS_SUM);
    CHECK(s && all_finite(s));
    lt_tensor *ones = lt_empty(xx->dtype, 2, x->shape);
    lt_fill_(ones, 1);
    lt_tensor *g = lt_binary_cross_entropy_with_logits_backward(ones, xx, yy, ww, pp, LT_LOSS_NONE);
    CHECK(g && all_finite(g));
    for (int k = 0; g && k < 6; k++) {
      double wk = D(w)[k % 3], pk = D(pw)[k % 3];
      double expect = xv[k] > 0 ? wk * (1 - yv[k]) : -wk * pk * yv[k];
      CHECK_NEAR(lt_get(g, (int64_t[]){k / 3, k % 3}), expect, 1e-6);
    }
    RELEASE(xx, yy, ww, pp, l, s, ones, g);
  }
  RELEASE(x, y, pw, w, wb, pwb, each);
}

/* probabilities at 0 and 1: the logs clamp at -100, the gradient's
   denominator at 1e-12 */
static void test_bce_clamped(void) {
  lt_tensor *p = lt_empty(LT_FLOAT64, 1, (int64_t[]){6}), *y = lt_empty(LT_FLOAT64, 1, (int64_t[]){6});
  double pv[6] = {0, 0, 1, 1, 0, 1}, yv[6] = {1, 0, 0, 1, 0.25, 0.75};
  double loss[6] = {100, 0, 100, 0, 25, 25};
  memcpy(D(p), pv, sizeof pv);
  memcpy(D(y), yv, sizeof yv);
  for (int dt = 0; dt < 2; dt++) {
    lt_tensor *pp = dt ? f32(p) : lt_retain(p), *yy = dt ? f32(y) : lt_retain(y);
    lt_tensor *l = lt_binary_cross_entropy_forward(pp, yy, NULL, LT_LOSS_NONE);
    CHECK(l && all_finite(l));
    for (int k = 0; l && k < 6; k++) CHECK_NEAR(lt_get(l, (int64_t[]){k}), loss[k], 1e-6);
    lt_tensor *m = lt_binary_cross_entropy_forward(pp, yy, NULL, LT_LOSS_MEAN);
    CHECK(m && fabs(lt_get(m, NULL) - 250.0 / 6) < 1e-4);
    lt_tensor *ones = lt_empty(pp->dtype, 1, p->shape);
    lt_fill_(ones, 1);
    lt_tensor *g = lt_binary_cross_entropy_backward(ones, pp, yy, NULL, LT_LOSS_NONE);
    CHECK(g && all_finite(g));
    for (int k = 0; g && k < 6; k++) CHECK_NEAR(lt_get(g, (int64_t[]){k}), (pv[k] - yv[k]) / 1e-12, 1e-6);
    RELEASE(pp, yy, l, m, ones, g);
  }
  RELEASE(p, y);
}

/* ---- LSTM and GRU cells ----------------------------------------------------------------- */

static double sigm(double x) { return 1 / (1 + exp(-x)); }

static void lstm_ref(lt_tensor *gp, lt_tensor *cp, lt_tensor **h, lt_tensor **c, lt_tensor **gates) {
  int64_t B = gp->shape[0], H = gp->shape[1] / 4;
  *h = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, H});
  *c = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, H});
  *gates = lt_empty(LT_FLOAT64, 2, gp->shape);
  for (int64_t b = 0; b < B; b++)
    for (int64_t k = 0; k < H; k++) {
      const double *p = D(gp) + b * 4 * H;
      double i = sigm(p[k]), f = sigm(p[H + k]), g = tanh(p[2 * H + k]), o = sigm(p[3 * H + k]);
      double cn = f * D(cp)[b * H + k] + i * g;
      D(*c)[b * H + k] = cn;
      D(*h)[b * H + k] = o * tanh(cn);
      double *gt = D(*gates) + b * 4 * H;
      gt[k] = i; gt[H + k] = f; gt[2 * H + k] = g; gt[3 * H + k] = o;
    }
}

typedef struct {
  lt_tensor *a, *b, *c, *rh, *rc; /* LSTM: gates_pre, c_prev; GRU: gi, gh, h_prev */
} rnn_ctx;

static double lstm_loss(void *p) {
  rnn_ctx *k = p;
  lt_tensor *h, *c, *g;
  if (lt_lstm_cell_forward(k->a, k->b, &h, &c, &g) < 0) return NAN;
  double l = (k->rh ? dot_sum(h, k->rh) : 0) + (k->rc ? dot_sum(c, k->rc) : 0);
  RELEASE(h, c, g);
  return l;
}

static void test_lstm_cell(void) {
  static const int64_t shapes[][2] = {{3, 4}, {2, 7}, {1, 1}, {5, 16}};
  for (int ci = 0; ci < 4; ci++) {
    int64_t B = shapes[ci][0], H = shapes[ci][1];
    int nc = ci % 2;
    lt_tensor *gp = randn(LT_FLOAT64, 2, (int64_t[]){B, 4 * H}), *cp = randn(LT_FLOAT64, 2, (int64_t[]){B, H});
    lt_binary_scalar_(LT_MUL, gp, 2);
    lt_tensor *href, *cref, *gref;
    lstm_ref(gp, cp, &href, &cref, &gref);
    lt_tensor *gpa = arg(gp, nc), *cpa = arg(cp, nc), *h, *c, *gates;
    CHECK(lt_lstm_cell_forward(gpa, cpa, &h, &c, &gates) == 0);
    CHECK(max_rel_diff(h, href) < 1e-14 && max_rel_diff(c, cref) < 1e-14 && max_rel_diff(gates, gref) < 1e-14);
    /* float32 */
    lt_tensor *gpf = f32(gpa), *cpf = f32(cpa), *hf, *cf, *gatesf;
    CHECK(lt_lstm_cell_forward(gpf, cpf, &hf, &cf, &gatesf) == 0);
    CHECK(hf->dtype == LT_FLOAT32 && max_rel_diff(hf, href) < 2e-6 && max_rel_diff(cf, cref) < 2e-6 &&
          max_rel_diff(gatesf, gref) < 2e-6);
    /* backward with both gradients, with one, with none */
    lt_tensor *rh = randn(LT_FLOAT64, 2, (int64_t[]){B, H}), *rc = randn(LT_FLOAT64, 2, (int64_t[]){B, H});
    lt_tensor *rha = arg(rh, nc), *rca = arg(rc, nc), *ga = arg(gates, nc), *cpa2 = arg(cp, nc), *ca = arg(c, nc);
    for (int which = 0; which < 4; which++) {
      lt_tensor *dh = which & 1 ? NULL : rha, *dc = which & 2 ? NULL : rca, *dgp, *dcp;
      int cas = ci * 4 + which;
      CHECK(lt_lstm_cell_backward(dh, dc, ga, cpa2, ca, &dgp, &dcp) == 0);
      rnn_ctx k = {gp, cp, NULL, dh ? rh : NULL, dc ? rc : NULL};
      if (which == 3) { /* no gradient at all: zero */
        lt_tensor *z1 = lt_zeros(LT_FLOAT64, 2, gp->shape), *z2 = lt_zeros(LT_FLOAT64, 2, cp->shape);
        CHECK(max_rel_diff(dgp, z1) == 0 && max_rel_diff(dcp, z2) == 0);
        RELEASE(z1, z2);
      } else {
        CHECK(fd_check(gp, dgp, lstm_loss, &k, "lstm grad_gates_pre", cas) == 0);
        CHECK(fd_check(cp, dcp, lstm_loss, &k, "lstm grad_c_prev", cas) == 0);
      }
      /* float32 */
      lt_tensor *dhf = f32(dh), *dcf = f32(dc), *dgpf, *dcpf, *cpf2 = f32(cpa2);
      CHECK(lt_lstm_cell_backward(dhf, dcf, gatesf, cpf2, cf, &dgpf, &dcpf) == 0);
      CHECK(max_rel_diff(dgpf, dgp) < 1e-5 && max_rel_diff(dcpf, dcp) < 1e-5);
      RELEASE(dgp, dcp, dhf, dcf, dgpf, dcpf, cpf2);
    }
    /* only grad_gates_pre wanted */
    lt_tensor *dgp1;
    CHECK(lt_lstm_cell_backward(rha, rca, ga, cpa2, ca, &dgp1, NULL) == 0 && dgp1 && dgp1->refcount == 1);
    RELEASE(gp, cp, href, cref, gref, gpa, cpa, h, c, gates, gpf, cpf, hf, cf, gatesf, rh, rc, rha, rca, ga,
            cpa2, ca, dgp1);
  }
}

/* the float32 activations against libm over a sweep (the LSTM's gates output
   is sigmoid / tanh of the pre-activations): a few ulp, saturating cleanly */
static void test_float32_activations(void) {
  int64_t n = 2001;
  lt_tensor *gp = lt_empty(LT_FLOAT32, 2, (int64_t[]){n, 4}), *cp = lt_zeros(LT_FLOAT32, 2, (int64_t[]){n, 1});
  float *p = lt_data(gp);
  for (int64_t k = 0; k < n; k++) {
    float v = k < 1000 ? (float)(k - 500) * 0.002f : (float)(k - 1500) * 0.2f; /* fine near 0, wide */
    if (k == 2000) v = INFINITY;
    p[4 * k] = p[4 * k + 1] = p[4 * k + 2] = p[4 * k + 3] = v;
  }
  lt_tensor *h, *c, *g;
  CHECK(lt_lstm_cell_forward(gp, cp, &h, &c, &g) == 0);
  double worst_t = 0, worst_s = 0;
  for (int64_t k = 0; k < n; k++) {
    double v = p[4 * k], t = tanh(v), s = sigm(v);
    float *gt = (float *)lt_data(g) + 4 * k;
    double et = fabs(gt[2] - t) / fmax(fabs(t), 1e-30), es = fabs(gt[0] - s) / fmax(s, 1e-30);
    if (t == 0) et = fabs(gt[2]);
    if (s < 1e-30) es = fabs(gt[0]);
    if (et > worst_t) worst_t = et;
    if (es > worst_s) worst_s = es;
  }
  if (!(worst_t < 5e-7 && worst_s < 5e-7)) fprintf(stderr, "  tanh rel error %g, sigmoid %g\n", worst_t, worst_s);
  CHECK(worst_t < 5e-7 && worst_s < 5e-7);
  float *last = (float *)lt_data(g) + 4 * (n - 1);
  CHECK(last[0] == 1 && last[2] == 1);
  RELEASE(gp, cp, h, c, g);
}

static void gru_ref(lt_tensor *gi, lt_tensor *gh, lt_tensor *hp, lt_tensor **h, lt_tensor **ws) {
  int64_t B = gi->shape[0], H = gi->shape[1] / 3;
  *h = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, H});
  *ws = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, 4 * H});
  for (int64_t b = 0; b < B; b++)
    for (int64_t k = 0; k < H; k++) {
      const double *xi = D(gi) + b * 3 * H, *xh = D(gh) + b * 3 * H;
      double r = sigm(xi[k] + xh[k]), z = sigm(xi[H + k] + xh[H + k]);
      double n = tanh(xi[2 * H + k] + r * xh[2 * H + k]);
      D(*h)[b * H + k] = (1 - z) * n + z * D(hp)[b * H + k];
      double *w = D(*ws) + b * 4 * H;
      w[k] = r; w[H + k] = z; w[2 * H + k] = n; w[3 * H + k] = xh[2 * H + k];
    }
}

static double gru_loss(void *p) {
  rnn_ctx *k = p;
  lt_tensor *h, *ws;
  if (lt_gru_cell_forward(k->a, k->b, k->c, &h, &ws) < 0) return NAN;
  double l = dot_sum(h, k->rh);
  RELEASE(h, ws);
  return l;
}

static void test_gru_cell(void) {
  static const int64_t shapes[][2] = {{3, 4}, {2, 7}, {1, 1}, {4, 9}};
  for (int ci = 0; ci < 4; ci++) {
    int64_t B = shapes[ci][0], H = shapes[ci][1];
    int nc = ci % 2;
    lt_tensor *gi = randn(LT_FLOAT64, 2, (int64_t[]){B, 3 * H}), *gh = randn(LT_FLOAT64, 2, (int64_t[]){B, 3 * H});
    lt_tensor *hp = randn(LT_FLOAT64, 2, (int64_t[]){B, H});
    lt_tensor *href, *wsref;
    gru_ref(gi, gh, hp, &href, &wsref);
    lt_tensor *gia = arg(gi, nc), *gha = arg(gh, nc), *hpa = arg(hp, nc), *h, *ws;
    CHECK(lt_gru_cell_forward(gia, gha, hpa, &h, &ws) == 0);
    CHECK(max_rel_diff(h, href) < 1e-14 && max_rel_diff(ws, wsref) < 1e-14);
    lt_tensor *gif = f32(gia), *ghf = f32(gha), *hpf = f32(hpa), *hf, *wsf;
    CHECK(lt_gru_cell_forward(gif, ghf, hpf, &hf, &wsf) == 0);
    CHECK(max_rel_diff(hf, href) < 2e-6 && max_rel_diff(wsf, wsref) < 2e-6);
    lt_tensor *rh = randn(LT_FLOAT64, 2, (int64_t[]){B, H}), *rha = arg(rh, nc), *wsa = arg(ws, nc);
    lt_tensor *dgi, *dgh, *dhp;
    CHECK(lt_gru_cell_backward(rha, wsa, hpa, &dgi, &dgh, &dhp) == 0);
    rnn_ctx k = {gi, gh, hp, rh, NULL};
    CHECK(fd_check(gi, dgi, gru_loss, &k, "gru grad_gi", ci) == 0);
    CHECK(fd_check(gh, dgh, gru_loss, &k, "gru grad_gh", ci) == 0);
    CHECK(fd_check(hp, dhp, gru_loss, &k, "gru grad_h_prev (direct)", ci) == 0);
    lt_tensor *rf = f32(rha), *dgif, *dghf, *dhpf;
    CHECK(lt_gru_cell_backward(rf, wsf, hpf, &dgif, &dghf, &dhpf) == 0);
    CHECK(max_rel_diff(dgif, dgi) < 1e-5 && max_rel_diff(dghf, dgh) < 1e-5 && max_rel_diff(dhpf, dhp) < 1e-5);
    lt_tensor *only;
    CHECK(lt_gru_cell_backward(rha, wsa, hpa, NULL, &only, NULL) == 0 && max_rel_diff(only, dgh) == 0);
    RELEASE(gi, gh, hp, href, wsref, gia, gha, hpa, h, ws, gif, ghf, hpf, hf, wsf, rh, rha, wsa, dgi, dgh, dhp,
            rf, dgif, dghf, dhpf, only);
  }
}

/* ---- embedding -------------------------------------------------------------------------- */

typedef struct {
  lt_tensor *w, *idx, *r;
} emb_ctx;

static double emb_loss(void *p) {
  emb_ctx *k = p;
  lt_tensor *y = lt_embedding_forward(k->w, k->idx);
  double l = dot_sum(y, k->r);
  lt_release(y);
  return l;
}

static void test_embedding(void) {
  typedef struct { int nd; int64_t shape[3]; int64_t V, D, pad; int nc; } emb_case;
  static const emb_case cases[] = {
      {2, {2, 4}, 7, 3, -1, 0},
      {2, {3, 5}, 6, 4, 2, 1}, /* padding row, strided */
      {1, {9}, 4, 2, 0, 1},    /* many repeats */
      {0, {0}, 5, 3, -1, 0},   /* one index: out (D) */
      {3, {2, 1, 3}, 5, 1, 4, 0},
      {1, {0}, 3, 2, 1, 0},    /* no indices */
  };
  for (int ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++) {
    const emb_case *c = &cases[ci];
    lt_tensor *w = randn(LT_FLOAT64, 2, (int64_t[]){c->V, c->D}), *idx = lt_empty(LT_INT64, c->nd, c->shape);
    lt_randint_(idx, 0, c->V);
    int64_t n = lt_numel(idx);
    if (c->pad >= 0 && n > 1) I(idx)[1] = c->pad;
    if (n > 2) I(idx)[2] = I(idx)[0];
    int64_t oshape[LT_MAX_DIM];
    memcpy(oshape, c->shape, sizeof c->shape);
    oshape[c->nd] = c->D;
    lt_tensor *ref = lt_empty(LT_FLOAT64, c->nd + 1, oshape), *gref = lt_zeros(LT_FLOAT64, 2, w->shape);
    lt_tensor *r = randn(LT_FLOAT64, c->nd + 1, oshape);
    for (int64_t k = 0; k < n; k++)
      for (int64_t d = 0; d < c->D; d++) {
        D(ref)[k * c->D + d] = D(w)[I(idx)[k] * c->D + d];
        if (I(idx)[k] != c->pad) D(gref)[I(idx)[k] * c->D + d] += D(r)[k * c->D + d];
      }
    lt_tensor *wa = arg(w, c->nc), *ia = arg(idx, c->nc), *ra = arg(r, c->nc);
    lt_tensor *y = lt_embedding_forward(wa, ia);
    CHECK(y && y->ndim == c->nd + 1 && max_rel_diff(y, ref) == 0);
    lt_tensor *g = lt_embedding_backward(ra, ia, c->V, c->pad);
    CHECK(g && max_rel_diff(g, gref) < 1e-15);
    emb_ctx k = {w, idx, r};
    CHECK(fd_check_rows(w, g, emb_loss, &k, "embedding grad_weight", ci, c->pad) == 0);
    if (c->pad >= 0) { /* the padding row gets nothing */
      lt_tensor *row = lt_select(g, 0, c->pad), *z = lt_zeros(LT_FLOAT64, 1, &c->D);
      CHECK(same_bits(row, z));
      RELEASE(row, z);
    }
    lt_tensor *wf = f32(wa), *rf = f32(ra), *yf = lt_embedding_forward(wf, ia);
    lt_tensor *gf = lt_embedding_backward(rf, ia, c->V, c->pad);
    CHECK(yf && yf->dtype == LT_FLOAT32 && max_rel_diff(yf, ref) < 1e-7 && max_rel_diff(gf, gref) < 1e-6);
    RELEASE(w, idx, ref, gref, r, wa, ia, ra, y, g, wf, rf, yf, gf);
  }
}

/* ---- batch norm ------------------------------------------------------------------------- */

/* from the definition: per channel mean and biased variance over N and the
   trailing dims (training) or the running statistics (eval) */
static lt_tensor *bn_ref(lt_tensor *x, lt_tensor *w, lt_tensor *b, lt_tensor *rm, lt_tensor *rv, int training,
                         double eps, double *mean, double *var) {
  int64_t N = x->shape[0], C = x->shape[1], L = lt_numel(x) / (N * C);
  lt_tensor *y = lt_empty(LT_FLOAT64, x->ndim, x->shape);
  for (int64_t c = 0; c < C; c++) {
    double m = 0, v = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) m += D(x)[(n * C + c) * L + l];
    m /= (double)(N * L);
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) v += pow(D(x)[(n * C + c) * L + l] - m, 2);
    v /= (double)(N * L);
    mean[c] = m;
    var[c] = v;
    double um = training ? m : D(rm)[c], uv = training ? v : D(rv)[c];
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) {
        int64_t k = (n * C + c) * L + l;
        D(y)[k] = (D(x)[k] - um) / sqrt(uv + eps) * (w ? D(w)[c] : 1) + (b ? D(b)[c] : 0);
      }
  }
  return y;
}

typedef struct {
  lt_tensor *x, *w, *b, *rm, *rv, *r;
  int training;
} bn_ctx;

static double bn_loss(void *p) {
  bn_ctx *k = p;
  lt_tensor *y, *sm, *si;
  /* training without running stats, so the finite differences leave no trace */
  if (lt_batch_norm_forward(k->x, k->w, k->b, k->training ? NULL : k->rm, k->training ? NULL : k->rv,
                            k->training, 0.1, 1e-5, &y, &sm, &si) < 0)
    return NAN;
  double l = dot_sum(y, k->r);
  RELEASE(y, sm, si);
  return l;
}

static void test_batch_norm(void) {
  typedef struct { int nd; int64_t shape[4]; int affine, training, nc; } bn_case;
  static const bn_case cases[] = {
      {2, {5, 3}, 1, 1, 0},       {2, {5, 3}, 0, 1, 1},       {2, {4, 3}, 1, 0, 1},
      {4, {3, 2, 3, 4}, 1, 1, 1}, {4, {2, 3, 2, 2}, 0, 1, 0}, {4, {3, 2, 3, 4}, 1, 0, 0},
      {3, {2, 3, 5}, 1, 1, 0},    {2, {2, 1}, 1, 1, 0},       {3, {1, 2, 4}, 1, 0, 1},
  };
  const double eps = 1e-5, mom = 0.1;
  for (int ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++) {
    const bn_case *c = &cases[ci];
    int64_t C = c->shape[1], N = c->shape[0], L = 1;
    for (int d = 2; d < c->nd; d++) L *= c->shape[d];
    lt_tensor *x = randn(LT_FLOAT64, c->nd, c->shape);
    lt_binary_scalar_(LT_ADD, x, 0.5);
    lt_tensor *w = c->affine ? randu(LT_FLOAT64, 1, &C, 0.5, 1.5) : NULL, *b = c->affine ? randn(LT_FLOAT64, 1, &C) : NULL;
    /* rm, rv: the running statistics before the call (the kernel updates rma, rva) */
    lt_tensor *rm = randn(LT_FLOAT64, 1, &C), *rv = randu(LT_FLOAT64, 1, &C, 0.5, 1.5);
    double mean[8], var[8];
    lt_tensor *ref = bn_ref(x, w, b, rm, rv, c->training, eps, mean, var);
    lt_tensor *xa = arg(x, c->nc), *wa = arg(w, c->nc), *ba = arg(b, c->nc);
    lt_tensor *rma = c->nc ? noncontig(rm) : lt_clone(rm), *rva = c->nc ? noncontig(rv) : lt_clone(rv);
    uint32_t ver = rma->storage->version;
    lt_tensor *y, *sm, *si;
    CHECK(lt_batch_norm_forward(xa, wa, ba, rma, rva, c->training, mom, eps, &y, &sm, &si) == 0);
    double e = max_rel_diff(y, ref);
    if (!(e < 1e-12)) fprintf(stderr, "  batch_norm case %d: forward differs by %g\n", ci, e);
    CHECK(e < 1e-12);
    for (int64_t k = 0; k < C; k++) {
      double um = c->training ? mean[k] : D(rm)[k], uv = c->training ? var[k] : D(rv)[k];
      CHECK_NEAR(lt_get(sm, &k), um, 1e-13);
      CHECK_NEAR(lt_get(si, &k), 1 / sqrt(uv + eps), 1e-13);
      /* the running statistics: momentum, the unbiased variance; untouched in eval */
      double em = c->training ? (1 - mom) * D(rm)[k] + mom * mean[k] : D(rm)[k];
      double ev = c->training ? (1 - mom) * D(rv)[k] + mom * var[k] * (N * L) / (N * L - 1.0) : D(rv)[k];
      CHECK_NEAR(lt_get(rma, &k), em, 1e-13);
      CHECK_NEAR(lt_get(rva, &k), ev, 1e-13);
    }
    CHECK(c->training ? rma->storage->version != ver : rma->storage->version == ver);
    /* backward against finite differences */
    lt_tensor *r = randn(LT_FLOAT64, c->nd, c->shape), *ra = arg(r, c->nc), *gx, *gw, *gb;
    CHECK(lt_batch_norm_backward(ra, xa, wa, sm, si, c->training, &gx, &gw, &gb) == 0);
    bn_ctx k = {x, w, b, rm, rv, r, c->training};
    CHECK(fd_check(x, gx, bn_loss, &k, "batch_norm grad_x", ci) == 0);
    if (w) {
      CHECK(fd_check(w, gw, bn_loss, &k, "batch_norm grad_weight", ci) == 0);
      CHECK(fd_check(b, gb, bn_loss, &k, "batch_norm grad_bias", ci) == 0);
    } else { /* with weight 1 and bias 0: still the gradients of those */
      lt_tensor *ones = lt_empty(LT_FLOAT64, 1, &C), *zeros = lt_zeros(LT_FLOAT64, 1, &C);
      lt_fill_(ones, 1);
      bn_ctx k1 = {x, ones, zeros, rm, rv, r, c->training};
      CHECK(fd_check(ones, gw, bn_loss, &k1, "batch_norm grad_weight (none)", ci) == 0);
      CHECK(fd_check(zeros, gb, bn_loss, &k1, "batch_norm grad_bias (none)", ci) == 0);
      RELEASE(ones, zeros);
    }
    /* float32, with statistics from a float32 forward */
    lt_tensor *xf = f32(xa), *wf = f32(wa), *bf = f32(ba), *rmf = f32(rm), *rvf = f32(rv), *yf, *smf, *sif;
    CHECK(lt_batch_norm_forward(xf, wf, bf, rmf, rvf, c->training, mom, eps, &yf, &smf, &sif) == 0);
    CHECK(yf->dtype == LT_FLOAT32 && max_rel_diff(yf, y) < 1e-5 && max_rel_diff(smf, sm) < 1e-6);
    lt_tensor *rf = f32(ra), *gxf, *gwf, *gbf;
    CHECK(lt_batch_norm_backward(rf, xf, wf, smf, sif, c->training, &gxf, &gwf, &gbf) == 0);
    CHECK(max_rel_diff(gxf, gx) < 1e-5 && max_rel_diff(gwf, gw) < 1e-5 && max_rel_diff(gbf, gb) < 1e-5);
    /* only grad_weight wanted */
    lt_tensor *gw1;
    CHECK(lt_batch_norm_backward(ra, xa, wa, sm, si, c->training, NULL, &gw1, NULL) == 0 && same_bits(gw1, gw));
    RELEASE(x, w, b, rm, rv, ref, xa, wa, ba, rma, rva, y, sm, si, r, ra, gx, gw, gb, xf, wf, bf, rmf, rvf, yf,
            smf, sif, rf, gxf, gwf, gbf, gw1);
  }
  /* momentum 1 / num_batches: the cumulative average (PyTorch's momentum=None) */
  lt_tensor *x1 = randn(LT_FLOAT64, 2, (int64_t[]){4, 2}), *x2 = randn(LT_FLOAT64, 2, (int64_t[]){4, 2});
  lt_tensor *rm = lt_zeros(LT_FLOAT64, 1, (int64_t[]){2}), *rv = lt_zeros(LT_FLOAT64, 1, (int64_t[]){2});
  lt_tensor *y, *sm1, *si, *sm2;
  lt_batch_norm_forward(x1, NULL, NULL, rm, rv, 1, 1.0, 1e-5, &y, &sm1, &si);
  RELEASE(y, si);
  lt_batch_norm_forward(x2, NULL, NULL, rm, rv, 1, 0.5, 1e-5, &y, &sm2, &si);
  CHECK_NEAR(D(rm)[1], (D(sm1)[1] + D(sm2)[1]) / 2, 1e-14);
  RELEASE(x1, x2, rm, rv, y, sm1, si, sm2);
}

/* ---- layer norm ------------------------------------------------------------------------- */

static lt_tensor *ln_ref(lt_tensor *x, int k, lt_tensor *w, lt_tensor *b, double eps, lt_tensor **mean,
                         lt_tensor **rstd) {
  int64_t n = 1;
  for (int d = x->ndim - k; d < x->ndim; d++) n *= x->shape[d];
  int64_t M = lt_numel(x) / n;
  lt_tensor *y = lt_empty(LT_FLOAT64, x->ndim, x->shape);
  *mean = lt_empty(LT_FLOAT64, 1, &M);
  *rstd = lt_empty(LT_FLOAT64, 1, &M);
  for (int64_t i = 0; i < M; i++) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < n; j++) m += D(x)[i * n + j];
    m /= (double)n;
    for (int64_t j = 0; j < n; j++) v += pow(D(x)[i * n + j] - m, 2);
    double rs = 1 / sqrt(v / (double)n + eps);
    D(*mean)[i] = m;
    D(*rstd)[i] = rs;
    for (int64_t j = 0; j < n; j++)
      D(y)[i * n + j] = (D(x)[i * n + j] - m) * rs * (w ? D(w)[j] : 1) + (b ? D(b)[j] : 0);
  }
  return y;
}

typedef struct {
  lt_tensor *x, *w, *b, *r;
  int k;
} ln_ctx;

static double ln_loss(void *p) {
  ln_ctx *c = p;
  lt_tensor *y, *m, *s;
  if (lt_layer_norm_forward(c->x, c->k, c->w, c->b, 1e-5, &y, &m, &s) < 0) return NAN;
  double l = dot_sum(y, c->r);
  RELEASE(y, m, s);
  return l;
}

static void test_layer_norm(void) {
  typedef struct { int nd; int64_t shape[3]; int k, weight, bias, nc; } ln_case;
  static const ln_case cases[] = {
      {3, {3, 4, 5}, 1, 1, 1, 0}, {3, {3, 4, 5}, 1, 0, 0, 1}, {3, {3, 4, 5}, 2, 1, 1, 1},
      {3, {2, 3, 4}, 2, 1, 0, 0}, {2, {4, 6}, 1, 0, 1, 1},    {1, {6}, 1, 1, 1, 0},
      {2, {3, 5}, 2, 1, 1, 0},
  };
  for (int ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++) {
    const ln_case *c = &cases[ci];
    const int64_t *ws = c->shape + c->nd - c->k;
    lt_tensor *x = randn(LT_FLOAT64, c->nd, c->shape);
    lt_binary_scalar_(LT_ADD, x, 1);
    lt_tensor *w = c->weight ? randu(LT_FLOAT64, c->k, ws, 0.5, 1.5) : NULL;
    lt_tensor *b = c->bias ? randn(LT_FLOAT64, c->k, ws) : NULL;
    lt_tensor *mref, *sref, *ref = ln_ref(x, c->k, w, b, 1e-5, &mref, &sref);
    lt_tensor *xa = arg(x, c->nc), *wa = arg(w, c->nc), *ba = arg(b, c->nc), *y, *m, *s;
    CHECK(lt_layer_norm_forward(xa, c->k, wa, ba, 1e-5, &y, &m, &s) == 0);
    double e = max_rel_diff(y, ref);
    if (!(e < 1e-12)) fprintf(stderr, "  layer_norm case %d: forward differs by %g\n", ci, e);
    CHECK(e < 1e-12 && max_rel_diff(m, mref) < 1e-14 && max_rel_diff(s, sref) < 1e-12);
    lt_tensor *r = randn(LT_FLOAT64, c->nd, c->shape), *ra = arg(r, c->nc), *gx, *gw, *gb;
    CHECK(lt_layer_norm_backward(ra, xa, c->k, wa, m, s, &gx, &gw, &gb) == 0);
    CHECK(gw && gw->ndim == c->k && gb && gb->ndim == c->k);
    ln_ctx k = {x, w, b, r, c->k};
    CHECK(fd_check(x, gx, ln_loss, &k, "layer_norm grad_x", ci) == 0);
    if (w) CHECK(fd_check(w, gw, ln_loss, &k, "layer_norm grad_weight", ci) == 0);
    if (b) CHECK(fd_check(b, gb, ln_loss, &k, "layer_norm grad_bias", ci) == 0);
    if (!w || !b) { /* the gradients of weight 1 / bias 0 all the same */
      lt_tensor *ones = lt_empty(LT_FLOAT64, c->k, ws), *zeros = lt_zeros(LT_FLOAT64, c->k, ws);
      lt_fill_(ones, 1);
      ln_ctx k1 = {x, w ? w : ones, b ? b : zeros, r, c->k};
      if (!w) CHECK(fd_check(ones, gw, ln_loss, &k1, "layer_norm grad_weight (none)", ci) == 0);
      if (!b) CHECK(fd_check(zeros, gb, ln_loss, &k1, "layer_norm grad_bias (none)", ci) == 0);
      RELEASE(ones, zeros);
    }
    lt_tensor *xf = f32(xa), *wf = f32(wa), *bf = f32(ba), *yf, *mf, *sf;
    CHECK(lt_layer_norm_forward(xf, c->k, wf, bf, 1e-5, &yf, &mf, &sf) == 0);
    CHECK(yf->dtype == LT_FLOAT32 && max_rel_diff(yf, ref) < 1e-5 && max_rel_diff(sf, sref) < 1e-5);
    lt_tensor *rf = f32(ra), *gxf, *gwf, *gbf;
    CHECK(lt_layer_norm_backward(rf, xf, c->k, wf, mf, sf, &gxf, &gwf, &gbf) == 0);
    CHECK(max_rel_diff(gxf, gx) < 1e-5 && max_rel_diff(gwf, gw) < 1e-5 && max_rel_diff(gbf, gb) < 1e-5);
    lt_tensor *gx1;
    CHECK(lt_layer_norm_backward(ra, xa, c->k, wa, m, s, &gx1, NULL, NULL) == 0 && same_bits(gx1, gx));
    RELEASE(x, w, b, mref, sref, ref, xa, wa, ba, y, m, s, r, ra, gx, gw, gb, xf, wf, bf, yf, mf, sf, rf, gxf,
            gwf, gbf, gx1);
  }
}

/* ---- threads ---------------------------------------------------------------------------- */

/* sizes that pass the parallel threshold: every output, losses and parameter
   gradients above all, has the same bits with 1 and 2 threads */
static void test_threads(void) {
  enum { NOUT = 64 };
  lt_tensor *out[2][NOUT];
  int nout = 0;
  lt_tensor *logits = randn(LT_FLOAT32, 2, (int64_t[]){4096, 16}), *tgt = lt_empty(LT_INT64, 1, (int64_t[]){4096});
  lt_randint_(tgt, 0, 16);
  lt_tensor *cw = randu(LT_FLOAT32, 1, (int64_t[]){16}, 0.5, 1.5);
  lt_tensor *bx = randn(LT_FLOAT32, 2, (int64_t[]){1000, 100}), *by = randu(LT_FLOAT32, 2, (int64_t[]){1000, 100}, 0, 1);
  lt_tensor *bp = randu(LT_FLOAT32, 2, (int64_t[]){1000, 100}, 0.01, 0.99);
  lt_tensor *pw = randu(LT_FLOAT32, 1, (int64_t[]){100}, 0.5, 2);
  lt_tensor *gp = randn(LT_FLOAT32, 2, (int64_t[]){64, 1024}), *cp = randn(LT_FLOAT32, 2, (int64_t[]){64, 256});
  lt_tensor *gi = randn(LT_FLOAT32, 2, (int64_t[]){64, 768}), *gh = randn(LT_FLOAT32, 2, (int64_t[]){64, 768});
  lt_tensor *ew = randn(LT_FLOAT32, 2, (int64_t[]){500, 64}), *ei = lt_empty(LT_INT64, 2, (int64_t[]){32, 40});
  lt_randint_(ei, 0, 500);
  lt_tensor *x2 = randn(LT_FLOAT32, 2, (int64_t[]){200, 300}), *x4 = randn(LT_FLOAT32, 4, (int64_t[]){16, 8, 16, 16});
  lt_tensor *bw = randn(LT_FLOAT32, 1, (int64_t[]){300}), *bw4 = randn(LT_FLOAT32, 1, (int64_t[]){8});
  lt_tensor *lx = randn(LT_FLOAT32, 2, (int64_t[]){128, 600}), *lw = randn(LT_FLOAT32, 1, (int64_t[]){600});
  for (int t = 0; t < 2; t++) {
    lt_set_num_threads(t + 1);
    int o = 0;
    lt_tensor *lp, *l;
    for (int ri = 0; ri < 3; ri++) {
      out[t][o++] = l = lt_cross_entropy_forward(logits, tgt, cw, -100, 0.1, reductions[ri], &lp);
      out[t][o++] = lp;
      out[t][o++] = lt_cross_entropy_backward(l, lp, tgt, cw, -100, 0.1, reductions[ri]);
    }
    for (int ri = 0; ri < 3; ri++) {
      out[t][o++] = l = lt_binary_cross_entropy_with_logits_forward(bx, by, NULL, pw, reductions[ri]);
      out[t][o++] = lt_binary_cross_entropy_with_logits_backward(ri ? l : by, bx, by, NULL, pw, reductions[ri]);
      out[t][o++] = lt_binary_cross_entropy_forward(bp, by, NULL, reductions[ri]);
    }
    lt_lstm_cell_forward(gp, cp, &out[t][o], &out[t][o + 1], &out[t][o + 2]);
    lt_lstm_cell_backward(out[t][o], out[t][o + 1], out[t][o + 2], cp, out[t][o + 1], &out[t][o + 3], &out[t][o + 4]);
    o += 5;
    lt_gru_cell_forward(gi, gh, cp, &out[t][o], &out[t][o + 1]);
    lt_gru_cell_backward(out[t][o], out[t][o + 1], cp, &out[t][o + 2], &out[t][o + 3], &out[t][o + 4]);
    o += 5;
    lt_tensor *ey = out[t][o++] = lt_embedding_forward(ew, ei);
    out[t][o++] = lt_embedding_backward(ey, ei, 500, 3);
    lt_tensor *rm = lt_zeros(LT_FLOAT32, 1, (int64_t[]){300}), *rv = lt_zeros(LT_FLOAT32, 1, (int64_t[]){300});
    lt_batch_norm_forward(x2, bw, bw, rm, rv, 1, 0.1, 1e-5, &out[t][o], &out[t][o + 1], &out[t][o + 2]);
    lt_batch_norm_backward(x2, x2, bw, out[t][o + 1], out[t][o + 2], 1, &out[t][o + 3], &out[t][o + 4], &out[t][o + 5]);
    out[t][o + 6] = rm;
    out[t][o + 7] = rv;
    o += 8;
    lt_batch_norm_forward(x4, bw4, NULL, NULL, NULL, 1, 0.1, 1e-5, &out[t][o], &out[t][o + 1], &out[t][o + 2]);
    lt_batch_norm_backward(x4, x4, bw4, out[t][o + 1], out[t][o + 2], 1, &out[t][o + 3], &out[t][o + 4], &out[t][o + 5]);
    o += 6;
    lt_layer_norm_forward(lx, 1, lw, lw, 1e-5, &out[t][o], &out[t][o + 1], &out[t][o + 2]);
    lt_layer_norm_backward(lx, lx, 1, lw, out[t][o + 1], out[t][o + 2], &out[t][o + 3], &out[t][o + 4], &out[t][o + 5]);
    o += 6;
    nout = o;
  }
  lt_runtime_init(); /* back to the default thread count */
  CHECK(nout <= NOUT);
  for (int k = 0; k < nout; k++) {
    if (!same_bits(out[0][k], out[1][k])) fprintf(stderr, "  threads: output %d differs (%g)\n", k,
                                                  max_rel_diff(out[0][k], out[1][k]));
    CHECK(out[0][k] && same_bits(out[0][k], out[1][k]));
  }
  for (int t = 0; t < 2; t++)
    for (int k = 0; k < nout; k++) lt_release(out[t][k]);
  RELEASE(logits, tgt, cw, bx, by, bp, pw, gp, cp, gi, gh, ew, ei, x2, x4, bw, bw4, lx, lw);
}

/* empty batches: empty results, a mean over nothing is NaN */
static void test_empty(void) {
  lt_tensor *x = lt_zeros(LT_FLOAT32, 2, (int64_t[]){0, 5}), *t = lt_zeros(LT_INT64, 1, (int64_t[]){0}), *lp;
  lt_tensor *ln = lt_cross_entropy_forward(x, t, NULL, -100, 0.1, LT_LOSS_NONE, &lp);
  lt_tensor *lm = lt_cross_entropy_forward(x, t, NULL, -100, 0.1, LT_LOSS_MEAN, NULL);
  lt_tensor *ls = lt_nll_loss_forward(x, t, NULL, -100, 0, LT_LOSS_SUM);
  CHECK(ln && ln->ndim == 1 && ln->shape[0] == 0 && lp && lp->shape[0] == 0);
  CHECK(lm && isnan(lt_get(lm, NULL)) && ls && lt_get(ls, NULL) == 0);
  lt_tensor *gx = lt_cross_entropy_backward(lm, lp, t, NULL, -100, 0.1, LT_LOSS_MEAN);
  CHECK(gx && gx->shape[0] == 0 && gx->shape[1] == 5);
  lt_tensor *b = lt_zeros(LT_FLOAT32, 2, (int64_t[]){0, 3});
  lt_tensor *bm = lt_binary_cross_entropy_with_logits_forward(b, b, NULL, NULL, LT_LOSS_MEAN);
  lt_tensor *bs = lt_binary_cross_entropy_forward(b, b, NULL, LT_LOSS_SUM);
  lt_tensor *bg = lt_binary_cross_entropy_backward(bs, b, b, NULL, LT_LOSS_SUM);
  CHECK(bm && isnan(lt_get(bm, NULL)) && bs && lt_get(bs, NULL) == 0 && bg && bg->shape[0] == 0);
  lt_tensor *gp = lt_zeros(LT_FLOAT32, 2, (int64_t[]){0, 8}), *cp = lt_zeros(LT_FLOAT32, 2, (int64_t[]){0, 2});
  lt_tensor *h, *c, *g, *dg, *dc;
  CHECK(lt_lstm_cell_forward(gp, cp, &h, &c, &g) == 0 && h->shape[0] == 0 && h->shape[1] == 2);
  CHECK(lt_lstm_cell_backward(h, NULL, g, cp, c, &dg, &dc) == 0 && dg->shape[1] == 8);
  lt_tensor *y, *m, *r, *gw, *gb;
  CHECK(lt_layer_norm_forward(b, 1, NULL, NULL, 1e-5, &y, &m, &r) == 0 && m->shape[0] == 0);
  lt_tensor *gy;
  CHECK(lt_layer_norm_backward(y, b, 1, NULL, m, r, &gy, &gw, &gb) == 0 && lt_get(gw, (int64_t[]){2}) == 0);
  lt_tensor *rm = lt_zeros(LT_FLOAT32, 1, (int64_t[]){3}), *rv = lt_zeros(LT_FLOAT32, 1, (int64_t[]){3});
  lt_tensor *by, *sm, *si, *bgx, *bgw, *bgb;
  CHECK(lt_batch_norm_forward(b, NULL, NULL, rm, rv, 0, 0.1, 1e-5, &by, &sm, &si) == 0 && by->shape[0] == 0);
  CHECK(lt_batch_norm_backward(by, b, NULL, sm, si, 0, &bgx, &bgw, &bgb) == 0 && lt_get(bgb, (int64_t[]){1}) == 0);
  RELEASE(x, t, lp, ln, lm, ls, gx, b, bm, bs, bg, gp, cp, h, c, g, dg, dc, y, m, r, gw, gb, gy, rm, rv, by, sm,
          si, bgx, bgw, bgb);
}

/* ---- bad arguments ---------------------------------------------------------------------- */

static void test_errors_losses(void) {
  lt_tensor *x = randn(LT_FLOAT32, 2, (int64_t[]){4, 5}), *xd = randn(LT_FLOAT64, 2, (int64_t[]){4, 5});
  lt_tensor *t = lt_zeros(LT_INT64, 1, (int64_t[]){4}), *t3 = lt_zeros(LT_INT64, 1, (int64_t[]){3});
  lt_tensor *tf = lt_zeros(LT_FLOAT32, 1, (int64_t[]){4}), *w4 = randn(LT_FLOAT32, 1, (int64_t[]){4});
  lt_tensor *wd = randn(LT_FLOAT64, 1, (int64_t[]){5}), *s0 = lt_zeros(LT_FLOAT32, 0, NULL);
  lt_tensor *xi = lt_zeros(LT_INT64, 2, (int64_t[]){4, 5}), *lp = NULL;
  lt_tensor *g3 = lt_zeros(LT_FLOAT32, 1, (int64_t[]){3}), *g2 = lt_zeros(LT_FLOAT32, 1, (int64_t[]){2});

  lp = (lt_tensor *)1;
  CHECK(!lt_cross_entropy_forward(x, t3, NULL, -100, 0, LT_LOSS_MEAN, &lp) && lp == NULL);
  CHECK(msg_is("target has shape 3 but logits of shape 4x5 needs target shape 4 (logits without its class dimension)"));
  CHECK(!lt_cross_entropy_forward(x, tf, NULL, -100, 0, LT_LOSS_MEAN, NULL));
  CHECK(msg_is("target must be an int64 tensor of class indices, got float32"));
  CHECK(!lt_cross_entropy_forward(x, NULL, NULL, -100, 0, LT_LOSS_MEAN, NULL));
  CHECK(msg_is("target is required (got NULL)"));
  CHECK(!lt_cross_entropy_forward(xi, t, NULL, -100, 0, LT_LOSS_MEAN, NULL));
  CHECK(msg_is("logits must be float32 or float64, got int64"));
  CHECK(!lt_cross_entropy_forward(s0, t, NULL, -100, 0, LT_LOSS_MEAN, NULL));
  CHECK(msg_is("logits must have a class dimension, got a scalar"));
  CHECK(!lt_cross_entropy_forward(x, t, w4, -100, 0, LT_LOSS_MEAN, NULL));
  CHECK(msg_is("weight has shape 4, expected 5 (one per class of logits of shape 4x5)"));
  CHECK(!lt_cross_entropy_forward(x, t, wd, -100, 0, LT_LOSS_MEAN, NULL));
  CHECK(msg_is("weight is float64 but logits is float32 (they must have one dtype)"));
  CHECK(!lt_cross_entropy_forward(x, t, NULL, -100, 1.5, LT_LOSS_MEAN, NULL));
  CHECK(msg_is("label_smoothing must be in [0, 1], got 1.5"));
  CHECK(!lt_cross_entropy_forward(x, t, NULL, -100, 0, (lt_loss_reduction)7, NULL));
  CHECK(msg_is("reduction must be none, mean or sum (got code 7)"));
  I(t)[2] = 5;
  CHECK(!lt_cross_entropy_forward(x, t, NULL, -100, 0, LT_LOSS_MEAN, NULL));
  CHECK(msg_is("target 5 (0-based) at position 2 is out of range for 5 classes (valid: 0 to 4, or ignore_index -100)"));
  I(t)[2] = -1;
  CHECK(!lt_nll_loss_forward(x, t, NULL, -100, 0, LT_LOSS_SUM));
  CHECK(msg_is("target -1 (0-based) at position 2 is out of range for 5 classes (valid: 0 to 4, or ignore_index -100)"));
  CHECK(!lt_cross_entropy_backward(s0, x, t, NULL, -100, 0, LT_LOSS_MEAN));
  CHECK(msg_is("target -1 (0-based) at position 2 is out of range for 5 classes (valid: 0 to 4, or ignore_index -100)"));
  I(t)[2] = 0;
  CHECK(!lt_nll_loss_forward(xd, t, NULL, -100, -0.1, LT_LOSS_SUM));
  CHECK(msg_is("label_smoothing must be in [0, 1], got -0.1"));
  CHECK(!lt_cross_entropy_backward(g3, x, t, NULL, -100, 0, LT_LOSS_NONE));
  CHECK(msg_is("grad_loss has shape 3, expected 4"));
  CHECK(!lt_cross_entropy_backward(g2, x, t, NULL, -100, 0, LT_LOSS_MEAN));
  CHECK(msg_is("grad_loss has shape 2, expected one element (the reduced loss)"));
  lt_tensor *gd = lt_zeros(LT_FLOAT64, 0, NULL);
  CHECK(!lt_nll_loss_backward(gd, x, t, NULL, -100, 0, LT_LOSS_SUM));
  CHECK(msg_is("grad_loss is float64 but the input is float32 (they must have one dtype)"));

  /* binary cross entropy */
  lt_tensor *y = randu(LT_FLOAT32, 2, (int64_t[]){4, 5}, 0, 1), *y3 = randu(LT_FLOAT32, 2, (int64_t[]){4, 3}, 0, 1);
  lt_tensor *p = randu(LT_FLOAT32, 2, (int64_t[]){4, 5}, 0, 1), *yd = lt_to(y, LT_FLOAT64);
  lt_tensor *w3 = randn(LT_FLOAT32, 1, (int64_t[]){3}), *w245 = randn(LT_FLOAT32, 3, (int64_t[]){2, 4, 5});
  CHECK(!lt_binary_cross_entropy_with_logits_forward(x, y3, NULL, NULL, LT_LOSS_MEAN));
  CHECK(msg_is("target has shape 4x3 but input has shape 4x5 (they must match)"));
  CHECK(!lt_binary_cross_entropy_with_logits_forward(x, yd, NULL, NULL, LT_LOSS_MEAN));
  CHECK(msg_is("target is float64 but input is float32 (they must have one dtype)"));
  CHECK(!lt_binary_cross_entropy_with_logits_forward(x, y, w3, NULL, LT_LOSS_MEAN));
  CHECK(msg_is("weight of shape 3 cannot be broadcast to the input's shape 4x5"));
  CHECK(!lt_binary_cross_entropy_with_logits_forward(x, y, NULL, w245, LT_LOSS_MEAN));
  CHECK(msg_is("pos_weight of shape 2x4x5 cannot be broadcast to the input's shape 4x5"));
  CHECK(!lt_binary_cross_entropy_with_logits_forward(x, y, wd, NULL, LT_LOSS_MEAN));
  CHECK(msg_is("weight is float64 but input is float32 (they must have one dtype)"));
  CHECK(!lt_binary_cross_entropy_with_logits_backward(g3, x, y, NULL, NULL, LT_LOSS_NONE));
  CHECK(msg_is("grad_loss has shape 3, expected 4x5"));
  ((float *)lt_data(p))[7] = 1.5f;
  CHECK(!lt_binary_cross_entropy_forward(p, y, NULL, LT_LOSS_MEAN));
  CHECK(msg_is("input must hold probabilities in [0, 1], got 1.5 at position 7 (0-based)"));
  ((float *)lt_data(p))[7] = NAN;
  CHECK(!lt_binary_cross_entropy_forward(p, y, NULL, LT_LOSS_SUM));
  CHECK(msg_is("input must hold probabilities in [0, 1], got nan at position 7 (0-based)"));
  CHECK(!lt_binary_cross_entropy_forward(xi, y, NULL, LT_LOSS_SUM));
  CHECK(msg_is("input must be float32 or float64, got int64"));
  CHECK(!lt_binary_cross_entropy_backward(s0, p, y, NULL, (lt_loss_reduction)-1));
  CHECK(msg_is("reduction must be none, mean or sum (got code -1)"));
  RELEASE(x, xd, t, t3, tf, w4, wd, s0, xi, g3, g2, gd, y, y3, p, yd, w3, w245);
}

static void test_errors_layers(void) {
  lt_tensor *gp = randn(LT_FLOAT32, 2, (int64_t[]){3, 8}), *cp = randn(LT_FLOAT32, 2, (int64_t[]){3, 2});
  lt_tensor *cp2 = randn(LT_FLOAT32, 2, (int64_t[]){2, 2}), *cpd = randn(LT_FLOAT64, 2, (int64_t[]){3, 2});
  lt_tensor *g10 = randn(LT_FLOAT32, 2, (int64_t[]){3, 10}), *v1 = randn(LT_FLOAT32, 1, (int64_t[]){8});
  lt_tensor *h = (lt_tensor *)1, *c = (lt_tensor *)1, *g = (lt_tensor *)1, *o1 = (lt_tensor *)1, *o2 = (lt_tensor *)1;

  /* LSTM / GRU */
  CHECK(lt_lstm_cell_forward(gp, cp2, &h, &c, &g) < 0 && !h && !c && !g);
  CHECK(msg_is("c_prev has shape 2x2, expected 3x2"));
  CHECK(lt_lstm_cell_forward(g10, cp, &h, &c, &g) < 0);
  CHECK(msg_is("gates_pre has shape 3x10, expected (batch, 4*hidden)"));
  CHECK(lt_lstm_cell_forward(v1, cp, &h, &c, &g) < 0);
  CHECK(msg_is("gates_pre has shape 8, expected (batch, 4*hidden)"));
  CHECK(lt_lstm_cell_forward(gp, cpd, &h, &c, &g) < 0);
  CHECK(msg_is("c_prev is float64 but gates_pre is float32 (they must have one dtype)"));
  CHECK(lt_lstm_cell_forward(gp, NULL, &h, &c, &g) < 0);
  CHECK(msg_is("c_prev is required (got NULL)"));
  CHECK(lt_lstm_cell_backward(cp2, NULL, gp, cp, cp, &o1, &o2) < 0 && !o1 && !o2);
  CHECK(msg_is("grad_h has shape 2x2, expected 3x2"));
  CHECK(lt_lstm_cell_backward(NULL, cpd, gp, cp, cp, &o1, &o2) < 0);
  CHECK(msg_is("grad_c is float64 but gates is float32 (they must have one dtype)"));
  lt_tensor *gi = randn(LT_FLOAT32, 2, (int64_t[]){3, 6}), *gh = randn(LT_FLOAT32, 2, (int64_t[]){3, 9});
  lt_tensor *ws = randn(LT_FLOAT32, 2, (int64_t[]){3, 8});
  CHECK(lt_gru_cell_forward(gi, gh, cp, &h, &g) < 0 && !h && !g);
  CHECK(msg_is("gh has shape 3x9, expected 3x6"));
  CHECK(lt_gru_cell_forward(gh, gh, cp, &h, &g) < 0);
  CHECK(msg_is("h_prev has shape 3x2, expected 3x3"));
  CHECK(lt_gru_cell_backward(cp, gi, cp, &h, &g, &c) < 0 && !h && !g && !c);
  CHECK(msg_is("ws has shape 3x6, expected (batch, 4*hidden)"));
  CHECK(lt_gru_cell_backward(cp2, ws, cp, &h, &g, &c) < 0);
  CHECK(msg_is("grad_h has shape 2x2, expected 3x2"));

  /* embedding */
  lt_tensor *ew = randn(LT_FLOAT32, 2, (int64_t[]){10, 3}), *idx = lt_zeros(LT_INT64, 2, (int64_t[]){2, 3});
  lt_tensor *fidx = lt_zeros(LT_FLOAT32, 1, (int64_t[]){3}), *go = randn(LT_FLOAT32, 3, (int64_t[]){2, 3, 3});
  I(idx)[4] = 10;
  CHECK(!lt_embedding_forward(ew, idx));
  CHECK(msg_is("index 10 (0-based) at position 4 is out of range for an embedding of 10 rows (valid: 0 to 9)"));
  CHECK(!lt_embedding_backward(go, idx, 10, -1));
  CHECK(msg_is("index 10 (0-based) at position 4 is out of range for an embedding of 10 rows (valid: 0 to 9)"));
  I(idx)[4] = -1;
  CHECK(!lt_embedding_forward(ew, idx));
  CHECK(msg_is("index -1 (0-based) at position 4 is out of range for an embedding of 10 rows (valid: 0 to 9)"));
  I(idx)[4] = 0;
  CHECK(!lt_embedding_forward(ew, fidx));
  CHECK(msg_is("indices must be an int64 tensor, got float32"));
  CHECK(!lt_embedding_forward(v1, idx));
  CHECK(msg_is("weight must be 2-d (num_embeddings x embedding_dim), got shape 8"));
  CHECK(!lt_embedding_backward(go, idx, 10, 10));
  CHECK(msg_is("padding_idx 10 (0-based) is out of range for 10 rows"));
  CHECK(!lt_embedding_backward(gp, idx, 10, -1));
  CHECK(msg_is("grad_out has shape 3x8, expected the indices' shape 2x3 followed by the embedding dim"));

  /* batch norm */
  lt_tensor *x = randn(LT_FLOAT32, 2, (int64_t[]){4, 3}), *x1 = randn(LT_FLOAT32, 3, (int64_t[]){1, 3, 1});
  lt_tensor *c3 = randn(LT_FLOAT32, 1, (int64_t[]){3}), *c4 = randn(LT_FLOAT32, 1, (int64_t[]){4});
  lt_tensor *c3d = randn(LT_FLOAT64, 1, (int64_t[]){3}), *xv = randn(LT_FLOAT32, 1, (int64_t[]){3});
  lt_tensor *y = (lt_tensor *)1, *sm = (lt_tensor *)1, *si = (lt_tensor *)1;
  CHECK(lt_batch_norm_forward(x, c4, NULL, NULL, NULL, 1, 0.1, 1e-5, &y, &sm, &si) < 0 && !y && !sm && !si);
  CHECK(msg_is("weight has shape 4, expected 3 (one per channel of input of shape 4x3)"));
  CHECK(lt_batch_norm_forward(x, NULL, c3d, NULL, NULL, 1, 0.1, 1e-5, &y, &sm, &si) < 0);
  CHECK(msg_is("bias is float64 but input is float32 (they must have one dtype)"));
  CHECK(lt_batch_norm_forward(x1, NULL, NULL, NULL, NULL, 1, 0.1, 1e-5, &y, &sm, &si) < 0);
  CHECK(msg_is("expected more than 1 value per channel when training, got input of shape 1x3x1"));
  CHECK(lt_batch_norm_forward(x, NULL, NULL, NULL, NULL, 0, 0.1, 1e-5, &y, &sm, &si) < 0);
  CHECK(msg_is("eval mode needs running_mean and running_var"));
  CHECK(lt_batch_norm_forward(x, NULL, NULL, c3, NULL, 1, 0.1, 1e-5, &y, &sm, &si) < 0);
  CHECK(msg_is("running_mean and running_var must be given together"));
  CHECK(lt_batch_norm_forward(xv, NULL, NULL, NULL, NULL, 1, 0.1, 1e-5, &y, &sm, &si) < 0);
  CHECK(msg_is("input must be (N, C) or (N, C, ...), got shape 3"));
  lt_tensor *ex = lt_expand(c3, 1, (int64_t[]){3}), *one = randn(LT_FLOAT32, 1, (int64_t[]){1});
  lt_tensor *bc = lt_expand(one, 1, (int64_t[]){3});
  CHECK(lt_batch_norm_forward(x, NULL, NULL, c3, bc, 1, 0.1, 1e-5, &y, &sm, &si) < 0);
  CHECK(strstr(lt_errmsg(), "share memory") != NULL || strstr(lt_errmsg(), "expanded") != NULL);
  CHECK(lt_batch_norm_backward(x, x, NULL, NULL, c3, 1, &y, &sm, &si) < 0 && !y && !sm && !si);
  CHECK(msg_is("save_mean is required (got NULL)"));
  CHECK(lt_batch_norm_backward(c4, x, NULL, c3, c3, 1, &y, &sm, &si) < 0);
  CHECK(msg_is("grad_y has shape 4, expected 4x3"));

  /* layer norm */
  lt_tensor *lx = randn(LT_FLOAT32, 2, (int64_t[]){3, 4}), *l3 = randn(LT_FLOAT32, 1, (int64_t[]){3});
  lt_tensor *m3 = randn(LT_FLOAT32, 1, (int64_t[]){3}), *m4 = randn(LT_FLOAT32, 1, (int64_t[]){4});
  CHECK(lt_layer_norm_forward(lx, 3, NULL, NULL, 1e-5, &y, &sm, &si) < 0 && !y && !sm && !si);
  CHECK(msg_is("norm_ndim must be 1 to 2 for input of shape 3x4, got 3"));
  CHECK(lt_layer_norm_forward(lx, 0, NULL, NULL, 1e-5, &y, &sm, &si) < 0);
  CHECK(msg_is("norm_ndim must be 1 to 2 for input of shape 3x4, got 0"));
  CHECK(lt_layer_norm_forward(lx, 1, l3, NULL, 1e-5, &y, &sm, &si) < 0);
  CHECK(msg_is("weight has shape 3, expected 4 (the last 1 dim of input of shape 3x4)"));
  CHECK(lt_layer_norm_forward(lx, 2, NULL, m4, 1e-5, &y, &sm, &si) < 0);
  CHECK(msg_is("bias has shape 4, expected 3x4 (the last 2 dims of input of shape 3x4)"));
  CHECK(lt_layer_norm_forward(lx, 1, NULL, NULL, -1, &y, &sm, &si) < 0);
  CHECK(msg_is("eps must be >= 0, got -1"));
  CHECK(lt_layer_norm_backward(lx, lx, 1, NULL, m4, m3, &y, &sm, &si) < 0 && !y && !sm && !si);
  CHECK(msg_is("mean has shape 4, expected 3"));
  CHECK(lt_layer_norm_backward(lx, lx, 1, NULL, m3, NULL, &y, NULL, NULL) < 0);
  CHECK(msg_is("rstd is required (got NULL)"));
  RELEASE(gp, cp, cp2, cpd, g10, v1, gi, gh, ws, ew, idx, fidx, go, x, x1, c3, c4, c3d, xv, ex, one, bc, lx, l3,
          m3, m4);
}

/* the _into forms write the same numbers into the caller's buffers, and refuse
   outputs that are strided or of the wrong shape */
static void test_lstm_cell_into(void) {
  int64_t B = 3, H = 5;
  lt_tensor *gp = randn(LT_FLOAT64, 2, (int64_t[]){B, 4 * H}), *cp = randn(LT_FLOAT64, 2, (int64_t[]){B, H});
  lt_tensor *h = NULL, *c = NULL, *g = NULL;
  CHECK(lt_lstm_cell_forward(gp, cp, &h, &c, &g) == 0);
  lt_tensor *h2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, H}), *c2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, H});
  lt_tensor *g2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, 4 * H});
  CHECK(lt_lstm_cell_forward_into(gp, cp, h2, c2, g2) == 0);
  CHECK(max_rel_diff(h2, h) == 0 && max_rel_diff(c2, c) == 0 && max_rel_diff(g2, g) == 0);
  lt_tensor *dh = randn(LT_FLOAT64, 2, (int64_t[]){B, H}), *dgp = NULL, *dcp = NULL;
  CHECK(lt_lstm_cell_backward(dh, NULL, g, cp, c, &dgp, &dcp) == 0);
  lt_tensor *dgp2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, 4 * H}), *dcp2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, H});
  CHECK(lt_lstm_cell_backward_into(dh, NULL, g, cp, c, dgp2, dcp2) == 0);
  CHECK(max_rel_diff(dgp2, dgp) == 0 && max_rel_diff(dcp2, dcp) == 0);
  lt_tensor *wide = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, 2 * H}), *strided = lt_narrow(wide, 1, 0, H);
  CHECK(lt_lstm_cell_forward_into(gp, cp, strided, c2, g2) == -1 && msg_is("h must be contiguous"));
  CHECK(lt_lstm_cell_backward_into(dh, NULL, g, cp, c, dgp2, g2) == -1 &&
        msg_is("grad_c_prev has shape 3x20, expected 3x5"));
  lt_tensor *all[] = {gp, cp, h, c, g, h2, c2, g2, dh, dgp, dcp, dgp2, dcp2, wide, strided};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) lt_release(all[k]);
}

static void test_gru_cell_into(void) {
  int64_t B = 2, H = 3;
  lt_tensor *gi = randn(LT_FLOAT64, 2, (int64_t[]){B, 3 * H}), *gh = randn(LT_FLOAT64, 2, (int64_t[]){B, 3 * H});
  lt_tensor *hp = randn(LT_FLOAT64, 2, (int64_t[]){B, H}), *h = NULL, *ws = NULL;
  CHECK(lt_gru_cell_forward(gi, gh, hp, &h, &ws) == 0);
  lt_tensor *h2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, H}), *ws2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, 4 * H});
  CHECK(lt_gru_cell_forward_into(gi, gh, hp, h2, ws2) == 0);
  CHECK(max_rel_diff(h2, h) == 0 && max_rel_diff(ws2, ws) == 0);
  lt_tensor *dh = randn(LT_FLOAT64, 2, (int64_t[]){B, H}), *dgi = NULL, *dgh = NULL, *dhp = NULL;
  CHECK(lt_gru_cell_backward(dh, ws, hp, &dgi, &dgh, &dhp) == 0);
  lt_tensor *dgi2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, 3 * H}), *dgh2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, 3 * H});
  lt_tensor *dhp2 = lt_empty(LT_FLOAT64, 2, (int64_t[]){B, H});
  CHECK(lt_gru_cell_backward_into(dh, ws, hp, dgi2, dgh2, dhp2) == 0);
  CHECK(max_rel_diff(dgi2, dgi) == 0 && max_rel_diff(dgh2, dgh) == 0 && max_rel_diff(dhp2, dhp) == 0);
  CHECK(lt_gru_cell_forward_into(gi, gh, hp, ws2, h2) == -1 && msg_is("h has shape 2x12, expected 2x3"));
  lt_tensor *all[] = {gi, gh, hp, h, ws, h2, ws2, dh, dgi, dgh, dhp, dgi2, dgh2, dhp2};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) lt_release(all[k]);
}

int main(void) {
  lt_runtime_init();
  lt_manual_seed(7);
  test_cross_entropy();
  test_cross_entropy_all_ignored();
  test_cross_entropy_extreme();
  test_bce();
  test_bce_extreme_logits();
  test_bce_clamped();
  test_lstm_cell();
  test_lstm_cell_into();
  test_float32_activations();
  test_gru_cell();
  test_gru_cell_into();
  test_embedding();
  test_batch_norm();
  test_layer_norm();
  test_threads();
  test_empty();
  test_errors_losses();
  test_errors_layers();
  return CHECK_REPORT();
}
