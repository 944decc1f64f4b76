/* tensor.h -- the lunet tensor core: storage, views and kernels.
 *
 * Pure C, no Lua: a binding layer (l_tensor.c) checks Lua arguments and turns
 * core errors into Lua errors. The core is 0-based everywhere.
 *
 * Error convention: a function that can fail returns NULL (or -1) and leaves a
 * message in lt_errmsg(); it never exits or aborts on bad input.
 *
 * Ownership: every lt_tensor* returned by a function is a new reference the
 * caller must lt_release(). Arguments are borrowed.
 */
#ifndef LUNET_TENSOR_H
#define LUNET_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define LT_MAX_DIM 8

typedef enum { LT_FLOAT32 = 0, LT_FLOAT64 = 1, LT_INT64 = 2 } lt_dtype;

typedef struct lt_storage {
  void *data;
  size_t nbytes;
  int refcount;
  uint32_t version; /* bumped by in-place writes; autograd checks it */
} lt_storage;

struct lt_agmeta; /* autograd's per-tensor record (autograd.h); NULL for plain tensors */

typedef struct lt_tensor {
  int refcount;
  lt_dtype dtype;
  int ndim;
  int64_t shape[LT_MAX_DIM];
  int64_t stride[LT_MAX_DIM]; /* in elements, may be 0 (expanded) */
  int64_t offset;             /* in elements */
  lt_storage *storage;
  struct lt_agmeta *ag;
} lt_tensor;

/* set by the autograd layer: frees a tensor's lt_agmeta (the core knows
   nothing of autograd beyond handing the record back) */
extern void (*lt_agmeta_free)(struct lt_agmeta *meta);

/* ---- errors ---------------------------------------------------------------- */
const char *lt_errmsg(void);
int lt_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- dtypes ---------------------------------------------------------------- */
size_t lt_dtype_size(lt_dtype dt);
const char *lt_dtype_name(lt_dtype dt);
int lt_dtype_from_name(const char *name, lt_dtype *out); /* 0 ok, -1 unknown */
int lt_is_float(lt_dtype dt);
lt_dtype lt_promote(lt_dtype a, lt_dtype b);
int64_t lt_double_to_i64(double v); /* saturating cast; NaN becomes 0 */

/* ---- memory (alloc.c): a caching allocator that counts its bytes ----------- */
void *lt_alloc(size_t nbytes);   /* 64-byte aligned; NULL + lt_errmsg on failure */
void lt_free(void *p, size_t nbytes);
size_t lt_mem_in_use(void);      /* bytes held by live storages */
size_t lt_mem_cached(void);      /* bytes kept for reuse */
size_t lt_mem_headers(void);     /* bytes of live tensor and storage headers (tensor.c) */
void lt_mem_empty_cache(void);
/* cap on the bytes the allocator holds (live + cached); 0 removes it. An
   allocation past it empties the cache, then fails with a message. */
void lt_set_mem_limit(size_t nbytes);
size_t lt_mem_limit(void);       /* 0: no limit */
/* why the last lt_alloc failed: "out of memory" or "the memory limit is ..." */
const char *lt_mem_failure(void);
char *lt_format_bytes(size_t n, char *buf, size_t len); /* "1.9 GiB" */
/* "512M", "2G", "1.5GiB", "1048576" (units are powers of 1024); -1 + message if not a size */
int lt_parse_bytes(const char *s, size_t *out);

/* ---- lifecycle and geometry (tensor.c) ------------------------------------- */
lt_tensor *lt_empty(lt_dtype dt, int ndim, const int64_t *shape);
lt_tensor *lt_zeros(lt_dtype dt, int ndim, const int64_t *shape);
lt_tensor *lt_retain(lt_tensor *t);
void lt_release(lt_tensor *t);
int64_t lt_numel(const lt_tensor *t);
int lt_is_contiguous(const lt_tensor *t);
int lt_same_shape(const lt_tensor *a, const lt_tensor *b);
void *lt_data(const lt_tensor *t); /* pointer to element at offset */
void lt_bump_version(lt_tensor *t);
/* -1 with a message if elements of t share memory (an expanded view), as
   an in-place write into it would be ambiguous */
