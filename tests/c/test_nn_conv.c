/* test_nn_conv.c -- convolution and pooling kernels (src/nn_conv.c).
 *
 * Every forward is compared with a direct loop written here from the
 * definition (float64), over a table of configurations; every backward with
 * central finite differences of the forward under test (float64, eps 1e-6).
 * The same cases run with the batch cut into GEMM chunks of 1 and 2 samples
 * and automatically, with non-contiguous views as inputs, in float32 against
 * float64, and with 1 and 2 threads; bad arguments must fail with the message. */
#include "check.h"
#include "tensor_check.h"
#include "nn_conv.h"
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------------------- */








static int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* ---- direct references (float64, contiguous) ----------------------------------------------- */

static lt_tensor *conv2d_ref(lt_tensor *x, lt_tensor *w, lt_tensor *b, const int64_t *s, const int64_t *p,
                             const int64_t *d, int64_t groups) {
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t O = w->shape[0], Cg = w->shape[1], kH = w->shape[2], kW = w->shape[3], Og = O / groups;
  int64_t OH = conv_out(H, kH, s[0], p[0], d[0]), OW = conv_out(W, kW, s[1], p[1], d[1]);
  lt_tensor *y = lt_zeros(LT_FLOAT64, 4, (int64_t[]){N, O, OH, OW});
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < O; o++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double acc = b ? D(b)[o] : 0;
          for (int64_t c = 0; c < Cg; c++)
            for (int64_t kh = 0; kh < kH; kh++)
              for (int64_t kw = 0; kw < kW; kw++) {
                int64_t ih = oh * s[0] - p[0] + kh * d[0], iw = ow * s[1] - p[1] + kw * d[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += D(x)[((n * C + (o / Og) * Cg + c) * H + ih) * W + iw] * D(w)[((o * Cg + c) * kH + kh) * kW + kw];
              }
          D(y)[((n * O + o) * OH + oh) * OW + ow] = acc;
        }
  return y;
}

/* each input element scatters input * weight into the output (the definition) */
static lt_tensor *conv_transpose2d_ref(lt_tensor *x, lt_tensor *w, lt_tensor *b, const int64_t *s,
                                       const int64_t *p, const int64_t *op, int64_t groups, const int64_t *d) {
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t Og = w->shape[1], kH = w->shape[2], kW = w->shape[3], O = Og * groups, Cg = C / groups;
  int64_t OH = (H - 1) * s[0] - 2 * p[0] + d[0] * (kH - 1) + op[0] + 1;
  int64_t OW = (W - 1) * s[1] - 2 * p[1] + d[1] * (kW - 1) + op[1] + 1;
  lt_tensor *y = lt_zeros(LT_FLOAT64, 4, (int64_t[]){N, O, OH, OW});
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t ih = 0; ih < H; ih++)
        for (int64_t iw = 0; iw < W; iw++)
          for (int64_t ol = 0; ol < Og; ol++)
            for (int64_t kh = 0; kh < kH; kh++)
              for (int64_t kw = 0; kw < kW; kw++) {
                int64_t oh = ih * s[0] - p[0] + kh * d[0], ow = iw * s[1] - p[1] + kw * d[1];
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                int64_t o = (c / Cg) * Og + ol;
                D(y)[((n * O + o) * OH + oh) * OW + ow] +=
                    D(x)[((n * C + c) * H + ih) * W + iw] * D(w)[((c * Og + ol) * kH + kh) * kW + kw];
              }
  if (b)
    for (int64_t i = 0; i < lt_numel(y); i++) D(y)[i] += D(b)[(i / (OH * OW)) % O];
  return y;
}

static int64_t pool_out_ref(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1;
  int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) out--;
  return out;
}

typedef struct {
  int64_t N, C, H, W, kH, kW, sH, sW, pH, pW, dH, dW;
  int ceil_mode, count_include_pad;
} pool_case;

/* mode 0: max (values, indices), 1: avg */
static lt_tensor *pool_ref(lt_tensor *x, const pool_case *c, int mode, lt_tensor **indices) {
  int64_t NC = c->N * c->C, H = c->H, W = c->W;
  int64_t OH = pool_out_ref(H, c->kH, c->sH, c->pH, c->dH, c->ceil_mode);
  int64_t OW = pool_out_ref(W, c->kW, c->sW, c->pW, c->dW, c->ceil_mode);
  lt_tensor *y = lt_zeros(LT_FLOAT64, 4, (int64_t[]){c->N, c->C, OH, OW});
  if (indices) *indices = lt_zeros(LT_INT64, 4, (int64_t[]){c->N, c->C, OH, OW});
  for (int64_t pl = 0; pl < NC; pl++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        double best = -INFINITY, sum = 0;
        int64_t bi = -1, count = 0, padded = 0;
        for (int64_t i = 0; i < c->kH; i++)
          for (int64_t j = 0; j < c->kW; j++) {
            int64_t ih = oh * c->sH - c->pH + i * c->dH, iw = ow * c->sW - c->pW + j * c->dW;
            if (ih < H + c->pH && iw < W + c->pW) padded++; /* avg: the window within input + padding */
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            double v = D(x)[pl * H * W + ih * W + iw];
            if (bi < 0 || v > best) { best = v; bi = ih * W + iw; }
            sum += v;
            count++;
          }
        int64_t k = pl * OH * OW + oh * OW + ow;
        if (mode == 0) {
          D(y)[k] = best;
          ((int64_t *)lt_data(*indices))[k] = bi;
        } else {
          D(y)[k] = sum / (double)(c->count_include_pad ? padded : count);
        }
      }
  return y;
}

static lt_tensor *adaptive_ref(lt_tensor *x, int64_t OH, int64_t OW) {
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  lt_tensor *y = lt_zeros(LT_FLOAT64, 4, (int64_t[]){N, C, OH, OW});
  for (int64_t pl = 0; pl < N * C; pl++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t h0 = (int64_t)floor((double)(oh * H) / OH), h1 = (int64_t)ceil((double)((oh + 1) * H) / OH);
        int64_t w0 = (int64_t)floor((double)(ow * W) / OW), w1 = (int64_t)ceil((double)((ow + 1) * W) / OW);
        double s = 0;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += D(x)[pl * H * W + ih * W + iw];
        D(y)[pl * OH * OW + oh * OW + ow] = s / (double)((h1 - h0) * (w1 - w0));
      }
  return y;
}

