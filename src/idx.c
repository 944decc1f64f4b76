/* idx.c -- IDX reader: magic (0, 0, type, ndim), ndim big-endian uint32
 * sizes, then big-endian data. zlib's gzread reads plain files as they are,
 * so one path serves .gz and uncompressed files; lt_parse_idx reads the same
 * format from memory (the fuzz target's entry) with the same header checks
 * and the same messages. Byte offsets in messages are 0-based offsets into
 * the uncompressed file, as `cmp` and `xxd` count them. */
#include "idx.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_ELEMENTS ((uint64_t)1 << 36)
#define CHUNK ((size_t)1 << 18) /* file reads convert this many bytes at a time (fits in L2) */
#define MAX_RATIO 1100          /* above deflate's largest expansion (1032:1) */

typedef unsigned long long ull; /* for printf */

typedef struct {
  int type, elsize, ndim;
  int64_t shape[LT_MAX_DIM];
  uint64_t n;      /* elements */
  size_t head_len; /* 4 + 4 * ndim */
  uint64_t raw;    /* bytes of data after the header */
  lt_dtype dt;     /* of the result */
} header;

static uint32_t be32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int elsize_of(int type) {
  switch (type) {
  case 0x08: case 0x09: return 1;
  case 0x0B: return 2;
  case 0x0C: case 0x0D: return 4;
  case 0x0E: return 8;
  default: return 0;
  }
}

/* ---- messages shared by the file and the memory reader ------------------- */
static int err_trunc_head(const char *name, size_t have, size_t need) {
  return lt_seterr("%s: file is truncated in the header: it ends at byte offset %llu, the header needs %llu bytes",
                   name, (ull)have, (ull)need);
}

static int err_trunc_data(const char *name, const header *h, uint64_t have) {
  return lt_seterr("%s: file is truncated in the data: it ends at byte offset %llu, but the %llu-byte header declares "
                   "%llu bytes of data (%llu in all)",
                   name, (ull)have, (ull)h->head_len, (ull)h->raw, (ull)(h->head_len + h->raw));
}

static int err_trailing(const char *name, const header *h) {
  return lt_seterr("%s: file has more data than its header declares: extra bytes from byte offset %llu on",
                   name, (ull)(h->head_len + h->raw));
}

/* ---- the header ---------------------------------------------------------- */
/* the first 4 bytes (have = how many the file holds, at most 4 needed) */
static int parse_prefix(const unsigned char *b, size_t have, const char *name, header *h) {
  if (have < 4) return err_trunc_head(name, have, 4);
  if (b[0] != 0 || b[1] != 0)
    return lt_seterr("%s: not an IDX file: bad magic number %02x %02x %02x %02x at byte offset 0 "
                     "(an IDX file starts with 00 00, a type code and the number of dimensions)",
                     name, b[0], b[1], b[2], b[3]);
  h->type = b[2];
  h->elsize = elsize_of(h->type);
  if (!h->elsize)
    return lt_seterr("%s: not an IDX file: unknown type code 0x%02x at byte offset 2 "
                     "(known: 0x08 0x09 0x0b 0x0c 0x0d 0x0e)", name, h->type);
  h->ndim = b[3];
  if (h->ndim < 1 || h->ndim > LT_MAX_DIM)
    return lt_seterr("%s: IDX header says %d dimensions at byte offset 3 (expected 1 to %d)", name, h->ndim, LT_MAX_DIM);
  h->head_len = 4 + 4 * (size_t)h->ndim;
  return 0;
}

/* the sizes after the prefix; b holds the whole header (have bytes of it) */
static int parse_dims(const unsigned char *b, size_t have, const char *name, header *h, const lt_idx_opts *opts) {
  if (have < h->head_len) return err_trunc_head(name, have, h->head_len);
  h->n = 1;
  for (int d = 0; d < h->ndim; d++) {
    h->shape[d] = be32(b + 4 + 4 * d);
    /* checked before multiplying: 2^36 * 2^28 would wrap to 0 */
    if (h->shape[d] != 0 && h->n > MAX_ELEMENTS / (uint64_t)h->shape[d])
      return lt_seterr("%s: IDX header declares too many elements (more than 2^36) by dimension %d at byte offset %d",
                       name, d + 1, 4 + 4 * d);
    h->n *= (uint64_t)h->shape[d];
  }
  h->raw = h->n * (uint64_t)h->elsize;
  h->dt = opts && opts->scale != 0 ? LT_FLOAT32 : h->type == 0x0D ? LT_FLOAT32 : h->type == 0x0E ? LT_FLOAT64 : LT_INT64;
  return 0;
}

