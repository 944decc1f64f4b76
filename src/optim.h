/* optim.h -- fused optimizer updates: one pass over memory per parameter.
 *
 * C core only: plain float / double arrays of n elements, no tensors, no Lua.
 * The binding (l_optim.c) checks the tensors and calls these on their data.
 * Each update follows PyTorch 1.13's single-tensor path (foreach=False) of
 * torch.optim, in the same order of operations; in float32 every constant is
 * rounded to float first, as PyTorch does with a Python scalar. g is the
 * gradient (read only); every other array is updated in place.
 *
 * Work is split across OpenMP threads only above LT_PAR_GRAIN elements per
 * thread; the result does not depend on the thread count (elementwise).
 */
#ifndef LUNET_OPTIM_H
#define LUNET_OPTIM_H

#include <stdint.h>

/* SGD:  d = g (+ weight_decay p);  with momentum:
 *   buf = d on the first step (first != 0), else momentum buf + (1 - dampening) d;
 *   d = d + momentum buf (nesterov) or buf;   p -= lr d.
 * buf may be NULL when momentum == 0. maximize negates g. */
typedef struct {
  double lr, momentum, dampening, weight_decay;
  int nesterov, maximize, first;
} lt_sgd_hyper;

/* Adam / AdamW at step `step` (>= 1, counted including this one):
 *   decoupled (AdamW): p *= 1 - lr weight_decay;  else g += weight_decay p
 *   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g g
 *   amsgrad: vmax = max(vmax, v), used instead of v below
 *   p -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
 * vmax may be NULL unless amsgrad. */
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;
  int decoupled, amsgrad, maximize;
} lt_adam_hyper;

/* RMSprop:  g += weight_decay p;  v = alpha v + (1 - alpha) g g
 *   centered (gavg != NULL): gavg = alpha gavg + (1 - alpha) g; a = sqrt(v - gavg^2) + eps
 *   else a = sqrt(v) + eps
 *   momentum (buf != NULL): buf = momentum buf + g / a; p -= lr buf
 *   else p -= lr g / a */
typedef struct {
  double lr, alpha, eps, weight_decay, momentum;
  int maximize;
} lt_rmsprop_hyper;

/* Adagrad at step `step` (>= 1):  clr = lr / (1 + (step - 1) lr_decay)
 *   g += weight_decay p;  sum += g g;  p -= clr g / (sqrt(sum) + eps) */
typedef struct {
  double lr, lr_decay, eps, weight_decay;
  int64_t step;
  int maximize;
} lt_adagrad_hyper;

void lt_sgd_f32(int64_t n, float *p, const float *g, float *buf, const lt_sgd_hyper *h);
void lt_sgd_f64(int64_t n, double *p, const double *g, double *buf, const lt_sgd_hyper *h);
void lt_adam_f32(int64_t n, float *p, const float *g, float *m, float *v, float *vmax,
                 const lt_adam_hyper *h);
void lt_adam_f64(int64_t n, double *p, const double *g, double *m, double *v, double *vmax,
                 const lt_adam_hyper *h);
void lt_rmsprop_f32(int64_t n, float *p, const float *g, float *v, float *gavg, float *buf,
                    const lt_rmsprop_hyper *h);
void lt_rmsprop_f64(int64_t n, double *p, const double *g, double *v, double *gavg, double *buf,
                    const lt_rmsprop_hyper *h);
void lt_adagrad_f32(int64_t n, float *p, const float *g, float *sum, const lt_adagrad_hyper *h);
void lt_adagrad_f64(int64_t n, double *p, const double *g, double *sum, const lt_adagrad_hyper *h);

/* gradient clipping: sum over x of |x|^norm_type (norm_type > 0 and finite),
   or max |x| when norm_type is infinite; in double, in a fixed order of
   blocks, so the value does not depend on the thread count. NaN propagates. */
double lt_pnorm_sum_f32(int64_t n, const float *x, double norm_type);
double lt_pnorm_sum_f64(int64_t n, const double *x, double norm_type);

#endif
