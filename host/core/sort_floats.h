/* sort_floats.h: a stable sort of floats, increasing (the trees' cut points:
 * models/gbdt/binning.c and binning_csr.c sort each feature's sampled values
 * with it). The order of a stable sort with the float comparison x < y --
 * glibc's qsort (a merge sort) with it, as the cuts were first made -- so
 * -0 and +0 are equal and keep their input order: the cuts' bits do not
 * depend on which sort made them. */
#ifndef PS_CORE_SORT_FLOATS_H
#define PS_CORE_SORT_FLOATS_H
#include <stdint.h>

/* v[0..n) sorted in place; no value may be NaN (the callers sort finite values). */
void ps_sort_floats(float *v, int64_t n);
#endif
