/* device.h: --device cpu|cuda|auto for every model kind, decided the same
 * on every rank (collective): auto takes the GPU only when every rank sees
 * one; cuda without a GPU on some rank, or in a build without CUDA, is an
 * error naming why. */
#ifndef PS_DEVICE_H
#define PS_DEVICE_H
/* 1: run on the GPU, 0: on the CPU. */
int device_choose(const char *device);
/* Number of CUDA devices this rank sees (0 in a CPU build). */
int device_count(void);
#endif
