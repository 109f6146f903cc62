/* nccl.h: private to host/comm -- the NCCL transport of the float64 sums
 * (comm_nccl.c, CUDA builds); without CUDA these are no-ops. */
#ifndef PS_COMM_NCCL_H
#define PS_COMM_NCCL_H
#include <stddef.h>

#ifdef PROPSCORE_HAVE_CUDA
void nccl_setup(int device); /* collective: every rank has a GPU */
int nccl_active(void);
void nccl_allreduce_sum_f64(double *buf, size_t n);
void nccl_shutdown(void);
#else
static inline void nccl_setup(int device) { (void)device; }
static inline int nccl_active(void) { return 0; }
static inline void nccl_allreduce_sum_f64(double *buf, size_t n) { (void)buf; (void)n; }
static inline void nccl_shutdown(void) {}
#endif
#endif
