/* l_loader.c -- Lua bindings of batch gathering (loader.c), reached from Lua
 * as require("lunet.core")._loader */
#include "l_tensor.h"
#include "loader.h"
#include <stdlib.h>

/* gather(t, index): rows of t at the 1-based positions of a 1-d int64 tensor */
static int l_gather(lua_State *L) {
  lt_tensor *t = lb_check(L, 1), *ix = lb_check(L, 2);
  if (t->ndim < 1) return luaL_argerror(L, 1, "expected a tensor with at least one dimension");
  if (ix->dtype != LT_INT64 || ix->ndim != 1)
    return luaL_argerror(L, 2, "expected a 1-d int64 tensor of 1-based indices");
  int64_t n = ix->shape[0];
  lt_tensor **box = lb_newbox(L);
  int64_t *z = malloc((size_t)(n ? n : 1) * sizeof *z);
  if (!z) return luaL_error(L, "gather: out of memory for %d indices", (int)n);
  const int64_t *p = lt_data(ix);
  for (int64_t i = 0; i < n; i++) z[i] = p[i * ix->stride[0]] - 1; /* 1-based to 0-based */
  *box = lt_gather_rows(t, z, n);
  free(z);
  if (!*box) return lb_error(L, "gather");
  lb_account(L);
  return 1;
}

/* perm(n, seed, stream): a 1-based permutation of 1..n from its own generator */
static int l_perm(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  lua_Integer seed = luaL_checkinteger(L, 2), stream = luaL_optinteger(L, 3, 0);
  if (n < 0) return luaL_argerror(L, 1, "n must be non-negative");
  lt_tensor **box = lb_newbox(L);
  if (!(*box = lt_empty(LT_INT64, 1, (int64_t[]){n}))) return lb_error(L, "perm");
  int64_t *o = lt_data(*box);
  lt_seeded_perm(o, n, (uint64_t)seed, (uint64_t)stream);
  for (lua_Integer i = 0; i < n; i++) o[i] += 1;
  lb_account(L);
  return 1;
}

void lb_open_loader(lua_State *L, int module) {
  static const luaL_Reg fns[] = {{"gather", l_gather}, {"perm", l_perm}, {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_setfield(L, module, "_loader");
}
