/* blas.c -- matrix products through cblas_sgemm / cblas_dgemm.
 *
 * A transposed view (stride 1 along the rows) is handed to BLAS as a
 * transpose with its leading dimension, never copied; only layouts BLAS
 * cannot describe (e.g. both strides > 1, or expanded) are made contiguous.
 * int64 products use a plain loop (they are for indices, not speed).
 */
#include "iter.h"
#include <cblas.h>
#include <string.h>

typedef struct { lt_tensor *t; CBLAS_TRANSPOSE trans; int64_t ld; } operand;

/* describe a 2-d view (rows x cols) for BLAS, copying only if it must */
static int as_blas(lt_tensor *t, operand *op) {
  int64_t r = t->shape[0], c = t->shape[1], s0 = t->stride[0], s1 = t->stride[1];
  if ((s1 == 1 || c == 1) && s0 >= (c > 1 ? c : 1)) {
    op->t = lt_retain(t); op->trans = CblasNoTrans; op->ld = c == 1 && r == 1 ? 1 : (s0 ? s0 : 1);
    if (op->ld < c) op->ld = c;
    return 0;
  }
  if ((s0 == 1 || r == 1) && s1 >= (r > 1 ? r : 1)) {
    op->t = lt_retain(t); op->trans = CblasTrans; op->ld = s1 ? s1 : 1;
    if (op->ld < r) op->ld = r;
    return 0;
  }
  op->t = lt_contiguous(t);
  if (!op->t) return -1;
  op->trans = CblasNoTrans;
  op->ld = c > 1 ? c : 1;
  return 0;
}

/* the inner dimensions ka of a and kb of b must agree */
static int check_mm(lt_tensor *a, lt_tensor *b, int ka, int kb) {
  char sa[128], sb[128];
  if (a->shape[ka] != b->shape[kb])
    return lt_seterr("shapes %s and %s do not match (%lld ~= %lld)",
                     lt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                     lt_shape_str(b->ndim, b->shape, sb, sizeof sb), (long long)a->shape[ka],
                     (long long)b->shape[kb]);
  return 0;
}

/* both operands must have nd dimensions */
static int check_ndim(lt_tensor *a, lt_tensor *b, int nd) {
  char sa[128], sb[128];
  if (a->ndim != nd || b->ndim != nd)
    return lt_seterr("expected two %d-d tensors, got shapes %s and %s", nd,
                     lt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                     lt_shape_str(b->ndim, b->shape, sb, sizeof sb));
  return 0;
}

/* c (m x n, contiguous, same dtype) = beta c + a (m x k) @ b (k x n);
   beta is 0 or 1 for int64 */
static int gemm_into(lt_tensor *c, lt_tensor *a, lt_tensor *b, double beta) {
  int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1];
  if (m == 0 || n == 0) return 0;
  if (k == 0) {
    if (beta == 0) memset(lt_data(c), 0, (size_t)(m * n) * lt_dtype_size(c->dtype));
    else if (beta != 1) return lt_binary_scalar_(LT_MUL, c, beta);
    return 0;
  }
  if (c->dtype == LT_INT64) {
    int64_t *o = lt_data(c);
    const int64_t *A = lt_data(a), *B = lt_data(b);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        int64_t s = 0;
        for (int64_t p = 0; p < k; p++) s += A[i * a->stride[0] + p * a->stride[1]] * B[p * b->stride[0] + j * b->stride[1]];
        o[i * n + j] = beta == 0 ? s : o[i * n + j] + s;
      }
    return 0;
  }
  operand oa, ob;
  if (as_blas(a, &oa) < 0) return -1;
  if (as_blas(b, &ob) < 0) { lt_release(oa.t); return -1; }
  if (c->dtype == LT_FLOAT32)
    cblas_sgemm(CblasRowMajor, oa.trans, ob.trans, (int)m, (int)n, (int)k, 1.0f, lt_data(oa.t),
                (int)oa.ld, lt_data(ob.t), (int)ob.ld, (float)beta, lt_data(c), (int)n);
  else
    cblas_dgemm(CblasRowMajor, oa.trans, ob.trans, (int)m, (int)n, (int)k, 1.0, lt_data(oa.t),
                (int)oa.ld, lt_data(ob.t), (int)ob.ld, beta, lt_data(c), (int)n);
  lt_release(oa.t);
  lt_release(ob.t);
  return 0;
}

