/* l_csv.c -- Lua binding of the CSV reader (csv.c), reached from Lua as
 * require("lunet.core")._csv.read; lua/lunet/data/csv.lua wraps it. */
#include "csv.h"
#include "l_tensor.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_HANDLE "lunet.csv_handle"

/* the file's bytes and the parsed table, freed by __gc whatever error
   interrupts the read (created empty before anything is acquired) */
typedef struct { char *bytes; lt_csv csv; } handle;

static int handle_gc(lua_State *L) {
  handle *h = luaL_checkudata(L, 1, CSV_HANDLE);
  free(h->bytes);
  h->bytes = NULL;
  lt_csv_free(&h->csv);
  return 0;
}

static void read_file(lua_State *L, handle *h, const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) luaL_error(L, "csv: cannot open %s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  h->bytes = malloc(cap);
  while (h->bytes) {
    n += fread(h->bytes + n, 1, cap - n, f);
    if (n < cap) break;
    char *p = realloc(h->bytes, cap * 2);
    if (!p) { free(h->bytes); h->bytes = NULL; break; }
    h->bytes = p;
    cap *= 2;
  }
  int bad = ferror(f);
  fclose(f);
  if (!h->bytes) luaL_error(L, "csv: out of memory reading %s", path);
  if (bad) luaL_error(L, "csv: cannot read %s", path);
  *len = n;
}

/* a column given as a 1-based number or a header name, to 0-based */
static int column(lua_State *L, const lt_csv *c, int has_header, const char *path, const char *what) {
  if (lua_isinteger(L, -1)) {
    lua_Integer k = lua_tointeger(L, -1);
    if (k < 1 || k > c->ncols)
      luaL_error(L, "csv: %s column %d is out of range (%s has %d columns)", what, (int)k, path, c->ncols);
    return (int)k - 1;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "csv: %s columns must be 1-based numbers or header names, got %s", what, luaL_typename(L, -1));
  const char *name = lua_tostring(L, -1);
  if (!has_header) luaL_error(L, "csv: %s column '%s' is a name, which needs header = true", what, name);
  for (int j = 0; j < c->ncols; j++)
    if (strcmp(lt_csv_cell(c, 0, j), name) == 0) return j;
  return luaL_error(L, "csv: %s has no column named '%s'", path, name);
}

static void not_number(lua_State *L, const char *path, const lt_csv *c, int64_t r, int j, const char *kind) {
  luaL_error(L, "csv: %s:%I: column %d: '%s' is not %s", path, (lua_Integer)c->lines[r], j + 1, lt_csv_cell(c, r, j), kind);
}

/* labels from column lab of rows first.. : int64 when every cell is an
   integer, a float tensor when every cell is a number, else class ids
   (1-based, in order of first appearance) with the names pushed after it */
