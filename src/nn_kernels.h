/* nn_kernels.h -- fused kernels for the nn layer: losses, recurrent cells,
 * embedding and normalisation, each a _forward / _backward pair.
 *
 * C core only: no Lua, no autograd. The autograd layer calls a forward, saves
 * the tensors named in its comment, and calls the matching backward with them.
 * The definitions follow PyTorch 1.13 (the formulas are in nn_kernels.c).
 *
 * Conventions (those of tensor.h):
 *   - 0-based everywhere: class targets, embedding indices, ignore_index,
 *     padding_idx. Error messages report the 0-based value and say so
 *     ("(0-based)"); the binding shifts 1-based Lua values before calling and
 *     is the one place that translates.
 *   - float operands are float32 or float64 and must all have one dtype; index
 *     operands are int64. Inputs may be any strided view (they are made
 *     contiguous first); every output is a new contiguous tensor the caller
 *     owns. Optional tensor arguments are NULL when absent; optional outputs
 *     (lt_tensor **) may be NULL when not wanted.
 *   - a failing call returns NULL (or -1), leaves a message in lt_errmsg()
 *     naming the argument and the shapes, and has released whatever it made.
 *     Messages carry no function name: the binding prefixes its own.
 *   - sums (losses, statistics, parameter gradients) accumulate in double in a
 *     fixed order, so results do not depend on the thread count.
 */
#ifndef LUNET_NN_KERNELS_H
#define LUNET_NN_KERNELS_H

#include "tensor.h"

typedef enum { LT_LOSS_NONE = 0, LT_LOSS_MEAN = 1, LT_LOSS_SUM = 2 } lt_loss_reduction;

/* ---- cross entropy and nll_loss ---------------------------------------------
 * logits / logp: (C) with a 0-d target, or (N, C, d1, ..., dk) with target
 * (N, d1, ..., dk): the class dimension is dimension 1 and the kernel handles
 * the trailing dimensions itself (the caller does not permute or flatten).
 * target: int64, 0-based class indices in [0, C) or equal to ignore_index.
 * weight: (C) class weights, or NULL. label_smoothing: in [0, 1].
 * Result: target's shape for LT_LOSS_NONE, else a 0-d tensor.
 *
 * Per position with class t (w = weight or 1, W = sum of w, e = smoothing):
 *   loss = (1 - e) * (-w[t] logp[t]) + e / C * (-sum_c w[c] logp[c]),
 * 0 where t == ignore_index; LT_LOSS_MEAN divides the sum by the sum of w[t]
 * over positions not ignored (NaN when all are ignored), as PyTorch.
 * PyTorch's F.nll_loss has no label smoothing: pass 0 for it.
 *
 * cross_entropy_forward fuses log_softmax and the loss; *logp (optional)
 * receives log_softmax(logits), logits' shape, which is all backward needs
 * (save logp, target, weight). grad_loss: target's shape for LT_LOSS_NONE,
 * else one element. Returns grad_logits = scale * (softmax - smoothed,
 * weighted one-hot), zero where the target is ignored. */
lt_tensor *lt_cross_entropy_forward(lt_tensor *logits, lt_tensor *target, lt_tensor *weight,
                                    int64_t ignore_index, double label_smoothing,
                                    lt_loss_reduction reduction, lt_tensor **logp);
lt_tensor *lt_cross_entropy_backward(lt_tensor *grad_loss, lt_tensor *logp, lt_tensor *target,
                                     lt_tensor *weight, int64_t ignore_index,
                                     double label_smoothing, lt_loss_reduction reduction);
lt_tensor *lt_nll_loss_forward(lt_tensor *logp, lt_tensor *target, lt_tensor *weight,
                               int64_t ignore_index, double label_smoothing,
                               lt_loss_reduction reduction);
/* logp is read for its shape and dtype only: the gradient does not depend on it */
lt_tensor *lt_nll_loss_backward(lt_tensor *grad_loss, lt_tensor *logp, lt_tensor *target,
                                lt_tensor *weight, int64_t ignore_index, double label_smoothing,
                                lt_loss_reduction reduction);

