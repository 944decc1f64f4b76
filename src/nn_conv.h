/* nn_conv.h -- convolution and pooling kernels (NCHW), forward and backward.
 *
 * C core, no Lua and no autograd: the binding layer checks Lua arguments, and
 * autograd pairs each forward with its *_backward. Conventions as tensor.h:
 * 0-based, every returned tensor a new reference, errors as NULL (or -1) with
 * a message in lt_errmsg() that names the function and the shapes.
 *
 * Inputs are float32 or float64 (all tensors of one call the same dtype) and
 * may be any strided view; outputs are new contiguous tensors. Spatial
 * parameters are {height, width} pairs, like PyTorch's; a binding turns an int
 * into a pair and supplies PyTorch's defaults (pool stride = kernel size).
 *
 * Output sizes (per spatial dim, integer division rounding down):
 *   conv2d            out = (in + 2*pad - dil*(k-1) - 1) / stride + 1
 *   conv_transpose2d  out = (in-1)*stride - 2*pad + dil*(k-1) + output_padding + 1
 *   max/avg_pool2d    as conv2d (avg: dil = 1); with ceil_mode rounding up, but
 *                     the last window must start inside the input or its left padding
 *   adaptive_avg      given; window i covers [floor(i*in/out), ceil((i+1)*in/out))
 *
 * Backward functions take the forward's arguments (or the input's shape where
 * the input itself is not needed) and return gradients of the same shapes as
 * the forward's inputs. 1-d convolution is 2-d with H = 1: lt_conv1d* are thin
 * wrappers; 1-d pooling the binding does by viewing (N,C,L) as (N,C,1,L).
 */
#ifndef LUNET_NN_CONV_H
#define LUNET_NN_CONV_H

#include "tensor.h"

/* ---- convolution --------------------------------------------------------------- */

/* input (N,C,H,W), weight (O, C/groups, kH, kW), bias (O) or NULL -> (N,O,OH,OW) */
lt_tensor *lt_conv2d(lt_tensor *input, lt_tensor *weight, lt_tensor *bias,
                     const int64_t stride[2], const int64_t padding[2],
                     const int64_t dilation[2], int64_t groups);

/* grad_output (N,O,OH,OW) -> grad_input (N,C,H,W), grad_weight (O, C/groups, kH, kW),
   grad_bias (O). Pass NULL for a gradient that is not wanted (it is not computed);
   the others receive new tensors. 0 on success; -1 (all outputs NULL) on error. */
int lt_conv2d_backward(lt_tensor *grad_output, lt_tensor *input, lt_tensor *weight,
                       const int64_t stride[2], const int64_t padding[2],
                       const int64_t dilation[2], int64_t groups,
                       lt_tensor **grad_input, lt_tensor **grad_weight, lt_tensor **grad_bias);

/* input (N,C,H,W), weight (C, O/groups, kH, kW), bias (O) or NULL -> (N,O,OH,OW);
   output_padding[i] < stride[i] or < dilation[i]. Argument order as PyTorch's
   F.conv_transpose2d (groups before dilation). It is conv2d's input gradient. */
lt_tensor *lt_conv_transpose2d(lt_tensor *input, lt_tensor *weight, lt_tensor *bias,
                               const int64_t stride[2], const int64_t padding[2],
                               const int64_t output_padding[2], int64_t groups,
                               const int64_t dilation[2]);

/* grad_output (N,O,OH,OW) -> grad_input (N,C,H,W), grad_weight (C, O/groups, kH, kW),
   grad_bias (O); NULL pointers as lt_conv2d_backward */
int lt_conv_transpose2d_backward(lt_tensor *grad_output, lt_tensor *input, lt_tensor *weight,
                                 const int64_t stride[2], const int64_t padding[2],
                                 const int64_t output_padding[2], int64_t groups,
                                 const int64_t dilation[2], lt_tensor **grad_input,
                                 lt_tensor **grad_weight, lt_tensor **grad_bias);

/* 1-d: input (N,C,L), weight (O, C/groups, k), bias (O) or NULL -> (N,O,OL) */
lt_tensor *lt_conv1d(lt_tensor *input, lt_tensor *weight, lt_tensor *bias, int64_t stride,
                     int64_t padding, int64_t dilation, int64_t groups);
int lt_conv1d_backward(lt_tensor *grad_output, lt_tensor *input, lt_tensor *weight,
                       int64_t stride, int64_t padding, int64_t dilation, int64_t groups,
                       lt_tensor **grad_input, lt_tensor **grad_weight, lt_tensor **grad_bias);

/* Samples per GEMM: convolution im2col's a chunk of the batch into one
   (C/groups*kH*kW, chunk*OH*OW) matrix so that small images still make a GEMM
   of a few hundred columns. 0 (the default) sizes chunks from the shapes; n > 0
   caps them at n samples (tests use it to cover every path; benchmarks to tune).
   Not thread-safe: a process-wide setting. */
void lt_conv_set_max_chunk(int64_t n);

/* ---- pooling --------------------------------------------------------------------- */

/* input (N,C,H,W) -> values (N,C,OH,OW) and indices (N,C,OH,OW) int64, the flat
   position ih*W + iw of each maximum within its H*W plane. Padding is -inf;
   padding[i] <= kernel[i]/2. NaN wins, as in PyTorch. 0 or -1. */
int lt_max_pool2d(lt_tensor *input, const int64_t kernel[2], const int64_t stride[2],
                  const int64_t padding[2], const int64_t dilation[2], int ceil_mode,
                  lt_tensor **values, lt_tensor **indices);

/* grad_output and indices (N,C,OH,OW) -> grad_input of input_shape (N,C,H,W):
   each gradient added at its argmax */
lt_tensor *lt_max_pool2d_backward(lt_tensor *grad_output, lt_tensor *indices,
                                  const int64_t input_shape[4]);

/* input (N,C,H,W) -> (N,C,OH,OW). The divisor is the window's size clipped to
   input + padding (count_include_pad) or to the input alone. */
lt_tensor *lt_avg_pool2d(lt_tensor *input, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], int ceil_mode, int count_include_pad);
lt_tensor *lt_avg_pool2d_backward(lt_tensor *grad_output, const int64_t input_shape[4],
                                  const int64_t kernel[2], const int64_t stride[2],
                                  const int64_t padding[2], int ceil_mode,
                                  int count_include_pad);

/* input (N,C,H,W) -> (N,C,output_size[0],output_size[1]) */
lt_tensor *lt_adaptive_avg_pool2d(lt_tensor *input, const int64_t output_size[2]);
lt_tensor *lt_adaptive_avg_pool2d_backward(lt_tensor *grad_output, const int64_t input_shape[4]);

#endif
