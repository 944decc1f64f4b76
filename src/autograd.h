/* autograd.h -- define-by-run reverse-mode differentiation over the tensor core.
 *
 * An op whose inputs require grad (while grad mode is on) gives its output a
 * node: the backward function, an edge per input (the input's own node, or
 * the leaf tensor whose .grad receives the gradient), and the tensors the
 * backward needs, saved as detached views with their storage version.
 * backward() sorts the graph, runs each node once all its consumers are done,
 * sums gradients that meet, reduces broadcast gradients back to each input's
 * shape and dtype, accumulates into leaves, and frees what it saved unless
 * asked to keep the graph.
 *
 * Saved tensors never carry autograd records, so a node never points back at
 * its own output: the graph has no reference cycles.
 */
#ifndef LUNET_AUTOGRAD_H
#define LUNET_AUTOGRAD_H

#include "tensor.h"

typedef struct lt_node lt_node;

/* gin[i] receives the gradient for input i (a new reference), or stays NULL
   when no gradient flows there; only inputs with needs[i] set are asked for */
typedef int (*lt_backward_fn)(lt_node *n, lt_tensor *gout, lt_tensor **gin);

typedef struct lt_agmeta {
  int requires_grad;
  lt_tensor *grad;  /* accumulated gradient of a leaf */
  lt_node *grad_fn; /* the node that made this tensor; NULL for a leaf */
} lt_agmeta;

#define LT_NODE_ARGS 16

struct lt_node {
  int refcount;
  const char *name;      /* "MulBackward" */
  lt_backward_fn backward;
  int ninputs;
  lt_node **next;        /* per input: its node, or NULL */
  lt_tensor **leaf;      /* per input: the leaf that accumulates, or NULL */
  char *needs;           /* per input: a gradient is wanted */
  int *in_ndim;          /* per input: shape and dtype the gradient must have */
  int64_t (*in_shape)[LT_MAX_DIM];
  lt_dtype *in_dtype;
  int nsaved;
  lt_tensor *saved[4];
  uint32_t saved_version[4];
  double f[LT_NODE_ARGS]; /* op parameters */
  int64_t i[LT_NODE_ARGS];
  void *ctx;              /* anything else an op keeps (a custom Lua function) */
  void (*ctx_free)(void *ctx);
  int freed;              /* saved tensors released after a backward */
  /* during backward */
  lt_tensor *gacc;
  int deps;
  int mark;
};

/* ---- grad mode and tensor records ------------------------------------------- */
void lt_autograd_init(void);
int lt_grad_enabled(void);
void lt_set_grad_enabled(int on);
/* detect_anomaly: while on, an op whose forward output, or a backward function
   whose gradient, holds nan or an infinity makes the op fail with a message
   naming it (autograd.c says which values count). Off by default. */
int lt_anomaly_enabled(void);
void lt_set_anomaly_enabled(int on);
typedef struct { int64_t nan, posinf, neginf; } lt_nonfinite;
/* how many elements of t are nan or infinite (0 for int64); kinds, if given,
   receives the count of each kind */
int64_t lt_count_nonfinite(lt_tensor *t, lt_nonfinite *kinds);
int lt_requires_grad(const lt_tensor *t);
int lt_set_requires_grad(lt_tensor *t, int on); /* leaves only; float dtypes only */
lt_tensor *lt_grad(const lt_tensor *t);         /* borrowed; NULL if none */
void lt_set_grad(lt_tensor *t, lt_tensor *g);   /* takes a new reference to g (may be NULL) */
lt_node *lt_grad_fn(const lt_tensor *t);
lt_tensor *lt_detach(lt_tensor *t);             /* a view with no autograd record */

/* ---- recording (used by ag_ops.c and custom functions) ---------------------- */
/* attach a node to out if grad mode is on and an input requires grad; returns
   the node (owned by out), NULL when none is needed, or sets *err on failure */
lt_node *lt_record(lt_tensor *out, const char *name, lt_backward_fn fn, int n,
                   lt_tensor *const *inputs, int *err);
int lt_save(lt_node *node, lt_tensor *t); /* keep t (detached) for backward */
lt_tensor *lt_saved(lt_node *node, int k); /* borrowed */

/* ---- running it ----------------------------------------------------------- */
/* gradient of root (seed: grad, or 1 for a one-element root) into every leaf */
int lt_backward(lt_tensor *root, lt_tensor *grad, int retain_graph);

/* ---- differentiable forms of the core ops (ag_ops.c) ------------------------
   Same arguments and results as the lt_ functions in tensor.h. */
lt_tensor *ag_binary(lt_binop op, lt_tensor *a, lt_tensor *b);
lt_tensor *ag_binary_scalar(lt_binop op, lt_tensor *a, double s, int scalar_is_int, int scalar_first);
lt_tensor *ag_unary(lt_unop op, lt_tensor *a);
lt_tensor *ag_clamp(lt_tensor *a, double lo, double hi);
lt_tensor *ag_where(lt_tensor *cond, lt_tensor *a, lt_tensor *b);
lt_tensor *ag_masked_fill(lt_tensor *t, lt_tensor *mask, double v);
lt_tensor *ag_reduce(lt_reduce_op op, lt_tensor *t, int dim, int keepdim, int correction);
int ag_reduce_with_index(lt_reduce_op op, lt_tensor *t, int dim, int keepdim,
                         lt_tensor **values, lt_tensor **indices);
lt_tensor *ag_softmax(lt_tensor *t, int dim, int log);
lt_tensor *ag_mm(lt_tensor *a, lt_tensor *b);
lt_tensor *ag_bmm(lt_tensor *a, lt_tensor *b);
lt_tensor *ag_matmul(lt_tensor *a, lt_tensor *b);
lt_tensor *ag_dot(lt_tensor *a, lt_tensor *b);
lt_tensor *ag_view(lt_tensor *t, int ndim, const int64_t *shape);
lt_tensor *ag_reshape(lt_tensor *t, int ndim, const int64_t *shape);
lt_tensor *ag_transpose(lt_tensor *t, int d0, int d1);
lt_tensor *ag_permute(lt_tensor *t, const int *dims);
lt_tensor *ag_narrow(lt_tensor *t, int dim, int64_t start, int64_t length);
lt_tensor *ag_slice(lt_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);
lt_tensor *ag_select(lt_tensor *t, int dim, int64_t index);
lt_tensor *ag_squeeze(lt_tensor *t, int dim);
lt_tensor *ag_unsqueeze(lt_tensor *t, int dim);
lt_tensor *ag_expand(lt_tensor *t, int ndim, const int64_t *shape);
lt_tensor *ag_flatten(lt_tensor *t, int start, int end);
lt_tensor *ag_contiguous(lt_tensor *t);
lt_tensor *ag_clone(lt_tensor *t);
lt_tensor *ag_to(lt_tensor *t, lt_dtype dt);
lt_tensor *ag_index_select(lt_tensor *t, int dim, lt_tensor *index);
lt_tensor *ag_gather(lt_tensor *t, int dim, lt_tensor *index);
lt_tensor *ag_cat(lt_tensor **ts, int n, int dim);
lt_tensor *ag_stack(lt_tensor **ts, int n, int dim);

#endif
