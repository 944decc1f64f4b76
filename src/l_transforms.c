/* l_transforms.c -- Lua bindings of the batch transforms (src/transforms.c),
 * in the hidden table lunet.core._transforms used by lua/lunet/data/transforms.lua.
 *
 * Images are one sample (C,H,W) or a batch (N,C,H,W); a sample runs as a
 * batch of one and comes back 3-d. Per-sample parameters are 1-d tensors of N.
 */
#include "l_tensor.h"
#include "transforms.h"

/* checks the image at arg and returns its batch size (1 for a sample) */
static int64_t check_images(lua_State *L, int arg, const char *fname) {
  lt_tensor *x = lb_check(L, arg);
  if (x->ndim != 3 && x->ndim != 4)
    luaL_error(L, "%s: expected an image (C,H,W) or a batch (N,C,H,W), got %d dimensions", fname, x->ndim);
  if (!lt_is_float(x->dtype))
    luaL_error(L, "%s: expected a float32 or float64 image, got %s", fname, lt_dtype_name(x->dtype));
  if (x->shape[x->ndim - 1] == 0 || x->shape[x->ndim - 2] == 0) luaL_error(L, "%s: the image is empty", fname);
  return x->ndim == 4 ? x->shape[0] : 1;
}

/* the checked image at arg as a 4-d tensor (a new reference; NULL on failure) */
static lt_tensor *as4(lua_State *L, int arg) {
  lt_tensor *x = lb_check(L, arg);
  return x->ndim == 4 ? lt_retain(x) : lt_unsqueeze(x, 0);
}

/* a 1-d parameter tensor of n values at arg, of dtype dt (checked only; Lua keeps it alive) */
static lt_tensor *check_params(lua_State *L, int arg, int64_t n, lt_dtype dt, const char *fname) {
  lt_tensor *p = lb_check(L, arg);
  if (p->dtype != dt || p->ndim != 1 || p->shape[0] != n || !lt_is_contiguous(p))
    luaL_error(L, "%s: argument #%d must be a contiguous 1-d %s tensor of %I values", fname, arg,
               lt_dtype_name(dt), (lua_Integer)n);
  return p;
}

/* push result r (4-d; back to 3-d for a sample) after releasing x4; NULL raises */
static int finish(lua_State *L, const char *fname, lt_tensor *x4, lt_tensor *r, int was3) {
  if (x4) lt_release(x4);
  if (r && was3) {
    lt_tensor *s = lt_squeeze(r, 0);
    lt_release(r);
    r = s;
  }
  if (!r) return lb_error(L, fname);
  lt_tensor **box = lb_newbox(L);
  *box = r;
  lb_account(L);
  return 1;
}

/* hflip(x, flags): flags int64 (N), nonzero flips */
static int l_hflip(lua_State *L) {
  int64_t n = check_images(L, 1, "hflip");
  const int64_t *flip = lt_data(check_params(L, 2, n, LT_INT64, "hflip"));
  int was3 = lb_check(L, 1)->ndim == 3;
  lt_tensor *x4 = as4(L, 1);
  return finish(L, "hflip", x4, x4 ? lt_tf_hflip(x4, flip) : NULL, was3);
}

/* translate(x, oh, ow, dy, dx [, fill]): dy, dx int64 (N), 0-based offsets */
static int l_translate(lua_State *L) {
  int64_t n = check_images(L, 1, "translate");
  lua_Integer oh = luaL_checkinteger(L, 2), ow = luaL_checkinteger(L, 3);
  const int64_t *dy = lt_data(check_params(L, 4, n, LT_INT64, "translate"));
  const int64_t *dx = lt_data(check_params(L, 5, n, LT_INT64, "translate"));
  double fill = luaL_optnumber(L, 6, 0);
  int was3 = lb_check(L, 1)->ndim == 3;
  lt_tensor *x4 = as4(L, 1);
  return finish(L, "translate", x4, x4 ? lt_tf_translate(x4, oh, ow, dy, dx, fill) : NULL, was3);
}

/* rotate(x, degrees [, fill]): degrees float64 (N) */
static int l_rotate(lua_State *L) {
  int64_t n = check_images(L, 1, "rotate");
  const double *deg = lt_data(check_params(L, 2, n, LT_FLOAT64, "rotate"));
  double fill = luaL_optnumber(L, 3, 0);
  int was3 = lb_check(L, 1)->ndim == 3;
  lt_tensor *x4 = as4(L, 1);
  return finish(L, "rotate", x4, x4 ? lt_tf_rotate(x4, deg, fill) : NULL, was3);
}

/* per-channel values at arg (a number for all channels or a list of C) into v */
static void channel_values(lua_State *L, int arg, int64_t C, double *v, const char *what) {
  if (lua_isnumber(L, arg)) {
    for (int64_t c = 0; c < C; c++) v[c] = lua_tonumber(L, arg);
    return;
  }
  luaL_argexpected(L, lua_istable(L, arg), arg, "a number or a table of numbers");
  lua_Integer len = luaL_len(L, arg);
  if (len != 1 && len != C)
    luaL_error(L, "normalize: %s has %d values, expected 1 or %d (one per channel)", what, (int)len, (int)C);
  for (int64_t c = 0; c < C; c++) {
    lua_geti(L, arg, len == 1 ? 1 : c + 1);
    if (!lua_isnumber(L, -1)) luaL_error(L, "normalize: %s[%d] is not a number", what, (int)(c + 1));
    v[c] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
}

/* normalize(x, mean, std) */
static int l_normalize(lua_State *L) {
  check_images(L, 1, "normalize");
  lt_tensor *x = lb_check(L, 1);
  int64_t C = x->shape[x->ndim - 3];
  double *mean = lua_newuserdatauv(L, 2 * (size_t)(C ? C : 1) * sizeof(double), 0); /* freed by the GC */
  double *std = mean + C;
  channel_values(L, 2, C, mean, "mean");
  channel_values(L, 3, C, std, "std");
  int was3 = x->ndim == 3;
  lt_tensor *x4 = as4(L, 1);
  return finish(L, "normalize", x4, x4 ? lt_tf_normalize(x4, mean, std) : NULL, was3);
}

/* one_hot(labels, k): 1-based labels */
static int l_one_hot(lua_State *L) {
  lt_tensor *y = lb_check(L, 1);
  lua_Integer k = luaL_checkinteger(L, 2);
  LB_RETURN(L, "one_hot", lt_tf_one_hot(y, k, 1));
}

void lb_open_transforms(lua_State *L, int module) {
  static const luaL_Reg fns[] = {
    {"hflip", l_hflip}, {"translate", l_translate}, {"rotate", l_rotate},
    {"normalize", l_normalize}, {"one_hot", l_one_hot}, {NULL, NULL},
  };
  luaL_newlib(L, fns);
  lua_setfield(L, module, "_transforms");
}
