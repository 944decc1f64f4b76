/* l_transforms.c -- Lua bindings for lunet.data.transforms (to be written) */
#include "l_tensor.h"

void lb_open_transforms(lua_State *L, int module) { (void)L; (void)module; }