static int too_big(lt_tensor *a, lt_tensor *b) {
  for (int d = 0; d < a->ndim; d++) if (a->shape[d] > 2147483647) return 1;
  for (int d = 0; d < b->ndim; d++) if (b->shape[d] > 2147483647) return 1;
  return 0;
}

/* both operands in the common dtype */
static int promote_pair(lt_tensor *a, lt_tensor *b, lt_tensor **ca, lt_tensor **cb) {
  lt_dtype dt = lt_promote(a->dtype, b->dtype);
  *ca = lt_to(a, dt);
  *cb = *ca ? lt_to(b, dt) : NULL;
  if (!*cb) { lt_release(*ca); return -1; }
  return 0;
}

lt_tensor *lt_mm(lt_tensor *a, lt_tensor *b) {
  if (check_ndim(a, b, 2) < 0) return NULL;
  if (check_mm(a, b, 1, 0) < 0) return NULL;
  if (too_big(a, b)) { lt_seterr("matrix dimensions above 2^31-1 are not supported"); return NULL; }
  lt_tensor *ca, *cb;
  if (promote_pair(a, b, &ca, &cb) < 0) return NULL;
  lt_tensor *c = lt_empty(ca->dtype, 2, (int64_t[]){a->shape[0], b->shape[1]});
  if (c && gemm_into(c, ca, cb, 0) < 0) { lt_release(c); c = NULL; }
  lt_release(ca);
  lt_release(cb);
  return c;
}

int lt_addmm_(lt_tensor *c, lt_tensor *a, lt_tensor *b, double beta) {
  char sc[128];
  if (check_ndim(a, b, 2) < 0 || check_mm(a, b, 1, 0) < 0) return -1;
  if (too_big(a, b)) return lt_seterr("matrix dimensions above 2^31-1 are not supported");
  if (c->ndim != 2 || c->shape[0] != a->shape[0] || c->shape[1] != b->shape[1] || !lt_is_contiguous(c))
    return lt_seterr("addmm_: result %s must be a contiguous %lldx%lld matrix",
                     lt_shape_str(c->ndim, c->shape, sc, sizeof sc), (long long)a->shape[0],
                     (long long)b->shape[1]);
  if (a->dtype != c->dtype || b->dtype != c->dtype || !lt_is_float(c->dtype))
    return lt_seterr("addmm_: operands must all be float32 or all float64");
  if (lt_check_writable(c) < 0) return -1;
  return gemm_into(c, a, b, beta);
}

lt_tensor *lt_bmm(lt_tensor *a, lt_tensor *b) {
  char sa[128], sb[128];
  if (check_ndim(a, b, 3) < 0) return NULL;
  if (a->shape[0] != b->shape[0]) {
    lt_seterr("batch sizes differ: shapes %s and %s (%lld ~= %lld)",
              lt_shape_str(a->ndim, a->shape, sa, sizeof sa), lt_shape_str(b->ndim, b->shape, sb, sizeof sb),
              (long long)a->shape[0], (long long)b->shape[0]);
    return NULL;
  }
  if (check_mm(a, b, 2, 1) < 0) return NULL;
  if (too_big(a, b)) { lt_seterr("matrix dimensions above 2^31-1 are not supported"); return NULL; }
  lt_tensor *ca, *cb;
  if (promote_pair(a, b, &ca, &cb) < 0) return NULL;
  int64_t nb = a->shape[0];
  lt_tensor *c = lt_empty(ca->dtype, 3, (int64_t[]){nb, a->shape[1], b->shape[2]});
  for (int64_t i = 0; c && i < nb; i++) {
    lt_tensor *ai = lt_select(ca, 0, i), *bi = lt_select(cb, 0, i), *ci = lt_select(c, 0, i);
    int rc = (ai && bi && ci) ? gemm_into(ci, ai, bi, 0) : -1;
    lt_release(ai); lt_release(bi); lt_release(ci);
    if (rc < 0) { lt_release(c); c = NULL; }
  }
  lt_release(ca);
  lt_release(cb);
  return c;
}

lt_tensor *lt_dot(lt_tensor *a, lt_tensor *b) {
  if (check_ndim(a, b, 1) < 0) return NULL;
  if (check_mm(a, b, 0, 0) < 0) return NULL;
  lt_tensor *p = lt_binary(LT_MUL, a, b);
  if (!p) return NULL;
  lt_tensor *s = lt_reduce(LT_SUM, p, -1, 0, 0);
  lt_release(p);
  return s;
}

