/* l_data.c -- Lua bindings of the file readers (the dataset layer lives in lua/lunet/data.lua) */
#include "idx.h"
#include "l_tensor.h"

/* read_idx(path): a missing or malformed file raises, naming the path */
static int l_read_idx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  LB_RETURN(L, "idx", lt_read_idx(path));
}

void lb_open_data(lua_State *L, int module) {
  lua_pushcfunction(L, l_read_idx);
  lua_setfield(L, module, "read_idx");
}
