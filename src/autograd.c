/* autograd.c -- tensor records, graph recording and the backward engine */
#include "autograd.h"
#include "iter.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grad_enabled = 1;
static int anomaly_enabled = 0;
static int backward_depth = 0; /* > 0 while the engine runs backward functions */

int lt_grad_enabled(void) { return grad_enabled; }
void lt_set_grad_enabled(int on) { grad_enabled = on != 0; }
int lt_anomaly_enabled(void) { return anomaly_enabled; }
void lt_set_anomaly_enabled(int on) { anomaly_enabled = on != 0; }

/* ---- non-finite values ----------------------------------------------------------
   The common case (all finite) is one pass testing the exponent bits, a loop
   the compiler vectorises; the kinds are only told apart when something is found. */
#define F32_EXP 0x7f800000u
#define F64_EXP 0x7ff0000000000000ull

static void count_nonfinite_f32(int64_t n, char **p, const int64_t *s, void *ctx) {
  const uint32_t *x = (const uint32_t *)p[0];
  int64_t bad = 0;
  if (s[0] == 1) {
#pragma omp simd reduction(+ : bad)
    for (int64_t k = 0; k < n; k++) bad += (x[k] & F32_EXP) == F32_EXP;
  } else {
    for (int64_t k = 0; k < n; k++) bad += (x[k * s[0]] & F32_EXP) == F32_EXP;
  }
  if (bad) __atomic_fetch_add((int64_t *)ctx, bad, __ATOMIC_RELAXED);
}

static void count_nonfinite_f64(int64_t n, char **p, const int64_t *s, void *ctx) {
  const uint64_t *x = (const uint64_t *)p[0];
  int64_t bad = 0;
  if (s[0] == 1) {
#pragma omp simd reduction(+ : bad)
    for (int64_t k = 0; k < n; k++) bad += (x[k] & F64_EXP) == F64_EXP;
  } else {
    for (int64_t k = 0; k < n; k++) bad += (x[k * s[0]] & F64_EXP) == F64_EXP;
  }
  if (bad) __atomic_fetch_add((int64_t *)ctx, bad, __ATOMIC_RELAXED);
}

static void add_kind(lt_nonfinite *c, double v) {
  if (v != v) __atomic_fetch_add(&c->nan, 1, __ATOMIC_RELAXED);
  else if (v > 0) __atomic_fetch_add(&c->posinf, 1, __ATOMIC_RELAXED);
  else __atomic_fetch_add(&c->neginf, 1, __ATOMIC_RELAXED);
}

static void classify_f32(int64_t n, char **p, const int64_t *s, void *ctx) {
  const float *x = (const float *)p[0];
  for (int64_t k = 0; k < n; k++)
    if (!isfinite(x[k * s[0]])) add_kind(ctx, x[k * s[0]]);
}

static void classify_f64(int64_t n, char **p, const int64_t *s, void *ctx) {
  const double *x = (const double *)p[0];
  for (int64_t k = 0; k < n; k++)
    if (!isfinite(x[k * s[0]])) add_kind(ctx, x[k * s[0]]);
}

int64_t lt_count_nonfinite(lt_tensor *t, lt_nonfinite *kinds) {
  if (kinds) memset(kinds, 0, sizeof *kinds);
  if (!lt_is_float(t->dtype)) return 0;
  lt_iter it;
  if (lt_iter_tensors(&it, 1, &t, t->ndim, t->shape) < 0) return 0;
  int f32 = t->dtype == LT_FLOAT32;
  int64_t bad = 0;
  lt_iter_run(&it, f32 ? count_nonfinite_f32 : count_nonfinite_f64, &bad);
  if (bad && kinds) lt_iter_run(&it, f32 ? classify_f32 : classify_f64, kinds);
  return bad;
}

/* "nan and -inf values (3 of 6 elements)" */
static const char *describe_nonfinite(const lt_tensor *t, const lt_nonfinite *c, char *buf, size_t len) {
  const char *kind[3] = {"nan", "inf", "-inf"};
  int64_t count[3] = {c->nan, c->posinf, c->neginf};
  char kinds[32] = "";
  for (int k = 0; k < 3; k++) {
    if (!count[k]) continue;
    if (*kinds) strcat(kinds, " and ");
    strcat(kinds, kind[k]);
  }
  int64_t numel = lt_numel(t);
  snprintf(buf, len, "%s values (%lld of %lld element%s)", kinds, (long long)(c->nan + c->posinf + c->neginf),
           (long long)numel, numel == 1 ? "" : "s");
  return buf;
}

