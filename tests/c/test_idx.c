/* test_idx.c -- the IDX reader without Lua: every type from memory, plain
 * files and gzip files written here (zlib's writer), scale, messages with
 * their byte offsets, truncation at every byte, trailing bytes, corrupt and
 * cut gzip streams, and a replay of the fuzz seeds in tests/fuzz/corpus/idx/
 * and, through fuzz_idx_gz.c's checks, tests/fuzz/corpus/idx_gz/. */
#include "../fuzz/fuzz_idx_gz.c"
#include "check.h"
#include "idx.h"
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char dir[256]; /* a fresh temporary directory */

static const char *tmp(const char *name) {
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}

/* header 00 00 type ndim, sizes, then the payload; *len is the total */
static unsigned char *image(int type, int ndim, const uint32_t *dims, const void *payload, size_t plen, size_t *len) {
  unsigned char *b = malloc(4 + 4 * (size_t)ndim + plen + 1);
  b[0] = b[1] = 0, b[2] = (unsigned char)type, b[3] = (unsigned char)ndim;
  for (int d = 0; d < ndim; d++)
    for (int k = 0; k < 4; k++) b[4 + 4 * d + k] = (unsigned char)(dims[d] >> (24 - 8 * k));
  if (plen) memcpy(b + 4 + 4 * ndim, payload, plen);
  *len = 4 + 4 * (size_t)ndim + plen;
  return b;
}

static void write_plain(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  if (n) fwrite(b, 1, n, f);
  fclose(f);
}

static void write_gz(const char *path, const void *b, size_t n) {
  gzFile f = gzopen(path, "wb");
  if (n) gzwrite(f, b, (unsigned)n);
  gzclose(f);
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n + 1);
  *len = fread(b, 1, (size_t)n, f);
  fclose(f);
  return b;
}

static int has(const char *needle) {
  if (strstr(lt_errmsg(), needle)) return 1;
  fprintf(stderr, "  message: %s\n  wanted:  %s\n", lt_errmsg(), needle);
  return 0;
}

static double at(lt_tensor *t, int64_t i) {
  switch (t->dtype) {
  case LT_INT64: return (double)((int64_t *)lt_data(t))[i];
  case LT_FLOAT32: return ((float *)lt_data(t))[i];
  default: return ((double *)lt_data(t))[i];
  }
}

/* ---- values of every type, from memory, plain files and gzip files -------- */
static void test_types(void) {
  struct { int type; unsigned char payload[16]; size_t plen; lt_dtype dt; double want[2]; } cases[] = {
    {0x08, {0, 255}, 2, LT_INT64, {0, 255}},
    {0x09, {0x80, 0x7f}, 2, LT_INT64, {-128, 127}},
    {0x0B, {0xff, 0xfe, 0x01, 0x2c}, 4, LT_INT64, {-2, 300}},
    {0x0C, {0xff, 0xfe, 0xee, 0x90, 0x7f, 0xff, 0xff, 0xff}, 8, LT_INT64, {-70000, 2147483647}},
    {0x0D, {0x3f, 0xc0, 0, 0, 0xbe, 0x80, 0, 0}, 8, LT_FLOAT32, {1.5, -0.25}},
    {0x0E, {0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, 0xc0, 0, 0, 0, 0, 0, 0, 0}, 16, LT_FLOAT64, {3.141592653589793, -2}},
  };
  uint32_t dims[1] = {2};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    size_t len;
    unsigned char *b = image(cases[c].type, 1, dims, cases[c].payload, cases[c].plen, &len);
    write_plain(tmp("t.idx"), b, len);
    write_gz(tmp("t.idx.gz"), b, len);
    lt_tensor *r[3] = {lt_parse_idx(b, len, "mem", NULL), lt_read_idx(tmp("t.idx"), NULL), lt_read_idx(tmp("t.idx.gz"), NULL)};
    for (int k = 0; k < 3; k++) {
      CHECK(r[k] && r[k]->dtype == cases[c].dt && r[k]->ndim == 1 && r[k]->shape[0] == 2);
      if (!r[k]) continue;
      CHECK(at(r[k], 0) == cases[c].want[0] && at(r[k], 1) == cases[c].want[1]);
      lt_release(r[k]);
    }
    /* with scale: float32, each value times the scale */
    lt_idx_opts half = {0.5};
    lt_tensor *s = lt_read_idx(tmp("t.idx.gz"), &half);
    CHECK(s && s->dtype == LT_FLOAT32);
    if (s) CHECK(at(s, 0) == (float)(cases[c].want[0] * 0.5) && at(s, 1) == (float)(cases[c].want[1] * 0.5));
    lt_release(s);
    free(b);
  }
}

