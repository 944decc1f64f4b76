/* l_tensor.c -- the lunet.Tensor userdata: boxes, creation, shape and conversion */
#include "autograd.h"
#include "l_tensor.h"
#include "version.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- boxes and errors ------------------------------------------------------ */
lt_tensor **lb_newbox(lua_State *L) {
  lt_tensor **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL; /* harmless until the core hands over a tensor */
  luaL_setmetatable(L, LB_TENSOR);
  return box;
}

lt_tensor *lb_test(lua_State *L, int arg) {
  lt_tensor **box = luaL_testudata(L, arg, LB_TENSOR);
  return box ? *box : NULL;
}

lt_tensor *lb_check(lua_State *L, int arg) {
  lt_tensor **box = luaL_testudata(L, arg, LB_TENSOR);
  if (!box) luaL_typeerror(L, arg, "tensor");
  if (!*box) luaL_argerror(L, arg, "tensor has been closed");
  return *box;
}

int lb_error(lua_State *L, const char *fname) {
  return luaL_error(L, "%s: %s", fname, lt_errmsg());
}

/* Lua's GC sees only the small boxes, not the tensor memory behind them.
   So the binding counts it: when live tensor memory grows GC_WINDOW past what
   survived the last full collection, it collects again. Garbage tensors can
   never pile up beyond the window, and since the window is small, freed blocks
   come back through the allocator's cache still warm in the CPU caches
   (doubling the limit, as Torch7 did, let a loop next to a large dataset
   leave hundreds of megabytes of garbage, all served by fresh pages; a 64 MiB
   window made x + y on 10^6 floats 10% slower than 16 MiB). */
#define GC_WINDOW ((size_t)16 << 20)
static size_t gc_limit = GC_WINDOW;

static size_t tensor_bytes(void) { return lt_mem_in_use() + lt_mem_headers(); }

void lb_account(lua_State *L) {
  size_t now = tensor_bytes();
  /* tensors freed since (a collection the script asked for, <close>): the
     window follows the live memory down, or a big tensor freed long ago
     would leave room for that much garbage */
  if (now + GC_WINDOW < gc_limit) gc_limit = now + GC_WINDOW;
  if (now < gc_limit) return;
  lua_gc(L, LUA_GCCOLLECT);
  gc_limit = tensor_bytes() + GC_WINDOW;
}

static int t_gc(lua_State *L) {
  lt_tensor **box = luaL_checkudata(L, 1, LB_TENSOR);
  lt_release(*box);
  *box = NULL;
  return 0;
}

/* ---- argument helpers ------------------------------------------------------ */
int lb_dim_value(lua_State *L, lua_Integer d, int arg, int ndim, int extra) {
  int n = ndim + extra;
  lua_Integer r = d < 0 ? d + n + 1 : d;
  if (r < 1 || r > n) {
    if (n == 0) return luaL_argerror(L, arg, lua_pushfstring(L, "dimension %d is out of range for a 0-dim tensor", (int)d));
    return luaL_argerror(L, arg, lua_pushfstring(L, "dimension %d is out of range (expected %d to %d, or -%d to -1)",
                                                 (int)d, 1, n, n));
  }
  return (int)(r - 1);
}

int lb_dim(lua_State *L, int arg, int ndim, int extra) {
  return lb_dim_value(L, luaL_checkinteger(L, arg), arg, ndim, extra);
}

int lb_optdim(lua_State *L, int arg, int ndim, int def) {
  if (lua_isnoneornil(L, arg)) return def;
  return lb_dim(L, arg, ndim, 0);
}

int64_t lb_index(lua_State *L, lua_Integer i, int64_t size, int dim) {
  int64_t r = i < 0 ? i + size + 1 : i;
  if (r < 1 || r > size)
    luaL_error(L, "index %I is out of range for dimension %d of size %I", (lua_Integer)i, dim + 1,
               (lua_Integer)size);
  return r - 1;
}

static int is_options(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TTABLE) return 0;
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    int str = lua_type(L, -2) == LUA_TSTRING;
    lua_pop(L, 1); /* keep the key: lua_next needs it for the next step */
    if (str) { lua_pop(L, 1); return 1; }
  }
  return 0;
}

