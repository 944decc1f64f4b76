/* test_safetensors.c -- the safetensors reader and writer without Lua:
 * byte-exact fixtures laid out as the reference writer lays them out, every
 * dtype, views, every kind of malformed header, truncation at every byte, bit
 * flips, and atomic replacement when a write fails half-way. */
#include "check.h"
#include "safetensors.h"
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256]; /* a fresh temporary directory */

/* ---- helpers ---------------------------------------------------------------- */
/* a file image: 8-byte length, the header text as given, then the data */
static unsigned char *image(const char *json, const void *data, size_t dlen, size_t *len) {
  size_t h = strlen(json);
  unsigned char *b = malloc(8 + h + dlen + 1);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
  memcpy(b + 8, json, h);
  if (dlen) memcpy(b + 8 + h, data, dlen);
  *len = 8 + h + dlen;
  return b;
}

static lt_st_file *parse_json(const char *json, const void *data, size_t dlen) {
  size_t len;
  unsigned char *b = image(json, data, dlen, &len);
  lt_st_file *f = lt_st_parse(b, len, "t.safetensors");
  free(b);
  return f;
}

/* the named tensor of f, or NULL */
static lt_tensor *find(const lt_st_file *f, const char *name) {
  for (int i = 0; i < f->ntensors; i++)
    if (strcmp(f->names[i], name) == 0) return f->tensors[i];
  return NULL;
}

static const char *meta(const lt_st_file *f, const char *key) {
  for (int i = 0; i < f->nmeta; i++)
    if (strcmp(f->meta_keys[i], key) == 0) return f->meta_values[i];
  return NULL;
}

