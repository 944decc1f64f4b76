/* l_image.c -- Lua bindings of image files (to be written) */
#include "l_tensor.h"

void lb_open_image(lua_State *L, int module) { (void)L; (void)module; }
