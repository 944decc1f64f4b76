/* nn_conv.c -- convolution and pooling kernels (NCHW), forward and backward.
 *
 * Convolution is im2col + GEMM. A chunk of `nb` samples of one group is
 * unrolled into col (K, nb*P), K = C/groups*kH*kW, P = OH*OW, so that one GEMM
 * per group and chunk does the work even for 28x28 images:
 *
 *   forward       y_g (Og, nb*P)  = w_g (Og, K) @ col (K, nb*P)
 *   weight grad   gw_g (Og, K)   += gy_g (Og, nb*P) @ col^T
 *   input grad    col (K, nb*P)   = w_g^T @ gy_g, then col2im adds col into gx
 *
 * y_g and gy_g are (O, nb, P) buffers permuted from/to the (nb, O, P) tensor;
 * a chunk of one sample needs no permutation (its rows are the tensor's). A
 * 1x1 kernel with stride 1 and no padding needs no im2col: col is the input.
 * The transposed convolution is exactly conv2d's input gradient (and its
 * backward conv2d's forward and weight gradient), so it reuses these two
 * functions on a geometry with input and output swapped.
 *
 * Threads: when there are at least as many chunks as threads, a team of
 * threads shares them out, each thread with its own workspace running the
 * whole chunk (im2col, GEMM, permute, col2im) on its own, with serial GEMMs
 * (OpenBLAS does not fork inside a parallel region): small GEMMs do not scale
 * when split, whole chunks do, and data stay in one core's cache. Otherwise
 * (one chunk: a single image) the chunks run in turn, our loops parallel over
 * samples and channels and OpenBLAS parallel inside the GEMMs. Chunks write
 * disjoint outputs; the weight gradient is summed in a fixed number of partial
 * sums added in a fixed order; so results do not depend on the thread count.
 * Pooling loops are parallel over planes.
 *
 * The kernels are written once for a type T at the end of this file, which
 * includes itself twice (T = float, T = double); S(name) names the instance.
 */
#ifndef NN_CONV_T

#include "nn_conv.h"
#include "iter.h"
#include <cblas.h>
#include <limits.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* the convolution seen as conv2d: input (N,C,H,W), weight (O, C/groups, kH, kW),
   output (N,O,OH,OW); OH and OW are given, not derived (a transposed
   convolution with output_padding has them) */
typedef struct {
  int64_t N, C, H, W, O, kH, kW, OH, OW;
  int64_t sH, sW, pH, pW, dH, dW, groups;
} conv_geom;

/* how a convolution is cut up: chunks of nb samples (the last one smaller);
   the backward's weight gradient sums its chunks in `slots` partial sums
   (consecutive chunk ranges) added in order at the end. Both depend on the
   shapes only, never on the thread count, so neither do the results. `team`:
   the threads share out chunks (slots), each with its own slice of workspace
   and serial GEMMs; otherwise chunks run one after another with parallel
   loops and a parallel GEMM (one chunk, or more threads than chunks). */
typedef struct {
  int64_t nb, nchunks, slots, ws_thread; /* ws_thread: workspace elements of one chunk */
  int threads, team;
} conv_plan;

/* a pooling over N*C planes of H x W into OH x OW */
typedef struct {
  int64_t planes, H, W, OH, OW;
  int64_t kH, kW, sH, sW, pH, pW, dH, dW;
  int count_include_pad;
} pool_geom;

/* chunking (experiments/bench_conv.c measured them on the Keras CNN's layers):
   GEMM columns per chunk at least; elements of col + permuted buffer of one
   chunk at most (1 MB of float32, an L2); weight-gradient partial sums, and
   elements in all of them at most */
#define CONV_MIN_COLS 256
#define CONV_CHUNK_ELEMS ((int64_t)1 << 18)
#define CONV_GW_SLOTS 8
#define CONV_GW_PARTIALS ((int64_t)1 << 22)
static int64_t max_chunk; /* 0: automatic */

void lt_conv_set_max_chunk(int64_t n) { max_chunk = n > 0 ? n : 0; }

/* parallel only where a loop has enough work to pay for the threads */
#define PAR(work) ((work) >= 2 * LT_PAR_GRAIN && lt_get_num_threads() > 1)

/* ow in [lo, hi) are the output positions whose input position ow*s + off lies
   in [0, in); clipped to [0, out) */
static inline void valid_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
  int64_t l, h;
  if (s == 1) { /* the common case, without two divisions */
    l = off >= 0 ? 0 : -off;
    h = in - off < 0 ? 0 : in - off;
  } else {
    l = off >= 0 ? 0 : (-off + s - 1) / s;
    h = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;
  }
  if (h > out) h = out;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* output positions o in [lo, hi) whose whole window o*s - p + [0, (k-1)*d]
   lies in [0, in); clipped to [0, out) */