static lt_tensor *filled(lt_dtype dt, int ndim, const int64_t *shape, const double *v) {
  lt_tensor *t = lt_empty(dt, ndim, shape);
  int64_t n = lt_numel(t), idx[LT_MAX_DIM] = {0};
  for (int64_t i = 0; i < n; i++) {
    lt_set(t, idx, v[i]);
    for (int d = ndim - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
  return t;
}

/* a and b have the same dtype, shape and values (NaN equals NaN) */
static int same_tensor(lt_tensor *a, lt_tensor *b) {
  if (!a || !b || a->dtype != b->dtype || !lt_same_shape(a, b)) return 0;
  int64_t n = lt_numel(a), idx[LT_MAX_DIM] = {0};
  for (int64_t i = 0; i < n; i++) {
    if (a->dtype == LT_INT64) { if (lt_get_i64(a, idx) != lt_get_i64(b, idx)) return 0; }
    else {
      double x = lt_get(a, idx), y = lt_get(b, idx);
      if (!(x == y || (x != x && y != y))) return 0;
    }
    for (int d = a->ndim - 1; d >= 0; d--) { if (++idx[d] < a->shape[d]) break; idx[d] = 0; }
  }
  return 1;
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n + 1);
  *len = fread(b, 1, (size_t)n, f);
  fclose(f);
  return b;
}

static void spit(const char *path, const void *b, size_t len) {
  FILE *f = fopen(path, "wb");
  fwrite(b, 1, len, f);
  fclose(f);
}

static char *in_dir(const char *name) {
  static char buf[512];
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}

static int count_dir_entries(void) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* ---- byte-exact fixtures ------------------------------------------------------ */
/* One F32 tensor, as the reference writer lays it out: 65 bytes of JSON
   padded with 7 spaces to 72, then 0..5 as little-endian floats. */
static const unsigned char fixture1[] =
    "\x48\0\0\0\0\0\0\0"
    "{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}       "
    "\0\0\0\0" "\0\0\x80\x3f" "\0\0\0\x40" "\0\0\x40\x40" "\0\0\x80\x40" "\0\0\xa0\x40";

/* Metadata (keys sorted) and three dtypes: I64 tensors first, then F64, then
   F32, by name within a dtype; 270 bytes of JSON padded to 272 (0x110). */
static const unsigned char fixture2[] =
    "\x10\x01\0\0\0\0\0\0"
    "{\"__metadata__\":{\"epoch\":\"3\",\"format\":\"pt\"},"
    "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
    "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[16,24]},"
    "\"mean\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[24,40]},"
    "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]}}  "
    "\xff\xff\xff\xff\xff\xff\xff\xff" "\0\0\0\0\0\x01\0\0"   /* ids: -1, 2^40 */
    "\x07\0\0\0\0\0\0\0"                                      /* step: 7 */
    "\0\0\0\0\0\0\xd0\x3f" "\x9c\x75\x00\x88\x3c\xe4\x37\xfe" /* mean: 0.25, -1e300 */
    "\0\0\xc0\x3f" "\0\0\0\xc0";                              /* w: 1.5, -2 */

static void test_reads_reference_layout(void) {
  lt_st_file *f = lt_st_parse(fixture1, sizeof fixture1 - 1, "fixture1");
  CHECK(f && f->ntensors == 1 && f->nmeta == 0);
  lt_tensor *t = f ? find(f, "fc.bias") : NULL;
  CHECK(t && t->dtype == LT_FLOAT32 && t->ndim == 3 && t->shape[0] == 1 && t->shape[2] == 3);
  if (t) CHECK(lt_get(t, (int64_t[]){0, 1, 2}) == 5);
  lt_st_free(f);

  f = lt_st_parse(fixture2, sizeof fixture2 - 1, "fixture2");
  CHECK(f && f->ntensors == 4 && f->nmeta == 2);
  if (!f) return;
  CHECK(meta(f, "epoch") && strcmp(meta(f, "epoch"), "3") == 0);
  CHECK(meta(f, "format") && strcmp(meta(f, "format"), "pt") == 0);
  lt_tensor *ids = find(f, "ids"), *step = find(f, "step"), *mean = find(f, "mean"), *w = find(f, "w");
  CHECK(ids && ids->dtype == LT_INT64 && lt_get_i64(ids, (int64_t[]){0}) == -1 &&
        lt_get_i64(ids, (int64_t[]){1}) == (int64_t)1 << 40);
  CHECK(step && step->ndim == 0 && lt_get_i64(step, NULL) == 7);
  CHECK(mean && mean->dtype == LT_FLOAT64 && lt_get(mean, (int64_t[]){1}) == -1e300);
  CHECK(w && w->dtype == LT_FLOAT32 && lt_get(w, (int64_t[]){0}) == 1.5 && lt_get(w, (int64_t[]){1}) == -2);
  CHECK(strcmp(f->names[0], "ids") == 0 && strcmp(f->names[3], "w") == 0); /* file order */
  lt_st_free(f);
}

static void test_writes_reference_layout(void) {
  lt_tensor *t = filled(LT_FLOAT32, 3, (int64_t[]){1, 2, 3}, (double[]){0, 1, 2, 3, 4, 5});
  lt_st_file ck = {1, (const char *[]){"fc.bias"}, (lt_tensor *[]){t}, 0, NULL, NULL};
  size_t len = 0;
  unsigned char *b = lt_st_serialize(&ck, "out", &len);
  CHECK(b && len == sizeof fixture1 - 1 && memcmp(b, fixture1, len) == 0);
  free(b);
  /* the same through a file */
  CHECK(lt_st_write(in_dir("f1.safetensors"), &ck) == 0);
  b = slurp(in_dir("f1.safetensors"), &len);
  CHECK(b && len == sizeof fixture1 - 1 && memcmp(b, fixture1, len) == 0);
  free(b);
  lt_release(t);

  /* given in another order, written in the reference order */
  lt_tensor *w = filled(LT_FLOAT32, 1, (int64_t[]){2}, (double[]){1.5, -2});
  lt_tensor *mean = filled(LT_FLOAT64, 1, (int64_t[]){2}, (double[]){0.25, -1e300});
  lt_tensor *ids = lt_empty(LT_INT64, 1, (int64_t[]){2});
  lt_set_i64(ids, (int64_t[]){0}, -1);
  lt_set_i64(ids, (int64_t[]){1}, (int64_t)1 << 40);
  lt_tensor *step = lt_empty(LT_INT64, 0, NULL);
  lt_set_i64(step, NULL, 7);
  lt_st_file ck2 = {4, (const char *[]){"w", "step", "mean", "ids"}, (lt_tensor *[]){w, step, mean, ids},
                    2, (const char *[]){"format", "epoch"}, (const char *[]){"pt", "3"}};
  b = lt_st_serialize(&ck2, "out", &len);
  CHECK(b && len == sizeof fixture2 - 1 && memcmp(b, fixture2, len) == 0);
  free(b);
  lt_release(w), lt_release(mean), lt_release(ids), lt_release(step);

  /* nothing at all: "{}" and six spaces, as the reference writes it */
  lt_st_file none = {0, NULL, NULL, 0, NULL, NULL};
  b = lt_st_serialize(&none, "out", &len);
  CHECK(b && len == 16 && memcmp(b, "\x08\0\0\0\0\0\0\0{}      ", 16) == 0);
  free(b);
}

/* ---- round trips ---------------------------------------------------------------- */
static void roundtrip_check(lt_tensor *t, const char *what) {
  lt_st_file ck = {1, (const char *[]){"x"}, (lt_tensor *[]){t}, 0, NULL, NULL};
  size_t len = 0;
  unsigned char *b = lt_st_serialize(&ck, "out", &len);
  CHECK(b != NULL);
  CHECK(len % 8 == 0 || lt_numel(t) * 4 % 8 != 0); /* data starts 8-aligned */
  lt_st_file *f = b ? lt_st_parse(b, len, "rt") : NULL;
  lt_tensor *back = f ? find(f, "x") : NULL;
  if (!same_tensor(back, t)) fprintf(stderr, "round trip of %s differs\n", what);
  CHECK(same_tensor(back, t));
  CHECK(back == NULL || lt_is_contiguous(back));
  lt_st_free(f);
  free(b);
}

static void test_roundtrips(void) {
  double v[24];
  for (int i = 0; i < 24; i++) v[i] = (i - 11) * 1.25;
  for (lt_dtype dt = LT_FLOAT32; dt <= LT_INT64; dt++) {
    lt_tensor *t = filled(dt, 3, (int64_t[]){2, 3, 4}, v);
    roundtrip_check(t, "a 2x3x4 tensor");
    lt_tensor *tt = lt_transpose(t, 0, 2); /* non-contiguous */
    CHECK(!lt_is_contiguous(tt));
    roundtrip_check(tt, "a transposed view");
    lt_tensor *nar = lt_narrow(t, 1, 1, 2); /* an offset into the storage */
    roundtrip_check(nar, "a narrowed view");
    lt_tensor *row = lt_select(t, 0, 1), *one = lt_narrow(row, 0, 2, 1);
    lt_tensor *ex = lt_expand(one, 2, (int64_t[]){3, 4}); /* stride 0 */
    CHECK(ex && ex->stride[0] == 0);
    roundtrip_check(ex, "an expanded view");
    lt_release(ex), lt_release(one);
    lt_tensor *s = filled(dt, 0, NULL, (double[]){-3});
    roundtrip_check(s, "a 0-dim tensor");
    lt_tensor *e = lt_empty(dt, 2, (int64_t[]){0, 5});
    roundtrip_check(e, "an empty tensor");
    lt_tensor *e1 = lt_empty(dt, 1, (int64_t[]){0});
    roundtrip_check(e1, "a 0-length vector");
    lt_release(t), lt_release(tt), lt_release(nar), lt_release(row), lt_release(s), lt_release(e), lt_release(e1);
  }
  /* special values survive bit for bit */
  lt_tensor *f = filled(LT_FLOAT32, 1, (int64_t[]){5}, (double[]){INFINITY, -INFINITY, NAN, -0.0, 1e-40});
  roundtrip_check(f, "float32 specials");
  lt_release(f);
  lt_tensor *i = lt_empty(LT_INT64, 1, (int64_t[]){2});
  lt_set_i64(i, (int64_t[]){0}, INT64_MIN);
  lt_set_i64(i, (int64_t[]){1}, INT64_MAX);
  roundtrip_check(i, "int64 extremes");
  lt_release(i);
}

static void test_names_are_escaped_like_serde(void) {
  lt_tensor *t = lt_zeros(LT_FLOAT32, 0, NULL);
  const char *name = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9";
  lt_st_file ck = {1, (const char *[]){name}, (lt_tensor *[]){t}, 1, (const char *[]){"k\x02"},
                   (const char *[]){"\xe2\x82\xac"}};
  size_t len;
  unsigned char *b = lt_st_serialize(&ck, "out", &len);
  const char *want = "{\"__metadata__\":{\"k\\u0002\":\"\xe2\x82\xac\"},"
                     "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\":"
                     "{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}";
  CHECK(b && len > 8 + strlen(want) && memcmp(b + 8, want, strlen(want)) == 0);
  lt_st_file *f = b ? lt_st_parse(b, len, "esc") : NULL;
  CHECK(f && f->ntensors == 1 && strcmp(f->names[0], name) == 0);
  CHECK(f && meta(f, "k\x02") && strcmp(meta(f, "k\x02"), "\xe2\x82\xac") == 0);
  lt_st_free(f);
  free(b);
  /* \u escapes, a surrogate pair, and an escaped slash read back as UTF-8 */
  f = parse_json("{\"\\u00e9\\ud83d\\ude00\\/\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "\x05", 1);
  CHECK(f && strcmp(f->names[0], "\xc3\xa9\xf0\x9f\x98\x80/") == 0);
  lt_st_free(f);
  lt_release(t);
}

/* ---- dtypes that load by conversion ------------------------------------------- */
static void test_converted_dtypes(void) {
  /* F16: 1, -2, 65504, smallest subnormal, largest subnormal, inf, -inf, NaN, -0 */
  const unsigned char f16[] = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0xff, 0x03,
                               0x00, 0x7c, 0x00, 0xfc, 0x00, 0x7e, 0x00, 0x80};
  lt_st_file *f = parse_json("{\"h\":{\"dtype\":\"F16\",\"shape\":[9],\"data_offsets\":[0,18]}}", f16, sizeof f16);
  lt_tensor *t = f ? find(f, "h") : NULL;
  CHECK(t && t->dtype == LT_FLOAT32);
  if (t) {
    const float *x = lt_data(t);
    CHECK(x[0] == 1 && x[1] == -2 && x[2] == 65504);
    CHECK(x[3] == ldexpf(1, -24) && x[4] == ldexpf(1023, -24));
    CHECK(isinf(x[5]) && x[5] > 0 && isinf(x[6]) && x[6] < 0 && isnan(x[7]));
    CHECK(x[8] == 0 && signbit(x[8]));
  }
  lt_st_free(f);
  /* BF16: 1, -5, inf, 3.140625 */
  const unsigned char bf16[] = {0x80, 0x3f, 0xa0, 0xc0, 0x80, 0x7f, 0x49, 0x40};
  f = parse_json("{\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", bf16, sizeof bf16);
  t = f ? find(f, "b") : NULL;
  CHECK(t && t->dtype == LT_FLOAT32 && t->shape[0] == 2);
  if (t) {
    const float *x = lt_data(t);
    CHECK(x[0] == 1 && x[1] == -5 && isinf(x[2]) && x[3] == 3.140625f);
  }
  lt_st_free(f);
  /* integers widen to int64 with their sign (or not) */
  const unsigned char ints[] = {
      0x80, 0x7f,                                     /* I8: -128, 127 */
      0x00, 0xff,                                     /* U8: 0, 255 */
      0x00, 0x80, 0xff, 0x7f,                         /* I16: -32768, 32767 */
      0xff, 0xff,                                     /* U16: 65535 */
      0x00, 0x00, 0x00, 0x80, 0xfe, 0xff, 0xff, 0xff, /* I32: -2^31, -2 */
      0xff, 0xff, 0xff, 0xff,                         /* U32: 2^32-1 */
      0x00, 0x01, 0x02,                               /* BOOL: 0, 1, 1 */
  };
  f = parse_json("{\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                 "\"u8\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
                 "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[4,8]},"
                 "\"u16\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[8,10]},"
                 "\"i32\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[10,18]},"
                 "\"u32\":{\"dtype\":\"U32\",\"shape\":[],\"data_offsets\":[18,22]},"
                 "\"ok\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[22,25]}}",
                 ints, sizeof ints);
  CHECK(f && f->ntensors == 7);
  if (f) {
    int64_t want[][3] = {{-128, 127}, {0, 255}, {-32768, 32767}, {65535}, {INT32_MIN, -2}, {4294967295}, {0, 1, 1}};
    const char *names[] = {"i8", "u8", "i16", "u16", "i32", "u32", "ok"};
    for (int k = 0; k < 7; k++) {
      lt_tensor *x = find(f, names[k]);
      CHECK(x && x->dtype == LT_INT64);
      if (!x) continue;
      const int64_t *d = lt_data(x);
      for (int64_t j = 0; j < lt_numel(x); j++) CHECK(d[j] == want[k][j]);
    }
  }
  lt_st_free(f);
}

/* ---- malformed files ------------------------------------------------------------ */
/* parsing json + data must fail with a message containing `want` (and the name) */
static void rejects(const char *json, const char *data, size_t dlen, const char *want) {
  lt_st_file *f = parse_json(json, data, dlen);
  int ok = f == NULL && strstr(lt_errmsg(), want) != NULL && strncmp(lt_errmsg(), "t.safetensors: ", 15) == 0;
  if (!ok) fprintf(stderr, "  header %s\n  expected an error with \"%s\", got %s\n", json, want, f ? "success" : lt_errmsg());
  CHECK(ok);
  lt_st_free(f);
}

#define T4(name, dt, shape, b, e) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_rejects_malformed_headers(void) {
  const char z[64] = {0};
  /* the example in the docs, word for word */
  rejects("{" T4("fc.weight", "F32", "[4,8]", 0, 100) "}", z, 0,
          "t.safetensors: tensor 'fc.weight': data_offsets [0, 100] run past the end of the data section (0 bytes): "
          "the file is truncated or its header is wrong");
  {
    char *big = calloc(1, 128);
    rejects("{" T4("fc.weight", "F32", "[4,8]", 0, 100) "}", big, 128,
            "t.safetensors: tensor 'fc.weight': data_offsets [0, 100] do not match F32 of shape 4x8 (128 bytes)");
    free(big);
  }
  rejects("{" T4("s", "F64", "[]", 0, 4) "}", z, 4, "do not match a F64 scalar (8 bytes)");
  /* JSON syntax */
  rejects("", z, 0, "not a JSON object");
  rejects("[]", z, 0, "not a JSON object");
  rejects("{", z, 0, "ends early");
  rejects("{\"a\" {}}", z, 0, "expected ':'");
  rejects("{\"a\":{\"dtype\":\"F32\",}}", z, 0, "at byte 28: expected a string");
  rejects("{\"a\":{5:1}}", z, 0, "a field name must be a string");
  rejects("{" T4("a", "F32", "[1]", 0, 4) ",}", z, 4, "malformed JSON header at byte 62: expected a string");
  rejects("{[]:2}", z, 0, "a tensor name must be a string");
  rejects("{" T4("a", "F32", "[1]", 0, 4) " " T4("b", "F32", "[1]", 4, 8) "}", z, 8, "expected ',' or '}'");
  rejects("{\"a", z, 0, "unterminated string");
  rejects("{\"a\\q\":{}}", z, 0, "invalid escape");
  rejects("{\"a\\u12\":{}}", z, 0, "4 hex digits");
  rejects("{\"a\\ud800\":{}}", z, 0, "unpaired surrogate");
  rejects("{\"a\\udc00x\":{}}", z, 0, "unpaired surrogate");
  rejects("{\"a\\u0000\":{}}", z, 0, "\\u0000");
  rejects("{\"a\tb\":{}}", z, 0, "control character");
  rejects("{\"a\xff\":{}}", z, 0, "invalid UTF-8");
  rejects("{\"a\xc0\x80\":{}}", z, 0, "invalid UTF-8");        /* overlong */
  rejects("{\"a\xed\xa0\x80\":{}}", z, 0, "invalid UTF-8");    /* a surrogate in UTF-8 */
  rejects("{\"a\xf4\x90\x80\x80\":{}}", z, 0, "invalid UTF-8"); /* past U+10FFFF */
  rejects("{\"a\xe2\x82\":{}}", z, 0, "invalid UTF-8");        /* cut short */
  rejects("{" T4("a", "F32", "[01]", 0, 4) "}", z, 4, "leading zero");
  rejects("{" T4("a", "F32", "[-1]", 0, 4) "}", z, 4, "shape must be non-negative");
  rejects("{" T4("a", "F32", "[1.0]", 0, 4) "}", z, 4, "shape must be integers");
  rejects("{" T4("a", "F32", "[1e0]", 0, 4) "}", z, 4, "shape must be integers");
  rejects("{" T4("a", "F32", "[1,]", 0, 4) "}", z, 4, "at byte 39: expected a number");
  rejects("{" T4("a", "F32", "[1 2]", 0, 4) "}", z, 4, "expected ',' or ']'");
  rejects("{" T4("a", "F32", "1", 0, 4) "}", z, 4, "shape must be a list");
  rejects("{" T4("a", "F32", "[9223372036854775808]", 0, 4) "}", z, 4, "too large");
  rejects("{\"a\":[]}", z, 0, "tensor 'a': must be an object");
  rejects("{\"a\":{}}", z, 0, "tensor 'a': missing dtype");
  rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", z, 0, "missing data_offsets");
  rejects("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", z, 4, "missing shape");
  rejects("{\"a\":{\"dtype\":5}}", z, 0, "dtype must be a string");
  rejects("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", z, 0, "'dtype' appears twice");
  rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"shape\":[]}}", z, 0, "'shape' appears twice");
  rejects("{\"a\":{\"dtype\":\"F32\",\"extra\":1}}", z, 0, "unknown field 'extra'");
  rejects("{" T4("a", "F33", "[1]", 0, 4) "}", z, 4, "unknown dtype 'F33'");
  rejects("{" T4("a", "U64", "[1]", 0, 8) "}", z, 8, "U64 is not supported by lunet (it reads F32, F64");
  rejects("{" T4("a", "C64", "[1]", 0, 8) "}", z, 8, "C64 is not supported");
  rejects("{" T4("a", "F4", "[2]", 0, 1) "}", z, 1, "F4 is not supported");
  rejects("{" T4("a", "F8_E4M3", "[1]", 0, 1) "}", z, 1, "F8_E4M3 is not supported");
  rejects("{" T4("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", z, 4, "more than 8 dimensions");
  rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", z, 4, "two integers");
  rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", z, 4, "two integers");
  rejects("{" T4("a", "F32", "[1]", 0, 4) "}x", z, 4, "bytes after its JSON object");
  { /* NUL padding is not JSON whitespace */
    const char hdr[] = "{" T4("a", "F32", "[1]", 0, 4) "}\0\0\0";
    unsigned char b[128] = {sizeof hdr - 1};
    memcpy(b + 8, hdr, sizeof hdr - 1);
    CHECK(lt_st_parse(b, 8 + sizeof hdr - 1 + 4, "nul") == NULL && strstr(lt_errmsg(), "bytes after its JSON object"));
  }
  rejects("{" T4("a", "F32", "[1]", 0, 4) "}}", z, 4, "bytes after its JSON object");
  /* shapes, offsets and layout */
  rejects("{" T4("a", "F32", "[4294967296,4294967296]", 0, 4) "}", z, 4, "the product overflows");
  rejects("{" T4("a", "F32", "[0,4294967296,4294967296]", 0, 0) "}", z, 0, "the product overflows");
  rejects("{" T4("a", "F32", "[1]", 4, 0) "}", z, 4, "end before they begin");
  rejects("{" T4("a", "F32", "[1]", 0, 4) "," T4("b", "F32", "[1]", 2, 6) "}", z, 8, "overlap");
  rejects("{" T4("a", "F32", "[1]", 0, 4) "," T4("b", "F32", "[1]", 0, 4) "}", z, 4, "overlap");
  rejects("{" T4("a", "F32", "[2]", 0, 8) "," T4("e", "F32", "[0]", 4, 4) "}", z, 8, "overlap");
  rejects("{" T4("a", "F32", "[1]", 0, 4) "," T4("b", "F32", "[1]", 8, 12) "}", z, 12, "bytes 4 to 8 of the data section belong to no tensor");
  rejects("{" T4("a", "F32", "[1]", 4, 8) "}", z, 8, "bytes 0 to 4");
  rejects("{" T4("a", "F32", "[1]", 0, 4) "}", z, 5, "1 bytes after the last tensor");
  rejects("{}", z, 3, "3 bytes after the last tensor");
  rejects("{" T4("a", "F32", "[1]", 0, 4) "," T4("a", "F32", "[1]", 4, 8) "}", z, 8, "tensor name 'a' appears twice");
  /* metadata */
  rejects("{\"__metadata__\":{\"k\":1}}", z, 0, "__metadata__: every value must be a string");
  rejects("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", z, 0, "key 'k' appears twice");
  rejects("{\"__metadata__\":{},\"__metadata__\":{}}", z, 0, "__metadata__ appears twice");
  rejects("{\"__metadata__\":[]}", z, 0, "__metadata__: must be an object");
  rejects("{\"__metadata__\":nul}", z, 0, "__metadata__: must be an object");
  rejects("{\"__metadata__\":nullx}", z, 0, "expected ',' or '}' after an entry");
  rejects("{\"__metadata__\":{\"k\":\"v\"", z, 0, "ends early");
  /* and what is allowed: any JSON whitespace, empty tensors sharing an offset */
  lt_st_file *f = parse_json("\n{ \"e\" : {\"shape\" : [ 0 ] ,\t\"dtype\":\"F32\", \"data_offsets\":[0, 0]},"
                             "\"f\":{\"dtype\":\"I64\",\"shape\":[2,0],\"data_offsets\":[0,0]},"
                             "\"__metadata__\":{}}\r\n ", z, 0);
  CHECK(f && f->ntensors == 2 && f->nmeta == 0 && find(f, "f") && lt_numel(find(f, "f")) == 0);
  lt_st_free(f);
  f = parse_json("{\"__metadata__\":null}", z, 0); /* no metadata, as the reference reads it */
  CHECK(f && f->ntensors == 0 && f->nmeta == 0);
  lt_st_free(f);
}