int lb_shape(lua_State *L, int from, int64_t *shape, int *last) {
  int top = lua_gettop(L), n = 0;
  if (lua_type(L, from) == LUA_TTABLE && !is_options(L, from)) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, from);
    if (len > LT_MAX_DIM) luaL_argerror(L, from, lua_pushfstring(L, "at most %d dimensions are supported", LT_MAX_DIM));
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, from, i);
      int isnum;
      lua_Integer v = lua_tointegerx(L, -1, &isnum);
      lua_pop(L, 1);
      if (!isnum) luaL_argerror(L, from, "sizes must be integers");
      if (v < 0) luaL_argerror(L, from, lua_pushfstring(L, "size %I of dimension %I must be non-negative", v, i));
      shape[n++] = v;
    }
    *last = from;
    return n;
  }
  int a = from;
  for (; a <= top && lua_type(L, a) == LUA_TNUMBER; a++) {
    if (n == LT_MAX_DIM) luaL_argerror(L, a, lua_pushfstring(L, "at most %d dimensions are supported", LT_MAX_DIM));
    int isnum;
    lua_Integer v = lua_tointegerx(L, a, &isnum);
    if (!isnum) luaL_argerror(L, a, "size must be an integer");
    if (v < 0) luaL_argerror(L, a, "size must be non-negative");
    shape[n++] = v;
  }
  *last = a - 1;
  return n;
}

lt_dtype lb_optdtype(lua_State *L, int arg, lt_dtype def) {
  if (lua_type(L, arg) != LUA_TTABLE) {
    if (!lua_isnoneornil(L, arg)) luaL_typeerror(L, arg, "options table");
    return def;
  }
  if (lua_rawlen(L, arg) > 0)
    luaL_argerror(L, arg, "expected an options table such as {dtype = \"float64\"}, got a list "
                          "(sizes go either all in one table or all as numbers)");
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (!key || (strcmp(key, "dtype") != 0 && strcmp(key, "requires_grad") != 0))
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s' (expected dtype or requires_grad)", key ? key : "?"));
    lua_pop(L, 1);
  }
  lt_dtype dt = def;
  if (lua_getfield(L, arg, "dtype") != LUA_TNIL) {
    const char *name = lua_tostring(L, -1);
    if (!name || lt_dtype_from_name(name, &dt) < 0)
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown dtype '%s' (expected float32, float64 or int64)",
                                            name ? name : luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  return dt;
}

void lb_apply_requires_grad(lua_State *L, int arg, lt_tensor *t, const char *fname) {
  if (lua_type(L, arg) != LUA_TTABLE) return;
  lua_getfield(L, arg, "requires_grad");
  int on = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (on && lt_set_requires_grad(t, 1) < 0) lb_error(L, fname);
}

lt_tensor *lb_tensorish(lua_State *L, int arg, lt_dtype number_dtype) {
  lt_tensor *t = lb_test(L, arg);
  if (t) { lua_pushvalue(L, arg); return t; }
  if (lua_type(L, arg) != LUA_TNUMBER) luaL_typeerror(L, arg, "tensor or number");
  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_empty(number_dtype, 0, NULL))) lb_error(L, "tensor");
  lt_set(*box, NULL, lua_tonumber(L, arg));
  if (number_dtype == LT_INT64 && lua_isinteger(L, arg)) lt_set_i64(*box, NULL, lua_tointeger(L, arg));
  return *box;
}

void lb_pushvalue(lua_State *L, const lt_tensor *t, const int64_t *idx) {
  if (t->dtype == LT_INT64) lua_pushinteger(L, lt_get_i64(t, idx));
  else lua_pushnumber(L, lt_get(t, idx));
}

/* ---- creation -------------------------------------------------------------- */
/* the end of every creation function: errors, {requires_grad = true} from
   the options at optarg, and the GC's accounting */
static int created(lua_State *L, lt_tensor **box, int optarg, const char *fname) {
  if (!*box) return lb_error(L, fname);
  lb_apply_requires_grad(L, optarg, *box, fname);
  lb_account(L);
  return 1;
}

/* zeros(2, 3), zeros{2, 3}, zeros(2, 3, {dtype = "float64"}) */
static int make_filled(lua_State *L, int kind, const char *fname) {
  int64_t shape[LT_MAX_DIM];
  int last;
  int n = lb_shape(L, 1, shape, &last);
  lt_dtype dt = lb_optdtype(L, last + 1, LT_FLOAT32);
  lt_tensor **box = lb_newbox(L);
  *box = kind == 0 ? lt_zeros(dt, n, shape) : lt_empty(dt, n, shape);
  if (*box && kind == 1) lt_fill_(*box, 1);
  return created(L, box, last + 1, fname);
}

