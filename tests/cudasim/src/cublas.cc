/* cublas.cc: the cuBLAS calls propscore makes, on the emulated device: the
 * same column-major semantics and argument checks as cuBLAS (a bad size or
 * leading dimension is CUBLAS_STATUS_INVALID_VALUE), the matrices checked to
 * be device memory and in bounds, and the work queued on the handle's stream
 * like any other device operation; it runs as the OpenBLAS call. Scalars
 * (alpha, beta) are read when the call is made, as cuBLAS does in its
 * default host pointer mode. */
#include <cblas.h>
#include <string.h>

#include <mutex>
#include <set>

#include "cublas_v2.h"
#include "internal.h"

struct cublasContext {
  cudaStream_t stream;
  cublasAtomicsMode_t atomics;
};

namespace cudasim {
namespace {
std::mutex mu;
std::set<cublasHandle_t> handles;

bool live(cublasHandle_t h) {
  std::lock_guard<std::mutex> l(mu);
  return h && handles.count(h);
}

/* Elements a (rows x cols) column-major matrix with leading dimension ld spans. */
size_t span(int rows, int cols, int ld) {
  if (rows <= 0 || cols <= 0) return 0;
  return (size_t)ld * (size_t)(cols - 1) + (size_t)rows;
}

cublasStatus_t bad(const char *call, const char *file, int line, const std::string &why) {
  note("%s at %s: %s (CUBLAS_STATUS_INVALID_VALUE)", call, site(file, line).c_str(), why.c_str());
  return CUBLAS_STATUS_INVALID_VALUE;
}

CBLAS_TRANSPOSE tr(cublasOperation_t o) { return o == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }

template <class T, class Gemm>
cublasStatus_t gemm(const char *call, const char *file, int line, cublasHandle_t h, cublasOperation_t ta,
                    cublasOperation_t tb, int m, int n, int k, const T *alpha, const T *A, int lda, const T *B, int ldb,
                    const T *beta, T *C, int ldc, Gemm blas) {
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if ((ta != CUBLAS_OP_N && ta != CUBLAS_OP_T && ta != CUBLAS_OP_C) ||
      (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T && tb != CUBLAS_OP_C))
    return bad(call, file, line, "an operation other than N, T or C");
  int arows = ta == CUBLAS_OP_N ? m : k, acols = ta == CUBLAS_OP_N ? k : m;
  int brows = tb == CUBLAS_OP_N ? k : n, bcols = tb == CUBLAS_OP_N ? n : k;
  if (m < 0 || n < 0 || k < 0) return bad(call, file, line, strf("m=%d n=%d k=%d", m, n, k));
  if (lda < (arows > 1 ? arows : 1)) return bad(call, file, line, strf("lda=%d < %d rows of op(A)'s storage", lda, arows));
  if (ldb < (brows > 1 ? brows : 1)) return bad(call, file, line, strf("ldb=%d < %d rows of op(B)'s storage", ldb, brows));
  if (ldc < (m > 1 ? m : 1)) return bad(call, file, line, strf("ldc=%d < m=%d", ldc, m));
  if (!alpha || !beta) return bad(call, file, line, "a null alpha or beta");
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  T al = *alpha, be = *beta;
  std::vector<rt::Use> uses;
  bool needs_ab = k > 0;
  if (needs_ab) {
    uses.push_back(rt::Use{A, sizeof(T) * span(arows, acols, lda), false, "A"});
    uses.push_back(rt::Use{B, sizeof(T) * span(brows, bcols, ldb), false, "B"});
  }
  uses.push_back(rt::Use{C, sizeof(T) * span(m, n, ldc), true, "C"});
  std::string what = strf("%s(%c%c, m=%d n=%d k=%d)", call, ta == CUBLAS_OP_N ? 'N' : 'T', tb == CUBLAS_OP_N ? 'N' : 'T', m, n, k);
  cudaError_t e = rt::enqueue(h->stream, what, file, line, uses,
                              [=] { blas(CblasColMajor, tr(ta), tr(tb), m, n, k, al, A, lda, B, ldb, be, C, ldc); });
  return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}
} // namespace
} // namespace cudasim

