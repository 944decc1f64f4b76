/* test_core.c -- the C tensor core without Lua: views, copies, the allocator
 * and its memory limit, the strided iterator, the generator, error reporting,
 * denormals and the non-finite scan of detect_anomaly. */
#include "autograd.h"
#include "check.h"
#include "tensor.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static lt_tensor *range_tensor(lt_dtype dt, int ndim, const int64_t *shape) {
  lt_tensor *t = lt_empty(dt, ndim, shape);
  int64_t n = lt_numel(t), idx[LT_MAX_DIM] = {0};
  for (int64_t i = 0; i < n; i++) {
    lt_set(t, idx, (double)i);
    for (int d = ndim - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
  return t;
}

static void test_views_share_storage(void) {
  lt_tensor *t = range_tensor(LT_FLOAT32, 2, (int64_t[]){3, 4});
  lt_tensor *tt = lt_transpose(t, 0, 1);
  CHECK(tt->shape[0] == 4 && tt->shape[1] == 3);
  CHECK(!lt_is_contiguous(tt));
  CHECK(lt_get(tt, (int64_t[]){3, 2}) == 11);
  lt_set(tt, (int64_t[]){1, 0}, 100);
  CHECK(lt_get(t, (int64_t[]){0, 1}) == 100); /* writes go through the view */
  lt_tensor *c = lt_contiguous(tt);
  CHECK(c != tt && lt_is_contiguous(c));
  CHECK(lt_get(c, (int64_t[]){3, 2}) == 11);
  lt_release(c);
  lt_release(tt);
  lt_release(t);
}

static void test_view_strides(void) {
  /* a narrowed matrix can be viewed where its rows stay whole */
  lt_tensor *t = range_tensor(LT_FLOAT32, 3, (int64_t[]){2, 3, 4});
  lt_tensor *v = lt_view(t, 2, (int64_t[]){6, 4});
  CHECK(v && v->stride[0] == 4 && v->stride[1] == 1);
  lt_release(v);
  lt_tensor *tr = lt_transpose(t, 1, 2); /* 2x4x3, not contiguous */
  v = lt_view(tr, 2, (int64_t[]){2, 12});
  CHECK(v == NULL); /* would need a copy */
  CHECK(strstr(lt_errmsg(), "use reshape") != NULL);
  v = lt_view(tr, 3, (int64_t[]){2, 4, 3});
  CHECK(v != NULL);
  lt_release(v);
  /* splitting a dim of a transposed view keeps the strides it can */
  v = lt_view(tr, 4, (int64_t[]){2, 2, 2, 3});
  CHECK(v && v->stride[0] == 12 && v->stride[1] == 2 && v->stride[2] == 1 && v->stride[3] == 4);
  lt_release(v);
  lt_tensor *r = lt_reshape(tr, 1, (int64_t[]){-1});
  CHECK(r && r->shape[0] == 24 && lt_get(r, (int64_t[]){1}) == 4); /* copied in row-major order */
  lt_release(r);
  v = lt_view(t, 2, (int64_t[]){5, -1});
  CHECK(v == NULL && strstr(lt_errmsg(), "invalid") != NULL);
  lt_release(tr);
  lt_release(t);
}

static void test_expand_and_broadcast_copy(void) {
  lt_tensor *row = range_tensor(LT_FLOAT64, 1, (int64_t[]){3});
  lt_tensor *e = lt_expand(row, 2, (int64_t[]){4, 3});
  CHECK(e && e->stride[0] == 0);
  lt_tensor *dst = lt_zeros(LT_INT64, 2, (int64_t[]){4, 3});
  CHECK(lt_copy_(dst, row) == 0); /* broadcasts and casts */
  CHECK(lt_get_i64(dst, (int64_t[]){3, 2}) == 2);
  lt_tensor *bad = lt_zeros(LT_FLOAT32, 1, (int64_t[]){2});
  CHECK(lt_copy_(dst, bad) < 0 && strstr(lt_errmsg(), "cannot copy") != NULL);
  lt_release(bad);
  lt_release(dst);
  lt_release(e);
  lt_release(row);
}

static void test_allocator_reuses_blocks(void) {
  size_t before = lt_mem_in_use();
  void *a = lt_alloc(1000);
  CHECK(a != NULL && ((uintptr_t)a % 64) == 0);
  CHECK(lt_mem_in_use() >= before + 1000);
  lt_free(a, 1000);
  CHECK(lt_mem_in_use() == before);
  void *b = lt_alloc(1000); /* same size class: the cached block comes back */
  const char *limit = getenv("LUNET_CACHE_MB"); /* 0 (sanitizer runs) turns the cache off */
  if (!limit || atoi(limit) > 0) CHECK(b == a);
  lt_free(b, 1000);
  /* sizes across class boundaries round up, never down */
  for (size_t n = 1; n < (1u << 20); n = n * 3 + 1) {
    size_t used = lt_mem_in_use();
    void *p = lt_alloc(n);
    CHECK(p != NULL && lt_mem_in_use() - used >= n);
    memset(p, 0xab, n); /* ASan catches a block smaller than asked */
    lt_free(p, n);
  }
  lt_mem_empty_cache();
  CHECK(lt_mem_cached() == 0);
}

static void test_too_large(void) {
  lt_tensor *t = lt_empty(LT_FLOAT32, 2, (int64_t[]){(int64_t)1 << 40, (int64_t)1 << 30});
  CHECK(t == NULL && strstr(lt_errmsg(), "too large") != NULL);
  t = lt_empty(LT_FLOAT32, 1, (int64_t[]){-1});
  CHECK(t == NULL && strstr(lt_errmsg(), "non-negative") != NULL);
}

static void test_random_streams(void) {
  int64_t shape[1] = {1000};
  lt_tensor *a = lt_empty(LT_FLOAT32, 1, shape), *b = lt_empty(LT_FLOAT32, 1, shape);
  lt_manual_seed(42);
  lt_randn_(a, 0, 1);
  lt_manual_seed(42);
  lt_randn_(b, 0, 1);
  CHECK(memcmp(lt_data(a), lt_data(b), 1000 * sizeof(float)) == 0);
  lt_randn_(b, 0, 1); /* the stream moves on */
  CHECK(memcmp(lt_data(a), lt_data(b), 1000 * sizeof(float)) != 0);
  /* a strided fill draws the same values in row-major order */
  lt_tensor *m = lt_empty(LT_FLOAT32, 2, (int64_t[]){10, 100});
  lt_tensor *mt = lt_transpose(m, 0, 1);
  lt_manual_seed(7);
  lt_rand_(a, 0, 1);
  lt_manual_seed(7);
  lt_rand_(mt, 0, 1);
  CHECK(lt_get(mt, (int64_t[]){0, 1}) == lt_get(a, (int64_t[]){1}));
  int64_t *p = lt_randperm(1000);
  char seen[1000] = {0};
  int ok = 1;
  for (int i = 0; i < 1000; i++) { if (p[i] < 0 || p[i] >= 1000 || seen[p[i]]) ok = 0; else seen[p[i]] = 1; }
  CHECK(ok);
  free(p);
  lt_release(mt);
  lt_release(m);
  lt_release(a);
  lt_release(b);
}

static void test_threads_do_not_change_results(void) {
  int64_t n = 3 * 1000 * 1000 + 17;
  lt_tensor *x = lt_empty(LT_FLOAT32, 1, &n);
  lt_manual_seed(1);
  lt_randn_(x, 0, 1);
  lt_set_num_threads(1);
  lt_tensor *s1 = lt_reduce(LT_SUM, x, -1, 0, 0), *e1 = lt_unary(LT_EXP, x);
  lt_set_num_threads(2);
  lt_tensor *s2 = lt_reduce(LT_SUM, x, -1, 0, 0), *e2 = lt_unary(LT_EXP, x);
  CHECK(lt_get(s1, NULL) == lt_get(s2, NULL));
  CHECK(memcmp(lt_data(e1), lt_data(e2), (size_t)n * sizeof(float)) == 0);
  lt_release(s1); lt_release(s2); lt_release(e1); lt_release(e2); lt_release(x);
}

static void test_denormals_flushed(void) {
  volatile float tiny = 1e-38f;
  volatile float r = tiny / 1e6f; /* would be a denormal */
  CHECK(r == 0.0f);
  lt_set_flush_denormal(0);
  r = tiny / 1e6f;
  CHECK(r > 0.0f && r < 1.2e-38f); /* the switch really turns flushing off */
  lt_set_flush_denormal(1);
  r = tiny / 1e6f;
  CHECK(r == 0.0f);
  /* in the kernels' pool threads too: a product split over two threads */
  lt_set_num_threads(2);
  int64_t n = 200000;
  lt_tensor *x = lt_empty(LT_FLOAT32, 1, &n);
  lt_fill_(x, 1e-30);
  lt_tensor *y = lt_binary_scalar(LT_MUL, x, 1e-10, 0, 0); /* 1e-40 is below the normal floats */
  CHECK(lt_get(y, (int64_t[]){0}) == 0 && lt_get(y, (int64_t[]){n - 1}) == 0);
  lt_release(y);
  lt_set_flush_denormal(0);
  y = lt_binary_scalar(LT_MUL, x, 1e-10, 0, 0);
  CHECK(lt_get(y, (int64_t[]){0}) > 0 && lt_get(y, (int64_t[]){n - 1}) > 0); /* read before DAZ is back */
  lt_release(y);
  lt_set_flush_denormal(1);
  lt_release(x);
}

static void test_parse_and_format_bytes(void) {
  static const struct { const char *text; size_t bytes; } good[] = {
      {"1048576", 1048576}, {"512M", (size_t)512 << 20}, {"2G", (size_t)2 << 30}, {"1.5GiB", (size_t)3 << 29},
      {" 64 kb ", 65536}, {"3t", (size_t)3 << 40}, {"100B", 100}, {"0", 0}, {".5K", 512}, {"7MiB", (size_t)7 << 20}};
  for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
    size_t v = 1;
    CHECK(lt_parse_bytes(good[k].text, &v) == 0 && v == good[k].bytes);
  }
  static const char *bad[] = {"", "abc", "-5", "1e9", "0x10", "12X", "1.5.5G", "5 G B B", "inf", "nan", "99999999T"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    size_t v = 7;
    CHECK(lt_parse_bytes(bad[k], &v) < 0 && v == 7 && strstr(lt_errmsg(), "size") != NULL);
  }
  char buf[32];
  CHECK(strcmp(lt_format_bytes(1, buf, sizeof buf), "1 byte") == 0);
  CHECK(strcmp(lt_format_bytes(1000, buf, sizeof buf), "1000 bytes") == 0);
  CHECK(strcmp(lt_format_bytes((size_t)12 << 20, buf, sizeof buf), "12 MiB") == 0);
  CHECK(strcmp(lt_format_bytes(2048000000, buf, sizeof buf), "1.9 GiB") == 0);
  CHECK(strcmp(lt_format_bytes((size_t)4 << 40, buf, sizeof buf), "4 TiB") == 0);
  CHECK(strcmp(lt_format_bytes((size_t)100 << 20 | 1, buf, sizeof buf), "100 MiB") == 0);
}

