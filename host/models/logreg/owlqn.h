/* owlqn.h: the L1 steps of the per-head iteration (linesearch.c calls
 * them when o->l1 > 0): Andrew and Gao's orthant-wise limited-memory
 * quasi-Newton (OWL-QN). Plain arrays only, as linesearch.h. */
#ifndef PS_OWLQN_H
#define PS_OWLQN_H
#include "models/logreg/linesearch.h"

/* l1 * |x[0..n_pen)|_1 */
double owlqn_penalty(const ps_opt_t *o, const double *x);
/* o->pg from o->x and o->g */
void owlqn_pseudo_gradient(ps_opt_t *o);
/* o->xt = x + t d, each penalized coordinate that left its orthant set to 0 */
void owlqn_set_trial(ps_opt_t *o);
/* New direction from o->pg (projected on its orthant), the first step and trial point. */
void owlqn_new_search(ps_opt_t *o);
/* The objective F (penalty included) at o->xt: 1 to accept it, 0 with o->t halved
 * (the caller sets the next trial). */
int owlqn_test(ps_opt_t *o, double F);
#endif
