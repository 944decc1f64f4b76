/* nn_kernels.c -- fused nn kernels, each a _forward / _backward pair (nn_kernels.h).
 *
 * Each kernel is written once for an element type T inside a macro and stamped
 * out for float (suffix f32) and double (f64); the public functions check the
 * arguments, make inputs contiguous, allocate outputs and pick the kernel by
 * dtype. float32 kernels use the branch-free exp of vmath.h (and a tanh built
 * on it below) so GCC vectorises the loops; float64 kernels use libm.
 *
 * Sums run in double in a fixed order (LANE_SUM: 8 lanes, combined the same
 * way every time; rows, blocks and channels are combined in index order), so
 * no result depends on the thread count. Threads split rows, blocks or
 * channels, never one sum.
 */
#include "nn_kernels.h"
#include "iter.h"
#include "vmath.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------ */

/* enough work for a second thread to pay for waking it */
static inline int par(int64_t work) { return work >= LT_PAR_GRAIN && lt_get_num_threads() > 1; }

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* sum over I in [0, n) of EXPR (which uses I) in 8 double lanes: a fixed
   order that does not need -ffast-math for the compiler to vectorise */
#define LANE_SUM(n, I, EXPR, out)                                                   \
  do {                                                                              \
    double l_[8] = {0};                                                             \
    int64_t b_ = 0, n_ = (n);                                                       \
    for (; b_ + 8 <= n_; b_ += 8)                                                   \
      for (int q_ = 0; q_ < 8; q_++) { int64_t I = b_ + q_; l_[q_] += (EXPR); }     \
    for (int64_t I = b_; I < n_; I++) l_[I & 7] += (EXPR);                          \
    (out) = ((l_[0] + l_[1]) + (l_[2] + l_[3])) + ((l_[4] + l_[5]) + (l_[6] + l_[7])); \
  } while (0)

/* elementwise math per type: the float32 versions vectorise */
static inline float exp_f32(float x) { return lt_expf(x); }
static inline double exp_f64(double x) { return exp(x); }
static inline float sigm_f32(float x) { return lt_sigmoidf(x); }
static inline double sigm_f64(double x) { return 1.0 / (1.0 + exp(-x)); }
static inline double tanh_f64(double x) { return tanh(x); }
static inline float log_f32(float x) { return logf(x); }
static inline double log_f64(double x) { return log(x); }
static inline float log1p_f32(float x) { return log1pf(x); }
static inline double log1p_f64(double x) { return log1p(x); }

/* tanh in float32, branch-free: for |x| < 0.4 its odd Taylor series to x^13
   (the next term is below 4e-9 relative), above (1 - e) / (1 + e) with
   e = exp(-2|x|), where 1 - e no longer cancels badly. Within a few ulp;
   +-inf give +-1 and NaN stays NaN. (It belongs next to lt_expf in vmath.h
   once another kernel wants it.) */
static inline float tanh_f32(float x) {
  float a = fabsf(x), a2 = a * a;
  float e = lt_expf(-2.0f * a);
  float big = (1.0f - e) / (1.0f + e);
  float p = 21844.0f / 6081075;
  p = p * a2 - 1382.0f / 155925;
  p = p * a2 + 62.0f / 2835;
  p = p * a2 - 17.0f / 315;
  p = p * a2 + 2.0f / 15;
  p = p * a2 - 1.0f / 3;
  float small = a + a * a2 * p;
  return copysignf(a < 0.4f ? small : big, x);
}

/* Reductions sum fixed blocks (set by the shape, never by the thread count)
   in parallel, then the block sums in index order. The block sums live on
   the caller's stack (PART_STACK of them) unless there are more. */
#define PART_STACK 256

static double *part_alloc(double *stack, int64_t nb) {
  if (nb <= PART_STACK) return stack;
  double *p = malloc((size_t)nb * sizeof *p);
  if (!p) lt_seterr("out of memory for %lld partial sums", (long long)nb);
  return p;
}

static void part_free(double *p, double *stack) {
  if (p != stack) free(p);
}

static double part_total(const double *p, int64_t nb) {
  double s = 0;
  for (int64_t b = 0; b < nb; b++) s += p[b];
  return s;
}

/* temporaries of one call, released together */
#define HOLD_MAX 16
typedef struct { lt_tensor *t[HOLD_MAX]; int n; } holder;

static lt_tensor *hold(holder *h, lt_tensor *t) {
  if (t && h->n == HOLD_MAX) { /* a bug in this file, not the caller's */
    lt_release(t);
    return lt_seterr("internal error: too many temporaries"), NULL;
  }
  if (t) h->t[h->n++] = t;
  return t;
}

static void hold_release(holder *h) {
  for (int k = 0; k < h->n; k++) lt_release(h->t[k]);
  h->n = 0;
}

/* *out = t made contiguous (held), NULL for NULL; -1 on failure */
static int hold_contig(holder *h, lt_tensor *t, lt_tensor **out) {
  *out = NULL;
  if (!t) return 0;
  return (*out = hold(h, lt_contiguous(t))) ? 0 : -1;
}

#define SHAPE(t, buf) lt_shape_str((t)->ndim, (t)->shape, buf, sizeof buf)

static int check_float(const lt_tensor *t, const char *what) {
  if (!t) return lt_seterr("%s is required (got NULL)", what);
  if (t->dtype != LT_FLOAT32 && t->dtype != LT_FLOAT64)
    return lt_seterr("%s must be float32 or float64, got %s", what, lt_dtype_name(t->dtype));
  return 0;
}

/* t (required) is a float tensor of ref's dtype */
static int check_like(const lt_tensor *t, const char *what, const lt_tensor *ref, const char *refname) {
  if (check_float(t, what) < 0) return -1;
  if (t->dtype != ref->dtype)
    return lt_seterr("%s is %s but %s is %s (they must have one dtype)", what,
                     lt_dtype_name(t->dtype), refname, lt_dtype_name(ref->dtype));
  return 0;
}

static int has_shape(const lt_tensor *t, int ndim, const int64_t *shape) {
  if (t->ndim != ndim) return 0;
  for (int d = 0; d < ndim; d++) if (t->shape[d] != shape[d]) return 0;
  return 1;
}

/* t has exactly shape (ndim, shape); the message names both */
static int check_shape(const lt_tensor *t, const char *what, int ndim, const int64_t *shape) {
  char a[128], b[128];
  if (has_shape(t, ndim, shape)) return 0;
  return lt_seterr("%s has shape %s, expected %s", what, SHAPE(t, a),
                   lt_shape_str(ndim, shape, b, sizeof b));
}

static int check_reduction(lt_loss_reduction r) {
  if (r != LT_LOSS_NONE && r != LT_LOSS_MEAN && r != LT_LOSS_SUM)
    return lt_seterr("reduction must be none, mean or sum (got code %d)", (int)r);
  return 0;
}

/* grad_loss matches the loss: `shape` for none, one element otherwise */
static int check_grad_loss(const lt_tensor *g, const lt_tensor *ref, lt_loss_reduction r,
                           int ndim, const int64_t *shape) {
  char a[128];
  if (check_like(g, "grad_loss", ref, "the input") < 0) return -1;
  if (r == LT_LOSS_NONE) return check_shape(g, "grad_loss", ndim, shape);
  if (lt_numel(g) != 1)
    return lt_seterr("grad_loss has shape %s, expected one element (the reduced loss)", SHAPE(g, a));
  return 0;
}

static double elem(const void *p, lt_dtype dt, int64_t k) {
  return dt == LT_FLOAT32 ? (double)((const float *)p)[k] : ((const double *)p)[k];
}

/* a 0-d tensor of dtype dt holding v */
static lt_tensor *scalar(lt_dtype dt, double v) {
  lt_tensor *t = lt_empty(dt, 0, NULL);
  if (t && dt == LT_FLOAT32) *(float *)lt_data(t) = (float)v;
  else if (t) *(double *)lt_data(t) = v;
  return t;
}

/* ---- cross entropy and nll_loss ---------------------------------------------------
 * The input is viewed as (outer, C, inner): position r = (o, i) has its C
 * values at offset o*C*inner + i with stride inner, and target[r].
 *
 *   loss_r = (1 - e) * (-w[t] lp[t]) + e / C * (-sum_c w[c] lp[c])   (0 if ignored)
 *   d loss_r / d lp[k]     = -(1 - e) w[t] [k == t] - e / C * w[k]
 *   d loss_r / d logits[k] = p[k] * ((1 - e) w[t] + e / C * W) + the line above,
 * since d lp[c] / d logits[k] = [c == k] - p[k]; with w = 1 (W = C) the
 * coefficient of p[k] is 1: softmax - smoothed one-hot. */
typedef struct {
  int64_t C, inner, rows;
  const int64_t *target;
  int64_t ignore_index;
  double eps;          /* label smoothing */
  double wsum;         /* W: sum of class weights, C without weights */
  const void *weight;  /* (C) or NULL */
  const void *x;       /* logits (softmax = 1) or log-probabilities */
  int softmax;
  void *logp;          /* forward with softmax: log_softmax(x) goes here */
  void *out;           /* forward, no reduction: the loss per position (rows) */
  double *part;        /* forward, reduced: one sum per block of `block` rows */
  int64_t block;
  const void *grad;    /* backward: grad_loss, (rows) or one element */
  int grad_per_row;
  double denom;        /* backward: total weight for mean, else 1 */
  void *gx;            /* backward: gradient, the input's layout */
} nll_job;

/* Rows with unit class stride (inner = 1, the usual (N, C)) go by tiles of
   rows so that exp runs as one vectorised loop over the tile: for small C a
   per-row loop would be mostly its scalar remainder. */
#define CE_TILE 4096     /* values per tile */
#define CE_TILE_ROWS 128 /* rows per tile at most (a stack array of row maxima) */