static void interior(int64_t s, int64_t p, int64_t d, int64_t k, int64_t in, int64_t out, int64_t *lo,
                     int64_t *hi) {
  int64_t l = (p + s - 1) / s, last = in - 1 + p - (k - 1) * d;
  int64_t h = last < 0 ? 0 : last / s + 1;
  if (h > out) h = out;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* GCC turns short copy and zero loops into calls to memcpy and memset, which
   cost more than they do on rows of 3 to 30 elements (glibc keeps its own
   loops with the same attribute) */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_LOOP_TO_CALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LOOP_TO_CALL
#endif

/* stride 1, no dilation, no padding: im2col's rows are 2-d copies */
static int dense(const conv_geom *g) {
  return g->sH == 1 && g->sW == 1 && g->dH == 1 && g->dW == 1 && g->pH == 0 && g->pW == 0;
}

/* a 1x1 kernel over every input position: the input is already col */
static int pointwise(const conv_geom *g) {
  return g->kH == 1 && g->kW == 1 && g->sH == 1 && g->sW == 1 && g->pH == 0 && g->pW == 0 &&
         g->OH == g->H && g->OW == g->W;
}

static void gemm_f32(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
              (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

static void gemm_f64(int ta, int tb, int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
                     const double *b, int64_t ldb, double beta, double *c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
              (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

#define NN_CONV_T float
#define S(name) name##_f32
#include "nn_conv.c"
#undef NN_CONV_T
#undef S
#define NN_CONV_T double
#define S(name) name##_f64
#include "nn_conv.c"
#undef NN_CONV_T
#undef S

/* ---- running the kernels: chunks, workspace and dtype dispatch ------------------------- */

/* samples per chunk: enough for CONV_MIN_COLS GEMM columns (OpenBLAS is slow
   on narrower matrices), few enough that col and the permuted buffer stay in
   L2, and chunks of even size, a multiple of 4 of them when there are 4 or
   more, so that 2 or 4 threads share them evenly. A pointwise conv needs no
   col and goes one sample at a time, straight from the input. nb*P stays an int. */
static int64_t conv_chunk(const conv_geom *g) {
  if (pointwise(g) || g->N <= 1) return 1;
  int64_t K = g->C / g->groups * g->kH * g->kW, P = g->OH * g->OW;
  int64_t nb = (CONV_MIN_COLS + P - 1) / P, cap = CONV_CHUNK_ELEMS / ((K + g->O) * P);
  if (nb > cap) nb = cap;
  if (max_chunk && nb > max_chunk) nb = max_chunk;
  if (nb < 1) nb = 1;
  if (nb >= g->N) nb = g->N;
  else if (!max_chunk) {
    int64_t n = g->N / nb;
    if (n >= 4) n -= n % 4;
    nb = (g->N + n - 1) / n;
  }
  if (nb > INT_MAX / P) nb = INT_MAX / P;
  return nb;
}

static conv_plan conv_make_plan(const conv_geom *g, int with_gw) {
  conv_plan pl = {.nb = conv_chunk(g), .threads = lt_get_num_threads()};
  int64_t K = g->C / g->groups * g->kH * g->kW, P = g->OH * g->OW;
  pl.nchunks = g->N > 0 ? (g->N + pl.nb - 1) / pl.nb : 0;
  pl.ws_thread = (pl.nb > 1 ? g->O * pl.nb * P : 0) + (pointwise(g) ? 0 : K * pl.nb * P);
  pl.slots = pl.nchunks;
  if (with_gw) { /* each slot but the first (the gradient itself) holds an O x K partial sum */
    int64_t max_slots = 1 + CONV_GW_PARTIALS / (g->O * K);
    if (pl.slots > CONV_GW_SLOTS) pl.slots = CONV_GW_SLOTS;
    if (pl.slots > max_slots) pl.slots = max_slots;
  }
  pl.team = pl.threads > 1 && pl.slots >= pl.threads;
  return pl;
}

/* elements of workspace: one chunk's per thread of the team, then the
   weight gradient's partial sums */
static int64_t conv_workspace(const conv_geom *g, const conv_plan *pl, int with_gw) {
  int64_t K = g->C / g->groups * g->kH * g->kW;
  int64_t parts = with_gw && pl->slots > 1 ? (pl->slots - 1) * g->O * K : 0;
  return (pl->team ? pl->threads : 1) * pl->ws_thread + parts + 1;
}

/* y = conv(x, w) + bias; all contiguous, of dtype dt; bias may be NULL */
static int run_conv_forward(const conv_geom *g, lt_dtype dt, const void *x, const void *w,
                            const void *bias, void *y) {
  conv_plan pl = conv_make_plan(g, 0);
  size_t bytes = (size_t)conv_workspace(g, &pl, 0) * lt_dtype_size(dt);
  void *ws = lt_alloc(bytes);
  if (!ws) return -1;
  if (dt == LT_FLOAT32) conv_forward_f32(g, &pl, x, w, bias, y, ws);
  else conv_forward_f64(g, &pl, x, w, bias, y, ws);
  lt_free(ws, bytes);
  return 0;
}

/* gx (zeroed) += input gradient, gw (zeroed) += weight gradient; either may be
   NULL (then x, resp. w, may be NULL too) */
static int run_conv_backward(const conv_geom *g, lt_dtype dt, const void *x, const void *w,
                             const void *gy, void *gx, void *gw) {
  conv_plan pl = conv_make_plan(g, gw != NULL);
  size_t bytes = (size_t)conv_workspace(g, &pl, gw != NULL) * lt_dtype_size(dt);
  void *ws = lt_alloc(bytes);
  if (!ws) return -1;
  if (dt == LT_FLOAT32) conv_backward_f32(g, &pl, x, w, gy, gx, gw, ws);
  else conv_backward_f64(g, &pl, x, w, gy, gx, gw, ws);
  lt_free(ws, bytes);
  return 0;
}

/* (N, C, P) -> (C): the bias gradient */
static lt_tensor *channel_sum(lt_tensor *gy) {
  lt_tensor *out = lt_empty(gy->dtype, 1, &gy->shape[1]);
  if (!out) return NULL;
  int64_t N = gy->shape[0], C = gy->shape[1], P = gy->shape[2] * gy->shape[3];
  if (gy->dtype == LT_FLOAT32) channel_sum_f32(lt_data(gy), lt_data(out), N, C, P);
  else channel_sum_f64(lt_data(gy), lt_data(out), N, C, P);
  return out;
}

/* ---- argument checks ----------------------------------------------------------------- */

/* shapes in messages: a 1-d op (nsp == 1) runs as 2-d with H = 1; show it without */
static const char *shp(const lt_tensor *t, int nsp, char *buf, size_t len) {
  if (nsp == 1 && t->ndim == 4) {
    int64_t s[3] = {t->shape[0], t->shape[1], t->shape[3]};
    return lt_shape_str(3, s, buf, len);
  }
  return lt_shape_str(t->ndim, t->shape, buf, len);
}

static const char *pair(const int64_t v[2], int nsp, char *buf, size_t len) {
  if (nsp == 1) snprintf(buf, len, "%lld", (long long)v[1]);
  else snprintf(buf, len, "%lldx%lld", (long long)v[0], (long long)v[1]);
  return buf;
}

static int check_float(const char *fn, const char *what, const lt_tensor *t, const lt_tensor *like) {
  if (!like && t->dtype != LT_FLOAT32 && t->dtype != LT_FLOAT64)
    return lt_seterr("%s: %s must be float32 or float64, got %s", fn, what, lt_dtype_name(t->dtype));
  if (like && t->dtype != like->dtype)
    return lt_seterr("%s: %s is %s but input is %s", fn, what, lt_dtype_name(t->dtype),
                     lt_dtype_name(like->dtype));
  return 0;
}

/* every element of v at least lo */
static int check_pair(const char *fn, const char *what, const int64_t v[2], int64_t lo, int nsp) {
  char b[64];
  if (v[1] < lo || (nsp == 2 && v[0] < lo))
    return lt_seterr("%s: %s must be >= %lld, got %s", fn, what, (long long)lo, pair(v, nsp, b, sizeof b));
  return 0;
}

/* a 4-d (N,C,H,W) float input with C, H, W >= 1 */
static int check_input(const char *fn, const lt_tensor *x, int nsp) {
  char b[128];
  if (x->ndim != 4)
    return lt_seterr("%s: input must be %s, got shape %s", fn, nsp == 1 ? "3-d (N,C,L)" : "4-d (N,C,H,W)",
                     lt_shape_str(x->ndim, x->shape, b, sizeof b));
  if (check_float(fn, "input", x, NULL) < 0) return -1;
  if (x->shape[1] < 1 || x->shape[2] < 1 || x->shape[3] < 1)
    return lt_seterr("%s: input of shape %s is empty (only the batch may be 0)", fn, shp(x, nsp, b, sizeof b));
  return 0;
}

/* geometry shared by conv2d and conv_transpose2d; in the transposed case the
   caller swaps input and output after */
static int check_conv_common(const char *fn, int nsp, const lt_tensor *x, const lt_tensor *w,
                             const lt_tensor *bias, const int64_t stride[2], const int64_t padding[2],
                             const int64_t dilation[2], int64_t groups) {
  char b1[128];
  if (check_input(fn, x, nsp) < 0) return -1;
  if (w->ndim != 4)
    return lt_seterr("%s: weight must be %s, got shape %s", fn, nsp == 1 ? "3-d" : "4-d",
                     lt_shape_str(w->ndim, w->shape, b1, sizeof b1));
  if (check_float(fn, "weight", w, x) < 0 || (bias && check_float(fn, "bias", bias, x) < 0)) return -1;
  if (w->shape[0] < 1 || w->shape[1] < 1 || w->shape[2] < 1 || w->shape[3] < 1)
    return lt_seterr("%s: weight of shape %s is empty", fn, shp(w, nsp, b1, sizeof b1));
  if (check_pair(fn, "stride", stride, 1, nsp) < 0 || check_pair(fn, "padding", padding, 0, nsp) < 0 ||
      check_pair(fn, "dilation", dilation, 1, nsp) < 0)
    return -1;
  if (groups < 1) return lt_seterr("%s: groups must be >= 1, got %lld", fn, (long long)groups);
  return 0;
}

static int check_bias(const char *fn, const lt_tensor *bias, int64_t O) {
  char b[128];
  if (bias && (bias->ndim != 1 || bias->shape[0] != O))
    return lt_seterr("%s: bias must have shape %lld (one per output channel), got %s", fn, (long long)O,
                     lt_shape_str(bias->ndim, bias->shape, b, sizeof b));
  return 0;
}

/* sizes handed to BLAS as int */
static int check_int_sizes(const char *fn, const conv_geom *g) {
  int64_t K = g->C / g->groups * g->kH * g->kW;
  if (K > INT_MAX || g->O > INT_MAX || g->OH * g->OW > INT_MAX || g->H * g->W > INT_MAX)
    return lt_seterr("%s: sizes above 2^31-1 (per sample and group) are not supported", fn);
  return 0;
}

/* conv2d's geometry from its arguments */
static int conv2d_geom(const char *fn, int nsp, const lt_tensor *x, const lt_tensor *w,
                       const lt_tensor *bias, const int64_t stride[2], const int64_t padding[2],
                       const int64_t dilation[2], int64_t groups, conv_geom *g) {
  char b1[128], b2[128], b3[64], b4[64], b5[64];
  if (check_conv_common(fn, nsp, x, w, bias, stride, padding, dilation, groups) < 0) return -1;
  int64_t C = x->shape[1], O = w->shape[0];
  if (w->shape[1] * groups != C) {
    if (groups > 1)
      return lt_seterr("%s: input has %lld channels but weight expects %lld (weight %s, groups %lld)", fn,
                       (long long)C, (long long)(w->shape[1] * groups), shp(w, nsp, b1, sizeof b1),
                       (long long)groups);
    return lt_seterr("%s: input has %lld channels but weight expects %lld (weight %s)", fn, (long long)C,
                     (long long)w->shape[1], shp(w, nsp, b1, sizeof b1));
  }
  if (O % groups)
    return lt_seterr("%s: weight has %lld output channels, not divisible by groups %lld (weight %s)", fn,
                     (long long)O, (long long)groups, shp(w, nsp, b1, sizeof b1));
  if (check_bias(fn, bias, O) < 0) return -1;
  int64_t ek[2], pin[2], num[2];
  for (int i = 0; i < 2; i++) {
    ek[i] = dilation[i] * (w->shape[2 + i] - 1) + 1;
    pin[i] = x->shape[2 + i] + 2 * padding[i];
    num[i] = pin[i] - ek[i];
  }
  if (num[0] < 0 || num[1] < 0)
    return lt_seterr("%s: the kernel (%s, dilated) is larger than the padded input (%s): input %s, weight %s, "
                     "padding %s",
                     fn, pair(ek, nsp, b3, sizeof b3), pair(pin, nsp, b4, sizeof b4), shp(x, nsp, b1, sizeof b1),
                     shp(w, nsp, b2, sizeof b2), pair(padding, nsp, b5, sizeof b5));
  *g = (conv_geom){.N = x->shape[0], .C = C, .H = x->shape[2], .W = x->shape[3], .O = O,
                   .kH = w->shape[2], .kW = w->shape[3], .OH = num[0] / stride[0] + 1,
                   .OW = num[1] / stride[1] + 1, .sH = stride[0], .sW = stride[1], .pH = padding[0],
                   .pW = padding[1], .dH = dilation[0], .dW = dilation[1], .groups = groups};
  return check_int_sizes(fn, g);
}

/* conv_transpose2d's geometry, as the conv2d whose input gradient it is: that
   conv2d's input is our output (N, O, OH, OW) and its output our input */
static int conv_transpose2d_geom(const char *fn, int nsp, const lt_tensor *x, const lt_tensor *w,
                                 const lt_tensor *bias, const int64_t stride[2], const int64_t padding[2],
                                 const int64_t output_padding[2], int64_t groups, const int64_t dilation[2],
                                 conv_geom *g) {
  char b1[128], b2[128], b3[64], b4[64], b5[64], b6[64];
  if (check_conv_common(fn, nsp, x, w, bias, stride, padding, dilation, groups) < 0) return -1;
  if (check_pair(fn, "output_padding", output_padding, 0, nsp) < 0) return -1;
  int64_t C = x->shape[1];
  if (w->shape[0] != C)
    return lt_seterr("%s: input has %lld channels but weight expects %lld (weight %s)", fn, (long long)C,
                     (long long)w->shape[0], shp(w, nsp, b1, sizeof b1));
  if (C % groups)
    return lt_seterr("%s: input has %lld channels, not divisible by groups %lld (weight %s)", fn, (long long)C,
                     (long long)groups, shp(w, nsp, b1, sizeof b1));
  int64_t O = w->shape[1] * groups;
  if (check_bias(fn, bias, O) < 0) return -1;
  for (int i = 0; i < 2; i++)
    if (output_padding[i] >= stride[i] && output_padding[i] >= dilation[i])
      return lt_seterr("%s: output_padding %s must be smaller than stride %s or dilation %s", fn,
                       pair(output_padding, nsp, b3, sizeof b3), pair(stride, nsp, b4, sizeof b4),
                       pair(dilation, nsp, b5, sizeof b5));
  int64_t out[2];
  for (int i = 0; i < 2; i++)
    out[i] = (x->shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (w->shape[2 + i] - 1) +
             output_padding[i] + 1;
  if (out[0] < 1 || out[1] < 1)
    return lt_seterr("%s: output size would be %s (input %s, weight %s, stride %s, padding %s), must be >= 1",
                     fn, pair(out, nsp, b3, sizeof b3), shp(x, nsp, b1, sizeof b1), shp(w, nsp, b2, sizeof b2),
                     pair(stride, nsp, b4, sizeof b4), pair(padding, nsp, b6, sizeof b6));
  *g = (conv_geom){.N = x->shape[0], .C = O, .H = out[0], .W = out[1], .O = C, .kH = w->shape[2],
                   .kW = w->shape[3], .OH = x->shape[2], .OW = x->shape[3], .sH = stride[0], .sW = stride[1],
                   .pH = padding[0], .pW = padding[1], .dH = dilation[0], .dW = dilation[1], .groups = groups};
  return check_int_sizes(fn, g);
}

/* grad_output must be the forward output's shape and the input's dtype */
static int check_grad_output(const char *fn, int nsp, const lt_tensor *gy, const lt_tensor *x,
                             const int64_t shape[4]) {
  char b1[128], b2[128];
  if (check_float(fn, "grad_output", gy, x) < 0) return -1;
  if (gy->ndim != 4 || memcmp(gy->shape, shape, 4 * sizeof *shape) != 0) {
    lt_tensor fake = {.ndim = 4};
    memcpy(fake.shape, shape, 4 * sizeof *shape);
    return lt_seterr("%s: grad_output has shape %s but the output has shape %s", fn,
                     shp(gy, nsp, b1, sizeof b1), shp(&fake, nsp, b2, sizeof b2));
  }
  return 0;
}

static void release_all(lt_tensor **ts, int n) {
  for (int i = 0; i < n; i++) lt_release(ts[i]);
}

/* ---- conv2d ------------------------------------------------------------------------- */

static lt_tensor *conv2d(const char *fn, int nsp, lt_tensor *input, lt_tensor *weight, lt_tensor *bias,
                         const int64_t stride[2], const int64_t padding[2], const int64_t dilation[2],
                         int64_t groups) {
  conv_geom g;
  if (conv2d_geom(fn, nsp, input, weight, bias, stride, padding, dilation, groups, &g) < 0) return NULL;
  lt_tensor *x = lt_contiguous(input), *w = x ? lt_contiguous(weight) : NULL;
  lt_tensor *b = w && bias ? lt_contiguous(bias) : NULL;
  lt_tensor *y = w && (b || !bias) ? lt_empty(x->dtype, 4, (int64_t[]){g.N, g.O, g.OH, g.OW}) : NULL;
  if (y && run_conv_forward(&g, y->dtype, lt_data(x), lt_data(w), b ? lt_data(b) : NULL, lt_data(y)) < 0) {
    lt_release(y);
    y = NULL;
  }
  release_all((lt_tensor *[]){x, w, b}, 3);
  return y;
}

static int conv2d_backward(const char *fn, int nsp, lt_tensor *grad_output, lt_tensor *input,
                           lt_tensor *weight, const int64_t stride[2], const int64_t padding[2],
                           const int64_t dilation[2], int64_t groups, lt_tensor **grad_input,
                           lt_tensor **grad_weight, lt_tensor **grad_bias) {
  conv_geom g;
  lt_tensor *gx = NULL, *gw = NULL, *gb = NULL, *x = NULL, *w = NULL, *gy = NULL;
  if (grad_input) *grad_input = NULL;
  if (grad_weight) *grad_weight = NULL;
  if (grad_bias) *grad_bias = NULL;
  if (conv2d_geom(fn, nsp, input, weight, NULL, stride, padding, dilation, groups, &g) < 0 ||
      check_grad_output(fn, nsp, grad_output, input, (int64_t[]){g.N, g.O, g.OH, g.OW}) < 0)
    return -1;
  int ok = (x = lt_contiguous(input)) && (w = lt_contiguous(weight)) && (gy = lt_contiguous(grad_output));
  if (ok && grad_input) ok = (gx = lt_zeros(x->dtype, 4, input->shape)) != NULL;
  if (ok && grad_weight) ok = (gw = lt_zeros(x->dtype, 4, weight->shape)) != NULL;
  if (ok && grad_bias) ok = (gb = channel_sum(gy)) != NULL;
  if (ok && (gx || gw))
    ok = run_conv_backward(&g, x->dtype, lt_data(x), lt_data(w), lt_data(gy), gx ? lt_data(gx) : NULL,
                           gw ? lt_data(gw) : NULL) == 0;
  release_all((lt_tensor *[]){x, w, gy}, 3);
  if (!ok) {
    release_all((lt_tensor *[]){gx, gw, gb}, 3);
    return -1;
  }
  if (grad_input) *grad_input = gx;
  if (grad_weight) *grad_weight = gw;
  if (grad_bias) *grad_bias = gb;
  return 0;
}

lt_tensor *lt_conv2d(lt_tensor *input, lt_tensor *weight, lt_tensor *bias, const int64_t stride[2],
                     const int64_t padding[2], const int64_t dilation[2], int64_t groups) {
  return conv2d("conv2d", 2, input, weight, bias, stride, padding, dilation, groups);
}

int lt_conv2d_backward(lt_tensor *grad_output, lt_tensor *input, lt_tensor *weight, const int64_t stride[2],
                       const int64_t padding[2], const int64_t dilation[2], int64_t groups,
                       lt_tensor **grad_input, lt_tensor **grad_weight, lt_tensor **grad_bias) {
  return conv2d_backward("conv2d_backward", 2, grad_output, input, weight, stride, padding, dilation, groups,
                         grad_input, grad_weight, grad_bias);
}

/* ---- conv1d: conv2d over (N,C,1,L) ---------------------------------------------------------- */

static int check_3d(const char *fn, const char *what, const char *layout, const lt_tensor *t) {
  char b[128];
  if (t->ndim != 3)
    return lt_seterr("%s: %s must be 3-d %s, got shape %s", fn, what, layout,
                     lt_shape_str(t->ndim, t->shape, b, sizeof b));
  return 0;
}

lt_tensor *lt_conv1d(lt_tensor *input, lt_tensor *weight, lt_tensor *bias, int64_t stride, int64_t padding,
                     int64_t dilation, int64_t groups) {
  if (check_3d("conv1d", "input", "(N,C,L)", input) < 0 || check_3d("conv1d", "weight", "(O,C/groups,k)", weight) < 0)
    return NULL;
  lt_tensor *x = lt_unsqueeze(input, 2), *w = x ? lt_unsqueeze(weight, 2) : NULL;
  lt_tensor *y = w ? conv2d("conv1d", 1, x, w, bias, (int64_t[]){1, stride}, (int64_t[]){0, padding},
                            (int64_t[]){1, dilation}, groups)
                   : NULL;
  lt_tensor *r = y ? lt_squeeze(y, 2) : NULL;
  release_all((lt_tensor *[]){x, w, y}, 3);
  return r;
}

int lt_conv1d_backward(lt_tensor *grad_output, lt_tensor *input, lt_tensor *weight, int64_t stride,
                       int64_t padding, int64_t dilation, int64_t groups, lt_tensor **grad_input,
                       lt_tensor **grad_weight, lt_tensor **grad_bias) {
  const char *fn = "conv1d_backward";
  if (grad_input) *grad_input = NULL;
  if (grad_weight) *grad_weight = NULL;
  if (grad_bias) *grad_bias = NULL;
  if (check_3d(fn, "input", "(N,C,L)", input) < 0 || check_3d(fn, "weight", "(O,C/groups,k)", weight) < 0 ||
      check_3d(fn, "grad_output", "(N,O,L)", grad_output) < 0)
    return -1;
  lt_tensor *x = lt_unsqueeze(input, 2), *w = x ? lt_unsqueeze(weight, 2) : NULL;
  lt_tensor *gy = w ? lt_unsqueeze(grad_output, 2) : NULL, *gx = NULL, *gw = NULL;
  int rc = gy ? conv2d_backward(fn, 1, gy, x, w, (int64_t[]){1, stride}, (int64_t[]){0, padding},
                                (int64_t[]){1, dilation}, groups, grad_input ? &gx : NULL,
                                grad_weight ? &gw : NULL, grad_bias)
              : -1;
  release_all((lt_tensor *[]){x, w, gy}, 3);
  if (rc == 0 && gx && !(*grad_input = lt_squeeze(gx, 2))) rc = -1;
  if (rc == 0 && gw && !(*grad_weight = lt_squeeze(gw, 2))) rc = -1;
  release_all((lt_tensor *[]){gx, gw}, 2);
  if (rc < 0) {
    if (grad_input) { lt_release(*grad_input); *grad_input = NULL; }
    if (grad_weight) { lt_release(*grad_weight); *grad_weight = NULL; }
    if (grad_bias) { lt_release(*grad_bias); *grad_bias = NULL; }
  }
  return rc;
}

/* ---- conv_transpose2d: conv2d's input gradient ------------------------------------------- */

lt_tensor *lt_conv_transpose2d(lt_tensor *input, lt_tensor *weight, lt_tensor *bias, const int64_t stride[2],
                               const int64_t padding[2], const int64_t output_padding[2], int64_t groups,
                               const int64_t dilation[2]) {
  const char *fn = "conv_transpose2d";
  conv_geom g;
  if (conv_transpose2d_geom(fn, 2, input, weight, bias, stride, padding, output_padding, groups, dilation, &g) < 0)
    return NULL;
  lt_tensor *x = lt_contiguous(input), *w = x ? lt_contiguous(weight) : NULL;
  lt_tensor *b = w && bias ? lt_contiguous(bias) : NULL;
  lt_tensor *y = w && (b || !bias) ? lt_zeros(x->dtype, 4, (int64_t[]){g.N, g.C, g.H, g.W}) : NULL;
  if (y && run_conv_backward(&g, y->dtype, NULL, lt_data(w), lt_data(x), lt_data(y), NULL) < 0) {
    lt_release(y);
    y = NULL;
  }
  if (y && b) {
    if (y->dtype == LT_FLOAT32) add_channel_bias_f32(lt_data(y), lt_data(b), g.N, g.C, g.H * g.W);
    else add_channel_bias_f64(lt_data(y), lt_data(b), g.N, g.C, g.H * g.W);
  }
  release_all((lt_tensor *[]){x, w, b}, 3);
  return y;
}

int lt_conv_transpose2d_backward(lt_tensor *grad_output, lt_tensor *input, lt_tensor *weight,
                                 const int64_t stride[2], const int64_t padding[2],
                                 const int64_t output_padding[2], int64_t groups, const int64_t dilation[2],
                                 lt_tensor **grad_input, lt_tensor **grad_weight, lt_tensor **grad_bias) {
  const char *fn = "conv_transpose2d_backward";
  conv_geom g;
  lt_tensor *gx = NULL, *gw = NULL, *gb = NULL, *x = NULL, *w = NULL, *gy = NULL;
  if (grad_input) *grad_input = NULL;
  if (grad_weight) *grad_weight = NULL;
  if (grad_bias) *grad_bias = NULL;
  if (conv_transpose2d_geom(fn, 2, input, weight, NULL, stride, padding, output_padding, groups, dilation, &g) < 0 ||
      check_grad_output(fn, 2, grad_output, input, (int64_t[]){g.N, g.C, g.H, g.W}) < 0)
    return -1;
  int ok = (x = lt_contiguous(input)) && (w = lt_contiguous(weight)) && (gy = lt_contiguous(grad_output));
  /* the input gradient is the forward conv2d of grad_output, the weight
     gradient conv2d's weight gradient with grad_output as its input */
  if (ok && grad_input)
    ok = (gx = lt_empty(x->dtype, 4, input->shape)) &&
         run_conv_forward(&g, x->dtype, lt_data(gy), lt_data(w), NULL, lt_data(gx)) == 0;
  if (ok && grad_weight)
    ok = (gw = lt_zeros(x->dtype, 4, weight->shape)) &&
         run_conv_backward(&g, x->dtype, lt_data(gy), NULL, lt_data(x), NULL, lt_data(gw)) == 0;
  if (ok && grad_bias) ok = (gb = channel_sum(gy)) != NULL;
  release_all((lt_tensor *[]){x, w, gy}, 3);
  if (!ok) {
    release_all((lt_tensor *[]){gx, gw, gb}, 3);
    return -1;
  }
  if (grad_input) *grad_input = gx;
  if (grad_weight) *grad_weight = gw;
  if (grad_bias) *grad_bias = gb;
  return 0;
}

/* ---- pooling ------------------------------------------------------------------------- */

/* PyTorch's pooling output size; -1 if the (dilated) kernel does not fit */
static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1;
  if (num < 0) return -1;
  int64_t out = (num + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (out - 1) * s >= in + p) out--; /* the last window must start inside */
  return out;
}

static int pool_setup(const char *fn, const int64_t in_shape[4], const int64_t kernel[2], const int64_t stride[2],
                      const int64_t padding[2], const int64_t dilation[2], int ceil_mode, pool_geom *g) {
  char b1[64], b2[64], b3[64], b5[128];
  if (check_pair(fn, "kernel size", kernel, 1, 2) < 0 || check_pair(fn, "stride", stride, 1, 2) < 0 ||
      check_pair(fn, "padding", padding, 0, 2) < 0 || check_pair(fn, "dilation", dilation, 1, 2) < 0)
    return -1;
  if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2)
    return lt_seterr("%s: padding %s must be at most half the kernel size %s", fn, pair(padding, 2, b1, sizeof b1),
                     pair(kernel, 2, b2, sizeof b2));
  int64_t out[2];
  for (int i = 0; i < 2; i++) out[i] = pool_out(in_shape[2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode);
  if (out[0] < 1 || out[1] < 1) {
    int64_t ek[2] = {dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1};
    int64_t pin[2] = {in_shape[2] + 2 * padding[0], in_shape[3] + 2 * padding[1]};
    return lt_seterr("%s: the kernel (%s, dilated) is larger than the padded input (%s): input %s, padding %s", fn,
                     pair(ek, 2, b1, sizeof b1), pair(pin, 2, b2, sizeof b2), lt_shape_str(4, in_shape, b5, sizeof b5),
                     pair(padding, 2, b3, sizeof b3));
  }
  *g = (pool_geom){.planes = in_shape[0] * in_shape[1], .H = in_shape[2], .W = in_shape[3], .OH = out[0],
                   .OW = out[1], .kH = kernel[0], .kW = kernel[1], .sH = stride[0], .sW = stride[1],
                   .pH = padding[0], .pW = padding[1], .dH = dilation[0], .dW = dilation[1]};
  return 0;
}

/* an input shape given to a backward: 4 sizes, H and W >= 1, matching grad_output's N and C */
static int check_input_shape(const char *fn, const int64_t s[4], const lt_tensor *gy) {
  char b1[128], b2[128];
  if (gy->ndim != 4)
    return lt_seterr("%s: grad_output must be 4-d (N,C,OH,OW), got shape %s", fn,
                     lt_shape_str(gy->ndim, gy->shape, b1, sizeof b1));
  if (check_float(fn, "grad_output", gy, NULL) < 0) return -1;
  if (s[0] < 0 || s[1] < 1 || s[2] < 1 || s[3] < 1)
    return lt_seterr("%s: invalid input shape %s", fn, lt_shape_str(4, s, b1, sizeof b1));
  if (gy->shape[0] != s[0] || gy->shape[1] != s[1])
    return lt_seterr("%s: grad_output of shape %s does not match the input's shape %s in N or C", fn,
                     lt_shape_str(4, gy->shape, b1, sizeof b1), lt_shape_str(4, s, b2, sizeof b2));
  return 0;
}

int lt_max_pool2d(lt_tensor *input, const int64_t kernel[2], const int64_t stride[2], const int64_t padding[2],
                  const int64_t dilation[2], int ceil_mode, lt_tensor **values, lt_tensor **indices) {
  const char *fn = "max_pool2d";
  pool_geom g;
  *values = *indices = NULL;
  if (check_input(fn, input, 2) < 0 || pool_setup(fn, input->shape, kernel, stride, padding, dilation, ceil_mode, &g) < 0)
    return -1;
  int64_t shape[4] = {input->shape[0], input->shape[1], g.OH, g.OW};
  lt_tensor *x = lt_contiguous(input);
  lt_tensor *y = x ? lt_empty(x->dtype, 4, shape) : NULL, *idx = y ? lt_empty(LT_INT64, 4, shape) : NULL;
  if (idx) {
    if (x->dtype == LT_FLOAT32) max_pool2d_forward_f32(&g, lt_data(x), lt_data(y), lt_data(idx));
    else max_pool2d_forward_f64(&g, lt_data(x), lt_data(y), lt_data(idx));
  }
  lt_release(x);
  if (!idx) { lt_release(y); return -1; }
  *values = y;
  *indices = idx;
  return 0;
}

lt_tensor *lt_max_pool2d_backward(lt_tensor *grad_output, lt_tensor *indices, const int64_t input_shape[4]) {
  const char *fn = "max_pool2d_backward";
  char b1[128], b2[128];
  if (check_input_shape(fn, input_shape, grad_output) < 0) return NULL;
  if (indices->dtype != LT_INT64)
    return lt_seterr("%s: indices must be int64, got %s", fn, lt_dtype_name(indices->dtype)), NULL;
  if (!lt_same_shape(indices, grad_output))
    return lt_seterr("%s: indices of shape %s do not match grad_output of shape %s", fn,
                     lt_shape_str(indices->ndim, indices->shape, b1, sizeof b1),
                     lt_shape_str(4, grad_output->shape, b2, sizeof b2)), NULL;
  pool_geom g = {.planes = input_shape[0] * input_shape[1], .H = input_shape[2], .W = input_shape[3],
                 .OH = grad_output->shape[2], .OW = grad_output->shape[3]};
  lt_tensor *gy = lt_contiguous(grad_output), *idx = gy ? lt_contiguous(indices) : NULL;
  lt_tensor *gx = idx ? lt_zeros(gy->dtype, 4, input_shape) : NULL;
  if (gx) {
    int64_t bad = gy->dtype == LT_FLOAT32 ? max_pool2d_backward_f32(&g, lt_data(gy), lt_data(idx), lt_data(gx))
                                          : max_pool2d_backward_f64(&g, lt_data(gy), lt_data(idx), lt_data(gx));
    if (bad) {
      lt_seterr("%s: %lld indices lie outside [0, %lld), the positions of a %lldx%lld plane", fn, (long long)bad,
                (long long)(g.H * g.W), (long long)g.H, (long long)g.W);
      lt_release(gx);
      gx = NULL;
    }
  }
  release_all((lt_tensor *[]){gy, idx}, 2);
  return gx;
}

lt_tensor *lt_avg_pool2d(lt_tensor *input, const int64_t kernel[2], const int64_t stride[2], const int64_t padding[2],
                         int ceil_mode, int count_include_pad) {
  const char *fn = "avg_pool2d";
  pool_geom g;
  if (check_input(fn, input, 2) < 0 ||
      pool_setup(fn, input->shape, kernel, stride, padding, (int64_t[]){1, 1}, ceil_mode, &g) < 0)
    return NULL;
  g.count_include_pad = count_include_pad != 0;
  lt_tensor *x = lt_contiguous(input);
  lt_tensor *y = x ? lt_empty(x->dtype, 4, (int64_t[]){input->shape[0], input->shape[1], g.OH, g.OW}) : NULL;
  if (y) {
    if (x->dtype == LT_FLOAT32) avg_pool2d_forward_f32(&g, lt_data(x), lt_data(y));
    else avg_pool2d_forward_f64(&g, lt_data(x), lt_data(y));
  }
  lt_release(x);
  return y;
}

lt_tensor *lt_avg_pool2d_backward(lt_tensor *grad_output, const int64_t input_shape[4], const int64_t kernel[2],
                                  const int64_t stride[2], const int64_t padding[2], int ceil_mode,
                                  int count_include_pad) {
  const char *fn = "avg_pool2d_backward";
  pool_geom g;
  if (check_input_shape(fn, input_shape, grad_output) < 0 ||
      pool_setup(fn, input_shape, kernel, stride, padding, (int64_t[]){1, 1}, ceil_mode, &g) < 0 ||
      check_grad_output(fn, 2, grad_output, grad_output, (int64_t[]){input_shape[0], input_shape[1], g.OH, g.OW}) < 0)
    return NULL;
  g.count_include_pad = count_include_pad != 0;
  lt_tensor *gy = lt_contiguous(grad_output), *gx = gy ? lt_zeros(gy->dtype, 4, input_shape) : NULL;
  if (gx) {
    if (gy->dtype == LT_FLOAT32) avg_pool2d_backward_f32(&g, lt_data(gy), lt_data(gx));
    else avg_pool2d_backward_f64(&g, lt_data(gy), lt_data(gx));
  }
  lt_release(gy);
  return gx;
}

lt_tensor *lt_adaptive_avg_pool2d(lt_tensor *input, const int64_t output_size[2]) {
  const char *fn = "adaptive_avg_pool2d";
  if (check_input(fn, input, 2) < 0 || check_pair(fn, "output size", output_size, 1, 2) < 0) return NULL;
  pool_geom g = {.planes = input->shape[0] * input->shape[1], .H = input->shape[2], .W = input->shape[3],
                 .OH = output_size[0], .OW = output_size[1]};
  lt_tensor *x = lt_contiguous(input);
  lt_tensor *y = x ? lt_empty(x->dtype, 4, (int64_t[]){input->shape[0], input->shape[1], g.OH, g.OW}) : NULL;
  if (y) {
    if (x->dtype == LT_FLOAT32) adaptive_avg_pool2d_forward_f32(&g, lt_data(x), lt_data(y));
    else adaptive_avg_pool2d_forward_f64(&g, lt_data(x), lt_data(y));
  }
  lt_release(x);
  return y;
}

lt_tensor *lt_adaptive_avg_pool2d_backward(lt_tensor *grad_output, const int64_t input_shape[4]) {
  const char *fn = "adaptive_avg_pool2d_backward";
  if (check_input_shape(fn, input_shape, grad_output) < 0) return NULL;
  if (grad_output->shape[2] < 1 || grad_output->shape[3] < 1)
    return lt_seterr("%s: grad_output of shape %s is empty", fn,
                     lt_shape_str(4, grad_output->shape, (char[128]){0}, 128)), NULL;
  pool_geom g = {.planes = input_shape[0] * input_shape[1], .H = input_shape[2], .W = input_shape[3],
                 .OH = grad_output->shape[2], .OW = grad_output->shape[3]};
  lt_tensor *gy = lt_contiguous(grad_output), *gx = gy ? lt_zeros(gy->dtype, 4, input_shape) : NULL;
  if (gx) {
    if (gy->dtype == LT_FLOAT32) adaptive_avg_pool2d_backward_f32(&g, lt_data(gy), lt_data(gx));
    else adaptive_avg_pool2d_backward_f64(&g, lt_data(gy), lt_data(gx));
  }
  lt_release(gy);
  return gx;
}

#else /* ---- the kernels, once per type T: included above for float and double ------------ */

#define T NN_CONV_T

/* d[0, n) = s[0, n): 32-byte moves, the last one overlapping, then the rest
   (under 32 bytes) one by one */
NO_LOOP_TO_CALL static inline void S(copy_row)(T *restrict d, const T *restrict s, int64_t n) {
  enum { V = 32 / sizeof(T) };
  int64_t i = 0;
  if (n >= V) {
    for (; i + V <= n; i += V) memcpy(d + i, s + i, sizeof(T) * V);
    if (i < n) memcpy(d + n - V, s + n - V, sizeof(T) * V);
    return;
  }
  for (; i < n; i++) d[i] = s[i];
}

/* im2col of one (H, W) plane: its kH*kW rows of col, ld apart, each (OH, OW):
   row (kh,kw) holds plane[oh*sH-pH+kh*dH, ow*sW-pW+kw*dW], 0 in the padding.
   Plain loops, no calls: rows are short (11 elements in the Keras CNN). */
NO_LOOP_TO_CALL static void S(im2col_plane)(const conv_geom *g, const T *restrict plane, T *restrict col, int64_t ld) {
  int64_t OH = g->OH, OW = g->OW, W = g->W, sW = g->sW;
  if (dense(g)) { /* every tap of every window inside the plane */
    for (int64_t kh = 0; kh < g->kH; kh++)
      for (int64_t kw = 0; kw < g->kW; kw++, col += ld)
        for (int64_t oh = 0; oh < OH; oh++) S(copy_row)(col + oh * OW, plane + (oh + kh) * W + kw, OW);
    return;
  }
  for (int64_t kh = 0; kh < g->kH; kh++) {
    int64_t offh = kh * g->dH - g->pH, ohlo, ohhi;
    valid_range(offh, g->sH, g->H, OH, &ohlo, &ohhi);
    for (int64_t kw = 0; kw < g->kW; kw++, col += ld) {
      int64_t offw = kw * g->dW - g->pW, lo, hi;
      valid_range(offw, sW, W, OW, &lo, &hi);
      for (int64_t i = 0; i < ohlo * OW; i++) col[i] = 0;
      for (int64_t oh = ohlo; oh < ohhi; oh++) {
        T *d = col + oh * OW;
        const T *src = plane + (oh * g->sH + offh) * W; /* its input row */
        if (sW == 1 && lo == 0 && hi == OW) { /* no padding in the row */
          S(copy_row)(d, src + offw, OW);
          continue;
        }
        for (int64_t ow = 0; ow < lo; ow++) d[ow] = 0;
        for (int64_t ow = lo; ow < hi; ow++) d[ow] = src[ow * sW + offw];
        for (int64_t ow = hi; ow < OW; ow++) d[ow] = 0;
      }
      for (int64_t i = ohhi * OW; i < OH * OW; i++) col[i] = 0;
    }
  }
}

/* col2im of one plane, im2col_plane's adjoint: its rows of col added into the plane */
NO_LOOP_TO_CALL static void S(col2im_plane)(const conv_geom *g, const T *restrict col, T *restrict plane, int64_t ld) {
  int64_t OH = g->OH, OW = g->OW, W = g->W, sW = g->sW;
  if (dense(g)) {
    for (int64_t kh = 0; kh < g->kH; kh++)
      for (int64_t kw = 0; kw < g->kW; kw++, col += ld)
        for (int64_t oh = 0; oh < OH; oh++) {
          const T *s = col + oh * OW;
          T *d = plane + (oh + kh) * W + kw;
          for (int64_t ow = 0; ow < OW; ow++) d[ow] += s[ow];
        }
    return;
  }
  for (int64_t kh = 0; kh < g->kH; kh++) {
    int64_t offh = kh * g->dH - g->pH, ohlo, ohhi;
    valid_range(offh, g->sH, g->H, OH, &ohlo, &ohhi);
    for (int64_t kw = 0; kw < g->kW; kw++, col += ld) {
      int64_t offw = kw * g->dW - g->pW, lo, hi;
      valid_range(offw, sW, W, OW, &lo, &hi);
      for (int64_t oh = ohlo; oh < ohhi; oh++) {
        const T *s = col + oh * OW;
        T *d = plane + (oh * g->sH + offh) * W;
        if (sW == 1) for (int64_t ow = lo; ow < hi; ow++) d[ow + offw] += s[ow];
        else for (int64_t ow = lo; ow < hi; ow++) d[ow * sW + offw] += s[ow];
      }
    }
  }
}

/* im2col: samples n0..n0+nb-1 of x (N,C,H,W), channels of group grp -> col
   (Cg*kH*kW, nb*P): row (c,kh,kw), column (j,oh,ow) holds
   x[n0+j, grp*Cg+c, oh*sH-pH+kh*dH, ow*sW-pW+kw*dW], 0 in the padding.
   par: parallel over (sample, channel) when worth it (never inside a team);
   the serial loop is written apart, as an OpenMP `if` still costs a team */
static void S(im2col)(const conv_geom *g, const T *x, T *col, int64_t n0, int64_t nb, int64_t grp, int par) {
  int64_t Cg = g->C / g->groups, P = g->OH * g->OW, ld = nb * P, kk = g->kH * g->kW, HW = g->H * g->W;
  const T *x0 = x + (n0 * g->C + grp * Cg) * HW;
  if (par && PAR(nb * Cg * kk * P)) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t j = 0; j < nb; j++)
      for (int64_t c = 0; c < Cg; c++) S(im2col_plane)(g, x0 + (j * g->C + c) * HW, col + c * kk * ld + j * P, ld);
  } else {
    for (int64_t j = 0; j < nb; j++)
      for (int64_t c = 0; c < Cg; c++) S(im2col_plane)(g, x0 + (j * g->C + c) * HW, col + c * kk * ld + j * P, ld);
  }
}

/* col2im, im2col's adjoint: col (Cg*kH*kW, nb*P) added into samples n0..n0+nb-1,
   channels of group grp, of gx (N,C,H,W); one thread per (sample, channel) plane */
static void S(col2im)(const conv_geom *g, const T *col, T *gx, int64_t n0, int64_t nb, int64_t grp, int par) {
  int64_t Cg = g->C / g->groups, P = g->OH * g->OW, ld = nb * P, kk = g->kH * g->kW, HW = g->H * g->W;
  T *gx0 = gx + (n0 * g->C + grp * Cg) * HW;
  if (par && PAR(nb * Cg * kk * P)) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t j = 0; j < nb; j++)
      for (int64_t c = 0; c < Cg; c++) S(col2im_plane)(g, col + c * kk * ld + j * P, gx0 + (j * g->C + c) * HW, ld);
  } else {
    for (int64_t j = 0; j < nb; j++)
      for (int64_t c = 0; c < Cg; c++) S(col2im_plane)(g, col + c * kk * ld + j * P, gx0 + (j * g->C + c) * HW, ld);
  }
}

/* y[n0+j, o, :] = ybuf[o, j, :] + b: one row of scatter_bias (in place when s == d) */
static inline void S(bias_row)(const T *s, T *d, T b, int has_bias, int64_t P) {
  if (s != d) for (int64_t p = 0; p < P; p++) d[p] = s[p] + b;
  else if (has_bias) for (int64_t p = 0; p < P; p++) d[p] += b;
}

/* ybuf (O, nb, P) -> y[n0+j, o, :] = ybuf[o, j, :] + bias[o] (bias may be NULL);
   with nb == 1 ybuf may be y[n0] itself. par as im2col's. */
static void S(scatter_bias)(const T *ybuf, T *y, const T *bias, int64_t n0, int64_t nb, int64_t O, int64_t P,
                            int par) {
  if (par && PAR(nb * O * P)) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t j = 0; j < nb; j++)
      for (int64_t o = 0; o < O; o++)
        S(bias_row)(ybuf + (o * nb + j) * P, y + ((n0 + j) * O + o) * P, bias ? bias[o] : 0, bias != NULL, P);
  } else {
    for (int64_t j = 0; j < nb; j++)
      for (int64_t o = 0; o < O; o++)
        S(bias_row)(ybuf + (o * nb + j) * P, y + ((n0 + j) * O + o) * P, bias ? bias[o] : 0, bias != NULL, P);
  }
}