/* full({2, 3}, value[, opts]): the dtype follows the value, as in PyTorch */
static int l_full(lua_State *L) {
  int64_t shape[LT_MAX_DIM];
  int last;
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = lb_shape(L, 1, shape, &last);
  double v = luaL_checknumber(L, 2);
  lt_dtype dt = lb_optdtype(L, 3, lua_isinteger(L, 2) ? LT_INT64 : LT_FLOAT32);
  lt_tensor **box = lb_newbox(L);
  if ((*box = lt_empty(dt, n, shape))) lt_fill_(*box, v);
  return created(L, box, 3, "full");
}
static int l_zeros(lua_State *L) { return make_filled(L, 0, "zeros"); }
static int l_ones(lua_State *L) { return make_filled(L, 1, "ones"); }
static int l_empty(lua_State *L) { return make_filled(L, 2, "empty"); }

/* rand/randn(sizes..., opts) and randint(low, high, sizes..., opts) */
static int make_random(lua_State *L, int kind, const char *fname) {
  int64_t shape[LT_MAX_DIM];
  int last, first = kind == 2 ? 3 : 1;
  lua_Integer lo = 0, hi = 0;
  if (kind == 2) { lo = luaL_checkinteger(L, 1); hi = luaL_checkinteger(L, 2); }
  int n = lb_shape(L, first, shape, &last);
  lt_dtype dt = lb_optdtype(L, last + 1, kind == 2 ? LT_INT64 : LT_FLOAT32);
  if (kind != 2 && dt == LT_INT64) return luaL_error(L, "%s: dtype must be float32 or float64", fname);
  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_empty(dt, n, shape))) return lb_error(L, fname);
  int rc = kind == 0 ? lt_rand_(*box, 0, 1) : kind == 1 ? lt_randn_(*box, 0, 1) : lt_randint_(*box, lo, hi);
  if (rc < 0) return lb_error(L, fname);
  return created(L, box, last + 1, fname);
}
static int l_rand(lua_State *L) { return make_random(L, 0, "rand"); }
static int l_randn(lua_State *L) { return make_random(L, 1, "randn"); }
static int l_randint(lua_State *L) { return make_random(L, 2, "randint"); }

/* zeros_like(x, opts) and friends: same shape, same dtype unless opts say */
static int make_like(lua_State *L, int kind, const char *fname) {
  lt_tensor *x = lb_check(L, 1);
  int vi = kind == 2 ? 2 : 0; /* full_like(x, value, opts) */
  double value = kind == 2 ? luaL_checknumber(L, 2) : 0;
  lt_dtype dt = lb_optdtype(L, vi ? 3 : 2, x->dtype);
  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_empty(dt, x->ndim, x->shape))) return lb_error(L, fname);
  int rc = 0;
  switch (kind) {
  case 0: rc = lt_fill_(*box, 0); break;
  case 1: rc = lt_fill_(*box, 1); break;
  case 2: rc = lt_fill_(*box, value); break;
  case 4: rc = lt_rand_(*box, 0, 1); break;
  case 5: rc = lt_randn_(*box, 0, 1); break;
  }
  if (rc < 0) return lb_error(L, fname);
  return created(L, box, vi ? 3 : 2, fname);
}
static int l_zeros_like(lua_State *L) { return make_like(L, 0, "zeros_like"); }
static int l_ones_like(lua_State *L) { return make_like(L, 1, "ones_like"); }
static int l_full_like(lua_State *L) { return make_like(L, 2, "full_like"); }
static int l_empty_like(lua_State *L) { return make_like(L, 3, "empty_like"); }
static int l_rand_like(lua_State *L) { return make_like(L, 4, "rand_like"); }
static int l_randn_like(lua_State *L) { return make_like(L, 5, "randn_like"); }

/* arange(end), arange(start, end[, step]), end excluded as in PyTorch */
static int l_arange(lua_State *L) {
  int nargs = 0;
  while (nargs < 3 && lua_type(L, nargs + 1) == LUA_TNUMBER) nargs++;
  if (nargs == 0) luaL_typeerror(L, 1, "number");
  double start = 0, end, step = 1;
  int all_int = 1;
  for (int i = 1; i <= nargs; i++) all_int &= lua_isinteger(L, i);
  if (nargs == 1) end = lua_tonumber(L, 1);
  else { start = lua_tonumber(L, 1); end = lua_tonumber(L, 2); if (nargs == 3) step = lua_tonumber(L, 3); }
  lt_dtype dt = lb_optdtype(L, nargs + 1, all_int ? LT_INT64 : LT_FLOAT32);
  lt_tensor **box = lb_newbox(L);
  *box = lt_arange(dt, start, end, step);
  return created(L, box, nargs + 1, "arange");
}

