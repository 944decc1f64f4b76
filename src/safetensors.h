/* safetensors.h -- safetensors checkpoints: a strict reader and an atomic writer.
 *
 * The format (the one PyTorch and Hugging Face use), little-endian throughout:
 *   8 bytes   N, the length of the header
 *   N bytes   a JSON object {"__metadata__": {"key": "value", ...},
 *             "name": {"dtype": "F32", "shape": [4, 8], "data_offsets": [begin, end]}, ...}
 *             padded with spaces so that the data starts at a multiple of 8
 *   the rest  the data section: each tensor's row-major bytes at [begin, end),
 *             counted from the start of the section, with no gaps and no overlaps
 *
 * Pure C, no Lua (l_checkpoint.c is the binding). Errors follow tensor.h: NULL
 * or -1, and a message in lt_errmsg() that starts with the file name.
 */
#ifndef LUNET_SAFETENSORS_H
#define LUNET_SAFETENSORS_H
#include "tensor.h"

/* A set of named tensors and string metadata: what a checkpoint holds.
   Names and metadata are NUL-terminated UTF-8. Tensors are in file order. */
typedef struct lt_st_file {
  int ntensors;
  const char **names;
  lt_tensor **tensors;
  int nmeta;
  const char **meta_keys;
  const char **meta_values;
} lt_st_file;

/* Read a whole file. Loads F32, F64, I64 as they are; F16 and BF16 as float32;
   BOOL, U8, I8, U16, I16, U32, I32 as int64. Rejects anything malformed with a
   message naming the file and the fault. The result belongs to the caller:
   lt_st_free() it (a caller may take a tensor and set its slot to NULL). */
lt_st_file *lt_st_read(const char *path);
/* the same from bytes in memory; `name` stands for the file in messages */
lt_st_file *lt_st_parse(const void *bytes, size_t len, const char *name);
void lt_st_free(lt_st_file *f);

/* Write `ck` (arguments borrowed) to path atomically: into a temporary file
   next to it, flushed and fsync'ed, then renamed over path. On any failure
   the temporary file is removed and an existing file at path is untouched.
   The bytes are those the reference writer produces: tensors ordered by
   dtype (widest first: I64, F64, F32) then by name, metadata keys sorted,
   compact JSON, header padded with spaces to a multiple of 8. Tensors may be
   non-contiguous views. An empty metadata list writes no "__metadata__". */
int lt_st_write(const char *path, const lt_st_file *ck);
/* the same bytes into a malloc'ed buffer of *len bytes (tests, fuzzing) */
unsigned char *lt_st_serialize(const lt_st_file *ck, const char *name, size_t *len);

#endif
