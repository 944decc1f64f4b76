/* l_index.c -- 1-based indexing, slicing, gathering and joining from Lua.
 *
 *   x[i]               select along dimension 1 (a number if x is 1-d, as in Torch7)
 *   x[{i, {a, b}, {}}] per dimension: a number selects, {a, b} is the inclusive
 *                      range a..b, {a, b, step} strides, {a} keeps one, {} keeps all
 *   x[k] = v           the same views, filled with a number or copied from a tensor
 * Negative positions count from the end (-1 is the last).
 */
#include "autograd.h"
#include "l_tensor.h"
#include <stdlib.h>
#include <string.h>

/* replace the view in box with next (NULL raises) */
static void step(lua_State *L, lt_tensor **box, lt_tensor *next, const char *fname) {
  lt_release(*box);
  *box = next;
  if (!next) lb_error(L, fname);
}

/* position p (1-based, negative from the end) in a dimension of size n, or
   -1 if out of range; `end` allows n + 1 (just past the end) */
static int64_t position(lua_Integer p, int64_t n, int end) {
  int64_t r = p < 0 ? p + n + 1 : p;
  return (r < 1 || r > n + end) ? -1 : r - 1;
}

static lua_Integer table_int(lua_State *L, int tbl, int i, const char *what) {
  lua_rawgeti(L, tbl, i);
  int ok;
  lua_Integer v = lua_tointegerx(L, -1, &ok);
  if (!ok) luaL_error(L, "index: %s must be an integer, got %s", what, luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

/* push the view that key (at stack index k) names; *scalar set when every
   dimension was selected by a number */
static lt_tensor *resolve(lua_State *L, lt_tensor *t, int k, int *scalar) {
  lt_tensor **box = lb_newbox(L);
  *box = lt_retain(t);
  *scalar = 0;
  if (lua_type(L, k) == LUA_TNUMBER) {
    int ok;
    lua_Integer i = lua_tointegerx(L, k, &ok);
    if (!ok) luaL_error(L, "index: expected an integer, got %f", lua_tonumber(L, k));
    if (t->ndim == 0) luaL_error(L, "index: a 0-dim tensor cannot be indexed (use item())");
    int64_t p = position(i, t->shape[0], 0);
    if (p < 0) luaL_error(L, "index: %I is out of range for dimension 1 of size %I", i, (lua_Integer)t->shape[0]);
    step(L, box, ag_select(*box, 0, p), "index");
    *scalar = (*box)->ndim == 0;
    return *box;
  }
  if (lua_type(L, k) != LUA_TTABLE) luaL_error(L, "index: expected a number or a table, got %s", luaL_typename(L, k));
  int n = (int)lua_rawlen(L, k), dim = 0, selected = 0;
  if (n > t->ndim) luaL_error(L, "index: %d indices for a tensor with %d dimensions", n, t->ndim);
  for (int i = 1; i <= n; i++) {
    lt_tensor *v = *box;
    int64_t size = v->shape[dim];
    lua_rawgeti(L, k, i);
    int type = lua_type(L, -1);
    if (type == LUA_TNUMBER) {
      lua_pop(L, 1);
      lua_Integer x = table_int(L, k, i, "a position");
      int64_t p = position(x, size, 0);
      if (p < 0) luaL_error(L, "index: %I is out of range for dimension %d of size %I", x, i, (lua_Integer)size);
      step(L, box, ag_select(v, dim, p), "index");
      selected++;
    } else if (type == LUA_TTABLE) {
      int r = lua_gettop(L), len = (int)lua_rawlen(L, r);
      if (len > 3) luaL_error(L, "index: range %d has %d entries (expected {}, {a}, {a, b} or {a, b, step})", i, len);
      lua_Integer a = len >= 1 ? table_int(L, r, 1, "a range start") : 1;
      lua_Integer b = len >= 2 ? table_int(L, r, 2, "a range end") : len == 1 ? a : -1;
      lua_Integer s = len == 3 ? table_int(L, r, 3, "a range step") : 1;
      lua_pop(L, 1);
      int64_t pa = position(a, size, 1), pb = position(b, size, 0);
      if (size == 0 && len == 0) { dim++; continue; }
      if (s < 1) /* said apart: "out of bounds" misleads when only the step is wrong */
        luaL_error(L, "index: range %d has step %I (the step must be positive)", i, s);
      if (pa < 0 || pb < -1 || (pb < 0 && b != 0) || pb + 1 < pa || s < 1)
        luaL_error(L, "index: range {%I, %I} is out of bounds for dimension %d of size %I", a, b, i, (lua_Integer)size);
      step(L, box, ag_slice(v, dim, pa, pb + 1, s), "index");
      dim++;
    } else {
      luaL_error(L, "index: entry %d must be a number or a range table, got %s", i, luaL_typename(L, -1));
    }
  }
  *scalar = selected == t->ndim && selected > 0;
  return *box;
}

static int t_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1; /* a method */
    lt_tensor **box = luaL_testudata(L, 1, LB_TENSOR);
    if (box && *box && lb_property(L, *box, lua_tostring(L, 2))) return 1;
    lua_pushnil(L);
    return 1;
  }
  lt_tensor *t = lb_check(L, 1);
  int scalar;
  lt_tensor *v = resolve(L, t, 2, &scalar);
  if (scalar) lb_pushvalue(L, v, NULL);
  return 1;
}