/* every byte value / 255 is the float32 division x / 255.0f (rounded once) */
static void test_scale_bytes(void) {
  unsigned char all[256];
  for (int v = 0; v < 256; v++) all[v] = (unsigned char)v;
  uint32_t dims[2] = {16, 16};
  size_t len;
  unsigned char *b = image(0x08, 2, dims, all, 256, &len);
  lt_idx_opts o = {1.0 / 255};
  lt_tensor *t = lt_parse_idx(b, len, "mem", &o);
  CHECK(t && t->dtype == LT_FLOAT32 && t->shape[0] == 16 && t->shape[1] == 16);
  int exact = 1;
  for (int v = 0; t && v < 256; v++) exact &= ((float *)lt_data(t))[v] == (float)v / 255.0f;
  CHECK(exact);
  lt_release(t);
  free(b);
}

/* ---- the header and size checks, same message from every reader ----------- */
static void expect(const unsigned char *b, size_t len, const char *msg) {
  CHECK(!lt_parse_idx(b, len, "mem", NULL) && has("mem: ") && has(msg));
  write_plain(tmp("e.idx"), b, len);
  CHECK(!lt_read_idx(tmp("e.idx"), NULL) && has(tmp("e.idx")) && has(msg));
  write_gz(tmp("e.idx.gz"), b, len);
  CHECK(!lt_read_idx(tmp("e.idx.gz"), NULL) && has(tmp("e.idx.gz")) && has(msg));
}

static void test_errors(void) {
  uint32_t d23[2] = {2, 3}, d2[1] = {2}, big[3] = {65535, 65535, 65535}, wrap[3] = {1u << 18, 1u << 18, 1u << 28};
  unsigned char six[6] = {1, 2, 3, 4, 5, 6};
  size_t len;
  unsigned char *b = image(0x08, 2, d23, six, 3, &len);
  expect(b, len, "file is truncated in the data: it ends at byte offset 15, but the 12-byte header declares 6 bytes of data (18 in all)");
  free(b);
  b = image(0x08, 1, d2, six, 3, &len);
  expect(b, len, "file has more data than its header declares: extra bytes from byte offset 10 on");
  free(b);
  b = image(0x07, 1, d2, six, 2, &len);
  expect(b, len, "not an IDX file: unknown type code 0x07 at byte offset 2");
  free(b);
  b = image(0x08, 0, d2, six, 0, &len);
  expect(b, len, "IDX header says 0 dimensions at byte offset 3 (expected 1 to");
  free(b);
  b = image(0x08, 3, big, six, 0, &len);
  expect(b, len, "too many elements (more than 2^36) by dimension 3 at byte offset 12");
  free(b);
  b = image(0x08, 3, wrap, six, 0, &len);
  expect(b, len, "too many elements (more than 2^36) by dimension 3 at byte offset 12");
  free(b);
  expect((const unsigned char *)"PK\3\4xyz", 7, "not an IDX file: bad magic number 50 4b 03 04 at byte offset 0");
  expect((const unsigned char *)"", 0, "truncated in the header: it ends at byte offset 0, the header needs 4 bytes");
  CHECK(!lt_read_idx(tmp("missing.idx"), NULL) && has("missing.idx: No such file or directory"));
  CHECK(!lt_read_idx(dir, NULL) && has("is a directory"));
}

/* every prefix of a good file is refused as truncated, at its own length */
static void test_truncation(void) {
  unsigned char px[12];
  for (int i = 0; i < 12; i++) px[i] = (unsigned char)(i * 20);
  uint32_t dims[3] = {1, 3, 4};
  size_t len;
  unsigned char *b = image(0x08, 3, dims, px, 12, &len);
  int ok = 1;
  for (size_t cut = 0; cut < len; cut++) {
    char want[64];
    snprintf(want, sizeof want, "ends at byte offset %zu,", cut);
    ok &= !lt_parse_idx(b, cut, "mem", NULL) && has("truncated") && has(want);
    write_gz(tmp("c.gz"), b, cut);
    ok &= !lt_read_idx(tmp("c.gz"), NULL) && has("truncated") && has(want);
  }
  CHECK(ok);
  lt_tensor *t = lt_parse_idx(b, len, "mem", NULL);
  CHECK(t && t->ndim == 3 && t->shape[2] == 4 && at(t, 11) == 220);
  lt_release(t);
  free(b);
}