static void test_rejects_bad_lengths(void) {
  const uint64_t lengths[] = {UINT64_MAX, (uint64_t)1 << 63, 100000001, 100000000, 99, 17};
  for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
    unsigned char b[24] = "........{}      ";
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)(lengths[i] >> (8 * k));
    lt_st_file *f = lt_st_parse(b, 16, "len");
    CHECK(f == NULL);
    CHECK(strstr(lt_errmsg(), lengths[i] > 100000000 ? "over the 100 MB limit" : "runs past the end of the file"));
    lt_st_free(f);
  }
  for (size_t n = 0; n < 8; n++) {
    CHECK(lt_st_parse("\0\0\0\0\0\0\0\0", n, "short") == NULL);
    CHECK(strstr(lt_errmsg(), "too short") != NULL);
  }
  lt_st_file *f = lt_st_parse("\0\0\0\0\0\0\0\0", 8, "zero"); /* an empty header is not JSON */
  CHECK(f == NULL && strstr(lt_errmsg(), "not a JSON object"));
}

/* every prefix of a valid file fails cleanly; every single-bit flip in its
   header either fails cleanly or reads as a valid file that round-trips */
static void test_truncation_and_bit_flips(void) {
  size_t len = sizeof fixture2 - 1, bad = 0, accepted = 0;
  for (size_t n = 0; n < len; n++) {
    unsigned char *b = malloc(n ? n : 1); /* exactly n bytes, so ASan sees any overread */
    memcpy(b, fixture2, n);
    lt_st_file *f = lt_st_parse(b, n, "cut.safetensors");
    if (f || strncmp(lt_errmsg(), "cut.safetensors: ", 17) != 0) bad++;
    lt_st_free(f);
    free(b);
  }
  CHECK(bad == 0);
  bad = 0;
  size_t hlen = 8 + 272;
  unsigned char *b = malloc(len);
  for (size_t bit = 0; bit < hlen * 8; bit++) {
    memcpy(b, fixture2, len);
    b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    lt_st_file *f = lt_st_parse(b, len, "flip.safetensors");
    if (!f) { if (strncmp(lt_errmsg(), "flip.safetensors: ", 18) != 0) bad++; continue; }
    accepted++; /* a flip inside a name or a value: still a consistent file */
    size_t len2;
    unsigned char *again = lt_st_serialize(f, "again", &len2);
    lt_st_file *g = again ? lt_st_parse(again, len2, "again") : NULL;
    if (!g || g->ntensors != f->ntensors) bad++;
    else
      for (int i = 0; i < f->ntensors; i++)
        if (!same_tensor(find(g, f->names[i]), f->tensors[i])) bad++;
    lt_st_free(g);
    free(again);
    lt_st_free(f);
  }
  free(b);
  CHECK(bad == 0);
  CHECK(accepted < hlen * 8 / 4); /* most flips are caught */
  printf("ok bit flips: %zu of %zu accepted as valid files\n", accepted, hlen * 8);
}

