/* cmd_export.c: `propscore export` -- options for the export job (targeting/export.h). */
#include <getopt.h>
#include <stdint.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cmds.h"
#include "core/parse.h"
#include "core/util.h"
#include "targeting/export.h"

static const char *USAGE =
    "usage: propscore export --scores SCORES.h5 --by TARGET (--top N | --top-percent P)\n"
    "                        --id-key-file KEY --out AUDIENCE.csv|.parquet\n"
    "                        [--uplift] [--holdout ASSIGN.h5 --group treatment|control\n"
    "                        [--campaign NAME]] [--personas P.h5 --persona N] [--quiet]\n"
    "\n"
    "Write an audience list for downstream tools: the best customers by a score,\n"
    "best first, as columns pseudo_id,score. Raw customer ids never leave propscore:\n"
    "pseudo_id is SipHash-2-4 of the id under a secret 128-bit key (16 hex digits),\n"
    "the same for the same key and id (join lists from several runs with one key).\n"
    "  --scores FILE       scores file (propscore score)\n"
    "  --by TARGET         rank by /scores/TARGET (with --uplift: /uplift/TARGET)\n"
    "  --top N             the N best (ties at the cut: lower customer id first)\n"
    "  --top-percent P     the best P% (0-100) of the customers considered\n"
    "  --id-key-file KEY   file holding the key: 32 hex digits (`openssl rand -hex 16`);\n"
    "                      a file, not an option value, so the key stays out of process\n"
    "                      lists, shell history and the run manifest\n"
    "  --holdout FILE      a holdout file (propscore holdout) of the same customers ...\n"
    "  --group G           ... and only its treatment or control group\n"
    "  --campaign NAME     the campaign in FILE (default: its only one)\n"
    "  --personas FILE     a personas file (propscore segment) of the same customers ...\n"
    "  --persona N         ... and only its persona N (with --holdout: both)\n"
    "  --out FILE          .csv, or .parquet (converted from the CSV by\n"
    "                      scripts/csv_to_parquet.py run by $PROPSCORE_PYTHON, default\n"
    "                      python3, with pyarrow); mode 0640,\n"
    "                      temporary name renamed when complete\n"
    "  --quiet             no progress log\n"
    "exit codes: 0 ok, 1 error, 2 usage\n";

int cmd_export(int argc, char **argv) {
  export_opts_t o = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -1, -1, -1, 0};
  static const char *const groups[] = {"treatment", "control", NULL};
  static struct option opts[] = {{"scores", 1, 0, 's'},  {"by", 1, 0, 'b'},          {"top", 1, 0, 'n'},
                                 {"top-percent", 1, 0, 'p'}, {"id-key-file", 1, 0, 'k'}, {"out", 1, 0, 'o'},
                                 {"uplift", 0, 0, 'u'},  {"holdout", 1, 0, 'H'},     {"group", 1, 0, 'g'},
                                 {"campaign", 1, 0, 'c'}, {"quiet", 0, 0, 'q'},      {"help", 0, 0, 'h'},
                                 {"personas", 1, 0, 'P'}, {"persona", 1, 0, 'N'},    {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "s:b:n:p:k:o:uH:g:c:P:N:qh", opts, NULL)) != -1) {
    switch (c) {
      case 's': o.scores = optarg; break;
      case 'b': o.by = optarg; break;
      case 'n': o.top = ps_parse_ll("--top", optarg, 0, INT64_MAX); break;
      case 'p': o.top_percent = ps_parse_double("--top-percent", optarg, 0, 100); break;
      case 'k': o.key_file = optarg; break;
      case 'o': o.out = optarg; break;
      case 'u': o.uplift = 1; break;
      case 'H': o.holdout = optarg; break;
      case 'g': o.group = groups[ps_parse_choice("--group", optarg, groups)]; break;
      case 'c': o.campaign = optarg; break;
      case 'P': o.personas = optarg; break;
      case 'N': o.persona = ps_parse_ll("--persona", optarg, 0, INT32_MAX); break;
      case 'q': ps_quiet = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: args_bad_option("export");
    }
  }
  args_no_extra("export", argc, argv);
  args_require("export", "--scores", o.scores);
  args_require("export", "--by", o.by);
  args_require("export", "--id-key-file", o.key_file);
  args_require("export", "--out", o.out);
  if ((o.personas != NULL) != (o.persona >= 0))
    ps_die_all(PS_EXIT_USAGE, "export: --personas and --persona go together");
  if ((o.top >= 0) == (o.top_percent >= 0))
    ps_die_all(PS_EXIT_USAGE, "export: give one of --top and --top-percent");
  return export_run(&o);
}