#define NLL_KERNELS(S, T)                                                                  \
  /* max of n values with stride st in 8 lanes (vectorised); NaN is passed over, as the    \
     exp sum that follows turns the whole row into NaN anyway (PyTorch's result) */        \
  static inline T row_max_##S(const T *x, int64_t n, int64_t st) {                         \
    T l[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,                                  \
              -INFINITY, -INFINITY, -INFINITY, -INFINITY};                                 \
    int64_t b = 0;                                                                         \
    for (; b + 8 <= n; b += 8)                                                             \
      for (int q = 0; q < 8; q++) { T v = x[(b + q) * st]; l[q] = v > l[q] ? v : l[q]; }   \
    for (; b < n; b++) { T v = x[b * st]; l[0] = v > l[0] ? v : l[0]; }                   \
    T m = l[0];                                                                            \
    for (int q = 1; q < 8; q++) m = l[q] > m ? l[q] : m;                                   \
    return m == -INFINITY ? 0 : m; /* all -inf: the sum decides (NaN, as PyTorch) */       \
  }                                                                                        \
  /* x: C logits with stride st -> lp: log_softmax(x), same layout */                      \
  static void log_softmax_row_##S(const T *x, T *lp, int64_t C, int64_t st) {              \
    T m = row_max_##S(x, C, st);                                                           \
    for (int64_t k = 0; k < C; k++) lp[k * st] = exp_##S(x[k * st] - m);                   \
    double s;                                                                              \
    LANE_SUM(C, k, (double)lp[k * st], s);                                                 \
    T ls = log_##S((T)s);                                                                  \
    for (int64_t k = 0; k < C; k++) lp[k * st] = (x[k * st] - m) - ls;                     \
  }                                                                                        \
  /* n rows of C contiguous logits (n <= CE_TILE_ROWS) -> lp: the same values as           \
     log_softmax_row, the exp as one loop over the tile */                                 \
  static void log_softmax_tile_##S(const T *x, T *lp, int64_t n, int64_t C) {              \
    T m[CE_TILE_ROWS];                                                                     \
    for (int64_t r = 0; r < n; r++) {                                                      \
      const T *xr = x + r * C;                                                             \
      T *lr = lp + r * C, mr = m[r] = row_max_##S(xr, C, 1);                               \
      for (int64_t k = 0; k < C; k++) lr[k] = xr[k] - mr;                                  \
    }                                                                                      \
    for (int64_t k = 0; k < n * C; k++) lp[k] = exp_##S(lp[k]);                            \
    for (int64_t r = 0; r < n; r++) {                                                      \
      const T *xr = x + r * C;                                                             \
      T *lr = lp + r * C;                                                                  \
      double s;                                                                            \
      LANE_SUM(C, k, (double)lr[k], s);                                                    \
      T ls = log_##S((T)s), mr = m[r];                                                     \
      for (int64_t k = 0; k < C; k++) lr[k] = (xr[k] - mr) - ls;                           \
    }                                                                                      \
  }                                                                                        \
  /* loss at one position: lp (C, stride st), target t (not ignored), w (C) or NULL */     \
  static double nll_row_##S(const T *lp, int64_t C, int64_t st, int64_t t, const T *w,     \
                            double eps) {                                                  \
    double wt = w ? (double)w[t] : 1.0;                                                    \
    double loss = -(1 - eps) * wt * (double)lp[t * st];                                    \
    if (eps > 0) {                                                                         \
      double s;                                                                            \
      if (w) LANE_SUM(C, k, (double)w[k] * lp[k * st], s);                                 \
      else LANE_SUM(C, k, (double)lp[k * st], s);                                          \
      loss -= eps / (double)C * s;                                                         \
    }                                                                                      \
    return loss;                                                                           \
  }                                                                                        \
  /* blocks of j->block rows in parallel; a reduced loss sums each block in row order */   \
  static void nll_forward_##S(const nll_job *j) {                                          \
    const T *w = j->weight;                                                                \
    T *out = j->out;                                                                       \
    int64_t C = j->C, inner = j->inner, nb = (j->rows + j->block - 1) / j->block;           \
    int64_t tile = C < CE_TILE / CE_TILE_ROWS ? CE_TILE_ROWS : C < CE_TILE ? CE_TILE / C : 1; \
    _Pragma("omp parallel for schedule(static) if (par(j->rows * C))")                     \
    for (int64_t b = 0; b < nb; b++) {                                                     \
      int64_t r0 = b * j->block, r1 = min64(j->rows, r0 + j->block);                       \
      const T *lp = j->x;                                                                  \
      if (j->softmax) {                                                                    \
        const T *x = j->x;                                                                 \
        T *lo = j->logp;                                                                   \
        if (inner == 1)                                                                    \
          for (int64_t t0 = r0; t0 < r1; t0 += tile)                                       \
            log_softmax_tile_##S(x + t0 * C, lo + t0 * C, min64(tile, r1 - t0), C);        \
        else                                                                               \
          for (int64_t r = r0; r < r1; r++) {                                              \
            int64_t off = (r / inner) * C * inner + r % inner;                             \
            log_softmax_row_##S(x + off, lo + off, C, inner);                              \
          }                                                                                \
        lp = lo;                                                                           \
      }                                                                                    \
      double s = 0;                                                                        \
      for (int64_t r = r0; r < r1; r++) {                                                  \
        int64_t off = (r / inner) * C * inner + r % inner, t = j->target[r];               \
        double l = t == j->ignore_index ? 0.0 : nll_row_##S(lp + off, C, inner, t, w, j->eps); \
        if (out) out[r] = (T)l;                                                            \
        else s += l;                                                                       \
      }                                                                                    \
      if (j->part) j->part[b] = s;                                                         \
    }                                                                                      \
  }                                                                                        \
  /* grad = a softmax - b w - c [k == t] per position, softmax = exp(lp); with unit        \
     class stride the exp runs first over the whole block, then the rows scale it */       \
  static void nll_backward_##S(const nll_job *j) {                                         \
    const T *w = j->weight, *gl = j->grad;                                                 \
    int64_t C = j->C, inner = j->inner, nb = (j->rows + j->block - 1) / j->block;           \
    double ec = j->eps / (double)C;                                                        \
    _Pragma("omp parallel for schedule(static) if (par(j->rows * C))")                     \
    for (int64_t b = 0; b < nb; b++) {                                                     \
      int64_t r0 = b * j->block, r1 = min64(j->rows, r0 + j->block);                       \
      int unit = j->softmax && inner == 1;                                                 \
      if (unit) {                                                                          \
        const T *lp = (const T *)j->x + r0 * C;                                            \
        T *g = (T *)j->gx + r0 * C;                                                        \
        for (int64_t k = 0; k < (r1 - r0) * C; k++) g[k] = exp_##S(lp[k]);                \
      }                                                                                    \
      for (int64_t r = r0; r < r1; r++) {                                                  \
        int64_t off = (r / inner) * C * inner + r % inner, t = j->target[r];               \
        T *g = (T *)j->gx + off;                                                           \
        if (t == j->ignore_index) {                                                        \
          for (int64_t k = 0; k < C; k++) g[k * inner] = 0;                                \
          continue;                                                                        \
        }                                                                                  \
        double s = (double)gl[j->grad_per_row ? r : 0] / j->denom;                         \
        double wt = w ? (double)w[t] : 1.0;                                                \
        T a = (T)(s * ((1 - j->eps) * wt + ec * j->wsum)), bw = (T)(s * ec);               \
        if (unit && w) for (int64_t k = 0; k < C; k++) g[k] = a * g[k] - bw * w[k];        \
        else if (unit) for (int64_t k = 0; k < C; k++) g[k] = a * g[k] - bw;               \
        else if (j->softmax) {                                                             \
          const T *lp = (const T *)j->x + off;                                             \
          if (w) for (int64_t k = 0; k < C; k++) g[k * inner] = a * exp_##S(lp[k * inner]) - bw * w[k]; \
          else for (int64_t k = 0; k < C; k++) g[k * inner] = a * exp_##S(lp[k * inner]) - bw; \
        } else if (w) for (int64_t k = 0; k < C; k++) g[k * inner] = -bw * w[k];           \
        else for (int64_t k = 0; k < C; k++) g[k * inner] = -bw;                           \
        g[t * inner] -= (T)(s * (1 - j->eps) * wt);                                        \
      }                                                                                    \
    }                                                                                      \
  }
NLL_KERNELS(f32, float)
NLL_KERNELS(f64, double)

/* shapes and options of a cross_entropy / nll_loss call; fills the geometry */
static int nll_check(lt_tensor *x, const char *xname, lt_tensor *target, lt_tensor *weight,
                     double eps, lt_loss_reduction red, nll_job *j) {
  char a[128], b[128], c[128];
  if (check_float(x, xname) < 0) return -1;
  if (!target) return lt_seterr("target is required (got NULL)");
  if (target->dtype != LT_INT64)
    return lt_seterr("target must be an int64 tensor of class indices, got %s",
                     lt_dtype_name(target->dtype));
  if (x->ndim < 1) return lt_seterr("%s must have a class dimension, got a scalar", xname);
  int64_t want[LT_MAX_DIM];
  int nd = x->ndim == 1 ? 0 : x->ndim - 1;
  for (int d = 0; d < nd; d++) want[d] = x->shape[d == 0 ? 0 : d + 1];
  if (!has_shape(target, nd, want))
    return lt_seterr("target has shape %s but %s of shape %s needs target shape %s "
                     "(%s without its class dimension)", SHAPE(target, a), xname, SHAPE(x, b),
                     lt_shape_str(nd, want, c, sizeof c), xname);
  j->C = x->ndim == 1 ? x->shape[0] : x->shape[1];
  j->inner = 1;
  for (int d = 2; d < x->ndim; d++) j->inner *= x->shape[d];
  j->rows = lt_numel(target);
  if (weight) {
    if (check_like(weight, "weight", x, xname) < 0) return -1;
    if (weight->ndim != 1 || weight->shape[0] != j->C)
      return lt_seterr("weight has shape %s, expected %lld (one per class of %s of shape %s)",
                       SHAPE(weight, a), (long long)j->C, xname, SHAPE(x, b));
  }
  if (!(eps >= 0 && eps <= 1)) return lt_seterr("label_smoothing must be in [0, 1], got %g", eps);
  return check_reduction(red);
}

/* every target is a class or ignore_index; j->denom = sum of w[t] over the
   positions not ignored, j->wsum = sum of all w */
static int nll_targets(nll_job *j, lt_dtype dt) {
  double total = 0;
  for (int64_t r = 0; r < j->rows; r++) {
    int64_t t = j->target[r];
    if (t == j->ignore_index) continue;
    if (t < 0 || t >= j->C)
      return lt_seterr("target %lld (0-based) at position %lld is out of range for %lld classes "
                       "(valid: 0 to %lld, or ignore_index %lld)", (long long)t, (long long)r,
                       (long long)j->C, (long long)j->C - 1, (long long)j->ignore_index);
    total += j->weight ? elem(j->weight, dt, t) : 1.0;
  }
  j->denom = total;
  if (j->weight) LANE_SUM(j->C, k, elem(j->weight, dt, k), j->wsum);
  else j->wsum = (double)j->C;
  return 0;
}

/* rows per block (the unit of threads and of a reduced loss's partial sums):
   about NLL_BLOCK_WORK values of x each */
#define NLL_BLOCK_WORK 8192
static int64_t nll_block(int64_t C) { return C > 0 && C < NLL_BLOCK_WORK ? NLL_BLOCK_WORK / C : 1; }

static lt_tensor *nll_forward(lt_tensor *x, int softmax, lt_tensor *target, lt_tensor *weight,
                              int64_t ignore_index, double eps, lt_loss_reduction red,
                              lt_tensor **logp) {
  nll_job j;
  memset(&j, 0, sizeof j);
  if (logp) *logp = NULL;
  if (nll_check(x, softmax ? "logits" : "logp", target, weight, eps, red, &j) < 0) return NULL;
  holder h = {.n = 0};
  lt_tensor *xc, *tc, *wc, *lp = NULL, *out = NULL;
  double stack[PART_STACK], *part = NULL;
  j.block = nll_block(j.C);
  int64_t nb = (j.rows + j.block - 1) / j.block;
  if (hold_contig(&h, x, &xc) < 0 || hold_contig(&h, target, &tc) < 0 ||
      hold_contig(&h, weight, &wc) < 0)
    goto done;
  j.target = lt_data(tc);
  j.weight = wc ? lt_data(wc) : NULL;
  j.ignore_index = ignore_index;
  j.eps = eps;
  j.x = lt_data(xc);
  j.softmax = softmax;
  if (nll_targets(&j, x->dtype) < 0) goto done;
  if (softmax) {
    if (!(lp = lt_empty(x->dtype, x->ndim, x->shape))) goto done;
    j.logp = lt_data(lp);
  }
  if (red == LT_LOSS_NONE) {
    if (!(out = lt_empty(x->dtype, target->ndim, target->shape))) goto done;
    j.out = lt_data(out);
  } else if (!(part = j.part = part_alloc(stack, nb))) {
    goto done;
  }
  if (x->dtype == LT_FLOAT32) nll_forward_f32(&j);
  else nll_forward_f64(&j);
  if (red != LT_LOSS_NONE) {
    double s = part_total(part, nb);
    out = scalar(x->dtype, red == LT_LOSS_MEAN ? s / j.denom : s); /* 0/0: NaN, as PyTorch */
  }
done:
  part_free(part, stack);
  hold_release(&h);
  if (out && logp) *logp = lp;
  else lt_release(lp);
  return out;
}