/* gy[n0+j, o, :] (N, O, P) -> gbuf (O, nb, P). par as im2col's. */
static void S(gather)(const T *gy, T *gbuf, int64_t n0, int64_t nb, int64_t O, int64_t P, int par) {
  size_t row = (size_t)P * sizeof(T);
  if (par && PAR(nb * O * P)) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t o = 0; o < O; o++)
      for (int64_t j = 0; j < nb; j++) memcpy(gbuf + (o * nb + j) * P, gy + ((n0 + j) * O + o) * P, row);
  } else {
    for (int64_t o = 0; o < O; o++)
      for (int64_t j = 0; j < nb; j++) memcpy(gbuf + (o * nb + j) * P, gy + ((n0 + j) * O + o) * P, row);
  }
}

/* y (N, C, P) += bias (C) */
static void S(add_channel_bias)(T *y, const T *bias, int64_t N, int64_t C, int64_t P) {
#pragma omp parallel for collapse(2) schedule(static) if (PAR(N * C * P))
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      T *d = y + (n * C + c) * P, b = bias[c];
      for (int64_t p = 0; p < P; p++) d[p] += b;
    }
}

/* gy (N, C, P) -> out (C): sums over N and P in double, in 16 interleaved
   partial sums (4 vector registers: one running sum is a chain of dependent adds) */
