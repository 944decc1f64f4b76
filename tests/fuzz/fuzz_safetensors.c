/* fuzz_safetensors.c -- libFuzzer target for the safetensors reader.
 *
 * Any bytes must either read as a checkpoint or fail with a message that
 * names the file; never crash, overread, leak or hit undefined behaviour
 * (the target is built with ASan and UBSan). A checkpoint that reads must
 * also write back, read again to the same names, metadata and tensor bytes,
 * and write again to the very same bytes (the writer's output is canonical).
 * Build and run: make fuzz [FUZZ_SECONDS=60].
 */
#include "safetensors.h"
#include <stdlib.h>
#include <string.h>

static int same_bytes(lt_tensor *a, lt_tensor *b) {
  if (a->dtype != b->dtype || !lt_same_shape(a, b)) return 0;
  size_t n = (size_t)lt_numel(a) * lt_dtype_size(a->dtype);
  return n == 0 || memcmp(lt_data(a), lt_data(b), n) == 0;
}

static lt_tensor *find(const lt_st_file *f, const char *name) {
  for (int i = 0; i < f->ntensors; i++)
    if (strcmp(f->names[i], name) == 0) return f->tensors[i];
  return NULL;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  lt_st_file *f = lt_st_parse(data, size, "fuzz");
  if (!f) {
    if (strncmp(lt_errmsg(), "fuzz: ", 6) != 0) abort(); /* every message names the file */
    return 0;
  }
  size_t len, len2;
  unsigned char *b = lt_st_serialize(f, "again", &len);
  if (!b) abort();
  lt_st_file *g = lt_st_parse(b, len, "again");
  if (!g || g->ntensors != f->ntensors || g->nmeta != f->nmeta) abort();
  for (int i = 0; i < f->ntensors; i++) {
    lt_tensor *t = find(g, f->names[i]);
    if (!t || !same_bytes(t, f->tensors[i])) abort();
  }
  for (int i = 0; i < f->nmeta; i++) {
    int found = 0;
    for (int j = 0; j < g->nmeta; j++)
      if (strcmp(f->meta_keys[i], g->meta_keys[j]) == 0) found = strcmp(f->meta_values[i], g->meta_values[j]) == 0;
    if (!found) abort();
  }
  unsigned char *c = lt_st_serialize(g, "again", &len2);
  if (!c || len2 != len || memcmp(b, c, len) != 0) abort();
  free(c);
  lt_st_free(g);
  free(b);
  lt_st_free(f);
  return 0;
}