static lt_tensor *nll_backward(lt_tensor *grad, lt_tensor *x, int softmax, lt_tensor *target,
                               lt_tensor *weight, int64_t ignore_index, double eps,
                               lt_loss_reduction red) {
  nll_job j;
  memset(&j, 0, sizeof j);
  if (nll_check(x, "logp", target, weight, eps, red, &j) < 0) return NULL;
  if (check_grad_loss(grad, x, red, target->ndim, target->shape) < 0) return NULL;
  holder h = {.n = 0};
  lt_tensor *xc = NULL, *tc, *wc, *gc, *gx = NULL;
  if ((softmax && hold_contig(&h, x, &xc) < 0) || hold_contig(&h, target, &tc) < 0 ||
      hold_contig(&h, weight, &wc) < 0 || hold_contig(&h, grad, &gc) < 0)
    goto done;
  j.target = lt_data(tc);
  j.weight = wc ? lt_data(wc) : NULL;
  j.ignore_index = ignore_index;
  j.eps = eps;
  j.x = xc ? lt_data(xc) : NULL; /* nll_loss: the gradient does not read logp */
  j.softmax = softmax;
  j.grad = lt_data(gc);
  j.grad_per_row = red == LT_LOSS_NONE;
  if (nll_targets(&j, x->dtype) < 0) goto done;
  if (red != LT_LOSS_MEAN) j.denom = 1;
  j.block = nll_block(j.C);
  if (!(gx = lt_empty(x->dtype, x->ndim, x->shape))) goto done;
  j.gx = lt_data(gx);
  if (x->dtype == LT_FLOAT32) nll_backward_f32(&j);
  else nll_backward_f64(&j);
done:
  hold_release(&h);
  return gx;
}

lt_tensor *lt_cross_entropy_forward(lt_tensor *logits, lt_tensor *target, lt_tensor *weight,
                                    int64_t ignore_index, double label_smoothing,
                                    lt_loss_reduction reduction, lt_tensor **logp) {
  return nll_forward(logits, 1, target, weight, ignore_index, label_smoothing, reduction, logp);
}

lt_tensor *lt_cross_entropy_backward(lt_tensor *grad_loss, lt_tensor *logp, lt_tensor *target,
                                     lt_tensor *weight, int64_t ignore_index,
                                     double label_smoothing, lt_loss_reduction reduction) {
  return nll_backward(grad_loss, logp, 1, target, weight, ignore_index, label_smoothing, reduction);
}

lt_tensor *lt_nll_loss_forward(lt_tensor *logp, lt_tensor *target, lt_tensor *weight,
                               int64_t ignore_index, double label_smoothing,
                               lt_loss_reduction reduction) {
  return nll_forward(logp, 0, target, weight, ignore_index, label_smoothing, reduction, NULL);
}

lt_tensor *lt_nll_loss_backward(lt_tensor *grad_loss, lt_tensor *logp, lt_tensor *target,
                                lt_tensor *weight, int64_t ignore_index, double label_smoothing,
                                lt_loss_reduction reduction) {
  return nll_backward(grad_loss, logp, 0, target, weight, ignore_index, label_smoothing, reduction);
}

/* ---- binary cross entropy ------------------------------------------------------------
 * Elementwise over n values, with weight and pos_weight already broadcast to
 * the input's shape. Reductions sum fixed blocks in parallel, then the block
 * sums in order.
 *   with logits: loss = w ((1 - y) x + lw softplus(-x)), lw = 1 + (pw - 1) y,
 *                softplus(-x) = max(-x, 0) + log1p(e^-|x|);
 *                d/dx = w (lw sigmoid(x) - pw y)        (PyTorch's form)
 *   probabilities: loss = w ((y - 1) max(log1p(-p), -100) - y max(log p, -100));
 *                d/dp = w (p - y) / max(p (1 - p), 1e-12) */
#define BCE_BLOCK 4096

typedef struct {
  int64_t n;
  const void *x, *y, *w, *pw; /* w, pw: x's shape, or NULL */
  void *out;                  /* forward none: per-element loss; backward: gradient */
  double *part;               /* forward reduced: one sum per block */
  const void *grad;           /* backward: grad_loss */
  int grad_per_elem;
  double denom;               /* backward: n for mean, else 1 */
} bce_job;

#define BCE_KERNELS(S, T)                                                                  \
  static inline T bce_logits_loss_##S(T x, T y, T pw) {                                    \
    T ax = x < 0 ? -x : x, sp = (x < 0 ? ax : 0) + log1p_##S(exp_##S(-ax));                \
    return (1 - y) * x + (1 + (pw - 1) * y) * sp;                                          \
  }                                                                                        \
  static inline T bce_prob_loss_##S(T p, T y) {                                            \
    T l1 = log1p_##S(-p), l0 = log_##S(p);                                                 \
    return (y - 1) * (l1 > -100 ? l1 : -100) - y * (l0 > -100 ? l0 : -100);                \
  }                                                                                        \
  static void bce_forward_##S(const bce_job *j, int logits) {                              \
    const T *x = j->x, *y = j->y, *w = j->w, *pw = j->pw;                                  \
    T *out = j->out;                                                                       \
    int64_t nb = (j->n + BCE_BLOCK - 1) / BCE_BLOCK;                                       \
    _Pragma("omp parallel for schedule(static) if (par(j->n))")                            \
    for (int64_t b = 0; b < nb; b++) {                                                     \
      int64_t hi = min64(j->n, (b + 1) * BCE_BLOCK);                                       \
      double s = 0;                                                                        \
      for (int64_t k = b * BCE_BLOCK; k < hi; k++) {                                       \
        T l = logits ? bce_logits_loss_##S(x[k], y[k], pw ? pw[k] : 1)                     \
                     : bce_prob_loss_##S(x[k], y[k]);                                      \
        if (w) l *= w[k];                                                                  \
        if (out) out[k] = l;                                                               \
        else s += l;                                                                       \
      }                                                                                    \
      if (j->part) j->part[b] = s;                                                         \
    }                                                                                      \
  }                                                                                        \
  static void bce_backward_##S(const bce_job *j, int logits) {                             \
    const T *x = j->x, *y = j->y, *w = j->w, *pw = j->pw, *gl = j->grad;                   \
    T *gx = j->out;                                                                        \
    _Pragma("omp parallel for schedule(static) if (par(j->n))")                            \
    for (int64_t k = 0; k < j->n; k++) {                                                   \
      T g = (T)((double)gl[j->grad_per_elem ? k : 0] / j->denom), d;                       \
      if (logits) {                                                                        \
        T p = pw ? pw[k] : 1;                                                              \
        d = (1 + (p - 1) * y[k]) * sigm_##S(x[k]) - p * y[k];                              \
      } else {                                                                             \
        T v = x[k] * (1 - x[k]);                                                           \
        d = (x[k] - y[k]) / (v > (T)1e-12 ? v : (T)1e-12);                                 \
      }                                                                                    \
      if (w) d *= w[k];                                                                    \
      gx[k] = d * g;                                                                       \
    }                                                                                      \
  }
BCE_KERNELS(f32, float)
BCE_KERNELS(f64, double)

/* *out = t broadcast to ref's shape, contiguous and held; NULL for NULL */
static int hold_broadcast(holder *h, lt_tensor *t, const char *what, lt_tensor *ref,
                          lt_tensor **out) {
  char a[128], b[128];
  int64_t st[LT_MAX_DIM];
  *out = NULL;
  if (!t) return 0;
  if (check_like(t, what, ref, "input") < 0) return -1;
  if (lt_broadcast_strides(t, ref->ndim, ref->shape, st) < 0)
    return lt_seterr("%s of shape %s cannot be broadcast to the input's shape %s", what,
                     SHAPE(t, a), SHAPE(ref, b));
  if (has_shape(t, ref->ndim, ref->shape)) return hold_contig(h, t, out);
  lt_tensor *e = hold(h, lt_empty(ref->dtype, ref->ndim, ref->shape));
  if (!e || lt_copy_(e, t) < 0) return -1;
  *out = e;
  return 0;
}

static int bce_check(lt_tensor *input, lt_tensor *target, lt_loss_reduction red) {
  char a[128], b[128];
  if (check_float(input, "input") < 0 || check_like(target, "target", input, "input") < 0) return -1;
  if (!has_shape(target, input->ndim, input->shape))
    return lt_seterr("target has shape %s but input has shape %s (they must match)",
                     SHAPE(target, a), SHAPE(input, b));
  return check_reduction(red);
}

/* contiguous operands of a BCE call into j */
static int bce_operands(holder *h, bce_job *j, lt_tensor *input, lt_tensor *target,
                        lt_tensor *weight, lt_tensor *pos_weight) {
  lt_tensor *xc, *yc, *wc, *pc;
  if (hold_contig(h, input, &xc) < 0 || hold_contig(h, target, &yc) < 0 ||
      hold_broadcast(h, weight, "weight", input, &wc) < 0 ||
      hold_broadcast(h, pos_weight, "pos_weight", input, &pc) < 0)
    return -1;
  j->n = lt_numel(input);
  j->x = lt_data(xc);
  j->y = lt_data(yc);
  j->w = wc ? lt_data(wc) : NULL;
  j->pw = pc ? lt_data(pc) : NULL;
  return 0;
}

static lt_tensor *bce_forward(int logits, lt_tensor *input, lt_tensor *target, lt_tensor *weight,
                              lt_tensor *pos_weight, lt_loss_reduction red) {
  if (bce_check(input, target, red) < 0) return NULL;
  bce_job j;
  memset(&j, 0, sizeof j);
  holder h = {.n = 0};
  lt_tensor *out = NULL;
  double stack[PART_STACK];
  int64_t nb = (lt_numel(input) + BCE_BLOCK - 1) / BCE_BLOCK;
  if (bce_operands(&h, &j, input, target, weight, pos_weight) < 0) goto done;
  if (!logits) /* probabilities in [0, 1], as PyTorch checks (NaN fails too) */
    for (int64_t k = 0; k < j.n; k++) {
      double p = elem(j.x, input->dtype, k);
      if (!(p >= 0 && p <= 1)) {
        lt_seterr("input must hold probabilities in [0, 1], got %g at position %lld (0-based)",
                  p, (long long)k);
        goto done;
      }
    }
  if (red == LT_LOSS_NONE) {
    if (!(out = lt_empty(input->dtype, input->ndim, input->shape))) goto done;
    j.out = lt_data(out);
  } else if (!(j.part = part_alloc(stack, nb))) {
    goto done;
  }
  if (input->dtype == LT_FLOAT32) bce_forward_f32(&j, logits);
  else bce_forward_f64(&j, logits);
  if (red != LT_LOSS_NONE) {
    double s = part_total(j.part, nb);
    out = scalar(input->dtype, red == LT_LOSS_MEAN ? s / (double)j.n : s); /* n = 0: NaN */
  }
done:
  part_free(j.part, stack);
  hold_release(&h);
  return out;
}