int lt_check_writable(const lt_tensor *t);
/* "2x3x4" into buf; returns buf */
char *lt_shape_str(int ndim, const int64_t *shape, char *buf, size_t len);

/* element access by 0-based multi-index (slow path: printing, item, tables) */
double lt_get(const lt_tensor *t, const int64_t *idx);
void lt_set(lt_tensor *t, const int64_t *idx, double v);
int64_t lt_get_i64(const lt_tensor *t, const int64_t *idx);
void lt_set_i64(lt_tensor *t, const int64_t *idx, int64_t v);

/* views: share storage, never copy */
lt_tensor *lt_view(lt_tensor *t, int ndim, const int64_t *shape); /* -1 infers one dim */
lt_tensor *lt_reshape(lt_tensor *t, int ndim, const int64_t *shape); /* view or copy */
lt_tensor *lt_as_strided(lt_tensor *t, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset);
lt_tensor *lt_transpose(lt_tensor *t, int d0, int d1);
lt_tensor *lt_permute(lt_tensor *t, const int *dims);
lt_tensor *lt_narrow(lt_tensor *t, int dim, int64_t start, int64_t length);
lt_tensor *lt_slice(lt_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);
lt_tensor *lt_select(lt_tensor *t, int dim, int64_t index);
lt_tensor *lt_squeeze(lt_tensor *t, int dim); /* dim -1: all size-1 dims */
lt_tensor *lt_unsqueeze(lt_tensor *t, int dim);
lt_tensor *lt_expand(lt_tensor *t, int ndim, const int64_t *shape); /* -1 keeps */
lt_tensor *lt_flatten(lt_tensor *t, int start, int end);

/* copies and conversion */
lt_tensor *lt_contiguous(lt_tensor *t); /* t itself (retained) if contiguous */
lt_tensor *lt_clone(lt_tensor *t);
lt_tensor *lt_to(lt_tensor *t, lt_dtype dt); /* retained t if already dt */
int lt_copy_(lt_tensor *dst, lt_tensor *src); /* broadcasts src, casts dtype */
int lt_fill_(lt_tensor *t, double v);

/* ---- creation (random.c, tensor.c) ----------------------------------------- */
lt_tensor *lt_arange(lt_dtype dt, double start, double end, double step);
lt_tensor *lt_linspace(lt_dtype dt, double start, double end, int64_t n);
lt_tensor *lt_eye(lt_dtype dt, int64_t n, int64_t m);

void lt_manual_seed(uint64_t seed);
uint64_t lt_initial_seed(void);
int lt_rand_(lt_tensor *t, double lo, double hi);   /* uniform [lo, hi) */
int lt_randn_(lt_tensor *t, double mean, double std);
int lt_randint_(lt_tensor *t, int64_t lo, int64_t hi); /* [lo, hi) */
int lt_bernoulli_(lt_tensor *t, double p);
int64_t *lt_randperm(int64_t n); /* malloc'ed, caller frees; 0-based */

/* ---- pointwise (pointwise.c) ----------------------------------------------- */
typedef enum {
  LT_ADD, LT_SUB, LT_MUL, LT_DIV, LT_POW, LT_MOD, LT_FLOORDIV, LT_MAXIMUM, LT_MINIMUM, LT_ATAN2,
  LT_EQ, LT_NE, LT_LT, LT_LE, LT_GT, LT_GE, LT_BINARY_COUNT
} lt_binop;
typedef enum {
  LT_NEG, LT_EXP, LT_LOG, LT_SQRT, LT_ABS, LT_TANH, LT_SIGMOID, LT_RELU, LT_SIN, LT_COS,
  LT_LOG1P, LT_EXPM1, LT_FLOOR, LT_CEIL, LT_ROUND, LT_SIGN, LT_RSQRT, LT_RECIPROCAL,
  LT_SQUARE, LT_ERF, LT_UNARY_COUNT
} lt_unop;