/* "Log" from "LogBackward": the forward op a node records */
static const char *op_name(const char *node_name, char *buf, size_t len) {
  size_t n = strlen(node_name), suffix = strlen("Backward");
  if (n > suffix && strcmp(node_name + n - suffix, "Backward") == 0) n -= suffix;
  snprintf(buf, len, "%.*s", (int)n, node_name);
  return buf;
}

/* Forward: blame the op that made a nan from nan-free inputs, or an infinity
   from finite inputs. An input already holding nan was not made by a checked
   op: that is reported too, as the place the nan entered. Infinities that an
   input already had may spread (a -inf attention mask added to scores), and
   masked_fill writes the value it was given, so those pass. */
static int check_forward(lt_tensor *out, const char *name, int n, lt_tensor *const *inputs) {
  lt_nonfinite o, in;
  char op[64], what[96];
  if (!lt_count_nonfinite(out, &o)) return 0;
  op_name(name, op, sizeof op);
  int input_inf = 0;
  for (int k = 0; k < n; k++) {
    if (!inputs[k] || !lt_count_nonfinite(inputs[k], &in)) continue;
    if (o.nan && in.nan)
      return lt_seterr("anomaly detected in forward: input %d of %s holds %s that no checked op produced "
                       "(data, a leaf tensor, an in-place op, or a result from before detect_anomaly was on)",
                       k + 1, op, describe_nonfinite(inputs[k], &in, what, sizeof what));
    input_inf = 1;
  }
  if (o.nan)
    return lt_seterr("anomaly detected in forward: %s produced %s from inputs without nan", op,
                     describe_nonfinite(out, &o, what, sizeof what));
  if (input_inf || strcmp(name, "MaskedFillBackward") == 0) return 0;
  return lt_seterr("anomaly detected in forward: %s produced %s from finite inputs", op,
                   describe_nonfinite(out, &o, what, sizeof what));
}

/* Backward: a gradient a node returned holds nan or an infinity. */
static int check_backward(lt_node *n, lt_tensor **gin) {
  char what[96];
  for (int k = 0; k < n->ninputs; k++) {
    lt_nonfinite c;
    if (!gin[k] || !n->needs[k] || !lt_count_nonfinite(gin[k], &c)) continue;
    return lt_seterr("anomaly detected in backward: %s returned %s in its gradient for input %d", n->name,
                     describe_nonfinite(gin[k], &c, what, sizeof what), k + 1);
  }
  return 0;
}

/* ---- nodes ----------------------------------------------------------------- */
static void node_release(lt_node *n);

static void release_saved(lt_node *n) {
  for (int k = 0; k < n->nsaved; k++) { lt_release(n->saved[k]); n->saved[k] = NULL; }
}

/* Dropping a long chain of nodes recursively could exhaust the C stack (an
   RNN unrolled over thousands of steps), so releases go through a worklist. */
static void node_release(lt_node *first) {
  lt_node **work = NULL;
  size_t len = 0, cap = 0;
  lt_node *n = first;
  while (n) {
    if (--n->refcount == 0) {
      release_saved(n);
      for (int k = 0; k < n->ninputs; k++) {
        lt_release(n->leaf[k]);
        if (n->next[k]) {
          if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            lt_node **w = realloc(work, nc * sizeof *w);
            if (!w) { n->next[k]->refcount--; continue; } /* leak rather than crash */
            work = w;
            cap = nc;
          }
          work[len++] = n->next[k];
        }
      }
      lt_release(n->gacc);
      if (n->ctx_free) n->ctx_free(n->ctx);
      free(n->next); free(n->leaf); free(n->needs); free(n->in_ndim); free(n->in_shape); free(n->in_dtype);
      free(n);
    }
    n = len ? work[--len] : NULL;
  }
  free(work);
}

static void meta_free(lt_agmeta *m) {
  lt_release(m->grad);
  if (m->grad_fn) node_release(m->grad_fn);
  free(m);
}

void lt_autograd_init(void) { lt_agmeta_free = meta_free; }

static lt_agmeta *meta(lt_tensor *t) {
  if (!t->ag) {
    t->ag = calloc(1, sizeof *t->ag);
    if (!t->ag) lt_seterr("out of memory");
  }
  return t->ag;
}

