/* parse.c: strict command-line value parsing (see parse.h). */
#include "core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

long long ps_parse_ll(const char *opt, const char *s, long long lo, long long hi) {
  const char *p = s;
  int neg = 0;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  if (!isdigit((unsigned char)*p)) ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not an integer", opt, s);
  /* mantissa digits, then an optional exponent: the value must be exact */
  unsigned long long v = 0;
  int over = 0;
  for (; isdigit((unsigned char)*p); p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (ULLONG_MAX - d) / 10) over = 1;
    else v = v * 10 + d;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+') p++;
    if (!isdigit((unsigned char)*p)) ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not an integer", opt, s);
    int e = 0;
    for (; isdigit((unsigned char)*p); p++) e = e > 100 ? e : e * 10 + (*p - '0');
    for (int i = 0; i < e && !over; i++) {
      if (v > ULLONG_MAX / 10) over = 1;
      else v *= 10;
    }
  }
  if (*p) ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not an integer", opt, s);
  if (over || v > (unsigned long long)LLONG_MAX)
    ps_die_all(PS_EXIT_USAGE, "%s: %s is out of range [%lld, %lld]", opt, s, lo, hi);
  long long r = neg ? -(long long)v : (long long)v;
  if (r < lo || r > hi) ps_die_all(PS_EXIT_USAGE, "%s: %s is out of range [%lld, %lld]", opt, s, lo, hi);
  return r;
}

double ps_parse_double(const char *opt, const char *s, double lo, double hi) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno == ERANGE || !end || *end || end == s || isspace((unsigned char)*s) || !isfinite(v))
    ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not a number", opt, s);
  if (!(v >= lo && v <= hi)) ps_die_all(PS_EXIT_USAGE, "%s: %s is out of range [%g, %g]", opt, s, lo, hi);
  return v;
}

int64_t ps_parse_size(const char *opt, const char *s) {
  /* digits, an optional fraction, an optional unit: nothing else (no "inf", "nan", "0x", "1e3") */
  const char *p = s;
  double v = 0, scale = 1;
  int digits = 0;
  for (; isdigit((unsigned char)*p); p++, digits++) v = v * 10 + (*p - '0');
  if (*p == '.')
    for (p++; isdigit((unsigned char)*p); p++, digits++) v += (*p - '0') * (scale /= 10);
  double mul = 1;
  switch (*p) {
    case 'k': case 'K': mul = 1024.0; p++; break;
    case 'm': case 'M': mul = 1024.0 * 1024; p++; break;
    case 'g': case 'G': mul = 1024.0 * 1024 * 1024; p++; break;
    case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; p++; break;
    default: break;
  }
  /* then nothing, "B", or (after a unit) "iB" */
  if (*p && strcmp(p, "B") && strcmp(p, "b") && !(mul > 1 && !strcmp(p, "iB"))) mul = 0;
  double bytes = v * mul;
  if (!digits || mul == 0 || !(bytes >= 1) || bytes > 0x1p62)
    ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not a size (bytes, or a number with K, M, G or T)", opt, s);
  return (int64_t)bytes;
}

int ps_parse_choice(const char *opt, const char *s, const char *const *choices) {
  for (int i = 0; choices[i]; i++)
    if (!strcmp(s, choices[i])) return i;
  char list[256] = "";
  for (int i = 0; choices[i]; i++) {
    strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
    strncat(list, choices[i], sizeof list - strlen(list) - 1);
  }
  ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not one of %s", opt, s, list);
}

void ps_parse_per_target(const char *opt, const char *spec, int k, double *out, int *bal, double lo, double hi) {
  int n = 0;
  char **v = ps_split(spec, ',', &n);
  if (n != 1 && n != k) ps_die_all(PS_EXIT_USAGE, "%s: give one value or %d (one per target), got %d", opt, k, n);
  for (int h = 0; h < k; h++) {
    const char *s = v[n == 1 ? 0 : h];
    if (bal && !strcmp(s, "balanced")) {
      bal[h] = 1;
      out[h] = 0;
    } else {
      out[h] = ps_parse_double(opt, s, lo, hi);
    }
  }
  ps_free_strv(v);
}
