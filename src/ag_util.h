/* ag_util.h -- shared by the files that define differentiable ops (ag_*.c):
 * a scope of temporaries for backward functions and the recording helpers. */
#ifndef LUNET_AG_UTIL_H
#define LUNET_AG_UTIL_H
#include "autograd.h"

/* ---- helpers for backward functions: K(expr) keeps a temporary and jumps
   to fail on error; every kept tensor is released at the end ------------------ */
typedef struct { lt_tensor *t[32]; int n; } scope;

static inline lt_tensor *keep(scope *s, lt_tensor *t) {
  if (!t) return NULL;
  if (s->n == (int)(sizeof s->t / sizeof s->t[0])) {
    lt_release(t);
    lt_seterr("too many temporaries in one backward");
    return NULL;
  }
  return s->t[s->n++] = t;
}
static inline void drop(scope *s) { for (int k = 0; k < s->n; k++) lt_release(s->t[k]); s->n = 0; }
#define K(expr) K_(expr, __COUNTER__)
#define K_(expr, c) K__(expr, c)
#define K__(expr, c) ({ lt_tensor *k_##c = keep(&sc, (expr)); if (!k_##c) goto fail; k_##c; })
#define OUT(slot, expr) do { if (!((slot) = (expr))) goto fail; } while (0)
#define MUL(a, b) lt_binary(LT_MUL, a, b)
#define DIV(a, b) lt_binary(LT_DIV, a, b)
#define SUB(a, b) lt_binary(LT_SUB, a, b)
#define ADD(a, b) lt_binary(LT_ADD, a, b)
#define SMUL(a, s) lt_binary_scalar(LT_MUL, a, s, 0, 0)

/* record a node; on failure out is released and NULL returned through *out */
static inline lt_node *record(lt_tensor **out, const char *name, lt_backward_fn fn, int n, lt_tensor *const *in) {
  int err;
  lt_node *node = lt_record(*out, name, fn, n, in, &err);
  if (err) { lt_release(*out); *out = NULL; }
  return node;
}

static inline lt_tensor *fail_out(lt_tensor *out) { lt_release(out); return NULL; }

#endif