static int l_linspace(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  lua_Integer n = luaL_checkinteger(L, 3);
  lt_dtype dt = lb_optdtype(L, 4, LT_FLOAT32);
  lt_tensor **box = lb_newbox(L);
  *box = lt_linspace(dt, a, b, n);
  return created(L, box, 4, "linspace");
}

static int l_eye(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  int opt = 2;
  lua_Integer m = n;
  if (lua_type(L, 2) == LUA_TNUMBER) { m = luaL_checkinteger(L, 2); opt = 3; }
  if (n < 0 || m < 0) return luaL_error(L, "eye: sizes must be non-negative, got %I x %I", n, m);
  lt_dtype dt = lb_optdtype(L, opt, LT_FLOAT32);
  lt_tensor **box = lb_newbox(L);
  *box = lt_eye(dt, n, m);
  return created(L, box, opt, "eye");
}

static int l_randperm(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 0) return luaL_argerror(L, 1, "n must be non-negative");
  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_empty(LT_INT64, 1, (int64_t[]){n}))) return lb_error(L, "randperm");
  int64_t *p = lt_randperm(n);
  if (!p) return lb_error(L, "randperm");
  int64_t *o = lt_data(*box);
  for (lua_Integer i = 0; i < n; i++) o[i] = p[i] + 1; /* 1-based, like every position */
  free(p);
  lb_account(L);
  return 1;
}

/* tensor{{1, 2}, {3, 4}}: shape from the first elements, every row checked */
static void table_shape(lua_State *L, int idx, int depth, int *ndim, int64_t *shape, int *isint) {
  if (depth >= LT_MAX_DIM) luaL_error(L, "tensor: nesting deeper than %d levels", LT_MAX_DIM);
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  shape[depth] = n;
  *ndim = depth + 1;
  if (n == 0) return;
  lua_rawgeti(L, idx, 1);
  if (lua_type(L, -1) == LUA_TTABLE) table_shape(L, lua_gettop(L), depth + 1, ndim, shape, isint);
  lua_pop(L, 1);
}

static void fill_from_table(lua_State *L, int idx, int depth, int ndim, const int64_t *shape,
                            lt_tensor *t, int64_t *pos) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  if (n != shape[depth]) {
    char where[128] = "";
    size_t w = 0;
    for (int d = 0; d < depth; d++) w += (size_t)snprintf(where + w, sizeof where - w, "[%lld]", (long long)pos[d] + 1);
    luaL_error(L, "tensor: element %s has %I entries, expected %I (rows must all be the same length)",
               depth ? where : "(top level)", n, (lua_Integer)shape[depth]);
  }
  for (lua_Integer i = 1; i <= n; i++) {
    pos[depth] = i - 1;
    lua_rawgeti(L, idx, i);
    if (depth + 1 < ndim) {
      if (lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "tensor: expected a table at depth %d, got %s", depth + 2, luaL_typename(L, -1));
      fill_from_table(L, lua_gettop(L), depth + 1, ndim, shape, t, pos);
    } else {
      int type = lua_type(L, -1);
      if (type != LUA_TNUMBER) {
        char where[128];
        size_t w = 0;
        for (int d = 0; d <= depth; d++) w += (size_t)snprintf(where + w, sizeof where - w, "[%lld]", (long long)pos[d] + 1);
        luaL_error(L, "tensor: element %s is a %s, expected a number", where, luaL_typename(L, -1));
      }
      if (lua_isinteger(L, -1)) lt_set_i64(t, pos, lua_tointeger(L, -1));
      else lt_set(t, pos, lua_tonumber(L, -1));
    }
    lua_pop(L, 1);
  }
}

static int all_integers(lua_State *L, int idx, int depth, int ndim) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  int ok = 1;
  for (lua_Integer i = 1; ok && i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (depth + 1 < ndim) ok = lua_type(L, -1) != LUA_TTABLE || all_integers(L, lua_gettop(L), depth + 1, ndim);
    else ok = lua_isinteger(L, -1) || lua_type(L, -1) != LUA_TNUMBER;
    lua_pop(L, 1);
  }
  return ok;
}

