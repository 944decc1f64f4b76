/* optim.c -- fused optimizer updates (optim.h).
 *
 * Each update is written once for an element type T inside a macro and
 * stamped out for float (f32) and double (f64). A "chunk" function does the
 * whole update of elements [0, n) in one loop over memory; the public function
 * hands each thread an equal, cache-line aligned share of the elements when
 * there are enough of them. The flags (weight decay, momentum, ...) do not
 * change inside a loop, so GCC unswitches them and vectorises every version.
 *
 * The order of operations is PyTorch 1.13's single-tensor path; the comments
 * give the PyTorch statement each line mirrors.
 */
#include "optim.h"
#include "iter.h"
#include <math.h>

/* threads for n elements: one unless each gets LT_PAR_GRAIN of them */
static int threads_for(int64_t n) {
  int nt = lt_get_num_threads();
  if (nt < 2 || n < 2 * LT_PAR_GRAIN) return 1;
  if ((int64_t)nt > n / LT_PAR_GRAIN) nt = (int)(n / LT_PAR_GRAIN);
  return nt;
}

/* run CHUNK(lo, hi) over [0, n): shares start on multiples of 16 elements
   (64 bytes of float) so no two threads write one cache line */
#define SPLIT(n, CHUNK)                                                        \
  do {                                                                         \
    int nt_ = threads_for(n);                                                  \
    if (nt_ == 1) {                                                            \
      int64_t lo = 0, hi = (n);                                                \
      CHUNK;                                                                   \
    } else {                                                                   \
      _Pragma("omp parallel for schedule(static) num_threads(nt_)")            \
      for (int t_ = 0; t_ < nt_; t_++) {                                       \
        int64_t lo = ((n) * t_ / nt_) & ~(int64_t)15;                          \
        int64_t hi = t_ == nt_ - 1 ? (n) : ((n) * (t_ + 1) / nt_) & ~(int64_t)15; \
        CHUNK;                                                                 \
      }                                                                        \
    }                                                                          \
  } while (0)

#define OFF(ptr) ((ptr) ? (ptr) + lo : NULL)

/* ---- SGD --------------------------------------------------------------------- */

#define DEFINE_SGD(T, SUF)                                                               \
  typedef struct { T lr, mom, damp1, wd, sign; int use_wd, use_mom, nesterov, first; } sgd_k_##SUF; \
                                                                                         \
  static void sgd_chunk_##SUF(int64_t n, T *restrict p, const T *restrict g, T *restrict buf, \
                              const sgd_k_##SUF *k) {                                    \
    for (int64_t i = 0; i < n; i++) {                                                    \
      T d = k->sign * g[i];                                                              \
      if (k->use_wd) d = d + k->wd * p[i];           /* d_p.add(param, alpha=wd) */      \
      if (k->use_mom) {                                                                  \
        T b = k->first ? d : buf[i] * k->mom + k->damp1 * d; /* clone / mul_.add_ */     \
        buf[i] = b;                                                                      \
        d = k->nesterov ? d + k->mom * b : b;          /* d_p.add(buf, alpha=mom) */     \
      }                                                                                  \
      p[i] = p[i] - k->lr * d;                         /* param.add_(d_p, alpha=-lr) */  \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  void lt_sgd_##SUF(int64_t n, T *p, const T *g, T *buf, const lt_sgd_hyper *h) {       \
    sgd_k_##SUF k = {(T)h->lr, (T)h->momentum, (T)(1 - h->dampening), (T)h->weight_decay, \
                     h->maximize ? (T)-1 : (T)1, h->weight_decay != 0,                   \
                     h->momentum != 0 && buf != NULL, h->nesterov != 0, h->first != 0};  \
    SPLIT(n, sgd_chunk_##SUF(hi - lo, p + lo, g + lo, OFF(buf), &k));                    \
  }

DEFINE_SGD(float, f32)
DEFINE_SGD(double, f64)

/* ---- Adam and AdamW -------------------------------------------------------------- */