/* ---- binary cross entropy ---------------------------------------------------
 * input, target: one shape (target float, same dtype). weight: broadcastable
 * to input, or NULL. pos_weight: broadcastable to input (typically (C) for
 * input (N, C)), or NULL. LT_LOSS_MEAN divides by the number of elements.
 *   with logits: loss = w * ((1 - y) x + (1 + (pw - 1) y) * log(1 + e^-x)),
 *                computed as max(-x, 0) + log1p(e^-|x|) for the softplus
 *   on probabilities: loss = -w * (y max(log p, -100) + (1 - y) max(log(1 - p), -100)),
 *                input must lie in [0, 1]; backward divides by
 *                max(p (1 - p), 1e-12), both as PyTorch.
 * Backward returns the gradient for input only (not for target). Save input,
 * target, weight, pos_weight. */
lt_tensor *lt_binary_cross_entropy_with_logits_forward(lt_tensor *input, lt_tensor *target,
                                                       lt_tensor *weight, lt_tensor *pos_weight,
                                                       lt_loss_reduction reduction);
lt_tensor *lt_binary_cross_entropy_with_logits_backward(lt_tensor *grad_loss, lt_tensor *input,
                                                        lt_tensor *target, lt_tensor *weight,
                                                        lt_tensor *pos_weight,
                                                        lt_loss_reduction reduction);
lt_tensor *lt_binary_cross_entropy_forward(lt_tensor *input, lt_tensor *target,
                                           lt_tensor *weight, lt_loss_reduction reduction);
lt_tensor *lt_binary_cross_entropy_backward(lt_tensor *grad_loss, lt_tensor *input,
                                            lt_tensor *target, lt_tensor *weight,
                                            lt_loss_reduction reduction);

/* ---- LSTM cell --------------------------------------------------------------
 * gates_pre (B, 4H) = x W_ih^T + b_ih + h W_hh^T + b_hh, computed by the caller
 * (one GEMM for all four gates), in PyTorch's order i, f, g, o.
 * c_prev (B, H). Outputs h (B, H), c (B, H) and gates (B, 4H): the activated
 * i = sigmoid, f = sigmoid, g = tanh, o = sigmoid, which backward needs.
 *   c = f * c_prev + i * g,  h = o * tanh(c)
 * Backward from grad_h and grad_c (either may be NULL: no gradient there;
 * each (B, H)), with the saved gates, c_prev and c, gives grad_gates_pre
 * (B, 4H) and grad_c_prev (B, H). Returns 0, or -1 with nothing allocated. */
int lt_lstm_cell_forward(lt_tensor *gates_pre, lt_tensor *c_prev, lt_tensor **h, lt_tensor **c,
                         lt_tensor **gates);
int lt_lstm_cell_backward(lt_tensor *grad_h, lt_tensor *grad_c, lt_tensor *gates,
                          lt_tensor *c_prev, lt_tensor *c, lt_tensor **grad_gates_pre,
                          lt_tensor **grad_c_prev);
/* the same into caller-allocated outputs (contiguous, the input's dtype, not
   overlapping any input), which the sequence kernels reuse step after step */
int lt_lstm_cell_forward_into(lt_tensor *gates_pre, lt_tensor *c_prev, lt_tensor *h, lt_tensor *c,
                              lt_tensor *gates);
int lt_lstm_cell_backward_into(lt_tensor *grad_h, lt_tensor *grad_c, lt_tensor *gates, lt_tensor *c_prev,
                               lt_tensor *c, lt_tensor *grad_gates_pre, lt_tensor *grad_c_prev);

/* ---- GRU cell ---------------------------------------------------------------
 * gi (B, 3H) = x W_ih^T + b_ih and gh (B, 3H) = h_prev W_hh^T + b_hh, given
 * separately (r multiplies only the hidden part of n), order r, z, n:
 *   r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z),
 *   n = tanh(gi_n + r * gh_n), h = (1 - z) * n + z * h_prev
 * Outputs h (B, H) and ws (B, 4H) = [r, z, n, gh_n], saved for backward with
 * h_prev. Backward from grad_h (B, H) gives grad_gi (B, 3H), grad_gh (B, 3H)
 * and grad_h_prev (B, H), the last being the direct path z * grad_h only: the
 * caller adds grad_gh W_hh for the path through gh. */
int lt_gru_cell_forward(lt_tensor *gi, lt_tensor *gh, lt_tensor *h_prev, lt_tensor **h,
                        lt_tensor **ws);
