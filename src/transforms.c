/* transforms.c -- batch image transforms (flip, translate, rotate, normalize, one-hot).
 *
 * Each kernel is written once over a type T and instantiated for float and
 * double. Samples are independent, so OpenMP splits the batch; the random
 * parameters arrive as arrays, which keeps results the same for any thread count.
 */
#include "transforms.h"
#include "iter.h"
#include <math.h>
#include <string.h>

/* work in element copies: these kernels are memory-bound, so a thread pays off only
   for large batches (a 128x1x28x28 batch copies in ~30 us, less than waking threads
   on a busy machine costs); rotation weighs ~30 copies per element */
static int par(int64_t work) { return work >= 8 * LT_PAR_GRAIN && lt_get_num_threads() > 1; }

/* a contiguous 4-d float input and an empty output of (N,C,oh,ow) */
static int prepare(lt_tensor *x, int64_t oh, int64_t ow, lt_tensor **in, lt_tensor **out) {
  if (x->ndim != 4) return lt_seterr("expected a (N,C,H,W) tensor, got %d dimensions", x->ndim);
  if (!lt_is_float(x->dtype))
    return lt_seterr("expected a float32 or float64 tensor, got %s", lt_dtype_name(x->dtype));
  int64_t shape[4] = {x->shape[0], x->shape[1], oh, ow};
  if (!(*in = lt_contiguous(x))) return -1;
  if (!(*out = lt_empty(x->dtype, 4, shape))) { lt_release(*in); return -1; }
  return 0;
}

/* x (N,C,H,W) -> out (N,C,H,W); per sample a flag */
#define DEFINE_HFLIP(T)                                                                  \
  static void hflip_##T(const T *x, T *out, int64_t N, int64_t C, int64_t H, int64_t W, \
                        const int64_t *flip) {                                           \
    int64_t plane = H * W;                                                               \
    _Pragma("omp parallel for schedule(static) if (par(N * C * plane))")                 \
    for (int64_t n = 0; n < N; n++) {                                                    \
      const T *src = x + n * C * plane;                                                  \
      T *dst = out + n * C * plane;                                                      \
      if (!flip[n]) { memcpy(dst, src, (size_t)(C * plane) * sizeof(T)); continue; }     \
      for (int64_t r = 0; r < C * H; r++)                                                \
        for (int64_t j = 0; j < W; j++) dst[r * W + j] = src[r * W + W - 1 - j];         \
    }                                                                                    \
  }
DEFINE_HFLIP(float)
DEFINE_HFLIP(double)

lt_tensor *lt_tf_hflip(lt_tensor *x, const int64_t *flip) {
  lt_tensor *in, *out;
  if (prepare(x, x->ndim == 4 ? x->shape[2] : 0, x->ndim == 4 ? x->shape[3] : 0, &in, &out) < 0)
    return NULL;
  const int64_t *s = in->shape;
  if (in->dtype == LT_FLOAT32) hflip_float(lt_data(in), lt_data(out), s[0], s[1], s[2], s[3], flip);
  else hflip_double(lt_data(in), lt_data(out), s[0], s[1], s[2], s[3], flip);
  lt_release(in);
  return out;
}

/* x (N,C,H,W) -> out (N,C,oh,ow); rows and columns clipped to x, the rest fill */
#define DEFINE_TRANSLATE(T)                                                                  \
  static void translate_##T(const T *x, T *out, int64_t N, int64_t C, int64_t H, int64_t W, \
                            int64_t oh, int64_t ow, const int64_t *dy, const int64_t *dx,    \
                            T fill) {                                                        \
    _Pragma("omp parallel for schedule(static) if (par(N * C * oh * ow))")                   \
    for (int64_t n = 0; n < N; n++) {                                                        \
      /* offsets beyond the image give all fill; clamping them first keeps the              \
         arithmetic below from overflowing on any int64 */                                  \
      int64_t sy = dy[n] < -oh ? -oh : dy[n] > H ? H : dy[n];                                \
      int64_t sx = dx[n] < -ow ? -ow : dx[n] > W ? W : dx[n];                                \
      /* output columns j0..j1-1 read x columns j + sx inside 0..W-1 */                      \
      int64_t j0 = sx < 0 ? -sx : 0, j1 = W - sx < ow ? W - sx : ow;                         \
      if (j0 > ow) j0 = ow;                                                                  \
      if (j1 < j0) j1 = j0;                                                                  \
      for (int64_t c = 0; c < C; c++) {                                                      \
        const T *src = x + (n * C + c) * H * W;                                              \
        T *dst = out + (n * C + c) * oh * ow;                                                \
        for (int64_t i = 0; i < oh; i++) {                                                   \
          T *row = dst + i * ow;                                                             \
          int64_t si = i + sy;                                                               \
          if (si < 0 || si >= H) {                                                           \
            for (int64_t j = 0; j < ow; j++) row[j] = fill;                                  \
            continue;                                                                        \
          }                                                                                  \
          for (int64_t j = 0; j < j0; j++) row[j] = fill;                                    \
          if (j1 > j0) memcpy(row + j0, src + si * W + j0 + sx, (size_t)(j1 - j0) * sizeof(T)); \
          for (int64_t j = j1; j < ow; j++) row[j] = fill;                                   \
        }                                                                                    \
      }                                                                                      \
    }                                                                                        \
  }
