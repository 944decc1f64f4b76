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
 */
#include "tensor.h"
#include <stdlib.h>
#include <string.h>

#define NCLASSES 256
#define ALIGN 64

typedef struct block { struct block *next; } block;

static block *free_lists[NCLASSES];
static size_t in_use, cached, cache_limit = (size_t)1 << 30;
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
    p = aligned_alloc(ALIGN, sz);
    if (!p && cached) { lt_mem_empty_cache(); p = aligned_alloc(ALIGN, sz); }
    if (!p) { lt_seterr("out of memory allocating %zu bytes", nbytes); return NULL; }
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
