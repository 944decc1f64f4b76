/* image.h -- an 8-bit RGB canvas (rectangles, lines, a built-in 5x7 font)
 * and PNG files through libpng. Pure C, no Lua; the binding is l_image.c.
 * Coordinates are 0-based pixels, x to the right, y down; everything drawn
 * is clipped to the canvas. Errors leave a message in lt_errmsg(). */
#ifndef LUNET_IMAGE_H
#define LUNET_IMAGE_H

#include <stdint.h>

#define LT_IMAGE_MAX 16384  /* largest width or height accepted */
#define LT_GLYPH_W 5        /* glyph box; text advances GLYPH_W + 1 per char */
#define LT_GLYPH_H 7

typedef struct lt_image {
  int w, h;
  uint8_t *rgb; /* h rows of w pixels, 3 bytes each */
} lt_image;

/* a w x h canvas filled with 0xRRGGBB; -1 on a size outside 1..LT_IMAGE_MAX */
int lt_image_init(lt_image *im, int w, int h, uint32_t color);
void lt_image_free(lt_image *im); /* safe on a zeroed or freed canvas */

void lt_image_fill_rect(lt_image *im, int x, int y, int w, int h, uint32_t color);
/* one pixel blended with alpha 0..255 (255 = opaque) */
void lt_image_plot(lt_image *im, int x, int y, uint32_t color, int alpha);
/* Bresenham from (x0,y0) to (x1,y1), both ends drawn; width 2 also draws the
   pixel right of (mostly vertical lines) or below (mostly horizontal) */
void lt_image_line(lt_image *im, int x0, int y0, int x1, int y1, int width, uint32_t color, int alpha);
/* text with its top-left at (x,y), each glyph pixel a scale x scale square;
   characters without a glyph draw a hollow box. Returns the width drawn. */
int lt_image_text(lt_image *im, int x, int y, const char *s, int scale, uint32_t color);
int lt_image_text_width(const char *s, int scale);
int lt_image_has_glyph(int c);

/* channels 1 (gray) or 3 (RGB), rows packed. Written to a temporary file in
   the same directory and renamed over path, so readers never see half a file. */
int lt_png_write_channels(const char *path, int w, int h, int channels, const uint8_t *pix);
int lt_png_write(const char *path, int w, int h, const uint8_t *rgb);
/* decodes to 8-bit gray (1 channel) or RGB (3): palettes become RGB, 16-bit
   is cut to 8, alpha is dropped. *pix is malloc'ed (free() it). */
int lt_png_read(const char *path, int *w, int *h, int *channels, uint8_t **pix);

#endif