static void S(channel_sum)(const T *gy, T *out, int64_t N, int64_t C, int64_t P) {
#pragma omp parallel for schedule(static) if (PAR(N * C * P))
  for (int64_t c = 0; c < C; c++) {
    double acc[16] = {0};
    for (int64_t n = 0; n < N; n++) {
      const T *q = gy + (n * C + c) * P;
      int64_t p = 0;
      for (; p + 16 <= P; p += 16)
        for (int l = 0; l < 16; l++) acc[l] += (double)q[p + l];
      for (int l = 0; p < P; p++, l++) acc[l] += (double)q[p];
    }
    for (int w = 8; w >= 1; w /= 2) /* pairwise, in a fixed order */
      for (int l = 0; l < w; l++) acc[l] += acc[l + w];
    out[c] = (T)acc[0];
  }
}

/* one chunk of the forward, samples n0..n0+m-1: ws holds ybuf (O, m, P) when
   m > 1 (else the GEMM writes y[n0] itself), then col */
static void S(forward_chunk)(const conv_geom *g, const conv_plan *pl, const T *x, const T *w, const T *bias,
                             T *y, T *ws, int64_t n0, int64_t m, int par) {
  int64_t Og = g->O / g->groups, Cg = g->C / g->groups, K = Cg * g->kH * g->kW, P = g->OH * g->OW, ld = m * P;
  T *ybuf = pl->nb > 1 ? ws : y + n0 * g->O * P, *col = pl->nb > 1 ? ws + g->O * pl->nb * P : ws;
  for (int64_t grp = 0; grp < g->groups; grp++) {
    const T *b = col;
    if (pointwise(g)) b = x + (n0 * g->C + grp * Cg) * g->H * g->W;
    else S(im2col)(g, x, col, n0, m, grp, par);
    S(gemm)(0, 0, Og, ld, K, w + grp * Og * K, K, b, ld, 0, ybuf + grp * Og * ld, ld);
  }
  S(scatter_bias)(ybuf, y, bias, n0, m, g->O, P, par);
}