/* ---- conv2d ------------------------------------------------------------------------------ */

typedef struct {
  int64_t N, C, H, W, O, kH, kW, s[2], p[2], d[2], groups;
  int bias, noncontig;
} conv_case;

static const conv_case conv_cases[] = {
    {2, 3, 7, 6, 4, 3, 3, {1, 1}, {0, 0}, {1, 1}, 1, 1, 0},  /* plain */
    {2, 3, 7, 6, 4, 3, 3, {2, 2}, {1, 1}, {1, 1}, 1, 1, 1},  /* stride, padding, non-contiguous */
    {3, 2, 8, 7, 3, 3, 3, {1, 1}, {2, 2}, {2, 2}, 1, 1, 0},  /* dilation */
    {2, 4, 6, 6, 6, 3, 3, {1, 2}, {1, 0}, {1, 1}, 2, 1, 0},  /* groups 2 */
    {2, 3, 5, 5, 6, 3, 3, {1, 1}, {1, 1}, {1, 1}, 3, 0, 1},  /* depthwise x2, no bias */
    {3, 4, 5, 6, 5, 1, 1, {1, 1}, {0, 0}, {1, 1}, 1, 1, 0},  /* 1x1: no im2col */
    {3, 4, 5, 6, 6, 1, 1, {1, 1}, {0, 0}, {1, 1}, 2, 1, 1},  /* 1x1, groups, non-contiguous */
    {2, 3, 7, 6, 4, 1, 1, {2, 2}, {0, 0}, {1, 1}, 1, 1, 0},  /* 1x1 stride 2 */
    {2, 3, 4, 5, 4, 1, 1, {1, 1}, {1, 1}, {1, 1}, 1, 1, 0},  /* 1x1 padded */
    {2, 2, 7, 9, 3, 2, 4, {2, 1}, {1, 2}, {1, 2}, 1, 1, 0},  /* non-square everything */
    {5, 2, 4, 4, 3, 4, 4, {1, 1}, {0, 0}, {1, 1}, 1, 1, 1},  /* kernel = input: 1x1 output, batch 5 */
    {1, 1, 9, 3, 2, 3, 1, {3, 1}, {0, 0}, {2, 1}, 1, 1, 0},  /* N = 1, C = 1 */
    {2, 4, 9, 8, 4, 3, 2, {2, 1}, {2, 1}, {2, 3}, 2, 1, 1},  /* stride, padding, dilation, groups at once */
    {19, 2, 8, 8, 3, 3, 3, {1, 1}, {0, 0}, {1, 1}, 1, 1, 0}, /* 6x6 output: chunks of 10 and 9 samples */
    {9, 1, 6, 7, 4, 3, 3, {1, 1}, {0, 0}, {1, 1}, 1, 1, 1},  /* 1 channel, as a first layer */
};
#define NCONV (int)(sizeof conv_cases / sizeof conv_cases[0])

typedef struct {
  const conv_case *c;
  lt_tensor *x, *w, *b, *r; /* contiguous float64; r weights the loss */
  int transposed;
  int64_t op[2];
} conv_ctx;

static double conv_loss(void *p) {
  conv_ctx *k = p;
  const conv_case *c = k->c;
  lt_tensor *y = k->transposed ? lt_conv_transpose2d(k->x, k->w, k->b, c->s, c->p, k->op, c->groups, c->d)
                               : lt_conv2d(k->x, k->w, k->b, c->s, c->p, c->d, c->groups);
  double l = y ? dot_sum(y, k->r) : NAN;
  lt_release(y);
  return l;
}

static void test_conv2d(void) {
  static const int64_t chunks[] = {0, 1, 2};
  for (int ci = 0; ci < NCONV; ci++) {
    const conv_case *c = &conv_cases[ci];
    lt_tensor *x = randn(LT_FLOAT64, 4, (int64_t[]){c->N, c->C, c->H, c->W});
    lt_tensor *w = randn(LT_FLOAT64, 4, (int64_t[]){c->O, c->C / c->groups, c->kH, c->kW});
    lt_tensor *b = c->bias ? randn(LT_FLOAT64, 1, &c->O) : NULL;
    lt_tensor *ref = conv2d_ref(x, w, b, c->s, c->p, c->d, c->groups);
    lt_tensor *r = randn(LT_FLOAT64, 4, ref->shape);
    /* the arguments as the kernels see them: maybe strided views */
    lt_tensor *xa = c->noncontig ? noncontig(x) : lt_retain(x), *wa = c->noncontig ? noncontig(w) : lt_retain(w);
    lt_tensor *ba = b && c->noncontig ? noncontig(b) : b ? lt_retain(b) : NULL;
    lt_tensor *ra = c->noncontig ? noncontig(r) : lt_retain(r);
    if (c->noncontig) CHECK(!lt_is_contiguous(xa) && !lt_is_contiguous(wa) && !lt_is_contiguous(ra));
    lt_tensor *g0[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
      lt_conv_set_max_chunk(chunks[k]);
      lt_tensor *y = lt_conv2d(xa, wa, ba, c->s, c->p, c->d, c->groups);
      double e = max_rel_diff(y, ref);
      if (!(e < 1e-12)) fprintf(stderr, "  conv2d case %d chunk %lld: forward differs by %g (%s)\n", ci,
                                (long long)chunks[k], e, y ? "" : lt_errmsg());
      CHECK(e < 1e-12);
      CHECK(y && lt_is_contiguous(y) && y->refcount == 1);
      lt_tensor *gx, *gw, *gb;
      int rc = lt_conv2d_backward(ra, xa, wa, c->s, c->p, c->d, c->groups, &gx, &gw, c->bias ? &gb : NULL);
      CHECK(rc == 0);
      if (rc == 0) {
        if (k == 0) {
          g0[0] = gx; g0[1] = gw; g0[2] = c->bias ? gb : NULL;
        } else { /* chunking does not change the gradients */
          CHECK(max_rel_diff(gx, g0[0]) < 1e-12 && max_rel_diff(gw, g0[1]) < 1e-12);
          if (c->bias) { CHECK(max_rel_diff(gb, g0[2]) < 1e-12); lt_release(gb); }
          lt_release(gx); lt_release(gw);
        }
      }
      lt_release(y);
    }
    lt_conv_set_max_chunk(0);
    conv_ctx k = {c, x, w, b, r, 0, {0, 0}};
    CHECK(fd_check(x, g0[0], conv_loss, &k, "conv2d grad_input", ci) == 0);
    CHECK(fd_check(w, g0[1], conv_loss, &k, "conv2d grad_weight", ci) == 0);
    if (b) CHECK(fd_check(b, g0[2], conv_loss, &k, "conv2d grad_bias", ci) == 0);
    /* only some gradients asked for */
    lt_tensor *gw_only;
    CHECK(lt_conv2d_backward(ra, xa, wa, c->s, c->p, c->d, c->groups, NULL, &gw_only, NULL) == 0);
    CHECK(max_rel_diff(gw_only, g0[1]) < 1e-12);
    lt_release(gw_only);
    for (int i = 0; i < 3; i++) lt_release(g0[i]);
    lt_release(xa); lt_release(wa); lt_release(ba); lt_release(ra);
    lt_release(x); lt_release(w); lt_release(b); lt_release(ref); lt_release(r);
  }
}

