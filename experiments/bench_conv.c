/* bench_conv.c -- the Keras CNN's convolutions and pools (src/nn_conv.c) at their real
 * shapes, forward and backward, float32, batch 64:
 *
 *   conv1  x 64x1x28x28,  w 32x1x3x3   -> 64x32x26x26  (backward: weight and bias only,
 *                                                       as the input needs no gradient)
 *   pool1  max 2x2 of 64x32x26x26      -> 64x32x13x13
 *   conv2  x 64x32x13x13, w 64x32x3x3  -> 64x64x11x11
 *   pool2  max 2x2 of 64x64x11x11      -> 64x64x5x5
 *   conv3  x 64x64x5x5,   w 64x64x3x3  -> 64x64x3x3
 *
 * Build (after `make BUILD=build-conv BIN=build-conv/lunet`), from the repository root:
 *
 *   B=build-conv; cc -O3 -march=native -mprefer-vector-width=512 -std=gnu11 -fopenmp -Isrc \
 *      -I/usr/include/x86_64-linux-gnu/openblas-openmp -o $B/bench_conv experiments/bench_conv.c \
 *      $(ls src | grep '[.]c$' | grep -v -e '^l_' -e '^main[.]c' | sed "s|^|$B/|; s|c$|o|") \
 *      -llua5.4 -lopenblas -lsqlite3 -lz -lm -ldl
 *   build-conv/bench_conv [threads [chunk [layer]]]   (chunk 0: automatic; layer: only that one)
 *
 * (experiments/bench_conv.py --compare builds it, and runs it interleaved with PyTorch.)
 * Timing as bench_timing.h: best and median of BENCH_SAMPLES loops of ~BENCH_TARGET s.
 * One line per figure: BENCH impl=lunet cfg=T<threads> case=<layer> var=fwd|bwd t_best=
 * t_med= (seconds per call). Results are allocated per call, as autograd would.
 */
#include "nn_conv.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_timing.h"

typedef struct {
  const char *name;
  int pool, need_gx;
  int64_t x[4], w[4];
  lt_tensor *in, *weight, *bias, *gy, *idx;
} layer;

static const int64_t one[2] = {1, 1}, zero[2] = {0, 0}, two[2] = {2, 2};

static void fwd(const void *p) {
  const layer *l = p;
  if (l->pool) {
    lt_tensor *v, *i;
    lt_max_pool2d(l->in, two, two, zero, one, 0, &v, &i);
    lt_release(v);
    lt_release(i);
  } else {
    lt_release(lt_conv2d(l->in, l->weight, l->bias, one, zero, one, 1));
  }
}

static void bwd(const void *p) {
  const layer *l = p;
  if (l->pool) {
    lt_release(lt_max_pool2d_backward(l->gy, l->idx, l->in->shape));
  } else {
    lt_tensor *gx = NULL, *gw, *gb;
    lt_conv2d_backward(l->gy, l->in, l->weight, one, zero, one, 1, l->need_gx ? &gx : NULL, &gw, &gb);
    lt_release(gx);
    lt_release(gw);
    lt_release(gb);
  }
}

int main(int argc, char **argv) {
  lt_runtime_init();
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  lt_set_num_threads(threads);
  if (argc > 2) lt_conv_set_max_chunk(atoll(argv[2]));
  const char *only = argc > 3 ? argv[3] : NULL;
  bench_read_env();
  lt_manual_seed(1);
  layer layers[] = {
      {.name = "conv1", .x = {64, 1, 28, 28}, .w = {32, 1, 3, 3}},
      {.name = "pool1", .pool = 1, .x = {64, 32, 26, 26}},
      {.name = "conv2", .need_gx = 1, .x = {64, 32, 13, 13}, .w = {64, 32, 3, 3}},
      {.name = "pool2", .pool = 1, .x = {64, 64, 11, 11}},
      {.name = "conv3", .need_gx = 1, .x = {64, 64, 5, 5}, .w = {64, 64, 3, 3}},
  };
  printf("# lunet conv bench: threads=%d blas=%s\n", threads, lt_blas_info());
  double total[2] = {0, 0};
  for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
    layer *l = &layers[i];
    if (only && strcmp(only, l->name) != 0) continue;
    l->in = lt_empty(LT_FLOAT32, 4, l->x);
    lt_randn_(l->in, 0, 1);
    lt_tensor *y;
    if (l->pool) {
      if (lt_max_pool2d(l->in, two, two, zero, one, 0, &y, &l->idx) < 0) goto fail;
    } else {
      l->weight = lt_empty(LT_FLOAT32, 4, l->w);
      l->bias = lt_empty(LT_FLOAT32, 1, l->w);
      lt_randn_(l->weight, 0, 0.1);
      lt_randn_(l->bias, 0, 0.1);
      if (!(y = lt_conv2d(l->in, l->weight, l->bias, one, zero, one, 1))) goto fail;
    }
    l->gy = lt_empty(LT_FLOAT32, 4, y->shape);
    lt_randn_(l->gy, 0, 1);
    lt_release(y);
    void (*fn[2])(const void *) = {fwd, bwd};
    for (int k = 0; k < 2; k++) {
      double best, med;
      long reps;
      bench_measure(fn[k], l, &best, &med, &reps);
      total[k] += med;
      printf("BENCH impl=lunet cfg=T%d case=%s var=%s t_best=%.6e t_med=%.6e reps=%ld\n", threads, l->name,
             k ? "bwd" : "fwd", best, med, reps);
      fflush(stdout);
    }
    lt_release(l->in); lt_release(l->weight); lt_release(l->bias); lt_release(l->gy); lt_release(l->idx);
  }
  printf("# sum of medians: fwd %.3f ms, bwd %.3f ms, total %.3f ms\n", total[0] * 1e3, total[1] * 1e3,
         (total[0] + total[1]) * 1e3);
  return 0;
fail:
  fprintf(stderr, "bench_conv: %s\n", lt_errmsg());
  return 1;
}
