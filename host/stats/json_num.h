/* json_num.h — numbers for the JSON reports of eval, eval --uplift and
 * inspect: a finite double as a JSON number, NaN or infinity as null (JSON
 * has no NaN), and an array of them. */
#ifndef PS_JSON_NUM_H
#define PS_JSON_NUM_H

#include <math.h>

#include <cJSON.h>

static inline cJSON *ps_json_num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static inline cJSON *ps_json_arr(const double *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, ps_json_num(v[i]));
  return a;
}

#endif
