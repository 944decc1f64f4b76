/* idx.h -- reading IDX files (the MNIST format), plain or gzip-compressed */
#ifndef LUNET_IDX_H
#define LUNET_IDX_H
#include "tensor.h"

/* scale == 0: the stored values in the stored shape, integer types as int64,
   float as float32, double as float64. scale != 0: every type as float32,
   each value multiplied by scale (in double precision, then rounded), the
   one-pass path MNIST images take (scale = 1/255). */
typedef struct { double scale; } lt_idx_opts;

/* The whole file as a tensor of its shape. NULL + lt_errmsg() on any problem
   (missing file, bad magic number, unknown type code, truncated data,
   trailing bytes, a corrupt gzip stream); messages start with the path and
   give the 0-based byte offset in the uncompressed file. opts may be NULL. */
lt_tensor *lt_read_idx(const char *path, const lt_idx_opts *opts);

/* The same from the bytes of an uncompressed file held in memory; `name`
   stands for the file in messages (the same messages as lt_read_idx). */
lt_tensor *lt_parse_idx(const unsigned char *buf, size_t len, const char *name, const lt_idx_opts *opts);

#endif
