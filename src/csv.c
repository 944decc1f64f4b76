/* csv.c -- an in-memory CSV parser: one pass over the bytes, cells copied
 * (unquoted) into one text block so the caller reads them as C strings. */
#include "csv.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS (1 << 24)

static int push(void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 256;
  void *p = realloc(*arr, nc * elem);
  if (!p) return lt_seterr("out of memory reading a CSV file");
  *arr = p;
  *cap = nc;
  return 0;
}

void lt_csv_free(lt_csv *c) {
  free(c->text);
  free(c->cells);
  free(c->lines);
  memset(c, 0, sizeof *c);
}

/* parsing state: src[pos] is the next byte, text[tlen] the next free one */
typedef struct {
  const char *src;
  size_t len, pos, tlen, ncell, cellcap, rowcap;
  int64_t line;
  char sep;
  lt_csv *out;
} parser;

/* one field starting at pos; ends before its separator or line end */
static int field(parser *p) {
  const char *s = p->src;
  size_t start = p->tlen;
  if (p->pos < p->len && s[p->pos] == '"') {
    int64_t opened = p->line;
    p->pos++;
    for (;;) {
      if (p->pos >= p->len) return lt_seterr("%lld: unterminated quoted field", (long long)opened);
      char c = s[p->pos];
      if (c == '"') {
        if (p->pos + 1 < p->len && s[p->pos + 1] == '"') { p->out->text[p->tlen++] = '"'; p->pos += 2; continue; }
        p->pos++;
        break;
      }
      if (c == '\n') p->line++;
      p->out->text[p->tlen++] = c;
      p->pos++;
    }
    if (p->pos < p->len && s[p->pos] == '\r') p->pos++;
    if (p->pos < p->len && s[p->pos] != p->sep && s[p->pos] != '\n')
      return lt_seterr("%lld: unexpected character after a quoted field", (long long)p->line);
  } else {
    while (p->pos < p->len && s[p->pos] != p->sep && s[p->pos] != '\n') p->out->text[p->tlen++] = s[p->pos++];
    if (p->tlen > start && p->out->text[p->tlen - 1] == '\r' && (p->pos >= p->len || s[p->pos] == '\n'))
      p->tlen--; /* CRLF */
  }
  p->out->text[p->tlen++] = '\0';
  if (push((void **)&p->out->cells, &p->cellcap, p->ncell, sizeof(size_t)) < 0) return -1;
  p->out->cells[p->ncell++] = start;
  return 0;
}

/* one row starting at pos (not a blank line); consumes its line end */
static int row(parser *p) {
  lt_csv *o = p->out;
  int64_t first = p->line;
  int nfields = 0;
  for (;;) {
    if (field(p) < 0) return -1;
    if (++nfields > MAX_FIELDS) return lt_seterr("%lld: more than %d fields", (long long)first, MAX_FIELDS);
    if (p->pos >= p->len) break;
    if (p->src[p->pos++] == '\n') { p->line++; break; }
    /* a separator: another field follows, even at the end of the input */
  }
  if (o->ncols == 0) o->ncols = nfields;
  else if (nfields != o->ncols)
    return lt_seterr("%lld: row has %d field%s, expected %d", (long long)first, nfields,
                     nfields == 1 ? "" : "s", o->ncols);
  if (push((void **)&o->lines, &p->rowcap, (size_t)o->nrows, sizeof(int64_t)) < 0) return -1;
  o->lines[o->nrows++] = first;
  return 0;
}

int lt_csv_parse(const char *src, size_t len, char sep, lt_csv *out) {
  memset(out, 0, sizeof *out);
  if (sep == '"' || sep == '\n' || sep == '\r') return lt_seterr("1: the separator cannot be a quote or a line break");
  /* each byte written to text consumes a byte of src, except the NUL of a
     field that ends the input: len + 1 bytes always suffice */
  out->text = malloc(len + 1);
  if (!out->text) return lt_seterr("out of memory for a CSV file of %zu bytes", len);
  parser p = {.src = src, .len = len, .line = 1, .sep = sep, .out = out};
  while (p.pos < len) {
    if (src[p.pos] == '\n') { p.pos++; p.line++; continue; }              /* blank line */
    if (src[p.pos] == '\r' && (p.pos + 1 == len || src[p.pos + 1] == '\n')) { p.pos++; continue; }
    if (row(&p) < 0) { lt_csv_free(out); return -1; }
  }
  return 0;
}

static const char *skip_space(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

int lt_csv_number(const char *s, double *v) {
  s = skip_space(s);
  if (!*s) return -1;
  char *end;
  *v = strtod(s, &end);
  if (end == s || *skip_space(end)) return -1;
  return 0;
}

int lt_csv_integer(const char *s, int64_t *v) {
  s = skip_space(s);
  if (!*s) return -1;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (end == s || *skip_space(end) || errno == ERANGE) return -1;
  *v = (int64_t)x;
  return 0;
}
