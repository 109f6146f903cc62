/* cmds.h: the subcommands. Each cmd_<name>.c holds the --help text, an
 * options struct and its parser, then one call into the job below; it
 * returns the exit code. */
#ifndef PS_CMDS_H
#define PS_CMDS_H
int cmd_gen(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_holdout(int argc, char **argv);
int cmd_offers(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_segment(int argc, char **argv);
int cmd_export_model(int argc, char **argv);
#endif