static lt_tensor *bce_backward(int logits, lt_tensor *grad, lt_tensor *input, lt_tensor *target,
                               lt_tensor *weight, lt_tensor *pos_weight, lt_loss_reduction red) {
  if (bce_check(input, target, red) < 0) return NULL;
  if (check_grad_loss(grad, input, red, input->ndim, input->shape) < 0) return NULL;
  bce_job j;
  memset(&j, 0, sizeof j);
  holder h = {.n = 0};
  lt_tensor *gc, *gx = NULL;
  if (bce_operands(&h, &j, input, target, weight, pos_weight) < 0 || hold_contig(&h, grad, &gc) < 0)
    goto done;
  if (!(gx = lt_empty(input->dtype, input->ndim, input->shape))) goto done;
  j.out = lt_data(gx);
  j.grad = lt_data(gc);
  j.grad_per_elem = red == LT_LOSS_NONE;
  j.denom = red == LT_LOSS_MEAN ? (double)j.n : 1.0;
  if (input->dtype == LT_FLOAT32) bce_backward_f32(&j, logits);
  else bce_backward_f64(&j, logits);
done:
  hold_release(&h);
  return gx;
}

lt_tensor *lt_binary_cross_entropy_with_logits_forward(lt_tensor *input, lt_tensor *target,
                                                       lt_tensor *weight, lt_tensor *pos_weight,
                                                       lt_loss_reduction reduction) {
  return bce_forward(1, input, target, weight, pos_weight, reduction);
}

lt_tensor *lt_binary_cross_entropy_with_logits_backward(lt_tensor *grad_loss, lt_tensor *input,
                                                        lt_tensor *target, lt_tensor *weight,
                                                        lt_tensor *pos_weight,
                                                        lt_loss_reduction reduction) {
  return bce_backward(1, grad_loss, input, target, weight, pos_weight, reduction);
}

lt_tensor *lt_binary_cross_entropy_forward(lt_tensor *input, lt_tensor *target,
                                           lt_tensor *weight, lt_loss_reduction reduction) {
  return bce_forward(0, input, target, weight, NULL, reduction);
}

lt_tensor *lt_binary_cross_entropy_backward(lt_tensor *grad_loss, lt_tensor *input,
                                            lt_tensor *target, lt_tensor *weight,
                                            lt_loss_reduction reduction) {
  return bce_backward(0, grad_loss, input, target, weight, NULL, reduction);
}

/* ---- LSTM and GRU cells ----------------------------------------------------------------
 * One row per batch element, rows in parallel; all loops are elementwise. The
 * row functions take restrict pointers to each gate's H values: inlined into
 * the OpenMP loops (where GCC cannot see that the outputs do not alias), they
 * keep the inner loops vectorised. */

/* the LSTM backward loop over one row, the incoming gradients given as the
   expressions GH and GC (dh[k], dc[k] or 0): written out once per case so
   that each loop is straight-line and vectorises */
#define LSTM_ROW_BACKWARD_LOOP(S, T, GH, GC)                                               \
  for (int64_t k = 0; k < H; k++) {                                                        \
    T i = gi[k], f = gf[k], g = gg[k], o = go[k], gh = (GH);                               \
    T tc = tanh_##S(c[k]);                                                                 \
    T dct = (GC) + gh * o * (1 - tc * tc);                                                 \
    di[k] = dct * g * i * (1 - i);                                                         \
    df[k] = dct * cp[k] * f * (1 - f);                                                     \
    dg[k] = dct * i * (1 - g * g);                                                         \
    dO[k] = gh * tc * o * (1 - o);                                                         \
    dcp[k] = dct * f;                                                                      \
  }

#define RNN_KERNELS(S, T)                                                                  \
  /* one row: pre-activations pi, pf, pg, po and cp (H) -> gates i f g o, c, h (H) */       \
  static inline void lstm_row_forward_##S(                                                 \
      const T *restrict pi, const T *restrict pf, const T *restrict pg,                    \
      const T *restrict po, const T *restrict cp, T *restrict gi, T *restrict gf,          \
      T *restrict gg, T *restrict go, T *restrict c, T *restrict h, int64_t H) {           \
    for (int64_t k = 0; k < H; k++) {                                                      \
      T i = sigm_##S(pi[k]), f = sigm_##S(pf[k]), g = tanh_##S(pg[k]), o = sigm_##S(po[k]); \
      T cn = f * cp[k] + i * g;                                                            \
      gi[k] = i; gf[k] = f; gg[k] = g; go[k] = o;                                          \
      c[k] = cn;                                                                           \
      h[k] = o * tanh_##S(cn);                                                             \
    }                                                                                      \
  }                                                                                        \
  /* gp (B,4H) pre-activations [i f g o], cp (B,H) -> gates (B,4H) activated, c, h (B,H) */ \
  static void lstm_cell_forward_##S(const T *gp, const T *cp, T *gates, T *c, T *h,        \
                                    int64_t B, int64_t H) {                                \
    _Pragma("omp parallel for schedule(static) if (par(4 * B * H))")                       \
    for (int64_t b = 0; b < B; b++) {                                                      \
      const T *p = gp + b * 4 * H;                                                         \
      T *gt = gates + b * 4 * H;                                                           \
      lstm_row_forward_##S(p, p + H, p + 2 * H, p + 3 * H, cp + b * H, gt, gt + H,         \
                           gt + 2 * H, gt + 3 * H, c + b * H, h + b * H, H);               \
    }                                                                                      \
  }                                                                                        \
  /* one row: dh, dc (H) (either NULL: zero), gates i f g o, cp, c (H) -> d of the          \
     pre-activations di df dg do and dcp (H):                                              \
     dc_total = dc + dh o (1 - tanh(c)^2); di = dc_total g; df = dc_total c_prev;          \
     dg = dc_total i; do = dh tanh(c); then through each activation's derivative */        \
  static inline void lstm_row_backward_##S(                                                \
      const T *restrict dh, const T *restrict dc, const T *restrict gi,                    \
      const T *restrict gf, const T *restrict gg, const T *restrict go,                    \
      const T *restrict cp, const T *restrict c, T *restrict di, T *restrict df,           \
      T *restrict dg, T *restrict dO, T *restrict dcp, int64_t H) {                        \
    if (dh && dc) LSTM_ROW_BACKWARD_LOOP(S, T, dh[k], dc[k])                               \
    else if (dh) LSTM_ROW_BACKWARD_LOOP(S, T, dh[k], 0)                                    \
    else if (dc) LSTM_ROW_BACKWARD_LOOP(S, T, 0, dc[k])                                    \
    else LSTM_ROW_BACKWARD_LOOP(S, T, 0, 0)                                                \
  }                                                                                        \
  static void lstm_cell_backward_##S(const T *dh, const T *dc, const T *gates, const T *cp, \
                                     const T *c, T *dgp, T *dcp, int64_t B, int64_t H) {   \
    _Pragma("omp parallel for schedule(static) if (par(4 * B * H))")                       \
    for (int64_t b = 0; b < B; b++) {                                                      \
      const T *gt = gates + b * 4 * H;                                                     \
      T *d = dgp + b * 4 * H;                                                              \
      lstm_row_backward_##S(dh ? dh + b * H : NULL, dc ? dc + b * H : NULL, gt, gt + H,    \
                            gt + 2 * H, gt + 3 * H, cp + b * H, c + b * H, d, d + H,       \
                            d + 2 * H, d + 3 * H, dcp + b * H, H);                         \
    }                                                                                      \
  }                                                                                        \
  /* one row: gi, gh [r z n] (3 x H each), hp (H) -> h (H), ws [r z n gh_n] */             \
  static inline void gru_row_forward_##S(                                                  \
      const T *restrict ir, const T *restrict iz, const T *restrict in,                    \
      const T *restrict hr, const T *restrict hz, const T *restrict hn,                    \
      const T *restrict hp, T *restrict h, T *restrict wr, T *restrict wz,                 \
      T *restrict wn, T *restrict whn, int64_t H) {                                        \
    for (int64_t k = 0; k < H; k++) {                                                      \
      T r = sigm_##S(ir[k] + hr[k]), z = sigm_##S(iz[k] + hz[k]);                          \
      T n = tanh_##S(in[k] + r * hn[k]);                                                   \
      h[k] = (1 - z) * n + z * hp[k];                                                      \
      wr[k] = r; wz[k] = z; wn[k] = n; whn[k] = hn[k];                                     \
    }                                                                                      \
  }                                                                                        \
  /* gi, gh (B,3H) [r z n], hp (B,H) -> h (B,H), ws (B,4H) = [r z n gh_n] */               \
  static void gru_cell_forward_##S(const T *gi, const T *gh, const T *hp, T *h, T *ws,     \
                                   int64_t B, int64_t H) {                                 \
    _Pragma("omp parallel for schedule(static) if (par(4 * B * H))")                       \
    for (int64_t b = 0; b < B; b++) {                                                      \
      const T *xi = gi + b * 3 * H, *xh = gh + b * 3 * H;                                  \
      T *w = ws + b * 4 * H;                                                               \
      gru_row_forward_##S(xi, xi + H, xi + 2 * H, xh, xh + H, xh + 2 * H, hp + b * H,      \
                          h + b * H, w, w + H, w + 2 * H, w + 3 * H, H);                   \
    }                                                                                      \
  }                                                                                        \
  /* one row: dh (H), ws [r z n gh_n], hp (H) -> dgi, dgh [r z n], dhp (direct path):      \
     dn = dh (1 - z); dz = dh (h_prev - n); dn_pre = dn (1 - n^2) feeds gi_n, and          \
     gh_n through r; dr = dn_pre gh_n; r and z through sigmoid' */                         \
  static inline void gru_row_backward_##S(                                                 \
      const T *restrict dh, const T *restrict wr, const T *restrict wz,                    \
      const T *restrict wn, const T *restrict whn, const T *restrict hp,                   \
      T *restrict dir, T *restrict diz, T *restrict din, T *restrict dhr,                  \
      T *restrict dhz, T *restrict dhn, T *restrict dhp, int64_t H) {                      \
    for (int64_t k = 0; k < H; k++) {                                                      \
      T r = wr[k], z = wz[k], n = wn[k], g = dh[k];                                        \
      T dn = g * (1 - z) * (1 - n * n);                                                    \
      T dz = g * (hp[k] - n) * z * (1 - z);                                                \
      T dr = dn * whn[k] * r * (1 - r);                                                    \
      dir[k] = dr; diz[k] = dz; din[k] = dn;                                               \
      dhr[k] = dr; dhz[k] = dz; dhn[k] = dn * r;                                           \
      dhp[k] = g * z;                                                                      \
    }                                                                                      \
  }                                                                                        \
  static void gru_cell_backward_##S(const T *dh, const T *ws, const T *hp, T *dgi, T *dgh, \
                                    T *dhp, int64_t B, int64_t H) {                        \
    _Pragma("omp parallel for schedule(static) if (par(4 * B * H))")                       \
    for (int64_t b = 0; b < B; b++) {                                                      \
      const T *w = ws + b * 4 * H;                                                         \
      T *di = dgi + b * 3 * H, *dg = dgh + b * 3 * H;                                      \
      gru_row_backward_##S(dh + b * H, w, w + H, w + 2 * H, w + 3 * H, hp + b * H, di,     \
                           di + H, di + 2 * H, dg, dg + H, dg + 2 * H, dhp + b * H, H);    \
    }                                                                                      \
  }
