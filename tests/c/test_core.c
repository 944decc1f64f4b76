/* test_core.c -- the C tensor core without Lua: views, copies, the allocator,
 * the strided iterator, the generator and error reporting. */
#include "check.h"
#include "tensor.h"
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
  return CHECK_REPORT();
}
