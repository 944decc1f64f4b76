/* nn_rnn.h -- whole-sequence LSTM and GRU layers (one layer, one direction),
 * forward and backward through time, on the fused cells of nn_kernels.h.
 *
 * C core, no Lua, no autograd; conventions of tensor.h (errors: -1 and a
 * message in lt_errmsg()). Time-major: T steps of a batch of B, hidden size H.
 * The input projection x W_ih^T (+ biases) for all steps is one GEMM the
 * caller makes; here each step adds h_{t-1} W_hh^T (one GEMM for all gates)
 * and runs the cell. The recurrent weight's gradient is one GEMM over the
 * whole sequence at the end, not T small ones.
 */
#ifndef LUNET_NN_RNN_H
#define LUNET_NN_RNN_H

#include "tensor.h"

/* xg (T,B,4H) = x W_ih^T + b_ih + b_hh, gates in PyTorch's order i, f, g, o;
 * h0, c0 (B,H); w_hh (4H,H). Fills caller-allocated contiguous outputs:
 * hs (T+1,B,H) = [h0, h1..hT], cs (T+1,B,H) = [c0, c1..cT] and gates
 * (T,B,4H), the activated gates. hs, cs and gates are what backward needs. */
int lt_lstm_seq_forward(lt_tensor *xg, lt_tensor *h0, lt_tensor *c0, lt_tensor *w_hh,
                        lt_tensor *hs, lt_tensor *cs, lt_tensor *gates);

/* grad_out (T,B,H) the gradient of h1..hT, grad_cT (B,H) that of cT (either
 * NULL: none). New tensors: grad_xg (T,B,4H), grad_h0, grad_c0 (B,H),
 * grad_w_hh (4H,H); a NULL pointer skips that output. */
int lt_lstm_seq_backward(lt_tensor *grad_out, lt_tensor *grad_cT, lt_tensor *hs, lt_tensor *cs,
                         lt_tensor *gates, lt_tensor *w_hh, lt_tensor **grad_xg,
                         lt_tensor **grad_h0, lt_tensor **grad_c0, lt_tensor **grad_w_hh);

/* xg (T,B,3H) = x W_ih^T + b_ih, order r, z, n; h0 (B,H); w_hh (3H,H);
 * b_hh (3H) or NULL. Fills hs (T+1,B,H) = [h0, h1..hT] and ws (T,B,4H),
 * the cell's saved [r, z, n, gh_n] per step. */
int lt_gru_seq_forward(lt_tensor *xg, lt_tensor *h0, lt_tensor *w_hh, lt_tensor *b_hh,
                       lt_tensor *hs, lt_tensor *ws);

/* grad_out (T,B,H) or NULL. New tensors grad_xg (T,B,3H), grad_h0 (B,H),
 * grad_w_hh (3H,H), grad_b_hh (3H); a NULL pointer skips that output. */
int lt_gru_seq_backward(lt_tensor *grad_out, lt_tensor *hs, lt_tensor *ws, lt_tensor *w_hh,
                        lt_tensor **grad_xg, lt_tensor **grad_h0, lt_tensor **grad_w_hh,
                        lt_tensor **grad_b_hh);

#endif
