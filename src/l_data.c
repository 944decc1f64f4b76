/* l_data.c -- Lua bindings of the IDX reader (the datasets live in lua/lunet/data/mnist.lua) */
#include "idx.h"
#include "l_tensor.h"
#include <math.h>

/* read_idx(path [, {scale = s}]): the stored values, or float32 values times s.
   A missing or malformed file raises, naming the path and the byte offset. */
static int l_read_idx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lt_idx_opts opts = {0};
  if (!lua_isnoneornil(L, 2)) {
    luaL_argexpected(L, lua_istable(L, 2), 2, "table of options");
    int ty = lua_getfield(L, 2, "scale");
    if (ty != LUA_TNIL) {
      if (ty != LUA_TNUMBER) return luaL_error(L, "idx: option scale must be a number, got %s", luaL_typename(L, -1));
      opts.scale = lua_tonumber(L, -1);
      if (opts.scale == 0 || !isfinite(opts.scale))
        return luaL_error(L, "idx: option scale must be a nonzero finite number, got %f", opts.scale);
    }
    lua_pop(L, 1);
  }
  LB_RETURN(L, "idx", lt_read_idx(path, &opts));
}

void lb_open_data(lua_State *L, int module) {
  lua_pushcfunction(L, l_read_idx);
  lua_setfield(L, module, "read_idx");
}