/* ---- damaged gzip streams -------------------------------------------------- */
static void test_gzip_damage(void) {
  unsigned char px[4000];
  for (int i = 0; i < 4000; i++) px[i] = (unsigned char)(i * 37 + i / 7);
  uint32_t dims[1] = {4000};
  size_t len, glen;
  unsigned char *b = image(0x08, 1, dims, px, 4000, &len);
  write_gz(tmp("g.gz"), b, len);
  unsigned char *g = slurp(tmp("g.gz"), &glen);
  unsigned char *d = malloc(glen);
  memcpy(d, g, glen);
  d[glen / 2] ^= 0xff, d[glen / 2 + 1] ^= 0xff;
  write_plain(tmp("g.gz"), d, glen);
  CHECK(!lt_read_idx(tmp("g.gz"), NULL) && has("g.gz: corrupt gzip stream (") && has("of the compressed file ("));
  write_plain(tmp("g.gz"), g, glen - 20); /* cut short */
  CHECK(!lt_read_idx(tmp("g.gz"), NULL) && has("corrupt gzip stream (unexpected end of file)"));
  memcpy(d, g, glen);
  d[glen - 7] ^= 1; /* the CRC */
  write_plain(tmp("g.gz"), d, glen);
  CHECK(!lt_read_idx(tmp("g.gz"), NULL) && has("corrupt gzip stream (incorrect data check)"));
  /* a huge size claimed by a tiny gzip file: found truncated, nothing allocated */
  uint32_t huge[1] = {1u << 29};
  free(b);
  b = image(0x0E, 1, huge, px, 3, &len);
  write_gz(tmp("g.gz"), b, len);
  CHECK(!lt_read_idx(tmp("g.gz"), NULL) && has("ends at byte offset 11, but the 8-byte header declares 4294967296 bytes"));
  free(b), free(g), free(d);
}

/* ---- the fuzz seeds: each reads or fails with the file named -------------- */
static void test_corpus(void) {
  DIR *dp = opendir("tests/fuzz/corpus/idx");
  CHECK(dp != NULL);
  if (!dp) return;
  int n = 0, ok = 1;
  struct dirent *e;
  while ((e = readdir(dp))) {
    if (e->d_name[0] == '.') continue;
    char p[600];
    snprintf(p, sizeof p, "tests/fuzz/corpus/idx/%s", e->d_name);
    size_t len;
    unsigned char *b = slurp(p, &len);
    lt_tensor *m = lt_parse_idx(b, len, "mem", NULL);
    if (!m) ok &= strncmp(lt_errmsg(), "mem: ", 5) == 0;
    lt_tensor *f = lt_read_idx(p, NULL);
    if (!f) ok &= strncmp(lt_errmsg(), p, strlen(p)) == 0;
    if (len < 2 || b[0] != 0x1f || b[1] != 0x8b) ok &= !m == !f; /* plain: both agree */
    lt_release(m), lt_release(f);
    free(b);
    n++;
  }
  closedir(dp);
  CHECK(ok && n >= 10);
}

/* ---- the gzip fuzz seeds, through the fuzz target's checks ---------------- */
static void test_corpus_gz(void) {
  DIR *dp = opendir("tests/fuzz/corpus/idx_gz");
  CHECK(dp != NULL);
  if (!dp) return;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    if (e->d_name[0] == '.') continue;
    char p[600];
    snprintf(p, sizeof p, "tests/fuzz/corpus/idx_gz/%s", e->d_name);
    size_t len;
    unsigned char *b = slurp(p, &len);
    LLVMFuzzerTestOneInput(b, len); /* aborts on a failed check */
    free(b);
    n++;
  }
  closedir(dp);
  CHECK(n >= 10);
}

int main(void) {
  snprintf(dir, sizeof dir, "%s/lunet-test-idx-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
  test_types();
  test_scale_bytes();
  test_errors();
  test_truncation();
  test_gzip_damage();
  test_corpus();
  test_corpus_gz();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return CHECK_REPORT();
}
