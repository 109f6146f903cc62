/* holdout.h: the holdout job. Each customer of a data file is put in the
 * control group (held out of a campaign) or the treatment group by a salted
 * hash of its customer id: salt = FNV-1a of "holdout:" + the campaign name,
 * control iff ps_id_unit(id, salt) < fraction. The group of a customer thus
 * depends on its id and the campaign only: not on the rank count, the row
 * order, or the other customers of the file (month to month, a customer
 * keeps its group). With --strata LABEL the realised control share is
 * reported per value of that label (integer values 0..1023). Output
 * (datasets/SCHEMA.md): /customer_id, /holdout/<campaign> uint8 (1 =
 * control), and with strata /strata/<campaign>/{value,count,control}. */
#ifndef PS_HOLDOUT_H
#define PS_HOLDOUT_H
#include <stdint.h>

#include "core/options.h"

typedef struct {
  const char *data, *campaign, *strata, *out;
  double fraction;
} holdout_opts_t;

/* The salt of a campaign and the group of one id (1 = control). */
uint64_t holdout_salt(const char *campaign);
int holdout_is_control(int64_t id, uint64_t salt, double fraction);
/* Dies (usage) unless the name is 1..64 of [A-Za-z0-9_.-]. */
void holdout_check_campaign(const char *campaign);
/* `propscore holdout`: its options (one table) and help. */
extern const ps_cmd_spec_t holdout_cmd;
int holdout_run(const holdout_opts_t *o);
#endif
