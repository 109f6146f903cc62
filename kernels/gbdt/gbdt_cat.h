/* gbdt_cat.h: categorical splits, host + device (the CPU twins and the
 * CUDA kernels): a node that splits a categorical feature holds a set of
 * category codes (32 bytes: bit c of byte c/8 = code c goes left), as
 * LightGBM's cat_threshold bitset; everything else -- NaN, a negative
 * value, a code outside the set -- goes right (LightGBM's
 * CategoricalDecision: the value truncated to an integer). A categorical
 * feature's bins are its codes: bin = 1 + code, 0 = missing. The node
 * tests here are the one place prediction, TreeSHAP and the partition
 * decide "left". */
#ifndef PS_GBDT_CAT_H
#define PS_GBDT_CAT_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_math.h"

#define PS_GBDT_CAT_BYTES 32 /* a category set: codes 0..255 */

PS_GHD int ps_gbdt_cat_has(const uint8_t *set, int code) { return (set[code >> 3] >> (code & 7)) & 1; }
/* A raw value against a set: LightGBM's rule (NaN and negatives right, int truncation). */
PS_GHD int ps_gbdt_cat_left_raw(float v, const uint8_t *set) {
  if (!(v > -1.0f && v < 256.0f)) return 0;
  return ps_gbdt_cat_has(set, (int)v);
}
PS_GHD int ps_gbdt_cat_left_bin(int bin, const uint8_t *set) { return bin > 0 && ps_gbdt_cat_has(set, bin - 1); }

/* Node k of a forest view: its set, or NULL for a numerical split. */
PS_GHD const uint8_t *ps_gbdt_node_set(const ps_forest_view_t *fo, int64_t k) {
  if (!fo->cat || fo->cat[k] < 0) return 0;
  return fo->cat_set + (int64_t)fo->cat[k] * PS_GBDT_CAT_BYTES;
}
/* Does value v (raw) or bin b go left at node k? */
PS_GHD int ps_gbdt_node_left_raw(const ps_forest_view_t *fo, int64_t k, float v) {
  const uint8_t *set = ps_gbdt_node_set(fo, k);
  return set ? ps_gbdt_cat_left_raw(v, set) : ps_gbdt_left_raw(v, fo->threshold[k], fo->default_left[k]);
}
PS_GHD int ps_gbdt_node_left_bin(const ps_forest_view_t *fo, int64_t k, int b) {
  const uint8_t *set = ps_gbdt_node_set(fo, k);
  return set ? ps_gbdt_cat_left_bin(b, set) : ps_gbdt_left_bin(b, fo->bin[k], fo->default_left[k]);
}

/* The category sets a view's first `nodes` nodes use (what to copy to a device). */
PS_GHD int64_t ps_gbdt_view_sets(const ps_forest_view_t *fo, int64_t nodes) {
  int64_t n = 0;
  for (int64_t k = 0; fo->cat && k < nodes; k++)
    if (fo->cat[k] >= n) n = fo->cat[k] + 1;
  return n;
}

#ifdef __cplusplus
extern "C" {
#endif
/* Stable partition of rows[0..m) by a category set on bins (partition_cat_cpu.c):
 * left rows first, in order; returns their number. tmp: m. */
int64_t ps_gbdt_partition_set_cpu(const uint8_t *B, int64_t f, int64_t *rows, int64_t m, int32_t feature,
                                  const uint8_t *set, int64_t *tmp);
#ifdef __cplusplus
}
#endif
#endif
