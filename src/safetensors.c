/* safetensors.c -- safetensors checkpoints (format in safetensors.h).
 *
 * Reading trusts nothing in the file: the header length is checked against
 * the file size and a 100 MB limit before anything is allocated, the JSON is
 * parsed by a small strict parser that knows the header's schema (so there is
 * no recursion for a hostile file to exhaust), and every tensor's offsets must
 * match its dtype and shape and tile the data section exactly. Only then are
 * tensors allocated, so no allocation is larger than 8x the file.
 *
 * Writing builds the header in memory, then streams header and tensors into
 * a temporary file beside the target and renames it into place.
 */
#define _GNU_SOURCE /* qsort_r */
#include "safetensors.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER 100000000ull           /* the reference reader's limit */
#define MAX_ELEMENTS ((uint64_t)1 << 59)  /* x 8 bytes stays within lt_empty's limit */
#define SHOWN 100                         /* characters of a name quoted in a message */

/* ---- dtypes ---------------------------------------------------------------- */
/* The dtypes lunet reads, in the reference implementation's order, which is
   its order of alignment: its writer lays tensors out by descending rank,
   then by name. Only the relative order of F32 < F64 < I64 matters here. */
enum { D_BOOL, D_U8, D_I8, D_I16, D_U16, D_F16, D_BF16, D_I32, D_U32, D_F32, D_F64, D_I64, D_COUNT };

static const struct { const char *name; unsigned size; lt_dtype to; } dtypes[D_COUNT] = {
    [D_BOOL] = {"BOOL", 1, LT_INT64},   [D_U8] = {"U8", 1, LT_INT64},     [D_I8] = {"I8", 1, LT_INT64},
    [D_I16] = {"I16", 2, LT_INT64},     [D_U16] = {"U16", 2, LT_INT64},   [D_F16] = {"F16", 2, LT_FLOAT32},
    [D_BF16] = {"BF16", 2, LT_FLOAT32}, [D_I32] = {"I32", 4, LT_INT64},   [D_U32] = {"U32", 4, LT_INT64},
    [D_F32] = {"F32", 4, LT_FLOAT32},   [D_F64] = {"F64", 8, LT_FLOAT64}, [D_I64] = {"I64", 8, LT_INT64},
};

/* dtypes the format defines that lunet has no faithful type for: U64 does
   not fit int64, the sub-byte and 8-bit floats and complex have no match */
