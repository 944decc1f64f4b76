/* l_optim.c -- Lua bindings of the fused optimizer updates (optim.c), in the
 * hidden table lunet.core._optim that lua/lunet/optim/ builds on:
 *   sgd_(param, grad, buf|nil, lr, momentum, dampening, weight_decay, nesterov, maximize, first)
 *   adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq|nil, step, lr, beta1, beta2, eps,
 *         weight_decay, decoupled, amsgrad, maximize)
 *   rmsprop_(param, grad, square_avg, grad_avg|nil, momentum_buffer|nil, lr, alpha, eps,
 *            weight_decay, momentum, maximize)
 *   adagrad_(param, grad, sum, step, lr, lr_decay, eps, weight_decay, maximize)
 *   pnorm_sum(t, norm_type) -> sum of |x|^norm_type, or max |x| for math.huge
 *   id(t) -> a light userdata naming the tensor (to find a parameter given twice)
 *
 * The updates write straight into the parameter's storage: no autograd node
 * is recorded and the requires-grad guard does not apply (an optimizer step
 * is not part of any graph, as under torch.no_grad). The storage versions are
 * bumped, so a graph that saved a parameter before the step still refuses to
 * run backward through the stale value. Every error names the function and
 * the argument.
 */
#include "l_tensor.h"
#include "optim.h"
#include <math.h>
#include <string.h>

static int arg_error(lua_State *L, const char *fname, int arg, const char *name, const char *msg) {
  return luaL_error(L, "%s: argument #%d (%s) %s", fname, arg, name, msg);
}

static lt_tensor *arg_tensor(lua_State *L, const char *fname, int arg, const char *name) {
  lt_tensor **box = luaL_testudata(L, arg, LB_TENSOR);
  if (!box) arg_error(L, fname, arg, name, lua_pushfstring(L, "must be a tensor, got %s", luaL_typename(L, arg)));
  if (!*box) arg_error(L, fname, arg, name, "is a tensor that has been closed");
  return *box;
}

static double arg_number(lua_State *L, const char *fname, int arg, const char *name) {
  int ok;
  lua_Number v = lua_tonumberx(L, arg, &ok);
  if (!ok || lua_type(L, arg) != LUA_TNUMBER)
    arg_error(L, fname, arg, name, lua_pushfstring(L, "must be a number, got %s", luaL_typename(L, arg)));
  return (double)v;
}

static int arg_flag(lua_State *L, const char *fname, int arg, const char *name) {
  if (!lua_isboolean(L, arg))
    arg_error(L, fname, arg, name, lua_pushfstring(L, "must be a boolean, got %s", luaL_typename(L, arg)));
  return lua_toboolean(L, arg);
}

static int64_t arg_step(lua_State *L, const char *fname, int arg) {
  int ok;
  lua_Integer s = lua_tointegerx(L, arg, &ok);
  if (!ok || s < 1)
    arg_error(L, fname, arg, "step", "must be an integer >= 1");
  return (int64_t)s;
}

/* the parameter: float32/float64, contiguous, written in place */
static lt_tensor *arg_param(lua_State *L, const char *fname, int arg) {
  lt_tensor *p = arg_tensor(L, fname, arg, "param");
  if (!lt_is_float(p->dtype))
    arg_error(L, fname, arg, "param", lua_pushfstring(L, "must be float32 or float64, got %s", lt_dtype_name(p->dtype)));
  if (!lt_is_contiguous(p))
    arg_error(L, fname, arg, "param", "must be contiguous (an optimizer updates its memory in place)");
  return p;
}

static void check_like(lua_State *L, const char *fname, int arg, const char *name, const lt_tensor *t,
                       const lt_tensor *p) {
  if (t->dtype != p->dtype || !lt_same_shape(t, p)) {
    char a[128], b[128];
    arg_error(L, fname, arg, name,
              lua_pushfstring(L, "is a %s tensor of shape %s, expected %s of shape %s (the parameter's)",
                              lt_dtype_name(t->dtype), lt_shape_str(t->ndim, t->shape, a, sizeof a),
                              lt_dtype_name(p->dtype), lt_shape_str(p->ndim, p->shape, b, sizeof b)));
  }
}

/* written buffers: at most 4 per call, checked not to share memory with one
   another (the kernels assume no aliasing) */
typedef struct { lt_tensor *t[4]; int n; } written;

