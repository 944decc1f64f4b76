/* bench_timing.h -- the timing method shared by the C baselines, the same as
 * bench_tensor.lua's: warm up, size a loop to ~BENCH_TARGET seconds, then the
 * best and the median of BENCH_SAMPLES timed loops, in seconds per call. */
#ifndef BENCH_TIMING_H
#define BENCH_TIMING_H
#include <math.h>
#include <stdlib.h>
#include <time.h>

static double bench_target = 0.06;
static int bench_samples = 5;

static void bench_read_env(void) {
  const char *e;
  if ((e = getenv("BENCH_TARGET")) && *e) bench_target = atof(e);
  if ((e = getenv("BENCH_SAMPLES")) && *e) bench_samples = atoi(e);
}

static double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp(const void *a, const void *b) {
  double p = *(const double *)a, q = *(const double *)b;
  return (p > q) - (p < q);
}

static void bench_measure(void (*fn)(const void *), const void *arg, double *best, double *med,
                          long *reps_out) {
  fn(arg); fn(arg);
  long reps = 1;
  for (;;) {
    double t0 = bench_now();
    for (long r = 0; r < reps; r++) fn(arg);
    double dt = bench_now() - t0;
    if (dt >= bench_target / 8) { reps = (long)ceil(reps * bench_target / dt); if (reps < 1) reps = 1; break; }
    reps *= 4;
  }
  double ts[64];
  int ns = bench_samples > 64 ? 64 : bench_samples < 1 ? 1 : bench_samples;
  for (int s = 0; s < ns; s++) {
    double t0 = bench_now();
    for (long r = 0; r < reps; r++) fn(arg);
    ts[s] = (bench_now() - t0) / reps;
  }
  qsort(ts, ns, sizeof ts[0], bench_cmp);
  *best = ts[0];
  *med = ns % 2 ? ts[ns / 2] : (ts[ns / 2 - 1] + ts[ns / 2]) / 2;
  *reps_out = reps;
}
#endif
