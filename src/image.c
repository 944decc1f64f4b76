/* image.c -- RGB canvas, Bresenham lines, a 5x7 bitmap font, PNG via libpng.
 * The font is drawn here from scratch: each glyph is 7 rows of 5 bits, the
 * highest bit the leftmost column. */
#include "image.h"
#include "tensor.h"
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lt_image_init(lt_image *im, int w, int h, uint32_t color) {
  im->w = im->h = 0;
  im->rgb = NULL;
  if (w < 1 || h < 1 || w > LT_IMAGE_MAX || h > LT_IMAGE_MAX)
    return lt_seterr("image size must be 1..%d in each direction, got %dx%d", LT_IMAGE_MAX, w, h);
  im->rgb = malloc((size_t)w * h * 3);
  if (!im->rgb) return lt_seterr("out of memory for a %dx%d image", w, h);
  im->w = w, im->h = h;
  lt_image_fill_rect(im, 0, 0, w, h, color);
  return 0;
}

void lt_image_free(lt_image *im) {
  free(im->rgb);
  im->rgb = NULL;
  im->w = im->h = 0;
}

void lt_image_plot(lt_image *im, int x, int y, uint32_t color, int alpha) {
  if (x < 0 || y < 0 || x >= im->w || y >= im->h || alpha <= 0) return;
  uint8_t *p = im->rgb + ((size_t)y * im->w + x) * 3;
  uint8_t c[3] = {color >> 16 & 255, color >> 8 & 255, color & 255};
  for (int k = 0; k < 3; k++)
    p[k] = alpha >= 255 ? c[k] : (uint8_t)((c[k] * alpha + p[k] * (255 - alpha) + 127) / 255);
}

void lt_image_fill_rect(lt_image *im, int x, int y, int w, int h, uint32_t color) {
  /* clip in 64 bits so x + w cannot overflow */
  int64_t x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
  int64_t x1 = (int64_t)x + w, y1 = (int64_t)y + h;
  if (x1 > im->w) x1 = im->w;
  if (y1 > im->h) y1 = im->h;
  for (int64_t j = y0; j < y1; j++)
    for (int64_t i = x0; i < x1; i++) {
      uint8_t *p = im->rgb + ((size_t)j * im->w + i) * 3;
      p[0] = color >> 16 & 255, p[1] = color >> 8 & 255, p[2] = color & 255;
    }
}

void lt_image_line(lt_image *im, int x0, int y0, int x1, int y1, int width, uint32_t color, int alpha) {
  int64_t dx = llabs((int64_t)x1 - x0), dy = -llabs((int64_t)y1 - y0);
  int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int steep = -dy > dx; /* the second pixel of a 2 px line goes across the run */
  int64_t err = dx + dy;
  for (;;) {
    lt_image_plot(im, x0, y0, color, alpha);
    if (width >= 2) lt_image_plot(im, x0 + steep, y0 + !steep, color, alpha);
    if (x0 == x1 && y0 == y1) break;
    int64_t e2 = 2 * err;
    if (e2 >= dy) { err += dy; x0 += sx; }
    if (e2 <= dx) { err += dx; y0 += sy; }
  }
}

/* ---- the font ------------------------------------------------------------- */
typedef struct { uint8_t row[LT_GLYPH_H]; uint8_t defined; } glyph;
#define G(ch, a, b, c, d, e, f, g) [ch] = {{a, b, c, d, e, f, g}, 1}
static const glyph FONT[128] = {
  G(' ', 0, 0, 0, 0, 0, 0, 0),
  G('0', 0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E), G('1', 0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E),
  G('2', 0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F), G('3', 0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E),
  G('4', 0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02), G('5', 0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E),
  G('6', 0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E), G('7', 0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08),
  G('8', 0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E), G('9', 0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C),
  G('A', 0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11), G('B', 0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E),
  G('C', 0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E), G('D', 0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E),
  G('E', 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F), G('F', 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10),
  G('G', 0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F), G('H', 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11),
  G('I', 0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E), G('J', 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C),
  G('K', 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11), G('L', 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F),
  G('M', 0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11), G('N', 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11),
  G('O', 0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E), G('P', 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10),
  G('Q', 0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D), G('R', 0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11),
  G('S', 0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E), G('T', 0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04),
  G('U', 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E), G('V', 0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04),
  G('W', 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A), G('X', 0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11),
  G('Y', 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04), G('Z', 0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F),
  G('a', 0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F), G('b', 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E),
  G('c', 0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E), G('d', 0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F),
  G('e', 0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E), G('f', 0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08),
  G('g', 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E), G('h', 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11),
  G('i', 0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E), G('j', 0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C),
  G('k', 0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12), G('l', 0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E),
  G('m', 0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11), G('n', 0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11),
  G('o', 0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E), G('p', 0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10),
  G('q', 0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01), G('r', 0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10),
  G('s', 0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E), G('t', 0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06),
  G('u', 0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D), G('v', 0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04),
  G('w', 0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A), G('x', 0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11),
  G('y', 0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E), G('z', 0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F),
  G('.', 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C), G('-', 0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00),
  G('+', 0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00), G('_', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F),
  G(':', 0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00), G(',', 0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08),
  G('(', 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02), G(')', 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08),
  G('/', 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00), G('=', 0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00),
  G('%', 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03),
};
#undef G
static const glyph BOX = {{0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F}, 1};

int lt_image_has_glyph(int c) { return c >= 0 && c < 128 && FONT[c].defined; }

