/* ag_nn.c -- autograd nodes for the layer kernels. Each forward calls its
 * kernel and saves what the kernel's backward takes; each backward calls it
 * and asks only for the gradients some input needs. Optional tensors are
 * saved after the required ones, with a flag in node->i saying they exist.
 */
#include "ag_nn.h"
#include "ag_util.h"
#include "nn_conv.h"
#include "nn_rnn.h"
#include <string.h>

/* save each tensor that is not NULL, in order */
static int save_all(lt_node *node, int n, lt_tensor *const *ts) {
  for (int k = 0; k < n; k++)
    if (ts[k] && lt_save(node, ts[k]) < 0) return -1;
  return 0;
}

/* the saved tensor after the k required ones, if flag says it was saved */
static lt_tensor *saved_opt(lt_node *n, int *k, int64_t flag) { return flag ? lt_saved(n, (*k)++) : NULL; }

static void pair_to(int64_t *dst, const int64_t src[2]) { dst[0] = src[0]; dst[1] = src[1]; }

/* ---- linear --------------------------------------------------------------------- */
/* x viewed as (M, in): gx = g w, gw = g^T x, gb = column sums of g */
static int bw_linear(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  scope sc = {0};
  lt_tensor *x = lt_saved(n, 0), *w = lt_saved(n, 1);
  int64_t in = w->shape[1], out = w->shape[0];
  lt_tensor *g2 = K(lt_reshape(g, 2, (int64_t[]){-1, out}));
  if (n->needs[0]) {
    lt_tensor *gx = K(lt_mm(g2, w));
    OUT(gin[0], lt_reshape(gx, n->in_ndim[0], n->in_shape[0]));
  }
  if (n->needs[1]) {
    lt_tensor *x2 = K(lt_reshape(x, 2, (int64_t[]){-1, in}));
    OUT(gin[1], lt_mm(K(lt_transpose(g2, 0, 1)), x2));
  }
  if (n->needs[2]) OUT(gin[2], lt_reduce(LT_SUM, g2, 0, 0, 0));
  drop(&sc);
  return 0;
fail:
  drop(&sc);
  return -1;
}

lt_tensor *ag_linear(lt_tensor *x, lt_tensor *w, lt_tensor *b) {
  char sx[128], sw[128];
  if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1]) {
    lt_seterr("input %s and weight %s do not match", lt_shape_str(x->ndim, x->shape, sx, sizeof sx),
              lt_shape_str(w->ndim, w->shape, sw, sizeof sw));
    return NULL;
  }
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
    lt_seterr("bias %s does not match weight %s", lt_shape_str(b->ndim, b->shape, sx, sizeof sx),
              lt_shape_str(w->ndim, w->shape, sw, sizeof sw));
    return NULL;
  }
  if (!lt_is_float(x->dtype) || x->dtype != w->dtype || (b && b->dtype != x->dtype)) {
    lt_seterr("input, weight and bias must be one float dtype, got %s, %s%s%s", lt_dtype_name(x->dtype),
              lt_dtype_name(w->dtype), b ? " and " : "", b ? lt_dtype_name(b->dtype) : "");
    return NULL;
  }
  int64_t in = w->shape[1], nout = w->shape[0], shape[LT_MAX_DIM];
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  shape[x->ndim - 1] = nout;
  lt_tensor *x2 = lt_reshape(x, 2, (int64_t[]){-1, in});
  lt_tensor *wt = lt_transpose(w, 0, 1);
  lt_tensor *out = lt_empty(x->dtype, x->ndim, shape);
  lt_tensor *o2 = out ? lt_view(out, 2, (int64_t[]){x2 ? x2->shape[0] : 0, nout}) : NULL;
  int rc = x2 && wt && o2 && (!b || lt_copy_(o2, b) == 0) && lt_addmm_(o2, x2, wt, b ? 1 : 0) == 0 ? 0 : -1;
  lt_release(x2); lt_release(wt); lt_release(o2);
  if (rc < 0) return fail_out(out);
  lt_tensor *in3[3] = {x, w, b};
  lt_node *node = record(&out, "LinearBackward", bw_linear, 3, in3);
  if (node && save_all(node, 2, in3) < 0) return fail_out(out);
  return out;
}

/* ---- convolution ------------------------------------------------------------------ */
/* i: stride 0-1, padding 2-3, dilation 4-5, groups 6, output_padding 7-8, kind 9
   (0 conv2d, 1 conv1d, 2 conv_transpose2d) */