DEFINE_TRANSLATE(float)
DEFINE_TRANSLATE(double)

lt_tensor *lt_tf_translate(lt_tensor *x, int64_t oh, int64_t ow, const int64_t *dy,
                           const int64_t *dx, double fill) {
  if (oh < 1 || ow < 1)
    return lt_seterr("output size must be positive, got %lldx%lld", (long long)oh, (long long)ow), NULL;
  lt_tensor *in, *out;
  if (prepare(x, oh, ow, &in, &out) < 0) return NULL;
  const int64_t *s = in->shape;
  if (in->dtype == LT_FLOAT32)
    translate_float(lt_data(in), lt_data(out), s[0], s[1], s[2], s[3], oh, ow, dy, dx, (float)fill);
  else
    translate_double(lt_data(in), lt_data(out), s[0], s[1], s[2], s[3], oh, ow, dy, dx, fill);
  lt_release(in);
  return out;
}

/* a coordinate within 1e-9 of a whole number is that number, so right angles
   land exactly on pixels instead of blending in a 1e-17 share of a neighbour */
static double snap(double v) {
  double r = nearbyint(v);
  return fabs(v - r) < 1e-9 ? r : v;
}

/* x (N,C,H,W) -> out (N,C,H,W). For an output pixel at (y, x) from the
   centre (y down), the source is (cx + x cos - y sin, cy + x sin + y cos),
   the inverse of a counter-clockwise turn as the image is displayed. */
#define DEFINE_ROTATE(T)                                                                   \
  static void rotate_##T(const T *x, T *out, int64_t N, int64_t C, int64_t H, int64_t W,  \
                         const double *deg, T fill) {                                      \
    double cy = (double)(H - 1) / 2, cx = (double)(W - 1) / 2;                             \
    _Pragma("omp parallel for schedule(static) if (par(32 * N * C * H * W))")               \
    for (int64_t n = 0; n < N; n++) {                                                      \
      double a = deg[n] * (3.141592653589793 / 180), cs = cos(a), sn = sin(a);             \
      for (int64_t i = 0; i < H; i++)                                                      \
        for (int64_t j = 0; j < W; j++) {                                                  \
          double px = (double)j - cx, py = (double)i - cy;                                 \
          double sx = snap(cx + px * cs - py * sn), sy = snap(cy + px * sn + py * cs);     \
          double fx = floor(sx), fy = floor(sy), wx = sx - fx, wy = sy - fy;               \
          int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;                                      \
          int in_x0 = x0 >= 0 && x0 < W, in_x1 = x0 + 1 >= 0 && x0 + 1 < W;                \
          int in_y0 = y0 >= 0 && y0 < H, in_y1 = y0 + 1 >= 0 && y0 + 1 < H;                \
          for (int64_t c = 0; c < C; c++) {                                                \
            const T *p = x + (n * C + c) * H * W;                                          \
            double v00 = in_y0 && in_x0 ? p[y0 * W + x0] : fill;                           \
            double v01 = in_y0 && in_x1 && wx > 0 ? p[y0 * W + x0 + 1] : fill;             \
            double v10 = in_y1 && in_x0 && wy > 0 ? p[(y0 + 1) * W + x0] : fill;           \
            double v11 = in_y1 && in_x1 && wx > 0 && wy > 0 ? p[(y0 + 1) * W + x0 + 1] : fill; \
            double top = v00 + wx * (v01 - v00), bot = v10 + wx * (v11 - v10);             \
            out[((n * C + c) * H + i) * W + j] = (T)(wy > 0 ? top + wy * (bot - top) : top); \
          }                                                                                \
        }                                                                                  \
    }                                                                                      \
  }
