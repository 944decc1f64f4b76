/* embedded.h -- the Lua library and the docs compiled into the binary (see
 * tools/embed.c); the table ends with an entry whose path is NULL */
#ifndef LUNET_EMBEDDED_H
#define LUNET_EMBEDDED_H
#include <stddef.h>

typedef struct {
  const char *module; /* "lunet.tensor"; NULL for a doc */
  const char *path;   /* "lua/lunet/tensor.lua" (for tracebacks), "docs/nn.md" */
  const char *source;
  size_t size;
} lunet_embedded_file;

extern const lunet_embedded_file lunet_embedded[];
#endif