int lt_gru_cell_backward(lt_tensor *grad_h, lt_tensor *ws, lt_tensor *h_prev,
                         lt_tensor **grad_gi, lt_tensor **grad_gh, lt_tensor **grad_h_prev);
/* the same into caller-allocated outputs, as the LSTM's _into forms */
int lt_gru_cell_forward_into(lt_tensor *gi, lt_tensor *gh, lt_tensor *h_prev, lt_tensor *h, lt_tensor *ws);
int lt_gru_cell_backward_into(lt_tensor *grad_h, lt_tensor *ws, lt_tensor *h_prev, lt_tensor *grad_gi,
                              lt_tensor *grad_gh, lt_tensor *grad_h_prev);

/* ---- embedding --------------------------------------------------------------
 * weight (V, D), indices int64 of any shape (..., 0-based in [0, V)) ->
 * out (..., D), rows of weight gathered. An index out of range is an error
 * naming its 0-based value. Backward scatter-adds grad_out (..., D) into a
 * zero (V, D); the row padding_idx (< 0: none) gets no gradient. It is
 * deterministic: each row sums its contributions in index order, rows in
 * parallel, no atomics. Save indices (and V = weight->shape[0]). */
lt_tensor *lt_embedding_forward(lt_tensor *weight, lt_tensor *indices);
lt_tensor *lt_embedding_backward(lt_tensor *grad_out, lt_tensor *indices, int64_t num_weights,
                                 int64_t padding_idx);

/* ---- batch norm -------------------------------------------------------------
 * x (N, C) or (N, C, d1, ...) (any number of trailing dims, treated as
 * (N, C, L)); weight, bias, running_mean, running_var: (C) or NULL.
 * training: normalise with the batch mean and biased variance over N*L values
 *   per channel (more than one needed) and, when running_mean / running_var
 *   are given, update them in place:
 *   running = (1 - momentum) * running + momentum * batch, with the UNBIASED
 *   variance (PyTorch's momentum=None, a cumulative average, is the caller
 *   passing momentum = 1 / num_batches_tracked).
 * eval (training = 0): normalise with running_mean / running_var (required).
 * y = (x - mean) * invstd * weight + bias, invstd = 1 / sqrt(var + eps).
 * Outputs y (x's shape), save_mean and save_invstd (C): the statistics used
 * (batch or running), which backward takes with x and weight. Backward gives
 * grad_x, grad_weight, grad_bias (each optional); in eval mode the statistics
 * are constants, in training they depend on x. */
int lt_batch_norm_forward(lt_tensor *x, lt_tensor *weight, lt_tensor *bias,
                          lt_tensor *running_mean, lt_tensor *running_var, int training,
                          double momentum, double eps, lt_tensor **y, lt_tensor **save_mean,
                          lt_tensor **save_invstd);
int lt_batch_norm_backward(lt_tensor *grad_y, lt_tensor *x, lt_tensor *weight,
                           lt_tensor *save_mean, lt_tensor *save_invstd, int training,
                           lt_tensor **grad_x, lt_tensor **grad_weight, lt_tensor **grad_bias);

/* ---- layer norm -------------------------------------------------------------
 * Normalises over the last norm_ndim dims of x (1 <= norm_ndim <= x->ndim);
 * weight and bias (NULL or x's last norm_ndim dims) apply elementwise.
 * Rows: M = product of the leading dims; each row of n = product of the last
 * dims gets mean, biased variance and rstd = 1 / sqrt(var + eps).
 * Outputs y (x's shape), mean and rstd (M) (1-d); backward takes them with x
 * and weight and gives grad_x, grad_weight, grad_bias (each optional). */
int lt_layer_norm_forward(lt_tensor *x, int norm_ndim, lt_tensor *weight, lt_tensor *bias,
                          double eps, lt_tensor **y, lt_tensor **mean, lt_tensor **rstd);
int lt_layer_norm_backward(lt_tensor *grad_y, lt_tensor *x, int norm_ndim, lt_tensor *weight,
                           lt_tensor *mean, lt_tensor *rstd, lt_tensor **grad_x,
                           lt_tensor **grad_weight, lt_tensor **grad_bias);

#endif
