/* fuzz_idx.c -- libFuzzer target for the IDX reader.
 *
 * Any bytes must either read as a tensor or fail with a message that names
 * the file; never crash, overread, leak or hit undefined behaviour (built
 * with ASan and UBSan). Three readings must agree: the memory parser, the
 * memory parser with scale (float32 values times the scale), and the file
 * reader over the same bytes written to a temporary file (same result or
 * the same message), which also runs zlib's path when the input is gzip.
 * Build and run: make fuzz [FUZZ_SECONDS=60].
 */
#include "idx.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp[64];

static void cleanup(void) { remove(tmp); }

static int prefixed(const char *name) {
  size_t n = strlen(name);
  const char *m = lt_errmsg();
  return strncmp(m, name, n) == 0 && m[n] == ':';
}

/* a and b hold the same bytes in the same shape and dtype */
static int same(lt_tensor *a, lt_tensor *b) {
  if (a->dtype != b->dtype || !lt_same_shape(a, b)) return 0;
  size_t n = (size_t)lt_numel(a) * lt_dtype_size(a->dtype);
  return n == 0 || memcmp(lt_data(a), lt_data(b), n) == 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (!tmp[0]) {
    snprintf(tmp, sizeof tmp, "/tmp/fuzz_idx_%d.bin", (int)getpid());
    atexit(cleanup);
  }
  const lt_idx_opts scaled = {0.25}; /* a power of two: exact in float */
  lt_tensor *t = lt_parse_idx(data, size, "fuzz", NULL);
  lt_tensor *s = lt_parse_idx(data, size, "fuzz", &scaled);
  if (!t != !s) abort();
  char msg[512] = "";
  if (!t) {
    if (!prefixed("fuzz")) abort(); /* every message names the file */
    snprintf(msg, sizeof msg, "%s", lt_errmsg() + 4);
  } else {
    int64_t n = lt_numel(t);
    if (s->dtype != LT_FLOAT32 || !lt_same_shape(t, s)) abort();
    for (int64_t i = 0; i < n; i++) {
      double v = t->dtype == LT_INT64 ? (double)((int64_t *)lt_data(t))[i]
               : t->dtype == LT_FLOAT32 ? ((float *)lt_data(t))[i] : ((double *)lt_data(t))[i];
      float w = ((float *)lt_data(s))[i], want = (float)(v * 0.25);
      if (!(w == want || (w != w && want != want))) abort();
    }
  }
  /* the file reader: the same outcome as the memory parser for a plain
     file; for gzip-looking input, only no crash and a named message */
  FILE *f = fopen(tmp, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  lt_tensor *u = lt_read_idx(tmp, NULL);
  if (!u) {
    if (!prefixed(tmp)) abort();
    if (!gz && (t || strcmp(msg, lt_errmsg() + strlen(tmp)) != 0)) abort();
  } else if (!gz && (!t || !same(t, u))) abort();
  lt_release(u);
  lt_release(t);
  lt_release(s);
  return 0;
}