int lt_broadcast_shape(const lt_tensor *a, const lt_tensor *b, int *ndim, int64_t *shape);
lt_tensor *lt_binary(lt_binop op, lt_tensor *a, lt_tensor *b);
lt_tensor *lt_binary_scalar(lt_binop op, lt_tensor *a, double s, int scalar_is_int,
                            int scalar_first);
int lt_binary_(lt_binop op, lt_tensor *a, lt_tensor *b);  /* a op= b (b broadcasts) */
int lt_binary_scalar_(lt_binop op, lt_tensor *a, double s);
lt_tensor *lt_unary(lt_unop op, lt_tensor *a);
int lt_unary_(lt_unop op, lt_tensor *a);
lt_tensor *lt_clamp(lt_tensor *a, double lo, double hi); /* NAN bound = none */
int lt_clamp_(lt_tensor *a, double lo, double hi);
lt_tensor *lt_where(lt_tensor *cond, lt_tensor *a, lt_tensor *b);
int lt_masked_fill_(lt_tensor *t, lt_tensor *mask, double v);
const char *lt_binop_name(lt_binop op);
const char *lt_unop_name(lt_unop op);

/* ---- reductions (reduce.c) ------------------------------------------------- */
typedef enum { LT_SUM, LT_MEAN, LT_PROD, LT_MAX, LT_MIN, LT_ARGMAX, LT_ARGMIN,
               LT_VAR, LT_STD, LT_LOGSUMEXP, LT_REDUCE_COUNT } lt_reduce_op;
/* dim < 0: over all elements (0-dim result). correction: for var/std. */
lt_tensor *lt_reduce(lt_reduce_op op, lt_tensor *t, int dim, int keepdim, int correction);
/* max/min along dim with 0-based indices */
int lt_reduce_with_index(lt_reduce_op op, lt_tensor *t, int dim, int keepdim,
                         lt_tensor **values, lt_tensor **indices);
lt_tensor *lt_softmax(lt_tensor *t, int dim, int log);

/* ---- linear algebra (blas.c) ----------------------------------------------- */
lt_tensor *lt_mm(lt_tensor *a, lt_tensor *b);
/* c = beta c + a @ b into c (2-d, contiguous, all one float dtype) */
int lt_addmm_(lt_tensor *c, lt_tensor *a, lt_tensor *b, double beta);
lt_tensor *lt_bmm(lt_tensor *a, lt_tensor *b);
lt_tensor *lt_matmul(lt_tensor *a, lt_tensor *b);
lt_tensor *lt_dot(lt_tensor *a, lt_tensor *b);

/* ---- gathering and joining (index.c) --------------------------------------- */
/* index tensors are int64 with 0-based values */
lt_tensor *lt_index_select(lt_tensor *t, int dim, lt_tensor *index);
lt_tensor *lt_gather(lt_tensor *t, int dim, lt_tensor *index);
lt_tensor *lt_cat(lt_tensor **ts, int n, int dim);
/* dst[.., index[i], ..] += src[.., i, ..] along dim (index 1-d), and
   dst[index[i][j]][j] += src[i][j] for dim 0 and so on; repeated indices add up */
int lt_index_add_(lt_tensor *dst, int dim, lt_tensor *index, lt_tensor *src);
int lt_scatter_add_(lt_tensor *dst, int dim, lt_tensor *index, lt_tensor *src);
lt_tensor *lt_stack(lt_tensor **ts, int n, int dim);

/* ---- threads and floating point (runtime.c) -------------------------------- */
/* flush denormals, default thread count, LUNET_MAX_MEMORY (a bad value: a
   warning on stderr and no limit) */
void lt_runtime_init(void);
int lt_get_num_threads(void);
void lt_set_num_threads(int n);
/* flush denormals to zero (on by default) in every thread, Lua's included */
void lt_set_flush_denormal(int on);
const char *lt_blas_info(void);  /* "OpenBLAS 0.3.21 (openmp) Haswell" */
double lt_clock(void);           /* monotonic wall time in seconds */

#endif
