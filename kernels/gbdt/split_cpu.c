/* split_cpu.c: CPU twin of split.cu -- the best split of a leaf from its
 * histogram: for every usable feature, every cut between value bins with
 * missing rows sent left or right, and "values left, missing right"; the
 * L2-regularized gain (gbdt_math.h) with the min-rows and min-Hessian
 * constraints. Sums are exact integers; ties go to the lower feature, the
 * lower bin, missing right. */
#include "gbdt/gbdt_cpu.h"

static void consider(ps_split_t *best, double gain, int32_t j, int32_t t, int32_t dl, int64_t lg, int64_t lh,
                     int64_t ln) {
  if (!(gain > best->gain)) return;
  best->gain = gain;
  best->feature = j;
  best->bin = t;
  best->default_left = dl;
  best->lg = lg;
  best->lh = lh;
  best->ln = ln;
}

/* One candidate: left sums (lg, lh, ln), the rest right (gbdt_math.h). */
static double gain_of(int64_t lg, int64_t lh, int64_t ln, int64_t G, int64_t H, int64_t N, double parent,
                      const ps_split_params_t *p) {
  return ps_gbdt_split_gain(lg, lh, ln, G, H, N, parent, 1.0 / p->scale, p->l2, p->min_data, p->min_hess);
}

void ps_gbdt_split_cpu(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *use, int64_t G,
                       int64_t H, int64_t N, const ps_split_params_t *p, ps_split_t *best) {
  best->gain = p->min_gain;
  best->feature = -1;
  best->bin = 0;
  best->default_left = 0;
  best->lg = best->lh = best->ln = 0;
  double parent = ps_gbdt_split_parent(G, H, p->scale, p->l2);
  for (int64_t j = 0; j < f; j++) {
    if (use && !use[j]) continue;
    const int64_t *h = hist + PS_HIST_W * bin_off[j];
    int32_t nb = (int32_t)(bin_off[j + 1] - bin_off[j]); /* code 0 (missing) + value bins 1..nb-1 */
    int64_t mg = h[0], mh = h[1], mn = h[2], cg = 0, ch = 0, cn = 0;
    for (int32_t t = 1; t < nb; t++) {
      cg += h[PS_HIST_W * t];
      ch += h[PS_HIST_W * t + 1];
      cn += h[PS_HIST_W * t + 2];
      if (t < nb - 1) { /* values 1..t left, t+1.. right; missing right, then left */
        consider(best, gain_of(cg, ch, cn, G, H, N, parent, p), (int32_t)j, t, 0, cg, ch, cn);
        if (mn > 0)
          consider(best, gain_of(cg + mg, ch + mh, cn + mn, G, H, N, parent, p), (int32_t)j, t, 1, cg + mg, ch + mh,
                   cn + mn);
      } else if (mn > 0) { /* every value left, missing right */
        consider(best, gain_of(cg, ch, cn, G, H, N, parent, p), (int32_t)j, t, 0, cg, ch, cn);
      }
    }
  }
  /* no missing rows at the chosen node: send missing values (at scoring) to the larger side */
  if (best->feature >= 0) {
    const int64_t *h = hist + PS_HIST_W * bin_off[best->feature];
    if (h[2] == 0) best->default_left = best->ln >= N - best->ln;
  }
}
