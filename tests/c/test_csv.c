/* test_csv.c -- the CSV parser (csv.c) and the loader's gather and seeded
 * permutation (loader.c), on inputs written here with known contents; then
 * every fuzzing seed replayed through the fuzz target's checks. */
#include "../fuzz/fuzz_csv.c"
#include "check.h"
#include "loader.h"
#include <dirent.h>
#include <stdio.h>

static int parse(const char *s, char sep, lt_csv *c) { return lt_csv_parse(s, strlen(s), sep, c); }

static void test_cells(void) {
  lt_csv c;
  CHECK(parse("a,b\r\n\"x, \"\"y\"\"\",2\n\n", ',', &c) == 0);
  CHECK(c.nrows == 2 && c.ncols == 2);
  CHECK(strcmp(lt_csv_cell(&c, 0, 1), "b") == 0);
  CHECK(strcmp(lt_csv_cell(&c, 1, 0), "x, \"y\"") == 0);
  CHECK(strcmp(lt_csv_cell(&c, 1, 1), "2") == 0);
  CHECK(c.lines[0] == 1 && c.lines[1] == 2);
  lt_csv_free(&c);
  /* a quoted line break moves the line count; a trailing separator adds an empty cell */
  CHECK(parse("\"1\n2\";x\n3;\n", ';', &c) == 0);
  CHECK(c.nrows == 2 && c.lines[1] == 3);
  CHECK(strcmp(lt_csv_cell(&c, 0, 0), "1\n2") == 0);
  CHECK(strcmp(lt_csv_cell(&c, 1, 1), "") == 0);
  lt_csv_free(&c);
  CHECK(parse("", ',', &c) == 0 && c.nrows == 0);
  lt_csv_free(&c);
  CHECK(parse("\n\r\n\n", ',', &c) == 0 && c.nrows == 0);
  lt_csv_free(&c);
}

static void test_errors(void) {
  lt_csv c;
  CHECK(parse("a,b,c,d\n1,2,3,4\n\n1,2,3\n", ',', &c) < 0);
  CHECK(strcmp(lt_errmsg(), "4: row has 3 fields, expected 4") == 0);
  CHECK(c.text == NULL && c.cells == NULL); /* freed on failure */
  CHECK(parse("a\n\"open\n", ',', &c) < 0);
  CHECK(strcmp(lt_errmsg(), "2: unterminated quoted field") == 0);
  CHECK(parse("\"a\"b\n", ',', &c) < 0);
  CHECK(strcmp(lt_errmsg(), "1: unexpected character after a quoted field") == 0);
  CHECK(parse("a\n", '"', &c) < 0);
}

static void test_numbers(void) {
  double v;
  int64_t k;
  CHECK(lt_csv_number(" 2.5 ", &v) == 0 && v == 2.5);
  CHECK(lt_csv_number("-1e3", &v) == 0 && v == -1000);
  CHECK(lt_csv_number("", &v) < 0);
  CHECK(lt_csv_number("1x", &v) < 0);
  CHECK(lt_csv_number("  ", &v) < 0);
  CHECK(lt_csv_integer("42", &k) == 0 && k == 42);
  CHECK(lt_csv_integer(" -7\t", &k) == 0 && k == -7);
  CHECK(lt_csv_integer("4.0", &k) < 0);
  CHECK(lt_csv_integer("99999999999999999999", &k) < 0);
}

static void test_gather(void) {
  lt_tensor *t = lt_arange(LT_FLOAT32, 0, 12, 1), *m = lt_view(t, 2, (int64_t[]){4, 3});
  lt_tensor *g = lt_gather_rows(m, (int64_t[]){3, 0, 3}, 3);
  CHECK(g && g->shape[0] == 3 && g->shape[1] == 3);
  const float *p = lt_data(g);
  CHECK(p[0] == 9 && p[2] == 11 && p[3] == 0 && p[8] == 11);
  lt_release(g);
  /* a transposed (non-contiguous) view gathers its logical rows */
  lt_tensor *tr = lt_transpose(m, 0, 1); /* 3x4: row i = column i of m */
  g = lt_gather_rows(tr, (int64_t[]){2}, 1);
  p = lt_data(g);
  CHECK(g->shape[0] == 1 && g->shape[1] == 4 && p[0] == 2 && p[1] == 5 && p[3] == 11);
  lt_release(g);
  CHECK(lt_gather_rows(m, (int64_t[]){4}, 1) == NULL);
  CHECK(strcmp(lt_errmsg(), "index 5 is out of range for 4 rows") == 0);
  CHECK(lt_gather_rows(m, (int64_t[]){-1}, 1) == NULL);
  g = lt_gather_rows(m, NULL, 0);
  CHECK(g && g->shape[0] == 0);
  lt_release(g);
  lt_release(tr);
  lt_release(m);
  lt_release(t);
}

static void test_perm(void) {
  int64_t a[100], b[100], c[100], seen[100] = {0};
  lt_seeded_perm(a, 100, 5, 1);
  lt_seeded_perm(b, 100, 5, 1);
  lt_seeded_perm(c, 100, 5, 2);
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(memcmp(a, c, sizeof a) != 0);
  for (int i = 0; i < 100; i++) seen[a[i]]++;
  int ok = 1;
  for (int i = 0; i < 100; i++) ok &= seen[i] == 1;
  CHECK(ok);
}

static void test_fuzz_corpus(void) {
  const char *seeds = "tests/fuzz/corpus/csv";
  DIR *d = opendir(seeds);
  CHECK(d != NULL); /* the tests run from the repository's root */
  if (!d) return;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char p[512], buf[1 << 16];
    snprintf(p, sizeof p, "%s/%s", seeds, e->d_name);
    FILE *f = fopen(p, "rb");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput((const unsigned char *)buf, len); /* aborts on a failed check */
    n++;
  }
  closedir(d);
  CHECK(n >= 8);
}

int main(void) {
  test_cells();
  test_errors();
  test_numbers();
  test_gather();
  test_perm();
  test_fuzz_corpus();
  return CHECK_REPORT();
}
