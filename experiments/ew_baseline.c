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

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double target = 0.06;
static int samples = 5;
static long n;
static float *x, *y, *o;

static void op_add(void) {
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) o[i] = x[i] + y[i];
}

static void op_exp(void) {
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) o[i] = expf(x[i]);
}

static int cmp(const void *a, const void *b) {
  double p = *(const double *)a, q = *(const double *)b;
  return (p > q) - (p < q);
}

static void measure(void (*fn)(void), double *best, double *med, long *reps_out) {
  fn(); fn();
  long reps = 1;
  for (;;) {
    double t0 = now();
    for (long r = 0; r < reps; r++) fn();
    double dt = now() - t0;
    if (dt >= target / 8) { reps = (long)ceil(reps * target / dt); if (reps < 1) reps = 1; break; }
    reps *= 4;
  }
  double ts[64];
  int ns = samples > 64 ? 64 : samples;
  for (int s = 0; s < ns; s++) {
    double t0 = now();
    for (long r = 0; r < reps; r++) fn();
    ts[s] = (now() - t0) / reps;
  }
  qsort(ts, ns, sizeof ts[0], cmp);
  *best = ts[0];
  *med = ns % 2 ? ts[ns / 2] : (ts[ns / 2 - 1] + ts[ns / 2]) / 2;
  *reps_out = reps;
}

int main(int argc, char **argv) {
  if (argc > 1) omp_set_num_threads(atoi(argv[1]));
  const char *e;
  if ((e = getenv("BENCH_TARGET")) && *e) target = atof(e);
  if ((e = getenv("BENCH_SAMPLES")) && *e) samples = atoi(e);
  int threads = omp_get_max_threads();
  printf("# raw C elementwise bench: threads=%d\n", threads);
  static const long sizes[] = {1000000, 10000000};
  static const struct { const char *name; void (*fn)(void); int bytes; } ops[] = {
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
      measure(ops[k].fn, &best, &med, &reps);
      printf("BENCH impl=rawC cfg=T%d sec=ew case=%s var=%s work=%.17g unit=GB/s t_best=%.6e "
             "t_med=%.6e reps=%ld\n",
             threads, s == 0 ? "1e6" : "1e7", ops[k].name, (double)ops[k].bytes * n, best, med, reps);
      fflush(stdout);
    }
    free(x); free(y); free(o);
  }
  return 0;
}