typedef struct {
  lt_tensor *x, *w, *b, *r;
} conv1d_ctx;

static double conv1d_loss(void *p) { /* stride 2, padding 1, dilation 2, groups 2 */
  conv1d_ctx *k = p;
  lt_tensor *y = lt_conv1d(k->x, k->w, k->b, 2, 1, 2, 2);
  double l = y ? dot_sum(y, k->r) : NAN;
  lt_release(y);
  return l;
}

/* conv1d is conv2d with H = 1 */
static void test_conv1d(void) {
  lt_tensor *x = randn(LT_FLOAT64, 3, (int64_t[]){2, 4, 11}), *w = randn(LT_FLOAT64, 3, (int64_t[]){6, 2, 3});
  lt_tensor *b = randn(LT_FLOAT64, 1, (int64_t[]){6});
  lt_tensor *y = lt_conv1d(x, w, b, 2, 1, 2, 2);
  CHECK(y && y->ndim == 3 && y->shape[0] == 2 && y->shape[1] == 6 && y->shape[2] == 5);
  lt_tensor *x4 = lt_unsqueeze(x, 2), *w4 = lt_unsqueeze(w, 2);
  lt_tensor *y4 = lt_conv2d(x4, w4, b, (int64_t[]){1, 2}, (int64_t[]){0, 1}, (int64_t[]){1, 2}, 2);
  lt_tensor *y3 = lt_squeeze(y4, 2);
  CHECK(max_rel_diff(y, y3) == 0);
  lt_tensor *r = randn(LT_FLOAT64, 3, y->shape), *r4 = lt_unsqueeze(r, 2);
  lt_tensor *gx, *gw, *gb, *gx4, *gw4, *gb4;
  CHECK(lt_conv1d_backward(r, x, w, 2, 1, 2, 2, &gx, &gw, &gb) == 0);
  CHECK(lt_conv2d_backward(r4, x4, w4, (int64_t[]){1, 2}, (int64_t[]){0, 1}, (int64_t[]){1, 2}, 2, &gx4, &gw4,
                           &gb4) == 0);
  CHECK(gx->ndim == 3 && gw->ndim == 3 && lt_same_shape(gx, x) && lt_same_shape(gw, w));
  lt_tensor *gx3 = lt_squeeze(gx4, 2), *gw3 = lt_squeeze(gw4, 2);
  CHECK(max_rel_diff(gx, gx3) == 0 && max_rel_diff(gw, gw3) == 0 && max_rel_diff(gb, gb4) == 0);
  conv1d_ctx k = {x, w, b, r};
  CHECK(fd_check(x, gx, conv1d_loss, &k, "conv1d grad_input", 0) == 0);
  CHECK(fd_check(w, gw, conv1d_loss, &k, "conv1d grad_weight", 0) == 0);
  CHECK(fd_check(b, gb, conv1d_loss, &k, "conv1d grad_bias", 0) == 0);
  lt_tensor *all[] = {x, w, b, y, x4, w4, y4, y3, r, r4, gx, gw, gb, gx4, gw4, gb4, gx3, gw3};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) lt_release(all[i]);
}

/* ---- conv_transpose2d ------------------------------------------------------------------------ */

typedef struct {
  conv_case c; /* C: input channels, O: output channels */
  int64_t op[2];
} convt_case;

static const convt_case convt_cases[] = {
    {{2, 3, 4, 3, 2, 3, 3, {1, 1}, {0, 0}, {1, 1}, 1, 1, 0}, {0, 0}},
    {{2, 3, 4, 3, 4, 3, 3, {2, 2}, {1, 1}, {1, 1}, 1, 1, 1}, {1, 1}}, /* output_padding, non-contiguous */
    {{2, 4, 3, 4, 6, 3, 3, {2, 1}, {1, 0}, {2, 2}, 2, 1, 0}, {1, 0}}, /* groups, dilation */
    {{3, 4, 3, 3, 2, 4, 4, {2, 2}, {1, 1}, {1, 1}, 1, 0, 0}, {0, 0}}, /* DCGAN-style 4x4 stride 2 */
    {{2, 4, 3, 5, 3, 1, 1, {1, 1}, {0, 0}, {1, 1}, 1, 1, 0}, {0, 0}}, /* 1x1: pointwise path */
    {{2, 2, 3, 3, 3, 1, 1, {1, 1}, {0, 0}, {2, 2}, 1, 1, 0}, {1, 1}}, /* 1x1 but output_padding: not pointwise */
    {{2, 2, 3, 4, 2, 2, 3, {3, 2}, {1, 0}, {1, 1}, 1, 1, 1}, {2, 1}}, /* non-square */
    {{5, 4, 2, 3, 4, 3, 2, {2, 3}, {1, 1}, {2, 1}, 2, 1, 1}, {1, 2}}, /* everything, batch of 5 */
};
#define NCONVT (int)(sizeof convt_cases / sizeof convt_cases[0])