static int t_newindex(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {
    if (lb_set_property(L, t, lua_tostring(L, 2), 3)) return 0;
    return luaL_error(L, "cannot set field '%s' of a tensor (only grad and requires_grad)", lua_tostring(L, 2));
  }
  lb_check_inplace(L, t, "index assignment");
  int scalar;
  lt_tensor *v = resolve(L, t, 2, &scalar);
  lt_tensor *src = lb_test(L, 3);
  if (src) {
    if (lt_copy_(v, src) < 0) return lb_error(L, "index assignment");
  } else if (lua_type(L, 3) == LUA_TNUMBER) {
    if (lt_fill_(v, lua_tonumber(L, 3)) < 0) return lb_error(L, "index assignment");
  } else {
    return luaL_error(L, "index assignment: value must be a number or a tensor, got %s", luaL_typename(L, 3));
  }
  return 0;
}

/* ---- methods --------------------------------------------------------------- */
static int m_narrow(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int dim = lb_dim(L, 2, t->ndim, 0);
  lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  int64_t p = position(start, t->shape[dim], 1);
  if (p < 0) return luaL_argerror(L, 3, lua_pushfstring(L, "start %I is out of range for dimension %d of size %I",
                                                       start, dim + 1, (lua_Integer)t->shape[dim]));
  /* the core would report a negative length as the range "1..-1" */
  if (len < 0) return luaL_argerror(L, 4, lua_pushfstring(L, "length %I must be non-negative", len));
  LB_RETURN(L, "narrow", ag_narrow(t, dim, p, len));
}

static int m_select(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int dim = lb_dim(L, 2, t->ndim, 0);
  lua_Integer i = luaL_checkinteger(L, 3);
  int64_t p = position(i, t->shape[dim], 0);
  if (p < 0) return luaL_argerror(L, 3, lua_pushfstring(L, "index %I is out of range for dimension %d of size %I",
                                                       i, dim + 1, (lua_Integer)t->shape[dim]));
  LB_RETURN(L, "select", ag_select(t, dim, p));
}

lt_tensor *lb_index_tensor(lua_State *L, int arg, int64_t size, int dim, const char *fname) {
  lt_tensor *src = lb_test(L, arg);
  lt_tensor **box = lb_newbox(L);
  int64_t n;
  if (src) {
    if (src->dtype != LT_INT64)
      luaL_argerror(L, arg, lua_pushfstring(L, "index must be an int64 tensor, got %s", lt_dtype_name(src->dtype)));
    if (!(*box = lt_clone(src))) lb_error(L, "index");
    n = lt_numel(*box);
  } else {
    if (lua_type(L, arg) != LUA_TTABLE) luaL_typeerror(L, arg, "int64 tensor or table of positions");
    n = (int64_t)lua_rawlen(L, arg);
    if (!(*box = lt_empty(LT_INT64, 1, &n))) lb_error(L, "index");
    int64_t *o = lt_data(*box);
    for (int64_t i = 0; i < n; i++) o[i] = table_int(L, arg, (int)i + 1, "a position");
  }
  int64_t *o = lt_data(*box);
  for (int64_t i = 0; i < n; i++) {
    int64_t p = position(o[i], size, 0);
    if (p < 0)
      luaL_error(L, "%s: index %I is out of range for dimension %d of size %I", fname, (lua_Integer)o[i],
                 dim + 1, (lua_Integer)size);
    o[i] = p;
  }
  return *box;
}

static int m_index_select(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int dim = lb_dim(L, 2, t->ndim, 0);
  lt_tensor *idx = lb_index_tensor(L, 3, t->shape[dim], dim, "index_select");
  LB_RETURN(L, "index_select", ag_index_select(t, dim, idx));
}