int lt_requires_grad(const lt_tensor *t) { return t->ag && t->ag->requires_grad; }
lt_tensor *lt_grad(const lt_tensor *t) { return t->ag ? t->ag->grad : NULL; }
lt_node *lt_grad_fn(const lt_tensor *t) { return t->ag ? t->ag->grad_fn : NULL; }

int lt_set_requires_grad(lt_tensor *t, int on) {
  if (t->ag && t->ag->grad_fn)
    return lt_seterr("requires_grad can only be changed on a leaf tensor (this one comes from %s; use detach())",
                     t->ag->grad_fn->name);
  if (on && !lt_is_float(t->dtype))
    return lt_seterr("only floating-point tensors can require gradients, got %s", lt_dtype_name(t->dtype));
  if (!on && !t->ag) return 0;
  if (!meta(t)) return -1;
  t->ag->requires_grad = on != 0;
  return 0;
}

void lt_set_grad(lt_tensor *t, lt_tensor *g) {
  if (!g && !t->ag) return;
  if (!meta(t)) return;
  if (g) lt_retain(g);
  lt_release(t->ag->grad);
  t->ag->grad = g;
}

lt_tensor *lt_detach(lt_tensor *t) {
  return lt_as_strided(t, t->ndim, t->shape, t->stride, t->offset);
}

/* ---- recording ------------------------------------------------------------- */
lt_node *lt_record(lt_tensor *out, const char *name, lt_backward_fn fn, int n,
                   lt_tensor *const *inputs, int *err) {
  *err = 0;
  /* backward functions are checked on what they return, not op by op */
  if (anomaly_enabled && out && backward_depth == 0 && check_forward(out, name, n, inputs) < 0) {
    *err = -1;
    return NULL;
  }
  if (!grad_enabled || !out || !lt_is_float(out->dtype)) return NULL;
  int any = 0;
  for (int k = 0; k < n; k++) any |= inputs[k] && lt_requires_grad(inputs[k]);
  if (!any) return NULL;
  lt_node *node = calloc(1, sizeof *node);
  if (node) {
    node->next = calloc((size_t)n, sizeof *node->next);
    node->leaf = calloc((size_t)n, sizeof *node->leaf);
    node->needs = calloc((size_t)n, 1);
    node->in_ndim = calloc((size_t)n, sizeof *node->in_ndim);
    node->in_shape = calloc((size_t)n, sizeof *node->in_shape);
    node->in_dtype = calloc((size_t)n, sizeof *node->in_dtype);
  }
  if (!node || !node->next || !node->leaf || !node->needs || !node->in_ndim || !node->in_shape ||
      !node->in_dtype || !meta(out)) {
    if (node) { node->refcount = 1; node_release(node); }
    *err = lt_seterr("out of memory recording %s", name);
    return NULL;
  }
  node->refcount = 1;
  node->name = name;
  node->backward = fn;
  node->ninputs = n;
  for (int k = 0; k < n; k++) {
    lt_tensor *in = inputs[k];
    if (!in || !lt_requires_grad(in)) continue;
    node->needs[k] = 1;
    node->in_ndim[k] = in->ndim;
    memcpy(node->in_shape[k], in->shape, sizeof node->in_shape[k]);
    node->in_dtype[k] = in->dtype;
    if (in->ag->grad_fn) { node->next[k] = in->ag->grad_fn; in->ag->grad_fn->refcount++; }
    else node->leaf[k] = lt_retain(in);
  }
  out->ag->requires_grad = 1;
  out->ag->grad_fn = node;
  return node;
}

int lt_save(lt_node *node, lt_tensor *t) {
  if (node->nsaved == (int)(sizeof node->saved / sizeof node->saved[0]))
    return lt_seterr("%s: too many saved tensors", node->name);
  lt_tensor *d = lt_detach(t);
  if (!d) return -1;
  node->saved[node->nsaved] = d;
  node->saved_version[node->nsaved] = t->storage->version;
  node->nsaved++;
  return 0;
}

lt_tensor *lt_saved(lt_node *node, int k) { return node->saved[k]; }

/* ---- the engine -------------------------------------------------------------- */
/* reduce g to the shape an input had before broadcasting */
static lt_tensor *sum_to(lt_tensor *g, int ndim, const int64_t *shape) {
  lt_tensor *cur = lt_retain(g);
  while (cur && cur->ndim > ndim) { /* leading dims broadcast away */
    lt_tensor *s = lt_reduce(LT_SUM, cur, 0, 0, 0);
    lt_release(cur);
    cur = s;
  }
  for (int d = 0; cur && d < ndim; d++) {
    if (shape[d] == 1 && cur->shape[d] != 1) {
      lt_tensor *s = lt_reduce(LT_SUM, cur, d, 1, 0);
      lt_release(cur);
      cur = s;
    }
  }
  return cur;
}