static void test_conv_transpose2d(void) {
  for (int ci = 0; ci < NCONVT; ci++) {
    const conv_case *c = &convt_cases[ci].c;
    const int64_t *op = convt_cases[ci].op;
    lt_tensor *x = randn(LT_FLOAT64, 4, (int64_t[]){c->N, c->C, c->H, c->W});
    lt_tensor *w = randn(LT_FLOAT64, 4, (int64_t[]){c->C, c->O / c->groups, c->kH, c->kW});
    lt_tensor *b = c->bias ? randn(LT_FLOAT64, 1, &c->O) : NULL;
    lt_tensor *ref = conv_transpose2d_ref(x, w, b, c->s, c->p, op, c->groups, c->d);
    lt_tensor *r = randn(LT_FLOAT64, 4, ref->shape);
    lt_tensor *xa = c->noncontig ? noncontig(x) : lt_retain(x), *wa = c->noncontig ? noncontig(w) : lt_retain(w);
    lt_tensor *ra = c->noncontig ? noncontig(r) : lt_retain(r);
    lt_tensor *ba = b && c->noncontig ? noncontig(b) : b ? lt_retain(b) : NULL;
    if (c->noncontig) CHECK(!lt_is_contiguous(xa) && !lt_is_contiguous(wa) && !lt_is_contiguous(ra));
    lt_tensor *g0[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
      lt_conv_set_max_chunk(k);
      lt_tensor *y = lt_conv_transpose2d(xa, wa, ba, c->s, c->p, op, c->groups, c->d);
      double e = max_rel_diff(y, ref);
      if (!(e < 1e-12)) fprintf(stderr, "  conv_transpose2d case %d: forward differs by %g (%s)\n", ci, e,
                                y ? "" : lt_errmsg());
      CHECK(e < 1e-12);
      lt_tensor *g[3];
      CHECK(lt_conv_transpose2d_backward(ra, xa, wa, c->s, c->p, op, c->groups, c->d, &g[0], &g[1], &g[2]) == 0);
      for (int i = 0; i < 3; i++) {
        if (k == 0) g0[i] = g[i];
        else { CHECK(max_rel_diff(g[i], g0[i]) < 1e-12); lt_release(g[i]); }
      }
      lt_release(y);
    }
    lt_conv_set_max_chunk(0);
    conv_ctx k = {c, x, w, b, r, 1, {op[0], op[1]}};
    CHECK(fd_check(x, g0[0], conv_loss, &k, "conv_transpose2d grad_input", ci) == 0);
    CHECK(fd_check(w, g0[1], conv_loss, &k, "conv_transpose2d grad_weight", ci) == 0);
    if (b) CHECK(fd_check(b, g0[2], conv_loss, &k, "conv_transpose2d grad_bias", ci) == 0);
    for (int i = 0; i < 3; i++) lt_release(g0[i]);
    lt_release(xa); lt_release(wa); lt_release(ra); lt_release(ba);
    lt_release(x); lt_release(w); lt_release(b); lt_release(ref); lt_release(r);
  }
}

/* ---- pooling --------------------------------------------------------------------------------- */

