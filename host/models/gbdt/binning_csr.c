/* binning_csr.c: cut points from the sampled rows of a CSR file (issue 30;
 * binning.h) without making them dense. A sampled row's values of a
 * feature are its stored values plus a 0 for every sampled row that stores
 * none, so each feature's distinct finite values and their counts -- all
 * the dense binning looks at -- are its stored ones with the zeros' count
 * merged in: the same cuts, bit for bit. The stored values go to the rank
 * that bins their feature (j % P) as (feature, value) pairs: 8 bytes a
 * sampled stored value, never m x f. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/sort_floats.h"
#include "core/util.h"
#include "gbdt/gbdt_math.h"
#include "models/gbdt/binning.h"

typedef struct {
  int32_t j;
  float v;
} jv_t;

/* Cuts of one feature from its stored finite values v[0..n) (sorted here)
 * and `zeros` values 0 not stored. */
static int csr_feature_cuts(float *v, int64_t n, int64_t zeros, int max_bin, float *out) {
  ps_sort_floats(v, n);
  float *d = ps_malloc(sizeof(float) * (size_t)(n + 1));
  int64_t *cnt = ps_malloc(sizeof(int64_t) * (size_t)(n + 1)), nd = 0;
  int zdone = zeros == 0;
  for (int64_t i = 0; i <= n; i++) {
    if (!zdone && (i == n || v[i] >= 0.0f)) { /* the zeros, before the first value >= 0 */
      zdone = 1;
      d[nd] = 0.0f;
      cnt[nd++] = zeros;
      if (i < n && v[i] == 0.0f) { /* a stored 0 joins them */
        cnt[nd - 1]++;
        continue;
      }
    }
    if (i == n) break;
    if (nd > 0 && d[nd - 1] == v[i]) cnt[nd - 1]++;
    else {
      d[nd] = v[i];
      cnt[nd++] = 1;
    }
  }
  int nc = bins_counted_cuts(d, cnt, nd, n + zeros, max_bin, out);
  free(d);
  free(cnt);
  return nc;
}

/* The sampled stored values sent to the ranks binning their features:
 * every rank receives its features' (j, v) pairs. */
static jv_t *send_values(const int64_t *ptr, const int32_t *idx, const float *val, int64_t m, size_t *nrecv) {
  int P = ps_size;
  size_t *ss = ps_calloc((size_t)P, sizeof(size_t)), *rs = ps_calloc((size_t)P, sizeof(size_t));
  int64_t nnz = ptr[m];
  for (int64_t p = 0; p < nnz; p++) ss[idx[p] % P] += sizeof(jv_t);
  size_t *at = ps_calloc((size_t)P + 1, sizeof(size_t));
  for (int r = 0; r < P; r++) at[r + 1] = at[r] + ss[r] / sizeof(jv_t);
  jv_t *send = ps_malloc(sizeof(jv_t) * (size_t)(nnz + 1));
  for (int64_t p = 0; p < nnz; p++) send[at[idx[p] % P]++] = (jv_t){.j = idx[p], .v = val[p]};
  size_t total = 0;
  jv_t *recv = comm_alltoallv_bytes(send, ss, rs, &total);
  *nrecv = total / sizeof(jv_t);
  free(send);
  free(at);
  free(ss);
  free(rs);
  return recv;
}

void bins_from_csr_sample(const int64_t *ptr, const int32_t *idx, const float *val, int64_t m, int64_t f,
                          int max_bin, ps_bins_t *b) {
  int P = ps_size;
  size_t nr = 0;
  jv_t *recv = send_values(ptr, idx, val, m, &nr);
  int64_t all = m;
  comm_allreduce_sum_i64(&all, 1);
  int64_t myf = f > ps_rank ? (f - ps_rank + P - 1) / P : 0, slot = max_bin + 1, per_rank = (f + P - 1) / P;
  int64_t *first = ps_calloc((size_t)myf + 2, sizeof(int64_t)); /* my feature q's values: a counting sort */
  for (size_t k = 0; k < nr; k++) first[recv[k].j / P + 1]++;
  for (int64_t q = 0; q < myf; q++) first[q + 1] += first[q];
  float *vals = ps_malloc(sizeof(float) * (nr + 1));
  int64_t *fin = ps_calloc((size_t)myf + 1, sizeof(int64_t)), *at = ps_malloc(sizeof(int64_t) * (size_t)(myf + 1));
  memcpy(at, first, sizeof(int64_t) * (size_t)(myf + 1));
  for (size_t k = 0; k < nr; k++) {
    int64_t q = recv[k].j / P;
    if (isfinite(recv[k].v)) vals[at[q] + fin[q]++] = recv[k].v;
  }
  free(recv);
  float *mycuts = ps_calloc((size_t)(per_rank * slot + 1), sizeof(float));
  for (int64_t q = 0; q < myf; q++) {
    int64_t stored = first[q + 1] - first[q]; /* every stored value, finite or not, is one sampled row's */
    int nc = csr_feature_cuts(vals + first[q], fin[q], all - stored, max_bin, mycuts + q * slot + 1);
    mycuts[q * slot] = (float)nc;
  }
  free(vals);
  free(fin);
  free(at);
  free(first);
  bins_share_cuts(mycuts, f, max_bin, b);
}

uint8_t *bins_zero_codes(const ps_bins_t *b) {
  uint8_t *z = ps_malloc((size_t)(b->f > 0 ? b->f : 1));
  for (int64_t j = 0; j < b->f; j++)
    z[j] = (uint8_t)ps_gbdt_bin(0.0f, b->cuts + b->cut_off[j], (int)(b->cut_off[j + 1] - b->cut_off[j]));
  return z;
}