static lt_tensor *arg_state(lua_State *L, const char *fname, int arg, const char *name, const lt_tensor *p,
                            written *w, int optional) {
  if (optional && lua_isnil(L, arg)) return NULL;
  lt_tensor *t = arg_tensor(L, fname, arg, name);
  check_like(L, fname, arg, name, t, p);
  if (!lt_is_contiguous(t)) arg_error(L, fname, arg, name, "must be contiguous");
  for (int k = 0; k < w->n; k++)
    if (w->t[k]->storage == t->storage)
      arg_error(L, fname, arg, name, "shares memory with another argument");
  w->t[w->n++] = t;
  return t;
}

/* the gradient, read only; copied (on the stack, so the GC frees it whatever
   happens next) when it is not contiguous or shares memory with a buffer the
   update writes, since the kernels assume no aliasing */
static lt_tensor *arg_grad(lua_State *L, const char *fname, int arg, const lt_tensor *p, const written *w) {
  lt_tensor *g = arg_tensor(L, fname, arg, "grad");
  check_like(L, fname, arg, "grad", g, p);
  int copy = !lt_is_contiguous(g);
  for (int k = 0; k < w->n; k++) copy |= w->t[k]->storage == g->storage;
  if (!copy) return g;
  lt_tensor **box = lb_newbox(L);
  *box = lt_clone(g);
  if (!*box) lb_error(L, fname);
  return *box;
}

static void *data_or_null(const lt_tensor *t) { return t ? lt_data(t) : NULL; }

static void bump(written *w) {
  for (int k = 0; k < w->n; k++) lt_bump_version(w->t[k]);
}

static int l_sgd(lua_State *L) {
  const char *F = "sgd_";
  written w = {{0}, 0};
  lt_tensor *p = arg_param(L, F, 1);
  w.t[w.n++] = p;
  lt_tensor *buf = arg_state(L, F, 3, "buf", p, &w, 1);
  lt_sgd_hyper h = {arg_number(L, F, 4, "lr"), arg_number(L, F, 5, "momentum"),
                    arg_number(L, F, 6, "dampening"), arg_number(L, F, 7, "weight_decay"),
                    arg_flag(L, F, 8, "nesterov"), arg_flag(L, F, 9, "maximize"), arg_flag(L, F, 10, "first")};
  if (h.momentum != 0 && !buf) arg_error(L, F, 3, "buf", "is required when momentum is not 0");
  lt_tensor *g = arg_grad(L, F, 2, p, &w);
  int64_t n = lt_numel(p);
  if (p->dtype == LT_FLOAT32) lt_sgd_f32(n, lt_data(p), lt_data(g), data_or_null(buf), &h);
  else lt_sgd_f64(n, lt_data(p), lt_data(g), data_or_null(buf), &h);
  bump(&w);
  return 0;
}

static int l_adam(lua_State *L) {
  const char *F = "adam_";
  written w = {{0}, 0};
  lt_tensor *p = arg_param(L, F, 1);
  w.t[w.n++] = p;
  lt_tensor *m = arg_state(L, F, 3, "exp_avg", p, &w, 0);
  lt_tensor *v = arg_state(L, F, 4, "exp_avg_sq", p, &w, 0);
  lt_tensor *vmax = arg_state(L, F, 5, "max_exp_avg_sq", p, &w, 1);
  lt_adam_hyper h;
  h.step = arg_step(L, F, 6);
  h.lr = arg_number(L, F, 7, "lr");
  h.beta1 = arg_number(L, F, 8, "beta1");
  h.beta2 = arg_number(L, F, 9, "beta2");
  h.eps = arg_number(L, F, 10, "eps");
  h.weight_decay = arg_number(L, F, 11, "weight_decay");
  h.decoupled = arg_flag(L, F, 12, "decoupled");
  h.amsgrad = arg_flag(L, F, 13, "amsgrad");
  h.maximize = arg_flag(L, F, 14, "maximize");
  if (h.amsgrad && !vmax) arg_error(L, F, 5, "max_exp_avg_sq", "is required with amsgrad");
  lt_tensor *g = arg_grad(L, F, 2, p, &w);
  int64_t n = lt_numel(p);
  if (p->dtype == LT_FLOAT32) lt_adam_f32(n, lt_data(p), lt_data(g), lt_data(m), lt_data(v), data_or_null(vmax), &h);
  else lt_adam_f64(n, lt_data(p), lt_data(g), lt_data(m), lt_data(v), data_or_null(vmax), &h);
  bump(&w);
  return 0;
}