static const pool_case max_cases[] = {
    {2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, 0, 0},
    {2, 2, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0},
    {2, 2, 7, 7, 2, 2, 2, 2, 0, 0, 1, 1, 1, 0}, /* ceil_mode: 4x4 */
    {1, 3, 8, 6, 3, 3, 1, 1, 1, 1, 2, 2, 0, 0}, /* dilation */
    {2, 2, 7, 6, 3, 2, 2, 1, 1, 0, 1, 1, 1, 0}, /* non-square, ceil */
    {1, 2, 6, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 0}, /* ceil: the last window starts in the padding */
    {2, 1, 5, 5, 5, 5, 1, 1, 0, 0, 1, 1, 0, 0}, /* global */
    {1, 2, 5, 40, 2, 2, 2, 2, 0, 0, 1, 1, 0, 0}, /* rows of 20 windows: 16 at a time, then 4 */
    {1, 2, 9, 37, 3, 3, 2, 2, 1, 1, 2, 2, 1, 0}, /* dilation, padding, ceil: clipped and whole windows */
};
static const pool_case avg_cases[] = {
    {2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, 0, 1},
    {2, 2, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1},
    {2, 2, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0},
    {1, 2, 6, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, /* ceil: windows past the padding */
    {1, 2, 6, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0},
    {2, 2, 5, 8, 3, 2, 1, 2, 1, 1, 1, 1, 0, 1}, /* non-square */
    {1, 2, 6, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1},
    {1, 2, 5, 7, 3, 2, 2, 3, 1, 1, 1, 1, 1, 0}, /* ceil, padding excluded, non-square stride */
};

typedef struct {
  const pool_case *c;
  lt_tensor *x, *r;
  int mode; /* 0 max, 1 avg, 2 adaptive */
  int64_t osize[2];
} pool_ctx;

static double pool_loss(void *p) {
  pool_ctx *k = p;
  const pool_case *c = k->c;
  lt_tensor *y = NULL, *idx = NULL;
  if (k->mode == 0)
    lt_max_pool2d(k->x, (int64_t[]){c->kH, c->kW}, (int64_t[]){c->sH, c->sW}, (int64_t[]){c->pH, c->pW},
                  (int64_t[]){c->dH, c->dW}, c->ceil_mode, &y, &idx);
  else if (k->mode == 1)
    y = lt_avg_pool2d(k->x, (int64_t[]){c->kH, c->kW}, (int64_t[]){c->sH, c->sW}, (int64_t[]){c->pH, c->pW},
                      c->ceil_mode, c->count_include_pad);
  else
    y = lt_adaptive_avg_pool2d(k->x, k->osize);
  double l = y ? dot_sum(y, k->r) : NAN;
  lt_release(y);
  lt_release(idx);
  return l;
}

/* distinct values 0.01 apart in random order: no ties, and a perturbation
   of 1e-6 never changes a window's argmax */
static lt_tensor *distinct(int64_t N, int64_t C, int64_t H, int64_t W) {
  int64_t n = N * C * H * W;
  int64_t *perm = lt_randperm(n);
  lt_tensor *x = lt_empty(LT_FLOAT64, 4, (int64_t[]){N, C, H, W});
  for (int64_t i = 0; i < n; i++) D(x)[i] = 0.01 * (double)perm[i] - 1;
  free(perm);
  return x;
}

static void test_max_pool2d(void) {
  for (int ci = 0; ci < (int)(sizeof max_cases / sizeof max_cases[0]); ci++) {
    const pool_case *c = &max_cases[ci];
    lt_tensor *x = distinct(c->N, c->C, c->H, c->W), *ridx;
    lt_tensor *ref = pool_ref(x, c, 0, &ridx);
    lt_tensor *xa = ci % 2 ? noncontig(x) : lt_retain(x);
    lt_tensor *y, *idx;
    int rc = lt_max_pool2d(xa, (int64_t[]){c->kH, c->kW}, (int64_t[]){c->sH, c->sW}, (int64_t[]){c->pH, c->pW},
                           (int64_t[]){c->dH, c->dW}, c->ceil_mode, &y, &idx);
    CHECK(rc == 0);
    if (rc < 0) { fprintf(stderr, "  max_pool2d case %d: %s\n", ci, lt_errmsg()); continue; }
    CHECK(max_rel_diff(y, ref) == 0);
    CHECK(lt_same_shape(idx, ridx) && idx->dtype == LT_INT64 &&
          memcmp(lt_data(idx), lt_data(ridx), (size_t)lt_numel(idx) * 8) == 0);
    lt_tensor *r = randn(LT_FLOAT64, 4, y->shape), *ra = ci % 2 ? noncontig(r) : lt_retain(r);
    lt_tensor *gx = lt_max_pool2d_backward(ra, idx, x->shape);
    CHECK(gx && lt_same_shape(gx, x));
    pool_ctx k = {c, x, r, 0, {0, 0}};
    CHECK(fd_check(x, gx, pool_loss, &k, "max_pool2d grad_input", ci) == 0);
    lt_release(gx); lt_release(r); lt_release(ra); lt_release(y); lt_release(idx);
    lt_release(xa); lt_release(x); lt_release(ref); lt_release(ridx);
  }
  /* overlapping windows share an argmax: its gradients add up */
  lt_tensor *x = lt_zeros(LT_FLOAT64, 4, (int64_t[]){1, 1, 3, 3}), *y, *idx;
  D(x)[4] = 5; /* the centre is in all four 2x2 windows */
  D(x)[0] = NAN;
  lt_max_pool2d(x, (int64_t[]){2, 2}, (int64_t[]){1, 1}, (int64_t[]){0, 0}, (int64_t[]){1, 1}, 0, &y, &idx);
  CHECK(isnan(D(y)[0]) && ((int64_t *)lt_data(idx))[0] == 0); /* NaN wins, as in PyTorch */
  CHECK(D(y)[3] == 5 && ((int64_t *)lt_data(idx))[3] == 4);
  lt_tensor *ones = lt_empty(LT_FLOAT64, 4, y->shape);
  lt_fill_(ones, 1);
  lt_tensor *gx = lt_max_pool2d_backward(ones, idx, x->shape);
  CHECK(gx && D(gx)[4] == 3 && D(gx)[0] == 1);
  lt_release(gx); lt_release(ones); lt_release(y); lt_release(idx); lt_release(x);
}

static void test_avg_pool2d(void) {
  for (int ci = 0; ci < (int)(sizeof avg_cases / sizeof avg_cases[0]); ci++) {
    const pool_case *c = &avg_cases[ci];
    lt_tensor *x = randn(LT_FLOAT64, 4, (int64_t[]){c->N, c->C, c->H, c->W});
    lt_tensor *ref = pool_ref(x, c, 1, NULL), *xa = ci % 2 ? noncontig(x) : lt_retain(x);
    int64_t k2[2] = {c->kH, c->kW}, s2[2] = {c->sH, c->sW}, p2[2] = {c->pH, c->pW};
    lt_tensor *y = lt_avg_pool2d(xa, k2, s2, p2, c->ceil_mode, c->count_include_pad);
    double e = max_rel_diff(y, ref);
    if (!(e < 1e-12)) fprintf(stderr, "  avg_pool2d case %d: forward differs by %g (%s)\n", ci, e, y ? "" : lt_errmsg());
    CHECK(e < 1e-12);
    lt_tensor *r = randn(LT_FLOAT64, 4, ref->shape), *ra = ci % 2 ? noncontig(r) : lt_retain(r);
    lt_tensor *gx = lt_avg_pool2d_backward(ra, x->shape, k2, s2, p2, c->ceil_mode, c->count_include_pad);
    pool_ctx k = {c, x, r, 1, {0, 0}};
    CHECK(fd_check(x, gx, pool_loss, &k, "avg_pool2d grad_input", ci) == 0);
    lt_release(gx); lt_release(r); lt_release(ra); lt_release(y); lt_release(xa); lt_release(x); lt_release(ref);
  }
}

static void test_adaptive_avg_pool2d(void) {
  static const int64_t cases[][6] = {/* N C H W OH OW */
                                     {2, 3, 7, 5, 3, 2}, {1, 2, 7, 5, 7, 5}, {2, 2, 6, 6, 1, 1},
                                     {1, 2, 5, 3, 4, 8}, {2, 1, 10, 9, 4, 3}};
  for (int ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++) {
    const int64_t *c = cases[ci];
    lt_tensor *x = randn(LT_FLOAT64, 4, c), *ref = adaptive_ref(x, c[4], c[5]);
    lt_tensor *xa = ci % 2 ? noncontig(x) : lt_retain(x);
    lt_tensor *y = lt_adaptive_avg_pool2d(xa, c + 4);
    CHECK(max_rel_diff(y, ref) < 1e-12);
    lt_tensor *r = randn(LT_FLOAT64, 4, ref->shape), *ra = ci % 2 ? noncontig(r) : lt_retain(r);
    lt_tensor *gx = lt_adaptive_avg_pool2d_backward(ra, x->shape);
    pool_ctx k = {NULL, x, r, 2, {c[4], c[5]}};
    CHECK(fd_check(x, gx, pool_loss, &k, "adaptive_avg_pool2d grad_input", ci) == 0);
    lt_release(gx); lt_release(r); lt_release(ra); lt_release(y); lt_release(xa); lt_release(x); lt_release(ref);
  }
}

/* ---- float32 against float64, threads, empty batches ------------------------------------------- */

static void test_float32_matches_float64(void) {
  lt_tensor *x = randn(LT_FLOAT64, 4, (int64_t[]){3, 4, 9, 8}), *w = randn(LT_FLOAT64, 4, (int64_t[]){6, 2, 3, 3});
  lt_tensor *b = randn(LT_FLOAT64, 1, (int64_t[]){6});
  lt_tensor *xf = lt_to(x, LT_FLOAT32), *wf = lt_to(w, LT_FLOAT32), *bf = lt_to(b, LT_FLOAT32);
  int64_t s[2] = {2, 1}, p[2] = {1, 1}, d[2] = {1, 2};
  lt_tensor *y = lt_conv2d(x, w, b, s, p, d, 2), *yf = lt_conv2d(xf, wf, bf, s, p, d, 2);
  CHECK(yf && yf->dtype == LT_FLOAT32 && max_rel_diff(yf, y) < 1e-5);
  lt_tensor *g[3], *gf[3], *rf = lt_to(y, LT_FLOAT32);
  CHECK(lt_conv2d_backward(y, x, w, s, p, d, 2, &g[0], &g[1], &g[2]) == 0);
  CHECK(lt_conv2d_backward(rf, xf, wf, s, p, d, 2, &gf[0], &gf[1], &gf[2]) == 0);
  for (int i = 0; i < 3; i++) {
    CHECK(gf[i]->dtype == LT_FLOAT32 && max_rel_diff(gf[i], g[i]) < 1e-4);
    lt_release(g[i]); lt_release(gf[i]);
  }
  lt_tensor *wt = randn(LT_FLOAT64, 4, (int64_t[]){4, 3, 3, 3}), *wtf = lt_to(wt, LT_FLOAT32);
  lt_tensor *t = lt_conv_transpose2d(x, wt, NULL, s, p, (int64_t[]){1, 0}, 1, d);
  lt_tensor *tf = lt_conv_transpose2d(xf, wtf, NULL, s, p, (int64_t[]){1, 0}, 1, d);
  CHECK(tf && max_rel_diff(tf, t) < 1e-5);
  lt_tensor *tr = lt_to(t, LT_FLOAT32);
  CHECK(lt_conv_transpose2d_backward(t, x, wt, s, p, (int64_t[]){1, 0}, 1, d, &g[0], &g[1], &g[2]) == 0);
  CHECK(lt_conv_transpose2d_backward(tr, xf, wtf, s, p, (int64_t[]){1, 0}, 1, d, &gf[0], &gf[1], &gf[2]) == 0);
  for (int i = 0; i < 3; i++) {
    CHECK(max_rel_diff(gf[i], g[i]) < 1e-4);
    lt_release(g[i]); lt_release(gf[i]);
  }
  /* pools */
  int64_t k2[2] = {3, 3}, s2[2] = {2, 2}, p2[2] = {1, 1}, d2[2] = {1, 1};
  lt_tensor *mv, *mi, *mvf, *mif;
  lt_max_pool2d(x, k2, s2, p2, d2, 1, &mv, &mi);
  lt_max_pool2d(xf, k2, s2, p2, d2, 1, &mvf, &mif);
  CHECK(max_rel_diff(mvf, mv) < 1e-6 && memcmp(lt_data(mi), lt_data(mif), (size_t)lt_numel(mi) * 8) == 0);
  lt_tensor *mvr = lt_to(mv, LT_FLOAT32);
  lt_tensor *mg = lt_max_pool2d_backward(mv, mi, x->shape), *mgf = lt_max_pool2d_backward(mvr, mif, x->shape);
  CHECK(max_rel_diff(mgf, mg) < 1e-6);
  lt_tensor *a = lt_avg_pool2d(x, k2, s2, p2, 1, 0), *af = lt_avg_pool2d(xf, k2, s2, p2, 1, 0);
  CHECK(max_rel_diff(af, a) < 1e-5);
  lt_tensor *ar = lt_to(a, LT_FLOAT32);
  lt_tensor *ag = lt_avg_pool2d_backward(a, x->shape, k2, s2, p2, 1, 0);
  lt_tensor *agf = lt_avg_pool2d_backward(ar, x->shape, k2, s2, p2, 1, 0);
  CHECK(max_rel_diff(agf, ag) < 1e-5);
  lt_tensor *ad = lt_adaptive_avg_pool2d(x, (int64_t[]){4, 3}), *adf = lt_adaptive_avg_pool2d(xf, (int64_t[]){4, 3});
  CHECK(max_rel_diff(adf, ad) < 1e-5);
  lt_tensor *adr = lt_to(ad, LT_FLOAT32);
  lt_tensor *adg = lt_adaptive_avg_pool2d_backward(ad, x->shape), *adgf = lt_adaptive_avg_pool2d_backward(adr, x->shape);
  CHECK(max_rel_diff(adgf, adg) < 1e-5);
  lt_tensor *all[] = {x, w, b, xf, wf, bf, y, yf, rf, wt, wtf, t, tf, tr, mv, mi, mvf, mif, mvr, mg, mgf,
                      a, af, ar, ag, agf, ad, adf, adr, adg, adgf};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) lt_release(all[i]);
}

