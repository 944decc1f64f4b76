/* l_ops.c -- Lua bindings of the math: operators, pointwise, reductions, matmul.
 * Each binary and unary op is one closure over its op code, so the table
 * of names below is the only list of them. */
#include "autograd.h"
#include "l_tensor.h"
#include <math.h>
#include <stdio.h>

/* a tensor argument that may be a closed box gets a precise message */
static lt_tensor *tensor_arg(lua_State *L, int arg) {
  lt_tensor **box = luaL_testudata(L, arg, LB_TENSOR);
  if (box && !*box) luaL_argerror(L, arg, "tensor has been closed");
  return box ? *box : NULL;
}

/* ---- binary ---------------------------------------------------------------- */
/* the number scalar paths take a double, which rounds integers beyond 2^53:
   such an integer beside an int64 tensor becomes a 0-dim int64 tensor (pushed) */
static lt_tensor *exact_int(lua_State *L, int arg, const lt_tensor *other) {
  if (other->dtype != LT_INT64 || !lua_isinteger(L, arg)) return NULL;
  lua_Integer v = lua_tointeger(L, arg);
  if (v >= -((lua_Integer)1 << 53) && v <= ((lua_Integer)1 << 53)) return NULL;
  return lb_tensorish(L, arg, LT_INT64);
}

static int binary(lua_State *L) {
  lt_binop op = (lt_binop)lua_tointeger(L, lua_upvalueindex(1));
  const char *fname = lt_binop_name(op);
  lt_tensor *a = tensor_arg(L, 1), *b = tensor_arg(L, 2);
  if (a && !b) b = exact_int(L, 2, a);
  else if (b && !a) a = exact_int(L, 1, b);
  if (a && b) LB_RETURN(L, fname, ag_binary(op, a, b));
  if (a && lua_type(L, 2) == LUA_TNUMBER)
    LB_RETURN(L, fname, ag_binary_scalar(op, a, lua_tonumber(L, 2), lua_isinteger(L, 2), 0));
  if (b && lua_type(L, 1) == LUA_TNUMBER)
    LB_RETURN(L, fname, ag_binary_scalar(op, b, lua_tonumber(L, 1), lua_isinteger(L, 1), 1));
  return luaL_typeerror(L, a ? 2 : 1, "tensor or number");
}

static int binary_(lua_State *L) {
  lt_binop op = (lt_binop)lua_tointeger(L, lua_upvalueindex(1));
  lt_tensor *a = lb_check(L, 1), *b = tensor_arg(L, 2);
  char name[32];
  snprintf(name, sizeof name, "%s_", lt_binop_name(op));
  lb_check_inplace(L, a, name);
  int rc;
  if (!b) b = exact_int(L, 2, a);
  if (b) rc = lt_binary_(op, a, b);
  else rc = lt_binary_scalar_(op, a, luaL_checknumber(L, 2));
  if (rc < 0) return luaL_error(L, "%s_: %s", lt_binop_name(op), lt_errmsg());
  lua_settop(L, 1);
  return 1;
}

/* ---- unary ----------------------------------------------------------------- */
static int unary(lua_State *L) {
  lt_unop op = (lt_unop)lua_tointeger(L, lua_upvalueindex(1));
  lt_tensor *t = lb_check(L, 1);
  LB_RETURN(L, lt_unop_name(op), ag_unary(op, t));
}

static int unary_(lua_State *L) {
  lt_unop op = (lt_unop)lua_tointeger(L, lua_upvalueindex(1));
  lt_tensor *t = lb_check(L, 1);
  char name[32];
  snprintf(name, sizeof name, "%s_", lt_unop_name(op));
  lb_check_inplace(L, t, name);
  if (lt_unary_(op, t) < 0) return luaL_error(L, "%s_: %s", lt_unop_name(op), lt_errmsg());
  lua_settop(L, 1);
  return 1;
}

static void clamp_args(lua_State *L, double *lo, double *hi) {
  if (lua_type(L, 2) == LUA_TTABLE) { /* clamp{min = 0, max = 1} */
    lua_getfield(L, 2, "min");
    lua_getfield(L, 2, "max");
    *lo = luaL_optnumber(L, -2, NAN);
    *hi = luaL_optnumber(L, -1, NAN);
    lua_pop(L, 2);
  } else {
    *lo = luaL_optnumber(L, 2, NAN);
    *hi = luaL_optnumber(L, 3, NAN);
  }
}

static int m_clamp(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  double lo, hi;
  clamp_args(L, &lo, &hi);
  LB_RETURN(L, "clamp", ag_clamp(t, lo, hi));
}

static int m_clamp_(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  lb_check_inplace(L, t, "clamp_");
  double lo, hi;
  clamp_args(L, &lo, &hi);
  if (lt_clamp_(t, lo, hi) < 0) return lb_error(L, "clamp_");
  lua_settop(L, 1);
  return 1;
}

/* a number beside a tensor takes the tensor's dtype, unless it is a
   fraction beside int64 (then float32, as promotion would give) */
