/* l_csv.c -- Lua bindings for lunet.data.csv (to be written) */
#include "l_tensor.h"

void lb_open_csv(lua_State *L, int module) { (void)L; (void)module; }
