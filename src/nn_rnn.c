/* nn_rnn.c -- LSTM and GRU over a whole sequence: a loop of (GEMM + fused
 * cell) forward, and backpropagation through time in reverse. */
#include "nn_rnn.h"
#include "nn_kernels.h"
#include <stdio.h>

/* ---- argument checks ----------------------------------------------------------- */
static int is_shape(const lt_tensor *t, int ndim, const int64_t *shape) {
  if (t->ndim != ndim) return 0;
  for (int d = 0; d < ndim; d++) if (t->shape[d] != shape[d]) return 0;
  return 1;
}

/* t must have `shape`; `what` names it in the message */
static int want(const lt_tensor *t, const char *fn, const char *what, int ndim, const int64_t *shape,
                lt_dtype dt) {
  char got[128], exp[128];
  if (!is_shape(t, ndim, shape))
    return lt_seterr("%s: %s has shape %s, expected %s", fn, what,
                     lt_shape_str(t->ndim, t->shape, got, sizeof got), lt_shape_str(ndim, shape, exp, sizeof exp));
  if (t->dtype != dt)
    return lt_seterr("%s: %s is %s, expected %s like the input", fn, what, lt_dtype_name(t->dtype), lt_dtype_name(dt));
  return 0;
}

/* xg (T,B,gH) with H = w_hh's second dim and g gates */
static int check_seq(const char *fn, lt_tensor *xg, lt_tensor *w_hh, int g, int64_t *T, int64_t *B, int64_t *H) {
  char s[128];
  if (!lt_is_float(xg->dtype)) return lt_seterr("%s: expected a float tensor, got %s", fn, lt_dtype_name(xg->dtype));
  if (w_hh->ndim != 2 || w_hh->shape[0] != g * w_hh->shape[1])
    return lt_seterr("%s: w_hh has shape %s, expected (%d*hidden, hidden)", fn,
                     lt_shape_str(w_hh->ndim, w_hh->shape, s, sizeof s), g);
  *H = w_hh->shape[1];
  if (xg->ndim != 3 || xg->shape[2] != g * *H)
    return lt_seterr("%s: input gates have shape %s, expected (steps, batch, %lld)", fn,
                     lt_shape_str(xg->ndim, xg->shape, s, sizeof s), (long long)(g * *H));
  if (w_hh->dtype != xg->dtype) return lt_seterr("%s: w_hh is %s but the input is %s", fn,
                                                 lt_dtype_name(w_hh->dtype), lt_dtype_name(xg->dtype));
  *T = xg->shape[0];
  *B = xg->shape[1];
  return 0;
}

static int check_out(const char *fn, const char *what, lt_tensor *t, int ndim, const int64_t *shape, lt_dtype dt) {
  if (want(t, fn, what, ndim, shape, dt) < 0) return -1;
  if (!lt_is_contiguous(t)) return lt_seterr("%s: %s must be contiguous", fn, what);
  return lt_check_writable(t);
}

/* step t of a (T, ...) tensor */
static lt_tensor *at(lt_tensor *t, int64_t step) { return lt_select(t, 0, step); }

/* (T,B,X) -> (T*B,X) view of the first `steps` steps */
static lt_tensor *rows(lt_tensor *t, int64_t steps) {
  lt_tensor *n = lt_narrow(t, 0, 0, steps);
  lt_tensor *v = n ? lt_reshape(n, 2, (int64_t[]){steps * t->shape[1], t->shape[2]}) : NULL;
  lt_release(n);
  return v;
}

/* dst = src (a step view), releasing src; -1 if anything is NULL */
static int put(lt_tensor *dst, lt_tensor *src) {
  int rc = dst && src ? lt_copy_(dst, src) : -1;
  lt_release(dst);
  lt_release(src);
  return rc;
}