static void test_memory_limit(void) {
  size_t mib = (size_t)1 << 20;
  lt_mem_empty_cache();
  size_t base = lt_mem_in_use();
  lt_set_mem_limit(base + 3 * mib);
  CHECK(lt_mem_limit() == base + 3 * mib);
  void *big = lt_alloc(4 * mib); /* would pass the limit */
  CHECK(big == NULL && strstr(lt_errmsg(), "cannot allocate 4 MiB (4194304 bytes): the memory limit is") != NULL);
  CHECK(strstr(lt_mem_failure(), "the memory limit is") == lt_mem_failure());
  CHECK(lt_mem_in_use() == base); /* a refused request holds nothing */
  void *a = lt_alloc(2 * mib);
  CHECK(a != NULL);
  lt_free(a, 2 * mib); /* cached, unless LUNET_CACHE_MB=0 */
  /* live 0 + cached 2 MiB + 2.5 MiB passes 3 MiB: the cache goes first, then it fits */
  void *b = lt_alloc(2 * mib + mib / 2);
  CHECK(b != NULL && lt_mem_cached() == 0);
  void *c = lt_alloc(mib); /* live 2.5 + 1 > 3: refused even with an empty cache */
  CHECK(c == NULL && strstr(lt_errmsg(), "2.5 MiB are in use") != NULL);
  lt_free(b, 2 * mib + mib / 2);
  lt_set_mem_limit(0); /* no limit again */
  c = lt_alloc(8 * mib);
  CHECK(c != NULL);
  lt_free(c, 8 * mib);
  lt_mem_empty_cache();
}

