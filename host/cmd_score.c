/* cmd_score.c: `propscore score` -- stream the feature file in row blocks,
 * standardize on the fly, write every head's probability per customer with
 * collective parallel writes to a temporary file renamed when complete. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cmds.h"
#include "comm.h"
#include "h5io.h"
#include "model.h"
#include "partition.h"
#include "util.h"

static const char *USAGE =
    "usage: propscore score --data FILE.h5 --model MODEL.h5 --out SCORES.h5 [options]\n"
    "\n"
    "Write /customer_id and /scores/<target> (float32 probabilities) for every row.\n"
    "  --block-rows N   rows per rank per block (default: about 64 MiB of features);\n"
    "                   memory per rank is about N x (4 x features + 12 + 4 x heads) bytes\n"
    "  --device D       cpu|cuda|auto (default auto)\n"
    "  --quiet          no progress log\n";

int cmd_score(int argc, char **argv) {
  const char *data = NULL, *model = NULL, *out = NULL, *device = "auto";
  int64_t block_rows = 0;
  static struct option opts[] = {{"data", 1, 0, 'd'},  {"model", 1, 0, 'm'},  {"out", 1, 0, 'o'},
                                 {"block-rows", 1, 0, 'b'}, {"device", 1, 0, 'D'}, {"quiet", 0, 0, 'q'},
                                 {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:m:o:b:D:qh", opts, NULL)) != -1) {
    switch (c) {
      case 'd': data = optarg; break;
      case 'm': model = optarg; break;
      case 'o': out = optarg; break;
      case 'b': block_rows = ps_parse_ll("--block-rows", optarg, 1, (int64_t)1 << 30); break;
      case 'D': device = optarg; break;
      case 'q': ps_quiet = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: ps_die_all(PS_EXIT_USAGE, "score: bad option (see propscore score --help)");
    }
  }
  if (optind != argc) ps_die_all(PS_EXIT_USAGE, "score: unexpected argument '%s'", argv[optind]);
  if (!data || !model || !out)
    ps_die_all(PS_EXIT_USAGE, "score: --data, --model and --out are required (see propscore score --help)");
  ps_backend_t *b = backend_create(device);
  double t0 = ps_now();
  ps_model_t mdl;
  model_read(model, &mdl);
  ps_data_t d;
  h5io_open_data(data, &d);
  model_check_data(&mdl, model, &d);
  ps_check_writable(out);
  int k = mdl.k;
  int64_t f = d.f, n_all = d.n, row0, n;
  ps_partition(n_all, ps_size, ps_rank, &row0, &n);

  char *tmp = ps_tmp_name(out);
  if (ps_rank == 0) ps_tmp_register(tmp);
  hid_t fid = h5io_create(tmp, 1);
  char ts[64];
  ps_timestamp(ts, sizeof ts);
  h5io_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5io_attr_str(fid, "kind", "scores");
  h5io_attr_str(fid, "model", model);
  h5io_attr_str(fid, "data", data);
  h5io_attr_str(fid, "created", ts);
  h5io_attr_f64(fid, "holdout", mdl.holdout);
  h5io_attr_i64(fid, "split_salt", mdl.split_salt);
  int64_t dims[1] = {n_all}, chunk[1] = {n_all < (1 << 20) ? n_all : (1 << 20)};
  if (chunk[0] < 1) chunk[0] = 1;
  hid_t did = h5io_create_dataset(fid, "/customer_id", H5T_STD_I64LE, 1, dims, chunk);
  hid_t gs = h5io_create_group(fid, "/scores");
  hid_t *ds = ps_malloc(sizeof(hid_t) * (size_t)k);
  for (int h = 0; h < k; h++) ds[h] = h5io_create_dataset(gs, mdl.targets[h], H5T_IEEE_F32LE, 1, dims, chunk);

  int64_t br = block_rows > 0 ? block_rows : h5io_block_rows(4 * f, d.chunk_rows);
  int64_t nb = h5io_common_blocks(n, br);
  float *X = ps_malloc(sizeof(float) * (size_t)br * (size_t)f);
  float *P = ps_malloc(sizeof(float) * (size_t)br * (size_t)k);
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)br);
  ps_transform_t tf;
  model_transform(&mdl, &tf);
  ps_progress_t prog;
  ps_progress_init(&prog, "score", (double)n_all, 4.0 * (double)f);
  double t_read = 0, t_comp = 0, t_write = 0;
  for (int64_t blk = 0; blk < nb; blk++) {
    int64_t r0 = blk * br, m = n - r0 > br ? br : n - r0;
    if (m < 0) m = 0;
    double ta = ps_now();
    h5io_xfer_rows(d.features, H5T_NATIVE_FLOAT, row0 + r0, m, f, X, 0);
    h5io_xfer_rows(d.ids, H5T_NATIVE_INT64, row0 + r0, m, 0, ids, 0);
    double tb = ps_now();
    b->predict_raw(b, &tf, mdl.theta, k, X, m, P);
    double tc = ps_now();
    h5io_xfer_rows(did, H5T_NATIVE_INT64, row0 + r0, m, 0, ids, 1);
    for (int h = 0; h < k; h++) h5io_xfer_rows(ds[h], H5T_NATIVE_FLOAT, row0 + r0, m, 0, P + (size_t)h * (size_t)m, 1);
    t_read += tb - ta;
    t_comp += tc - tb;
    t_write += ps_now() - tc;
    ps_progress_update(&prog, (double)(r0 + m) * (double)ps_size);
  }
  for (int h = 0; h < k; h++) H5Dclose(ds[h]);
  H5Dclose(did);
  H5Gclose(gs);
  double tc0 = ps_now();
  h5io_close(fid);
  comm_barrier();
  int bad = 0;
  if (ps_rank == 0) bad = ps_commit_file(tmp, out) != 0;
  comm_bcast(&bad, sizeof bad, 0);
  if (bad) ps_die_all(PS_EXIT_ERROR, "score: cannot rename %s to %s", tmp, out);
  if (ps_rank == 0) ps_tmp_forget(tmp);
  t_write += ps_now() - tc0;
  double el = ps_now() - t0;
  ps_log("score: rank 0 time: read %.2f s, compute %.2f s, write %.2f s", t_read, t_comp, t_write);
  ps_out("score: wrote %s: %lld customers x %d head%s in %.2f s (%.0f rows/s, %.2f GB/s of features, %d rank%s)", out,
         (long long)n_all, k, k == 1 ? "" : "s", el, (double)n_all / el, (double)n_all * (double)f * 4.0 / 1e9 / el,
         ps_size, ps_size == 1 ? "" : "s");
  free(X); free(P); free(ids); free(ds); free(tmp);
  h5io_close_data(&d);
  model_free(&mdl);
  b->destroy(b);
  return 0;
}
