/* gemm_baseline.c -- raw cblas_sgemm, the ceiling lunet's matmul is measured against.
 *
 *   gemm_baseline [threads]      (default: OPENBLAS_NUM_THREADS / OpenBLAS's own default)
 *
 * Same cases, same timing method and same output lines as bench_tensor.lua:
 * row-major C = A @ B with A either plain (NoTrans, lda = k) or stored k x m and
 * passed as a transpose (Trans, lda = m), which is what lunet hands BLAS for x:t().
 * C is allocated once (lunet and PyTorch allocate a result per call; this is the
 * pure GEMM). Built by bench.sh with the flags lunet uses and -lopenblas
 * (the OpenMP build, headers in /usr/include/x86_64-linux-gnu/openblas-openmp).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench_timing.h"

typedef struct { int m, k, n, trans; const float *a, *b; float *c; } job;

static void run(const void *arg) {
  const job *j = arg;
  cblas_sgemm(CblasRowMajor, j->trans ? CblasTrans : CblasNoTrans, CblasNoTrans, j->m, j->n, j->k,
              1.0f, j->a, j->trans ? j->m : j->k, j->b, j->n, 0.0f, j->c, j->n);
}

static float *randbuf(size_t n, unsigned *seed) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  if (!p) { fprintf(stderr, "gemm_baseline: out of memory\n"); exit(1); }
  for (size_t i = 0; i < n; i++) p[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
  return p;
}

int main(int argc, char **argv) {
  if (argc > 1) openblas_set_num_threads(atoi(argv[1]));
  bench_read_env();
  int threads = openblas_get_num_threads();
  printf("# cblas bench: threads=%d blas=%s %s\n", threads, openblas_get_config(), openblas_get_corename());
  static const int cases[][3] = {{128, 784, 256}, {1024, 1024, 1024}};
  unsigned seed = 1;
  for (int c = 0; c < 2; c++) {
    int m = cases[c][0], k = cases[c][1], n = cases[c][2];
    float *a = randbuf((size_t)m * k, &seed), *b = randbuf((size_t)k * n, &seed);
    float *cc = randbuf((size_t)m * n, &seed);
    for (int trans = 0; trans < 2; trans++) {
      job j = {m, k, n, trans, a, b, cc};
      double best, med;
      long reps;
      bench_measure(run, &j, &best, &med, &reps);
      printf("BENCH impl=cblas cfg=T%d sec=matmul case=%dx%dx%d var=%s work=%.17g unit=GFLOP/s "
             "t_best=%.6e t_med=%.6e reps=%ld\n",
             threads, m, k, n, trans ? "At.t()@B" : "A@B", 2.0 * m * k * n, best, med, reps);
      fflush(stdout);
    }
    free(a); free(b); free(cc);
  }
  return 0;
}
