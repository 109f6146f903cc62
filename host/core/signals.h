/* signals.h: graceful stop. SIGTERM and SIGUSR1 (Slurm's --signal=B:USR1@T,
 * preemption, scancel, requeue; mpirun forwards SIGUSR1) set a flag; long
 * loops poll it at safe points, agree on it across ranks (comm_agree_stop),
 * checkpoint or clean up, and exit with PS_EXIT_STOPPED (util.h). */
#ifndef PS_SIGNALS_H
#define PS_SIGNALS_H

void ps_signals_install(void);
int ps_stop_requested(void); /* this rank saw SIGTERM/SIGUSR1 */
int ps_stop_signal(void);    /* which one (0 if none) */
/* Fault injection for tests: with PROPSCORE_FAULT_STOP=WHERE:N in the
 * environment, rank 0 raises SIGTERM on its N-th call with this WHERE
 * ("pass" in training, "block" in pipelines, "tree" in GBDT, ...); with
 * PROPSCORE_FAULT_STOP=WHERE:N:R, rank R does. */
void ps_fault_tick(const char *where);
/* The name of a signal number ("SIGTERM"). */
const char *ps_signal_name(int sig);
#endif
