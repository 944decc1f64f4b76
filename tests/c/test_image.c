/* test_image.c -- the RGB canvas, the 5x7 font and PNG files (image.c): PNGs
 * written here are decoded with libpng directly, independently of lt_png_read. */
#include "check.h"
#include "image.h"
#include "tensor.h"
#include <dirent.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t *px(const lt_image *im, int x, int y) { return im->rgb + ((size_t)y * im->w + x) * 3; }
static int is(const lt_image *im, int x, int y, uint32_t c) {
  const uint8_t *p = px(im, x, y);
  return p[0] == (c >> 16 & 255) && p[1] == (c >> 8 & 255) && p[2] == (c & 255);
}
static int count(const lt_image *im, uint32_t c) {
  int n = 0;
  for (int y = 0; y < im->h; y++)
    for (int x = 0; x < im->w; x++) n += is(im, x, y, c);
  return n;
}

static void test_canvas(void) {
  lt_image im;
  CHECK(lt_image_init(&im, 0, 5, 0) < 0 && im.rgb == NULL);
  CHECK(strstr(lt_errmsg(), "got 0x5") != NULL);
  CHECK(lt_image_init(&im, 5, LT_IMAGE_MAX + 1, 0) < 0);
  CHECK(lt_image_init(&im, 10, 10, 0xFFFFFF) == 0);
  CHECK(count(&im, 0xFFFFFF) == 100);
  lt_image_line(&im, 0, 0, 9, 9, 1, 0xFF0000, 255);
  CHECK(count(&im, 0xFF0000) == 10);
  for (int i = 0; i < 10; i++) CHECK(is(&im, i, i, 0xFF0000));
  /* reversed and steep: (9,0) -> (7,9) covers every row once */
  lt_image_fill_rect(&im, 0, 0, 10, 10, 0);
  lt_image_line(&im, 9, 0, 7, 9, 1, 0x00FF00, 255);
  CHECK(count(&im, 0x00FF00) == 10);
  CHECK(is(&im, 9, 0, 0x00FF00) && is(&im, 7, 9, 0x00FF00));
  /* a 2 px steep line doubles to the right; clipping a line far outside is safe */
  lt_image_fill_rect(&im, 0, 0, 10, 10, 0);
  lt_image_line(&im, 3, 1, 3, 8, 2, 0x0000FF, 255);
  CHECK(count(&im, 0x0000FF) == 16 && is(&im, 4, 5, 0x0000FF));
  lt_image_line(&im, -100000, -5, 100000, -5, 2, 0xFFFFFF, 255);
  CHECK(count(&im, 0xFFFFFF) == 0);
  /* alpha: a quarter of white over black */
  lt_image_plot(&im, 0, 0, 0xFFFFFF, 64);
  CHECK(px(&im, 0, 0)[0] == 64 && px(&im, 0, 0)[2] == 64);
  /* rectangles clip, including sizes whose end overflows int */
  lt_image_fill_rect(&im, 0, 0, 10, 10, 0);
  lt_image_fill_rect(&im, 2, 3, 4, 2, 0x123456);
  CHECK(count(&im, 0x123456) == 8 && is(&im, 2, 3, 0x123456) && is(&im, 5, 4, 0x123456) && !is(&im, 6, 4, 0x123456));
  lt_image_fill_rect(&im, 8, 8, 2147483647, 2147483647, 0x654321);
  CHECK(count(&im, 0x654321) == 4);
  lt_image_fill_rect(&im, -3, -3, 2, 2, 0x111111);
  CHECK(count(&im, 0x111111) == 0);
  lt_image_free(&im);
  lt_image_free(&im); /* twice is safe */
}

static void test_font(void) {
  const char *chars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-+_:";
  for (const char *c = chars; *c; c++) {
    CHECK(lt_image_has_glyph(*c));
    lt_image im;
    lt_image_init(&im, 12, 12, 0xFFFFFF);
    char s[2] = {*c, 0};
    CHECK(lt_image_text(&im, 3, 2, s, 1, 0) == 5);
    int inside = 0, outside = 0;
    for (int y = 0; y < 12; y++)
      for (int x = 0; x < 12; x++)
        if (is(&im, x, y, 0)) *(x >= 3 && x < 8 && y >= 2 && y < 9 ? &inside : &outside) += 1;
    if (!(inside > 0 && outside == 0)) fprintf(stderr, "glyph '%c': %d in, %d out\n", *c, inside, outside);
    CHECK(inside > 0 && outside == 0);
    lt_image_free(&im);
  }
  CHECK(lt_image_has_glyph(' ') && !lt_image_has_glyph('~') && !lt_image_has_glyph(200));
  /* no two letters or digits share a bitmap */
  lt_image a, b;
  lt_image_init(&a, 5, 7, 0xFFFFFF), lt_image_init(&b, 5, 7, 0xFFFFFF);
  int same = 0;
  for (const char *c = chars; *c; c++)
    for (const char *d = c + 1; *d; d++) {
      char s[2] = {*c, 0}, t[2] = {*d, 0};
      lt_image_fill_rect(&a, 0, 0, 5, 7, 0xFFFFFF), lt_image_fill_rect(&b, 0, 0, 5, 7, 0xFFFFFF);
      lt_image_text(&a, 0, 0, s, 1, 0), lt_image_text(&b, 0, 0, t, 1, 0);
      if (memcmp(a.rgb, b.rgb, 5 * 7 * 3) == 0) same++, fprintf(stderr, "'%c' == '%c'\n", *c, *d);
    }
  CHECK(same == 0);
  lt_image_free(&a), lt_image_free(&b);
  /* text: widths, scale, unknown characters as a hollow box, clipping */
  CHECK(lt_image_text_width("", 1) == 0 && lt_image_text_width("ab", 1) == 11 && lt_image_text_width("ab", 3) == 33);
  lt_image im;
  lt_image_init(&im, 20, 10, 0xFFFFFF);
  CHECK(lt_image_text(&im, 0, 0, "~", 1, 0) == 5);
  CHECK(count(&im, 0) == 20); /* 5x7 box outline: 2*5 + 2*5 */
  lt_image_fill_rect(&im, 0, 0, 20, 10, 0xFFFFFF);
  lt_image_text(&im, 0, 0, "-", 2, 0);
  CHECK(count(&im, 0) == 5 * 4 && is(&im, 0, 6, 0) && is(&im, 9, 7, 0));
  lt_image_text(&im, 15, 5, "WWWW", 1, 0); /* runs off the right and bottom edges */
  lt_image_text(&im, -100, -100, "W", 1, 0);
  lt_image_free(&im);
}