/* ---- LSTM ----------------------------------------------------------------------- */
int lt_lstm_seq_forward(lt_tensor *xg, lt_tensor *h0, lt_tensor *c0, lt_tensor *w_hh,
                        lt_tensor *hs, lt_tensor *cs, lt_tensor *gates) {
  const char *fn = "lstm";
  int64_t T, B, H;
  if (check_seq(fn, xg, w_hh, 4, &T, &B, &H) < 0) return -1;
  int64_t bh[2] = {B, H}, seq[3] = {T + 1, B, H}, gs[3] = {T, B, 4 * H};
  if (want(h0, fn, "h0", 2, bh, xg->dtype) < 0 || want(c0, fn, "c0", 2, bh, xg->dtype) < 0 ||
      check_out(fn, "hs", hs, 3, seq, xg->dtype) < 0 || check_out(fn, "cs", cs, 3, seq, xg->dtype) < 0 ||
      check_out(fn, "gates", gates, 3, gs, xg->dtype) < 0)
    return -1;
  lt_tensor *wt = lt_transpose(w_hh, 0, 1);
  lt_tensor *pre = lt_empty(xg->dtype, 2, (int64_t[]){B, 4 * H}); /* one step's pre-activations */
  int rc = wt && pre && put(at(hs, 0), lt_retain(h0)) == 0 && put(at(cs, 0), lt_retain(c0)) == 0 ? 0 : -1;
  for (int64_t t = 0; rc == 0 && t < T; t++) {
    lt_tensor *g = at(gates, t), *hp = at(hs, t), *cp = at(cs, t), *h = at(hs, t + 1), *c = at(cs, t + 1);
    /* xg[t] + h_{t-1} W_hh^T, then the cell writes h_t, c_t and the gates in place */
    rc = g && hp && cp && h && c && put(lt_retain(pre), at(xg, t)) == 0 && lt_addmm_(pre, hp, wt, 1) == 0 &&
                 lt_lstm_cell_forward_into(pre, cp, h, c, g) == 0 ? 0 : -1;
    lt_release(g); lt_release(hp); lt_release(cp); lt_release(h); lt_release(c);
  }
  lt_release(pre);
  lt_release(wt);
  return rc;
}