DEFINE_ROTATE(float)
DEFINE_ROTATE(double)

lt_tensor *lt_tf_rotate(lt_tensor *x, const double *deg, double fill) {
  for (int64_t n = 0; x->ndim == 4 && n < x->shape[0]; n++)
    if (!isfinite(deg[n])) return lt_seterr("angle %lld is %g, expected a finite number", (long long)n + 1, deg[n]), NULL;
  lt_tensor *in, *out;
  if (prepare(x, x->ndim == 4 ? x->shape[2] : 0, x->ndim == 4 ? x->shape[3] : 0, &in, &out) < 0)
    return NULL;
  const int64_t *s = in->shape;
  if (in->dtype == LT_FLOAT32) rotate_float(lt_data(in), lt_data(out), s[0], s[1], s[2], s[3], deg, (float)fill);
  else rotate_double(lt_data(in), lt_data(out), s[0], s[1], s[2], s[3], deg, fill);
  lt_release(in);
  return out;
}

/* multiply by 1/std rather than divide: one rounding step more, but the loop
   vectorises; the spec compares with a tolerance */
#define DEFINE_NORMALIZE(T)                                                                  \
  static void normalize_##T(const T *x, T *out, int64_t N, int64_t C, int64_t plane,        \
                            const double *mean, const double *std) {                         \
    _Pragma("omp parallel for schedule(static) if (par(N * C * plane))")                     \
    for (int64_t r = 0; r < N * C; r++) {                                                    \
      T m = (T)mean[r % C], inv = (T)(1.0 / std[r % C]);                                     \
      const T *src = x + r * plane;                                                          \
      T *dst = out + r * plane;                                                              \
      for (int64_t k = 0; k < plane; k++) dst[k] = (src[k] - m) * inv;                       \
    }                                                                                        \
  }
DEFINE_NORMALIZE(float)
DEFINE_NORMALIZE(double)

lt_tensor *lt_tf_normalize(lt_tensor *x, const double *mean, const double *std) {
  lt_tensor *in, *out;
  if (prepare(x, x->ndim == 4 ? x->shape[2] : 0, x->ndim == 4 ? x->shape[3] : 0, &in, &out) < 0)
    return NULL;
  for (int64_t c = 0; c < in->shape[1]; c++)
    if (!(std[c] > 0) || !isfinite(std[c]) || !isfinite(mean[c])) {
      lt_release(in); lt_release(out);
      return lt_seterr("channel %lld: std must be positive and finite and mean finite, got mean %g, std %g",
                       (long long)c + 1, mean[c], std[c]), NULL;
    }
  const int64_t *s = in->shape;
  if (in->dtype == LT_FLOAT32) normalize_float(lt_data(in), lt_data(out), s[0], s[1], s[2] * s[3], mean, std);
  else normalize_double(lt_data(in), lt_data(out), s[0], s[1], s[2] * s[3], mean, std);
  lt_release(in);
  return out;
}

lt_tensor *lt_tf_one_hot(lt_tensor *labels, int64_t k, int64_t first) {
  if (labels->dtype != LT_INT64)
    return lt_seterr("labels must be int64, got %s", lt_dtype_name(labels->dtype)), NULL;
  if (labels->ndim >= LT_MAX_DIM)
    return lt_seterr("labels may have at most %d dimensions, got %d", LT_MAX_DIM - 1, labels->ndim), NULL;
  if (k < 1) return lt_seterr("num_classes must be positive, got %lld", (long long)k), NULL;
  lt_tensor *in = lt_contiguous(labels);
  if (!in) return NULL;
  int64_t shape[LT_MAX_DIM];
  memcpy(shape, in->shape, (size_t)in->ndim * sizeof *shape);
  shape[in->ndim] = k;
  int64_t n = lt_numel(in);
  const int64_t *y = lt_data(in);
  for (int64_t i = 0; i < n; i++)
    if (y[i] < first || y[i] - first >= k) {
      lt_release(in);
      return lt_seterr("label %lld at element %lld is outside %lld..%lld", (long long)y[i],
                       (long long)i + 1, (long long)first, (long long)(first + k - 1)), NULL;
    }
  lt_tensor *out = lt_zeros(LT_FLOAT32, in->ndim + 1, shape);
  if (out) {
    float *o = lt_data(out);
    for (int64_t i = 0; i < n; i++) o[i * k + (y[i] - first)] = 1;
  }
  lt_release(in);
  return out;
}
