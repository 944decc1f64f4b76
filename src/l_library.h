/* l_library.h -- a Lua state with lunet's library, as the lunet program makes it.
 *
 * lb_install_library opens the standard libraries, preloads lunet.core and puts a
 * package searcher over the Lua files compiled into the binary right after the
 * preload searcher (so `require "lunet"` finds the embedded library before any
 * file on package.path). Used by main.c and by the Lua fuzz targets. */
#ifndef LUNET_L_LIBRARY_H
#define LUNET_L_LIBRARY_H

#include <lua.h>

void lb_install_library(lua_State *L);

#endif
