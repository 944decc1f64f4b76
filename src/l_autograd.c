/* l_autograd.c -- autograd from Lua: requires_grad, .grad, backward, detach,
 * no_grad / enable_grad, detect_anomaly, and the guard against in-place writes into tensors
 * that take part in a graph. */
#include "autograd.h"
#include "l_tensor.h"
#include <stdlib.h>
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

/* detect_anomaly(on): set the mode; detect_anomaly(f, ...): run f(...) with it
   on, restoring the previous mode however f ends (as no_grad) */
static int l_detect_anomaly(lua_State *L) {
  if (lua_type(L, 1) == LUA_TBOOLEAN) {
    lt_set_anomaly_enabled(lua_toboolean(L, 1));
    return 0;
  }
  luaL_argexpected(L, lua_type(L, 1) == LUA_TFUNCTION, 1, "boolean or function");
  int was = lt_anomaly_enabled();
  lt_set_anomaly_enabled(1);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  lt_set_anomaly_enabled(was);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

static int l_is_anomaly_enabled(lua_State *L) { lua_pushboolean(L, lt_anomaly_enabled()); return 1; }

/* ---- functions defined in Lua ------------------------------------------------
   The node keeps a registry reference to a Lua function g -> gradients and the
   state to call it in; the reference goes when the node does. */
typedef struct { lua_State *L; int ref; } lua_backward;

static void free_lua_backward(void *p) {
  lua_backward *lb = p;
  luaL_unref(lb->L, LUA_REGISTRYINDEX, lb->ref);
  free(lb);
}

static int bw_lua(lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lua_backward *lb = n->ctx;
  lua_State *L = lb->L;
  int top = lua_gettop(L);
  if (!lua_checkstack(L, n->ninputs + 4)) return lt_seterr("Lua stack overflow");
  lua_rawgeti(L, LUA_REGISTRYINDEX, lb->ref);
  lt_tensor **box = lb_newbox(L);
  *box = lt_retain(g);
  if (lua_pcall(L, 1, n->ninputs, 0) != LUA_OK) {
    lt_seterr("%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error in backward");
    lua_settop(L, top);
    return -1;
  }
  for (int k = 0; k < n->ninputs; k++) {
    int at = top + 1 + k;
    if (!n->needs[k] || lua_isnil(L, at)) continue;
    lt_tensor **gb = luaL_testudata(L, at, LB_TENSOR);
    if (!gb || !*gb) {
      lt_seterr("backward returned a %s for input %d; expected a tensor or nil", luaL_typename(L, at), k + 1);
      lua_settop(L, top);
      return -1;
    }
    gin[k] = lt_retain(*gb);
  }
  lua_settop(L, top);
  return 0;
}

/* record_function(out, {inputs...}, backward [, name]): out gets a node whose
   gradients come from backward(g), one per entry of inputs */
static int l_record_function(lua_State *L) {
  lt_tensor *out = lb_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  const char *name = luaL_optstring(L, 4, "FunctionBackward");
  int n = (int)luaL_len(L, 2);
  if (out->ag && out->ag->grad_fn) return luaL_argerror(L, 1, "the output already has a grad_fn (run forward under no_grad)");
  lt_tensor **ins = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *ins, 0);
  for (int k = 0; k < n; k++) {
    lua_rawgeti(L, 2, k + 1);
    ins[k] = lb_test(L, -1); /* non-tensor arguments get no gradient */
    lua_pop(L, 1);
  }
  /* the name lives in a registry table of names, so the node's pointer stays valid */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, "lunet.function_names");
  lua_pushstring(L, name);
  lua_pushvalue(L, -1);
  lua_rawset(L, -3);
  lua_getfield(L, -1, name);
  name = lua_tostring(L, -1);
  lua_pop(L, 2);
  lua_backward *lb = malloc(sizeof *lb);
  if (!lb) return luaL_error(L, "record_function: out of memory");
  int err;
  lt_node *node = lt_record(out, name, bw_lua, n, ins, &err);
  if (err) { free(lb); return lb_error(L, name); }
  if (!node) { free(lb); lua_settop(L, 1); return 1; } /* nothing requires grad */
  lb->L = L;
  lua_pushvalue(L, 3);
  lb->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  node->ctx = lb;
  node->ctx_free = free_lua_backward;
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg methods[] = {
    {"requires_grad_", m_requires_grad_}, {"detach", m_detach}, {"backward", m_backward}, {NULL, NULL}};

static const luaL_Reg module_fns[] = {
    {"no_grad", l_no_grad}, {"enable_grad", l_enable_grad},
    {"set_grad_enabled", l_set_grad_enabled}, {"is_grad_enabled", l_is_grad_enabled},
    {"detect_anomaly", l_detect_anomaly}, {"is_anomaly_enabled", l_is_anomaly_enabled},
    {"_record_function", l_record_function}, {NULL, NULL}};

void lb_open_autograd(lua_State *L, int mt_methods, int module) {
  lt_autograd_init();
  lua_pushvalue(L, mt_methods);
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 1);
  lua_pushvalue(L, module);
  luaL_setfuncs(L, module_fns, 0);
  lua_pop(L, 1);
}
