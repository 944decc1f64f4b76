/* idx.h -- reading IDX files (the MNIST format), plain or gzip-compressed */
#ifndef LUNET_IDX_H
#define LUNET_IDX_H
#include "tensor.h"

/* The whole file as a tensor of its shape: integer types become int64,
   float becomes float32, double float64. NULL + lt_errmsg() on any problem
   (missing file, bad magic number, truncated data, trailing bytes). */
lt_tensor *lt_read_idx(const char *path);

#endif