/* ---- files ------------------------------------------------------------------------ */
static void test_file_errors(void) {
  lt_st_file *f = lt_st_read(in_dir("missing.safetensors"));
  CHECK(f == NULL && strstr(lt_errmsg(), "missing.safetensors: No such file or directory"));
  f = lt_st_read(dir);
  CHECK(f == NULL && strstr(lt_errmsg(), "not a regular file"));
  spit(in_dir("trunc.safetensors"), fixture1, 50);
  f = lt_st_read(in_dir("trunc.safetensors"));
  CHECK(f == NULL && strstr(lt_errmsg(), "trunc.safetensors: header length 72 runs past the end of the file (50 bytes): the file is "
                                     "truncated or not a safetensors file"));
  spit(in_dir("good.safetensors"), fixture2, sizeof fixture2 - 1);
  f = lt_st_read(in_dir("good.safetensors"));
  CHECK(f && f->ntensors == 4 && meta(f, "epoch"));
  lt_st_free(f);

  lt_tensor *t = lt_zeros(LT_FLOAT32, 1, (int64_t[]){2});
  lt_st_file ck = {1, (const char *[]){"x"}, (lt_tensor *[]){t}, 0, NULL, NULL};
  CHECK(lt_st_write(in_dir("no/such/dir/x.safetensors"), &ck) < 0);
  CHECK(strstr(lt_errmsg(), "x.safetensors: cannot create a temporary file beside it: No such file or directory"));
  CHECK(lt_st_write(dir, &ck) < 0 && strstr(lt_errmsg(), "cannot replace it"));
  CHECK(lt_st_write("", &ck) < 0);
  /* writer-side checks come before any file is made */
  lt_st_file dup = {2, (const char *[]){"x", "x"}, (lt_tensor *[]){t, t}, 0, NULL, NULL};
  CHECK(lt_st_write(in_dir("dup.safetensors"), &dup) < 0 && strstr(lt_errmsg(), "tensor name 'x' appears twice"));
  lt_tensor *i = lt_zeros(LT_INT64, 1, (int64_t[]){2});
  lt_st_file dup2 = {2, (const char *[]){"x", "x"}, (lt_tensor *[]){t, i}, 0, NULL, NULL}; /* different dtypes */
  CHECK(lt_st_write(in_dir("dup.safetensors"), &dup2) < 0 && strstr(lt_errmsg(), "appears twice"));
  lt_st_file reserved = {1, (const char *[]){"__metadata__"}, (lt_tensor *[]){t}, 0, NULL, NULL};
  CHECK(lt_st_write(in_dir("dup.safetensors"), &reserved) < 0 && strstr(lt_errmsg(), "reserves it"));
  lt_st_file utf = {1, (const char *[]){"a\xff"}, (lt_tensor *[]){t}, 0, NULL, NULL};
  CHECK(lt_st_write(in_dir("dup.safetensors"), &utf) < 0 && strstr(lt_errmsg(), "not valid UTF-8"));
  lt_st_file mdup = {1, (const char *[]){"x"}, (lt_tensor *[]){t}, 2, (const char *[]){"k", "k"},
                     (const char *[]){"1", "2"}};
  CHECK(lt_st_write(in_dir("dup.safetensors"), &mdup) < 0 && strstr(lt_errmsg(), "metadata key 'k' appears twice"));
  lt_st_file mutf = {1, (const char *[]){"x"}, (lt_tensor *[]){t}, 1, (const char *[]){"k"}, (const char *[]){"\xc3"}};
  CHECK(lt_st_write(in_dir("dup.safetensors"), &mutf) < 0 && strstr(lt_errmsg(), "value of 'k' is not valid UTF-8"));
  CHECK(access(in_dir("dup.safetensors"), F_OK) != 0);
  lt_release(i);
  lt_release(t);
}

