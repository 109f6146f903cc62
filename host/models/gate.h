/* gate.h: the gate job -- the quality gate of the monthly refresh: a new
 * model may replace the published one only if its numbers are sound (every
 * model value finite, every score a probability), no head's validation
 * metrics got worse past a limit, no published head vanished and, given
 * both score files, the score distribution did not shift past a PSI limit. */
#ifndef PS_GATE_H
#define PS_GATE_H
#include "core/options.h"

typedef struct {
  const char *model, *baseline, *scores, *baseline_scores;
  double max_auc_drop, max_logloss_rise, min_auc, max_psi;
  int json;
} gate_opts_t;
/* `propscore gate`: its options (one table) and help. */
extern const ps_cmd_spec_t gate_cmd;
/* Collective; 0 publish, PS_EXIT_GATE refused (one line says why). */
int gate_run(const gate_opts_t *o);
#endif