/* ---- conversion: n big-endian values of h->type at in to out[0..n) -------- */
static double value_at(int type, const unsigned char *b) {
  switch (type) {
  case 0x08: return b[0];
  case 0x09: return (int8_t)b[0];
  case 0x0B: return (int16_t)(uint16_t)(b[0] << 8 | b[1]);
  case 0x0C: return (int32_t)be32(b);
  case 0x0D: { uint32_t u = be32(b); float v; memcpy(&v, &u, 4); return v; }
  default: {
    uint64_t u = (uint64_t)be32(b) << 32 | be32(b + 4);
    double v;
    memcpy(&v, &u, 8);
    return v;
  }
  }
}

static void convert(const header *h, double scale, const unsigned char *restrict in, size_t n, void *restrict out) {
  if (scale != 0 && h->elsize == 1) {
    /* bytes: a table of the 256 scaled values, so a pixel costs one load */
    float lut[256];
    for (int v = 0; v < 256; v++) lut[v] = (float)((h->type == 0x08 ? v : (int8_t)v) * scale);
    float *o = out;
    for (size_t i = 0; i < n; i++) o[i] = lut[in[i]];
  } else if (scale != 0) {
    float *o = out;
    for (size_t i = 0; i < n; i++) o[i] = (float)(value_at(h->type, in + i * h->elsize) * scale);
  } else if (h->type == 0x08) {
    int64_t *o = out;
    for (size_t i = 0; i < n; i++) o[i] = in[i];
  } else if (h->dt == LT_INT64) {
    int64_t *o = out;
    for (size_t i = 0; i < n; i++) o[i] = (int64_t)value_at(h->type, in + i * h->elsize);
  } else if (h->dt == LT_FLOAT32) {
    float *o = out;
    for (size_t i = 0; i < n; i++) o[i] = (float)value_at(h->type, in + i * 4);
  } else {
    double *o = out;
    for (size_t i = 0; i < n; i++) o[i] = value_at(h->type, in + i * 8);
  }
}

/* ---- from memory ----------------------------------------------------------- */
lt_tensor *lt_parse_idx(const unsigned char *buf, size_t len, const char *name, const lt_idx_opts *opts) {
  header h;
  if (parse_prefix(buf, len, name, &h) < 0 || parse_dims(buf, len, name, &h, opts) < 0) return NULL;
  if (len - h.head_len < h.raw) return err_trunc_data(name, &h, len), NULL;
  if (len - h.head_len > h.raw) return err_trailing(name, &h), NULL;
  lt_tensor *t = lt_empty(h.dt, h.ndim, h.shape);
  if (!t) return NULL;
  convert(&h, opts ? opts->scale : 0, buf + h.head_len, (size_t)h.n, lt_data(t));
  return t;
}

/* ---- from a file ----------------------------------------------------------- */
typedef struct {
  gzFile f;
  const char *path;
  uint64_t pos; /* bytes of uncompressed data read so far */
} reader;

static int gz_fail(reader *r, const char *msg, int zerr, size_t got) {
  size_t pl = strlen(r->path); /* zlib's message starts with the path */
  if (strncmp(msg, r->path, pl) == 0 && strncmp(msg + pl, ": ", 2) == 0) msg += pl + 2;
  if (zerr == Z_ERRNO) /* the system's read failed, not the data */
    return lt_seterr("%s: cannot read (%s) after byte offset %llu", r->path, msg, (ull)(r->pos + got));
  /* zlib inflates ahead of our reads, so the compressed offset is the
     better pointer; the count of bytes delivered says how far we got */
  return lt_seterr("%s: corrupt gzip stream (%s) near byte offset %lld of the compressed file "
                   "(%llu bytes of IDX data read before it)",
                   r->path, msg, (long long)gzoffset(r->f), (ull)(r->pos + got));
}

/* up to n bytes (fewer only at the end of the file) into buf; *got says how
   many. -1 when the gzip stream is corrupt, naming the position. */