using namespace cudasim;

extern "C" {

cublasStatus_t cublasCreate(cublasHandle_t *handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  cudaGetLastError();
  cublasHandle_t h = new cublasContext{nullptr, CUBLAS_ATOMICS_NOT_ALLOWED};
  std::lock_guard<std::mutex> l(mu);
  handles.insert(h);
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t h) {
  std::lock_guard<std::mutex> l(mu);
  if (!h || !handles.erase(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!rt::stream_ok(s)) return CUBLAS_STATUS_INVALID_VALUE;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t h, cudaStream_t *s) {
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  *s = h->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetAtomicsMode(cublasHandle_t h, cublasAtomicsMode_t mode) {
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_ATOMICS_NOT_ALLOWED && mode != CUBLAS_ATOMICS_ALLOWED) return CUBLAS_STATUS_INVALID_VALUE;
  h->atomics = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetAtomicsMode(cublasHandle_t h, cublasAtomicsMode_t *mode) {
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  *mode = h->atomics;
  return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char *cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
  }
  return "unknown error";
}

cublasStatus_t cudasim_cublasDgemm(const char *file, int line, cublasHandle_t h, cublasOperation_t ta,
                                   cublasOperation_t tb, int m, int n, int k, const double *alpha, const double *A,
                                   int lda, const double *B, int ldb, const double *beta, double *C, int ldc) {
  return gemm("cublasDgemm", file, line, h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, cblas_dgemm);
}

cublasStatus_t cudasim_cublasSgemm(const char *file, int line, cublasHandle_t h, cublasOperation_t ta,
                                   cublasOperation_t tb, int m, int n, int k, const float *alpha, const float *A,
                                   int lda, const float *B, int ldb, const float *beta, float *C, int ldc) {
  return gemm("cublasSgemm", file, line, h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, cblas_sgemm);
}

cublasStatus_t cudasim_cublasDsyrk(const char *file, int line, cublasHandle_t h, cublasFillMode_t uplo,
                                   cublasOperation_t trans, int n, int k, const double *alpha, const double *A,
                                   int lda, const double *beta, double *C, int ldc) {
  const char *call = "cublasDsyrk";
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (uplo != CUBLAS_FILL_MODE_LOWER && uplo != CUBLAS_FILL_MODE_UPPER) return bad(call, file, line, "uplo not LOWER or UPPER");
  if (trans != CUBLAS_OP_N && trans != CUBLAS_OP_T && trans != CUBLAS_OP_C) return bad(call, file, line, "trans not N, T or C");
  int arows = trans == CUBLAS_OP_N ? n : k, acols = trans == CUBLAS_OP_N ? k : n;
  if (n < 0 || k < 0) return bad(call, file, line, strf("n=%d k=%d", n, k));
  if (lda < (arows > 1 ? arows : 1)) return bad(call, file, line, strf("lda=%d < %d rows of A's storage", lda, arows));
  if (ldc < (n > 1 ? n : 1)) return bad(call, file, line, strf("ldc=%d < n=%d", ldc, n));
  if (!alpha || !beta) return bad(call, file, line, "a null alpha or beta");
  if (n == 0) return CUBLAS_STATUS_SUCCESS;
  double al = *alpha, be = *beta;
  std::vector<rt::Use> uses;
  if (k > 0) uses.push_back(rt::Use{A, sizeof(double) * span(arows, acols, lda), false, "A"});
  uses.push_back(rt::Use{C, sizeof(double) * span(n, n, ldc), true, "C"});
  std::string what = strf("cublasDsyrk(%s, %c, n=%d k=%d)", uplo == CUBLAS_FILL_MODE_UPPER ? "upper" : "lower",
                          trans == CUBLAS_OP_N ? 'N' : 'T', n, k);
  cudaError_t e = rt::enqueue(h->stream, what, file, line, uses, [=] {
    cblas_dsyrk(CblasColMajor, uplo == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower, tr(trans), n, k, al, A, lda,
                be, C, ldc);
  });
  return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

} // extern "C"
