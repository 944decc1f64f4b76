/* l_loader.c -- Lua bindings for lunet.data.loader (to be written) */
#include "l_tensor.h"

void lb_open_loader(lua_State *L, int module) { (void)L; (void)module; }