static int m_gather(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int dim = lb_dim(L, 2, t->ndim, 0);
  if (!lb_test(L, 3)) return luaL_typeerror(L, 3, "int64 tensor");
  lt_tensor *idx = lb_index_tensor(L, 3, t->shape[dim], dim, "gather");
  LB_RETURN(L, "gather", ag_gather(t, dim, idx));
}

/* split(size or {sizes}, dim): a table of views */
static int m_split(lua_State *L) {
  lua_settop(L, 3); /* the result table must not pass for an argument */
  lt_tensor *t = lb_check(L, 1);
  int dim = lb_optdim(L, 3, t->ndim, 0);
  if (t->ndim == 0) return luaL_error(L, "split: a 0-dim tensor cannot be split");
  int64_t len = t->shape[dim];
  lua_newtable(L);
  int out = lua_gettop(L), k = 0;
  if (lua_type(L, 2) == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, 2);
    int64_t total = 0;
    for (int i = 1; i <= n; i++) {
      lua_Integer s = table_int(L, 2, i, "a split size");
      if (s < 0) return luaL_argerror(L, 2, "split sizes must be non-negative");
      total += s;
    }
    if (total != len) return luaL_error(L, "split: sizes add up to %I but dimension %d has size %I",
                                        (lua_Integer)total, dim + 1, (lua_Integer)len);
    int64_t at = 0;
    for (int i = 1; i <= n; i++) {
      lua_Integer s = table_int(L, 2, i, "a split size");
      lt_tensor **box = lb_newbox(L);
      if (!(*box = ag_narrow(t, dim, at, s))) return lb_error(L, "split");
      lua_rawseti(L, out, ++k);
      at += s;
    }
    return 1;
  }
  lua_Integer size = luaL_checkinteger(L, 2);
  if (size < 1) return luaL_argerror(L, 2, "split size must be positive");
  /* an empty dimension still gives one (empty) piece, as in PyTorch */
  for (int64_t at = 0; at < len || (len == 0 && at == 0); at += size) {
    lt_tensor **box = lb_newbox(L);
    if (!(*box = ag_narrow(t, dim, at, at + size <= len ? size : len - at))) return lb_error(L, "split");
    lua_rawseti(L, out, ++k);
  }
  return 1;
}

static int m_chunk(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n < 1) return luaL_argerror(L, 2, "number of chunks must be positive");
  int dim = lb_optdim(L, 3, t->ndim, 0);
  if (t->ndim == 0) return luaL_error(L, "chunk: a 0-dim tensor cannot be split");
  int64_t len = t->shape[dim], size = (len + n - 1) / n;
  lua_settop(L, 3);
  lua_pushinteger(L, size > 0 ? size : 1);
  lua_replace(L, 2);
  lua_pushinteger(L, dim + 1);
  lua_replace(L, 3);
  return m_split(L);
}

/* cat({a, b, ...}, dim) and stack({a, b, ...}, dim), dim defaulting to 1 */
static int join(lua_State *L, int stack, const char *fname) {
  lua_settop(L, 2); /* what is pushed below must not pass for an argument */
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2); /* the scratch array pushed below must not land in the dim slot */
  int n = (int)lua_rawlen(L, 1);
  if (n == 0) return luaL_argerror(L, 1, "expected a non-empty list of tensors");
  lt_tensor **ts = lua_newuserdatauv(L, (size_t)n * sizeof *ts, 0); /* freed by the GC */
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    lt_tensor *t = lb_test(L, -1);
    if (!t) return luaL_argerror(L, 1, lua_pushfstring(L, "element %d is not a tensor", i + 1));
    ts[i] = t;
    lua_pop(L, 1); /* still referenced by the list */
  }
  int dim = lua_isnoneornil(L, 2) ? 0 : lb_dim(L, 2, ts[0]->ndim, stack);
  LB_RETURN(L, fname, stack ? ag_stack(ts, n, dim) : ag_cat(ts, n, dim));
}
static int l_cat(lua_State *L) { return join(L, 0, "cat"); }
static int l_stack(lua_State *L) { return join(L, 1, "stack"); }

static const luaL_Reg methods[] = {
    {"narrow", m_narrow}, {"select", m_select}, {"index_select", m_index_select},
    {"gather", m_gather}, {"split", m_split},   {"chunk", m_chunk},
    {NULL, NULL}};

void lb_open_index(lua_State *L, int mt_methods, int module) {
  lua_pushvalue(L, mt_methods);
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 1);
  luaL_getmetatable(L, LB_TENSOR);
  lua_pushvalue(L, mt_methods);
  lua_pushcclosure(L, t_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, t_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_cat);
  lua_setfield(L, module, "cat");
  lua_pushcfunction(L, l_stack);
  lua_setfield(L, module, "stack");
}