/* (..., m, k) @ (..., k, n) with broadcast batch dimensions */
static lt_tensor *batched(lt_tensor *a, lt_tensor *b) {
  char sa[128], sb[128];
  int nba = a->ndim - 2, nbb = b->ndim - 2, nbatch = nba > nbb ? nba : nbb;
  int64_t bshape[LT_MAX_DIM], m = a->shape[a->ndim - 2], n = b->shape[b->ndim - 1], k = a->shape[a->ndim - 1];
  int64_t batch = 1;
  for (int d = 0; d < nbatch; d++) {
    int da = d - (nbatch - nba), db = d - (nbatch - nbb);
    int64_t x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
    if (x != y && x != 1 && y != 1) {
      lt_seterr("batch dimensions of shapes %s and %s cannot be broadcast",
                lt_shape_str(a->ndim, a->shape, sa, sizeof sa), lt_shape_str(b->ndim, b->shape, sb, sizeof sb));
      return NULL;
    }
    bshape[d] = x == 1 ? y : x;
    batch *= bshape[d];
  }
  int64_t ea[LT_MAX_DIM], eb[LT_MAX_DIM];
  for (int d = 0; d < nbatch; d++) ea[d] = eb[d] = bshape[d];
  ea[nbatch] = m; ea[nbatch + 1] = k;
  eb[nbatch] = k; eb[nbatch + 1] = n;
  lt_tensor *xa = lt_expand(a, nbatch + 2, ea), *xb = xa ? lt_expand(b, nbatch + 2, eb) : NULL;
  lt_tensor *ra = xb ? lt_reshape(xa, 3, (int64_t[]){batch, m, k}) : NULL;
  lt_tensor *rb = ra ? lt_reshape(xb, 3, (int64_t[]){batch, k, n}) : NULL;
  lt_tensor *c = rb ? lt_bmm(ra, rb) : NULL, *out = NULL;
  if (c) {
    bshape[nbatch] = m; bshape[nbatch + 1] = n;
    out = lt_view(c, nbatch + 2, bshape);
  }
  lt_release(xa); lt_release(xb); lt_release(ra); lt_release(rb); lt_release(c);
  return out;
}

lt_tensor *lt_matmul(lt_tensor *a, lt_tensor *b) {
  if (a->ndim == 0 || b->ndim == 0) {
    lt_seterr("both arguments must have at least one dimension");
    return NULL;
  }
  if (a->ndim == 1 && b->ndim == 1) return lt_dot(a, b);
  if (a->ndim == 2 && b->ndim == 2) return lt_mm(a, b);
  /* a vector operand becomes a matrix and its dimension is dropped after */
  lt_tensor *ua = a->ndim == 1 ? lt_unsqueeze(a, 0) : lt_retain(a);
  lt_tensor *ub = b->ndim == 1 ? lt_unsqueeze(b, 1) : lt_retain(b);
  lt_tensor *r = NULL;
  if (check_mm(ua, ub, ua->ndim - 1, ub->ndim - 2) < 0) {
    /* name the shapes the user passed */
    char sa[128], sb[128];
    lt_seterr("shapes %s and %s do not match (%lld ~= %lld)", lt_shape_str(a->ndim, a->shape, sa, sizeof sa),
              lt_shape_str(b->ndim, b->shape, sb, sizeof sb), (long long)ua->shape[ua->ndim - 1],
              (long long)ub->shape[ub->ndim - 2]);
  } else if (ub->ndim == 2) {
    /* (..., m, k) @ (k, n): one GEMM over all rows */
    int64_t rows = 1; /* a product, not numel / k: k may be 0 */
    for (int d = 0; d < ua->ndim - 1; d++) rows *= ua->shape[d];
    lt_tensor *flat = lt_reshape(ua, 2, (int64_t[]){rows, ua->shape[ua->ndim - 1]});
    lt_tensor *c = flat ? lt_mm(flat, ub) : NULL;
    if (c) {
      int64_t shape[LT_MAX_DIM];
      for (int d = 0; d < ua->ndim - 1; d++) shape[d] = ua->shape[d];
      shape[ua->ndim - 1] = ub->shape[1];
      r = lt_view(c, ua->ndim, shape);
    }
    lt_release(flat);
    lt_release(c);
  } else {
    r = batched(ua, ub);
  }
  lt_release(ua);
  lt_release(ub);
  if (r && (a->ndim == 1 || b->ndim == 1)) {
    lt_tensor *s = lt_squeeze(r, a->ndim == 1 ? r->ndim - 2 : r->ndim - 1);
    lt_release(r);
    r = s;
  }
  return r;
}