/* large enough for the OpenMP loops to run in parallel (the convolution's
   16 chunks shared by a team of threads); the results must not depend on the
   thread count */
static void test_threads(void) {
  lt_tensor *x = randn(LT_FLOAT32, 4, (int64_t[]){16, 8, 20, 20}), *w = randn(LT_FLOAT32, 4, (int64_t[]){16, 8, 3, 3});
  lt_tensor *y[2], *g[2][3], *mv[2], *mi[2], *mg[2], *a[2];
  int64_t one[2] = {1, 1}, zero[2] = {0, 0}, two[2] = {2, 2};
  for (int t = 0; t < 2; t++) {
    lt_set_num_threads(t + 1);
    y[t] = lt_conv2d(x, w, NULL, one, one, one, 1);
    lt_conv2d_backward(y[t], x, w, one, one, one, 1, &g[t][0], &g[t][1], &g[t][2]);
    lt_max_pool2d(y[0], two, two, zero, one, 0, &mv[t], &mi[t]);
    mg[t] = lt_max_pool2d_backward(mv[t], mi[t], y[0]->shape);
    a[t] = lt_avg_pool2d(y[0], two, two, zero, 0, 1);
  }
  /* chunks and partial sums depend on the shapes only: the same sums in the same order */
  CHECK(max_rel_diff(y[1], y[0]) == 0);
  for (int i = 0; i < 3; i++) CHECK(max_rel_diff(g[1][i], g[0][i]) == 0);
  CHECK(max_rel_diff(mv[1], mv[0]) == 0 && max_rel_diff(mg[1], mg[0]) == 0 && max_rel_diff(a[1], a[0]) == 0);
  for (int t = 0; t < 2; t++) {
    lt_release(y[t]); lt_release(mv[t]); lt_release(mi[t]); lt_release(mg[t]); lt_release(a[t]);
    for (int i = 0; i < 3; i++) lt_release(g[t][i]);
  }
  lt_release(x); lt_release(w);
}

