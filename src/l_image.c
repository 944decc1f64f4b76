/* l_image.c -- Lua bindings of image.c, in require("lunet.core")._image:
 *   canvas(w, h [, color]) -> canvas with methods width(), height(),
 *     fill_rect(x, y, w, h, color), line(x0, y0, x1, y1, color [, width [, alpha]]),
 *     text(x, y, s, color [, scale]) -> px, pixel(x, y) -> r, g, b, save_png(path)
 *   text_width(s [, scale]) -> px
 *   write_png(path, tensor): float (H,W), (1,H,W) or (3,H,W) in [0,1]
 *   read_png(path) -> width, height, float32 tensor (H,W) or (3,H,W), values byte/255
 * Colours are integers 0xRRGGBB or "#rrggbb" strings; coordinates are 0-based
 * pixels (x right, y down), rounded to the nearest pixel. */
#include "image.h"
#include "l_tensor.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CANVAS "lunet.Canvas"

static lt_image *check_canvas(lua_State *L, const char *fname) {
  lt_image *im = luaL_testudata(L, 1, CANVAS);
  if (!im) luaL_error(L, "%s: argument 1 must be a canvas, got %s", fname, luaL_typename(L, 1));
  if (!im->rgb) luaL_error(L, "%s: the canvas was freed", fname);
  return im;
}

/* a pixel coordinate or length: rounded, kept in a range where sums cannot overflow */
static int coord(lua_State *L, int arg, const char *fname, const char *what) {
  if (lua_type(L, arg) != LUA_TNUMBER)
    return luaL_error(L, "%s: argument %d (%s) must be a number, got %s", fname, arg, what, luaL_typename(L, arg));
  double v = lua_tonumber(L, arg);
  if (v != v) return luaL_error(L, "%s: argument %d (%s) is NaN", fname, arg, what);
  v = floor(v + 0.5);
  if (v > 1e8) v = 1e8;
  if (v < -1e8) v = -1e8;
  return (int)v;
}

static uint32_t color(lua_State *L, int arg, const char *fname) {
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lua_Integer c;
    if (!lua_isinteger(L, arg) || (c = lua_tointeger(L, arg)) < 0 || c > 0xFFFFFF)
      luaL_error(L, "%s: argument %d (colour) must be an integer 0x000000..0xFFFFFF, got %s", fname, arg,
                 lua_tostring(L, arg));
    else
      return (uint32_t)c;
  }
  const char *s = lua_tostring(L, arg);
  if (lua_type(L, arg) == LUA_TSTRING && strlen(s) == 7 && s[0] == '#' && strspn(s + 1, "0123456789abcdefABCDEF") == 6)
    return (uint32_t)strtoul(s + 1, NULL, 16);
  luaL_error(L, "%s: argument %d (colour) must be 0xRRGGBB or \"#rrggbb\", got %s", fname, arg,
             lua_type(L, arg) == LUA_TSTRING ? s : luaL_typename(L, arg));
  return 0;
}

static int size_arg(lua_State *L, int arg, const char *fname, const char *what) {
  lua_Integer v = 0;
  if (!lua_isinteger(L, arg) || (v = lua_tointeger(L, arg)) < 1 || v > LT_IMAGE_MAX)
    luaL_error(L, "%s: argument %d (%s) must be an integer 1..%d, got %s", fname, arg, what, LT_IMAGE_MAX,
               /* not luaL_tolstring: a __tostring (a closed tensor's) may raise */
               lua_type(L, arg) == LUA_TNUMBER ? lua_tostring(L, arg) : luaL_typename(L, arg));
  return (int)v;
}

static int l_canvas(lua_State *L) {
  int w = size_arg(L, 1, "image.canvas", "width"), h = size_arg(L, 2, "image.canvas", "height");
  uint32_t c = lua_isnoneornil(L, 3) ? 0xFFFFFF : color(L, 3, "image.canvas");
  lt_image *im = lua_newuserdatauv(L, sizeof *im, 0);
  im->rgb = NULL;
  luaL_setmetatable(L, CANVAS);
  if (lt_image_init(im, w, h, c) < 0) return luaL_error(L, "image.canvas: %s", lt_errmsg());
  return 1;
}

