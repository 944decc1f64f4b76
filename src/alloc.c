/* alloc.c -- a caching allocator for tensor storage.
 *
 * A training step allocates the same sizes every iteration; keeping freed
 * blocks in size classes lets the next step reuse them without malloc/free
 * (and without the page faults of fresh large mappings). Sizes are rounded
 * to classes of 4 steps per power of two (at most 25% slack). The cache
 * holds at most LUNET_CACHE_MB megabytes (default 1024), and no single block
 * above a quarter of that (a dataset's one-off buffers would crowd out the
 * blocks a loop reuses); when malloc fails the cache is emptied and the
 * allocation tried once more.
 *
 * The byte counters let the Lua binding tell the garbage collector about
 * memory it cannot see.
 *
 * An optional limit (LUNET_MAX_MEMORY, lt_set_mem_limit) caps the bytes the
 * allocator holds from the system: live blocks plus cached ones. A request
 * that would pass it empties the cache first (cached blocks are not live
 * tensors), and fails only if the live blocks alone leave no room. Without a
 * limit, Linux may grant a huge malloc and kill the process when the pages
 * are touched; with one, the same request is an error the caller can handle.
 */
#include "tensor.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCLASSES 256
#define ALIGN 64

typedef struct block { struct block *next; } block;

static block *free_lists[NCLASSES];
static size_t in_use, cached, cache_limit = (size_t)1 << 30;
static size_t mem_limit; /* 0: none */
static int limit_read;

/* class c holds blocks of class_size(c) bytes; classes grow by 1/4 power of two */
static size_t class_size(int c) {
  if (c < 8) return (size_t)(c + 1) * ALIGN; /* 64 .. 512 in steps of 64 */
  int e = (c - 8) / 4 + 9, q = (c - 8) % 4; /* 2^e * (1 + q/4) */
  return ((size_t)1 << e) + ((size_t)q << (e - 2));
}

static int class_of(size_t n) {
  if (n <= 8 * ALIGN) return n == 0 ? 0 : (int)((n - 1) / ALIGN);
  int e = 63 - __builtin_clzll((unsigned long long)(n - 1)); /* 2^e < n <= 2^(e+1) */
  size_t base = (size_t)1 << e;
  int q = (int)((n - 1 - base) >> (e - 2)) + 1; /* quarters above 2^e, 1..4 */
  int c = 8 + (e - 9) * 4 + q;
  return c < NCLASSES ? c : -1;
}

static void read_limit(void) {
  const char *s = getenv("LUNET_CACHE_MB");
  if (s && *s) cache_limit = (size_t)strtoull(s, NULL, 10) << 20;
  limit_read = 1;
}

/* why the last allocation failed, for callers that name what they allocate */
static char failure[160] = "out of memory";
const char *lt_mem_failure(void) { return failure; }

static void *alloc_failed(size_t nbytes) {
  char a[32];
  lt_seterr("cannot allocate %s (%zu bytes): %s", lt_format_bytes(nbytes, a, sizeof a), nbytes, failure);
  return NULL;
}

static void *over_limit(size_t nbytes) {
  char b[32], c[32];
  snprintf(failure, sizeof failure, "the memory limit is %s (LUNET_MAX_MEMORY or lunet.set_memory_limit) and %s are in use",
           lt_format_bytes(mem_limit, b, sizeof b), lt_format_bytes(in_use, c, sizeof c));
  return alloc_failed(nbytes);
}

void *lt_alloc(size_t nbytes) {
  if (!limit_read) read_limit();
  int c = class_of(nbytes);
  size_t sz = c >= 0 ? class_size(c) : (nbytes + ALIGN - 1) / ALIGN * ALIGN;
  if (sz < nbytes) { lt_seterr("allocation of %zu bytes is too large", nbytes); return NULL; }
  void *p = NULL;
  if (c >= 0 && free_lists[c]) {
    block *b = free_lists[c];
    free_lists[c] = b->next;
    cached -= sz;
    p = b;
  } else {
    if (mem_limit && in_use + cached + sz > mem_limit) lt_mem_empty_cache();
    if (mem_limit && in_use + sz > mem_limit) return over_limit(nbytes);
    p = aligned_alloc(ALIGN, sz);
    if (!p && cached) { lt_mem_empty_cache(); p = aligned_alloc(ALIGN, sz); }
    if (!p) {
      snprintf(failure, sizeof failure, "out of memory");
      return alloc_failed(nbytes);
    }
  }
  in_use += sz;
  return p;
}

void lt_free(void *p, size_t nbytes) {
  if (!p) return;
  int c = class_of(nbytes);
  size_t sz = c >= 0 ? class_size(c) : (nbytes + ALIGN - 1) / ALIGN * ALIGN;
  in_use -= sz;
  if (c >= 0 && sz <= cache_limit / 4 && cached + sz <= cache_limit) {
    block *b = p;
    b->next = free_lists[c];
    free_lists[c] = b;
    cached += sz;
  } else {
    free(p);
  }
}

size_t lt_mem_in_use(void) { return in_use; }
size_t lt_mem_cached(void) { return cached; }

void lt_mem_empty_cache(void) {
  for (int c = 0; c < NCLASSES; c++) {
    while (free_lists[c]) {
      block *b = free_lists[c];
      free_lists[c] = b->next;
      free(b);
    }
  }
  cached = 0;
}

void lt_set_mem_limit(size_t nbytes) { mem_limit = nbytes; }
size_t lt_mem_limit(void) { return mem_limit; }

/* "512 bytes", "12 MiB", "1.9 GiB", "4 TiB": whole numbers when exact */
char *lt_format_bytes(size_t n, char *buf, size_t len) {
  static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (n < 1024) { snprintf(buf, len, "%zu byte%s", n, n == 1 ? "" : "s"); return buf; }
  int u = 0;
  double v = (double)n / 1024;
  while (v >= 1024 && u < 5) { v /= 1024; u++; }
  if (v == floor(v)) snprintf(buf, len, "%.0f %s", v, units[u]);
  else snprintf(buf, len, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

/* "1048576", "512M", "2G", "1.5GiB", "64 kb": a number, then optionally K, M,
   G or T (powers of 1024) with an optional i and B, or B alone; any case */
int lt_parse_bytes(const char *s, size_t *out) {
  const char *p = s;
  while (isspace((unsigned char)*p)) p++;
  if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
    return lt_seterr("'%s' is not a size (expected bytes, or a number with K, M, G or T, like 512M or 1.5GiB)", s);
  char *end;
  double v = strtod(p, &end);
  for (const char *q = p; q < end; q++) /* digits and one point: no sign, exponent, hex, inf */
    if (!isdigit((unsigned char)*q) && *q != '.')
      return lt_seterr("'%s' is not a size (expected bytes, or a number with K, M, G or T, like 512M or 1.5GiB)", s);
  p = end;
  while (isspace((unsigned char)*p)) p++;
  static const char units[] = "KMGT";
  const char *u = *p ? strchr(units, toupper((unsigned char)*p)) : NULL;
  double scale = 1;
  if (u) {
    scale = ldexp(1.0, 10 * (int)(u - units + 1));
    p++;
    if (*p == 'i' || *p == 'I') p++;
  }
  if (*p == 'b' || *p == 'B') p++;
  while (isspace((unsigned char)*p)) p++;
  if (*p) return lt_seterr("'%s' is not a size (expected bytes, or a number with K, M, G or T, like 512M or 1.5GiB)", s);
  double bytes = floor(v * scale);
  if (!(bytes < 0x1p63)) return lt_seterr("'%s' is too large a size", s);
  *out = (size_t)bytes;
  return 0;
}
