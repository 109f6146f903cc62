/* args.h: what subcommands share beyond their option tables (core/options.h). */
#ifndef PS_ARGS_H
#define PS_ARGS_H
/* Dies (usage) naming the option if value is NULL: an option that another
 * one makes required (--uplift needs --treatment). */
void args_require(const char *cmd, const char *opt, const char *value);
#endif