static int m_gc(lua_State *L) {
  lt_image *im = luaL_checkudata(L, 1, CANVAS);
  lt_image_free(im);
  return 0;
}

static int m_width(lua_State *L) { lua_pushinteger(L, check_canvas(L, "canvas:width")->w); return 1; }
static int m_height(lua_State *L) { lua_pushinteger(L, check_canvas(L, "canvas:height")->h); return 1; }

static int m_fill_rect(lua_State *L) {
  const char *f = "canvas:fill_rect";
  lt_image *im = check_canvas(L, f);
  int x = coord(L, 2, f, "x"), y = coord(L, 3, f, "y"), w = coord(L, 4, f, "width"), h = coord(L, 5, f, "height");
  lt_image_fill_rect(im, x, y, w, h, color(L, 6, f));
  return 0;
}

static int m_line(lua_State *L) {
  const char *f = "canvas:line";
  lt_image *im = check_canvas(L, f);
  int x0 = coord(L, 2, f, "x0"), y0 = coord(L, 3, f, "y0"), x1 = coord(L, 4, f, "x1"), y1 = coord(L, 5, f, "y1");
  uint32_t c = color(L, 6, f);
  lua_Integer width = luaL_optinteger(L, 7, 1);
  if (width != 1 && width != 2) return luaL_error(L, "%s: argument 7 (width) must be 1 or 2, got %d", f, (int)width);
  double alpha = luaL_optnumber(L, 8, 1);
  if (!(alpha >= 0 && alpha <= 1)) return luaL_error(L, "%s: argument 8 (alpha) must be in [0, 1], got %f", f, alpha);
  lt_image_line(im, x0, y0, x1, y1, (int)width, c, (int)(alpha * 255 + 0.5));
  return 0;
}

static int scale_arg(lua_State *L, int arg, const char *f) {
  lua_Integer s = luaL_optinteger(L, arg, 1);
  if (s < 1 || s > 16) return luaL_error(L, "%s: argument %d (scale) must be 1..16, got %d", f, arg, (int)s);
  return (int)s;
}

static int m_text(lua_State *L) {
  const char *f = "canvas:text";
  lt_image *im = check_canvas(L, f);
  int x = coord(L, 2, f, "x"), y = coord(L, 3, f, "y");
  if (lua_type(L, 4) != LUA_TSTRING && lua_type(L, 4) != LUA_TNUMBER)
    return luaL_error(L, "%s: argument 4 (text) must be a string, got %s", f, luaL_typename(L, 4));
  const char *s = lua_tostring(L, 4);
  uint32_t c = color(L, 5, f);
  lua_pushinteger(L, lt_image_text(im, x, y, s, scale_arg(L, 6, f), c));
  return 1;
}

static int m_pixel(lua_State *L) {
  const char *f = "canvas:pixel";
  lt_image *im = check_canvas(L, f);
  lua_Integer x = luaL_checkinteger(L, 2), y = luaL_checkinteger(L, 3);
  if (x < 0 || y < 0 || x >= im->w || y >= im->h)
    return luaL_error(L, "%s: (%d, %d) is outside the %dx%d canvas", f, (int)x, (int)y, im->w, im->h);
  const uint8_t *p = im->rgb + ((size_t)y * im->w + x) * 3;
  for (int k = 0; k < 3; k++) lua_pushinteger(L, p[k]);
  return 3;
}

static int m_save_png(lua_State *L) {
  lt_image *im = check_canvas(L, "canvas:save_png");
  const char *path = luaL_checkstring(L, 2);
  if (lt_png_write(path, im->w, im->h, im->rgb) < 0) return luaL_error(L, "canvas:save_png: %s", lt_errmsg());
  return 0;
}

static int l_text_width(lua_State *L) {
  const char *s = luaL_checkstring(L, 1);
  lua_pushinteger(L, lt_image_text_width(s, scale_arg(L, 2, "image.text_width")));
  return 1;
}

/* tensor values -> bytes; values outside [0, 1] (or NaN) are an error rather
   than clamped, since they usually mean a forgotten normalisation */