static lt_dtype number_dtype(lua_State *L, int arg, const lt_tensor *other) {
  if (!other) return lua_isinteger(L, arg) ? LT_INT64 : LT_FLOAT32;
  if (other->dtype == LT_INT64 && !lua_isinteger(L, arg)) return LT_FLOAT32;
  return other->dtype;
}

/* where(cond, a, b): a and b are tensors or numbers */
static int l_where(lua_State *L) {
  lua_settop(L, 3); /* numbers become tensors pushed above the arguments */
  lt_tensor *cond = lb_check(L, 1);
  lt_tensor *a = tensor_arg(L, 2), *b = tensor_arg(L, 3);
  if (!a) a = lb_tensorish(L, 2, number_dtype(L, 2, b));
  if (!b) b = lb_tensorish(L, 3, number_dtype(L, 3, a));
  LB_RETURN(L, "where", ag_where(cond, a, b));
}

/* x:where(cond, y) is where(cond, x, y) */
static int m_where(lua_State *L) {
  lua_settop(L, 3);
  lua_pushvalue(L, 1);
  lua_remove(L, 1); /* cond, y, x */
  lua_insert(L, 2); /* cond, x, y */
  return l_where(L);
}

static int m_masked_fill_(lua_State *L) {
  lt_tensor *t = lb_check(L, 1), *mask = lb_check(L, 2);
  lb_check_inplace(L, t, "masked_fill_");
  if (lt_masked_fill_(t, mask, luaL_checknumber(L, 3)) < 0) return lb_error(L, "masked_fill_");
  lua_settop(L, 1);
  return 1;
}

static int m_masked_fill(lua_State *L) {
  lt_tensor *t = lb_check(L, 1), *mask = lb_check(L, 2);
  double v = luaL_checknumber(L, 3);
  LB_RETURN(L, "masked_fill", ag_masked_fill(t, mask, v));
}

/* ---- reductions ------------------------------------------------------------ */
static const struct { const char *name; lt_reduce_op op; } reductions[] = {
    {"sum", LT_SUM}, {"mean", LT_MEAN}, {"prod", LT_PROD}, {"var", LT_VAR},
    {"std", LT_STD}, {"logsumexp", LT_LOGSUMEXP}};

/* x:sum(), x:sum(dim), x:sum(dim, keepdim); var/std take a correction third (default 1) */
static int reduce(lua_State *L) {
  lt_reduce_op op = (lt_reduce_op)lua_tointeger(L, lua_upvalueindex(1));
  const char *fname = lua_tostring(L, lua_upvalueindex(2));
  lt_tensor *t = lb_check(L, 1);
  int dim = lb_optdim(L, 2, t->ndim, -1);
  int keepdim = lua_toboolean(L, 3);
  lua_Integer corr = luaL_optinteger(L, 4, 1);
  if (corr < 0) return luaL_argerror(L, 4, "correction must be non-negative");
  LB_RETURN(L, fname, ag_reduce(op, t, dim, keepdim, (int)corr));
}

/* x:max() -> 0-dim; x:max(dim[, keepdim]) -> values, 1-based indices; x:max(y) -> maximum */
static int extreme(lua_State *L, lt_reduce_op op, lt_binop elementwise, const char *fname) {
  lt_tensor *t = lb_check(L, 1);
  lt_tensor *other = tensor_arg(L, 2);
  if (other) LB_RETURN(L, fname, ag_binary(elementwise, t, other));
  if (lua_isnoneornil(L, 2)) LB_RETURN(L, fname, ag_reduce(op, t, -1, 0, 0));
  int dim = lb_dim(L, 2, t->ndim, 0), keepdim = lua_toboolean(L, 3);
  lt_tensor **vbox = lb_newbox(L), **ibox = lb_newbox(L);
  if (ag_reduce_with_index(op, t, dim, keepdim, vbox, ibox) < 0) return lb_error(L, fname);
  /* 1-based positions in a new tensor: the 0-based one may be saved for backward */
  lt_tensor *zero_based = *ibox;
  *ibox = lt_binary_scalar(LT_ADD, zero_based, 1, 1, 0);
  lt_release(zero_based);
  if (!*ibox) return lb_error(L, fname);
  lb_account(L);
  return 2;
}
static int m_max(lua_State *L) { return extreme(L, LT_MAX, LT_MAXIMUM, "max"); }
static int m_min(lua_State *L) { return extreme(L, LT_MIN, LT_MINIMUM, "min"); }

static int arg_extreme(lua_State *L, lt_reduce_op op, const char *fname) {
  lt_tensor *t = lb_check(L, 1);
  int dim = lb_optdim(L, 2, t->ndim, -1), keepdim = lua_toboolean(L, 3);
  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_reduce(op, t, dim, keepdim, 0))) return lb_error(L, fname);
  lt_binary_scalar_(LT_ADD, *box, 1); /* 1-based positions */
  lb_account(L);
  return 1;
}
static int m_argmax(lua_State *L) { return arg_extreme(L, LT_ARGMAX, "argmax"); }
static int m_argmin(lua_State *L) { return arg_extreme(L, LT_ARGMIN, "argmin"); }

