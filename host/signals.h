/* signals.h: graceful stop. SIGTERM and SIGUSR1 (Slurm's --signal=B:USR1@T,
 * preemption, scancel, requeue) set a flag; long loops poll it at safe
 * points, agree on it across ranks, checkpoint and exit with PS_EXIT_STOPPED. */
#ifndef PS_SIGNALS_H
#define PS_SIGNALS_H

#define PS_EXIT_STOPPED 75 /* EX_TEMPFAIL: stopped cleanly, run the same command again to resume */

void ps_signals_install(void);
int ps_stop_requested(void); /* this rank saw SIGTERM/SIGUSR1 */
int ps_stop_signal(void);    /* which one (0 if none) */
/* Fault injection for tests: with PROPSCORE_FAULT_STOP=WHERE:N in the
 * environment, rank 0 raises SIGTERM on its N-th call with this WHERE
 * ("pass" in training, "block" in scoring). */
void ps_fault_tick(const char *where);
/* Collective: 1 on every rank if any rank saw a stop signal. */
int ps_stop_agreed(void);
#endif