static int l_tensor(lua_State *L) {
  lt_tensor *src = lb_test(L, 1);
  if (src) {
    lt_dtype dt = lb_optdtype(L, 2, src->dtype);
    lt_tensor **box = lb_newbox(L);
    lt_tensor *c = lt_clone(src);
    if (!c) return lb_error(L, "tensor");
    *box = lt_to(c, dt);
    lt_release(c);
    return created(L, box, 2, "tensor");
  }
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lt_dtype dt = lb_optdtype(L, 2, lua_isinteger(L, 1) ? LT_INT64 : LT_FLOAT32);
    lt_tensor **box = lb_newbox(L);
    if (!(*box = lt_empty(dt, 0, NULL))) return lb_error(L, "tensor");
    if (lua_isinteger(L, 1)) lt_set_i64(*box, NULL, lua_tointeger(L, 1));
    else lt_set(*box, NULL, lua_tonumber(L, 1));
    return created(L, box, 2, "tensor");
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  int ndim = 0, isint = 1;
  int64_t shape[LT_MAX_DIM], pos[LT_MAX_DIM] = {0};
  table_shape(L, 1, 0, &ndim, shape, &isint);
  int64_t count = 1;
  for (int d = 0; d < ndim; d++) count *= shape[d];
  /* no numbers at all (tensor{}): the default dtype, as torch.tensor([]) */
  lt_dtype dt = lb_optdtype(L, 2, count > 0 && all_integers(L, 1, 0, ndim) ? LT_INT64 : LT_FLOAT32);
  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_empty(dt, ndim, shape))) return lb_error(L, "tensor");
  fill_from_table(L, 1, 0, ndim, shape, *box, pos);
  return created(L, box, 2, "tensor");
}

/* ---- geometry -------------------------------------------------------------- */
static int m_shape(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) { lua_pushinteger(L, t->shape[d]); lua_rawseti(L, -2, d + 1); }
  return 1;
}

static int m_stride(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (!lua_isnoneornil(L, 2)) { lua_pushinteger(L, t->stride[lb_dim(L, 2, t->ndim, 0)]); return 1; }
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) { lua_pushinteger(L, t->stride[d]); lua_rawseti(L, -2, d + 1); }
  return 1;
}

static int m_size(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (lua_isnoneornil(L, 2)) return m_shape(L);
  lua_pushinteger(L, t->shape[lb_dim(L, 2, t->ndim, 0)]);
  return 1;
}

static int m_dim(lua_State *L) { lua_pushinteger(L, lb_check(L, 1)->ndim); return 1; }
static int m_numel(lua_State *L) { lua_pushinteger(L, lt_numel(lb_check(L, 1))); return 1; }
static int m_dtype(lua_State *L) { lua_pushstring(L, lt_dtype_name(lb_check(L, 1)->dtype)); return 1; }
static int m_is_contiguous(lua_State *L) { lua_pushboolean(L, lt_is_contiguous(lb_check(L, 1))); return 1; }

static int m_len(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "len: a 0-dim tensor has no length");
  lua_pushinteger(L, t->shape[0]);
  return 1;
}

static int reshape_like(lua_State *L, int view) {
  lt_tensor *t = lb_check(L, 1);
  int64_t shape[LT_MAX_DIM];
  int n = 0;
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, 2);
    if (len > LT_MAX_DIM) return luaL_argerror(L, 2, "too many dimensions");
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, 2, i);
      int ok;
      shape[n++] = lua_tointegerx(L, -1, &ok);
      if (!ok) return luaL_argerror(L, 2, "sizes must be integers");
      lua_pop(L, 1);
    }
  } else {
    int top = lua_gettop(L);
    for (int a = 2; a <= top; a++) {
      if (n == LT_MAX_DIM) return luaL_argerror(L, a, "too many dimensions");
      shape[n++] = luaL_checkinteger(L, a);
    }
  }
  const char *fname = view ? "view" : "reshape";
  LB_RETURN(L, fname, view ? ag_view(t, n, shape) : ag_reshape(t, n, shape));
}
static int m_view(lua_State *L) { return reshape_like(L, 1); }
static int m_reshape(lua_State *L) { return reshape_like(L, 0); }

static int m_t(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (t->ndim > 2) return luaL_error(L, "t: expected a tensor with at most 2 dimensions, got %d (use transpose)", t->ndim);
  if (t->ndim < 2) { lua_settop(L, 1); return 1; }
  LB_RETURN(L, "t", ag_transpose(t, 0, 1));
}

static int m_transpose(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int a = lb_dim(L, 2, t->ndim, 0), b = lb_dim(L, 3, t->ndim, 0);
  LB_RETURN(L, "transpose", ag_transpose(t, a, b));
}

