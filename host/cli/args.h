/* args.h: what every subcommand's parser shares: --help, unknown options,
 * stray arguments, required options. */
#ifndef PS_ARGS_H
#define PS_ARGS_H
/* getopt_long's '?' or ':' for command `cmd`: dies (usage). */
void args_bad_option(const char *cmd) __attribute__((noreturn));
/* Dies (usage) if arguments are left after the options. */
void args_no_extra(const char *cmd, int argc, char **argv);
/* Dies (usage) naming the option if value is NULL. */
void args_require(const char *cmd, const char *opt, const char *value);
#endif