int lt_image_text_width(const char *s, int scale) {
  size_t n = strlen(s);
  if (n == 0) return 0;
  if (n > (size_t)LT_IMAGE_MAX) n = LT_IMAGE_MAX; /* nothing wider can show */
  return (int)(n * (LT_GLYPH_W + 1) - 1) * scale;
}

int lt_image_text(lt_image *im, int x, int y, const char *s, int scale, uint32_t color) {
  if (scale < 1) scale = 1;
  int64_t cx = x;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (cx >= im->w) break;
    const glyph *g = lt_image_has_glyph(*p) ? &FONT[*p] : &BOX;
    for (int r = 0; r < LT_GLYPH_H; r++)
      for (int c = 0; c < LT_GLYPH_W; c++)
        if (g->row[r] >> (LT_GLYPH_W - 1 - c) & 1)
          lt_image_fill_rect(im, (int)(cx + c * scale), y + r * scale, scale, scale, color);
    cx += (LT_GLYPH_W + 1) * scale;
  }
  return lt_image_text_width(s, scale);
}

/* ---- PNG -------------------------------------------------------------------- */
static void png_fail(png_structp png, png_const_charp msg) {
  char *buf = png_get_error_ptr(png);
  snprintf(buf, 200, "%s", msg);
  png_longjmp(png, 1);
}
static void png_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

int lt_png_write_channels(const char *path, int w, int h, int channels, const uint8_t *pix) {
  if (w < 1 || h < 1 || w > LT_IMAGE_MAX || h > LT_IMAGE_MAX)
    return lt_seterr("%s: image size must be 1..%d in each direction, got %dx%d", path, LT_IMAGE_MAX, w, h);
  if (channels != 1 && channels != 3) return lt_seterr("%s: channels must be 1 or 3, got %d", path, channels);
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (!tmp) return lt_seterr("%s: out of memory", path);
  memcpy(tmp, path, n);
  memcpy(tmp + n, ".tmp.XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return lt_seterr("%s: cannot create a file there: %s", path, strerror(e));
  }
  mode_t mask = umask(0); /* mkstemp makes 0600; a PNG gets the usual 0666 & ~umask */
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd), unlink(tmp), free(tmp);
    return lt_seterr("%s: %s", path, strerror(e));
  }
  char msg[200] = "";
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, msg, png_fail, png_warn);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  int ok = 0;
  if (png && info) {
    if (setjmp(png_jmpbuf(png)) == 0) {
      png_init_io(png, f);
      png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                   channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                   PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
      png_write_info(png, info);
      for (int y = 0; y < h; y++) png_write_row(png, pix + (size_t)y * w * channels);
      png_write_end(png, NULL);
      ok = 1;
    }
  } else {
    snprintf(msg, sizeof msg, "out of memory");
  }
  png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
  int e = 0;
  if (fflush(f) != 0 || ferror(f)) e = errno ? errno : EIO;
  if (fclose(f) != 0 && !e) e = errno;
  if (ok && e) ok = 0, snprintf(msg, sizeof msg, "%s", strerror(e));
  if (ok && rename(tmp, path) != 0) ok = 0, snprintf(msg, sizeof msg, "cannot rename into place: %s", strerror(errno));
  if (!ok) unlink(tmp);
  free(tmp);
  return ok ? 0 : lt_seterr("%s: cannot write PNG: %s", path, msg);
}

int lt_png_write(const char *path, int w, int h, const uint8_t *rgb) {
  return lt_png_write_channels(path, w, h, 3, rgb);
}

int lt_png_read(const char *path, int *w, int *h, int *channels, uint8_t **pix) {
  *pix = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return lt_seterr("%s: cannot open: %s", path, strerror(errno));
  uint8_t sig[8];
  if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
    fclose(f);
    return lt_seterr("%s: not a PNG file (bad signature)", path);
  }
  char msg[200] = "";
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, msg, png_fail, png_warn);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  uint8_t *volatile out = NULL;
  png_bytep *volatile rows = NULL; /* volatile: freed after a longjmp too */
  int ok = 0;
  if (png && info) {
    if (setjmp(png_jmpbuf(png)) == 0) {
      png_init_io(png, f);
      png_set_sig_bytes(png, 8);
      png_set_user_limits(png, LT_IMAGE_MAX, LT_IMAGE_MAX);
      png_read_info(png, info);
      png_set_strip_16(png);
      png_set_strip_alpha(png);
      png_set_palette_to_rgb(png);
      png_set_expand_gray_1_2_4_to_8(png);
      png_set_interlace_handling(png);
      png_read_update_info(png, info);
      int W = (int)png_get_image_width(png, info), H = (int)png_get_image_height(png, info);
      int C = png_get_channels(png, info);
      if (C != 1 && C != 3) png_error(png, "unsupported channel layout");
      out = malloc((size_t)W * H * C);
      if (!out) png_error(png, "out of memory");
      rows = malloc(sizeof(png_bytep) * H);
      if (!rows) png_error(png, "out of memory");
      for (int y = 0; y < H; y++) rows[y] = out + (size_t)y * W * C;
      png_read_image(png, rows);
      png_read_end(png, NULL);
      *w = W, *h = H, *channels = C;
      ok = 1;
    }
  } else {
    snprintf(msg, sizeof msg, "out of memory");
  }
  png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
  free(rows);
  fclose(f);
  if (!ok) {
    free(out);
    return lt_seterr("%s: cannot read PNG: %s", path, msg);
  }
  *pix = out;
  return 0;
}
