/* options.h: one table per command declares each of its options once --
 * name, the field it fills, type, default, range and help -- and the table
 * drives getopt_long, the --help text, the range checks, the required
 * options, the fingerprint (core/fingerprint.h) and the manifest
 * parameters (io/manifest.h: manifest_params). Adding an option is one
 * table line:
 *
 *   { .name = "num-leaves", .type = OPT_INT, .off = offsetof(gbdt_opts_t, num_leaves),
 *     .def = "31", .min = 2, .max = 131072, .arg = "N",
 *     .help = "leaves a tree may grow to, leaf-wise", .fp = "num_leaves" },
 *
 * A line with only .help is a heading ("gradient-boosted trees:"); a line
 * with .name = NULL and .help = NULL ends the table. */
#ifndef PS_OPTIONS_H
#define PS_OPTIONS_H
#include <stddef.h>
#include <stdint.h>

#include "core/fingerprint.h"

typedef enum {
  OPT_FLAG = 1, /* int, set to 1 when given (no argument) */
  OPT_STR,      /* const char *, the argument itself (not copied) */
  OPT_INT,      /* int in [min, max] */
  OPT_I64,      /* int64_t in [min, max] */
  OPT_U64,      /* uint64_t in [min, max] (min >= 0) */
  OPT_DOUBLE,   /* double in [lo, hi], finite */
  OPT_SIZE,     /* int64_t bytes: "512M", "8G" (core/parse.h) */
  OPT_CHOICE,   /* int: index of the argument in .choices */
} ps_option_type_t;

enum { OPT_REQUIRED = 1, /* the command needs it */
       OPT_HIDDEN = 2 }; /* parsed, not listed by --help */

typedef struct {
  const char *name;           /* long name without "--"; NULL: a heading (.help) or the end */
  ps_option_type_t type;
  size_t off;                 /* offsetof(the command's options struct, field) */
  void *ptr;                  /* or an absolute address (a global such as ps_quiet) */
  const char *def;            /* default, parsed like an argument; NULL: zero / NULL */
  long long min, max;         /* range of OPT_INT, OPT_I64, OPT_U64 */
  double lo, hi;              /* range of OPT_DOUBLE */
  const char *const *choices; /* OPT_CHOICE words, NULL-terminated */
  const char *arg;            /* the argument's name in --help ("N", "FILE") */
  const char *help;           /* one line or several ("\n"); "(default X)" is appended from .def
                                 unless the text says "(default" itself */
  const char *fp;             /* fingerprint key (what the run is), or NULL */
  const char *manifest;       /* manifest parameter name, or NULL */
  unsigned flags;             /* OPT_REQUIRED, OPT_HIDDEN */
  char short_name;            /* single-letter alias, or 0 */
} ps_option_t;

typedef struct {
  const char *name;    /* "train": in messages */
  const char *usage;   /* the text above the option list ("usage: ...\n\n...\n") */
  const ps_option_t *opts;
  const char *epilog;  /* the text below it, or NULL */
  const char *operand; /* the one argument after the options ("FILE.h5"), or NULL: none */
  size_t operand_off;  /* offsetof the const char * it fills */
} ps_cmd_spec_t;

/* Fills `base` with the defaults, then with argv (getopt_long), checks
 * every range and the required options (dies with exit 2 and one line naming
 * the option). Returns 1 when --help was printed (the command returns 0),
 * else 0. Arguments left after the options are refused, but for exactly
 * one .operand where the command has one. */
int opts_parse(const ps_cmd_spec_t *cmd, void *base, int argc, char **argv);
/* Was option `name` on the command line of the last opts_parse? */
int opts_given(const char *name);
/* Prints the --help text. */
void opts_help(const ps_cmd_spec_t *cmd);
/* Adds key=value for every line with .fp, in table order. */
void opts_fingerprint(const ps_option_t *opts, const void *base, ps_fp_t *fp);
/* The value of a line as text ("31", "0.1", "impute"; NULL for an unset
 * string); a new string the caller frees. */
char *opts_value_text(const ps_option_t *o, const void *base);
/* Where the line's value lives in `base` (or .ptr). */
void *opts_field(const ps_option_t *o, const void *base);
#endif
