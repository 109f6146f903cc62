/* nccl.h: private to host/comm -- the NCCL transport of the float64 sums
 * and the int64 sums of device buffers (comm_nccl.c, CUDA builds); without
 * CUDA these are no-ops. */
#ifndef PS_COMM_NCCL_H
#define PS_COMM_NCCL_H
#include <stddef.h>
#include <stdint.h>

#ifdef PROPSCORE_HAVE_CUDA
/* Collective, every rank with a GPU of its own: the communicator; 0, or -1
 * with why this rank failed in why (the caller agrees with the other ranks). */
int nccl_setup(int device, char *why, size_t n);
/* Collective, once every rank's set-up succeeded: a first sum of one value
 * through NCCL (where NCCL makes its connections); 0, or -1 and why. */
int nccl_warmup(char *why, size_t n);
int nccl_active(void);
void nccl_allreduce_sum_f64(double *buf, size_t n);
/* In place on the device buffer d [n], queued on the caller's cudaStream_t and polled to completion. */
void nccl_allreduce_sum_i64_device(int64_t *d, size_t n, void *stream);
/* The same for the maxima (ncclMax). */
void nccl_allreduce_max_i64_device(int64_t *d, size_t n, void *stream);
void nccl_shutdown(void);
/* Local: drop the communicator without waiting for peers (after a failure elsewhere). */
void nccl_abandon(void);
#else
static inline int nccl_setup(int device, char *why, size_t n) { (void)device, (void)why, (void)n; return -1; }
static inline int nccl_warmup(char *why, size_t n) { (void)why, (void)n; return -1; }
static inline int nccl_active(void) { return 0; }
static inline void nccl_allreduce_sum_f64(double *buf, size_t n) { (void)buf; (void)n; }
static inline void nccl_allreduce_sum_i64_device(int64_t *d, size_t n, void *stream) { (void)d, (void)n, (void)stream; }
static inline void nccl_allreduce_max_i64_device(int64_t *d, size_t n, void *stream) { (void)d, (void)n, (void)stream; }
static inline void nccl_shutdown(void) {}
static inline void nccl_abandon(void) {}
#endif
#endif
