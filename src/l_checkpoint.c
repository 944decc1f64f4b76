/* l_checkpoint.c -- Lua bindings of safetensors checkpoints (safetensors.c):
 *   lunet.save(path, tensors [, metadata])   tensors: name -> tensor, metadata: string -> string
 *   lunet.load(path) -> tensors, metadata
 * Bad arguments raise naming the function; a file that cannot be read or
 * written raises "save: <path>: ..." / "load: <path>: ...".
 */
#include "l_tensor.h"
#include "safetensors.h"
#include <string.h>

/* A loaded file while its tensors move into Lua: a userdata that starts
   empty, so __gc frees whatever a memory error leaves behind */
#define LB_LOADED "lunet.safetensors"

static int loaded_gc(lua_State *L) {
  lt_st_file **box = luaL_checkudata(L, 1, LB_LOADED);
  lt_st_free(*box);
  *box = NULL;
  return 0;
}

/* the string key at the top - 1 of a lua_next walk over the table at arg */
static const char *check_key(lua_State *L, int arg, const char *what) {
  if (lua_type(L, -2) != LUA_TSTRING) {
    const char *type = luaL_typename(L, -2);
    lua_pushvalue(L, -2); /* a copy: luaL_tolstring must not convert the key lua_next walks */
    const char *k = luaL_tolstring(L, -1, NULL);
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be strings, got %s %s", what, type, k));
  }
  size_t len;
  const char *k = lua_tolstring(L, -2, &len);
  if (strlen(k) != len) luaL_argerror(L, arg, lua_pushfstring(L, "%s must not contain a zero byte", what));
  return k;
}

/* a path argument: a string with no zero byte (the OS would cut it there) */
static const char *check_path(lua_State *L, int arg) {
  size_t len;
  const char *path = luaL_checklstring(L, arg, &len);
  if (strlen(path) != len) luaL_argerror(L, arg, "the path must not contain a zero byte");
  return path;
}

static int l_save(lua_State *L) {
  const char *path = check_path(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  /* first pass: check and count */
  int n = 0, nmeta = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    const char *name = check_key(L, 2, "tensor names");
    lt_tensor **box = luaL_testudata(L, -1, LB_TENSOR);
    if (!box)
      return luaL_argerror(L, 2, lua_pushfstring(L, "'%s' is a %s, not a tensor", name, luaL_typename(L, -1)));
    if (!*box) return luaL_argerror(L, 2, lua_pushfstring(L, "tensor '%s' has been closed", name));
    if (n == 1 << 30) return luaL_argerror(L, 2, "too many tensors");
    n++;
    lua_pop(L, 1);
  }
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      const char *key = check_key(L, 3, "metadata keys");
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_argerror(L, 3, lua_pushfstring(L, "metadata value of '%s' must be a string, got %s", key,
                                                   luaL_typename(L, -1)));
      size_t len;
      const char *v = lua_tolstring(L, -1, &len);
      if (strlen(v) != len)
        return luaL_argerror(L, 3, lua_pushfstring(L, "metadata value of '%s' must not contain a zero byte", key));
      if (nmeta == 1 << 30) return luaL_argerror(L, 3, "too many metadata entries");
      nmeta++;
      lua_pop(L, 1);
    }
  }
  /* second pass: borrowed pointers into arrays the GC owns (the tables
     stay on the stack, so their strings and tensors live through the write) */
  const char **names = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *names, 0);
  lt_tensor **tensors = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *tensors, 0);
  const char **keys = lua_newuserdatauv(L, ((size_t)nmeta + 1) * sizeof *keys, 0);
  const char **values = lua_newuserdatauv(L, ((size_t)nmeta + 1) * sizeof *values, 0);
  int i = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    names[i] = lua_tostring(L, -2);
    tensors[i++] = *(lt_tensor **)lua_touserdata(L, -1);
    lua_pop(L, 1);
  }
  i = 0;
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      keys[i] = lua_tostring(L, -2);
      values[i++] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
  }
  lt_st_file ck = {n, names, tensors, nmeta, keys, values};
  if (lt_st_write(path, &ck) < 0) return lb_error(L, "save");
  return 0;
}

static int l_load(lua_State *L) {
  const char *path = check_path(L, 1);
  lt_st_file **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, LB_LOADED);
  *box = lt_st_read(path);
  if (!*box) return lb_error(L, "load");
  lt_st_file *f = *box;
  lua_createtable(L, 0, f->ntensors);
  for (int i = 0; i < f->ntensors; i++) {
    lt_tensor **t = lb_newbox(L);
    *t = f->tensors[i]; /* the box owns it now */
    f->tensors[i] = NULL;
    lua_setfield(L, -2, f->names[i]);
  }
  lua_createtable(L, 0, f->nmeta);
  for (int i = 0; i < f->nmeta; i++) {
    lua_pushstring(L, f->meta_values[i]);
    lua_setfield(L, -2, f->meta_keys[i]);
  }
  lt_st_free(f);
  *box = NULL;
  lb_account(L);
  return 2;
}

void lb_open_checkpoint(lua_State *L, int module) {
  luaL_newmetatable(L, LB_LOADED);
  lua_pushcfunction(L, loaded_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_save);
  lua_setfield(L, module, "save");
  lua_pushcfunction(L, l_load);
  lua_setfield(L, module, "load");
}
