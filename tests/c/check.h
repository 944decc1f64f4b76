/* check.h -- a minimal C test harness: CHECK records a failure with its line
 * and goes on; main() of each test file ends with CHECK_REPORT(), which prints
 * "<file>: N passed, N failed" and returns the exit status. */
#ifndef LUNET_CHECK_H
#define LUNET_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (cond) check_passed++;                                                   \
    else { check_failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                   \
  do {                                                                          \
    double a_ = (a), b_ = (b);                                                  \
    if (fabs(a_ - b_) <= (tol) * (1 + fabs(b_))) check_passed++;                \
    else { check_failed++; fprintf(stderr, "FAIL %s:%d: %s = %.10g, expected %.10g\n", \
                                   __FILE__, __LINE__, #a, a_, b_); }            \
  } while (0)

#define CHECK_REPORT()                                                          \
  (printf("%s: %d passed, %d failed\n", __FILE__, check_passed, check_failed),  \
   check_failed ? 1 : 0)

#endif
