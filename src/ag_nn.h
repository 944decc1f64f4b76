/* ag_nn.h -- differentiable forms of the layer kernels (nn_conv.h,
 * nn_kernels.h, nn_rnn.h): each runs the kernel, and when an input requires
 * grad records a node whose backward is the kernel's hand-written backward.
 *
 * Arguments as the kernels' (0-based class and token indices; optional
 * tensors NULL). Ops with several differentiable outputs return them packed
 * in one tensor, which the caller splits with differentiable views (ag_select,
 * ag_narrow): the engine sums the views' gradients back into the pack.
 */
#ifndef LUNET_AG_NN_H
#define LUNET_AG_NN_H

#include "autograd.h"
#include "nn_kernels.h"

/* x (..., in), w (out, in), b (out) or NULL -> (..., out): one GEMM, bias fused */
lt_tensor *ag_linear(lt_tensor *x, lt_tensor *w, lt_tensor *b);

lt_tensor *ag_conv2d(lt_tensor *x, lt_tensor *w, lt_tensor *b, const int64_t stride[2],
                     const int64_t padding[2], const int64_t dilation[2], int64_t groups);
lt_tensor *ag_conv1d(lt_tensor *x, lt_tensor *w, lt_tensor *b, int64_t stride, int64_t padding,
                     int64_t dilation, int64_t groups);
lt_tensor *ag_conv_transpose2d(lt_tensor *x, lt_tensor *w, lt_tensor *b, const int64_t stride[2],
                               const int64_t padding[2], const int64_t output_padding[2],
                               int64_t groups, const int64_t dilation[2]);
/* values (differentiable) and *indices (0-based flat positions, not) */
lt_tensor *ag_max_pool2d(lt_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], const int64_t dilation[2], int ceil_mode,
                         lt_tensor **indices);
lt_tensor *ag_avg_pool2d(lt_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], int ceil_mode, int count_include_pad);
lt_tensor *ag_adaptive_avg_pool2d(lt_tensor *x, const int64_t output_size[2]);

/* losses: differentiable in their first argument */
lt_tensor *ag_cross_entropy(lt_tensor *logits, lt_tensor *target, lt_tensor *weight,
                            int64_t ignore_index, double label_smoothing, lt_loss_reduction r);
lt_tensor *ag_nll_loss(lt_tensor *logp, lt_tensor *target, lt_tensor *weight, int64_t ignore_index,
                       lt_loss_reduction r);
lt_tensor *ag_binary_cross_entropy(lt_tensor *p, lt_tensor *y, lt_tensor *weight, lt_loss_reduction r);
lt_tensor *ag_binary_cross_entropy_with_logits(lt_tensor *x, lt_tensor *y, lt_tensor *weight,
                                               lt_tensor *pos_weight, lt_loss_reduction r);

lt_tensor *ag_embedding(lt_tensor *weight, lt_tensor *indices, int64_t padding_idx);
lt_tensor *ag_batch_norm(lt_tensor *x, lt_tensor *weight, lt_tensor *bias, lt_tensor *running_mean,
                         lt_tensor *running_var, int training, double momentum, double eps);
lt_tensor *ag_layer_norm(lt_tensor *x, int norm_ndim, lt_tensor *weight, lt_tensor *bias, double eps);
/* y = x * mask / (1 - p), mask ~ Bernoulli(1 - p); x itself when not training or p = 0 */
lt_tensor *ag_dropout(lt_tensor *x, double p, int training);

/* packed (T+2,B,H): [h0, h1..hT, cT]; the output is rows 2..T+1 */
lt_tensor *ag_lstm(lt_tensor *xg, lt_tensor *h0, lt_tensor *c0, lt_tensor *w_hh);
/* packed (T+1,B,H): [h0, h1..hT] */
lt_tensor *ag_gru(lt_tensor *xg, lt_tensor *h0, lt_tensor *w_hh, lt_tensor *b_hh);
/* packed (2,B,H): [h, c] */
lt_tensor *ag_lstm_cell(lt_tensor *gates, lt_tensor *c_prev);
lt_tensor *ag_gru_cell(lt_tensor *gi, lt_tensor *gh, lt_tensor *h_prev);

#endif