static int bw_conv(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *x = lt_saved(n, 0), *w = lt_saved(n, 1);
  const int64_t *i = n->i;
  lt_tensor **gx = n->needs[0] ? &gin[0] : NULL, **gw = n->needs[1] ? &gin[1] : NULL;
  lt_tensor **gb = n->needs[2] ? &gin[2] : NULL;
  switch (i[9]) {
  case 1: return lt_conv1d_backward(g, x, w, i[1], i[3], i[5], i[6], gx, gw, gb);
  case 2: return lt_conv_transpose2d_backward(g, x, w, &i[0], &i[2], &i[7], i[6], &i[4], gx, gw, gb);
  default: return lt_conv2d_backward(g, x, w, &i[0], &i[2], &i[4], i[6], gx, gw, gb);
  }
}

static lt_tensor *conv_node(lt_tensor *out, const char *name, lt_tensor *x, lt_tensor *w, lt_tensor *b,
                            const int64_t stride[2], const int64_t padding[2], const int64_t dilation[2],
                            int64_t groups, const int64_t output_padding[2], int kind) {
  if (!out) return NULL;
  lt_tensor *in[3] = {x, w, b};
  lt_node *node = record(&out, name, bw_conv, 3, in);
  if (!node) return out;
  pair_to(&node->i[0], stride);
  pair_to(&node->i[2], padding);
  pair_to(&node->i[4], dilation);
  node->i[6] = groups;
  if (output_padding) pair_to(&node->i[7], output_padding);
  node->i[9] = kind;
  if (save_all(node, 2, in) < 0) return fail_out(out);
  return out;
}

lt_tensor *ag_conv2d(lt_tensor *x, lt_tensor *w, lt_tensor *b, const int64_t stride[2],
                     const int64_t padding[2], const int64_t dilation[2], int64_t groups) {
  return conv_node(lt_conv2d(x, w, b, stride, padding, dilation, groups), "Conv2dBackward", x, w, b, stride,
                   padding, dilation, groups, NULL, 0);
}

lt_tensor *ag_conv1d(lt_tensor *x, lt_tensor *w, lt_tensor *b, int64_t stride, int64_t padding,
                     int64_t dilation, int64_t groups) {
  int64_t s[2] = {1, stride}, p[2] = {0, padding}, d[2] = {1, dilation};
  return conv_node(lt_conv1d(x, w, b, stride, padding, dilation, groups), "Conv1dBackward", x, w, b, s, p, d,
                   groups, NULL, 1);
}

lt_tensor *ag_conv_transpose2d(lt_tensor *x, lt_tensor *w, lt_tensor *b, const int64_t stride[2],
                               const int64_t padding[2], const int64_t output_padding[2],
                               int64_t groups, const int64_t dilation[2]) {
  return conv_node(lt_conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation),
                   "ConvTranspose2dBackward", x, w, b, stride, padding, dilation, groups, output_padding, 2);
}

/* ---- pooling ------------------------------------------------------------------------ */
/* i: input shape 0-3; avg: kernel 4-5, stride 6-7, padding 8-9, ceil 10, count_include_pad 11 */
static int bw_max_pool(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  return (gin[0] = lt_max_pool2d_backward(g, lt_saved(n, 0), n->i)) ? 0 : -1;
}

lt_tensor *ag_max_pool2d(lt_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], const int64_t dilation[2], int ceil_mode,
                         lt_tensor **indices) {
  lt_tensor *out = NULL, *idx = NULL;
  *indices = NULL;
  if (lt_max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, &out, &idx) < 0) return NULL;
  lt_node *node = record(&out, "MaxPool2dBackward", bw_max_pool, 1, &x);
  if (node) {
    memcpy(node->i, x->shape, 4 * sizeof(int64_t));
    if (lt_save(node, idx) < 0) { lt_release(idx); return fail_out(out); }
  }
  if (!out) { lt_release(idx); return NULL; }
  *indices = idx;
  return out;
}

static int bw_avg_pool(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  const int64_t *i = n->i;
  return (gin[0] = lt_avg_pool2d_backward(g, i, &i[4], &i[6], &i[8], (int)i[10], (int)i[11])) ? 0 : -1;
}