static void test_empty_batch(void) {
  lt_tensor *x = lt_zeros(LT_FLOAT32, 4, (int64_t[]){0, 3, 8, 8}), *w = randn(LT_FLOAT32, 4, (int64_t[]){4, 3, 3, 3});
  lt_tensor *b = randn(LT_FLOAT32, 1, (int64_t[]){4});
  int64_t one[2] = {1, 1}, zero[2] = {0, 0};
  lt_tensor *y = lt_conv2d(x, w, b, one, zero, one, 1);
  CHECK(y && y->shape[0] == 0 && y->shape[1] == 4 && y->shape[2] == 6);
  lt_tensor *gx, *gw, *gb;
  CHECK(lt_conv2d_backward(y, x, w, one, zero, one, 1, &gx, &gw, &gb) == 0);
  CHECK(gx->shape[0] == 0 && lt_get(gw, (int64_t[]){1, 1, 1, 1}) == 0 && lt_get(gb, (int64_t[]){2}) == 0);
  lt_release(gx); lt_release(gw); lt_release(gb); lt_release(y); lt_release(b); lt_release(w); lt_release(x);
}

/* ---- bad arguments ---------------------------------------------------------------------------- */

static void test_bad_arguments(void) {
  int64_t one[2] = {1, 1}, zero[2] = {0, 0}, two[2] = {2, 2}, three[2] = {3, 3};
  lt_tensor *x = randn(LT_FLOAT32, 4, (int64_t[]){2, 3, 8, 8}), *w1 = randn(LT_FLOAT32, 4, (int64_t[]){32, 1, 3, 3});
  lt_tensor *w3 = randn(LT_FLOAT32, 4, (int64_t[]){4, 3, 3, 3}), *x3 = randn(LT_FLOAT32, 3, (int64_t[]){3, 8, 8});
  lt_tensor *xd = lt_to(x, LT_FLOAT64), *xi = lt_zeros(LT_INT64, 4, x->shape);
  lt_tensor *w5 = randn(LT_FLOAT32, 4, (int64_t[]){5, 1, 3, 3}), *x2 = randn(LT_FLOAT32, 4, (int64_t[]){2, 2, 8, 8});
  lt_tensor *b7 = randn(LT_FLOAT32, 1, (int64_t[]){7}), *small = randn(LT_FLOAT32, 4, (int64_t[]){1, 3, 2, 2});
  lt_tensor *out = NULL, *g1 = (lt_tensor *)1, *g2 = (lt_tensor *)1, *g3 = (lt_tensor *)1;

  CHECK(!lt_conv2d(x, w1, NULL, one, zero, one, 1));
  CHECK(msg_is("conv2d: input has 3 channels but weight expects 1 (weight 32x1x3x3)"));
  CHECK(!lt_conv2d(x, w1, NULL, one, zero, one, 2));
  CHECK(msg_is("conv2d: input has 3 channels but weight expects 2 (weight 32x1x3x3, groups 2)"));
  CHECK(!lt_conv2d(x2, w5, NULL, one, zero, one, 2));
  CHECK(msg_is("conv2d: weight has 5 output channels, not divisible by groups 2 (weight 5x1x3x3)"));
  CHECK(!lt_conv2d(x3, w3, NULL, one, zero, one, 1));
  CHECK(msg_is("conv2d: input must be 4-d (N,C,H,W), got shape 3x8x8"));
  CHECK(!lt_conv2d(x, x3, NULL, one, zero, one, 1));
  CHECK(msg_is("conv2d: weight must be 4-d, got shape 3x8x8"));
  CHECK(!lt_conv2d(xd, w3, NULL, one, zero, one, 1));
  CHECK(msg_is("conv2d: weight is float32 but input is float64"));
  CHECK(!lt_conv2d(xi, w3, NULL, one, zero, one, 1));
  CHECK(msg_is("conv2d: input must be float32 or float64, got int64"));
  CHECK(!lt_conv2d(x, w3, NULL, (int64_t[]){1, 0}, zero, one, 1));
  CHECK(msg_is("conv2d: stride must be >= 1, got 1x0"));
  CHECK(!lt_conv2d(x, w3, NULL, one, (int64_t[]){-1, 0}, one, 1));
  CHECK(msg_is("conv2d: padding must be >= 0, got -1x0"));
  CHECK(!lt_conv2d(x, w3, NULL, one, zero, zero, 1));
  CHECK(msg_is("conv2d: dilation must be >= 1, got 0x0"));
  CHECK(!lt_conv2d(x, w3, NULL, one, zero, one, 0));
  CHECK(msg_is("conv2d: groups must be >= 1, got 0"));
  CHECK(!lt_conv2d(x, w3, b7, one, zero, one, 1));
  CHECK(msg_is("conv2d: bias must have shape 4 (one per output channel), got 7"));
  CHECK(!lt_conv2d(small, w3, NULL, one, zero, two, 1));
  CHECK(msg_is("conv2d: the kernel (5x5, dilated) is larger than the padded input (2x2): input 1x3x2x2, "
               "weight 4x3x3x3, padding 0x0"));
  CHECK(lt_conv2d_backward(x, x, w3, one, zero, one, 1, &g1, &g2, &g3) < 0);
  CHECK(msg_is("conv2d_backward: grad_output has shape 2x3x8x8 but the output has shape 2x4x6x6"));
  CHECK(g1 == NULL && g2 == NULL && g3 == NULL);

  /* conv1d speaks of 3-d shapes */
  lt_tensor *c1 = randn(LT_FLOAT32, 3, (int64_t[]){2, 3, 10}), *k1 = randn(LT_FLOAT32, 3, (int64_t[]){4, 2, 3});
  CHECK(!lt_conv1d(c1, k1, NULL, 1, 0, 1, 1));
  CHECK(msg_is("conv1d: input has 3 channels but weight expects 2 (weight 4x2x3)"));
  CHECK(!lt_conv1d(x, k1, NULL, 1, 0, 1, 1));
  CHECK(msg_is("conv1d: input must be 3-d (N,C,L), got shape 2x3x8x8"));
  CHECK(!lt_conv1d(c1, k1, NULL, 0, 0, 1, 1));
  CHECK(msg_is("conv1d: stride must be >= 1, got 0"));

  /* conv_transpose2d */
  lt_tensor *wt = randn(LT_FLOAT32, 4, (int64_t[]){4, 2, 3, 3});
  CHECK(!lt_conv_transpose2d(x, wt, NULL, one, zero, zero, 1, one));
  CHECK(msg_is("conv_transpose2d: input has 3 channels but weight expects 4 (weight 4x2x3x3)"));
  lt_tensor *wt3 = randn(LT_FLOAT32, 4, (int64_t[]){3, 4, 3, 3}); /* (C, O/groups, kH, kW) */
  CHECK(!lt_conv_transpose2d(x, wt3, NULL, two, zero, two, 1, one));
  CHECK(msg_is("conv_transpose2d: output_padding 2x2 must be smaller than stride 2x2 or dilation 1x1"));
  CHECK(!lt_conv_transpose2d(x, wt3, NULL, one, zero, zero, 2, one));
  CHECK(msg_is("conv_transpose2d: input has 3 channels, not divisible by groups 2 (weight 3x4x3x3)"));
  CHECK(!lt_conv_transpose2d(small, wt3, NULL, one, three, zero, 1, one));
  CHECK(msg_is("conv_transpose2d: output size would be -2x-2 (input 1x3x2x2, weight 3x4x3x3, stride 1x1, "
               "padding 3x3), must be >= 1"));
  CHECK(!lt_conv_transpose2d(x, wt3, b7, one, zero, zero, 1, one));
  CHECK(msg_is("conv_transpose2d: bias must have shape 4 (one per output channel), got 7"));
  CHECK(lt_conv_transpose2d_backward(x, x, wt3, one, zero, zero, 1, one, &g1, NULL, NULL) < 0);
  CHECK(msg_is("conv_transpose2d_backward: grad_output has shape 2x3x8x8 but the output has shape 2x4x10x10"));
  CHECK(g1 == NULL);

  /* pools */
  lt_tensor *v, *i;
  CHECK(lt_max_pool2d(x, three, one, two, one, 0, &v, &i) < 0 && v == NULL && i == NULL);
  CHECK(msg_is("max_pool2d: padding 2x2 must be at most half the kernel size 3x3"));
  CHECK(lt_max_pool2d(small, three, one, zero, one, 0, &v, &i) < 0);
  CHECK(msg_is("max_pool2d: the kernel (3x3, dilated) is larger than the padded input (2x2): input 1x3x2x2, "
               "padding 0x0"));
  CHECK(lt_max_pool2d(x, zero, one, zero, one, 0, &v, &i) < 0);
  CHECK(msg_is("max_pool2d: kernel size must be >= 1, got 0x0"));
  CHECK(lt_max_pool2d(x3, two, two, zero, one, 0, &v, &i) < 0);
  CHECK(msg_is("max_pool2d: input must be 4-d (N,C,H,W), got shape 3x8x8"));
  CHECK(lt_max_pool2d(x, two, two, zero, one, 0, &v, &i) == 0);
  CHECK(!lt_max_pool2d_backward(v, v, x->shape));
  CHECK(msg_is("max_pool2d_backward: indices must be int64, got float32"));
  lt_tensor *badi = lt_clone(i);
  lt_set_i64(badi, (int64_t[]){1, 2, 3, 3}, 64);
  CHECK(!lt_max_pool2d_backward(v, badi, x->shape));
  CHECK(msg_is("max_pool2d_backward: 1 indices lie outside [0, 64), the positions of a 8x8 plane"));
  CHECK(!lt_max_pool2d_backward(v, i, (int64_t[]){2, 4, 8, 8}));
  CHECK(msg_is("max_pool2d_backward: grad_output of shape 2x3x4x4 does not match the input's shape 2x4x8x8 in N or C"));
  lt_tensor *ok = lt_avg_pool2d_backward(v, x->shape, three, two, one, 0, 1); /* 3x3 s2 p1 on 8x8: 4x4 */
  CHECK(ok != NULL);
  lt_release(ok);
  CHECK(!lt_avg_pool2d_backward(v, x->shape, two, one, zero, 0, 1));
  CHECK(msg_is("avg_pool2d_backward: grad_output has shape 2x3x4x4 but the output has shape 2x3x7x7"));
  CHECK(!lt_adaptive_avg_pool2d(x, (int64_t[]){0, 3}));
  CHECK(msg_is("adaptive_avg_pool2d: output size must be >= 1, got 0x3"));
  CHECK(!lt_adaptive_avg_pool2d(xi, one));
  CHECK(msg_is("adaptive_avg_pool2d: input must be float32 or float64, got int64"));
  lt_tensor *all[] = {x, w1, w3, x3, xd, xi, w5, x2, b7, small, c1, k1, wt, wt3, v, i, badi, out};
  for (size_t j = 0; j < sizeof all / sizeof all[0]; j++) lt_release(all[j]);
}

int main(void) {
  lt_runtime_init();
  lt_manual_seed(42);
  test_conv2d();
  test_conv1d();
  test_conv_transpose2d();
  test_max_pool2d();
  test_avg_pool2d();
  test_adaptive_avg_pool2d();
  test_float32_matches_float64();
  test_threads();
  test_empty_batch();
  test_bad_arguments();
  return CHECK_REPORT();
}
