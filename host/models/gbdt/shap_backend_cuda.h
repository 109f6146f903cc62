/* shap_backend_cuda.h: TreeSHAP of `score --explain --device cuda` (CUDA builds):
 * every head's forest and leaf paths go up once; a block's raw rows go up,
 * the TreeSHAP kernel (kernels/gbdt/shap.cu) computes a head's
 * contributions, they come back: the CPU twin's bits. */
#ifndef PS_GBDT_SHAP_BACKEND_CUDA_H
#define PS_GBDT_SHAP_BACKEND_CUDA_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/shap_cpu.h"

typedef struct gbdt_cuda_explainer gbdt_cuda_explainer_t;
/* NULL when a path is longer than the kernel takes (PS_SHAP_MAX_DEPTH): the twin then. */
gbdt_cuda_explainer_t *gbdt_cuda_explainer_create(const ps_forest_view_t *heads, const ps_shap_paths_t *paths, int k);
/* phi [n][f] (host) = head h's contributions of raw rows X [n][f] (host). */
void gbdt_cuda_explainer_contrib(gbdt_cuda_explainer_t *c, int h, const float *X, int64_t n, int64_t f, double *phi);
void gbdt_cuda_explainer_destroy(gbdt_cuda_explainer_t *c);
#endif
