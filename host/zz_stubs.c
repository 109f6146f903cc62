#include "cmds.h"
int cmd_train(int a, char **b){(void)a;(void)b;return 1;}
int cmd_score(int a, char **b){(void)a;(void)b;return 1;}
int cmd_eval(int a, char **b){(void)a;(void)b;return 1;}