static int labels(lua_State *L, const lt_csv *c, int64_t first, int lab, lt_dtype dt, const char *path) {
  int64_t n = c->nrows - first, iv;
  double v;
  int ints = 1, nums = 1;
  for (int64_t r = first; r < c->nrows && nums; r++) {
    const char *s = lt_csv_cell(c, r, lab);
    if (ints && lt_csv_integer(s, &iv) < 0) ints = 0;
    if (!ints && lt_csv_number(s, &v) < 0) nums = 0;
  }
  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_empty(ints || !nums ? LT_INT64 : dt, 1, (int64_t[]){n}))) lb_error(L, "csv");
  lt_tensor *t = *box;
  if (nums) {
    for (int64_t r = first; r < c->nrows; r++) {
      const char *s = lt_csv_cell(c, r, lab);
      if (ints) lt_csv_integer(s, &iv), lt_set_i64(t, (int64_t[]){r - first}, iv);
      else lt_csv_number(s, &v), lt_set(t, (int64_t[]){r - first}, v);
    }
    lua_pushnil(L);
    return 2;
  }
  lua_newtable(L); /* classes: id -> name */
  int classes = lua_gettop(L);
  lua_newtable(L); /* name -> id */
  int ids = lua_gettop(L);
  int64_t *o = lt_data(t);
  for (int64_t r = first; r < c->nrows; r++) {
    const char *s = lt_csv_cell(c, r, lab);
    if (!*s) luaL_error(L, "csv: %s:%I: column %d: the label is empty", path, (lua_Integer)c->lines[r], lab + 1);
    if (lua_getfield(L, ids, s) == LUA_TNIL) {
      lua_Integer id = (lua_Integer)lua_rawlen(L, classes) + 1;
      lua_pushstring(L, s);
      lua_rawseti(L, classes, id);
      lua_pushinteger(L, id);
      lua_setfield(L, ids, s);
      o[r - first] = id;
    } else {
      o[r - first] = lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 2;
}

/* read(path, sep, header, columns|nil, label|nil, dtype) ->
   features (N x F), labels|nil, classes|nil, names of the feature columns|nil */
static int l_read(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t seplen;
  const char *sep = luaL_checklstring(L, 2, &seplen);
  if (seplen != 1) return luaL_argerror(L, 2, "the separator must be one character");
  luaL_checktype(L, 3, LUA_TBOOLEAN);
  int has_header = lua_toboolean(L, 3);
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  int has_label = !lua_isnoneornil(L, 5);
  lt_dtype dt;
  const char *dname = luaL_checkstring(L, 6);
  if (lt_dtype_from_name(dname, &dt) < 0 || !lt_is_float(dt))
    return luaL_argerror(L, 6, "dtype must be \"float32\" or \"float64\"");
  lua_settop(L, 6);

  handle *h = lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  luaL_setmetatable(L, CSV_HANDLE);
  int hidx = lua_gettop(L);
  size_t len;
  read_file(L, h, path, &len);
  if (lt_csv_parse(h->bytes, len, sep[0], &h->csv) < 0) return luaL_error(L, "csv: %s:%s", path, lt_errmsg());
  const lt_csv *c = &h->csv;
  if (c->nrows == 0) return luaL_error(L, "csv: %s has no rows", path);
  int64_t first = has_header ? 1 : 0, n = c->nrows - first;

  int lab = -1;
  if (has_label) { lua_pushvalue(L, 5); lab = column(L, c, has_header, path, "label"); lua_pop(L, 1); }
  int nf = 0, *cols = lua_newuserdatauv(L, sizeof(int) * (size_t)c->ncols * 2 + 1, 0);
  if (lua_istable(L, 4)) {
    lua_Integer m = (lua_Integer)lua_rawlen(L, 4);
    if (m < 1 || m > 2 * (lua_Integer)c->ncols) return luaL_argerror(L, 4, "expected a non-empty list of columns");
    for (lua_Integer k = 1; k <= m; k++) {
      lua_rawgeti(L, 4, k);
      cols[nf++] = column(L, c, has_header, path, "feature");
      lua_pop(L, 1);
    }
  } else {
    for (int j = 0; j < c->ncols; j++) if (j != lab) cols[nf++] = j;
  }

  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_empty(dt, 2, (int64_t[]){n, nf}))) return lb_error(L, "csv");
  char *out = lt_data(*box);
  for (int64_t r = first; r < c->nrows; r++)
    for (int k = 0; k < nf; k++) {
      double v;
      if (lt_csv_number(lt_csv_cell(c, r, cols[k]), &v) < 0) not_number(L, path, c, r, cols[k], "a number");
      int64_t i = (r - first) * nf + k;
      if (dt == LT_FLOAT32) ((float *)out)[i] = (float)v;
      else ((double *)out)[i] = v;
    }
  int feats = lua_gettop(L);
  if (has_label) labels(L, c, first, lab, dt, path);
  else { lua_pushnil(L); lua_pushnil(L); }
  if (has_header) {
    lua_createtable(L, nf, 0);
    for (int k = 0; k < nf; k++) { lua_pushstring(L, lt_csv_cell(c, 0, cols[k])); lua_rawseti(L, -2, k + 1); }
  } else {
    lua_pushnil(L);
  }
  lua_pushcfunction(L, handle_gc); /* free the text now rather than at the next GC */
  lua_pushvalue(L, hidx);
  lua_call(L, 1, 0);
  lb_account(L);
  return lua_gettop(L) - feats + 1;
}

void lb_open_csv(lua_State *L, int module) {
  luaL_newmetatable(L, CSV_HANDLE);
  lua_pushcfunction(L, handle_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {{"read", l_read}, {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_setfield(L, module, "_csv");
}
