/* cmd_gen.c: `propscore gen` -- write a synthetic feature file. Each rank
 * generates and writes its own row block with collective parallel-HDF5
 * writes; the data depends on (seed, row) only, never on the rank count. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "comm.h"
#include "h5io.h"
#include "partition.h"
#include "synth.h"
#include "util.h"

static const char *USAGE =
    "usage: propscore gen --out FILE.h5 [--rows N] [--features F] [--seed S]\n"
    "                     [--targets NAME[:RATE],...] [--chunk-rows R] [--quiet]\n"
    "\n"
    "Generate a synthetic customer feature file (datasets/SCHEMA.md) with labels\n"
    "drawn from a planted model whose truth is stored under /truth.\n"
    "  --out FILE       output file (written to a temporary name, renamed when complete)\n"
    "  --rows N         customers (default 1000000); must be >= the number of ranks\n"
    "  --features F     feature columns (default 64; the first 20 are named RFM/channel\n"
    "                   columns, the rest correlated affinity groups)\n"
    "  --seed S         RNG seed (default 42); same seed -> same bytes for any rank count\n"
    "  --targets LIST   comma-separated targets, optional :RATE positive rate\n"
    "                   (default purchase_3m,churn; rates purchase* 0.04, churn 0.10, else 0.05)\n"
    "  --chunk-rows R   rows per HDF5 chunk (default: about 4 MiB of features)\n";

int cmd_gen(int argc, char **argv) {
  const char *out = NULL, *targets = "purchase_3m,churn";
  int64_t rows = 1000000, f = 64, chunk_rows = 0;
  uint64_t seed = 42;
  static struct option opts[] = {{"out", 1, 0, 'o'},      {"rows", 1, 0, 'n'},   {"features", 1, 0, 'f'},
                                 {"seed", 1, 0, 's'},     {"targets", 1, 0, 't'}, {"chunk-rows", 1, 0, 'c'},
                                 {"quiet", 0, 0, 'q'},    {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "o:n:f:s:t:c:qh", opts, NULL)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'n': rows = ps_parse_ll("--rows", optarg, 1, (int64_t)1 << 40); break;
      case 'f': f = ps_parse_ll("--features", optarg, 1, 1000000); break;
      case 's': seed = (uint64_t)ps_parse_ll("--seed", optarg, 0, INT64_MAX); break;
      case 't': targets = optarg; break;
      case 'c': chunk_rows = ps_parse_ll("--chunk-rows", optarg, 1, (int64_t)1 << 30); break;
      case 'q': ps_quiet = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: ps_die_all(PS_EXIT_USAGE, "gen: bad option (see propscore gen --help)");
    }
  }
  if (!out) ps_die_all(PS_EXIT_USAGE, "gen: --out is required (see propscore gen --help)");
  if (rows < ps_size)
    ps_die_all(PS_EXIT_USAGE, "gen: --rows %lld is less than the number of ranks (%d): every rank needs a row",
               (long long)rows, ps_size);
  if (chunk_rows == 0) chunk_rows = (4 << 20) / (4 * f);
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > rows) chunk_rows = rows;
  ps_check_writable(out);

  double t0 = ps_now();
  synth_t s;
  synth_init(&s, seed, f, targets);
  int K = s.k;

  char *tmp = ps_tmp_name(out);
  if (ps_rank == 0) ps_tmp_register(tmp);
  hid_t fid = h5io_create(tmp, 1);
  h5io_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5io_attr_str(fid, "kind", "features");
  h5io_attr_str(fid, "generator", "propscore gen " PROPSCORE_VERSION);
  h5io_attr_i64(fid, "seed", (int64_t)seed);

  int64_t dims2[2] = {rows, f}, chunk2[2] = {chunk_rows, f};
  int64_t dims1[1] = {rows}, chunk1[1] = {rows < (1 << 20) ? rows : (1 << 20)};
  hid_t dx = h5io_create_dataset(fid, "/features", H5T_IEEE_F32LE, 2, dims2, chunk2);
  hid_t did = h5io_create_dataset(fid, "/customer_id", H5T_STD_I64LE, 1, dims1, chunk1);
  h5io_write_strings(fid, "/feature_names", s.names, f);
  hid_t glab = h5io_create_group(fid, "/labels"), gtruth = h5io_create_group(fid, "/truth");
  hid_t *dlab = ps_calloc((size_t)K, sizeof(hid_t)), *dprob = ps_calloc((size_t)K, sizeof(hid_t));
  for (int t = 0; t < K; t++) {
    dlab[t] = h5io_create_dataset(glab, s.targets[t], H5T_STD_U8LE, 1, dims1, chunk1);
    hid_t g = h5io_create_group(gtruth, s.targets[t]);
    dprob[t] = h5io_create_dataset(g, "prob", H5T_IEEE_F32LE, 1, dims1, chunk1);
    int64_t df[1] = {f};
    h5io_write_small(g, "coef", H5T_NATIVE_DOUBLE, 1, df, s.coef + (size_t)t * (size_t)f);
    int64_t d3[1] = {3};
    h5io_write_small(g, "nonlinear", H5T_NATIVE_DOUBLE, 1, d3, s.nl + 3 * t);
    h5io_attr_f64(g, "intercept", s.intercept[t]);
    h5io_attr_f64(g, "rate", s.rate[t]);
    h5io_attr_str(g, "model",
                  "logit = intercept + sum_j coef[j]*T_j(x_j) + nonlinear[0]*app_user*T(email_open_rate)"
                  " + nonlinear[1]*[recency_days<30] + nonlinear[2]*max(0,affinity_g0_0-1); T in host/synth.c");
    H5Gclose(g);
  }

  int64_t row0, n;
  ps_partition(rows, ps_size, ps_rank, &row0, &n);
  int64_t br = h5io_block_rows(4 * f + 8 + 5 * K, chunk_rows);
  int64_t nb = h5io_common_blocks(n, br);
  float *x = ps_malloc(sizeof(float) * (size_t)br * (size_t)f);
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)br);
  uint8_t *lab = ps_malloc((size_t)br * (size_t)K);
  float *prob = ps_malloc(sizeof(float) * (size_t)br * (size_t)K);
  ps_progress_t prog;
  ps_progress_init(&prog, "gen", (double)rows, 4.0 * (double)f);
  for (int64_t b = 0; b < nb; b++) {
    int64_t r0 = b * br, m = n - r0 > br ? br : n - r0;
    if (m < 0) m = 0;
    for (int64_t i = 0; i < m; i++) {
      int64_t row = row0 + r0 + i;
      float *xi = x + (size_t)i * (size_t)f;
      synth_row(&s, row, xi);
      ids[i] = synth_customer_id(row);
      for (int t = 0; t < K; t++) {
        double p = synth_prob(&s, t, xi);
        prob[(size_t)t * (size_t)br + (size_t)i] = (float)p;
        lab[(size_t)t * (size_t)br + (size_t)i] = (uint8_t)synth_label(&s, t, row, p);
      }
    }
    h5io_xfer_rows(dx, H5T_NATIVE_FLOAT, row0 + r0, m, f, x, 1);
    h5io_xfer_rows(did, H5T_NATIVE_INT64, row0 + r0, m, 0, ids, 1);
    for (int t = 0; t < K; t++) {
      h5io_xfer_rows(dlab[t], H5T_NATIVE_UINT8, row0 + r0, m, 0, lab + (size_t)t * (size_t)br, 1);
      h5io_xfer_rows(dprob[t], H5T_NATIVE_FLOAT, row0 + r0, m, 0, prob + (size_t)t * (size_t)br, 1);
    }
    ps_progress_update(&prog, (double)(r0 + m) * (double)ps_size);
  }
  for (int t = 0; t < K; t++) {
    H5Dclose(dlab[t]);
    H5Dclose(dprob[t]);
  }
  H5Dclose(dx);
  H5Dclose(did);
  H5Gclose(glab);
  H5Gclose(gtruth);
  h5io_close(fid);
  comm_barrier();
  int bad = 0;
  if (ps_rank == 0) bad = ps_commit_file(tmp, out) != 0;
  comm_bcast(&bad, sizeof bad, 0);
  if (bad) ps_die_all(PS_EXIT_ERROR, "gen: cannot rename %s to %s", tmp, out);
  if (ps_rank == 0) ps_tmp_forget(tmp);
  double el = ps_now() - t0, gb = (double)rows * (double)f * 4.0 / 1e9;
  ps_out("gen: wrote %s: %lld rows x %lld features, %d target%s, %.2f GB of features in %.2f s (%.2f GB/s, %d rank%s)",
         out, (long long)rows, (long long)f, K, K == 1 ? "" : "s", gb, el, gb / el, ps_size, ps_size == 1 ? "" : "s");
  for (int t = 0; t < K; t++) ps_log("gen: target %s: planted positive rate %.4f", s.targets[t], s.rate[t]);
  free(x); free(ids); free(lab); free(prob); free(dlab); free(dprob); free(tmp);
  synth_free(&s);
  return 0;
}