static int m_permute(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int dims[LT_MAX_DIM], n = 0, top = lua_gettop(L);
  if (lua_type(L, 2) == LUA_TTABLE) {
    n = (int)lua_rawlen(L, 2);
    if (n != t->ndim) return luaL_error(L, "permute: expected %d dimensions, got %d", t->ndim, n);
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, 2, i + 1);
      int ok;
      lua_Integer d = lua_tointegerx(L, -1, &ok);
      lua_pop(L, 1);
      if (!ok) return luaL_argerror(L, 2, "dimensions must be integers");
      dims[i] = lb_dim_value(L, d, 2, t->ndim, 0);
    }
  } else {
    n = top - 1;
    if (n != t->ndim) return luaL_error(L, "permute: expected %d dimensions, got %d", t->ndim, n);
    for (int i = 0; i < n; i++) dims[i] = lb_dim(L, i + 2, t->ndim, 0);
  }
  LB_RETURN(L, "permute", ag_permute(t, dims));
}

static int m_contiguous(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  LB_RETURN(L, "contiguous", ag_contiguous(t));
}

static int m_clone(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  LB_RETURN(L, "clone", ag_clone(t));
}

static int m_squeeze(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int d = lua_isnoneornil(L, 2) ? -1 : lb_dim(L, 2, t->ndim, 0);
  LB_RETURN(L, "squeeze", ag_squeeze(t, d));
}

static int m_unsqueeze(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int dim = lb_dim(L, 2, t->ndim, 1);
  LB_RETURN(L, "unsqueeze", ag_unsqueeze(t, dim));
}

static int m_expand(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int64_t shape[LT_MAX_DIM];
  int n = 0, top = lua_gettop(L);
  if (lua_type(L, 2) == LUA_TTABLE) {
    n = (int)lua_rawlen(L, 2);
    if (n > LT_MAX_DIM) return luaL_argerror(L, 2, "too many dimensions");
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, 2, i + 1);
      int ok;
      shape[i] = lua_tointegerx(L, -1, &ok);
      if (!ok) return luaL_argerror(L, 2, "sizes must be integers");
      lua_pop(L, 1);
    }
  } else if (lb_test(L, 2)) {
    lt_tensor *o = lb_test(L, 2);
    n = o->ndim;
    memcpy(shape, o->shape, sizeof shape);
  } else {
    for (int a = 2; a <= top; a++) {
      if (n == LT_MAX_DIM) return luaL_argerror(L, a, "too many dimensions");
      shape[n++] = luaL_checkinteger(L, a);
    }
  }
  LB_RETURN(L, "expand", ag_expand(t, n, shape));
}

static int m_flatten(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int nd = t->ndim ? t->ndim : 1;
  int s = lua_isnoneornil(L, 2) ? 0 : lb_dim(L, 2, nd, 0);
  int e = lua_isnoneornil(L, 3) ? nd - 1 : lb_dim(L, 3, nd, 0);
  LB_RETURN(L, "flatten", ag_flatten(t, s, e));
}

/* ---- conversion ------------------------------------------------------------ */
static int convert(lua_State *L, lt_dtype dt, const char *fname) {
  lt_tensor *t = lb_check(L, 1);
  LB_RETURN(L, fname, ag_to(t, dt));
}
static int m_float(lua_State *L) { return convert(L, LT_FLOAT32, "float"); }
static int m_double(lua_State *L) { return convert(L, LT_FLOAT64, "double"); }
static int m_long(lua_State *L) { return convert(L, LT_INT64, "long"); }

static int m_to(lua_State *L) {
  lb_check(L, 1);
  lt_dtype dt;
  const char *name = luaL_checkstring(L, 2);
  if (lt_dtype_from_name(name, &dt) < 0)
    return luaL_argerror(L, 2, lua_pushfstring(L, "unknown dtype '%s' (expected float32, float64 or int64)", name));
  return convert(L, dt, "to");
}

static int m_item(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (lt_numel(t) != 1) {
    char buf[128];
    return luaL_error(L, "item: expected a tensor with one element, got shape %s (%I elements)",
                      lt_shape_str(t->ndim, t->shape, buf, sizeof buf), (lua_Integer)lt_numel(t));
  }
  int64_t idx[LT_MAX_DIM] = {0};
  lb_pushvalue(L, t, idx);
  return 1;
}

