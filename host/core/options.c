/* options.c: table-driven command-line options (see options.h): defaults,
 * getopt_long, ranges, required options, --help and the fingerprint. */
#include "core/options.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "core/util.h"

#define OPT_MAX 128 /* options in one table */

static unsigned char g_given[OPT_MAX];

typedef struct {
  char *s;
  size_t len, cap;
} ps_buf_t;

static void buf_printf(ps_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(ps_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = 2 * (b->len + (size_t)n + 1);
    b->s = realloc(b->s, b->cap);
    if (!b->s) ps_die_local("out of memory");
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}
static const ps_option_t *g_last;

void *opts_field(const ps_option_t *o, const void *base) {
  return o->ptr ? o->ptr : (char *)base + o->off;
}

static int is_end(const ps_option_t *o) { return !o->name && !o->help; }

static int count_opts(const ps_option_t *opts) {
  int n = 0;
  while (!is_end(&opts[n])) n++;
  if (n > OPT_MAX) ps_die_all(1, "options: a table of %d lines (at most %d)", n, OPT_MAX);
  return n;
}

/* A table line that cannot be right is a programming error: say which. */
static void check_line(const char *cmd, const ps_option_t *o) {
  int bad = 0;
  switch (o->type) {
    case OPT_INT: bad = o->min > o->max || o->min < INT32_MIN || o->max > INT32_MAX; break;
    case OPT_I64: bad = o->min > o->max; break;
    case OPT_U64: bad = o->min > o->max || o->min < 0; break;
    case OPT_DOUBLE: bad = !(o->lo <= o->hi); break;
    case OPT_CHOICE: bad = !o->choices; break;
    case OPT_FLAG: case OPT_STR: case OPT_SIZE: break;
    default: bad = 1;
  }
  if (bad) ps_die_all(1, "%s: option table line --%s has no valid type or range", cmd, o->name);
}

/* Parses `text` (an argument or the default) into the line's field. */
static void set_value(const ps_option_t *o, void *base, const char *text) {
  char opt[96];
  snprintf(opt, sizeof opt, "--%s", o->name);
  void *f = opts_field(o, base);
  switch (o->type) {
    case OPT_FLAG: *(int *)f = 1; break;
    case OPT_STR: *(const char **)f = text; break;
    case OPT_INT: *(int *)f = (int)ps_parse_ll(opt, text, o->min, o->max); break;
    case OPT_I64: *(int64_t *)f = ps_parse_ll(opt, text, o->min, o->max); break;
    case OPT_U64: *(uint64_t *)f = (uint64_t)ps_parse_ll(opt, text, o->min, o->max); break;
    case OPT_DOUBLE: *(double *)f = ps_parse_double(opt, text, o->lo, o->hi); break;
    case OPT_SIZE: *(int64_t *)f = ps_parse_size(opt, text); break;
    case OPT_CHOICE: *(int *)f = ps_parse_choice(opt, text, o->choices); break;
  }
}

static void set_defaults(const ps_cmd_spec_t *cmd, void *base) {
  for (const ps_option_t *o = cmd->opts; !is_end(o); o++) {
    if (!o->name) continue;
    check_line(cmd->name, o);
    if (o->def && o->type != OPT_FLAG) set_value(o, base, o->def);
  }
}

/* "A is required" / "A and B are required" / "A, B and C are required". */
static void check_required(const ps_cmd_spec_t *cmd) {
  const char *miss[OPT_MAX];
  int n = 0, i = 0;
  for (const ps_option_t *o = cmd->opts; !is_end(o); o++, i++)
    if (o->name && (o->flags & OPT_REQUIRED) && !g_given[i]) miss[n++] = o->name;
  if (!n) return;
  char text[1024] = "";
  size_t len = 0;
  for (int k = 0; k < n && len < sizeof text - 64; k++)
    len += (size_t)snprintf(text + len, sizeof text - len, "%s--%s", k == 0 ? "" : k == n - 1 ? " and " : ", ", miss[k]);
  ps_die_all(PS_EXIT_USAGE, "%s: %s %s required (see propscore %s --help)", cmd->name, text, n == 1 ? "is" : "are",
             cmd->name);
}

int opts_parse(const ps_cmd_spec_t *cmd, void *base, int argc, char **argv) {
  int n = count_opts(cmd->opts);
  struct option lo[OPT_MAX + 2];
  char shorts[2 * OPT_MAX + 4] = ":h";
  size_t ns = 2;
  int k = 0;
  for (int i = 0; i < n; i++) {
    const ps_option_t *o = &cmd->opts[i];
    if (!o->name) continue;
    lo[k++] = (struct option){.name = o->name, .has_arg = o->type != OPT_FLAG, .val = 1000 + i};
    if (o->short_name) {
      shorts[ns++] = o->short_name;
      if (o->type != OPT_FLAG) shorts[ns++] = ':';
    }
  }
  shorts[ns] = 0;
  lo[k++] = (struct option){.name = "help", .val = 'h'};
  lo[k] = (struct option){0};
  memset(g_given, 0, sizeof g_given);
  g_last = cmd->opts;
  set_defaults(cmd, base);
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
    if (c == 'h') {
      opts_help(cmd);
      return 1;
    }
    int i = c - 1000;
    if (i < 0 || i >= n) { /* a short alias, '?' or ':' */
      for (i = 0; i < n && (c == '?' || c == ':' || cmd->opts[i].short_name != c); i++) {}
      if (i >= n) ps_die_all(PS_EXIT_USAGE, "%s: bad option (see propscore %s --help)", cmd->name, cmd->name);
    }
    set_value(&cmd->opts[i], base, optarg);
    g_given[i] = 1;
  }
  if (cmd->operand) {
    if (optind != argc - 1)
      ps_die_all(PS_EXIT_USAGE, "%s: give exactly one %s (see propscore %s --help)", cmd->name, cmd->operand, cmd->name);
    *(const char **)((char *)base + cmd->operand_off) = argv[optind];
  } else if (optind != argc) {
    ps_die_all(PS_EXIT_USAGE, "%s: unexpected argument '%s'", cmd->name, argv[optind]);
  }
  check_required(cmd);
  return 0;
}

