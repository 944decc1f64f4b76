/* csv.h -- an in-memory CSV parser (RFC 4180 quoting, LF or CRLF lines).
 * Pure C, no Lua; the binding (l_csv.c) turns cells into tensors. */
#ifndef LUNET_CSV_H
#define LUNET_CSV_H

#include "tensor.h"

typedef struct lt_csv {
  char *text;     /* the cells, unquoted, each NUL-terminated */
  size_t *cells;  /* offset of each cell in text, row-major: nrows x ncols */
  int64_t *lines; /* 1-based source line where each row starts */
  int64_t nrows;
  int ncols;
} lt_csv;

/* Parses len bytes with the separator sep into out (zeroed first). Blank
   lines are skipped; every other row must have as many fields as the first.
   On failure returns -1, frees what it made and leaves "LINE: what" in
   lt_errmsg() ("17: row has 3 fields, expected 4"). */
int lt_csv_parse(const char *src, size_t len, char sep, lt_csv *out);
void lt_csv_free(lt_csv *c); /* safe on a zeroed or freed table */

static inline const char *lt_csv_cell(const lt_csv *c, int64_t row, int col) {
  return c->text + c->cells[row * c->ncols + col];
}

/* the whole cell (spaces around allowed) as a number / a base-10 integer:
   0 on success, -1 when it is not one */
int lt_csv_number(const char *s, double *v);
int lt_csv_integer(const char *s, int64_t *v);

#endif
