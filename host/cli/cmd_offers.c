/* cmd_offers.c: `propscore offers` -- options for the offers job (targeting/offers.h). */
#include <getopt.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "targeting/offers.h"

static const char *USAGE =
    "usage: propscore offers --scores SCORES.h5 --out OFFERS.h5 [--value HEAD=V,...]\n"
    "                        [--data FILE.h5 --eligible HEAD=LABEL,...] [--max-offers N]\n"
    "                        [--budget N] [--uplift] [--quiet]\n"
    "\n"
    "Next best offer: with one head per product line, rank each customer's offers by\n"
    "expected value = score x value of the head, best first (ties: the head listed\n"
    "first in /offers/heads). Only offers with a value > 0 that the customer is\n"
    "eligible for are made.\n"
    "  --scores FILE     scores file (propscore score): heads /scores/<head>\n"
    "  --uplift          rank by /uplift/<head> (an uplift model's scores) instead of\n"
    "                    the probability: only customers the offer moves get it\n"
    "  --value LIST      value of an accepted offer per head, e.g. card=120,loan=300\n"
    "                    (default 1 for every head not listed; >= 0)\n"
    "  --eligible LIST   HEAD=LABEL pairs: head HEAD only where /labels/LABEL of --data is 1\n"
    "  --data FILE       data file of the scores (same customers, same order), for --eligible\n"
    "  --max-offers N    at most N offers a customer (default: one per head)\n"
    "  --budget N        at most N offers in all: the N of highest value over every\n"
    "                    customer (ties: lower customer id, then better rank); exact\n"
    "                    for any rank count\n"
    "  --out FILE        /customer_id, /offers/rank_<i> (int32 head index into\n"
    "                    /offers/heads, -1 none) and /offers/value_<i> (float64, 0 none)\n"
    "                    for i = 0 .. max offers - 1; temporary name, renamed when complete\n"
    "  --quiet           no progress log\n"
    "exit codes: 0 ok, 1 error, 2 usage\n";

int cmd_offers(int argc, char **argv) {
  offers_opts_t o = {NULL, NULL, NULL, NULL, NULL, 0, -1, 0};
  static struct option opts[] = {{"scores", 1, 0, 's'},     {"data", 1, 0, 'd'},   {"value", 1, 0, 'v'},
                                 {"eligible", 1, 0, 'e'},   {"out", 1, 0, 'o'},    {"max-offers", 1, 0, 'm'},
                                 {"budget", 1, 0, 'b'},     {"uplift", 0, 0, 'u'}, {"quiet", 0, 0, 'q'},
                                 {"help", 0, 0, 'h'},       {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "s:d:v:e:o:m:b:uqh", opts, NULL)) != -1) {
    switch (c) {
      case 's': o.scores = optarg; break;
      case 'd': o.data = optarg; break;
      case 'v': o.values = optarg; break;
      case 'e': o.eligible = optarg; break;
      case 'o': o.out = optarg; break;
      case 'm': o.max_offers = (int)ps_parse_ll("--max-offers", optarg, 1, 1000000); break;
      case 'b': o.budget = ps_parse_ll("--budget", optarg, 0, INT64_MAX); break;
      case 'u': o.uplift = 1; break;
      case 'q': ps_quiet = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("offers");
    }
  }
  args_no_extra("offers", argc, argv);
  args_require("offers", "--scores", o.scores);
  args_require("offers", "--out", o.out);
  return offers_run(&o);
}