static void test_atomic_replace(void) {
  const char *path = in_dir("ckpt.safetensors");
  lt_tensor *small = filled(LT_FLOAT32, 1, (int64_t[]){3}, (double[]){1, 2, 3});
  lt_st_file ck = {1, (const char *[]){"w"}, (lt_tensor *[]){small}, 0, NULL, NULL};
  int before = count_dir_entries();
  CHECK(lt_st_write(path, &ck) == 0);
  struct stat st;
  mode_t mask = umask(0);
  umask(mask);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask)); /* not mkstemp's 0600 */
  size_t len0;
  unsigned char *old = slurp(path, &len0);

  /* a write that fails half-way (the file size limit stops it) leaves the old
     file as it was and no temporary file behind */
  lt_tensor *big = lt_zeros(LT_FLOAT64, 1, (int64_t[]){100000});
  lt_st_file ck2 = {1, (const char *[]){"w"}, (lt_tensor *[]){big}, 0, NULL, NULL};
  struct rlimit saved, lim;
  getrlimit(RLIMIT_FSIZE, &saved);
  lim = saved;
  lim.rlim_cur = 4096;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  int r = lt_st_write(path, &ck2);
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, old_handler);
  CHECK(r < 0 && strstr(lt_errmsg(), "ckpt.safetensors: cannot write: File too large"));
  size_t len1;
  unsigned char *now = slurp(path, &len1);
  CHECK(now && len1 == len0 && memcmp(now, old, len0) == 0);
  CHECK(count_dir_entries() == before + 1); /* the checkpoint, and no temporary file */
  free(now);

  /* a successful overwrite replaces it whole */
  CHECK(lt_st_write(path, &ck2) == 0);
  lt_st_file *f = lt_st_read(path);
  CHECK(f && same_tensor(find(f, "w"), big));
  lt_st_free(f);
  CHECK(count_dir_entries() == before + 1);
  free(old);
  lt_release(big);
  lt_release(small);
}

