/* scorer_registry.h: opens a model file of any kind as a scorer
 * (models/scorer.h), by the file's model_type attribute (files without one
 * are logistic regression): one table line per kind in scorer_registry.c. */
#ifndef PS_SCORER_REGISTRY_H
#define PS_SCORER_REGISTRY_H
#include "models/scorer.h"

/* Every rank reads the (small) model file; dies with one line naming it. */
ps_scorer_t *scorer_open(const char *path, const char *device);
#endif
