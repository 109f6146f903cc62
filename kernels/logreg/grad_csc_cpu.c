/* grad_csc_cpu.c: blocks of CSR rows sorted by column and their gradient
 * sums added exactly, column by column (logreg_csc_cpu.h). CPU only: the
 * device keeps its own order (grad_csr.cu) and the same bits. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/xsum_wide.h"
#include "logreg/logreg_csc_cpu.h"

#define RB 4           /* grad_cpu.c's rows a group */
#define SAME_GROUP 256 /* a value's mark: the column's next value is in the same full group */

struct ps_csc_blocks {
  int64_t nb;
  int64_t *e_off, *c_off, *m_off; /* [nb+1]: block b's values, columns, columns of several values */
  int32_t *ns;                    /* [nb] columns of one value (first in col[c_off[b]..]) */
  uint16_t *rf;                   /* [values] row in the block | SAME_GROUP */
  float *val;                     /* [values] */
  int32_t *col;                   /* the columns of each block: one value's, then several values' */
  uint16_t *mcnt;                 /* values of each column of several */
};

/* pos [nv] (values of one block) sorted stably by column (LSD radix on the column's bytes). */
static void sort_by_column(const int32_t *idx, int64_t nv, int nbytes, int32_t *pos, int32_t *tmp) {
  for (int64_t q = 0; q < nv; q++) pos[q] = (int32_t)q;
  for (int d = 0; d < nbytes; d++) {
    int64_t cnt[257] = {0};
    int sh = 8 * d;
    for (int64_t q = 0; q < nv; q++) cnt[((uint32_t)idx[pos[q]] >> sh & 255) + 1]++;
    for (int i = 0; i < 256; i++) cnt[i + 1] += cnt[i];
    for (int64_t q = 0; q < nv; q++) tmp[cnt[(uint32_t)idx[pos[q]] >> sh & 255]++] = pos[q];
    memcpy(pos, tmp, sizeof(int32_t) * (size_t)nv);
  }
}

/* A column's values pos[q .. q + n) (sorted by row) into t at e: marks of values in one full group. */
static void emit_column(ps_csc_blocks_t *t, int64_t e, const float *val, const int32_t *pos, const uint8_t *rowof,
                        int64_t q, int64_t n, int64_t m4) {
  for (int64_t u = q; u < q + n; u++, e++) {
    int row = rowof[pos[u]], next = u + 1 < q + n ? rowof[pos[u + 1]] : -1;
    int same = next >= 0 && next / RB == row / RB && next < m4;
    t->rf[e] = (uint16_t)(row | (same ? SAME_GROUP : 0));
    t->val[e] = val[pos[u]];
  }
}

/* One block's values (sorted positions pos, rows rowof) into t: the columns of one value, then the others
 * by their count of values (a predictable loop); runs [nv] scratch. */
static void emit_block(ps_csc_blocks_t *t, int64_t b, const int32_t *idx, const float *val, const int32_t *pos,
                       const uint8_t *rowof, int64_t nv, int64_t m4, int32_t *runs) {
  int64_t e = t->e_off[b], cc = t->c_off[b], mc = t->m_off[b], nr = 0, cnt[258] = {0};
  for (int64_t q = 0, q2; q < nv; q = q2) {
    for (q2 = q + 1; q2 < nv && idx[pos[q2]] == idx[pos[q]];) q2++;
    if (q2 - q == 1) {
      t->col[cc++] = idx[pos[q]];
      emit_column(t, e++, val, pos, rowof, q, 1, m4);
    } else {
      runs[nr++] = (int32_t)q;
      cnt[q2 - q + 1]++;
    }
  }
  t->ns[b] = (int32_t)(cc - t->c_off[b]);
  for (int i = 0; i < 257; i++) cnt[i + 1] += cnt[i];
  int32_t *order = runs + nr;
  for (int64_t u = 0; u < nr; u++) { /* stable counting sort of the runs by length */
    int64_t q = runs[u], n = 1;
    while (q + n < nv && idx[pos[q + n]] == idx[pos[q]]) n++;
    order[cnt[n]++] = runs[u];
  }
  for (int64_t u = 0; u < nr; u++) {
    int64_t q = order[u], n = 1;
    while (q + n < nv && idx[pos[q + n]] == idx[pos[q]]) n++;
    t->col[cc++] = idx[pos[q]];
    t->mcnt[mc++] = (uint16_t)n;
    emit_column(t, e, val, pos, rowof, q, n, m4);
    e += n;
  }
  t->e_off[b + 1] = e;
  t->c_off[b + 1] = cc;
  t->m_off[b + 1] = mc;
}