/* decodes path with libpng's simplified API into RGB: w, h and pixels */
static uint8_t *decode(const char *path, int *w, int *h) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path)) return NULL;
  img.format = PNG_FORMAT_RGB;
  uint8_t *buf = malloc(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) { free(buf); return NULL; }
  *w = (int)img.width, *h = (int)img.height;
  return buf;
}

static int temp_files_in(const char *dir, const char *base) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  size_t k = strlen(base);
  while ((e = readdir(d))) n += strncmp(e->d_name, base, k) == 0 && strstr(e->d_name, ".tmp.") != NULL;
  closedir(d);
  return n;
}

static void test_png(void) {
  char dir[] = "/tmp/lunet_test_image_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/out.png", dir);
  lt_image im;
  lt_image_init(&im, 7, 5, 0);
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 7; x++) {
      uint8_t *p = im.rgb + ((size_t)y * 7 + x) * 3;
      p[0] = (uint8_t)(x * 37), p[1] = (uint8_t)(y * 51), p[2] = (uint8_t)(x * y * 9 + 1);
    }
  CHECK(lt_png_write(path, im.w, im.h, im.rgb) == 0);
  CHECK(temp_files_in(dir, "out.png") == 0);
  struct stat st;
  mode_t mask = umask(0);
  umask(mask);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask)); /* not mkstemp's 0600 */
  int w = 0, h = 0, c = 0;
  uint8_t *back = decode(path, &w, &h);
  CHECK(back && w == 7 && h == 5 && memcmp(back, im.rgb, 7 * 5 * 3) == 0);
  free(back);
  uint8_t *mine = NULL;
  CHECK(lt_png_read(path, &w, &h, &c, &mine) == 0 && w == 7 && h == 5 && c == 3);
  CHECK(mine && memcmp(mine, im.rgb, 7 * 5 * 3) == 0);
  free(mine);
  /* overwrite with gray: replaced whole */
  uint8_t gray[6] = {0, 1, 127, 128, 254, 255};
  CHECK(lt_png_write_channels(path, 3, 2, 1, gray) == 0);
  CHECK(lt_png_read(path, &w, &h, &c, &mine) == 0 && w == 3 && h == 2 && c == 1);
  CHECK(mine && memcmp(mine, gray, 6) == 0);
  free(mine);
  back = decode(path, &w, &h);
  CHECK(back && back[3 * 5] == 255 && back[3 * 2 + 1] == 127);
  free(back);
  /* errors name the path and leave no temporary file behind */
  CHECK(lt_png_write("/nonexistent-dir/x.png", 2, 2, im.rgb) < 0);
  CHECK(strcmp(lt_errmsg(), "/nonexistent-dir/x.png: cannot create a file there: No such file or directory") == 0);
  CHECK(lt_png_write(path, 0, 2, im.rgb) < 0 && strstr(lt_errmsg(), path) && strstr(lt_errmsg(), "got 0x2"));
  CHECK(lt_png_write_channels(path, 2, 2, 2, im.rgb) < 0 && strstr(lt_errmsg(), "channels must be 1 or 3"));
  char sub[160];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  CHECK(mkdir(sub, 0700) == 0);
  CHECK(lt_png_write(sub, 2, 2, im.rgb) < 0 && strstr(lt_errmsg(), "cannot rename into place"));
  CHECK(temp_files_in(dir, "sub") == 0);
  rmdir(sub);
  CHECK(lt_png_read("/nonexistent-dir/x.png", &w, &h, &c, &mine) < 0 && mine == NULL);
  CHECK(strstr(lt_errmsg(), "/nonexistent-dir/x.png: cannot open") != NULL);
  FILE *f = fopen(path, "wb");
  fputs("GIF89a not a png", f);
  fclose(f);
  CHECK(lt_png_read(path, &w, &h, &c, &mine) < 0 && strstr(lt_errmsg(), "not a PNG file"));
  /* truncated inside the image data */
  CHECK(lt_png_write(path, im.w, im.h, im.rgb) == 0);
  CHECK(truncate(path, 50) == 0);
  CHECK(lt_png_read(path, &w, &h, &c, &mine) < 0 && mine == NULL && strstr(lt_errmsg(), "cannot read PNG"));
  unlink(path);
  rmdir(dir);
  lt_image_free(&im);
}

int main(void) {
  test_canvas();
  test_font();
  test_png();
  return CHECK_REPORT();
}