static int l_rmsprop(lua_State *L) {
  const char *F = "rmsprop_";
  written w = {{0}, 0};
  lt_tensor *p = arg_param(L, F, 1);
  w.t[w.n++] = p;
  lt_tensor *v = arg_state(L, F, 3, "square_avg", p, &w, 0);
  lt_tensor *gavg = arg_state(L, F, 4, "grad_avg", p, &w, 1);
  lt_tensor *buf = arg_state(L, F, 5, "momentum_buffer", p, &w, 1);
  lt_rmsprop_hyper h = {arg_number(L, F, 6, "lr"), arg_number(L, F, 7, "alpha"), arg_number(L, F, 8, "eps"),
                        arg_number(L, F, 9, "weight_decay"), arg_number(L, F, 10, "momentum"),
                        arg_flag(L, F, 11, "maximize")};
  if (h.momentum > 0 && !buf) arg_error(L, F, 5, "momentum_buffer", "is required when momentum > 0");
  lt_tensor *g = arg_grad(L, F, 2, p, &w);
  int64_t n = lt_numel(p);
  if (p->dtype == LT_FLOAT32)
    lt_rmsprop_f32(n, lt_data(p), lt_data(g), lt_data(v), data_or_null(gavg), data_or_null(buf), &h);
  else lt_rmsprop_f64(n, lt_data(p), lt_data(g), lt_data(v), data_or_null(gavg), data_or_null(buf), &h);
  bump(&w);
  return 0;
}

static int l_adagrad(lua_State *L) {
  const char *F = "adagrad_";
  written w = {{0}, 0};
  lt_tensor *p = arg_param(L, F, 1);
  w.t[w.n++] = p;
  lt_tensor *sum = arg_state(L, F, 3, "sum", p, &w, 0);
  lt_adagrad_hyper h;
  h.step = arg_step(L, F, 4);
  h.lr = arg_number(L, F, 5, "lr");
  h.lr_decay = arg_number(L, F, 6, "lr_decay");
  h.eps = arg_number(L, F, 7, "eps");
  h.weight_decay = arg_number(L, F, 8, "weight_decay");
  h.maximize = arg_flag(L, F, 9, "maximize");
  lt_tensor *g = arg_grad(L, F, 2, p, &w);
  int64_t n = lt_numel(p);
  if (p->dtype == LT_FLOAT32) lt_adagrad_f32(n, lt_data(p), lt_data(g), lt_data(sum), &h);
  else lt_adagrad_f64(n, lt_data(p), lt_data(g), lt_data(sum), &h);
  bump(&w);
  return 0;
}

static int l_pnorm_sum(lua_State *L) {
  const char *F = "pnorm_sum";
  lt_tensor *t = arg_tensor(L, F, 1, "t");
  if (!lt_is_float(t->dtype))
    arg_error(L, F, 1, "t", lua_pushfstring(L, "must be float32 or float64, got %s", lt_dtype_name(t->dtype)));
  double q = arg_number(L, F, 2, "norm_type");
  if (!(q > 0)) arg_error(L, F, 2, "norm_type", "must be > 0 (math.huge for the max norm)");
  if (!lt_is_contiguous(t)) {
    lt_tensor **box = lb_newbox(L);
    *box = lt_contiguous(t);
    if (!*box) return lb_error(L, F);
    t = *box;
  }
  int64_t n = lt_numel(t);
  lua_pushnumber(L, t->dtype == LT_FLOAT32 ? lt_pnorm_sum_f32(n, lt_data(t), q) : lt_pnorm_sum_f64(n, lt_data(t), q));
  return 1;
}

static int l_id(lua_State *L) {
  lua_pushlightuserdata(L, arg_tensor(L, "id", 1, "t"));
  return 1;
}

void lb_open_optim(lua_State *L, int module) {
  static const luaL_Reg fns[] = {
      {"sgd_", l_sgd},       {"adam_", l_adam},           {"rmsprop_", l_rmsprop}, {"adagrad_", l_adagrad},
      {"pnorm_sum", l_pnorm_sum}, {"id", l_id},         {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_setfield(L, module, "_optim");
}