/* x (N,C,H,W), w (O, Cg, kH, kW), bias (O) or NULL -> y (N,O,OH,OW); ws holds
   conv_workspace() elements: a chunk's for each thread */
static void S(conv_forward)(const conv_geom *g, const conv_plan *pl, const T *x, const T *w, const T *bias, T *y,
                            T *ws) {
  int64_t nb = pl->nb, N = g->N;
  if (pl->team) {
#pragma omp parallel num_threads(pl->threads)
    {
      T *mine = ws + omp_get_thread_num() * pl->ws_thread;
#pragma omp for schedule(static)
      for (int64_t c = 0; c < pl->nchunks; c++)
        S(forward_chunk)(g, pl, x, w, bias, y, mine, c * nb, N - c * nb < nb ? N - c * nb : nb, 0);
    }
  } else {
    for (int64_t c = 0; c < pl->nchunks; c++)
      S(forward_chunk)(g, pl, x, w, bias, y, ws, c * nb, N - c * nb < nb ? N - c * nb : nb, 1);
  }
}

/* chunks c0..c1-1 of the backward: gw (O, Cg, kH, kW) += their weight gradient
   (gw NULL: none), gx += their input gradient (gx NULL: none). ws as
   forward_chunk's: gbuf (O, m, P) when m > 1, then col */