static const char *const unsupported[] = {"U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};

static int dtype_of_lunet(lt_dtype dt) {
  return dt == LT_FLOAT32 ? D_F32 : dt == LT_FLOAT64 ? D_F64 : D_I64;
}

/* ---- small helpers --------------------------------------------------------- */
static int is_little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* reverse each `size`-byte element in place (only on big-endian hosts) */
static void swap_bytes(unsigned char *p, uint64_t n, unsigned size) {
  for (uint64_t i = 0; i < n; i++, p += size)
    for (unsigned a = 0, b = size - 1; a < b; a++, b--) { unsigned char c = p[a]; p[a] = p[b]; p[b] = c; }
}

/* length of the valid UTF-8 sequence at s (before end), or 0 */
static int utf8_len(const unsigned char *s, const unsigned char *end) {
  unsigned c = s[0];
  int n;
  unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) n = 2;
  else if (c < 0xF0) { n = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c < 0xF5) { n = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else return 0;
  if (end - s < n) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (int i = 2; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  return n;
}

static int valid_utf8(const char *str) {
  const unsigned char *s = (const unsigned char *)str, *end = s + strlen(str);
  while (s < end) {
    int n = utf8_len(s, end);
    if (!n) return 0;
    s += n;
  }
  return 1;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "F32 of shape 4x8 (128 bytes)", "a F64 scalar (8 bytes)" */
static void describe(char *buf, size_t len, int dt, int ndim, const int64_t *shape, uint64_t nbytes) {
  char s[128];
  if (ndim == 0) snprintf(buf, len, "a %s scalar (%" PRIu64 " bytes)", dtypes[dt].name, nbytes);
  else snprintf(buf, len, "%s of shape %s (%" PRIu64 " bytes)", dtypes[dt].name,
                lt_shape_str(ndim, shape, s, sizeof s), nbytes);
}

/* ---- reading: the header's JSON -------------------------------------------- */
typedef struct entry {
  char *name;
  int dtype, ndim;
  int64_t shape[LT_MAX_DIM];
  uint64_t begin, end, nbytes;
} entry;

typedef struct header {
  const char *file;                  /* named in every message */
  const unsigned char *s, *p, *end;  /* the JSON text and the cursor */
  char ctx[SHOWN + 32];              /* "tensor 'name'" while inside one */
  entry *e;
  int n, cap;
  char **keys, **values;
  int nmeta, metacap, seen_meta;
} header;

/* "file: <ctx>: message" */
static int fail(header *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(header *h, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (h->ctx[0]) return lt_seterr("%s: %s: %s", h->file, h->ctx, msg);
  return lt_seterr("%s: %s", h->file, msg);
}

/* a JSON syntax error at the cursor; the position counts from the file's start */
static int syntax(header *h, const char *what) {
  if (h->p >= h->end) return lt_seterr("%s: malformed JSON header: it ends early (%s)", h->file, what);
  return lt_seterr("%s: malformed JSON header at byte %zu: %s", h->file, (size_t)(h->p - h->s) + 8, what);
}

static void skip_ws(header *h) {
  while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}

static int expect(header *h, char c, const char *what) {
  skip_ws(h);
  if (h->p >= h->end || *h->p != (unsigned char)c) return syntax(h, what);
  h->p++;
  skip_ws(h);
  return 0;
}

static int hex4(const unsigned char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v << 4 | d;
  }
  *out = v;
  return 0;
}

static char *put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) *o++ = (char)cp;
  else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | cp >> 12); *o++ = (char)(0x80 | (cp >> 6 & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | cp >> 18); *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
    *o++ = (char)(0x80 | (cp >> 6 & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* c can start a JSON value (so a misplaced one is a type error, not a syntax error) */
static int starts_value(unsigned char c) {
  return c == '{' || c == '[' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

/* The JSON string at the cursor, decoded (malloc'ed, NUL-terminated), or NULL
   with the error set. `what` names the expected value for a type error. */
static char *parse_string(header *h, const char *what) {
  if (h->p >= h->end || (*h->p != '"' && !starts_value(*h->p))) {
    syntax(h, "expected a string");
    return NULL;
  }
  if (*h->p != '"') { fail(h, "%s must be a string", what); return NULL; } /* another JSON value */
  const unsigned char *q = h->p + 1;
  while (q < h->end && *q != '"') q += *q == '\\' && h->end - q > 1 ? 2 : 1; /* never past end */
  if (q >= h->end) { syntax(h, "unterminated string"); return NULL; }
  char *out = malloc((size_t)(q - h->p)), *o = out; /* decoding never lengthens */
  if (!out) { lt_seterr("%s: out of memory", h->file); return NULL; }
  const unsigned char *r = h->p + 1;
  while (r < q) {
    h->p = r; /* for the position in messages */
    if (*r < 0x20) { syntax(h, "control character inside a string (it must be escaped)"); goto bad; }
    if (*r >= 0x80) {
      int n = utf8_len(r, q);
      if (!n) { syntax(h, "invalid UTF-8 in a string"); goto bad; }
      memcpy(o, r, (size_t)n);
      o += n, r += n;
      continue;
    }
    if (*r != '\\') { *o++ = (char)*r++; continue; }
    unsigned cp;
    switch (r[1]) { /* r + 1 < q: the scan above skipped it as escaped */
    case '"': case '\\': case '/': *o++ = (char)r[1]; r += 2; continue;
    case 'b': *o++ = '\b'; r += 2; continue;
    case 'f': *o++ = '\f'; r += 2; continue;
    case 'n': *o++ = '\n'; r += 2; continue;
    case 'r': *o++ = '\r'; r += 2; continue;
    case 't': *o++ = '\t'; r += 2; continue;
    case 'u': break;
    default: syntax(h, "invalid escape in a string"); goto bad;
    }
    if (q - r < 6 || hex4(r + 2, &cp) < 0) { syntax(h, "\\u must be followed by 4 hex digits"); goto bad; }
    r += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) { syntax(h, "unpaired surrogate in a \\u escape"); goto bad; }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      unsigned lo;
      if (q - r < 6 || r[0] != '\\' || r[1] != 'u' || hex4(r + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
        syntax(h, "unpaired surrogate in a \\u escape");
        goto bad;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      r += 6;
    }
    if (cp == 0) { syntax(h, "\\u0000 in a string is not supported"); goto bad; }
    o = put_utf8(o, cp);
  }
  *o = '\0';
  h->p = q + 1;
  return out;
bad:
  free(out);
  return NULL;
}

/* a non-negative JSON integer no larger than INT64_MAX */
static int parse_uint(header *h, uint64_t *out, const char *what) {
  if (h->p >= h->end) return syntax(h, "expected a number");
  if (*h->p == '-') return fail(h, "%s must be non-negative", what);
  if (*h->p == ',' || *h->p == ']') return syntax(h, "expected a number");
  if (*h->p < '0' || *h->p > '9') return fail(h, "%s must be integers", what);
  if (*h->p == '0' && h->p + 1 < h->end && h->p[1] >= '0' && h->p[1] <= '9')
    return syntax(h, "number with a leading zero");
  uint64_t v = 0;
  while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
    unsigned d = *h->p++ - '0';
    if (v > ((uint64_t)INT64_MAX - d) / 10) return fail(h, "%s has a value too large", what);
    v = v * 10 + d;
  }
  if (h->p < h->end && (*h->p == '.' || *h->p == 'e' || *h->p == 'E'))
    return fail(h, "%s must be integers", what);
  *out = v;
  return 0;
}

/* "[" items "]" of integers; at most `max` of them (more is an error) */
static int parse_uint_list(header *h, uint64_t *v, int max, int *count, const char *what, const char *too_many) {
  if (h->p >= h->end) return syntax(h, "expected a list");
  if (*h->p != '[') return fail(h, "%s must be a list of integers", what);
  h->p++;
  skip_ws(h);
  int n = 0;
  if (h->p < h->end && *h->p == ']') { h->p++; *count = 0; return 0; }
  for (;;) {
    if (n == max) return fail(h, "%s", too_many);
    if (parse_uint(h, &v[n++], what) < 0) return -1;
    skip_ws(h);
    if (h->p < h->end && *h->p == ',') { h->p++; skip_ws(h); continue; }
    if (h->p < h->end && *h->p == ']') { h->p++; break; }
    return syntax(h, "expected ',' or ']' in a list");
  }
  *count = n;
  return 0;
}

/* the dtype named `name`, or -1 after an error naming it */
static int lookup_dtype(header *h, const char *name) {
  for (int d = 0; d < D_COUNT; d++)
    if (strcmp(name, dtypes[d].name) == 0) return d;
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
    if (strcmp(name, unsupported[i]) == 0)
      return fail(h, "dtype %s is not supported by lunet (it reads F32, F64, F16, BF16, I64, I32, I16, I8, U32, U16, "
                  "U8 and BOOL)", name);
  return fail(h, "unknown dtype '%.20s'", name);
}

/* {"dtype": ..., "shape": [...], "data_offsets": [b, e]} for the newest entry */
static int parse_tensor(header *h, entry *e) {
  uint64_t v[LT_MAX_DIM];
  int have_dtype = 0, have_shape = 0, have_offsets = 0, n = 0;
  char too_many[64];
  snprintf(too_many, sizeof too_many, "shape has more than %d dimensions (lunet's limit)", LT_MAX_DIM);
  if (h->p >= h->end) return syntax(h, "expected an object");
  if (*h->p != '{') return fail(h, "must be an object with dtype, shape and data_offsets");
  h->p++;
  skip_ws(h);
  if (h->p < h->end && *h->p == '}') { h->p++; return fail(h, "missing dtype"); }
  for (;;) {
    char *key = parse_string(h, "a field name");
    if (!key) return -1;
    if (expect(h, ':', "expected ':' after a key") < 0) { free(key); return -1; }
    int r = 0;
    if (strcmp(key, "dtype") == 0) {
      if (have_dtype++) r = fail(h, "field 'dtype' appears twice");
      char *s = r < 0 ? NULL : parse_string(h, "dtype");
      if (!s) r = -1;
      else {
        r = e->dtype = lookup_dtype(h, s);
        free(s);
      }
    } else if (strcmp(key, "shape") == 0) {
      if (have_shape++) r = fail(h, "field 'shape' appears twice");
      else if ((r = parse_uint_list(h, v, LT_MAX_DIM, &n, "shape", too_many)) == 0) {
        e->ndim = n;
        for (int d = 0; d < n; d++) e->shape[d] = (int64_t)v[d];
      }
    } else if (strcmp(key, "data_offsets") == 0) {
      if (have_offsets++) r = fail(h, "field 'data_offsets' appears twice");
      else if ((r = parse_uint_list(h, v, 2, &n, "data_offsets", "data_offsets must be a list of two integers [begin, end]")) == 0) {
        if (n != 2) r = fail(h, "data_offsets must be a list of two integers [begin, end]");
        else e->begin = v[0], e->end = v[1];
      }
    } else {
      r = fail(h, "unknown field '%.40s'", key);
    }
    free(key);
    if (r < 0) return -1;
    skip_ws(h);
    if (h->p < h->end && *h->p == ',') { h->p++; skip_ws(h); continue; }
    if (h->p < h->end && *h->p == '}') { h->p++; break; }
    return syntax(h, "expected ',' or '}' after a field");
  }
  if (!have_dtype) return fail(h, "missing dtype");
  if (!have_shape) return fail(h, "missing shape");
  if (!have_offsets) return fail(h, "missing data_offsets");
  return 0;
}

/* "__metadata__": {"key": "value", ...} */
static int parse_metadata(header *h) {
  if (h->seen_meta++) return fail(h, "__metadata__ appears twice");
  snprintf(h->ctx, sizeof h->ctx, "__metadata__");
  if (h->p >= h->end) return syntax(h, "expected an object");
  if (h->end - h->p >= 4 && memcmp(h->p, "null", 4) == 0) { h->p += 4; return 0; } /* the reference reads it as none */
  if (*h->p != '{') return fail(h, "must be an object of strings");
  h->p++;
  skip_ws(h);
  if (h->p < h->end && *h->p == '}') { h->p++; return 0; }
  for (;;) {
    if (h->nmeta == h->metacap) {
      int cap = h->metacap ? 2 * h->metacap : 8;
      char **k = realloc(h->keys, (size_t)cap * sizeof *k);
      if (k) h->keys = k;
      char **v = realloc(h->values, (size_t)cap * sizeof *v);
      if (v) h->values = v;
      if (!k || !v) return fail(h, "out of memory");
      h->metacap = cap;
    }
    char *key = parse_string(h, "a key");
    if (!key) return -1;
    h->keys[h->nmeta] = key;
    h->values[h->nmeta] = NULL;
    h->nmeta++;
    if (expect(h, ':', "expected ':' after a key") < 0) return -1;
    char *value = parse_string(h, "every value");
    if (!value) return -1;
    h->values[h->nmeta - 1] = value;
    skip_ws(h);
    if (h->p < h->end && *h->p == ',') { h->p++; skip_ws(h); continue; }
    if (h->p < h->end && *h->p == '}') { h->p++; return 0; }
    return syntax(h, "expected ',' or '}' in __metadata__");
  }
}

/* the whole header: one object of tensors and metadata, then only spaces */
static int parse_header(header *h) {
  skip_ws(h);
  if (h->p >= h->end || *h->p != '{') return fail(h, "the header is not a JSON object (not a safetensors file?)");
  h->p++;
  skip_ws(h);
  if (h->p < h->end && *h->p == '}') h->p++;
  else for (;;) {
    h->ctx[0] = '\0';
    char *name = parse_string(h, "a tensor name");
    if (!name) return -1;
    if (expect(h, ':', "expected ':' after a key") < 0) { free(name); return -1; }
    if (strcmp(name, "__metadata__") == 0) {
      free(name);
      if (parse_metadata(h) < 0) return -1;
    } else {
      if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 16;
        entry *e = realloc(h->e, (size_t)cap * sizeof *e);
        if (!e) { free(name); return fail(h, "out of memory"); }
        h->e = e, h->cap = cap;
      }
      entry *e = &h->e[h->n++];
      memset(e, 0, sizeof *e);
      e->name = name;
      snprintf(h->ctx, sizeof h->ctx, "tensor '%.*s'", SHOWN, name);
      if (parse_tensor(h, e) < 0) return -1;
    }
    h->ctx[0] = '\0';
    skip_ws(h);
    if (h->p < h->end && *h->p == ',') { h->p++; skip_ws(h); continue; }
    if (h->p < h->end && *h->p == '}') { h->p++; break; }
    return syntax(h, "expected ',' or '}' after an entry");
  }
  h->ctx[0] = '\0';
  skip_ws(h);
  if (h->p < h->end)
    return lt_seterr("%s: the header has bytes after its JSON object (at byte %zu)", h->file,
                     (size_t)(h->p - h->s) + 8);
  return 0;
}

static void header_free(header *h) {
  for (int i = 0; i < h->n; i++) free(h->e[i].name);
  for (int i = 0; i < h->nmeta; i++) { free(h->keys[i]); free(h->values[i]); }
  free(h->e);
  free(h->keys);
  free(h->values);
}

/* ---- reading: checks on the parsed header ----------------------------------- */
/* size of each tensor against its offsets; offsets inside the data section */
static int check_sizes(header *h, uint64_t data_size) {
  for (int i = 0; i < h->n; i++) {
    entry *e = &h->e[i];
    char desc[200], sh[128];
    snprintf(h->ctx, sizeof h->ctx, "tensor '%.*s'", SHOWN, e->name);
    uint64_t n = 1;
    int zero = 0;
    for (int d = 0; d < e->ndim; d++) {
      uint64_t s = (uint64_t)e->shape[d];
      if (s == 0) { zero = 1; continue; }
      if (n > MAX_ELEMENTS / s)
        return fail(h, "shape %s has too many elements (the product overflows)",
                    lt_shape_str(e->ndim, e->shape, sh, sizeof sh));
      n *= s;
    }
    if (zero) n = 0;
    e->nbytes = n * dtypes[e->dtype].size;
    if (e->end < e->begin)
      return fail(h, "data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin", e->begin, e->end);
    if (e->end > data_size)
      return fail(h, "data_offsets [%" PRIu64 ", %" PRIu64 "] run past the end of the data section (%" PRIu64
                  " bytes): the file is truncated or its header is wrong", e->begin, e->end, data_size);
    if (e->end - e->begin != e->nbytes) {
      describe(desc, sizeof desc, e->dtype, e->ndim, e->shape, e->nbytes);
      return fail(h, "data_offsets [%" PRIu64 ", %" PRIu64 "] do not match %s", e->begin, e->end, desc);
    }
  }
  h->ctx[0] = '\0';
  return 0;
}

static int cmp_entry_name(const void *a, const void *b) {
  return strcmp((*(entry *const *)a)->name, (*(entry *const *)b)->name);
}

static int cmp_entry_offsets(const void *a, const void *b) {
  const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

/* no name twice (or key, in the metadata); the tensors tile the data section.
   Leaves `order` sorted by offset. */
static int check_layout(header *h, entry **order, uint64_t data_size) {
  for (int i = 0; i < h->n; i++) order[i] = &h->e[i];
  qsort(order, (size_t)h->n, sizeof *order, cmp_entry_name);
  for (int i = 1; i < h->n; i++)
    if (strcmp(order[i - 1]->name, order[i]->name) == 0)
      return fail(h, "tensor name '%.*s' appears twice", SHOWN, order[i]->name);
  if (h->nmeta > 1) {
    char **keys = malloc((size_t)h->nmeta * sizeof *keys);
    if (!keys) return fail(h, "out of memory");
    memcpy(keys, h->keys, (size_t)h->nmeta * sizeof *keys);
    qsort(keys, (size_t)h->nmeta, sizeof *keys, cmp_str);
    for (int i = 1; i < h->nmeta; i++)
      if (strcmp(keys[i - 1], keys[i]) == 0) {
        fail(h, "__metadata__: key '%.*s' appears twice", SHOWN, keys[i]);
        free(keys);
        return -1;
      }
    free(keys);
  }
  qsort(order, (size_t)h->n, sizeof *order, cmp_entry_offsets);
  uint64_t at = 0;
  for (int i = 0; i < h->n; i++) {
    const entry *e = order[i];
    if (e->begin < at)
      return fail(h, "tensors '%.*s' and '%.*s' overlap (data_offsets [%" PRIu64 ", %" PRIu64 "] and [%" PRIu64
                  ", %" PRIu64 "])", SHOWN, order[i - 1]->name, SHOWN, e->name, order[i - 1]->begin,
                  order[i - 1]->end, e->begin, e->end);
    if (e->begin > at)
      return fail(h, "bytes %" PRIu64 " to %" PRIu64 " of the data section belong to no tensor", at, e->begin);
    at = e->end;
  }
  if (at != data_size)
    return fail(h, "the data section has %" PRIu64 " bytes after the last tensor (%" PRIu64 " in all)",
                data_size - at, data_size);
  return 0;
}

/* ---- reading: sources and data ---------------------------------------------- */
typedef struct source {
  const char *name;
  FILE *f;                  /* a file, or */
  const unsigned char *mem; /* bytes in memory */
  uint64_t size;
} source;

/* n bytes at offset off (the caller has checked the range against size) */
static int src_read(source *s, uint64_t off, void *buf, size_t n) {
  if (n == 0) return 0;
  if (s->mem) { memcpy(buf, s->mem + off, n); return 0; }
  if (fseeko(s->f, (off_t)off, SEEK_SET) != 0) return lt_seterr("%s: cannot seek: %s", s->name, strerror(errno));
  if (fread(buf, 1, n, s->f) != n) {
    if (ferror(s->f)) return lt_seterr("%s: cannot read: %s", s->name, strerror(errno));
    return lt_seterr("%s: the file became shorter while it was read", s->name);
  }
  return 0;
}

/* IEEE half to single precision, by bits (exact; no float arithmetic) */
static uint32_t half_to_float(uint32_t h) {
  uint32_t sign = (h & 0x8000) << 16, exp = h >> 10 & 0x1F, man = h & 0x3FF;
  if (exp == 0x1F) return sign | 0x7F800000 | man << 13; /* inf, NaN with its payload */
  if (exp) return sign | (exp + 112) << 23 | man << 13;
  if (!man) return sign;
  uint32_t e = 113; /* subnormal: normalise */
  while (!(man & 0x400)) { man <<= 1; e--; }
  return sign | e << 23 | (man & 0x3FF) << 13;
}

/* n raw little-endian values of dtype dt at `in`, which is the tail of `out`,
   widened front to back into out (each output slot is at least as wide as
   its input, so a value is read before anything overwrites it) */
static void widen(int dt, unsigned char *out, const unsigned char *in, uint64_t n) {
  unsigned size = dtypes[dt].size;
  for (uint64_t i = 0; i < n; i++) {
    const unsigned char *b = in + i * size;
    uint32_t u = b[0]; /* the raw value, of `size` bytes */
    for (unsigned k = 1; k < size; k++) u |= (uint32_t)b[k] << (8 * k);
    int64_t v;
    switch (dt) {
    case D_F16: { uint32_t f = half_to_float(u); memcpy(out + 4 * i, &f, 4); continue; }
    case D_BF16: { uint32_t f = u << 16; memcpy(out + 4 * i, &f, 4); continue; }
    case D_BOOL: v = u != 0; break;
    case D_I8: v = (int8_t)u; break;
    case D_I16: v = (int16_t)u; break;
    case D_I32: v = (int32_t)u; break;
    default: v = u; break; /* U8, U16, U32 */
    }
    memcpy(out + 8 * i, &v, 8);
  }
}

static lt_tensor *load_tensor(source *src, const entry *e, uint64_t data_start) {
  lt_dtype to = (lt_dtype)dtypes[e->dtype].to;
  lt_tensor *t = lt_empty(to, e->ndim, e->shape);
  if (!t) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s", lt_errmsg());
    lt_seterr("%s: tensor '%.*s': %s", src->name, SHOWN, e->name, msg);
    return NULL;
  }
  uint64_t n = (uint64_t)lt_numel(t);
  if (n == 0) return t;
  unsigned char *out = lt_data(t);
  unsigned char *in = out + n * lt_dtype_size(to) - e->nbytes;
  if (src_read(src, data_start + e->begin, in, (size_t)e->nbytes) < 0) { lt_release(t); return NULL; }
  if (e->dtype != D_F32 && e->dtype != D_F64 && e->dtype != D_I64) widen(e->dtype, out, in, n);
  else if (!is_little_endian()) swap_bytes(out, n, dtypes[e->dtype].size);
  return t;
}

static lt_st_file *new_file(int ntensors, int nmeta) {
  lt_st_file *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->names = calloc((size_t)ntensors + 1, sizeof *f->names);
  f->tensors = calloc((size_t)ntensors + 1, sizeof *f->tensors);
  f->meta_keys = calloc((size_t)nmeta + 1, sizeof *f->meta_keys);
  f->meta_values = calloc((size_t)nmeta + 1, sizeof *f->meta_values);
  if (!f->names || !f->tensors || !f->meta_keys || !f->meta_values) { lt_st_free(f); return NULL; }
  return f;
}

void lt_st_free(lt_st_file *f) {
  if (!f) return;
  for (int i = 0; i < f->ntensors; i++) {
    free((char *)f->names[i]);
    lt_release(f->tensors[i]);
  }
  for (int i = 0; i < f->nmeta; i++) { free((char *)f->meta_keys[i]); free((char *)f->meta_values[i]); }
  free(f->names);
  free(f->tensors);
  free(f->meta_keys);
  free(f->meta_values);
  free(f);
}

static lt_st_file *read_source(source *src) {
  unsigned char b[8];
  if (src->size < 8)
    return lt_seterr("%s: file is too short to be a safetensors file (%" PRIu64 " bytes)", src->name, src->size), NULL;
  if (src_read(src, 0, b, 8) < 0) return NULL;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b[i];
  if (hlen > MAX_HEADER)
    return lt_seterr("%s: header length %" PRIu64 " is over the 100 MB limit (not a safetensors file?)",
                     src->name, hlen), NULL;
  if (hlen > src->size - 8)
    return lt_seterr("%s: header length %" PRIu64 " runs past the end of the file (%" PRIu64
                     " bytes): the file is truncated or not a safetensors file", src->name, hlen, src->size), NULL;
  unsigned char *text = malloc(hlen ? (size_t)hlen : 1);
  if (!text) return lt_seterr("%s: out of memory reading a header of %" PRIu64 " bytes", src->name, hlen), NULL;
  lt_st_file *f = NULL;
  entry **order = NULL;
  header h = {.file = src->name, .s = text, .p = text, .end = text + hlen};
  uint64_t data_size = src->size - 8 - hlen;
  if (src_read(src, 8, text, (size_t)hlen) < 0 || parse_header(&h) < 0 || check_sizes(&h, data_size) < 0) goto done;
  order = malloc(((size_t)h.n + 1) * sizeof *order);
  if (!order) { lt_seterr("%s: out of memory", src->name); goto done; }
  if (check_layout(&h, order, data_size) < 0) goto done;
  if (!(f = new_file(h.n, h.nmeta))) { lt_seterr("%s: out of memory", src->name); goto done; }
  for (int i = 0; i < h.n; i++) { /* in file order, so a file is read front to back */
    lt_tensor *t = load_tensor(src, order[i], 8 + hlen);
    if (!t) { lt_st_free(f); f = NULL; goto done; }
    f->names[i] = order[i]->name;
    order[i]->name = NULL; /* f owns it now */
    f->tensors[i] = t;
    f->ntensors++;
  }
  for (int i = 0; i < h.nmeta; i++) {
    f->meta_keys[i] = h.keys[i];
    f->meta_values[i] = h.values[i];
  }
  f->nmeta = h.nmeta;
  h.nmeta = 0;
done:
  header_free(&h);
  free(order);
  free(text);
  return f;
}

lt_st_file *lt_st_parse(const void *bytes, size_t len, const char *name) {
  source src = {.name = name, .mem = bytes, .size = len};
  return read_source(&src);
}

lt_st_file *lt_st_read(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return lt_seterr("%s: %s", path, strerror(errno)), NULL;
  struct stat st;
  lt_st_file *f = NULL;
  if (fstat(fileno(fp), &st) != 0) lt_seterr("%s: %s", path, strerror(errno));
  else if (!S_ISREG(st.st_mode)) lt_seterr("%s: not a regular file", path);
  else {
    source src = {.name = path, .f = fp, .size = (uint64_t)st.st_size};
    f = read_source(&src);
  }
  fclose(fp);
  return f;
}

/* ---- writing ---------------------------------------------------------------- */
typedef struct sink {
  const char *name;
  FILE *f;             /* a file, or */
  unsigned char *buf;  /* a growing buffer */
  size_t len, cap;
} sink;

static int put(sink *s, const void *p, size_t n) {
  if (n == 0) return 0;
  if (s->f) {
    if (fwrite(p, 1, n, s->f) != n) return lt_seterr("%s: cannot write: %s", s->name, strerror(errno));
    return 0;
  }
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : 256;
    while (cap < s->len + n) cap *= 2;
    unsigned char *b = realloc(s->buf, cap);
    if (!b) return lt_seterr("%s: out of memory", s->name);
    s->buf = b, s->cap = cap;
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
  return 0;
}

static int puts_(sink *s, const char *str) { return put(s, str, strlen(str)); }

/* a JSON string, escaped as serde_json (the reference) escapes it */
static int put_json_string(sink *s, const char *str) {
  char esc[8];
  if (put(s, "\"", 1) < 0) return -1;
  for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
    const char *e = NULL;
    switch (*p) {
    case '"': e = "\\\""; break;
    case '\\': e = "\\\\"; break;
    case '\b': e = "\\b"; break;
    case '\f': e = "\\f"; break;
    case '\n': e = "\\n"; break;
    case '\r': e = "\\r"; break;
    case '\t': e = "\\t"; break;
    default:
      if (*p < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", *p); e = esc; }
    }
    if (e ? puts_(s, e) < 0 : put(s, p, 1) < 0) return -1;
  }
  return put(s, "\"", 1);
}

typedef struct plan {
  int *order;           /* tensors in file order */
  int *meta_order;      /* metadata keys sorted */
  sink header;          /* the padded JSON header */
} plan;

static int cmp_tensor_order(const void *a, const void *b, void *arg) {
  const lt_st_file *ck = arg;
  int i = *(const int *)a, j = *(const int *)b;
  int di = dtype_of_lunet(ck->tensors[i]->dtype), dj = dtype_of_lunet(ck->tensors[j]->dtype);
  if (di != dj) return di > dj ? -1 : 1; /* widest first */
  return strcmp(ck->names[i], ck->names[j]);
}
static int cmp_meta_order(const void *a, const void *b, void *arg) {
  const lt_st_file *ck = arg;
  return strcmp(ck->meta_keys[*(const int *)a], ck->meta_keys[*(const int *)b]);
}

static void plan_free(plan *p) {
  free(p->order);
  free(p->meta_order);
  free(p->header.buf);
}

/* check the names and keys, choose the order and build the header */
static int make_plan(const lt_st_file *ck, const char *file, plan *p) {
  memset(p, 0, sizeof *p);
  p->header.name = file;
  if (ck->ntensors < 0 || ck->nmeta < 0) return lt_seterr("%s: negative count", file);
  p->order = malloc(((size_t)ck->ntensors + 1) * sizeof *p->order);
  p->meta_order = malloc(((size_t)ck->nmeta + 1) * sizeof *p->meta_order);
  if (!p->order || !p->meta_order) return lt_seterr("%s: out of memory", file);
  for (int i = 0; i < ck->ntensors; i++) {
    const char *name = ck->names[i];
    if (!name || !ck->tensors[i]) return lt_seterr("%s: tensor %d has no name or no tensor", file, i + 1);
    if (!valid_utf8(name)) return lt_seterr("%s: tensor name '%.*s' is not valid UTF-8", file, SHOWN, name);
    if (strcmp(name, "__metadata__") == 0) return lt_seterr("%s: '__metadata__' cannot name a tensor (the format reserves it)", file);
    p->order[i] = i;
  }
  for (int i = 0; i < ck->nmeta; i++) {
    const char *k = ck->meta_keys[i], *v = ck->meta_values[i];
    if (!k || !v) return lt_seterr("%s: metadata entry %d has no key or no value", file, i + 1);
    if (!valid_utf8(k)) return lt_seterr("%s: metadata key '%.*s' is not valid UTF-8", file, SHOWN, k);
    if (!valid_utf8(v)) return lt_seterr("%s: metadata value of '%.*s' is not valid UTF-8", file, SHOWN, k);
    p->meta_order[i] = i;
  }
  qsort_r(p->order, (size_t)ck->ntensors, sizeof *p->order, cmp_tensor_order, (void *)ck);
  qsort_r(p->meta_order, (size_t)ck->nmeta, sizeof *p->meta_order, cmp_meta_order, (void *)ck);
  /* names in different dtypes are not adjacent in `order`: check on a sorted copy */
  if (ck->ntensors > 1) {
    const char **names = malloc((size_t)ck->ntensors * sizeof *names);
    if (!names) return lt_seterr("%s: out of memory", file);
    memcpy(names, ck->names, (size_t)ck->ntensors * sizeof *names);
    qsort(names, (size_t)ck->ntensors, sizeof *names, cmp_str);
    for (int i = 1; i < ck->ntensors; i++)
      if (strcmp(names[i - 1], names[i]) == 0) {
        lt_seterr("%s: tensor name '%.*s' appears twice", file, SHOWN, names[i]);
        free(names);
        return -1;
      }
    free(names);
  }
  for (int i = 1; i < ck->nmeta; i++)
    if (strcmp(ck->meta_keys[p->meta_order[i - 1]], ck->meta_keys[p->meta_order[i]]) == 0)
      return lt_seterr("%s: metadata key '%.*s' appears twice", file, SHOWN, ck->meta_keys[p->meta_order[i]]);

  sink *s = &p->header;
  char num[64];
  if (puts_(s, "{") < 0) return -1;
  if (ck->nmeta > 0) {
    if (puts_(s, "\"__metadata__\":{") < 0) return -1;
    for (int i = 0; i < ck->nmeta; i++) {
      int m = p->meta_order[i];
      if ((i && puts_(s, ",") < 0) || put_json_string(s, ck->meta_keys[m]) < 0 || puts_(s, ":") < 0 ||
          put_json_string(s, ck->meta_values[m]) < 0)
        return -1;
    }
    if (puts_(s, ck->ntensors ? "}," : "}") < 0) return -1;
  }
  uint64_t offset = 0;
  for (int i = 0; i < ck->ntensors; i++) {
    const lt_tensor *t = ck->tensors[p->order[i]];
    if ((i && puts_(s, ",") < 0) || put_json_string(s, ck->names[p->order[i]]) < 0) return -1;
    snprintf(num, sizeof num, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[dtype_of_lunet(t->dtype)].name);
    if (puts_(s, num) < 0) return -1;
    for (int d = 0; d < t->ndim; d++) {
      snprintf(num, sizeof num, d ? ",%" PRId64 : "%" PRId64, t->shape[d]);
      if (puts_(s, num) < 0) return -1;
    }
    uint64_t nbytes = (uint64_t)lt_numel(t) * lt_dtype_size(t->dtype);
    snprintf(num, sizeof num, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", offset, offset + nbytes);
    if (puts_(s, num) < 0) return -1;
    offset += nbytes;
  }
  if (puts_(s, "}") < 0) return -1;
  while (s->len % 8)
    if (puts_(s, " ") < 0) return -1;
  return 0;
}

/* the length, the header, then each tensor's bytes in little-endian order */
static int emit(sink *out, const lt_st_file *ck, const plan *p) {
  unsigned char b[8];
  uint64_t n = p->header.len;
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
  if (put(out, b, 8) < 0 || put(out, p->header.buf, p->header.len) < 0) return -1;
  for (int i = 0; i < ck->ntensors; i++) {
    lt_tensor *c = lt_contiguous(ck->tensors[p->order[i]]);
    if (!c) {
      char msg[256];
      snprintf(msg, sizeof msg, "%s", lt_errmsg());
      return lt_seterr("%s: tensor '%.*s': %s", out->name, SHOWN, ck->names[p->order[i]], msg);
    }
    size_t size = lt_dtype_size(c->dtype), nbytes = (size_t)lt_numel(c) * size;
    int r = 0;
    if (nbytes && is_little_endian()) r = put(out, lt_data(c), nbytes);
    else if (nbytes) { /* big-endian host: swap a chunk at a time */
      unsigned char chunk[4096];
      const unsigned char *src = lt_data(c);
      for (size_t at = 0; at < nbytes && r == 0; at += sizeof chunk) {
        size_t len = nbytes - at < sizeof chunk ? nbytes - at : sizeof chunk;
        memcpy(chunk, src + at, len);
        swap_bytes(chunk, len / size, (unsigned)size);
        r = put(out, chunk, len);
      }
    }
    lt_release(c);
    if (r < 0) return -1;
  }
  return 0;
}

unsigned char *lt_st_serialize(const lt_st_file *ck, const char *name, size_t *len) {
  plan p;
  sink out = {.name = name};
  if (make_plan(ck, name, &p) < 0 || emit(&out, ck, &p) < 0) {
    plan_free(&p);
    free(out.buf);
    return NULL;
  }
  plan_free(&p);
  if (!out.buf && !(out.buf = malloc(1))) return lt_seterr("%s: out of memory", name), NULL;
  *len = out.len;
  return out.buf;
}

/* A new file beside path, "path.tmp-<pid>-<n>", made with O_EXCL so it is
   never another's file, and with the permissions fopen gives (0666 less the
   umask; mkstemp would make it 0600). Returns the descriptor or -1 (errno). */
static int create_temp(const char *path, char *tmp, size_t len) {
  static unsigned counter;
  for (int tries = 0; tries < 100; tries++) {
    snprintf(tmp, len, "%s.tmp-%ld-%u", path, (long)getpid(), counter++);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

/* the directory path is in ("." for a bare name), malloc'ed; NULL when out of memory */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

/* the pid in a temporary name "<base>.tmp-<pid>-<n>" of base, or 0 when name is not one */
static long temp_owner(const char *name, const char *base) {
  size_t n = strlen(base);
  if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp-", 5) != 0) return 0;
  char *end;
  long pid = strtol(name + n + 5, &end, 10);
  if (pid <= 0 || *end != '-' || end[1] < '0' || end[1] > '9') return 0;
  (void)strtoul(end + 1, &end, 10);
  return *end == 0 ? pid : 0;
}

/* Temporary files of path left by writers killed mid-write (kill -9, power
   cut) are removed at the next save, when their process is gone from this
   host; a live writer's file, or one of another pid, is left alone. */
static void remove_stale_temps(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  char *dir = dir_of(path);
  DIR *d = dir ? opendir(dir) : NULL;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    long pid = temp_owner(e->d_name, base);
    if (pid <= 0 || pid == (long)getpid() || pid > 0x7fffffff) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char *stale = malloc(strlen(dir) + strlen(e->d_name) + 2);
    if (stale) {
      sprintf(stale, "%s/%s", dir, e->d_name);
      unlink(stale);
      free(stale);
    }
  }
  if (d) closedir(d);
  free(dir);
}

/* make the rename durable; failure here cannot undo the write, so it is ignored */
static void sync_dir(const char *path) {
  char *dir = dir_of(path);
  if (!dir) return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) { fsync(fd); close(fd); }
  free(dir);
}

int lt_st_write(const char *path, const lt_st_file *ck) {
  plan p;
  if (!path[0]) return lt_seterr("the path is empty");
  if (make_plan(ck, path, &p) < 0) { plan_free(&p); return -1; }
  size_t tmplen = strlen(path) + 48;
  char *tmp = malloc(tmplen);
  if (!tmp) { plan_free(&p); return lt_seterr("%s: out of memory", path); }
  remove_stale_temps(path);
  int fd = create_temp(path, tmp, tmplen);
  if (fd < 0) {
    lt_seterr("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    free(tmp);
    plan_free(&p);
    return -1;
  }
  int r = -1;
  sink out = {.name = path, .f = fdopen(fd, "wb")};
  if (!out.f) { lt_seterr("%s: %s", path, strerror(errno)); close(fd); goto done; }
  if (emit(&out, ck, &p) < 0) goto done;
  if (fflush(out.f) != 0 || fsync(fd) != 0) { lt_seterr("%s: cannot write: %s", path, strerror(errno)); goto done; }
  int closed = fclose(out.f);
  out.f = NULL;
  if (closed != 0) { lt_seterr("%s: cannot write: %s", path, strerror(errno)); goto done; }
  if (rename(tmp, path) != 0) { lt_seterr("%s: cannot replace it: %s", path, strerror(errno)); goto done; }
  sync_dir(path);
  r = 0;
done:
  if (out.f) fclose(out.f);
  if (r < 0) unlink(tmp);
  free(tmp);
  plan_free(&p);
  return r;
}
