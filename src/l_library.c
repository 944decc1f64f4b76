/* l_library.c -- lunet's library in a Lua state (see l_library.h) */
#include "l_library.h"
#include "embedded.h"
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

int luaopen_lunet_core(lua_State *L);

/* package.searchers entry for the Lua files compiled into the binary */
static int embedded_searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  for (const lunet_embedded_file *f = lunet_embedded; f->path; f++) {
    if (!f->module || strcmp(f->module, name) != 0) continue;
    lua_pushfstring(L, "@%s", f->path);
    if (luaL_loadbuffer(L, f->source, f->size, lua_tostring(L, -1)) != LUA_OK)
      return luaL_error(L, "error loading embedded module '%s':\n\t%s", name, lua_tostring(L, -1));
    lua_pushstring(L, f->path);
    return 2;
  }
  lua_pushfstring(L, "no embedded module '%s'", name);
  return 1;
}

void lb_install_library(lua_State *L) {
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_lunet_core);
  lua_setfield(L, -2, "lunet.core");
  lua_pop(L, 1);
  /* searchers: preload, embedded, then the usual path searchers */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  for (lua_Integer i = (lua_Integer)lua_rawlen(L, -1); i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, embedded_searcher);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
