/* fuzz_csv.c -- libFuzzer target for the CSV parser (src/csv.c).
 *
 * Any bytes must either parse or fail with a message that starts with the
 * line number; never crash, overread, leak or hit undefined behaviour (the
 * target is built with ASan and UBSan). A table that parses must have every
 * row as wide as the first, rows numbered by increasing lines, and must come
 * back the same when written out with every cell quoted and parsed again.
 * The first byte picks the separator. Build and run: make fuzz.
 * tests/c/test_csv.c replays the seeds in tests/fuzz/corpus/csv/ through it.
 */
#include "csv.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* every cell quoted ("" for a quote), sep between cells, \n after rows */
static char *quoted(const lt_csv *c, char sep, size_t *len) {
  size_t n = 0;
  for (int64_t r = 0; r < c->nrows; r++)
    for (int j = 0; j < c->ncols; j++) n += 2 * strlen(lt_csv_cell(c, r, j)) + 3;
  char *out = malloc(n + 1), *o = out;
  if (!out) abort();
  for (int64_t r = 0; r < c->nrows; r++)
    for (int j = 0; j < c->ncols; j++) {
      *o++ = '"';
      for (const char *s = lt_csv_cell(c, r, j); *s; s++) {
        if (*s == '"') *o++ = '"';
        *o++ = *s;
      }
      *o++ = '"';
      *o++ = j + 1 < c->ncols ? sep : '\n';
    }
  *len = (size_t)(o - out);
  return out;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (size == 0) return 0;
  static const char seps[] = {',', ';', '\t', ' '};
  char sep = seps[data[0] % 4];
  const char *src = (const char *)data + 1;
  size_t len = size - 1;
  lt_csv c;
  if (lt_csv_parse(src, len, sep, &c) < 0) {
    if (!isdigit((unsigned char)lt_errmsg()[0])) abort(); /* every message names the line */
    return 0;
  }
  for (int64_t r = 0; r < c.nrows; r++) {
    if (c.lines[r] < 1 || (r > 0 && c.lines[r] <= c.lines[r - 1])) abort();
    for (int j = 0; j < c.ncols; j++) {
      if (c.cells[r * c.ncols + j] > len) abort();
      double v;
      int64_t k;
      lt_csv_number(lt_csv_cell(&c, r, j), &v);
      lt_csv_integer(lt_csv_cell(&c, r, j), &k);
    }
  }
  size_t qlen;
  char *q = quoted(&c, sep, &qlen);
  lt_csv d;
  if (lt_csv_parse(q, qlen, sep, &d) < 0 || d.nrows != c.nrows || (c.nrows && d.ncols != c.ncols)) abort();
  for (int64_t r = 0; r < c.nrows; r++)
    for (int j = 0; j < c.ncols; j++)
      if (strcmp(lt_csv_cell(&c, r, j), lt_csv_cell(&d, r, j)) != 0) abort();
  lt_csv_free(&d);
  free(q);
  lt_csv_free(&c);
  return 0;
}
