/* l_autograd.c -- autograd from Lua: requires_grad, .grad, backward, detach,
 * no_grad / enable_grad, and the guard against in-place writes into tensors
 * that take part in a graph. */
#include "autograd.h"
#include "l_tensor.h"
#include <string.h>

void lb_check_inplace(lua_State *L, lt_tensor *t, const char *fname) {
  if (lt_grad_enabled() && lt_requires_grad(t))
    luaL_error(L, "%s: a tensor that requires grad cannot be changed in place while gradients are "
                  "recorded (use the out-of-place form, or do it inside lunet.no_grad)", fname);
}

/* x.grad, x.requires_grad, x.grad_fn, x.is_leaf */
int lb_property(lua_State *L, lt_tensor *t, const char *key) {
  if (strcmp(key, "grad") == 0) {
    lt_tensor *g = lt_grad(t);
    if (!g) { lua_pushnil(L); return 1; }
    lt_tensor **box = lb_newbox(L);
    *box = lt_retain(g);
    return 1;
  }
  if (strcmp(key, "requires_grad") == 0) { lua_pushboolean(L, lt_requires_grad(t)); return 1; }
  if (strcmp(key, "is_leaf") == 0) { lua_pushboolean(L, lt_grad_fn(t) == NULL); return 1; }
  if (strcmp(key, "grad_fn") == 0) {
    lt_node *n = lt_grad_fn(t);
    if (n) lua_pushstring(L, n->name);
    else lua_pushnil(L);
    return 1;
  }
  return 0;
}

/* x.grad = g | nil, x.requires_grad = bool */
int lb_set_property(lua_State *L, lt_tensor *t, const char *key, int value) {
  if (strcmp(key, "grad") == 0) {
    lt_tensor *g = lua_isnil(L, value) ? NULL : lb_check(L, value);
    if (g && (!lt_same_shape(g, t) || g->dtype != t->dtype)) {
      char a[128], b[128];
      return luaL_error(L, "grad: a %s gradient of shape %s does not fit a %s tensor of shape %s",
                        lt_dtype_name(g->dtype), lt_shape_str(g->ndim, g->shape, a, sizeof a),
                        lt_dtype_name(t->dtype), lt_shape_str(t->ndim, t->shape, b, sizeof b));
    }
    lt_set_grad(t, g);
    return 1;
  }
  if (strcmp(key, "requires_grad") == 0) {
    if (lt_set_requires_grad(t, lua_toboolean(L, value)) < 0) return lb_error(L, "requires_grad");
    return 1;
  }
  return 0;
}

static int m_requires_grad_(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int on = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  if (lt_set_requires_grad(t, on) < 0) return lb_error(L, "requires_grad_");
  lua_settop(L, 1);
  return 1;
}

static int m_detach(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  LB_RETURN(L, "detach", lt_detach(t));
}

/* x:backward([gradient] [, {retain_graph = true}]) */
static int m_backward(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  lt_tensor *g = lb_test(L, 2);
  int opt = g ? 3 : 2, retain = 0;
  if (!g && !lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TTABLE) return luaL_typeerror(L, 2, "tensor or options table");
  if (lua_type(L, opt) == LUA_TTABLE) {
    lua_getfield(L, opt, "retain_graph");
    retain = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (lt_backward(t, g, retain) < 0) return lb_error(L, "backward");
  lb_account(L);
  return 0;
}

/* run f(...) with grad mode set, restoring it however f ends */
static int with_grad_mode(lua_State *L, int on) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int was = lt_grad_enabled();
  lt_set_grad_enabled(on);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  lt_set_grad_enabled(was);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}
static int l_no_grad(lua_State *L) { return with_grad_mode(L, 0); }
static int l_enable_grad(lua_State *L) { return with_grad_mode(L, 1); }

static int l_set_grad_enabled(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  lt_set_grad_enabled(lua_toboolean(L, 1));
  return 0;
}

static int l_is_grad_enabled(lua_State *L) { lua_pushboolean(L, lt_grad_enabled()); return 1; }

static const luaL_Reg methods[] = {
    {"requires_grad_", m_requires_grad_}, {"detach", m_detach}, {"backward", m_backward}, {NULL, NULL}};

static const luaL_Reg module_fns[] = {
    {"no_grad", l_no_grad}, {"enable_grad", l_enable_grad},
    {"set_grad_enabled", l_set_grad_enabled}, {"is_grad_enabled", l_is_grad_enabled}, {NULL, NULL}};

void lb_open_autograd(lua_State *L, int mt_methods, int module) {
  lt_autograd_init();
  lua_pushvalue(L, mt_methods);
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 1);
  lua_pushvalue(L, module);
  luaL_setfuncs(L, module_fns, 0);
  lua_pop(L, 1);
}
