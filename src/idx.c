/* idx.c -- IDX reader: magic (0, 0, type, ndim), ndim big-endian uint32
 * sizes, then big-endian data. zlib's gzread reads plain files as they are,
 * so one path serves .gz and uncompressed files. */
#include "idx.h"
#include <errno.h>
#include <string.h>
#include <zlib.h>

#define MAX_ELEMENTS ((uint64_t)1 << 36)

static uint32_t be32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* read exactly n bytes; -1 with a message naming the position otherwise */
static int read_exact(gzFile f, const char *path, void *buf, size_t n, const char *what) {
  unsigned char *p = buf;
  while (n > 0) {
    unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
    int got = gzread(f, p, chunk);
    if (got < 0) {
      int zerr;
      const char *msg = gzerror(f, &zerr);
      return lt_seterr("%s: cannot read %s: %s", path, what, msg);
    }
    if (got == 0) return lt_seterr("%s: file is truncated in the %s (at byte %ld of the data)", path, what, (long)gztell(f));
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

static lt_tensor *read_body(gzFile f, const char *path) {
  unsigned char head[4];
  if (read_exact(f, path, head, 4, "header") < 0) return NULL;
  int type = head[2], ndim = head[3];
  int elsize = type == 0x08 || type == 0x09 ? 1 : type == 0x0B ? 2 : type == 0x0C || type == 0x0D ? 4 : type == 0x0E ? 8 : 0;
  if (head[0] != 0 || head[1] != 0 || elsize == 0)
    return lt_seterr("%s: not an IDX file (magic number %02x %02x %02x %02x)", path, head[0], head[1], head[2], head[3]), NULL;
  if (ndim < 1 || ndim > LT_MAX_DIM) return lt_seterr("%s: IDX header says %d dimensions (expected 1 to %d)", path, ndim, LT_MAX_DIM), NULL;
  int64_t shape[LT_MAX_DIM];
  uint64_t n = 1;
  for (int d = 0; d < ndim; d++) {
    unsigned char b[4];
    if (read_exact(f, path, b, 4, "header") < 0) return NULL;
    shape[d] = be32(b);
    n *= (uint64_t)shape[d];
    if (n > MAX_ELEMENTS) return lt_seterr("%s: IDX header declares too many elements", path), NULL;
  }
  lt_dtype dt = type == 0x0D ? LT_FLOAT32 : type == 0x0E ? LT_FLOAT64 : LT_INT64;
  lt_tensor *t = lt_empty(dt, ndim, shape);
  if (!t) return NULL;
  /* read the raw big-endian values into the tail of the buffer, then widen
     front to back (each output slot is at least as wide as its input) */
  size_t raw = (size_t)n * (size_t)elsize;
  unsigned char *out = lt_data(t), *in = out + (size_t)n * lt_dtype_size(dt) - raw;
  if (read_exact(f, path, in, raw, "data") < 0) { lt_release(t); return NULL; }
  unsigned char extra;
  if (gzread(f, &extra, 1) > 0) { lt_release(t); return lt_seterr("%s: file has more data than its header declares", path), NULL; }
  for (uint64_t i = 0; i < n; i++) {
    const unsigned char *b = in + i * (uint64_t)elsize;
    switch (type) {
    case 0x08: ((int64_t *)out)[i] = b[0]; break;
    case 0x09: ((int64_t *)out)[i] = (int8_t)b[0]; break;
    case 0x0B: ((int64_t *)out)[i] = (int16_t)(b[0] << 8 | b[1]); break;
    case 0x0C: ((int64_t *)out)[i] = (int32_t)be32(b); break;
    case 0x0D: { uint32_t u = be32(b); float v; memcpy(&v, &u, 4); ((float *)out)[i] = v; break; }
    default: {
      uint64_t u = (uint64_t)be32(b) << 32 | be32(b + 4);
      double v;
      memcpy(&v, &u, 8);
      ((double *)out)[i] = v;
    }
    }
  }
  return t;
}

lt_tensor *lt_read_idx(const char *path) {
  gzFile f = gzopen(path, "rb");
  if (!f) return lt_seterr("%s: %s", path, errno ? strerror(errno) : "cannot open"), NULL;
  gzbuffer(f, 1 << 17);
  lt_tensor *t = read_body(f, path);
  gzclose(f);
  return t;
}