static int softmax_like(lua_State *L, int log_, const char *fname) {
  lt_tensor *t = lb_check(L, 1);
  if (lua_isnoneornil(L, 2)) return luaL_error(L, "%s: the dimension is required (e.g. %s(-1) for the last)", fname, fname);
  int dim = lb_dim(L, 2, t->ndim, 0);
  LB_RETURN(L, fname, ag_softmax(t, dim, log_));
}
static int m_softmax(lua_State *L) { return softmax_like(L, 0, "softmax"); }
static int m_log_softmax(lua_State *L) { return softmax_like(L, 1, "log_softmax"); }

/* ---- linear algebra -------------------------------------------------------- */
static const struct { const char *name; lt_tensor *(*fn)(lt_tensor *, lt_tensor *); } products[] = {
    {"matmul", ag_matmul}, {"mm", ag_mm}, {"bmm", ag_bmm}, {"dot", ag_dot}};

static int product(lua_State *L) {
  int k = (int)lua_tointeger(L, lua_upvalueindex(1));
  lt_tensor *a = lb_check(L, 1), *b = lb_check(L, 2);
  LB_RETURN(L, products[k].name, products[k].fn(a, b));
}

/* ---- registration ---------------------------------------------------------- */
static const struct { const char *name, *meta; lt_binop op; int inplace; } binaries[] = {
    {"add", "__add", LT_ADD, 1},       {"sub", "__sub", LT_SUB, 1},
    {"mul", "__mul", LT_MUL, 1},       {"div", "__div", LT_DIV, 1},
    {"pow", "__pow", LT_POW, 1},       {"remainder", "__mod", LT_MOD, 1},
    {"floor_divide", "__idiv", LT_FLOORDIV, 1},
    {"maximum", NULL, LT_MAXIMUM, 0},  {"minimum", NULL, LT_MINIMUM, 0},
    {"atan2", NULL, LT_ATAN2, 0},      {"eq", NULL, LT_EQ, 0},
    {"ne", NULL, LT_NE, 0},            {"lt", NULL, LT_LT, 0},
    {"le", NULL, LT_LE, 0},            {"gt", NULL, LT_GT, 0},
    {"ge", NULL, LT_GE, 0}};

static const luaL_Reg methods[] = {
    {"clamp", m_clamp},     {"clamp_", m_clamp_},   {"where", m_where},
    {"masked_fill", m_masked_fill}, {"masked_fill_", m_masked_fill_},
    {"max", m_max},         {"min", m_min},         {"argmax", m_argmax},
    {"argmin", m_argmin},   {"softmax", m_softmax}, {"log_softmax", m_log_softmax},
    {NULL, NULL}};

static int unm(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  LB_RETURN(L, "neg", ag_unary(LT_NEG, t));
}

void lb_open_ops(lua_State *L, int mt_methods, int module) {
  luaL_getmetatable(L, LB_TENSOR);
  int meta = lua_gettop(L);
  char name[64];
  for (size_t i = 0; i < sizeof binaries / sizeof binaries[0]; i++) {
    lua_pushinteger(L, binaries[i].op);
    lua_pushcclosure(L, binary, 1);
    if (binaries[i].meta) { lua_pushvalue(L, -1); lua_setfield(L, meta, binaries[i].meta); }
    lua_setfield(L, mt_methods, binaries[i].name);
    if (binaries[i].inplace) {
      lua_pushinteger(L, binaries[i].op);
      lua_pushcclosure(L, binary_, 1);
      snprintf(name, sizeof name, "%s_", binaries[i].name);
      lua_setfield(L, mt_methods, name);
    }
  }
  lua_pushcfunction(L, unm);
  lua_setfield(L, meta, "__unm");
  for (int op = 0; op < LT_UNARY_COUNT; op++) {
    lua_pushinteger(L, op);
    lua_pushcclosure(L, unary, 1);
    lua_setfield(L, mt_methods, lt_unop_name(op));
    lua_pushinteger(L, op);
    lua_pushcclosure(L, unary_, 1);
    snprintf(name, sizeof name, "%s_", lt_unop_name(op));
    lua_setfield(L, mt_methods, name);
  }
  for (size_t i = 0; i < sizeof reductions / sizeof reductions[0]; i++) {
    lua_pushinteger(L, reductions[i].op);
    lua_pushstring(L, reductions[i].name);
    lua_pushcclosure(L, reduce, 2);
    lua_setfield(L, mt_methods, reductions[i].name);
  }
  for (size_t i = 0; i < sizeof products / sizeof products[0]; i++) {
    lua_pushinteger(L, (lua_Integer)i);
    lua_pushcclosure(L, product, 1);
    lua_setfield(L, mt_methods, products[i].name);
  }
  lua_pushvalue(L, mt_methods);
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_where);
  lua_setfield(L, module, "where");
  lua_pop(L, 1); /* meta */
}