lt_tensor *ag_avg_pool2d(lt_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], int ceil_mode, int count_include_pad) {
  lt_tensor *out = lt_avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad);
  if (!out) return NULL;
  lt_node *node = record(&out, "AvgPool2dBackward", bw_avg_pool, 1, &x);
  if (node) {
    memcpy(node->i, x->shape, 4 * sizeof(int64_t));
    pair_to(&node->i[4], kernel);
    pair_to(&node->i[6], stride);
    pair_to(&node->i[8], padding);
    node->i[10] = ceil_mode;
    node->i[11] = count_include_pad;
  }
  return out;
}

static int bw_adaptive_avg(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  return (gin[0] = lt_adaptive_avg_pool2d_backward(g, n->i)) ? 0 : -1;
}

lt_tensor *ag_adaptive_avg_pool2d(lt_tensor *x, const int64_t output_size[2]) {
  lt_tensor *out = lt_adaptive_avg_pool2d(x, output_size);
  if (!out) return NULL;
  lt_node *node = record(&out, "AdaptiveAvgPool2dBackward", bw_adaptive_avg, 1, &x);
  if (node) memcpy(node->i, x->shape, 4 * sizeof(int64_t));
  return out;
}

/* ---- losses ------------------------------------------------------------------------- */
/* i: 0 ignore_index, 1 reduction, 2 has weight, 3 has pos_weight; f[0] label smoothing */
static int bw_cross_entropy(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int k = 2;
  lt_tensor *w = saved_opt(n, &k, n->i[2]);
  gin[0] = lt_cross_entropy_backward(g, lt_saved(n, 0), lt_saved(n, 1), w, n->i[0], n->f[0],
                                     (lt_loss_reduction)n->i[1]);
  return gin[0] ? 0 : -1;
}

lt_tensor *ag_cross_entropy(lt_tensor *logits, lt_tensor *target, lt_tensor *weight,
                            int64_t ignore_index, double label_smoothing, lt_loss_reduction r) {
  lt_tensor *logp = NULL;
  lt_tensor *out = lt_cross_entropy_forward(logits, target, weight, ignore_index, label_smoothing, r,
                                            lt_requires_grad(logits) && lt_grad_enabled() ? &logp : NULL);
  if (!out) return NULL;
  lt_node *node = record(&out, "CrossEntropyBackward", bw_cross_entropy, 1, &logits);
  if (node) {
    node->i[0] = ignore_index; node->i[1] = r; node->i[2] = weight != NULL; node->f[0] = label_smoothing;
    if (save_all(node, 3, (lt_tensor *[]){logp, target, weight}) < 0) out = fail_out(out);
  }
  lt_release(logp);
  return out;
}

static int bw_nll(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int k = 2;
  lt_tensor *w = saved_opt(n, &k, n->i[2]);
  gin[0] = lt_nll_loss_backward(g, lt_saved(n, 0), lt_saved(n, 1), w, n->i[0], 0, (lt_loss_reduction)n->i[1]);
  return gin[0] ? 0 : -1;
}

lt_tensor *ag_nll_loss(lt_tensor *logp, lt_tensor *target, lt_tensor *weight, int64_t ignore_index,
                       lt_loss_reduction r) {
  lt_tensor *out = lt_nll_loss_forward(logp, target, weight, ignore_index, 0, r);
  if (!out) return NULL;
  lt_node *node = record(&out, "NllLossBackward", bw_nll, 1, &logp);
  if (node) {
    node->i[0] = ignore_index; node->i[1] = r; node->i[2] = weight != NULL;
    if (save_all(node, 3, (lt_tensor *[]){logp, target, weight}) < 0) return fail_out(out);
  }
  return out;
}

static int bw_bce(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int k = 2;
  lt_tensor *w = saved_opt(n, &k, n->i[2]), *pw = saved_opt(n, &k, n->i[3]);
  lt_loss_reduction r = (lt_loss_reduction)n->i[1];
  if (n->i[0]) gin[0] = lt_binary_cross_entropy_with_logits_backward(g, lt_saved(n, 0), lt_saved(n, 1), w, pw, r);
  else gin[0] = lt_binary_cross_entropy_backward(g, lt_saved(n, 0), lt_saved(n, 1), w, r);
  return gin[0] ? 0 : -1;
}