static void S(backward_chunks)(const conv_geom *g, const conv_plan *pl, const T *x, const T *w, const T *gy,
                               T *gx, T *gw, T *ws, int64_t c0, int64_t c1, int par) {
  int64_t Og = g->O / g->groups, Cg = g->C / g->groups, K = Cg * g->kH * g->kW, P = g->OH * g->OW;
  int direct = pointwise(g);
  for (int64_t c = c0; c < c1; c++) {
    int64_t n0 = c * pl->nb, m = g->N - n0 < pl->nb ? g->N - n0 : pl->nb, ld = m * P;
    const T *gbuf = gy + n0 * g->O * P;
    T *col = pl->nb > 1 ? ws + g->O * pl->nb * P : ws;
    if (m > 1) {
      S(gather)(gy, ws, n0, m, g->O, P, par);
      gbuf = ws;
    }
    for (int64_t grp = 0; grp < g->groups; grp++) {
      const T *gyg = gbuf + grp * Og * ld; /* (Og, m*P) */
      int64_t xoff = (n0 * g->C + grp * Cg) * g->H * g->W;
      if (gw) {
        const T *b = col;
        if (direct) b = x + xoff;
        else S(im2col)(g, x, col, n0, m, grp, par);
        S(gemm)(0, 1, Og, K, ld, gyg, ld, b, ld, 1, gw + grp * Og * K, K);
      }
      if (gx) {
        if (direct) {
          S(gemm)(1, 0, K, ld, Og, w + grp * Og * K, K, gyg, ld, 0, gx + xoff, ld);
        } else {
          S(gemm)(1, 0, K, ld, Og, w + grp * Og * K, K, gyg, ld, 0, col, ld);
          S(col2im)(g, col, gx, n0, m, grp, par);
        }
      }
    }
  }
}