static int read_upto(reader *r, void *buf, size_t n, size_t *got) {
  unsigned char *p = buf;
  *got = 0;
  while (*got < n) {
    size_t want = n - *got;
    int k = gzread(r->f, p + *got, want > (1u << 30) ? (1u << 30) : (unsigned)want);
    if (k < 0) {
      int zerr;
      const char *msg = gzerror(r->f, &zerr);
      return gz_fail(r, msg, zerr, *got);
    }
    if (k == 0) {
      /* a gzip stream cut short ends like a file: zlib only leaves a note */
      int zerr;
      const char *msg = gzerror(r->f, &zerr);
      if (zerr != Z_OK) return gz_fail(r, msg, zerr, *got);
      break;
    }
    *got += (size_t)k;
  }
  r->pos += *got;
  return 0;
}

static lt_tensor *read_body(reader *r, const lt_idx_opts *opts, const struct stat *st) {
  unsigned char head[4 + 4 * LT_MAX_DIM];
  size_t got;
  header h;
  if (read_upto(r, head, 4, &got) < 0 || parse_prefix(head, got, r->path, &h) < 0) return NULL;
  if (read_upto(r, head + 4, h.head_len - 4, &got) < 0 || parse_dims(head, 4 + got, r->path, &h, opts) < 0) return NULL;
  /* a plain file tells its size: refuse a wrong one before allocating what
     a damaged header may claim */
  if (gzdirect(r->f) && S_ISREG(st->st_mode)) {
    uint64_t size = (uint64_t)st->st_size;
    if (size < h.head_len + h.raw) return err_trunc_data(r->path, &h, size), NULL;
    if (size > h.head_len + h.raw) return err_trailing(r->path, &h), NULL;
  }
  unsigned char *buf = malloc(CHUNK);
  if (!buf) return lt_seterr("%s: out of memory", r->path), NULL;
  /* deflate expands at most ~1032:1, so a gzip file far smaller than its
     header's size must be truncated: find where it ends without allocating */
  if (!gzdirect(r->f) && S_ISREG(st->st_mode) && (h.head_len + h.raw) / MAX_RATIO > (uint64_t)st->st_size) {
    do {
      if (read_upto(r, buf, CHUNK, &got) < 0) { free(buf); return NULL; }
    } while (got == CHUNK && r->pos < h.head_len + h.raw);
    if (r->pos < h.head_len + h.raw) err_trunc_data(r->path, &h, r->pos);
    else lt_seterr("%s: gzip stream expands more than any deflate stream can", r->path);
    free(buf);
    return NULL;
  }
  lt_tensor *t = lt_empty(h.dt, h.ndim, h.shape);
  if (!t) { free(buf); return NULL; }
  double scale = opts ? opts->scale : 0;
  size_t per = CHUNK / (size_t)h.elsize, outsize = lt_dtype_size(h.dt);
  unsigned char *out = lt_data(t);
  for (uint64_t done = 0; done < h.n;) {
    size_t k = h.n - done < per ? (size_t)(h.n - done) : per;
    if (read_upto(r, buf, k * (size_t)h.elsize, &got) < 0) goto fail;
    if (got < k * (size_t)h.elsize) { err_trunc_data(r->path, &h, r->pos); goto fail; }
    convert(&h, scale, buf, k, out + done * outsize);
    done += k;
  }
  /* one byte more must be the end (this also makes zlib check the CRC) */
  if (read_upto(r, buf, 1, &got) < 0) goto fail;
  if (got) { err_trailing(r->path, &h); goto fail; }
  free(buf);
  return t;
fail:
  free(buf);
  lt_release(t);
  return NULL;
}

lt_tensor *lt_read_idx(const char *path, const lt_idx_opts *opts) {
  struct stat st;
  if (stat(path, &st) != 0) return lt_seterr("%s: %s", path, strerror(errno)), NULL;
  if (S_ISDIR(st.st_mode)) return lt_seterr("%s: is a directory, not an IDX file", path), NULL;
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f) return lt_seterr("%s: %s", path, errno ? strerror(errno) : "cannot open"), NULL;
  gzbuffer(f, 1 << 16); /* reads of CHUNK bytes then inflate straight into our buffer */
  reader r = {f, path, 0};
  lt_tensor *t = read_body(&r, opts, &st);
  gzclose(f);
  return t;
}