/* i[0] = with logits */
static lt_tensor *bce_node(lt_tensor *out, lt_tensor *x, lt_tensor *y, lt_tensor *w, lt_tensor *pw,
                           lt_loss_reduction r, int logits) {
  if (!out) return NULL;
  lt_node *node = record(&out, logits ? "BinaryCrossEntropyWithLogitsBackward" : "BinaryCrossEntropyBackward",
                         bw_bce, 1, &x);
  if (node) {
    node->i[0] = logits; node->i[1] = r; node->i[2] = w != NULL; node->i[3] = pw != NULL;
    if (save_all(node, 4, (lt_tensor *[]){x, y, w, pw}) < 0) return fail_out(out);
  }
  return out;
}

lt_tensor *ag_binary_cross_entropy(lt_tensor *p, lt_tensor *y, lt_tensor *weight, lt_loss_reduction r) {
  return bce_node(lt_binary_cross_entropy_forward(p, y, weight, r), p, y, weight, NULL, r, 0);
}

lt_tensor *ag_binary_cross_entropy_with_logits(lt_tensor *x, lt_tensor *y, lt_tensor *weight,
                                               lt_tensor *pos_weight, lt_loss_reduction r) {
  return bce_node(lt_binary_cross_entropy_with_logits_forward(x, y, weight, pos_weight, r), x, y, weight,
                  pos_weight, r, 1);
}

/* ---- embedding and normalisation --------------------------------------------------------- */
/* i[0] = number of rows, i[1] = padding_idx */
static int bw_embedding(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  return (gin[0] = lt_embedding_backward(g, lt_saved(n, 0), n->i[0], n->i[1])) ? 0 : -1;
}

lt_tensor *ag_embedding(lt_tensor *weight, lt_tensor *indices, int64_t padding_idx) {
  lt_tensor *out = lt_embedding_forward(weight, indices);
  if (!out) return NULL;
  lt_node *node = record(&out, "EmbeddingBackward", bw_embedding, 1, &weight);
  if (node) {
    node->i[0] = weight->shape[0]; node->i[1] = padding_idx;
    if (lt_save(node, indices) < 0) return fail_out(out);
  }
  return out;
}

/* saved: x, mean, invstd, then weight if i[1]; i[0] = training */
static int bw_batch_norm(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int k = 3;
  lt_tensor *w = saved_opt(n, &k, n->i[1]);
  return lt_batch_norm_backward(g, lt_saved(n, 0), w, lt_saved(n, 1), lt_saved(n, 2), (int)n->i[0],
                                n->needs[0] ? &gin[0] : NULL, n->needs[1] ? &gin[1] : NULL,
                                n->needs[2] ? &gin[2] : NULL);
}

lt_tensor *ag_batch_norm(lt_tensor *x, lt_tensor *weight, lt_tensor *bias, lt_tensor *running_mean,
                         lt_tensor *running_var, int training, double momentum, double eps) {
  lt_tensor *y = NULL, *mean = NULL, *invstd = NULL;
  if (lt_batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps, &y, &mean,
                            &invstd) < 0)
    return NULL;
  lt_tensor *in[3] = {x, weight, bias};
  lt_node *node = record(&y, "BatchNormBackward", bw_batch_norm, 3, in);
  if (node) {
    node->i[0] = training; node->i[1] = weight != NULL;
    if (save_all(node, 4, (lt_tensor *[]){x, mean, invstd, weight}) < 0) y = fail_out(y);
  }
  lt_release(mean);
  lt_release(invstd);
  return y;
}

/* saved: x, mean, rstd, then weight if i[1]; i[0] = norm_ndim */
static int bw_layer_norm(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int k = 3;
  lt_tensor *w = saved_opt(n, &k, n->i[1]);
  return lt_layer_norm_backward(g, lt_saved(n, 0), (int)n->i[0], w, lt_saved(n, 1), lt_saved(n, 2),
                                n->needs[0] ? &gin[0] : NULL, n->needs[1] ? &gin[1] : NULL,
                                n->needs[2] ? &gin[2] : NULL);
}

lt_tensor *ag_layer_norm(lt_tensor *x, int norm_ndim, lt_tensor *weight, lt_tensor *bias, double eps) {
  lt_tensor *y = NULL, *mean = NULL, *rstd = NULL;
  if (lt_layer_norm_forward(x, norm_ndim, weight, bias, eps, &y, &mean, &rstd) < 0) return NULL;
  lt_tensor *in[3] = {x, weight, bias};
  lt_node *node = record(&y, "LayerNormBackward", bw_layer_norm, 3, in);
  if (node) {
    node->i[0] = norm_ndim; node->i[1] = weight != NULL;
    if (save_all(node, 4, (lt_tensor *[]){x, mean, rstd, weight}) < 0) y = fail_out(y);
  }
  lt_release(mean);
  lt_release(rstd);
  return y;
}

