/* l_checkpoint.c -- Lua bindings of safetensors checkpoints (to be written) */
#include "l_tensor.h"

void lb_open_checkpoint(lua_State *L, int module) { (void)L; (void)module; }