int opts_given(const char *name) {
  if (!g_last) return 0;
  for (int i = 0; !is_end(&g_last[i]); i++)
    if (g_last[i].name && !strcmp(g_last[i].name, name)) return g_given[i];
  return 0;
}

/* Appends the help text of one option to t (continuation lines indented). */
static void help_line(const ps_option_t *o, ps_buf_t *t) {
  char head[64];
  snprintf(head, sizeof head, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
  buf_printf(t, "  %-20s ", head);
  for (const char *p = o->help ? o->help : ""; *p;) {
    size_t n = strcspn(p, "\n");
    buf_printf(t, "%.*s", (int)n, p);
    p += n;
    if (*p) buf_printf(t, "\n%23s", ""), p++;
  }
  if (o->def && o->type != OPT_FLAG && (!o->help || !strstr(o->help, "(default"))) buf_printf(t, " (default %s)", o->def);
  buf_printf(t, "\n");
}

void opts_help(const ps_cmd_spec_t *cmd) {
  ps_buf_t t = {0};
  buf_printf(&t, "%s", cmd->usage);
  for (const ps_option_t *o = cmd->opts; !is_end(o); o++) {
    if (!o->name)
      buf_printf(&t, "%s\n", o->help);
    else if (!(o->flags & OPT_HIDDEN))
      help_line(o, &t);
  }
  if (cmd->epilog) buf_printf(&t, "%s", cmd->epilog);
  if (ps_rank == 0) fputs(t.s ? t.s : "", stdout);
  free(t.s);
}

char *opts_value_text(const ps_option_t *o, const void *base) {
  const void *f = opts_field(o, base);
  switch (o->type) {
    case OPT_FLAG: case OPT_INT: return ps_sprintf("%d", *(const int *)f);
    case OPT_I64: case OPT_SIZE: return ps_sprintf("%lld", (long long)*(const int64_t *)f);
    case OPT_U64: return ps_sprintf("%llu", (unsigned long long)*(const uint64_t *)f);
    case OPT_DOUBLE: return ps_sprintf("%.17g", *(const double *)f);
    case OPT_CHOICE: return ps_sprintf("%s", o->choices[*(const int *)f]);
    case OPT_STR: return *(const char *const *)f ? ps_sprintf("%s", *(const char *const *)f) : NULL;
  }
  return NULL;
}

void opts_fingerprint(const ps_option_t *opts, const void *base, ps_fp_t *fp) {
  for (const ps_option_t *o = opts; !is_end(o); o++) {
    if (!o->name || !o->fp) continue;
    const void *f = opts_field(o, base);
    switch (o->type) {
      case OPT_DOUBLE: fp_num(fp, o->fp, *(const double *)f); break;
      case OPT_STR: fp_str(fp, o->fp, *(const char *const *)f ? *(const char *const *)f : ""); break;
      default: {
        char *t = opts_value_text(o, base);
        fp_str(fp, o->fp, t);
        free(t);
      }
    }
  }
}