#define DEFINE_ADAM(T, SUF, SQRT)                                                         \
  typedef struct { T b1, omb1, b2, omb2, eps, wd, decay, bc2_sqrt, neg_step, sign;        \
                   int use_wd, decoupled, amsgrad; } adam_k_##SUF;                         \
                                                                                          \
  static void adam_chunk_##SUF(int64_t n, T *restrict p, const T *restrict g, T *restrict m, \
                               T *restrict v, T *restrict vmax, const adam_k_##SUF *k) {   \
    for (int64_t i = 0; i < n; i++) {                                                     \
      T gi = k->sign * g[i];                                                              \
      if (k->decoupled) p[i] = p[i] * k->decay;        /* param.mul_(1 - lr * wd) */      \
      else if (k->use_wd) gi = gi + k->wd * p[i];      /* grad.add(param, alpha=wd) */    \
      T mi = m[i] * k->b1 + k->omb1 * gi;              /* exp_avg.mul_(b1).add_(g, 1-b1) */ \
      T vi = v[i] * k->b2 + k->omb2 * gi * gi;         /* exp_avg_sq.mul_(b2).addcmul_ */ \
      m[i] = mi;                                                                          \
      v[i] = vi;                                                                          \
      if (k->amsgrad) {                                /* torch.maximum(max_sq, sq) */    \
        T a = vmax[i];                                                                    \
        vi = a > vi ? a : vi;                                                             \
        vmax[i] = vi;                                                                     \
      }                                                                                   \
      T denom = SQRT(vi) / k->bc2_sqrt + k->eps;       /* (sq.sqrt() / bc2_sqrt).add_(eps) */ \
      p[i] = p[i] + k->neg_step * mi / denom;          /* addcdiv_(m, denom, -step_size) */ \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  void lt_adam_##SUF(int64_t n, T *p, const T *g, T *m, T *v, T *vmax, const lt_adam_hyper *h) { \
    double step = (double)h->step;                                                        \
    double bc1 = 1 - pow(h->beta1, step), bc2 = 1 - pow(h->beta2, step);                  \
    adam_k_##SUF k = {(T)h->beta1, (T)(1 - h->beta1), (T)h->beta2, (T)(1 - h->beta2),     \
                      (T)h->eps, (T)h->weight_decay, (T)(1 - h->lr * h->weight_decay),    \
                      (T)sqrt(bc2), (T)(-(h->lr / bc1)), h->maximize ? (T)-1 : (T)1,      \
                      h->weight_decay != 0, h->decoupled != 0, h->amsgrad != 0 && vmax != NULL}; \
    SPLIT(n, adam_chunk_##SUF(hi - lo, p + lo, g + lo, m + lo, v + lo, OFF(vmax), &k));   \
  }

DEFINE_ADAM(float, f32, sqrtf)
DEFINE_ADAM(double, f64, sqrt)

/* ---- RMSprop ------------------------------------------------------------------------ */

#define DEFINE_RMSPROP(T, SUF, SQRT)                                                       \
  typedef struct { T lr, alpha, oma, eps, wd, mom, sign; int use_wd, centered, use_mom; } rms_k_##SUF; \
                                                                                           \
  static void rmsprop_chunk_##SUF(int64_t n, T *restrict p, const T *restrict g, T *restrict v, \
                                  T *restrict gavg, T *restrict buf, const rms_k_##SUF *k) { \
    for (int64_t i = 0; i < n; i++) {                                                      \
      T gi = k->sign * g[i];                                                               \
      if (k->use_wd) gi = gi + k->wd * p[i];           /* grad.add(param, alpha=wd) */     \
      T vi = v[i] * k->alpha + k->oma * gi * gi;       /* sq.mul_(alpha).addcmul_(g, g) */ \
      v[i] = vi;                                                                           \
      T avg;                                                                               \
      if (k->centered) {                                                                   \
        T ga = gavg[i] * k->alpha + k->oma * gi;       /* grad_avg.mul_(alpha).add_ */     \
        gavg[i] = ga;                                                                      \
        avg = SQRT(vi - ga * ga);                      /* sq.addcmul(ga, ga, -1).sqrt_() */ \
      } else {                                                                             \
        avg = SQRT(vi);                                                                    \
      }                                                                                    \
      avg = avg + k->eps;                                                                  \
      if (k->use_mom) {                                                                    \
        T b = buf[i] * k->mom + gi / avg;              /* buf.mul_(mom).addcdiv_(g, avg) */ \
        buf[i] = b;                                                                        \
        p[i] = p[i] - k->lr * b;                       /* param.add_(buf, alpha=-lr) */    \
      } else {                                                                             \
        p[i] = p[i] + -k->lr * gi / avg;               /* param.addcdiv_(g, avg, -lr) */   \
      }                                                                                    \
    }                                                                                      \
  }                                                                                        \
                                                                                           \
  void lt_rmsprop_##SUF(int64_t n, T *p, const T *g, T *v, T *gavg, T *buf,                \
                        const lt_rmsprop_hyper *h) {                                       \
    rms_k_##SUF k = {(T)h->lr, (T)h->alpha, (T)(1 - h->alpha), (T)h->eps, (T)h->weight_decay, \
                     (T)h->momentum, h->maximize ? (T)-1 : (T)1, h->weight_decay != 0,     \
                     gavg != NULL, h->momentum > 0 && buf != NULL};                        \
    SPLIT(n, rmsprop_chunk_##SUF(hi - lo, p + lo, g + lo, v + lo, OFF(gavg), OFF(buf), &k)); \
  }