static void push_table(lua_State *L, lt_tensor *t, int depth, int64_t *idx) {
  if (depth == t->ndim) { lb_pushvalue(L, t, idx); return; }
  luaL_checkstack(L, 4, "totable");
  lua_createtable(L, (int)t->shape[depth], 0);
  for (int64_t i = 0; i < t->shape[depth]; i++) {
    idx[depth] = i;
    push_table(L, t, depth + 1, idx);
    lua_rawseti(L, -2, i + 1);
  }
}

static int m_totable(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int64_t idx[LT_MAX_DIM] = {0};
  push_table(L, t, 0, idx);
  return 1;
}

/* ---- in-place fills -------------------------------------------------------- */
static int m_fill_(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  lb_check_inplace(L, t, "fill_");
  if (lt_fill_(t, luaL_checknumber(L, 2)) < 0) return lb_error(L, "fill_");
  lua_settop(L, 1);
  return 1;
}

static int m_zero_(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  lb_check_inplace(L, t, "zero_");
  if (lt_fill_(t, 0) < 0) return lb_error(L, "zero_");
  lua_settop(L, 1);
  return 1;
}

static int m_copy_(lua_State *L) {
  lt_tensor *t = lb_check(L, 1), *src = lb_check(L, 2);
  lb_check_inplace(L, t, "copy_");
  if (lt_copy_(t, src) < 0) return lb_error(L, "copy_");
  lua_settop(L, 1);
  return 1;
}

static int random_fill(lua_State *L, int kind, const char *fname) {
  lt_tensor *t = lb_check(L, 1);
  lb_check_inplace(L, t, fname);
  int rc;
  if (kind == 0) rc = lt_rand_(t, luaL_optnumber(L, 2, 0), luaL_optnumber(L, 3, 1));
  else if (kind == 1) rc = lt_randn_(t, luaL_optnumber(L, 2, 0), luaL_optnumber(L, 3, 1));
  else if (kind == 2) rc = lt_bernoulli_(t, luaL_optnumber(L, 2, 0.5));
  else rc = lt_randint_(t, luaL_checkinteger(L, 2), luaL_checkinteger(L, 3));
  if (rc < 0) return lb_error(L, fname);
  lua_settop(L, 1);
  return 1;
}
static int m_uniform_(lua_State *L) { return random_fill(L, 0, "uniform_"); }
static int m_normal_(lua_State *L) { return random_fill(L, 1, "normal_"); }
static int m_bernoulli_(lua_State *L) { return random_fill(L, 2, "bernoulli_"); }
static int m_random_(lua_State *L) { return random_fill(L, 3, "random_"); }

/* ---- module-level ---------------------------------------------------------- */
/* a closed tensor is still a tensor (one that raises when used) */
static int l_is_tensor(lua_State *L) { lua_pushboolean(L, luaL_testudata(L, 1, LB_TENSOR) != NULL); return 1; }

static int l_set_flush_denormal(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  lt_set_flush_denormal(lua_toboolean(L, 1));
  return 0;
}

static int l_manual_seed(lua_State *L) {
  lua_Integer s = luaL_checkinteger(L, 1);
  lt_manual_seed((uint64_t)s);
  return 0;
}

static int l_initial_seed(lua_State *L) { lua_pushinteger(L, (lua_Integer)lt_initial_seed()); return 1; }

static int l_set_num_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1 || n > 1024) return luaL_argerror(L, 1, "thread count must be between 1 and 1024");
  lt_set_num_threads((int)n);
  return 0;
}

static int l_get_num_threads(lua_State *L) { lua_pushinteger(L, lt_get_num_threads()); return 1; }

static int l_memory(lua_State *L) {
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)lt_mem_in_use());
  lua_setfield(L, -2, "in_use");
  lua_pushinteger(L, (lua_Integer)lt_mem_cached());
  lua_setfield(L, -2, "cached");
  lua_pushinteger(L, (lua_Integer)lt_mem_headers());
  lua_setfield(L, -2, "headers");
  return 1;
}

static int l_empty_cache(lua_State *L) { (void)L; lt_mem_empty_cache(); return 0; }

/* set_memory_limit(bytes | "2G" | nil): nil, false or 0 remove the limit */
static int l_set_memory_limit(lua_State *L) {
  size_t limit = 0;
  if (lua_type(L, 1) == LUA_TSTRING) {
    if (lt_parse_bytes(lua_tostring(L, 1), &limit) < 0) return luaL_argerror(L, 1, lt_errmsg());
  } else if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_Number v = lua_tonumber(L, 1);
    if (!(v >= 0 && v < 0x1p63) || v != floor(v))
      return luaL_argerror(L, 1, lua_pushfstring(L, "a whole number of bytes >= 0 expected, got %s", luaL_tolstring(L, 1, NULL)));
    limit = (size_t)v;
  } else if (lua_toboolean(L, 1)) {
    return luaL_typeerror(L, 1, "number of bytes, size string (\"512M\") or nil");
  }
  lt_set_mem_limit(limit);
  return 0;
}

