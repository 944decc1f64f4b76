/* l_nn.c -- Lua bindings of the differentiable layer kernels (ag_nn.h), in the
 * hidden table lunet.core._nn. Arguments are positional and already
 * normalised by the Lua layer (lunet/nn/functional.lua), which gives users
 * PyTorch's signatures and defaults; here every argument is still checked.
 *
 * Class targets, token ids, ignore_index, padding_idx and pooling indices are
 * 1-based in Lua and shifted here, the one place that converts them.
 */
#include "ag_nn.h"
#include "l_tensor.h"
#include <string.h>

/* raise the core's message; kernels that name themselves are not prefixed twice */
static int raise(lua_State *L, const char *fname) {
  const char *msg = lt_errmsg();
  size_t n = strlen(fname);
  if (strncmp(msg, fname, n) == 0 && msg[n] == ':') return luaL_error(L, "%s", msg);
  return lb_error(L, fname);
}

/* push a new box, then put t in it (NULL raises fname's error) */
static lt_tensor *push(lua_State *L, lt_tensor *t, const char *fname) {
  lt_tensor **box = lb_newbox(L);
  if (!(*box = t)) raise(L, fname);
  lb_account(L);
  return t;
}

static lt_tensor *opt_tensor(lua_State *L, int arg) { return lua_isnoneornil(L, arg) ? NULL : lb_check(L, arg); }

static lt_loss_reduction reduction(lua_State *L, int arg) {
  static const char *const names[] = {"none", "mean", "sum", NULL};
  static const lt_loss_reduction values[] = {LT_LOSS_NONE, LT_LOSS_MEAN, LT_LOSS_SUM};
  return values[luaL_checkoption(L, arg, NULL, names)];
}

static void check_pair(lua_State *L, int arg, int64_t out[2], int64_t min) {
  for (int k = 0; k < 2; k++) {
    lua_Integer v = luaL_checkinteger(L, arg + k);
    if (v < min) luaL_argerror(L, arg + k, lua_pushfstring(L, "must be >= %d, got %d", (int)min, (int)v));
    out[k] = v;
  }
}

static int64_t check_int(lua_State *L, int arg, int64_t min) {
  lua_Integer v = luaL_checkinteger(L, arg);
  if (v < min) luaL_argerror(L, arg, lua_pushfstring(L, "must be >= %d, got %I", (int)min, v));
  return v;
}

/* A bad id is a mistake of whoever called nn.F (these kernels are reached
   only through it): the message carries that caller's line, level 2, as nn.F's
   own checks do, not the line inside nn.F */
static int caller_error(lua_State *L, const char *msg) {
  luaL_where(L, 2);
  lua_pushstring(L, msg);
  lua_concat(L, 2);
  return lua_error(L);
}

/* 1-based ids at arg (int64 tensor) -> pushed 0-based copy, each checked in
   [1, n] unless equal to `ignore` (when has_ignore) */
static lt_tensor *to_zero_based(lua_State *L, int arg, int64_t n, int has_ignore, int64_t ignore,
                                const char *fname, const char *what) {
  lt_tensor *t = lb_check(L, arg);
  if (t->dtype != LT_INT64)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be int64 (1-based), got %s", what, lt_dtype_name(t->dtype)));
  lt_tensor *c = push(L, lt_clone(t), fname);
  int64_t *p = lt_data(c), count = lt_numel(c);
  for (int64_t k = 0; k < count; k++) {
    if (has_ignore && p[k] == ignore) { p[k] = ignore - 1; continue; }
    if ((p[k] < 1 || p[k] > n) && strcmp(what, "target") == 0)
      caller_error(L, lua_pushfstring(L, "%s: target %I is out of range for %I classes (class targets are 1-based: 1..%I)",
                                      fname, (lua_Integer)p[k], (lua_Integer)n, (lua_Integer)n));
    if (p[k] < 1 || p[k] > n)
      caller_error(L, lua_pushfstring(L, "%s: %s %I is out of range (%s are 1-based: 1..%I)", fname, what,
                                      (lua_Integer)p[k], strcmp(what, "index") == 0 ? "indices" : what,
                                      (lua_Integer)n));
    p[k] -= 1;
  }
  return c;
}

/* ---- linear and convolution -------------------------------------------------------- */
static int f_linear(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *w = lb_check(L, 2), *b = opt_tensor(L, 3);
  LB_RETURN(L, "linear", ag_linear(x, w, b));
}

static int f_conv2d(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *w = lb_check(L, 2), *b = opt_tensor(L, 3);
  int64_t s[2], p[2], d[2];
  check_pair(L, 4, s, 1);
  check_pair(L, 6, p, 0);
  check_pair(L, 8, d, 1);
  int64_t g = check_int(L, 10, 1);
  push(L, ag_conv2d(x, w, b, s, p, d, g), "conv2d");
  return 1;
}

