/* cuda_runtime_api.h (cudasim): the part of the CUDA runtime API that
 * propscore uses, for the emulated device of tests/cudasim (runtime in
 * src/runtime.cc). C and C++. The calls that allocate or order work are
 * macros of the same name that pass their call site (file:line) on, so the
 * emulator's messages (stream races, launch errors) name the lines. Values
 * of the enums are those of the real runtime. */
#ifndef CUDASIM_CUDA_RUNTIME_API_H
#define CUDASIM_CUDA_RUNTIME_API_H
#include <stddef.h>

#define CUDART_VERSION 13000
#define PROPSCORE_CUDASIM_RUNTIME 1

#ifdef __cplusplus
extern "C" {
#define CUDASIM_DEFAULT(v) = v
#else
#define CUDASIM_DEFAULT(v)
#endif

typedef enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorNotSupported = 801,
  cudaErrorUnknown = 999
} cudaError_t;

typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};

enum cudaDeviceAttr {
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02
#define cudaHostAllocDefault 0x00

struct uint3 {
  unsigned int x, y, z;
};
typedef struct uint3 uint3;
/* a 16-byte vector load (LDG.128 on a GPU): 16-byte aligned, as CUDA's */
struct __attribute__((aligned(16))) uint4 {
  unsigned int x, y, z, w;
};
typedef struct uint4 uint4;

struct dim3 {
  unsigned int x, y, z;
#ifdef __cplusplus
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
#endif
};
typedef struct dim3 dim3;

typedef struct CUuuid_st {
  char bytes[16];
} cudaUUID_t;

/* The fields propscore reads, with an H100's values (name and memory: the
 * emulator's; the opt-in shared memory per block: PROPSCORE_CUDASIM_SMEM_OPTIN,
 * default 227 KiB; uuid and pciBusID: the GPU's on its node, see runtime.cc). */
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
  int l2CacheSize;
  cudaUUID_t uuid;
  int pciBusID;
};

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device);
cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device);
/* Blocks of a kernel resident on one SM: limited by threads (2048 an SM) and
 * shared memory (the opt-in limit + 1 KiB an SM, 1 KiB reserved a block);
 * registers are not modelled. 0 when dynamic_smem is above what the kernel
 * may use (48 KiB, or its cudaFuncSetAttribute). */
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, const void *func, int block_size,
                                                          size_t dynamic_smem);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaRuntimeGetVersion(int *version);
cudaError_t cudaDriverGetVersion(int *version);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);

cudaError_t cudaStreamQuery(cudaStream_t s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned int flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);

/* ---- located calls: each name below is a macro adding the call site ---- */
cudaError_t cudasim_Malloc(const char *file, int line, void **p, size_t bytes);
cudaError_t cudasim_MallocHost(const char *file, int line, void **p, size_t bytes);
cudaError_t cudasim_Free(const char *file, int line, void *p);
cudaError_t cudasim_FreeHost(const char *file, int line, void *p);
cudaError_t cudasim_Memcpy(const char *file, int line, void *dst, const void *src, size_t bytes,
                           enum cudaMemcpyKind kind);
cudaError_t cudasim_MemcpyAsync(const char *file, int line, void *dst, const void *src, size_t bytes,
                                enum cudaMemcpyKind kind, cudaStream_t s CUDASIM_DEFAULT(0));
cudaError_t cudasim_Memset(const char *file, int line, void *dst, int value, size_t bytes);
cudaError_t cudasim_MemsetAsync(const char *file, int line, void *dst, int value, size_t bytes,
                                cudaStream_t s CUDASIM_DEFAULT(0));
cudaError_t cudasim_StreamCreate(const char *file, int line, cudaStream_t *s);
cudaError_t cudasim_StreamCreateWithFlags(const char *file, int line, cudaStream_t *s, unsigned int flags);
cudaError_t cudasim_StreamSynchronize(const char *file, int line, cudaStream_t s);
cudaError_t cudasim_StreamWaitEvent(const char *file, int line, cudaStream_t s, cudaEvent_t e,
                                    unsigned int flags CUDASIM_DEFAULT(0));
cudaError_t cudasim_EventRecord(const char *file, int line, cudaEvent_t e, cudaStream_t s CUDASIM_DEFAULT(0));
cudaError_t cudasim_FuncSetAttribute(const char *file, int line, const void *func, enum cudaFuncAttribute attr,
                                     int value);

#define cudaMalloc(...) cudasim_Malloc(__FILE__, __LINE__, __VA_ARGS__)
#define cudaMallocHost(...) cudasim_MallocHost(__FILE__, __LINE__, __VA_ARGS__)
#define cudaFree(...) cudasim_Free(__FILE__, __LINE__, __VA_ARGS__)
#define cudaFreeHost(...) cudasim_FreeHost(__FILE__, __LINE__, __VA_ARGS__)
#define cudaMemcpy(...) cudasim_Memcpy(__FILE__, __LINE__, __VA_ARGS__)
#define cudaMemcpyAsync(...) cudasim_MemcpyAsync(__FILE__, __LINE__, __VA_ARGS__)
#define cudaMemset(...) cudasim_Memset(__FILE__, __LINE__, __VA_ARGS__)
#define cudaMemsetAsync(...) cudasim_MemsetAsync(__FILE__, __LINE__, __VA_ARGS__)
#define cudaStreamCreate(...) cudasim_StreamCreate(__FILE__, __LINE__, __VA_ARGS__)
#define cudaStreamCreateWithFlags(...) cudasim_StreamCreateWithFlags(__FILE__, __LINE__, __VA_ARGS__)
#define cudaStreamSynchronize(...) cudasim_StreamSynchronize(__FILE__, __LINE__, __VA_ARGS__)
#define cudaStreamWaitEvent(...) cudasim_StreamWaitEvent(__FILE__, __LINE__, __VA_ARGS__)
#define cudaEventRecord(...) cudasim_EventRecord(__FILE__, __LINE__, __VA_ARGS__)
#define cudaFuncSetAttribute(...) cudasim_FuncSetAttribute(__FILE__, __LINE__, __VA_ARGS__)

#ifdef __cplusplus
}
/* C++: typed pointers and kernels, as the real runtime's templates allow */
template <class T>
inline cudaError_t cudasim_Malloc(const char *file, int line, T **p, size_t bytes) {
  return cudasim_Malloc(file, line, reinterpret_cast<void **>(p), bytes);
}
template <class T>
inline cudaError_t cudasim_MallocHost(const char *file, int line, T **p, size_t bytes) {
  return cudasim_MallocHost(file, line, reinterpret_cast<void **>(p), bytes);
}
template <class R, class... P>
inline cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, R (*func)(P...), int block_size,
                                                                 size_t dynamic_smem) {
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, reinterpret_cast<const void *>(func), block_size,
                                                       dynamic_smem);
}
template <class R, class... P>
inline cudaError_t cudasim_FuncSetAttribute(const char *file, int line, R (*func)(P...), enum cudaFuncAttribute attr,
                                            int value) {
  return cudasim_FuncSetAttribute(file, line, reinterpret_cast<const void *>(func), attr, value);
}
#endif
#endif
