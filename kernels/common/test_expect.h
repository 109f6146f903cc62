/* test_expect.h — the EXPECT macro shared by the kernel and device tests:
 * a failed check prints file:line and a message, counts in `failures`, and
 * the test goes on (main returns failures != 0). Include once per test file. */
#ifndef PS_TEST_EXPECT_H
#define PS_TEST_EXPECT_H

#include <stdio.h>

static int failures = 0;
#define EXPECT(cond, ...)                                  \
  do {                                                     \
    if (!(cond)) {                                         \
      failures++;                                          \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
    }                                                      \
  } while (0)

#endif