/* a tensor of n floats, all 1 but for nan at 0, inf at 1 and -inf at 2 */
static lt_tensor *with_nonfinite(lt_dtype dt, int64_t n) {
  lt_tensor *t = lt_empty(dt, 1, &n);
  lt_fill_(t, 1.0);
  lt_set(t, (int64_t[]){0}, NAN);
  lt_set(t, (int64_t[]){1}, INFINITY);
  lt_set(t, (int64_t[]){n - 1}, -INFINITY);
  return t;
}

static void test_count_nonfinite(void) {
  lt_nonfinite c;
  for (int dt = LT_FLOAT32; dt <= LT_FLOAT64; dt++) {
    for (int64_t n = 3; n <= 300001; n += 150000) { /* small, then big enough for threads */
      lt_set_num_threads(2);
      lt_tensor *t = with_nonfinite((lt_dtype)dt, n);
      CHECK(lt_count_nonfinite(t, &c) == 3 && c.nan == 1 && c.posinf == 1 && c.neginf == 1);
      lt_fill_(t, 0.5);
      CHECK(lt_count_nonfinite(t, &c) == 0 && c.nan == 0);
      lt_release(t);
    }
  }
  /* strided: a transposed view and an expanded one (its nan seen once per row) */
  lt_tensor *m = lt_zeros(LT_FLOAT32, 2, (int64_t[]){3, 5});
  lt_set(m, (int64_t[]){2, 4}, NAN);
  lt_tensor *mt = lt_transpose(m, 0, 1);
  CHECK(lt_count_nonfinite(mt, &c) == 1 && c.nan == 1);
  lt_tensor *row = lt_select(m, 0, 2), *col = lt_unsqueeze(row, 0);
  lt_tensor *e = lt_expand(col, 2, (int64_t[]){4, 5});
  CHECK(lt_count_nonfinite(e, NULL) == 4);
  lt_tensor *ints = lt_zeros(LT_INT64, 1, (int64_t[]){4});
  CHECK(lt_count_nonfinite(ints, &c) == 0);
  lt_release(ints); lt_release(e); lt_release(col); lt_release(row); lt_release(mt); lt_release(m);
}

int main(void) {
  lt_runtime_init();
  test_views_share_storage();
  test_view_strides();
  test_expand_and_broadcast_copy();
  test_allocator_reuses_blocks();
  test_too_large();
  test_random_streams();
  test_threads_do_not_change_results();
  test_denormals_flushed();
  test_parse_and_format_bytes();
  test_memory_limit();
  test_count_nonfinite();
  return CHECK_REPORT();
}