/* gradient for input k as the input was: its shape and dtype */
static lt_tensor *conform(lt_node *n, int k, lt_tensor *g) {
  char a[128], b[128];
  int same = g->ndim == n->in_ndim[k] && memcmp(g->shape, n->in_shape[k], sizeof(int64_t) * (size_t)g->ndim) == 0;
  lt_tensor *s = same ? lt_retain(g) : sum_to(g, n->in_ndim[k], n->in_shape[k]);
  if (!s) return NULL;
  if (s->ndim != n->in_ndim[k] || memcmp(s->shape, n->in_shape[k], sizeof(int64_t) * (size_t)s->ndim) != 0) {
    lt_seterr("%s returned a gradient of shape %s for input %d of shape %s", n->name,
              lt_shape_str(g->ndim, g->shape, a, sizeof a), k + 1,
              lt_shape_str(n->in_ndim[k], n->in_shape[k], b, sizeof b));
    lt_release(s);
    return NULL;
  }
  if (s->dtype != n->in_dtype[k]) {
    lt_tensor *c = lt_to(s, n->in_dtype[k]);
    lt_release(s);
    s = c;
  }
  return s;
}

/* sum into *acc without writing into tensors others may hold */
static int accumulate(lt_tensor **acc, lt_tensor *g) {
  if (!*acc) { *acc = lt_retain(g); return 0; }
  lt_tensor *s = lt_binary(LT_ADD, *acc, g);
  if (!s) return -1;
  lt_release(*acc);
  *acc = s;
  return 0;
}

/* g is the engine's own when its only references are the engine's `refs` and
   no other tensor shares its storage: then a leaf may keep it without a copy */
static int engine_owned(const lt_tensor *g, int refs) {
  return refs > 0 && g->refcount == refs && g->storage->refcount == 1 && g->offset == 0 &&
         lt_is_contiguous(g) && g->storage->nbytes == (size_t)lt_numel(g) * lt_dtype_size(g->dtype);
}

static int accumulate_leaf(lt_tensor *leaf, lt_tensor *g, int refs) {
  lt_agmeta *m = leaf->ag;
  if (!m->grad) { /* the leaf owns its gradient: never share it with the graph */
    m->grad = engine_owned(g, refs) ? lt_retain(g) : lt_clone(g);
    return m->grad ? 0 : -1;
  }
  if (lt_check_writable(m->grad) < 0 || !lt_same_shape(m->grad, g)) {
    lt_tensor *s = lt_binary(LT_ADD, m->grad, g);
    if (!s) return -1;
    lt_release(m->grad);
    m->grad = s;
    return 0;
  }
  return lt_binary_(LT_ADD, m->grad, g);
}

/* nodes reachable from root in an order where every node comes after all
   of its consumers (Kahn's algorithm over dependency counts) */
static lt_node **topo_order(lt_node *root, int *count) {
  size_t cap = 64, len = 0, slen = 0;
  lt_node **all = malloc(cap * sizeof *all), **stack = malloc(cap * sizeof *stack);
  size_t scap = cap;
  if (!all || !stack) goto oom;
  root->mark = 1;
  root->deps = 0;
  stack[slen++] = root;
  while (slen) { /* collect and count incoming edges */
    lt_node *n = stack[--slen];
    if (len == cap) { lt_node **a = realloc(all, (cap *= 2) * sizeof *a); if (!a) goto oom; all = a; }
    all[len++] = n;
    for (int k = 0; k < n->ninputs; k++) {
      lt_node *m = n->next[k];
      if (!m) continue;
      if (!m->mark) {
        m->mark = 1;
        m->deps = 0;
        if (slen == scap) { lt_node **s = realloc(stack, (scap *= 2) * sizeof *s); if (!s) goto oom; stack = s; }
        stack[slen++] = m;
      }
      m->deps++;
    }
  }
  /* order: release nodes whose consumers are all done */
  lt_node **order = malloc(len * sizeof *order);
  if (!order) goto oom;
  size_t head = 0, tail = 0;
  order[tail++] = root;
  while (head < tail) {
    lt_node *n = order[head++];
    for (int k = 0; k < n->ninputs; k++) {
      lt_node *m = n->next[k];
      if (m && --m->deps == 0) order[tail++] = m;
    }
  }
  for (size_t k = 0; k < len; k++) all[k]->mark = 0;
  free(all);
  free(stack);
  *count = (int)tail;
  return order;
oom:
  for (size_t k = 0; k < len; k++) all[k]->mark = 0;
  root->mark = 0;
  free(all);
  free(stack);
  lt_seterr("out of memory sorting the graph");
  return NULL;
}