static int bw_dropout(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  return (gin[0] = lt_binary(LT_MUL, g, lt_saved(n, 0))) ? 0 : -1;
}

lt_tensor *ag_dropout(lt_tensor *x, double p, int training) {
  if (!(p >= 0 && p <= 1)) { lt_seterr("p must be in [0, 1], got %g", p); return NULL; }
  if (!lt_is_float(x->dtype)) { lt_seterr("expected a float tensor, got %s", lt_dtype_name(x->dtype)); return NULL; }
  if (!training || p == 0) return lt_retain(x);
  /* the mask carries the 1/(1-p) scale, so backward is one multiply */
  lt_tensor *mask = lt_empty(x->dtype, x->ndim, x->shape);
  if (!mask || lt_bernoulli_(mask, 1 - p) < 0 || (p < 1 && lt_binary_scalar_(LT_MUL, mask, 1 / (1 - p)) < 0)) {
    lt_release(mask);
    return NULL;
  }
  lt_tensor *out = lt_binary(LT_MUL, x, mask);
  lt_node *node = out ? record(&out, "DropoutBackward", bw_dropout, 1, &x) : NULL;
  if (node && lt_save(node, mask) < 0) out = fail_out(out);
  lt_release(mask);
  return out;
}

/* ---- recurrent layers ------------------------------------------------------------------------- */
/* saved: packed [h0..hT, cT], cs, gates, w_hh */
static int bw_lstm(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *P = lt_saved(n, 0), *cs = lt_saved(n, 1), *gates = lt_saved(n, 2), *w = lt_saved(n, 3);
  int64_t T = gates->shape[0];
  lt_tensor *hs = lt_narrow(P, 0, 0, T + 1), *gout = lt_narrow(g, 0, 1, T), *gc = lt_select(g, 0, T + 1);
  int rc = hs && gout && gc ? lt_lstm_seq_backward(gout, gc, hs, cs, gates, w, n->needs[0] ? &gin[0] : NULL,
                                                   n->needs[1] ? &gin[1] : NULL, n->needs[2] ? &gin[2] : NULL,
                                                   n->needs[3] ? &gin[3] : NULL)
                            : -1;
  lt_release(hs); lt_release(gout); lt_release(gc);
  return rc;
}

lt_tensor *ag_lstm(lt_tensor *xg, lt_tensor *h0, lt_tensor *c0, lt_tensor *w_hh) {
  if (xg->ndim != 3 || h0->ndim != 2) { lt_seterr("expected input gates (T,B,4H) and h0 (B,H)"); return NULL; }
  int64_t T = xg->shape[0], B = h0->shape[0], H = h0->shape[1];
  lt_tensor *P = lt_empty(xg->dtype, 3, (int64_t[]){T + 2, B, H});
  lt_tensor *cs = lt_empty(xg->dtype, 3, (int64_t[]){T + 1, B, H});
  lt_tensor *gates = lt_empty(xg->dtype, 3, (int64_t[]){T, B, xg->shape[2]});
  lt_tensor *hs = P ? lt_narrow(P, 0, 0, T + 1) : NULL;
  int rc = hs && cs && gates ? lt_lstm_seq_forward(xg, h0, c0, w_hh, hs, cs, gates) : -1;
  lt_tensor *cT = rc == 0 ? lt_select(P, 0, T + 1) : NULL, *clast = rc == 0 ? lt_select(cs, 0, T) : NULL;
  if (rc == 0) rc = cT && clast ? lt_copy_(cT, clast) : -1;
  lt_release(hs); lt_release(cT); lt_release(clast);
  if (rc == 0) {
    lt_tensor *in[4] = {xg, h0, c0, w_hh};
    lt_node *node = record(&P, "LstmBackward", bw_lstm, 4, in);
    if (node && save_all(node, 4, (lt_tensor *[]){P, cs, gates, w_hh}) < 0) P = fail_out(P);
  } else {
    P = fail_out(P);
  }
  lt_release(cs);
  lt_release(gates);
  return P;
}

