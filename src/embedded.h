/* embedded.h -- the Lua library compiled into the binary (see tools/embed.c) */
#ifndef LUNET_EMBEDDED_H
#define LUNET_EMBEDDED_H
#include <stddef.h>

typedef struct {
  const char *module; /* "lunet.tensor" */
  const char *path;   /* "lua/lunet/tensor.lua", for tracebacks */
  const char *source;
  size_t size;
} lunet_embedded_file;

extern const lunet_embedded_file lunet_embedded[];
#endif