int lt_lstm_seq_backward(lt_tensor *grad_out, lt_tensor *grad_cT, lt_tensor *hs, lt_tensor *cs,
                         lt_tensor *gates, lt_tensor *w_hh, lt_tensor **grad_xg,
                         lt_tensor **grad_h0, lt_tensor **grad_c0, lt_tensor **grad_w_hh) {
  const char *fn = "lstm backward";
  if (grad_w_hh) *grad_w_hh = NULL;
  int64_t T = gates->shape[0], B = gates->shape[1], H = w_hh->shape[1];
  int64_t bh[2] = {B, H}, out_shape[3] = {T, B, H};
  if ((grad_out && want(grad_out, fn, "grad_out", 3, out_shape, gates->dtype) < 0) ||
      (grad_cT && want(grad_cT, fn, "grad_cT", 2, bh, gates->dtype) < 0))
    return -1;
  /* dh: the gradient of h_t; the cell's gradient of c_{t-1} alternates between two buffers */
  lt_tensor *dg = lt_empty(gates->dtype, 3, gates->shape), *dh = lt_zeros(gates->dtype, 2, bh);
  lt_tensor *dcbuf[2] = {lt_empty(gates->dtype, 2, bh), lt_empty(gates->dtype, 2, bh)};
  lt_tensor *dc = grad_cT; /* borrowed: the gradient of c_t, NULL for none */
  int rc = dg && dh && dcbuf[0] && dcbuf[1] ? 0 : -1;
  for (int64_t t = T - 1; rc == 0 && t >= 0; t--) {
    lt_tensor *go = grad_out ? at(grad_out, t) : NULL, *dcp = dcbuf[t & 1];
    lt_tensor *g = at(gates, t), *cp = at(cs, t), *c = at(cs, t + 1), *dgt = at(dg, t);
    if (go) { rc = lt_binary_(LT_ADD, dh, go); lt_release(go); }
    if (rc == 0) rc = g && cp && c && dgt ? lt_lstm_cell_backward_into(dh, dc, g, cp, c, dgt, dcp) : -1;
    dc = dcp;
    /* the gradient of h_{t-1} through the gates (of h0 only if asked) */
    if (rc == 0 && (t > 0 || grad_h0)) rc = lt_addmm_(dh, dgt, w_hh, 0);
    lt_release(g); lt_release(cp); lt_release(c); lt_release(dgt);
  }
  lt_tensor *dgr = NULL, *hr = NULL;
  if (rc == 0 && grad_w_hh) {
    dgr = rows(dg, T);
    hr = rows(hs, T);
    lt_tensor *dgT = dgr ? lt_transpose(dgr, 0, 1) : NULL;
    *grad_w_hh = dgT && hr ? lt_mm(dgT, hr) : NULL; /* sum_t dG_t^T h_{t-1} */
    lt_release(dgT);
    if (!*grad_w_hh) rc = -1;
  }
  lt_release(dgr);
  lt_release(hr);
  /* the gradient of c0: the last buffer written, or for T = 0 grad_cT itself */
  lt_tensor *dc0 = NULL;
  if (rc == 0) dc0 = T > 0 ? lt_retain(dc) : grad_cT ? lt_clone(grad_cT) : lt_zeros(gates->dtype, 2, bh);
  lt_release(dcbuf[0]);
  lt_release(dcbuf[1]);
  if (rc < 0 || !dc0) {
    if (grad_w_hh && *grad_w_hh) { lt_release(*grad_w_hh); *grad_w_hh = NULL; }
    lt_release(dg); lt_release(dh); lt_release(dc0);
    return -1;
  }
  if (grad_xg) *grad_xg = dg; else lt_release(dg);
  if (grad_h0) *grad_h0 = dh; else lt_release(dh);
  if (grad_c0) *grad_c0 = dc0; else lt_release(dc0);
  return 0;
}

/* ---- GRU ------------------------------------------------------------------------ */
int lt_gru_seq_forward(lt_tensor *xg, lt_tensor *h0, lt_tensor *w_hh, lt_tensor *b_hh,
                       lt_tensor *hs, lt_tensor *ws) {
  const char *fn = "gru";
  int64_t T, B, H;
  if (check_seq(fn, xg, w_hh, 3, &T, &B, &H) < 0) return -1;
  int64_t bh[2] = {B, H}, seq[3] = {T + 1, B, H}, wss[3] = {T, B, 4 * H}, bs[1] = {3 * H};
  if (want(h0, fn, "h0", 2, bh, xg->dtype) < 0 || (b_hh && want(b_hh, fn, "b_hh", 1, bs, xg->dtype) < 0) ||
      check_out(fn, "hs", hs, 3, seq, xg->dtype) < 0 || check_out(fn, "ws", ws, 3, wss, xg->dtype) < 0)
    return -1;
  lt_tensor *wt = lt_transpose(w_hh, 0, 1);
  lt_tensor *gh = lt_empty(xg->dtype, 2, (int64_t[]){B, 3 * H});
  int rc = wt && gh && put(at(hs, 0), lt_retain(h0)) == 0 ? 0 : -1;
  for (int64_t t = 0; rc == 0 && t < T; t++) {
    lt_tensor *hp = at(hs, t), *gi = at(xg, t), *h = at(hs, t + 1), *w = at(ws, t);
    /* gh = b_hh + h_{t-1} W_hh^T; the cell writes h_t and its saved values in place */
    rc = hp && gi && h && w && (b_hh ? lt_copy_(gh, b_hh) : lt_fill_(gh, 0)) == 0 &&
                 lt_addmm_(gh, hp, wt, 1) == 0 && lt_gru_cell_forward_into(gi, gh, hp, h, w) == 0 ? 0 : -1;
    lt_release(hp); lt_release(gi); lt_release(h); lt_release(w);
  }
  lt_release(gh);
  lt_release(wt);
  return rc;
}

