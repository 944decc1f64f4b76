/* transforms.h -- batch image transforms for data augmentation (pure C, no Lua).
 *
 * Images are contiguous float32 or float64 tensors of shape (N,C,H,W); every
 * random parameter comes in per sample, drawn by the caller from lunet's
 * seeded RNG, so a batch's result depends on the seed and not on the thread
 * count. Each function returns a new tensor (NULL + lt_errmsg on failure).
 */
#ifndef LUNET_TRANSFORMS_H
#define LUNET_TRANSFORMS_H

#include "tensor.h"

/* out[n] = x[n] with its columns reversed where flip[n] != 0 */
lt_tensor *lt_tf_hflip(lt_tensor *x, const int64_t *flip);

/* out (N,C,oh,ow): out[n,c,i,j] = x[n,c,i+dy[n],j+dx[n]], or fill where that
   falls outside x. A crop with padding and a shift are both this. */
lt_tensor *lt_tf_translate(lt_tensor *x, int64_t oh, int64_t ow, const int64_t *dy,
                           const int64_t *dx, double fill);

/* out[n] = x[n] rotated deg[n] degrees counter-clockwise about the image
   centre, sampled bilinearly; neighbours outside x count as fill */
lt_tensor *lt_tf_rotate(lt_tensor *x, const double *deg, double fill);

/* out[n,c] = (x[n,c] - mean[c]) / std[c] */
lt_tensor *lt_tf_normalize(lt_tensor *x, const double *mean, const double *std);

/* labels (int64, any shape) -> float32 (..., k): 1 at label - first, else 0.
   A label outside first..first+k-1 is an error naming it and its position. */
lt_tensor *lt_tf_one_hot(lt_tensor *labels, int64_t k, int64_t first);

#endif