RNN_KERNELS(f32, float)
RNN_KERNELS(f64, double)

/* t is a 2-d float tensor of ref's dtype with rows B and `mult` * H columns */
static int check_rows(const lt_tensor *t, const char *what, const lt_tensor *ref,
                      const char *refname, int64_t B, int64_t cols) {
  if (check_like(t, what, ref, refname) < 0) return -1;
  return check_shape(t, what, 2, (int64_t[]){B, cols});
}

/* gates_pre-like first operand: (B, mult*H); sets B and H */
static int check_gates(const lt_tensor *t, const char *what, int mult, int64_t *B, int64_t *H) {
  char a[128];
  *B = *H = 0; /* defined on failure too */
  if (check_float(t, what) < 0) return -1;
  if (t->ndim != 2 || t->shape[1] % mult != 0)
    return lt_seterr("%s has shape %s, expected (batch, %d*hidden)", what, SHAPE(t, a), mult);
  *B = t->shape[0];
  *H = t->shape[1] / mult;
  return 0;
}

/* release the outputs of a failed call and clear the caller's pointers */
static int fail_outputs(lt_tensor **outs, lt_tensor ***dst, int n) {
  for (int k = 0; k < n; k++) {
    lt_release(outs[k]);
    if (dst[k]) *dst[k] = NULL;
  }
  return -1;
}

/* hand outputs to the caller (or drop those not asked for) */
static int give_outputs(lt_tensor **outs, lt_tensor ***dst, int n) {
  for (int k = 0; k < n; k++) {
    if (dst[k]) *dst[k] = outs[k];
    else lt_release(outs[k]);
  }
  return 0;
}

/* an output of the _into forms: contiguous, writable, of ref's dtype and (B, cols) */
static int check_out_rows(const lt_tensor *t, const char *what, const lt_tensor *ref, const char *refname,
                          int64_t B, int64_t cols) {
  if (check_rows(t, what, ref, refname, B, cols) < 0) return -1;
  if (!lt_is_contiguous(t)) return lt_seterr("%s must be contiguous", what);
  return lt_check_writable(t);
}

int lt_lstm_cell_forward_into(lt_tensor *gates_pre, lt_tensor *c_prev, lt_tensor *h, lt_tensor *c,
                              lt_tensor *gates) {
  int64_t B, H;
  if (check_gates(gates_pre, "gates_pre", 4, &B, &H) < 0 ||
      check_rows(c_prev, "c_prev", gates_pre, "gates_pre", B, H) < 0 ||
      check_out_rows(h, "h", gates_pre, "gates_pre", B, H) < 0 ||
      check_out_rows(c, "c", gates_pre, "gates_pre", B, H) < 0 ||
      check_out_rows(gates, "gates", gates_pre, "gates_pre", B, 4 * H) < 0)
    return -1;
  holder hd = {.n = 0};
  lt_tensor *gp, *cp;
  if (hold_contig(&hd, gates_pre, &gp) < 0 || hold_contig(&hd, c_prev, &cp) < 0) {
    hold_release(&hd);
    return -1;
  }
  if (gates_pre->dtype == LT_FLOAT32)
    lstm_cell_forward_f32(lt_data(gp), lt_data(cp), lt_data(gates), lt_data(c), lt_data(h), B, H);
  else
    lstm_cell_forward_f64(lt_data(gp), lt_data(cp), lt_data(gates), lt_data(c), lt_data(h), B, H);
  hold_release(&hd);
  return 0;
}

int lt_lstm_cell_forward(lt_tensor *gates_pre, lt_tensor *c_prev, lt_tensor **h, lt_tensor **c,
                         lt_tensor **gates) {
  lt_tensor **dst[3] = {h, c, gates}, *outs[3] = {NULL, NULL, NULL};
  int64_t B, H;
  if (check_gates(gates_pre, "gates_pre", 4, &B, &H) < 0) return fail_outputs(outs, dst, 3);
  lt_dtype dt = gates_pre->dtype;
  if (!(outs[0] = lt_empty(dt, 2, (int64_t[]){B, H})) || !(outs[1] = lt_empty(dt, 2, (int64_t[]){B, H})) ||
      !(outs[2] = lt_empty(dt, 2, (int64_t[]){B, 4 * H})) ||
      lt_lstm_cell_forward_into(gates_pre, c_prev, outs[0], outs[1], outs[2]) < 0)
    return fail_outputs(outs, dst, 3);
  return give_outputs(outs, dst, 3);
}

int lt_lstm_cell_backward_into(lt_tensor *grad_h, lt_tensor *grad_c, lt_tensor *gates, lt_tensor *c_prev,
                               lt_tensor *c, lt_tensor *grad_gates_pre, lt_tensor *grad_c_prev) {
  int64_t B, H;
  if (check_gates(gates, "gates", 4, &B, &H) < 0 ||
      check_rows(c_prev, "c_prev", gates, "gates", B, H) < 0 ||
      check_rows(c, "c", gates, "gates", B, H) < 0 ||
      (grad_h && check_rows(grad_h, "grad_h", gates, "gates", B, H) < 0) ||
      (grad_c && check_rows(grad_c, "grad_c", gates, "gates", B, H) < 0) ||
      check_out_rows(grad_gates_pre, "grad_gates_pre", gates, "gates", B, 4 * H) < 0 ||
      check_out_rows(grad_c_prev, "grad_c_prev", gates, "gates", B, H) < 0)
    return -1;
  holder hd = {.n = 0};
  lt_tensor *gt, *cp, *cc, *dh, *dc;
  if (hold_contig(&hd, gates, &gt) < 0 || hold_contig(&hd, c_prev, &cp) < 0 ||
      hold_contig(&hd, c, &cc) < 0 || hold_contig(&hd, grad_h, &dh) < 0 ||
      hold_contig(&hd, grad_c, &dc) < 0) {
    hold_release(&hd);
    return -1;
  }
  if (gates->dtype == LT_FLOAT32)
    lstm_cell_backward_f32(dh ? lt_data(dh) : NULL, dc ? lt_data(dc) : NULL, lt_data(gt), lt_data(cp),
                           lt_data(cc), lt_data(grad_gates_pre), lt_data(grad_c_prev), B, H);
  else
    lstm_cell_backward_f64(dh ? lt_data(dh) : NULL, dc ? lt_data(dc) : NULL, lt_data(gt), lt_data(cp),
                           lt_data(cc), lt_data(grad_gates_pre), lt_data(grad_c_prev), B, H);
  hold_release(&hd);
  return 0;
}

int lt_lstm_cell_backward(lt_tensor *grad_h, lt_tensor *grad_c, lt_tensor *gates,
                          lt_tensor *c_prev, lt_tensor *c, lt_tensor **grad_gates_pre,
                          lt_tensor **grad_c_prev) {
  lt_tensor **dst[2] = {grad_gates_pre, grad_c_prev}, *outs[2] = {NULL, NULL};
  int64_t B, H;
  if (check_gates(gates, "gates", 4, &B, &H) < 0) return fail_outputs(outs, dst, 2);
  lt_dtype dt = gates->dtype;
  if (!(outs[0] = lt_empty(dt, 2, (int64_t[]){B, 4 * H})) || !(outs[1] = lt_empty(dt, 2, (int64_t[]){B, H})) ||
      lt_lstm_cell_backward_into(grad_h, grad_c, gates, c_prev, c, outs[0], outs[1]) < 0)
    return fail_outputs(outs, dst, 2);
  return give_outputs(outs, dst, 2);
}

int lt_gru_cell_forward_into(lt_tensor *gi, lt_tensor *gh, lt_tensor *h_prev, lt_tensor *h, lt_tensor *ws) {
  int64_t B, H;
  if (check_gates(gi, "gi", 3, &B, &H) < 0 || check_rows(gh, "gh", gi, "gi", B, 3 * H) < 0 ||
      check_rows(h_prev, "h_prev", gi, "gi", B, H) < 0 || check_out_rows(h, "h", gi, "gi", B, H) < 0 ||
      check_out_rows(ws, "ws", gi, "gi", B, 4 * H) < 0)
    return -1;
  holder hd = {.n = 0};
  lt_tensor *xi, *xh, *hp;
  if (hold_contig(&hd, gi, &xi) < 0 || hold_contig(&hd, gh, &xh) < 0 || hold_contig(&hd, h_prev, &hp) < 0) {
    hold_release(&hd);
    return -1;
  }
  if (gi->dtype == LT_FLOAT32)
    gru_cell_forward_f32(lt_data(xi), lt_data(xh), lt_data(hp), lt_data(h), lt_data(ws), B, H);
  else
    gru_cell_forward_f64(lt_data(xi), lt_data(xh), lt_data(hp), lt_data(h), lt_data(ws), B, H);
  hold_release(&hd);
  return 0;
}

int lt_gru_cell_forward(lt_tensor *gi, lt_tensor *gh, lt_tensor *h_prev, lt_tensor **h,
                        lt_tensor **ws) {
  lt_tensor **dst[2] = {h, ws}, *outs[2] = {NULL, NULL};
  int64_t B, H;
  if (check_gates(gi, "gi", 3, &B, &H) < 0) return fail_outputs(outs, dst, 2);
  lt_dtype dt = gi->dtype;
  if (!(outs[0] = lt_empty(dt, 2, (int64_t[]){B, H})) || !(outs[1] = lt_empty(dt, 2, (int64_t[]){B, 4 * H})) ||
      lt_gru_cell_forward_into(gi, gh, h_prev, outs[0], outs[1]) < 0)
    return fail_outputs(outs, dst, 2);
  return give_outputs(outs, dst, 2);
}

int lt_gru_cell_backward_into(lt_tensor *grad_h, lt_tensor *ws, lt_tensor *h_prev, lt_tensor *grad_gi,
                              lt_tensor *grad_gh, lt_tensor *grad_h_prev) {
  int64_t B, H;
  if (check_gates(ws, "ws", 4, &B, &H) < 0 || check_rows(grad_h, "grad_h", ws, "ws", B, H) < 0 ||
      check_rows(h_prev, "h_prev", ws, "ws", B, H) < 0 ||
      check_out_rows(grad_gi, "grad_gi", ws, "ws", B, 3 * H) < 0 ||
      check_out_rows(grad_gh, "grad_gh", ws, "ws", B, 3 * H) < 0 ||
      check_out_rows(grad_h_prev, "grad_h_prev", ws, "ws", B, H) < 0)
    return -1;
  holder hd = {.n = 0};
  lt_tensor *dh, *w, *hp;
  if (hold_contig(&hd, grad_h, &dh) < 0 || hold_contig(&hd, ws, &w) < 0 || hold_contig(&hd, h_prev, &hp) < 0) {
    hold_release(&hd);
    return -1;
  }
  if (ws->dtype == LT_FLOAT32)
    gru_cell_backward_f32(lt_data(dh), lt_data(w), lt_data(hp), lt_data(grad_gi), lt_data(grad_gh),
                          lt_data(grad_h_prev), B, H);
  else
    gru_cell_backward_f64(lt_data(dh), lt_data(w), lt_data(hp), lt_data(grad_gi), lt_data(grad_gh),
                          lt_data(grad_h_prev), B, H);
  hold_release(&hd);
  return 0;
}

