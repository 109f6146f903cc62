/* parse.h: strict parsing of command-line values. Each dies (usage, exit 2)
 * with one line naming the option when the text is not exactly a value of
 * the wanted kind or is out of range: "2.5" is not an integer, "1e19" is out
 * of range, "inf" is not a size. */
#ifndef PS_PARSE_H
#define PS_PARSE_H
#include <stdint.h>

/* A whole number: decimal digits, or digits with an exponent ("1e6"), exact. */
long long ps_parse_ll(const char *opt, const char *s, long long lo, long long hi);
/* A finite real number in [lo, hi]. */
double ps_parse_double(const char *opt, const char *s, double lo, double hi);
/* A size in bytes: "512M", "8G", "1.5T", "4096" (K, M, G, T: powers of 1024;
 * an optional B or iB); at least 1 byte, at most 2^62. */
int64_t ps_parse_size(const char *opt, const char *s);
/* One of the words in the NULL-terminated list `choices`: its index. */
int ps_parse_choice(const char *opt, const char *s, const char *const *choices);
/* "x" or "x,y,..." with one value per target (k of them); with bal != NULL
 * the word "balanced" is allowed and sets bal[h] = 1 (out[h] = 0). */
void ps_parse_per_target(const char *opt, const char *spec, int k, double *out, int *bal, double lo, double hi);
#endif
