/* ew_baseline.c -- raw C elementwise loops: the bandwidth ceiling for lunet's x + y and exp.
 *
 *   ew_baseline [threads]
 *
 * out[i] = x[i] + y[i] and out[i] = expf(x[i]) over 10^6 and 10^7 float32 elements,
 * one `#pragma omp parallel for` over the whole array, output buffer allocated once.
 * bench.sh builds it with lunet's own flags (-O3 -march=native -fopenmp
 * -fno-math-errno), so "exp" is the same scalar libm expf that lunet's kernel
 * calls (without -ffast-math GCC does not use glibc's vector expf). Same output
 * lines as bench_tensor.lua.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bench_timing.h"

static long n;
static float *x, *y, *o;

static void op_add(const void *unused) {
  (void)unused;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) o[i] = x[i] + y[i];
}

static void op_exp(const void *unused) {
  (void)unused;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) o[i] = expf(x[i]);
}

int main(int argc, char **argv) {
  if (argc > 1) omp_set_num_threads(atoi(argv[1]));
  bench_read_env();
  int threads = omp_get_max_threads();
  printf("# raw C elementwise bench: threads=%d\n", threads);
  static const long sizes[] = {1000000, 10000000};
  static const struct { const char *name; void (*fn)(const void *); int bytes; } ops[] = {
      {"add", op_add, 12}, {"exp", op_exp, 8}};
  for (int s = 0; s < 2; s++) {
    n = sizes[s];
    x = aligned_alloc(64, (size_t)n * 4); y = aligned_alloc(64, (size_t)n * 4);
    o = aligned_alloc(64, (size_t)n * 4);
    if (!x || !y || !o) { fprintf(stderr, "ew_baseline: out of memory\n"); return 1; }
    unsigned seed = 1;
    for (long i = 0; i < n; i++) {
      x[i] = (float)rand_r(&seed) / (float)RAND_MAX * 4 - 2;
      y[i] = (float)rand_r(&seed) / (float)RAND_MAX * 4 - 2;
      o[i] = 0;
    }
    for (int k = 0; k < 2; k++) {
      double best, med;
      long reps;
      bench_measure(ops[k].fn, NULL, &best, &med, &reps);
      printf("BENCH impl=rawC cfg=T%d sec=ew case=%s var=%s work=%.17g unit=GB/s t_best=%.6e "
             "t_med=%.6e reps=%ld\n",
             threads, s == 0 ? "1e6" : "1e7", ops[k].name, (double)ops[k].bytes * n, best, med, reps);
      fflush(stdout);
    }
    free(x); free(y); free(o);
  }
  return 0;
}