int lt_gru_cell_backward(lt_tensor *grad_h, lt_tensor *ws, lt_tensor *h_prev,
                         lt_tensor **grad_gi, lt_tensor **grad_gh, lt_tensor **grad_h_prev) {
  lt_tensor **dst[3] = {grad_gi, grad_gh, grad_h_prev}, *outs[3] = {NULL, NULL, NULL};
  int64_t B, H;
  if (check_gates(ws, "ws", 4, &B, &H) < 0) return fail_outputs(outs, dst, 3);
  lt_dtype dt = ws->dtype;
  if (!(outs[0] = lt_empty(dt, 2, (int64_t[]){B, 3 * H})) || !(outs[1] = lt_empty(dt, 2, (int64_t[]){B, 3 * H})) ||
      !(outs[2] = lt_empty(dt, 2, (int64_t[]){B, H})) ||
      lt_gru_cell_backward_into(grad_h, ws, h_prev, outs[0], outs[1], outs[2]) < 0)
    return fail_outputs(outs, dst, 3);
  return give_outputs(outs, dst, 3);
}

/* ---- embedding ------------------------------------------------------------------------
 * forward: out[k, :] = weight[idx[k], :] over the n = numel(indices) indices.
 * backward: grad[v, :] = sum of grad_out[k, :] over k with idx[k] = v, in
 * increasing k: a counting sort lists each row's positions in order, then rows
 * are summed independently (in parallel, no atomics, the same bits every run). */
static int check_indices(const int64_t *idx, int64_t n, int64_t V) {
  for (int64_t k = 0; k < n; k++)
    if (idx[k] < 0 || idx[k] >= V)
      return lt_seterr("index %lld (0-based) at position %lld is out of range for an embedding "
                       "of %lld rows (valid: 0 to %lld)", (long long)idx[k], (long long)k,
                       (long long)V, (long long)V - 1);
  return 0;
}

static int check_index_tensor(const lt_tensor *indices) {
  if (!indices) return lt_seterr("indices are required (got NULL)");
  if (indices->dtype != LT_INT64)
    return lt_seterr("indices must be an int64 tensor, got %s", lt_dtype_name(indices->dtype));
  if (indices->ndim + 1 > LT_MAX_DIM)
    return lt_seterr("indices have %d dimensions; at most %d are supported (the result adds one)",
                     indices->ndim, LT_MAX_DIM - 1);
  return 0;
}

lt_tensor *lt_embedding_forward(lt_tensor *weight, lt_tensor *indices) {
  char a[128];
  if (check_float(weight, "weight") < 0 || check_index_tensor(indices) < 0) return NULL;
  if (weight->ndim != 2)
    return lt_seterr("weight must be 2-d (num_embeddings x embedding_dim), got shape %s",
                     SHAPE(weight, a)), NULL;
  holder h = {.n = 0};
  lt_tensor *wc, *ic, *out = NULL;
  int64_t V = weight->shape[0], D = weight->shape[1], n = lt_numel(indices), shape[LT_MAX_DIM];
  if (hold_contig(&h, weight, &wc) < 0 || hold_contig(&h, indices, &ic) < 0) goto done;
  const int64_t *idx = lt_data(ic);
  if (check_indices(idx, n, V) < 0) goto done;
  memcpy(shape, indices->shape, (size_t)indices->ndim * sizeof *shape);
  shape[indices->ndim] = D;
  if (!(out = lt_empty(weight->dtype, indices->ndim + 1, shape))) goto done;
  size_t row = (size_t)D * lt_dtype_size(weight->dtype);
  const char *w = lt_data(wc);
  char *o = lt_data(out);
  if (row > 0) {
#pragma omp parallel for schedule(static) if (par(n * D))
    for (int64_t k = 0; k < n; k++) memcpy(o + (size_t)k * row, w + (size_t)idx[k] * row, row);
  }
done:
  hold_release(&h);
  return out;
}

#define EMB_KERNELS(S, T)                                                                  \
  /* go (n, D), order: positions grouped by row, end[v] = end of row v's run -> g (V, D) */ \
  static void embedding_backward_##S(const T *go, const int64_t *order, const int64_t *end, \
                                     T *g, int64_t V, int64_t D, int64_t padding_idx,       \
                                     int64_t n) {                                          \
    _Pragma("omp parallel for schedule(static) if (par(n * D))")                           \
    for (int64_t v = 0; v < V; v++) {                                                      \
      if (v == padding_idx) continue;                                                      \
      T *gv = g + v * D;                                                                   \
      for (int64_t p = v ? end[v - 1] : 0; p < end[v]; p++) {                              \
        const T *src = go + order[p] * D;                                                  \
        for (int64_t d = 0; d < D; d++) gv[d] += src[d];                                   \
      }                                                                                    \
    }                                                                                      \
  }
EMB_KERNELS(f32, float)
EMB_KERNELS(f64, double)

lt_tensor *lt_embedding_backward(lt_tensor *grad_out, lt_tensor *indices, int64_t num_weights,
                                 int64_t padding_idx) {
  char a[128], b[128];
  if (check_float(grad_out, "grad_out") < 0 || check_index_tensor(indices) < 0) return NULL;
  int nd = indices->ndim;
  if (grad_out->ndim != nd + 1 || memcmp(grad_out->shape, indices->shape, (size_t)nd * sizeof(int64_t)))
    return lt_seterr("grad_out has shape %s, expected the indices' shape %s followed by the "
                     "embedding dim", SHAPE(grad_out, a), SHAPE(indices, b)), NULL;
  if (num_weights < 0) return lt_seterr("num_weights must be >= 0, got %lld", (long long)num_weights), NULL;
  if (padding_idx >= num_weights)
    return lt_seterr("padding_idx %lld (0-based) is out of range for %lld rows",
                     (long long)padding_idx, (long long)num_weights), NULL;
  int64_t V = num_weights, D = grad_out->shape[nd], n = lt_numel(indices);
  holder h = {.n = 0};
  lt_tensor *gc, *ic, *g = NULL;
  int64_t *end = NULL, *order = NULL;
  if (hold_contig(&h, grad_out, &gc) < 0 || hold_contig(&h, indices, &ic) < 0) goto done;
  const int64_t *idx = lt_data(ic);
  if (check_indices(idx, n, V) < 0) goto done;
  if (!(g = lt_zeros(grad_out->dtype, 2, (int64_t[]){V, D}))) goto done;
  end = calloc((size_t)V + 1, sizeof *end);
  order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
  if (!end || !order) {
    lt_seterr("out of memory sorting %lld indices", (long long)n);
    lt_release(g);
    g = NULL;
    goto done;
  }
  /* counting sort: end[v] starts as the start of row v's run and, after the
     positions are placed, is the end of it */
  for (int64_t k = 0; k < n; k++) end[idx[k] + 1]++;
  for (int64_t v = 1; v < V; v++) end[v] += end[v - 1];
  for (int64_t k = 0; k < n; k++) order[end[idx[k]]++] = k;
  if (grad_out->dtype == LT_FLOAT32)
    embedding_backward_f32(lt_data(gc), order, end, lt_data(g), V, D, padding_idx, n);
  else
    embedding_backward_f64(lt_data(gc), order, end, lt_data(g), V, D, padding_idx, n);
done:
  free(end);
  free(order);
  hold_release(&h);
  return g;
}

/* ---- batch norm ------------------------------------------------------------------------
 * x is viewed as (N, C, L); each channel has M = N*L values. With L = 1 a
 * channel is a column, so blocks of CB channels are walked row by row
 * (contiguous, vectorised); with L > 1 each channel is its own block and its
 * L-runs are summed in lanes. Either way a channel sums in a fixed order.
 *   forward:  y = (x - mean) invstd w + b
 *   backward: xhat = (x - mean) invstd; dw = sum dy xhat; db = sum dy;
 *             training: dx = w invstd (dy - db / M - xhat dw / M)
 *             eval:     dx = w invstd dy */
#define BN_CB 256

#define BN_KERNELS(S, T)                                                                   \
  /* per channel: s1 = sum f1, s2 = sum f2 over the M values of the channel, where         \
     stats: f1 = x, then f2 = (x - s1/M)^2 (two passes);                                   \
     grads: f1 = dy, f2 = dy (x - mean[c]) (one pass) */                                   \
  static void bn_sums_##S(const T *x, const T *dy, const double *mean, int64_t N, int64_t C, \
                          int64_t L, double *s1, double *s2) {                             \
    int64_t cb = L == 1 ? BN_CB : 1, nblk = (C + cb - 1) / cb;                             \
    _Pragma("omp parallel for schedule(static) if (par(N * C * L))")                       \
    for (int64_t blk = 0; blk < nblk; blk++) {                                             \
      int64_t c0 = blk * cb, c1 = min64(C, c0 + cb);                                       \
      double a1[BN_CB] = {0}, a2[BN_CB] = {0}, m[BN_CB];                                   \
      if (!dy) { /* statistics: the mean first, then squared deviations */                 \
        for (int64_t n = 0; n < N; n++) {                                                  \
          const T *xr = x + (n * C + c0) * L;                                              \
          if (L == 1) for (int64_t c = 0; c < c1 - c0; c++) a1[c] += xr[c];                \
          else { double s; LANE_SUM(L, l, (double)xr[l], s); a1[0] += s; }                 \
        }                                                                                  \
        for (int64_t c = 0; c < c1 - c0; c++) m[c] = a1[c] / ((double)N * L);              \
        for (int64_t n = 0; n < N; n++) {                                                  \
          const T *xr = x + (n * C + c0) * L;                                              \
          if (L == 1)                                                                      \
            for (int64_t c = 0; c < c1 - c0; c++) { double d = xr[c] - m[c]; a2[c] += d * d; } \
          else { double s; LANE_SUM(L, l, ((double)xr[l] - m[0]) * ((double)xr[l] - m[0]), s); a2[0] += s; } \
        }                                                                                  \
      } else {                                                                             \
        for (int64_t c = 0; c < c1 - c0; c++) m[c] = mean[c0 + c];                         \
        for (int64_t n = 0; n < N; n++) {                                                  \
          const T *xr = x + (n * C + c0) * L, *gr = dy + (n * C + c0) * L;                 \
          if (L == 1)                                                                      \
            for (int64_t c = 0; c < c1 - c0; c++) { a1[c] += gr[c]; a2[c] += gr[c] * (xr[c] - m[c]); } \
          else {                                                                           \
            double s, t;                                                                   \
            LANE_SUM(L, l, (double)gr[l], s);                                              \
            LANE_SUM(L, l, (double)gr[l] * ((double)xr[l] - m[0]), t);                     \
            a1[0] += s; a2[0] += t;                                                        \
          }                                                                                \
        }                                                                                  \
      }                                                                                    \
      for (int64_t c = 0; c < c1 - c0; c++) { s1[c0 + c] = a1[c]; s2[c0 + c] = a2[c]; }    \
    }                                                                                      \
  }                                                                                        \
  /* out = p (x - m) + q dy + r per channel (q, dy may be NULL): the                        \
     forward's affine map and the backward's dx both have this form */                      \
  static void bn_apply_##S(const T *x, const T *dy, const double *m, const double *p,      \
                           const double *q, const double *r, T *out, int64_t N, int64_t C, \
                           int64_t L) {                                                    \
    _Pragma("omp parallel for schedule(static) if (par(N * C * L))")                       \
    for (int64_t nc = 0; nc < N * C; nc++) {                                               \
      int64_t c = nc % C;                                                                  \
      const T *xr = x + nc * L, *gr = dy ? dy + nc * L : NULL;                             \
      T *o = out + nc * L, mc = (T)m[c], pc = (T)p[c], qc = (T)(q ? q[c] : 0), rc = (T)r[c]; \
      if (gr) for (int64_t l = 0; l < L; l++) o[l] = pc * (xr[l] - mc) + qc * gr[l] + rc;  \
      else for (int64_t l = 0; l < L; l++) o[l] = pc * (xr[l] - mc) + rc;                  \
    }                                                                                      \
  }