/* every seed of the fuzzer reads and writes back to the same bytes, or fails
   with the file named; a crash the fuzzer found is kept there as a regression */
static void test_fuzz_corpus(void) {
  const char *seeds = "tests/fuzz/corpus/safetensors";
  DIR *d = opendir(seeds);
  CHECK(d != NULL); /* the tests run from the repository's root */
  if (!d) return;
  int n = 0, bad = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", seeds, e->d_name);
    n++;
    lt_st_file *f = lt_st_read(p);
    if (!f) {
      if (strncmp(lt_errmsg(), p, strlen(p)) != 0) bad++;
      continue;
    }
    size_t len = 0, len2 = 0;
    unsigned char *b = lt_st_serialize(f, "again", &len);
    lt_st_file *g = b ? lt_st_parse(b, len, "again") : NULL;
    unsigned char *c = g ? lt_st_serialize(g, "again", &len2) : NULL;
    if (!c || len2 != len || memcmp(b, c, len) != 0) bad++;
    else
      for (int i = 0; i < f->ntensors; i++)
        if (!same_tensor(find(g, f->names[i]), f->tensors[i])) bad++;
    if (bad) fprintf(stderr, "  fuzz seed %s does not round-trip\n", p);
    free(c);
    lt_st_free(g);
    free(b);
    lt_st_free(f);
  }
  closedir(d);
  CHECK(n >= 8);
  CHECK(bad == 0);
}

