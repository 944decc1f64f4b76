/* l_optim.c -- Lua bindings of the fused optimizer updates (to be written) */
#include "l_tensor.h"

void lb_open_optim(lua_State *L, int module) { (void)L; (void)module; }