int lt_gru_seq_backward(lt_tensor *grad_out, lt_tensor *hs, lt_tensor *ws, lt_tensor *w_hh,
                        lt_tensor **grad_xg, lt_tensor **grad_h0, lt_tensor **grad_w_hh,
                        lt_tensor **grad_b_hh) {
  const char *fn = "gru backward";
  if (grad_w_hh) *grad_w_hh = NULL;
  if (grad_b_hh) *grad_b_hh = NULL;
  int64_t T = ws->shape[0], B = ws->shape[1], H = w_hh->shape[1];
  int64_t bh[2] = {B, H}, out_shape[3] = {T, B, H}, g3[3] = {T, B, 3 * H};
  if (grad_out && want(grad_out, fn, "grad_out", 3, out_shape, ws->dtype) < 0) return -1;
  lt_tensor *dxg = lt_empty(ws->dtype, 3, g3), *dgh = lt_empty(ws->dtype, 3, g3);
  /* the gradient of h_t alternates between two buffers: the cell reads one, writes the other */
  lt_tensor *dhbuf[2] = {lt_zeros(ws->dtype, 2, bh), lt_empty(ws->dtype, 2, bh)}, *dh = dhbuf[0];
  int rc = dxg && dgh && dhbuf[0] && dhbuf[1] ? 0 : -1;
  for (int64_t t = T - 1; rc == 0 && t >= 0; t--) {
    lt_tensor *go = grad_out ? at(grad_out, t) : NULL, *w = at(ws, t), *hp = at(hs, t);
    lt_tensor *dgi = at(dxg, t), *dghi = at(dgh, t), *dhp = dhbuf[dh == dhbuf[0]];
    if (go) { rc = lt_binary_(LT_ADD, dh, go); lt_release(go); }
    if (rc == 0) rc = w && hp && dgi && dghi ? lt_gru_cell_backward_into(dh, w, hp, dgi, dghi, dhp) : -1;
    /* the direct path z * grad_h, plus the path through gh (for h0 only if asked) */
    dh = dhp;
    if (rc == 0 && (t > 0 || grad_h0)) rc = lt_addmm_(dh, dghi, w_hh, 1);
    lt_release(w); lt_release(hp); lt_release(dgi); lt_release(dghi);
  }
  if (dh) lt_retain(dh); /* the result: the buffer written last */
  lt_release(dhbuf[0]);
  lt_release(dhbuf[1]);
  lt_tensor *ghr = NULL, *hr = NULL;
  if (rc == 0 && (grad_w_hh || grad_b_hh)) {
    ghr = rows(dgh, T);
    hr = rows(hs, T);
    if (!ghr || !hr) rc = -1;
    if (rc == 0 && grad_w_hh) {
      lt_tensor *gt = lt_transpose(ghr, 0, 1);
      *grad_w_hh = gt ? lt_mm(gt, hr) : NULL;
      lt_release(gt);
      if (!*grad_w_hh) rc = -1;
    }
    if (rc == 0 && grad_b_hh && !(*grad_b_hh = lt_reduce(LT_SUM, ghr, 0, 0, 0))) rc = -1;
  }
  lt_release(ghr);
  lt_release(hr);
  lt_release(dgh);
  if (rc < 0) {
    if (grad_w_hh && *grad_w_hh) { lt_release(*grad_w_hh); *grad_w_hh = NULL; }
    lt_release(dxg); lt_release(dh);
    return -1;
  }
  if (grad_xg) *grad_xg = dxg; else lt_release(dxg);
  if (grad_h0) *grad_h0 = dh; else lt_release(dh);
  return 0;
}
