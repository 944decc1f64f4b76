/* runtime.c -- threads and floating-point environment.
 *
 * lunet's own loops use OpenMP and GEMM uses the OpenMP build of OpenBLAS, so
 * both share one thread pool. (The pthread build of OpenBLAS next to OpenMP
 * loops spins two pools on the same cores, a known 10x slowdown; we check the
 * build at start-up and say so.)
 */
#include "tensor.h"
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#include <pmmintrin.h>
#endif

static int num_threads = 1, flush = 1;

/* denormals are 100x slower on x86 and never matter for training:
   flush them (FTZ) and treat denormal inputs as zero (DAZ). MXCSR is per
   thread and also governs Lua's own arithmetic on the main thread, as
   torch.set_flush_denormal does for Python's. */
static void flush_denormals(void) {
#if defined(__x86_64__) || defined(__i386__)
  _MM_SET_FLUSH_ZERO_MODE(flush ? _MM_FLUSH_ZERO_ON : _MM_FLUSH_ZERO_OFF);
  _MM_SET_DENORMALS_ZERO_MODE(flush ? _MM_DENORMALS_ZERO_ON : _MM_DENORMALS_ZERO_OFF);
#endif
}

void lt_set_flush_denormal(int on) {
  flush = on != 0;
  flush_denormals();
#pragma omp parallel
  flush_denormals();
}

void lt_set_num_threads(int n) {
  if (n < 1) n = 1;
  num_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  /* MXCSR is per thread: set it in every pool thread too */
#pragma omp parallel
  flush_denormals();
}

/* LUNET_MAX_MEMORY: a value that does not parse warns and sets no limit
   rather than stopping the program (the C core never exits on user input) */
static void read_memory_limit(void) {
  const char *env = getenv("LUNET_MAX_MEMORY");
  size_t limit;
  if (!env || !*env) return;
  if (lt_parse_bytes(env, &limit) < 0) {
    fprintf(stderr, "lunet: warning: LUNET_MAX_MEMORY: %s; no memory limit is set\n", lt_errmsg());
    return;
  }
  lt_set_mem_limit(limit);
}

void lt_runtime_init(void) {
  flush_denormals();
  read_memory_limit();
  if (openblas_get_parallel() == 1)
    fprintf(stderr, "lunet: warning: linked with the pthreads build of OpenBLAS; its thread pool "
                    "competes with lunet's OpenMP loops (install libopenblas0-openmp)\n");
  int n = 0;
  const char *env = getenv("LUNET_NUM_THREADS");
  if (env && *env) n = atoi(env);
  if (n <= 0) {
    env = getenv("OMP_NUM_THREADS");
    if (env && *env) n = atoi(env);
  }
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  lt_set_num_threads(n);
}

int lt_get_num_threads(void) { return num_threads; }

const char *lt_blas_info(void) {
  static char buf[256];
  const char *par = "unknown";
  switch (openblas_get_parallel()) {
  case 0: par = "sequential"; break;
  case 1: par = "pthreads"; break;
  case 2: par = "openmp"; break;
  }
  const char *cfg = openblas_get_config();
  snprintf(buf, sizeof buf, "%s (%s) %s", cfg ? cfg : "OpenBLAS", par, openblas_get_corename());
  return buf;
}

double lt_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
