/* test_optim.c -- the fused updates of optim.c without Lua: each against a
 * plain double loop of the same formula, at sizes that take the one-thread
 * path and the threaded path (odd sizes, so the shares do not divide evenly),
 * and the same bits whatever the thread count. */
#include "check.h"
#include "optim.h"
#include "tensor.h"
#include <stdlib.h>
#include <string.h>

/* deterministic values in [-1, 1) */
static double val(int64_t i, int salt) {
  uint64_t x = (uint64_t)i * 2654435761u + (uint64_t)salt * 40503u + 12345u;
  x ^= x >> 13; x *= 0x5bd1e995u; x ^= x >> 15;
  return (double)(x % 20000) / 10000.0 - 1.0;
}

static double *dvec(int64_t n, int salt) {
  double *v = malloc((size_t)n * sizeof *v);
  for (int64_t i = 0; i < n; i++) v[i] = salt ? val(i, salt) : 0;
  return v;
}

static float *fvec(const double *d, int64_t n) {
  float *v = malloc((size_t)n * sizeof *v);
  for (int64_t i = 0; i < n; i++) v[i] = (float)d[i];
  return v;
}

static double max_diff_f(const float *a, const double *b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > m || d != d) m = d;
  }
  return m;
}

/* Adam with amsgrad and L2 decay, 3 steps, float32 against double */
static void test_adam(int64_t n) {
  double *p = dvec(n, 1), *m = dvec(n, 0), *v = dvec(n, 0), *vmax = dvec(n, 0);
  float *pf = fvec(p, n), *mf = fvec(m, n), *vf = fvec(v, n), *vmaxf = fvec(vmax, n);
  for (int step = 1; step <= 3; step++) {
    double *g = dvec(n, 10 + step);
    float *gf = fvec(g, n);
    lt_adam_hyper h = {0.01, 0.9, 0.999, 1e-8, 0.1, step, 0, 1, 0};
    lt_adam_f32(n, pf, gf, mf, vf, vmaxf, &h);
    double bc1 = 1 - pow(0.9, step), bc2 = 1 - pow(0.999, step);
    for (int64_t i = 0; i < n; i++) {
      double gi = (double)gf[i] + 0.1 * p[i];
      m[i] = 0.9 * m[i] + 0.1 * gi;
      v[i] = 0.999 * v[i] + 0.001 * gi * gi;
      vmax[i] = fmax(vmax[i], v[i]);
      p[i] -= 0.01 / bc1 * m[i] / (sqrt(vmax[i]) / sqrt(bc2) + 1e-8);
    }
    free(g);
    free(gf);
  }
  CHECK(max_diff_f(pf, p, n) < 1e-5);
  CHECK(max_diff_f(mf, m, n) < 1e-6);
  free(p); free(m); free(v); free(vmax); free(pf); free(mf); free(vf); free(vmaxf);
}

/* SGD with momentum and Nesterov in float64: the first step copies the gradient */
static void test_sgd(int64_t n) {
  double *p = dvec(n, 2), *buf = dvec(n, 0), *want = dvec(n, 2), *wbuf = dvec(n, 0);
  for (int step = 1; step <= 3; step++) {
    double *g = dvec(n, 20 + step);
    lt_sgd_hyper h = {0.1, 0.9, 0.0, 0.01, 1, 0, step == 1};
    lt_sgd_f64(n, p, g, buf, &h);
    for (int64_t i = 0; i < n; i++) {
      double d = g[i] + 0.01 * want[i];
      wbuf[i] = step == 1 ? d : 0.9 * wbuf[i] + d;
      want[i] -= 0.1 * (d + 0.9 * wbuf[i]);
    }
    free(g);
  }
  double worst = 0;
  for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs(p[i] - want[i]));
  CHECK(worst < 1e-12);
  free(p); free(buf); free(want); free(wbuf);
}

/* RMSprop centered with momentum, and Adagrad with lr_decay, one element by hand */
static void test_by_hand(void) {
  double p = 1, g = 0.5, v = 0, ga = 0, b = 0;
  lt_rmsprop_hyper r = {0.01, 0.9, 1e-8, 0, 0.5, 0};
  lt_rmsprop_f64(1, &p, &g, &v, &ga, &b, &r);
  double want_v = 0.1 * 0.25, want_ga = 0.1 * 0.5;
  CHECK_NEAR(v, want_v, 1e-15);
  CHECK_NEAR(ga, want_ga, 1e-15);
  CHECK_NEAR(p, 1 - 0.01 * 0.5 / (sqrt(want_v - want_ga * want_ga) + 1e-8), 1e-15);

  double q = 2, s = 0.5, gq = -1;
  lt_adagrad_hyper a = {0.1, 0.5, 1e-10, 0, 3, 1}; /* step 3, maximize */
  lt_adagrad_f64(1, &q, &gq, &s, &a);
  CHECK_NEAR(s, 1.5, 1e-15);
  CHECK_NEAR(q, 2 - 0.1 / (1 + 2 * 0.5) * 1 / (sqrt(1.5) + 1e-10), 1e-15); /* maximize: -g */
}

static void test_norms(int64_t n) {
  double *x = dvec(n, 5);
  float *xf = fvec(x, n);
  double s2 = 0, s1 = 0, s3 = 0, mx = 0;
  for (int64_t i = 0; i < n; i++) {
    double a = fabs((double)xf[i]);
    s2 += a * a; s1 += a; s3 += a * a * a; mx = fmax(mx, a);
  }
  CHECK_NEAR(lt_pnorm_sum_f32(n, xf, 2), s2, 1e-12);
  CHECK_NEAR(lt_pnorm_sum_f32(n, xf, 1), s1, 1e-12);
  CHECK_NEAR(lt_pnorm_sum_f32(n, xf, 3), s3, 1e-12);
  CHECK(lt_pnorm_sum_f32(n, xf, INFINITY) == mx);
  x[n / 2] = NAN;
  CHECK(isnan(lt_pnorm_sum_f64(n, x, 2)));
  CHECK(isnan(lt_pnorm_sum_f64(n, x, INFINITY)));
  CHECK(lt_pnorm_sum_f64(0, x, 2) == 0);
  free(x);
  free(xf);
}

/* the threaded path gives the bits of the one-thread path */
static void test_threads_agree(int64_t n) {
  double *p0 = dvec(n, 7), *g = dvec(n, 8);
  float *gf = fvec(g, n);
  float *out[2];
  double norm[2];
  for (int t = 0; t < 2; t++) {
    lt_set_num_threads(t + 1);
    float *p = fvec(p0, n), *m = calloc((size_t)n, sizeof *m), *v = calloc((size_t)n, sizeof *v);
    lt_adam_hyper h = {0.01, 0.9, 0.999, 1e-8, 0.01, 1, 1, 0, 0};
    lt_adam_f32(n, p, gf, m, v, NULL, &h);
    norm[t] = lt_pnorm_sum_f32(n, gf, 2);
    out[t] = p;
    free(m);
    free(v);
  }
  CHECK(memcmp(out[0], out[1], (size_t)n * sizeof(float)) == 0);
  CHECK(norm[0] == norm[1]);
  free(out[0]); free(out[1]); free(p0); free(g); free(gf);
}

int main(void) {
  lt_set_num_threads(2);
  for (int k = 0; k < 3; k++) {
    int64_t n = (int64_t[]){1, 1001, 200003}[k];
    test_adam(n);
    test_sgd(n);
    test_norms(n);
  }
  test_by_hand();
  test_threads_agree(300007);
  return CHECK_REPORT();
}