static int l_write_png(lua_State *L) {
  const char *f = "image.write_png";
  const char *path = luaL_checkstring(L, 1);
  lt_tensor *t = lb_check(L, 2);
  if (t->dtype != LT_FLOAT32 && t->dtype != LT_FLOAT64)
    return luaL_error(L, "%s: argument 2 must be a float32 or float64 tensor, got %s", f, lt_dtype_name(t->dtype));
  int C = 1;
  int64_t H, W;
  if (t->ndim == 2) H = t->shape[0], W = t->shape[1];
  else if (t->ndim == 3 && (t->shape[0] == 1 || t->shape[0] == 3)) C = (int)t->shape[0], H = t->shape[1], W = t->shape[2];
  else {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int d = 0; d < t->ndim; d++) { if (d) luaL_addstring(&b, ", "); lua_pushinteger(L, t->shape[d]); luaL_addvalue(&b); }
    luaL_pushresult(&b);
    return luaL_error(L, "%s: argument 2 must have shape (H,W), (1,H,W) or (3,H,W), got (%s)", f, lua_tostring(L, -1));
  }
  if (H < 1 || W < 1 || H > LT_IMAGE_MAX || W > LT_IMAGE_MAX)
    return luaL_error(L, "%s: image size must be 1..%d in each direction, got %dx%d", f, LT_IMAGE_MAX, (int)W, (int)H);
  lt_tensor **box = lb_newbox(L); /* the contiguous copy lives in a box so errors free it */
  if (!(*box = lt_contiguous(t))) return lb_error(L, f);
  size_t n = (size_t)H * W;
  uint8_t *pix = lua_newuserdatauv(L, n * C, 0);
  const void *src = lt_data(*box);
  for (int c = 0; c < C; c++)
    for (size_t i = 0; i < n; i++) {
      size_t k = c * n + i;
      double v = t->dtype == LT_FLOAT32 ? ((const float *)src)[k] : ((const double *)src)[k];
      if (!(v >= 0 && v <= 1)) {
        size_t y = i / W, x = i % W;
        if (C == 1 && t->ndim == 2)
          return luaL_error(L, "%s: value %f at [%d, %d] is outside [0, 1]", f, v, (int)y + 1, (int)x + 1);
        return luaL_error(L, "%s: value %f at [%d, %d, %d] is outside [0, 1]", f, v, c + 1, (int)y + 1, (int)x + 1);
      }
      pix[i * C + c] = (uint8_t)(v * 255 + 0.5); /* CHW -> interleaved */
    }
  if (lt_png_write_channels(path, (int)W, (int)H, C, pix) < 0) return luaL_error(L, "%s: %s", f, lt_errmsg());
  return 0;
}

static int l_read_png(lua_State *L) {
  const char *f = "image.read_png";
  const char *path = luaL_checkstring(L, 1);
  int w, h, c;
  uint8_t *pix;
  if (lt_png_read(path, &w, &h, &c, &pix) < 0) return luaL_error(L, "%s: %s", f, lt_errmsg());
  lua_pushinteger(L, w);
  lua_pushinteger(L, h);
  lt_tensor **box = lb_newbox(L);
  *box = c == 1 ? lt_empty(LT_FLOAT32, 2, (int64_t[]){h, w}) : lt_empty(LT_FLOAT32, 3, (int64_t[]){3, h, w});
  if (!*box) { free(pix); return lb_error(L, f); }
  float *out = lt_data(*box);
  size_t n = (size_t)w * h;
  for (int k = 0; k < c; k++)
    for (size_t i = 0; i < n; i++) out[k * n + i] = pix[i * c + k] / 255.0f;
  free(pix);
  lb_account(L);
  return 3;
}

void lb_open_image(lua_State *L, int module) {
  static const luaL_Reg methods[] = {{"width", m_width}, {"height", m_height}, {"fill_rect", m_fill_rect},
    {"line", m_line}, {"text", m_text}, {"pixel", m_pixel}, {"save_png", m_save_png}, {NULL, NULL}};
  luaL_newmetatable(L, CANVAS);
  lua_pushcfunction(L, m_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, m_gc);
  lua_setfield(L, -2, "__close");
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {{"canvas", l_canvas}, {"text_width", l_text_width}, {"write_png", l_write_png},
    {"read_png", l_read_png}, {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_setfield(L, module, "_image");
}