static int f_conv1d(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *w = lb_check(L, 2), *b = opt_tensor(L, 3);
  int64_t s = check_int(L, 4, 1), p = check_int(L, 5, 0), d = check_int(L, 6, 1), g = check_int(L, 7, 1);
  push(L, ag_conv1d(x, w, b, s, p, d, g), "conv1d");
  return 1;
}

static int f_conv_transpose2d(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *w = lb_check(L, 2), *b = opt_tensor(L, 3);
  int64_t s[2], p[2], op[2], d[2];
  check_pair(L, 4, s, 1);
  check_pair(L, 6, p, 0);
  check_pair(L, 8, op, 0);
  int64_t g = check_int(L, 10, 1);
  check_pair(L, 11, d, 1);
  push(L, ag_conv_transpose2d(x, w, b, s, p, op, g, d), "conv_transpose2d");
  return 1;
}

/* ---- pooling --------------------------------------------------------------------------- */
static int f_max_pool2d(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int64_t k[2], s[2], p[2], d[2];
  check_pair(L, 2, k, 1);
  check_pair(L, 4, s, 1);
  check_pair(L, 6, p, 0);
  check_pair(L, 8, d, 1);
  int ceil_mode = lua_toboolean(L, 10);
  lt_tensor **values = lb_newbox(L), **indices = lb_newbox(L), *idx = NULL;
  if (!(*values = ag_max_pool2d(x, k, s, p, d, ceil_mode, &idx))) return raise(L, "max_pool2d");
  *indices = lt_binary_scalar(LT_ADD, idx, 1, 1, 0); /* 1-based positions */
  lt_release(idx);
  if (!*indices) return raise(L, "max_pool2d");
  lb_account(L);
  return 2;
}

static int f_avg_pool2d(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int64_t k[2], s[2], p[2];
  check_pair(L, 2, k, 1);
  check_pair(L, 4, s, 1);
  check_pair(L, 6, p, 0);
  int ceil_mode = lua_toboolean(L, 8), count_include_pad = lua_toboolean(L, 9);
  push(L, ag_avg_pool2d(x, k, s, p, ceil_mode, count_include_pad), "avg_pool2d");
  return 1;
}

static int f_adaptive_avg_pool2d(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int64_t o[2];
  check_pair(L, 2, o, 1);
  push(L, ag_adaptive_avg_pool2d(x, o), "adaptive_avg_pool2d");
  return 1;
}

/* ---- losses ------------------------------------------------------------------------------ */
/* classes of a (C) or (N, C, ...) input */
static int64_t num_classes(lua_State *L, lt_tensor *x, const char *fname) {
  if (x->ndim < 1) luaL_error(L, "%s: input must have a class dimension, got a 0-d tensor", fname);
  return x->shape[x->ndim == 1 ? 0 : 1];
}

static int class_loss(lua_State *L, const char *fname, int smoothing) {
  lt_tensor *x = lb_check(L, 1), *w = opt_tensor(L, 3);
  int has_ignore = !lua_isnoneornil(L, 4);
  lua_Integer ignore = has_ignore ? luaL_checkinteger(L, 4) : 0;
  double ls = smoothing ? luaL_checknumber(L, 5) : 0;
  lt_loss_reduction r = reduction(L, smoothing ? 6 : 5);
  if (!(ls >= 0 && ls <= 1)) luaL_argerror(L, 5, "label_smoothing must be in [0, 1]");
  lt_tensor *t = to_zero_based(L, 2, num_classes(L, x, fname), has_ignore, ignore, fname, "target");
  /* a 0-based ignore_index that no shifted class can equal when there is none */
  int64_t ig = has_ignore ? ignore - 1 : INT64_MIN;
  push(L, smoothing ? ag_cross_entropy(x, t, w, ig, ls, r) : ag_nll_loss(x, t, w, ig, r), fname);
  return 1;
}

static int f_cross_entropy(lua_State *L) { return class_loss(L, "cross_entropy", 1); }
static int f_nll_loss(lua_State *L) { return class_loss(L, "nll_loss", 0); }

static int f_binary_cross_entropy(lua_State *L) {
  lt_tensor *p = lb_check(L, 1), *y = lb_check(L, 2), *w = opt_tensor(L, 3);
  lt_loss_reduction r = reduction(L, 4);
  push(L, ag_binary_cross_entropy(p, y, w, r), "binary_cross_entropy");
  return 1;
}

static int f_binary_cross_entropy_with_logits(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *y = lb_check(L, 2), *w = opt_tensor(L, 3), *pw = opt_tensor(L, 4);
  lt_loss_reduction r = reduction(L, 5);
  push(L, ag_binary_cross_entropy_with_logits(x, y, w, pw, r), "binary_cross_entropy_with_logits");
  return 1;
}