/* x (N,C,H,W), w (O, Cg, kH, kW), gy (N,O,OH,OW) -> gx (N,C,H,W) and gw (O,Cg,kH,kW),
   both zeroed by the caller and added into; either may be NULL (and then x, resp. w).
   Slot s takes chunks [s*nchunks/slots, (s+1)*nchunks/slots) and sums its weight
   gradient into gw itself (s = 0) or into partial sum s-1, after the threads'
   workspaces in ws; the partial sums are added to gw in order at the end */
static void S(conv_backward)(const conv_geom *g, const conv_plan *pl, const T *x, const T *w, const T *gy, T *gx,
                             T *gw, T *ws) {
  int64_t OK = g->O * (g->C / g->groups) * g->kH * g->kW, ns = pl->slots, nc = pl->nchunks;
  T *parts = ws + (pl->team ? pl->threads : 1) * pl->ws_thread;
  if (gw && ns > 1) memset(parts, 0, (size_t)((ns - 1) * OK) * sizeof(T));
  if (pl->team) {
#pragma omp parallel num_threads(pl->threads)
    {
      T *mine = ws + omp_get_thread_num() * pl->ws_thread;
#pragma omp for schedule(static)
      for (int64_t s = 0; s < ns; s++)
        S(backward_chunks)(g, pl, x, w, gy, gx, !gw ? NULL : s ? parts + (s - 1) * OK : gw, mine, s * nc / ns,
                           (s + 1) * nc / ns, 0);
    }
  } else {
    for (int64_t s = 0; s < ns; s++)
      S(backward_chunks)(g, pl, x, w, gy, gx, !gw ? NULL : s ? parts + (s - 1) * OK : gw, ws, s * nc / ns,
                         (s + 1) * nc / ns, 1);
  }
  if (gw && ns > 1) {
#pragma omp parallel for schedule(static) if (PAR(ns * OK))
    for (int64_t i = 0; i < OK; i++) {
      T acc = gw[i];
      for (int64_t s = 1; s < ns; s++) acc += parts[(s - 1) * OK + i];
      gw[i] = acc;
    }
  }
}

