/* scorer.c: what every scorer shares (see scorer.h). */
#include "models/scorer.h"

#include <string.h>

#include "core/util.h"

void scorer_close(ps_scorer_t *s) {
  if (s) s->destroy(s);
}

void scorer_check_data(const ps_scorer_t *s, const char *model_path, const ps_data_t *d) {
  int64_t n = s->f < d->f ? s->f : d->f;
  for (int64_t j = 0; j < n; j++)
    if (strcmp(s->feature_names[j], d->feature_names[j]) != 0)
      ps_die_all(PS_EXIT_ERROR, "%s: feature %lld is '%s' but model %s expects '%s'", d->path, (long long)j,
                 d->feature_names[j], model_path, s->feature_names[j]);
  if (s->f != d->f)
    ps_die_all(PS_EXIT_ERROR, "%s: has %lld features but model %s expects %lld (first difference at column %lld)",
               d->path, (long long)d->f, model_path, (long long)s->f, (long long)n);
}