/* saved: packed [h0..hT], ws, w_hh; i[0] = has b_hh */
static int bw_gru(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *P = lt_saved(n, 0), *ws = lt_saved(n, 1), *w = lt_saved(n, 2);
  int64_t T = ws->shape[0];
  lt_tensor *gout = lt_narrow(g, 0, 1, T);
  int rc = gout ? lt_gru_seq_backward(gout, P, ws, w, n->needs[0] ? &gin[0] : NULL, n->needs[1] ? &gin[1] : NULL,
                                      n->needs[2] ? &gin[2] : NULL, n->i[0] && n->needs[3] ? &gin[3] : NULL)
                : -1;
  lt_release(gout);
  return rc;
}

lt_tensor *ag_gru(lt_tensor *xg, lt_tensor *h0, lt_tensor *w_hh, lt_tensor *b_hh) {
  if (xg->ndim != 3 || h0->ndim != 2) { lt_seterr("expected input gates (T,B,3H) and h0 (B,H)"); return NULL; }
  int64_t T = xg->shape[0], B = h0->shape[0], H = h0->shape[1];
  lt_tensor *P = lt_empty(xg->dtype, 3, (int64_t[]){T + 1, B, H});
  lt_tensor *ws = lt_empty(xg->dtype, 3, (int64_t[]){T, B, 4 * H});
  int rc = P && ws ? lt_gru_seq_forward(xg, h0, w_hh, b_hh, P, ws) : -1;
  if (rc == 0) {
    lt_tensor *in[4] = {xg, h0, w_hh, b_hh};
    lt_node *node = record(&P, "GruBackward", bw_gru, 4, in);
    if (node) {
      node->i[0] = b_hh != NULL;
      if (save_all(node, 3, (lt_tensor *[]){P, ws, w_hh}) < 0) P = fail_out(P);
    }
  } else {
    P = fail_out(P);
  }
  lt_release(ws);
  return P;
}

/* saved: activated gates, c_prev, packed [h, c] */
static int bw_lstm_cell(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *P = lt_saved(n, 2);
  lt_tensor *gh = lt_select(g, 0, 0), *gc = lt_select(g, 0, 1), *c = lt_select(P, 0, 1);
  int rc = gh && gc && c ? lt_lstm_cell_backward(gh, gc, lt_saved(n, 0), lt_saved(n, 1), c,
                                                 n->needs[0] ? &gin[0] : NULL, n->needs[1] ? &gin[1] : NULL)
                         : -1;
  lt_release(gh); lt_release(gc); lt_release(c);
  return rc;
}

lt_tensor *ag_lstm_cell(lt_tensor *gates, lt_tensor *c_prev) {
  lt_tensor *h = NULL, *c = NULL, *act = NULL;
  if (lt_lstm_cell_forward(gates, c_prev, &h, &c, &act) < 0) return NULL;
  lt_tensor *hc[2] = {h, c};
  lt_tensor *P = lt_stack(hc, 2, 0);
  lt_release(h); lt_release(c);
  if (P) {
    lt_tensor *in[2] = {gates, c_prev};
    lt_node *node = record(&P, "LstmCellBackward", bw_lstm_cell, 2, in);
    if (node && save_all(node, 3, (lt_tensor *[]){act, c_prev, P}) < 0) P = fail_out(P);
  }
  lt_release(act);
  return P;
}

/* saved: ws, h_prev */
static int bw_gru_cell(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *gi = NULL, *gh = NULL, *gp = NULL;
  if (lt_gru_cell_backward(g, lt_saved(n, 0), lt_saved(n, 1), &gi, &gh, &gp) < 0) return -1;
  gin[0] = gi; gin[1] = gh; gin[2] = gp; /* the engine drops those no input needs */
  return 0;
}

lt_tensor *ag_gru_cell(lt_tensor *gi, lt_tensor *gh, lt_tensor *h_prev) {
  lt_tensor *h = NULL, *ws = NULL;
  if (lt_gru_cell_forward(gi, gh, h_prev, &h, &ws) < 0) return NULL;
  lt_tensor *in[3] = {gi, gh, h_prev};
  lt_node *node = record(&h, "GruCellBackward", bw_gru_cell, 3, in);
  if (node && save_all(node, 2, (lt_tensor *[]){ws, h_prev}) < 0) h = fail_out(h);
  lt_release(ws);
  return h;
}