/* a save removes the temporary files of its path that writers killed
   mid-write left behind (their pid is gone), and nothing else */
static void test_save_removes_stale_temps(void) {
  pid_t dead = fork(); /* a pid that is surely gone once reaped */
  if (dead == 0) _exit(0);
  CHECK(dead > 0);
  if (dead <= 0) return;
  waitpid(dead, NULL, 0);
  char stale[64], other[64], live[64];
  snprintf(stale, sizeof stale, "st.safetensors.tmp-%ld-3", (long)dead);
  snprintf(other, sizeof other, "other.safetensors.tmp-%ld-3", (long)dead); /* another checkpoint's */
  snprintf(live, sizeof live, "st.safetensors.tmp-%ld-0", (long)getppid());  /* a live writer's */
  const char *odd = "st.safetensors.tmp-12x-1";                             /* not a temporary name */
  const char *names[] = {stale, other, live, odd};
  for (int i = 0; i < 4; i++) spit(in_dir(names[i]), "partial", 7);
  lt_tensor *t = filled(LT_FLOAT32, 1, (int64_t[]){2}, (double[]){1, 2});
  lt_st_file ck = {1, (const char *[]){"w"}, (lt_tensor *[]){t}, 0, NULL, NULL};
  CHECK(lt_st_write(in_dir("st.safetensors"), &ck) == 0);
  CHECK(access(in_dir(stale), F_OK) != 0);
  CHECK(access(in_dir(other), F_OK) == 0);
  CHECK(access(in_dir(live), F_OK) == 0);
  CHECK(access(in_dir(odd), F_OK) == 0);
  lt_st_file *f = lt_st_read(in_dir("st.safetensors"));
  CHECK(f && same_tensor(find(f, "w"), t));
  lt_st_free(f);
  lt_release(t);
}

static void remove_dir(void) {
  DIR *d = opendir(dir);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(in_dir(e->d_name));
  closedir(d);
  rmdir(dir);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/lunet-st-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
  test_reads_reference_layout();
  test_writes_reference_layout();
  test_roundtrips();
  test_names_are_escaped_like_serde();
  test_converted_dtypes();
  test_rejects_malformed_headers();
  test_rejects_bad_lengths();
  test_truncation_and_bit_flips();
  test_file_errors();
  test_atomic_replace();
  test_fuzz_corpus();
  test_save_removes_stale_temps();
  remove_dir();
  return CHECK_REPORT();
}