static int run_node(lt_node *n, lt_tensor **gin) {
  if (n->freed)
    return lt_seterr("backward through %s a second time: its saved tensors were freed by the first "
                     "backward (pass retain_graph = true to keep them)", n->name);
  for (int k = 0; k < n->nsaved; k++)
    if (n->saved[k]->storage->version != n->saved_version[k])
      return lt_seterr("a tensor saved by %s for backward was modified in place afterwards "
                       "(version %u, now %u)", n->name, n->saved_version[k], n->saved[k]->storage->version);
  if (n->backward(n, n->gacc, gin) < 0) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", lt_errmsg());
    return lt_seterr("in %s: %s", n->name, msg);
  }
  return 0;
}

int lt_backward(lt_tensor *root, lt_tensor *grad, int retain_graph) {
  char a[128], b[128];
  if (!lt_requires_grad(root))
    return lt_seterr("the tensor does not require grad and has no grad_fn (did an input set requires_grad?)");
  lt_tensor *seed;
  if (grad) {
    if (!lt_same_shape(grad, root))
      return lt_seterr("gradient of shape %s does not match the tensor's shape %s",
                       lt_shape_str(grad->ndim, grad->shape, a, sizeof a), lt_shape_str(root->ndim, root->shape, b, sizeof b));
    seed = lt_to(grad, root->dtype);
  } else {
    if (lt_numel(root) != 1)
      return lt_seterr("a gradient is needed for a tensor of shape %s: backward() without one only works "
                       "for a single element", lt_shape_str(root->ndim, root->shape, a, sizeof a));
    seed = lt_empty(root->dtype, root->ndim, root->shape);
    if (seed) lt_fill_(seed, 1.0);
  }
  if (!seed) return -1;
  lt_node *top = root->ag->grad_fn;
  if (!top) { /* a leaf: its gradient is the seed */
    int rc = accumulate_leaf(root, seed, 0); /* the seed may be the caller's */
    lt_release(seed);
    return rc;
  }
  int count, rc = 0;
  lt_node **order = topo_order(top, &count);
  if (!order) { lt_release(seed); return -1; }
  lt_nonfinite c;
  if (anomaly_enabled && lt_count_nonfinite(seed, &c)) {
    char what[96];
    lt_seterr("anomaly detected in backward: the gradient given to backward holds %s",
              describe_nonfinite(seed, &c, what, sizeof what));
    free(order);
    lt_release(seed);
    return -1;
  }
  top->gacc = seed;
  int grad_was = grad_enabled;
  grad_enabled = 0; /* the backward pass itself is not recorded */
  backward_depth++;
  for (int i = 0; i < count && rc == 0; i++) {
    lt_node *n = order[i];
    if (!n->gacc) continue; /* nothing reached it (all paths had no gradient) */
    lt_tensor *gin[n->ninputs ? n->ninputs : 1];
    memset(gin, 0, sizeof gin);
    rc = run_node(n, gin);
    if (rc == 0 && anomaly_enabled) rc = check_backward(n, gin);
    for (int k = 0; k < n->ninputs && rc == 0; k++) {
      if (!gin[k] || !n->needs[k]) continue;
      lt_tensor *g = conform(n, k, gin[k]);
      if (!g) { rc = -1; break; }
      rc = n->next[k] ? accumulate(&n->next[k]->gacc, g) : accumulate_leaf(n->leaf[k], g, g == gin[k] ? 2 : 1);
      lt_release(g);
    }
    for (int k = 0; k < n->ninputs; k++) lt_release(gin[k]);
    lt_release(n->gacc);
    n->gacc = NULL;
    if (!retain_graph && n->nsaved > 0) { release_saved(n); n->freed = 1; }
  }
  for (int i = 0; i < count; i++) { lt_release(order[i]->gacc); order[i]->gacc = NULL; }
  grad_enabled = grad_was;
  backward_depth--;
  free(order);
  return rc;
}