/* ---- embedding, normalisation, dropout ------------------------------------------------------ */
static int f_embedding(lua_State *L) {
  lt_tensor *w = lb_check(L, 1);
  if (w->ndim != 2) luaL_argerror(L, 1, "weight must be 2-d (num_embeddings, embedding_dim)");
  int64_t V = w->shape[0], pad = -1;
  if (!lua_isnoneornil(L, 3)) {
    lua_Integer p = luaL_checkinteger(L, 3);
    if (p < 1 || p > V) luaL_argerror(L, 3, lua_pushfstring(L, "padding_idx %I out of range [1, %I]", p, (lua_Integer)V));
    pad = p - 1;
  }
  lt_tensor *idx = to_zero_based(L, 2, V, 0, 0, "embedding", "index");
  push(L, ag_embedding(w, idx, pad), "embedding");
  return 1;
}

static int f_batch_norm(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *w = opt_tensor(L, 2), *b = opt_tensor(L, 3);
  lt_tensor *rm = opt_tensor(L, 4), *rv = opt_tensor(L, 5);
  int training = lua_toboolean(L, 6);
  double momentum = luaL_checknumber(L, 7), eps = luaL_checknumber(L, 8);
  if (rm) lb_check_inplace(L, rm, "batch_norm");
  if (rv) lb_check_inplace(L, rv, "batch_norm");
  push(L, ag_batch_norm(x, w, b, rm, rv, training, momentum, eps), "batch_norm");
  return 1;
}

static int f_layer_norm(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  lua_Integer nd = luaL_checkinteger(L, 2);
  if (nd < 1 || nd > x->ndim)
    luaL_argerror(L, 2, lua_pushfstring(L, "must be in [1, %d] for a %d-d input", x->ndim, x->ndim));
  lt_tensor *w = opt_tensor(L, 3), *b = opt_tensor(L, 4);
  double eps = luaL_checknumber(L, 5);
  push(L, ag_layer_norm(x, (int)nd, w, b, eps), "layer_norm");
  return 1;
}

static int f_dropout(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  double p = luaL_checknumber(L, 2);
  int training = lua_toboolean(L, 3);
  push(L, ag_dropout(x, p, training), "dropout");
  return 1;
}

/* ---- recurrent ------------------------------------------------------------------------------- */
static int f_lstm(lua_State *L) {
  lt_tensor *xg = lb_check(L, 1), *h0 = lb_check(L, 2), *c0 = lb_check(L, 3), *w = lb_check(L, 4);
  lt_tensor *P = push(L, ag_lstm(xg, h0, c0, w), "lstm");
  int64_t T = P->shape[0] - 2;
  push(L, ag_narrow(P, 0, 1, T), "lstm");
  push(L, ag_select(P, 0, T), "lstm");
  push(L, ag_select(P, 0, T + 1), "lstm");
  return 3;
}

static int f_gru(lua_State *L) {
  lt_tensor *xg = lb_check(L, 1), *h0 = lb_check(L, 2), *w = lb_check(L, 3), *b = opt_tensor(L, 4);
  lt_tensor *P = push(L, ag_gru(xg, h0, w, b), "gru");
  int64_t T = P->shape[0] - 1;
  push(L, ag_narrow(P, 0, 1, T), "gru");
  push(L, ag_select(P, 0, T), "gru");
  return 2;
}

static int f_lstm_cell(lua_State *L) {
  lt_tensor *g = lb_check(L, 1), *c = lb_check(L, 2);
  lt_tensor *P = push(L, ag_lstm_cell(g, c), "lstm_cell");
  push(L, ag_select(P, 0, 0), "lstm_cell");
  push(L, ag_select(P, 0, 1), "lstm_cell");
  return 2;
}

static int f_gru_cell(lua_State *L) {
  lt_tensor *gi = lb_check(L, 1), *gh = lb_check(L, 2), *h = lb_check(L, 3);
  push(L, ag_gru_cell(gi, gh, h), "gru_cell");
  return 1;
}

static const luaL_Reg nn_fns[] = {
    {"linear", f_linear},
    {"conv2d", f_conv2d},
    {"conv1d", f_conv1d},
    {"conv_transpose2d", f_conv_transpose2d},
    {"max_pool2d", f_max_pool2d},
    {"avg_pool2d", f_avg_pool2d},
    {"adaptive_avg_pool2d", f_adaptive_avg_pool2d},
    {"cross_entropy", f_cross_entropy},
    {"nll_loss", f_nll_loss},
    {"binary_cross_entropy", f_binary_cross_entropy},
    {"binary_cross_entropy_with_logits", f_binary_cross_entropy_with_logits},
    {"embedding", f_embedding},
    {"batch_norm", f_batch_norm},
    {"layer_norm", f_layer_norm},
    {"dropout", f_dropout},
    {"lstm", f_lstm},
    {"gru", f_gru},
    {"lstm_cell", f_lstm_cell},
    {"gru_cell", f_gru_cell},
    {NULL, NULL}};

void lb_open_nn(lua_State *L, int module) {
  luaL_newlib(L, nn_fns);
  lua_setfield(L, module, "_nn");
}