ps_csc_blocks_t *ps_csc_blocks_build(const int64_t *ptr, const int32_t *idx, const float *val, const int32_t *nrows,
                                     int64_t nb, int64_t c) {
  int64_t row = 0, maxv = 1, nnz = 0;
  for (int64_t b = 0; b < nb; row += nrows[b++]) {
    if (nrows[b] > 256) return NULL;
    int64_t nv = ptr[row + nrows[b]] - ptr[row];
    maxv = nv > maxv ? nv : maxv;
  }
  nnz = ptr[row] - ptr[0];
  int nbytes = 1;
  while (nbytes < 4 && (c - 1) >> (8 * nbytes) > 0) nbytes++;
  ps_csc_blocks_t *t = ps_calloc(1, sizeof *t);
  t->nb = nb;
  t->e_off = ps_calloc((size_t)nb + 1, sizeof(int64_t));
  t->c_off = ps_calloc((size_t)nb + 1, sizeof(int64_t));
  t->m_off = ps_calloc((size_t)nb + 1, sizeof(int64_t));
  t->ns = ps_calloc((size_t)nb + 1, sizeof(int32_t));
  t->rf = ps_malloc(sizeof(uint16_t) * (size_t)(nnz + 1));
  t->val = ps_malloc(sizeof(float) * (size_t)(nnz + 1));
  t->col = ps_malloc(sizeof(int32_t) * (size_t)(nnz + 1));
  t->mcnt = ps_malloc(sizeof(uint16_t) * (size_t)(nnz / 2 + 1));
  int32_t *pos = ps_malloc(sizeof(int32_t) * (size_t)maxv), *tmp = ps_malloc(sizeof(int32_t) * (size_t)maxv);
  uint8_t *rowof = ps_malloc((size_t)maxv);
  int32_t *runs = ps_malloc(sizeof(int32_t) * (size_t)maxv);
  row = 0;
  for (int64_t b = 0; b < nb; row += nrows[b++]) {
    int64_t p0 = ptr[row] - ptr[0], nv = ptr[row + nrows[b]] - ptr[row];
    for (int i = 0; i < nrows[b]; i++)
      for (int64_t p = ptr[row + i] - ptr[row]; p < ptr[row + i + 1] - ptr[row]; p++) rowof[p] = (uint8_t)i;
    sort_by_column(idx + p0, nv, nbytes, pos, tmp);
    emit_block(t, b, idx + p0, val + p0, pos, rowof, nv, nrows[b] - nrows[b] % RB, runs);
  }
  free(pos);
  free(tmp);
  free(rowof);
  free(runs);
  t->col = ps_realloc(t->col, sizeof(int32_t) * (size_t)(t->c_off[nb] + 1));
  t->mcnt = ps_realloc(t->mcnt, sizeof(uint16_t) * (size_t)(t->m_off[nb] + 1));
  return t;
}

void ps_csc_blocks_free(ps_csc_blocks_t *t) {
  if (!t) return;
  free(t->e_off);
  free(t->c_off);
  free(t->m_off);
  free(t->ns);
  free(t->rf);
  free(t->val);
  free(t->col);
  free(t->mcnt);
  free(t);
}

/* A column of one value: the block's sum is its term (0 + t). Of several: 0, then each group's sum in row
 * order (one value alone: its term; values marked SAME_GROUP with the next: (t0 + t1) + (t2 + t3), a row
 * without the column 0), a tail row's term alone (never marked). */
void ps_csc_blocks_grad(const ps_csc_blocks_t *t, int64_t b, const double *r, int64_t ld, int k, __int128 *w,
                        int64_t *acc, int64_t off, int64_t stride) {
  const uint16_t *rf = t->rf + t->e_off[b];
  const float *v = t->val + t->e_off[b];
  const int32_t *col = t->col + t->c_off[b];
  const uint16_t *mcnt = t->mcnt + t->m_off[b];
  int64_t ns = t->ns[b], nm = t->c_off[b + 1] - t->c_off[b] - ns;
  for (int h = 0; h < k; h++) {
    const double *rh = r + h * ld;
    int64_t base = off + h * stride, e = ns;
    for (int64_t q = 0; q < ns; q++) ps_xw_add_at(w, acc, base + col[q], rh[rf[q]] * (double)v[q]);
    for (int64_t q = 0; q < nm; q++) {
      double g = 0;
      for (int64_t end = e + mcnt[q]; e < end;) {
        unsigned x = rf[e];
        if (!(x & SAME_GROUP)) {
          g += rh[x] * (double)v[e++];
          continue;
        }
        double s[RB] = {0, 0, 0, 0};
        do {
          x = rf[e];
          s[x % RB] = rh[x & (SAME_GROUP - 1)] * (double)v[e];
          e++;
        } while (x & SAME_GROUP);
        g += (s[0] + s[1]) + (s[2] + s[3]);
      }
      ps_xw_add_at(w, acc, base + col[ns + q], g);
    }
  }
}