BN_KERNELS(f32, float)
BN_KERNELS(f64, double)

/* a tensor of dtype dt and shape (n) from doubles */
static lt_tensor *from_doubles(lt_dtype dt, const double *v, int64_t n) {
  lt_tensor *t = lt_empty(dt, 1, &n);
  for (int64_t k = 0; t && k < n; k++) {
    if (dt == LT_FLOAT32) ((float *)lt_data(t))[k] = (float)v[k];
    else ((double *)lt_data(t))[k] = v[k];
  }
  return t;
}

/* a (C) vector of doubles from an optional (C) tensor, or `dflt` */
static int read_vector(holder *h, lt_tensor *t, int64_t C, double dflt, double *out) {
  lt_tensor *tc;
  if (hold_contig(h, t, &tc) < 0) return -1;
  for (int64_t c = 0; c < C; c++) out[c] = tc ? elem(lt_data(tc), tc->dtype, c) : dflt;
  return 0;
}

/* x (N, C, ...) as N, C, L */
static int bn_geom(const lt_tensor *x, const char *what, int64_t *N, int64_t *C, int64_t *L) {
  char a[128];
  *N = *C = *L = 0; /* defined on failure too */
  if (check_float(x, what) < 0) return -1;
  if (x->ndim < 2)
    return lt_seterr("%s must be (N, C) or (N, C, ...), got shape %s", what, SHAPE(x, a));
  *N = x->shape[0];
  *C = x->shape[1];
  *L = 1;
  for (int d = 2; d < x->ndim; d++) *L *= x->shape[d];
  return 0;
}

/* an optional per-channel tensor: NULL, or (C) of x's dtype */
static int check_channel(const lt_tensor *t, const char *what, const lt_tensor *x, int64_t C) {
  char a[128], b[128];
  if (!t) return 0;
  if (check_like(t, what, x, "input") < 0) return -1;
  if (t->ndim != 1 || t->shape[0] != C)
    return lt_seterr("%s has shape %s, expected %lld (one per channel of input of shape %s)",
                     what, SHAPE(t, a), (long long)C, SHAPE(x, b));
  return 0;
}

/* dst[c] = v[c] in place (any layout; bumps dst's version) */
static int write_back(lt_tensor *dst, const double *v, int64_t C) {
  lt_tensor *t = from_doubles(dst->dtype, v, C);
  int rc = t ? lt_copy_(dst, t) : -1;
  lt_release(t);
  return rc;
}

int lt_batch_norm_forward(lt_tensor *x, lt_tensor *weight, lt_tensor *bias,
                          lt_tensor *running_mean, lt_tensor *running_var, int training,
                          double momentum, double eps, lt_tensor **y, lt_tensor **save_mean,
                          lt_tensor **save_invstd) {
  char a[128];
  lt_tensor **dst[3] = {y, save_mean, save_invstd}, *outs[3] = {NULL, NULL, NULL};
  int64_t N, C, L;
  if (bn_geom(x, "input", &N, &C, &L) < 0 || check_channel(weight, "weight", x, C) < 0 ||
      check_channel(bias, "bias", x, C) < 0 || check_channel(running_mean, "running_mean", x, C) < 0 ||
      check_channel(running_var, "running_var", x, C) < 0)
    return fail_outputs(outs, dst, 3);
  if (!running_mean != !running_var) {
    lt_seterr("running_mean and running_var must be given together");
    return fail_outputs(outs, dst, 3);
  }
  if (!training && !running_mean) {
    lt_seterr("eval mode needs running_mean and running_var");
    return fail_outputs(outs, dst, 3);
  }
  if (training && N * L <= 1) {
    lt_seterr("expected more than 1 value per channel when training, got input of shape %s",
              SHAPE(x, a));
    return fail_outputs(outs, dst, 3);
  }
  if (!(eps >= 0)) { lt_seterr("eps must be >= 0, got %g", eps); return fail_outputs(outs, dst, 3); }
  if (training && running_mean &&
      (lt_check_writable(running_mean) < 0 || lt_check_writable(running_var) < 0))
    return fail_outputs(outs, dst, 3);
  holder h = {.n = 0};
  lt_tensor *xc;
  double *buf = malloc((size_t)(C > 0 ? C : 1) * 7 * sizeof(double));
  if (!buf) { lt_seterr("out of memory"); return fail_outputs(outs, dst, 3); }
  double *mean = buf, *var = buf + C, *invstd = buf + 2 * C, *w = buf + 3 * C, *b = buf + 4 * C,
         *p = buf + 5 * C, *r = buf + 6 * C;
  if (hold_contig(&h, x, &xc) < 0 || read_vector(&h, weight, C, 1, w) < 0 ||
      read_vector(&h, bias, C, 0, b) < 0)
    goto fail;
  if (training) {
    if (x->dtype == LT_FLOAT32) bn_sums_f32(lt_data(xc), NULL, NULL, N, C, L, mean, var);
    else bn_sums_f64(lt_data(xc), NULL, NULL, N, C, L, mean, var);
    double M = (double)N * L;
    for (int64_t c = 0; c < C; c++) { mean[c] /= M; var[c] /= M; }
  } else if (read_vector(&h, running_mean, C, 0, mean) < 0 || read_vector(&h, running_var, C, 1, var) < 0) {
    goto fail;
  }
  for (int64_t c = 0; c < C; c++) {
    invstd[c] = 1 / sqrt(var[c] + eps);
    p[c] = invstd[c] * w[c];
  }
  if (!(outs[0] = lt_empty(x->dtype, x->ndim, x->shape)) ||
      !(outs[1] = from_doubles(x->dtype, mean, C)) || !(outs[2] = from_doubles(x->dtype, invstd, C)))
    goto fail;
  if (x->dtype == LT_FLOAT32) bn_apply_f32(lt_data(xc), NULL, mean, p, NULL, b, lt_data(outs[0]), N, C, L);
  else bn_apply_f64(lt_data(xc), NULL, mean, p, NULL, b, lt_data(outs[0]), N, C, L);
  if (training && running_mean) {
    /* PyTorch's update: the unbiased variance goes into running_var */
    double M = (double)N * L, *rm = p, *rv = r; /* p and r are free again */
    if (read_vector(&h, running_mean, C, 0, rm) < 0 || read_vector(&h, running_var, C, 1, rv) < 0)
      goto fail;
    for (int64_t c = 0; c < C; c++) {
      rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (1 - momentum) * rv[c] + momentum * var[c] * M / (M - 1);
    }
    if (write_back(running_mean, rm, C) < 0 || write_back(running_var, rv, C) < 0) goto fail;
  }
  free(buf);
  hold_release(&h);
  return give_outputs(outs, dst, 3);
fail:
  free(buf);
  hold_release(&h);
  return fail_outputs(outs, dst, 3);
}

int lt_batch_norm_backward(lt_tensor *grad_y, lt_tensor *x, lt_tensor *weight,
                           lt_tensor *save_mean, lt_tensor *save_invstd, int training,
                           lt_tensor **grad_x, lt_tensor **grad_weight, lt_tensor **grad_bias) {
  lt_tensor **dst[3] = {grad_x, grad_weight, grad_bias}, *outs[3] = {NULL, NULL, NULL};
  int64_t N, C, L;
  if (bn_geom(x, "input", &N, &C, &L) < 0 || check_like(grad_y, "grad_y", x, "input") < 0 ||
      check_shape(grad_y, "grad_y", x->ndim, x->shape) < 0 ||
      check_channel(weight, "weight", x, C) < 0 || check_float(save_mean, "save_mean") < 0 ||
      check_channel(save_mean, "save_mean", x, C) < 0 ||
      check_float(save_invstd, "save_invstd") < 0 ||
      check_channel(save_invstd, "save_invstd", x, C) < 0)
    return fail_outputs(outs, dst, 3);
  holder h = {.n = 0};
  lt_tensor *xc, *gc;
  double *buf = malloc((size_t)(C > 0 ? C : 1) * 8 * sizeof(double));
  if (!buf) { lt_seterr("out of memory"); return fail_outputs(outs, dst, 3); }
  double *mean = buf, *invstd = buf + C, *w = buf + 2 * C, *sdy = buf + 3 * C, *sdyx = buf + 4 * C,
         *p = buf + 5 * C, *q = buf + 6 * C, *r = buf + 7 * C;
  if (hold_contig(&h, x, &xc) < 0 || hold_contig(&h, grad_y, &gc) < 0 ||
      read_vector(&h, weight, C, 1, w) < 0 || read_vector(&h, save_mean, C, 0, mean) < 0 ||
      read_vector(&h, save_invstd, C, 1, invstd) < 0)
    goto fail;
  if (x->dtype == LT_FLOAT32) bn_sums_f32(lt_data(xc), lt_data(gc), mean, N, C, L, sdy, sdyx);
  else bn_sums_f64(lt_data(xc), lt_data(gc), mean, N, C, L, sdy, sdyx);
  /* dx = q dy + p (x - mean) + r with q = w invstd and, in training,
     p = -q invstd^2 sum(dy (x - mean)) / M, r = -q sum(dy) / M */
  double M = (double)N * L;
  for (int64_t c = 0; c < C; c++) {
    q[c] = w[c] * invstd[c];
    p[c] = training ? -q[c] * invstd[c] * invstd[c] * sdyx[c] / M : 0;
    r[c] = training ? -q[c] * sdy[c] / M : 0;
    sdyx[c] *= invstd[c]; /* = sum dy xhat = grad_weight */
  }
  if (!(outs[0] = lt_empty(x->dtype, x->ndim, x->shape)) ||
      !(outs[1] = from_doubles(x->dtype, sdyx, C)) || !(outs[2] = from_doubles(x->dtype, sdy, C)))
    goto fail;
  if (x->dtype == LT_FLOAT32) bn_apply_f32(lt_data(xc), lt_data(gc), mean, p, q, r, lt_data(outs[0]), N, C, L);
  else bn_apply_f64(lt_data(xc), lt_data(gc), mean, p, q, r, lt_data(outs[0]), N, C, L);
  free(buf);
  hold_release(&h);
  return give_outputs(outs, dst, 3);
fail:
  free(buf);
  hold_release(&h);
  return fail_outputs(outs, dst, 3);
}

