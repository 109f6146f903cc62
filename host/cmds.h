/* cmds.h: the subcommands; each parses its own flags and returns an exit code. */
#ifndef PS_CMDS_H
#define PS_CMDS_H
int cmd_gen(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_gate(int argc, char **argv);
#endif
