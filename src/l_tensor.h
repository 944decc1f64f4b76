/* l_tensor.h -- helpers shared by the Lua binding files.
 *
 * A Lua tensor is a full userdata holding one pointer to a refcounted
 * lt_tensor (Torch7's boxing): __gc/__close drop the reference. The box is
 * pushed holding NULL before the core is called, so a Lua error or a memory
 * error at any point leaves nothing that the GC cannot free.
 *
 * Indices and dimensions are 1-based in Lua and 0-based in the core; the
 * functions here are the only place that converts them.
 */
#ifndef LUNET_L_TENSOR_H
#define LUNET_L_TENSOR_H

#include "tensor.h"
#include <lauxlib.h>
#include <lua.h>

#define LB_TENSOR "lunet.Tensor"

lt_tensor **lb_newbox(lua_State *L);                 /* pushes a box holding NULL */
lt_tensor *lb_check(lua_State *L, int arg);          /* a live tensor or an arg error */
lt_tensor *lb_test(lua_State *L, int arg);           /* the tensor or NULL */
int lb_error(lua_State *L, const char *fname);       /* raises "fname: <core message>" */
void lb_account(lua_State *L);                       /* tell the GC about C memory */

/* push a core result (NULL raises fname's error). The box is pushed before
   EXPR runs, so EXPR must not read the Lua stack: read arguments first. */
#define LB_RETURN(L, FNAME, EXPR)                     \
  do {                                                \
    lt_tensor **box_ = lb_newbox(L);                  \
    *box_ = (EXPR);                                   \
    if (!*box_) return lb_error(L, FNAME);            \
    lb_account(L);                                    \
    return 1;                                         \
  } while (0)

/* 1-based dimension at arg (negative counts from the end) to 0-based;
   `extra` = 1 where one past the last dimension is allowed (unsqueeze) */
int lb_dim(lua_State *L, int arg, int ndim, int extra);
int lb_dim_value(lua_State *L, lua_Integer d, int arg, int ndim, int extra); /* d read elsewhere */
int lb_optdim(lua_State *L, int arg, int ndim, int def);
/* 1-based position (negative from the end) in a dimension of `size` to 0-based */
int64_t lb_index(lua_State *L, lua_Integer i, int64_t size, int dim);
/* sizes from arguments from..top: numbers or one table; stops at an options table */
int lb_shape(lua_State *L, int from, int64_t *shape, int *last);
/* dtype from an options table at arg (or def) */
lt_dtype lb_optdtype(lua_State *L, int arg, lt_dtype def);
/* a tensor from a tensor or a number argument (numbers become 0-dim tensors);
   pushes it (as a box) so it lives as long as the stack slot */
lt_tensor *lb_tensorish(lua_State *L, int arg, lt_dtype number_dtype);
/* an int64 tensor of 0-based indices from 1-based positions (negative from the
   end) in a tensor or table, checked against dimension dim of `size`; pushed */
lt_tensor *lb_index_tensor(lua_State *L, int arg, int64_t size, int dim, const char *fname);
void lb_pushvalue(lua_State *L, const lt_tensor *t, const int64_t *idx);

void lb_open_tensor(lua_State *L);   /* metatable and methods (l_tensor.c) */
void lb_open_ops(lua_State *L, int methods, int module); /* math methods (l_ops.c) */
void lb_open_index(lua_State *L, int methods, int module); /* indexing (l_index.c) */
void lb_open_data(lua_State *L, int module);              /* file readers (l_data.c) */
void lb_open_autograd(lua_State *L, int methods, int module); /* autograd (l_autograd.c) */
void lb_check_inplace(lua_State *L, lt_tensor *t, const char *fname); /* no in-place writes into a graph */
int lb_property(lua_State *L, lt_tensor *t, const char *key);  /* x.grad etc.: 1 if pushed */
int lb_set_property(lua_State *L, lt_tensor *t, const char *key, int value); /* 1 if set */
/* options.requires_grad at arg applied to a new leaf t */
void lb_apply_requires_grad(lua_State *L, int arg, lt_tensor *t, const char *fname);
void lb_open_checkpoint(lua_State *L, int module);        /* safetensors (l_checkpoint.c) */
void lb_open_nn(lua_State *L, int module);                /* layer kernels (l_nn.c) */
void lb_open_optim(lua_State *L, int module);             /* optimizer updates (l_optim.c) */
void lb_open_csv(lua_State *L, int module);               /* CSV reader (l_csv.c) */
void lb_open_loader(lua_State *L, int module);            /* batch gathering (l_loader.c) */
void lb_open_transforms(lua_State *L, int module);        /* batch transforms (l_transforms.c) */
void lb_open_runs(lua_State *L, int module);              /* the run store (l_runs.c) */
void lb_open_image(lua_State *L, int module);             /* PNG files (l_image.c) */
void lb_open_repl(lua_State *L, int module);              /* line editing (l_repl.c) */

#endif