/* ---- layer norm ------------------------------------------------------------------------
 * x is viewed as (M, n): rows normalised independently (in parallel).
 *   forward:  xhat = (x - mean) rstd; y = xhat w + b
 *   backward: g = dy w; dx = rstd (g - mean(g) - xhat mean(g xhat));
 *             dw = sum over rows of dy xhat, db = sum of dy: column sums, in
 *             blocks of columns, each walking the rows in order. */
#define LN_CB 256

#define LN_KERNELS(S, T)                                                                   \
  static void layer_norm_forward_##S(const T *x, const T *w, const T *b, T *y, T *mean,    \
                                     T *rstd, int64_t M, int64_t n, double eps) {          \
    _Pragma("omp parallel for schedule(static) if (par(M * n))")                           \
    for (int64_t i = 0; i < M; i++) {                                                      \
      const T *xr = x + i * n;                                                             \
      T *yr = y + i * n;                                                                   \
      double s, v;                                                                         \
      LANE_SUM(n, k, (double)xr[k], s);                                                    \
      double m = s / (double)n;                                                            \
      LANE_SUM(n, k, ((double)xr[k] - m) * ((double)xr[k] - m), v);                        \
      double rs = 1 / sqrt(v / (double)n + eps);                                           \
      mean[i] = (T)m;                                                                      \
      rstd[i] = (T)rs;                                                                     \
      T mt = (T)m, rt = (T)rs;                                                             \
      if (w && b) for (int64_t k = 0; k < n; k++) yr[k] = (xr[k] - mt) * rt * w[k] + b[k]; \
      else if (w) for (int64_t k = 0; k < n; k++) yr[k] = (xr[k] - mt) * rt * w[k];        \
      else if (b) for (int64_t k = 0; k < n; k++) yr[k] = (xr[k] - mt) * rt + b[k];        \
      else for (int64_t k = 0; k < n; k++) yr[k] = (xr[k] - mt) * rt;                      \
    }                                                                                      \
  }                                                                                        \
  static void layer_norm_backward_##S(const T *dy, const T *x, const T *w, const T *mean,  \
                                      const T *rstd, T *dx, T *dw, T *db, int64_t M,       \
                                      int64_t n) {                                         \
    if (dx) {                                                                              \
      _Pragma("omp parallel for schedule(static) if (par(M * n))")                         \
      for (int64_t i = 0; i < M; i++) {                                                    \
        const T *gr = dy + i * n, *xr = x + i * n;                                         \
        T *o = dx + i * n;                                                                 \
        double m = mean[i], rs = rstd[i], sg, sgx;                                         \
        if (w) {                                                                           \
          LANE_SUM(n, k, (double)gr[k] * w[k], sg);                                        \
          LANE_SUM(n, k, (double)gr[k] * w[k] * ((double)xr[k] - m), sgx);                 \
        } else {                                                                           \
          LANE_SUM(n, k, (double)gr[k], sg);                                               \
          LANE_SUM(n, k, (double)gr[k] * ((double)xr[k] - m), sgx);                        \
        }                                                                                  \
        /* dx = rstd g - rstd mean(g) - (x - mean) rstd^3 mean(g (x - mean)) */           \
        T a = (T)rs, c = (T)(-rs * sg / (double)n), p = (T)(-rs * rs * rs * sgx / (double)n); \
        T mt = (T)m;                                                                       \
        if (w) for (int64_t k = 0; k < n; k++) o[k] = a * gr[k] * w[k] + p * (xr[k] - mt) + c; \
        else for (int64_t k = 0; k < n; k++) o[k] = a * gr[k] + p * (xr[k] - mt) + c;      \
      }                                                                                    \
    }                                                                                      \
    if (!dw && !db) return;                                                                \
    int64_t nblk = (n + LN_CB - 1) / LN_CB;                                                \
    _Pragma("omp parallel for schedule(static) if (par(M * n))")                           \
    for (int64_t blk = 0; blk < nblk; blk++) {                                             \
      int64_t k0 = blk * LN_CB, k1 = min64(n, k0 + LN_CB);                                 \
      double aw[LN_CB] = {0}, ab[LN_CB] = {0};                                             \
      for (int64_t i = 0; i < M; i++) {                                                    \
        const T *gr = dy + i * n + k0, *xr = x + i * n + k0;                               \
        double m = mean[i], rs = rstd[i];                                                  \
        for (int64_t k = 0; k < k1 - k0; k++) {                                            \
          aw[k] += (double)gr[k] * (((double)xr[k] - m) * rs);                             \
          ab[k] += gr[k];                                                                  \
        }                                                                                  \
      }                                                                                    \
      for (int64_t k = 0; k < k1 - k0; k++) {                                              \
        if (dw) dw[k0 + k] = (T)aw[k];                                                     \
        if (db) db[k0 + k] = (T)ab[k];                                                     \
      }                                                                                    \
    }                                                                                      \
  }
LN_KERNELS(f32, float)
LN_KERNELS(f64, double)

/* x's last k dims: sets M (rows) and n (row length) */
static int ln_geom(const lt_tensor *x, int k, int64_t *M, int64_t *n) {
  char a[128];
  *M = *n = 0; /* defined on failure too */
  if (check_float(x, "input") < 0) return -1;
  if (k < 1 || k > x->ndim)
    return lt_seterr("norm_ndim must be 1 to %d for input of shape %s, got %d", x->ndim,
                     SHAPE(x, a), k);
  *M = 1;
  *n = 1;
  for (int d = 0; d < x->ndim; d++) {
    if (d < x->ndim - k) *M *= x->shape[d];
    else *n *= x->shape[d];
  }
  return 0;
}

/* an optional affine parameter: NULL, or shaped as x's last k dims */
static int check_affine(const lt_tensor *t, const char *what, const lt_tensor *x, int k) {
  char a[128], b[128], c[128];
  if (!t) return 0;
  if (check_like(t, what, x, "input") < 0) return -1;
  if (!has_shape(t, k, x->shape + x->ndim - k))
    return lt_seterr("%s has shape %s, expected %s (the last %d dim%s of input of shape %s)", what,
                     SHAPE(t, a), lt_shape_str(k, x->shape + x->ndim - k, b, sizeof b), k,
                     k == 1 ? "" : "s", SHAPE(x, c));
  return 0;
}

int lt_layer_norm_forward(lt_tensor *x, int norm_ndim, lt_tensor *weight, lt_tensor *bias,
                          double eps, lt_tensor **y, lt_tensor **mean, lt_tensor **rstd) {
  lt_tensor **dst[3] = {y, mean, rstd}, *outs[3] = {NULL, NULL, NULL};
  int64_t M, n;
  if (ln_geom(x, norm_ndim, &M, &n) < 0 || check_affine(weight, "weight", x, norm_ndim) < 0 ||
      check_affine(bias, "bias", x, norm_ndim) < 0)
    return fail_outputs(outs, dst, 3);
  if (!(eps >= 0)) { lt_seterr("eps must be >= 0, got %g", eps); return fail_outputs(outs, dst, 3); }
  holder h = {.n = 0};
  lt_tensor *xc, *wc, *bc;
  if (hold_contig(&h, x, &xc) < 0 || hold_contig(&h, weight, &wc) < 0 ||
      hold_contig(&h, bias, &bc) < 0 || !(outs[0] = lt_empty(x->dtype, x->ndim, x->shape)) ||
      !(outs[1] = lt_empty(x->dtype, 1, &M)) || !(outs[2] = lt_empty(x->dtype, 1, &M))) {
    hold_release(&h);
    return fail_outputs(outs, dst, 3);
  }
  void *w = wc ? lt_data(wc) : NULL, *b = bc ? lt_data(bc) : NULL;
  if (x->dtype == LT_FLOAT32)
    layer_norm_forward_f32(lt_data(xc), w, b, lt_data(outs[0]), lt_data(outs[1]), lt_data(outs[2]), M, n, eps);
  else
    layer_norm_forward_f64(lt_data(xc), w, b, lt_data(outs[0]), lt_data(outs[1]), lt_data(outs[2]), M, n, eps);
  hold_release(&h);
  return give_outputs(outs, dst, 3);
}

int lt_layer_norm_backward(lt_tensor *grad_y, lt_tensor *x, int norm_ndim, lt_tensor *weight,
                           lt_tensor *mean, lt_tensor *rstd, lt_tensor **grad_x,
                           lt_tensor **grad_weight, lt_tensor **grad_bias) {
  lt_tensor **dst[3] = {grad_x, grad_weight, grad_bias}, *outs[3] = {NULL, NULL, NULL};
  int64_t M, n;
  if (ln_geom(x, norm_ndim, &M, &n) < 0 || check_affine(weight, "weight", x, norm_ndim) < 0 ||
      check_like(grad_y, "grad_y", x, "input") < 0 ||
      check_shape(grad_y, "grad_y", x->ndim, x->shape) < 0 ||
      check_like(mean, "mean", x, "input") < 0 || check_shape(mean, "mean", 1, &M) < 0 ||
      check_like(rstd, "rstd", x, "input") < 0 || check_shape(rstd, "rstd", 1, &M) < 0)
    return fail_outputs(outs, dst, 3);
  holder h = {.n = 0};
  lt_tensor *xc = NULL, *gc = NULL, *wc = NULL, *mc = NULL, *rc = NULL;
  const int64_t *ws = x->shape + x->ndim - norm_ndim;
  int fail = hold_contig(&h, x, &xc) < 0 || hold_contig(&h, grad_y, &gc) < 0 ||
             hold_contig(&h, weight, &wc) < 0 || hold_contig(&h, mean, &mc) < 0 ||
             hold_contig(&h, rstd, &rc) < 0;
  if (!fail && grad_x) fail = !(outs[0] = lt_empty(x->dtype, x->ndim, x->shape));
  if (!fail && grad_weight) fail = !(outs[1] = lt_empty(x->dtype, norm_ndim, ws));
  if (!fail && grad_bias) fail = !(outs[2] = lt_empty(x->dtype, norm_ndim, ws));
  if (fail) {
    hold_release(&h);
    return fail_outputs(outs, dst, 3);
  }
  void *w = wc ? lt_data(wc) : NULL;
  void *dx = outs[0] ? lt_data(outs[0]) : NULL, *dw = outs[1] ? lt_data(outs[1]) : NULL,
       *db = outs[2] ? lt_data(outs[2]) : NULL;
  if (x->dtype == LT_FLOAT32)
    layer_norm_backward_f32(lt_data(gc), lt_data(xc), w, lt_data(mc), lt_data(rc), dx, dw, db, M, n);
  else
    layer_norm_backward_f64(lt_data(gc), lt_data(xc), w, lt_data(mc), lt_data(rc), dx, dw, db, M, n);
  hold_release(&h);
  return give_outputs(outs, dst, 3);
}