DEFINE_RMSPROP(float, f32, sqrtf)
DEFINE_RMSPROP(double, f64, sqrt)

/* ---- Adagrad ------------------------------------------------------------------------ */

#define DEFINE_ADAGRAD(T, SUF, SQRT)                                                       \
  typedef struct { T neg_clr, eps, wd, sign; int use_wd; } adagrad_k_##SUF;                \
                                                                                           \
  static void adagrad_chunk_##SUF(int64_t n, T *restrict p, const T *restrict g, T *restrict sum, \
                                  const adagrad_k_##SUF *k) {                              \
    for (int64_t i = 0; i < n; i++) {                                                      \
      T gi = k->sign * g[i];                                                               \
      if (k->use_wd) gi = gi + k->wd * p[i];           /* grad.add(param, alpha=wd) */     \
      T s = sum[i] + gi * gi;                          /* state_sum.addcmul_(g, g, 1) */   \
      sum[i] = s;                                                                          \
      p[i] = p[i] + k->neg_clr * gi / (SQRT(s) + k->eps); /* addcdiv_(g, std, -clr) */     \
    }                                                                                      \
  }                                                                                        \
                                                                                           \
  void lt_adagrad_##SUF(int64_t n, T *p, const T *g, T *sum, const lt_adagrad_hyper *h) {  \
    double clr = h->lr / (1 + (double)(h->step - 1) * h->lr_decay);                       \
    adagrad_k_##SUF k = {(T)-clr, (T)h->eps, (T)h->weight_decay, h->maximize ? (T)-1 : (T)1, \
                         h->weight_decay != 0};                                            \
    SPLIT(n, adagrad_chunk_##SUF(hi - lo, p + lo, g + lo, sum + lo, &k));                  \
  }

DEFINE_ADAGRAD(float, f32, sqrtf)
DEFINE_ADAGRAD(double, f64, sqrt)

/* ---- norms for gradient clipping ------------------------------------------------------ */

/* At most NORM_PARTS blocks, fixed by n alone: each block is summed in double
   over 8 lanes, then the blocks are added in order, whatever the threads. */
#define NORM_PARTS 256
#define NORM_MIN_BLOCK 4096

#define DEFINE_PNORM(T, SUF)                                                                \
  static double pnorm_block_##SUF(int64_t n, const T *restrict x, double q) {               \
    double l[8] = {0};                                                                      \
    int64_t i = 0;                                                                          \
    if (isinf(q)) {                                                                         \
      double mx = 0;                                                                        \
      for (; i < n; i++) {                                                                  \
        double a = fabs((double)x[i]);                                                      \
        mx = (a > mx || a != a) && mx == mx ? a : mx; /* NaN sticks, as torch.max */        \
      }                                                                                     \
      return mx;                                                                            \
    }                                                                                       \
    if (q == 2) {                                                                           \
      for (; i + 8 <= n; i += 8)                                                            \
        for (int j = 0; j < 8; j++) l[j] += (double)x[i + j] * (double)x[i + j];            \
      for (; i < n; i++) l[i & 7] += (double)x[i] * (double)x[i];                           \
    } else if (q == 1) {                                                                    \
      for (; i + 8 <= n; i += 8)                                                            \
        for (int j = 0; j < 8; j++) l[j] += fabs((double)x[i + j]);                         \
      for (; i < n; i++) l[i & 7] += fabs((double)x[i]);                                    \
    } else {                                                                                \
      for (; i < n; i++) l[i & 7] += pow(fabs((double)x[i]), q);                            \
    }                                                                                       \
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));               \
  }                                                                                         \
                                                                                            \
  double lt_pnorm_sum_##SUF(int64_t n, const T *x, double q) {                              \
    if (n <= 0) return 0;                                                                   \
    int64_t block = (n + NORM_PARTS - 1) / NORM_PARTS;                                      \
    if (block < NORM_MIN_BLOCK) block = NORM_MIN_BLOCK;                                     \
    int nb = (int)((n + block - 1) / block);                                                \
    double part[NORM_PARTS];                                                                \
    _Pragma("omp parallel for schedule(static) if (nb > 1 && threads_for(n) > 1)")          \
    for (int b = 0; b < nb; b++) {                                                          \
      int64_t lo = (int64_t)b * block, len = n - lo < block ? n - lo : block;               \
      part[b] = pnorm_block_##SUF(len, x + lo, q);                                          \
    }                                                                                       \
    double r = part[0];                                                                     \
    for (int b = 1; b < nb; b++) {                                                          \
      if (isinf(q)) r = (part[b] > r || part[b] != part[b]) && r == r ? part[b] : r;        \
      else r += part[b];                                                                    \
    }                                                                                       \
    return r;                                                                               \
  }

DEFINE_PNORM(float, f32)
DEFINE_PNORM(double, f64)
