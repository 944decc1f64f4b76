/* fuzz_idx_gz.c -- libFuzzer target for the IDX file reader on gzip input.
 *
 * Mutating a .gz file mostly breaks its CRC, so fuzz_idx rarely gets past
 * zlib. Here the input (after one control byte) is the uncompressed IDX file:
 * the target gzips it itself at the level the control byte picks, writes it
 * to a temporary .gz and reads it with lt_read_idx. The control byte:
 *   bits 0-3  deflate level (values above 9 mean 9; 0 stores)
 *   bit  4    read with scale 0.25 (float32 output)
 *   bits 6-7  0, 1: the stream intact: the file reader must give the very
 *             tensor or message (after the name) of the memory parser;
 *             2: the stream cut short, 3: one compressed byte flipped. A
 *             damaged stream must fail with a message naming the file, or
 *             read as the exact tensor (a flip in a header field zlib does
 *             not check); wrong data would mean zlib's CRC went unchecked.
 * Never a crash, overread, leak or undefined behaviour (ASan + UBSan).
 * tests/c/test_idx.c replays tests/fuzz/corpus/idx_gz/ through this function.
 */
#include "idx.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char gz_path[64];

static void gz_cleanup(void) { remove(gz_path); }

/* the message of the last error starts with name and ": "; returns what follows */
static const char *gz_after_name(const char *name) {
  size_t n = strlen(name);
  const char *m = lt_errmsg();
  if (strncmp(m, name, n) != 0 || strncmp(m + n, ": ", 2) != 0) return NULL;
  return m + n + 2;
}

static int gz_same(lt_tensor *a, lt_tensor *b) {
  if (a->dtype != b->dtype || !lt_same_shape(a, b)) return 0;
  size_t n = (size_t)lt_numel(a) * lt_dtype_size(a->dtype);
  return n == 0 || memcmp(lt_data(a), lt_data(b), n) == 0;
}

/* data gzipped at level; *len receives the size (malloc'd, never NULL) */
static unsigned char *gz_compress(const unsigned char *data, size_t size, int level, size_t *len) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
  size_t cap = deflateBound(&z, (uLong)size) + 32;
  unsigned char *out = malloc(cap);
  if (!out) abort();
  z.next_in = (unsigned char *)data;
  z.avail_in = (uInt)size;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
  *len = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

/* a position in 0..n-1 that depends on every input byte */
static size_t gz_pick(const unsigned char *data, size_t size, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 16777619u;
  return h % n;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (size == 0) return 0;
  if (!gz_path[0]) {
    snprintf(gz_path, sizeof gz_path, "/tmp/fuzz_idx_gz_%d.gz", (int)getpid());
    atexit(gz_cleanup);
  }
  int ctl = data[0], level = ctl & 15, mode = ctl >> 6;
  const lt_idx_opts scaled = {0.25}, *opts = ctl & 16 ? &scaled : NULL;
  data++, size--;

  lt_tensor *want = lt_parse_idx(data, size, "fuzz", opts);
  char msg[512] = "";
  if (!want) {
    const char *m = gz_after_name("fuzz");
    if (!m) abort(); /* every message names the file */
    snprintf(msg, sizeof msg, "%s", m);
  }

  size_t len;
  unsigned char *gz = gz_compress(data, size, level > 9 ? 9 : level, &len);
  if (mode == 2) len = gz_pick(data, size, len); /* cut: 0..len-1 bytes stay */
  if (mode == 3) gz[gz_pick(data, size, len)] ^= (unsigned char)(1 + gz_pick(data, size, 255));
  FILE *f = fopen(gz_path, "wb");
  if (!f) abort();
  if (len && fwrite(gz, 1, len, f) != len) abort();
  fclose(f);
  free(gz);

  lt_tensor *got = lt_read_idx(gz_path, opts);
  if (!got) {
    const char *m = gz_after_name(gz_path);
    if (!m) abort();
    if (mode < 2 && (want || strcmp(m, msg) != 0)) abort(); /* intact: the same message */
  } else if (!want || !gz_same(got, want)) {
    abort(); /* a tensor from bytes the memory parser refuses, or different values */
  }
  lt_release(got);
  lt_release(want);
  return 0;
}