/* x (planes, H, W) -> y, idx (planes, OH, OW): the max of each window and its
   position ih*W + iw in the plane; padding never wins, NaN always does. The
   columns whose window lies inside the input [wlo, whi) go 16 windows at a
   time, tap by tap (a loop of selects the compiler vectorises; a branch per
   tap mispredicts on real data), the others one window at a time, clipped. */
static void S(max_pool2d_forward)(const pool_geom *g, const T *x, T *y, int64_t *idx) {
  int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, kW = g->kW, sW = g->sW, dW = g->dW, pW = g->pW, wlo, whi;
  interior(sW, pW, dW, kW, W, OW, &wlo, &whi);
  if ((g->kH - 1) * g->dH * W + (kW - 1) * dW > INT32_MAX) wlo = whi = 0; /* taps as int32 offsets */
#pragma omp parallel for schedule(static) if (PAR(g->planes * OH * OW * g->kH * kW))
  for (int64_t pl = 0; pl < g->planes; pl++) {
    const T *xp = x + pl * H * W;
    for (int64_t oh = 0; oh < OH; oh++) {
      T *yr = y + (pl * OH + oh) * OW;
      int64_t *ir = idx + (pl * OH + oh) * OW;
      int64_t h0 = oh * g->sH - g->pH, ilo, ihi; /* kernel rows i with h0 + i*dH in [0, H) */
      valid_range(h0, g->dH, H, g->kH, &ilo, &ihi);
      for (int64_t o0 = wlo; o0 < whi; o0 += 16) { /* 16 windows: their maxima and taps in registers */
        int64_t nw = whi - o0 < 16 ? whi - o0 : 16;
        T bv[16];
        int32_t bt[16]; /* the winning tap's offset from the window's corner */
        for (int l = 0; l < 16; l++) {
          bv[l] = -INFINITY;
          bt[l] = (int32_t)(ilo * g->dH * W);
        }
        for (int64_t i = ilo; i < ihi; i++)
          for (int64_t j = 0; j < kW; j++) {
            int32_t tap = (int32_t)(i * g->dH * W + j * dW);
            const T *src = xp + h0 * W + o0 * sW - pW + tap;
            for (int64_t l = 0; l < nw; l++) {
              T v = src[l * sW];
              int take = v > bv[l] || v != v;
              bv[l] = take ? v : bv[l];
              bt[l] = take ? tap : bt[l];
            }
          }
        for (int64_t l = 0; l < nw; l++) {
          yr[o0 + l] = bv[l];
          ir[o0 + l] = h0 * W + (o0 + l) * sW - pW + bt[l];
        }
      }
      for (int64_t ow = 0; ow < OW; ow++) {
        if (ow == wlo && whi > wlo) ow = whi; /* done above */
        if (ow >= OW) break;
        int64_t w0 = ow * sW - pW, jlo, jhi;
        valid_range(w0, dW, W, kW, &jlo, &jhi);
        T best = -INFINITY;
        int64_t bi = (h0 + ilo * g->dH) * W + w0 + jlo * dW;
        for (int64_t i = ilo; i < ihi; i++) {
          int64_t rowpos = (h0 + i * g->dH) * W + w0;
          for (int64_t j = jlo; j < jhi; j++) {
            T v = xp[rowpos + j * dW];
            if (v > best || v != v) { best = v; bi = rowpos + j * dW; }
          }
        }
        yr[ow] = best;
        ir[ow] = bi;
      }
    }
  }
}

/* gy, idx (planes, OH, OW) -> gx (planes, H, W), zeroed by the caller: each
   gradient added at its index. Returns the number of indices out of range
   (skipped). */
static int64_t S(max_pool2d_backward)(const pool_geom *g, const T *gy, const int64_t *idx, T *gx) {
  int64_t HW = g->H * g->W, Q = g->OH * g->OW, bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad) if (PAR(g->planes * Q))
  for (int64_t pl = 0; pl < g->planes; pl++) {
    const T *gp = gy + pl * Q;
    const int64_t *ip = idx + pl * Q;
    T *xp = gx + pl * HW;
    for (int64_t q = 0; q < Q; q++) {
      if (ip[q] < 0 || ip[q] >= HW) bad++;
      else xp[ip[q]] += gp[q];
    }
  }
  return bad;
}

/* the window of output (oh, ow) clipped to the input, and its divisor */
static inline T S(avg_window)(const pool_geom *g, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1, int64_t *w0,
                              int64_t *w1) {
  int64_t hs = oh * g->sH - g->pH, ws = ow * g->sW - g->pW;
  int64_t he = hs + g->kH < g->H + g->pH ? hs + g->kH : g->H + g->pH;
  int64_t we = ws + g->kW < g->W + g->pW ? ws + g->kW : g->W + g->pW;
  int64_t padded = (he - hs) * (we - ws);
  *h0 = hs > 0 ? hs : 0;
  *w0 = ws > 0 ? ws : 0;
  *h1 = he < g->H ? he : g->H;
  *w1 = we < g->W ? we : g->W;
  return (T)(g->count_include_pad ? padded : (*h1 - *h0) * (*w1 - *w0));
}

/* x (planes, H, W) -> y (planes, OH, OW): window means */
static void S(avg_pool2d_forward)(const pool_geom *g, const T *x, T *y) {
  int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW;
#pragma omp parallel for schedule(static) if (PAR(g->planes * OH * OW * g->kH * g->kW))
  for (int64_t pl = 0; pl < g->planes; pl++) {
    const T *xp = x + pl * H * W;
    T *yp = y + pl * OH * OW;
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t h0, h1, w0, w1;
        T div = S(avg_window)(g, oh, ow, &h0, &h1, &w0, &w1);
        T s = 0;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * W + iw];
        yp[oh * OW + ow] = h0 < h1 && w0 < w1 ? s / div : 0;
      }
  }
}

/* gy (planes, OH, OW) -> gx (planes, H, W), zeroed by the caller */
static void S(avg_pool2d_backward)(const pool_geom *g, const T *gy, T *gx) {
  int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW;
#pragma omp parallel for schedule(static) if (PAR(g->planes * OH * OW * g->kH * g->kW))
  for (int64_t pl = 0; pl < g->planes; pl++) {
    const T *gp = gy + pl * OH * OW;
    T *xp = gx + pl * H * W;
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t h0, h1, w0, w1;
        T div = S(avg_window)(g, oh, ow, &h0, &h1, &w0, &w1), v = gp[oh * OW + ow] / div;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) xp[ih * W + iw] += v;
      }
  }
}

/* x (planes, H, W) -> y (planes, OH, OW); window oh covers rows
   [floor(oh*H/OH), ceil((oh+1)*H/OH)), likewise columns */
static void S(adaptive_avg_pool2d_forward)(const pool_geom *g, const T *x, T *y) {
  int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW;
#pragma omp parallel for schedule(static) if (PAR(g->planes * H * W))
  for (int64_t pl = 0; pl < g->planes; pl++) {
    const T *xp = x + pl * H * W;
    T *yp = y + pl * OH * OW;
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        T s = 0;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * W + iw];
        yp[oh * OW + ow] = s / (T)((h1 - h0) * (w1 - w0));
      }
    }
  }
}

/* gy (planes, OH, OW) -> gx (planes, H, W), zeroed by the caller */
static void S(adaptive_avg_pool2d_backward)(const pool_geom *g, const T *gy, T *gx) {
  int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW;
#pragma omp parallel for schedule(static) if (PAR(g->planes * H * W))
  for (int64_t pl = 0; pl < g->planes; pl++) {
    const T *gp = gy + pl * OH * OW;
    T *xp = gx + pl * H * W;
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        T v = gp[oh * OW + ow] / (T)((h1 - h0) * (w1 - w0));
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) xp[ih * W + iw] += v;
      }
    }
  }
}

#undef T
#endif