/* memory_limit() -> bytes, or nil when there is none */
static int l_memory_limit(lua_State *L) {
  size_t limit = lt_mem_limit();
  if (limit) lua_pushinteger(L, (lua_Integer)limit);
  else lua_pushnil(L);
  return 1;
}

static int l_blas_info(lua_State *L) { lua_pushstring(L, lt_blas_info()); return 1; }

static int l_clock(lua_State *L) { lua_pushnumber(L, lt_clock()); return 1; }

static const luaL_Reg module_fns[] = {
    {"tensor", l_tensor},         {"zeros", l_zeros},
    {"ones", l_ones},             {"full", l_full},
    {"empty", l_empty},           {"arange", l_arange},
    {"linspace", l_linspace},     {"eye", l_eye},
    {"rand", l_rand},             {"randn", l_randn},
    {"randint", l_randint},       {"randperm", l_randperm},
    {"zeros_like", l_zeros_like}, {"ones_like", l_ones_like},
    {"full_like", l_full_like},   {"empty_like", l_empty_like},
    {"rand_like", l_rand_like},   {"randn_like", l_randn_like},
    {"is_tensor", l_is_tensor},   {"manual_seed", l_manual_seed},
    {"initial_seed", l_initial_seed}, {"set_num_threads", l_set_num_threads},
    {"get_num_threads", l_get_num_threads}, {"memory", l_memory},
    {"empty_cache", l_empty_cache}, {"set_memory_limit", l_set_memory_limit},
    {"memory_limit", l_memory_limit}, {"blas_info", l_blas_info},
    {"set_flush_denormal", l_set_flush_denormal}, {"clock", l_clock},
    {NULL, NULL}};

static const luaL_Reg methods[] = {
    {"shape", m_shape},       {"size", m_size},         {"stride", m_stride},
    {"dim", m_dim},           {"numel", m_numel},       {"dtype", m_dtype},
    {"is_contiguous", m_is_contiguous},
    {"view", m_view},         {"reshape", m_reshape},   {"t", m_t},
    {"transpose", m_transpose}, {"permute", m_permute}, {"contiguous", m_contiguous},
    {"clone", m_clone},       {"squeeze", m_squeeze},   {"unsqueeze", m_unsqueeze},
    {"expand", m_expand},     {"flatten", m_flatten},   {"float", m_float},
    {"double", m_double},     {"long", m_long},         {"to", m_to},
    {"item", m_item},         {"totable", m_totable},   {"fill_", m_fill_},
    {"zero_", m_zero_},       {"copy_", m_copy_},       {"uniform_", m_uniform_},
    {"normal_", m_normal_},   {"bernoulli_", m_bernoulli_}, {"random_", m_random_},
    {NULL, NULL}};

/* metatable: __index/__newindex come from l_index.c, operators from l_ops.c */
int luaopen_lunet_core(lua_State *L) {
  luaL_newlib(L, module_fns);
  int module = lua_gettop(L);
  luaL_newlib(L, methods);
  int mt_methods = lua_gettop(L);
  luaL_newmetatable(L, LB_TENSOR);
  lua_pushcfunction(L, t_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, t_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, m_len);
  lua_setfield(L, -2, "__len");
  lua_pushliteral(L, "lunet.Tensor");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lb_open_ops(L, mt_methods, module);
  lb_open_index(L, mt_methods, module);
  lb_open_autograd(L, mt_methods, module);
  lb_open_data(L, module);
  lb_open_checkpoint(L, module);
  lb_open_nn(L, module);
  lb_open_optim(L, module);
  lb_open_csv(L, module);
  lb_open_loader(L, module);
  lb_open_transforms(L, module);
  lb_open_runs(L, module);
  lb_open_image(L, module);
  lb_open_repl(L, module);
  lua_pushvalue(L, mt_methods);
  lua_setfield(L, module, "Tensor");
  luaL_getmetatable(L, LB_TENSOR);
  lua_setfield(L, module, "_metatable");
  lua_pushliteral(L, LUNET_VERSION);
  lua_setfield(L, module, "version");
  lua_settop(L, module);
  return 1;
}
