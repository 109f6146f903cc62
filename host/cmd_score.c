/* cmd_score.c: `propscore score` -- stream the feature file in row blocks,
 * standardize on the fly, write every head's probability per customer with
 * collective parallel writes to <out>.partial, renamed when complete. An I/O
 * thread reads block b+1 and writes block b-1 while block b is scored. On
 * SIGTERM/SIGUSR1 the finished blocks are kept and a rerun resumes. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cmds.h"
#include "comm.h"
#include "h5io.h"
#include "manifest.h"
#include "model.h"
#include "partition.h"
#include "signals.h"
#include "trainset.h"
#include "util.h"

static const char *USAGE =
    "usage: propscore score --data FILE.h5 --model MODEL.h5 --out SCORES.h5 [options]\n"
    "\n"
    "Write /customer_id and /scores/<target> (float32 probabilities) for every row.\n"
    "  --block-rows N   rows per rank per block (default: about 64 MiB of features);\n"
    "                   memory per rank is about N x (4 x features + 12 + 4 x heads) bytes\n"
    "  --nonfinite P    impute|reject NaN/Inf features (default impute: by the training mean)\n"
    "  --device D       cpu|cuda|auto (default auto: cuda when every rank sees a GPU)\n"
    "  --quiet          no progress log\n"
    "The output is written to SCORES.h5.partial and renamed when complete. On SIGTERM or\n"
    "SIGUSR1 the finished blocks are kept (exit 75); the same command resumes after them.\n";

/* Progress of an interrupted run: <out>.partial.progress holds one line,
 * "<fingerprint>\n<blocks done>". */
static int64_t read_progress(const char *path, const char *fp) {
  int64_t done = -1;
  if (ps_rank == 0) {
    FILE *f = fopen(path, "r");
    if (f) {
      char line[4096];
      long long b = -1;
      if (fgets(line, sizeof line, f) && strlen(line) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (!strcmp(line, fp) && fscanf(f, "%lld", &b) == 1) done = b;
      }
      fclose(f);
    }
  }
  comm_bcast(&done, sizeof done, 0);
  return done;
}

static void write_progress(const char *path, const char *fp, int64_t done) {
  if (ps_rank != 0) return;
  size_t n = strlen(path) + 16;
  char *tmp = ps_malloc(n);
  snprintf(tmp, n, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f || fprintf(f, "%s\n%lld\n", fp, (long long)done) < 0 || fclose(f) != 0)
    ps_die_local("cannot write %s", tmp);
  if (ps_commit_file(tmp, path) != 0) ps_die_local("cannot rename %s", tmp);
  free(tmp);
}

/* Score's I/O thread: all HDF5 and MPI calls of the block loop happen here,
 * in one fixed order on every rank (read b, then write b-2 once computed),
 * while the main thread computes; two slots of buffers. A stop signal is
 * agreed here between blocks; the blocks already read are still computed
 * and written, so everything before stop_at is in the file. */
typedef struct {
  ps_data_t *d;
  hid_t did, *ds;
  int k, reject;
  int64_t f, row0, n, br, nb, start;
  float *X[2], *P[2];
  int64_t *ids[2], m[2];
  int64_t ready, computed, stop_at; /* blocks read, computed; first block not done */
  int64_t written;                  /* blocks written (I/O thread only) */
  double t_read, t_write;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} score_io_t;

static void io_write(score_io_t *io, int64_t blk) {
  pthread_mutex_lock(&io->mu);
  while (io->computed <= blk) pthread_cond_wait(&io->cv, &io->mu);
  pthread_mutex_unlock(&io->mu);
  int slot = (int)(blk % 2);
  int64_t r0 = blk * io->br, m = io->m[slot];
  double t0 = ps_now();
  h5io_xfer_rows(io->did, H5T_NATIVE_INT64, io->row0 + r0, m, 0, io->ids[slot], 1);
  for (int h = 0; h < io->k; h++)
    h5io_xfer_rows(io->ds[h], H5T_NATIVE_FLOAT, io->row0 + r0, m, 0, io->P[slot] + (size_t)h * (size_t)m, 1);
  io->t_write += ps_now() - t0;
  io->written = blk + 1;
}

static void *score_io_main(void *arg) {
  score_io_t *io = arg;
  int64_t blk = io->start;
  io->written = io->start;
  for (; blk < io->nb; blk++) {
    if (blk - 2 >= io->start) io_write(io, blk - 2); /* frees slot blk % 2 */
    ps_fault_tick("block");
    if (blk > io->start && ps_stop_agreed()) break;
    int slot = (int)(blk % 2);
    int64_t r0 = blk * io->br, m = io->n - r0 > io->br ? io->br : io->n - r0;
    if (m < 0) m = 0;
    double t0 = ps_now();
    h5io_xfer_rows(io->d->features, H5T_NATIVE_FLOAT, io->row0 + r0, m, io->f, io->X[slot], 0);
    h5io_xfer_rows(io->d->ids, H5T_NATIVE_INT64, io->row0 + r0, m, 0, io->ids[slot], 0);
    if (io->reject) trainset_reject_nonfinite(io->d, io->X[slot], io->row0 + r0, m);
    io->t_read += ps_now() - t0;
    pthread_mutex_lock(&io->mu);
    io->m[slot] = m;
    io->ready = blk + 1;
    pthread_cond_broadcast(&io->cv);
    pthread_mutex_unlock(&io->mu);
  }
  /* the last two blocks read (or those read before a stop) */
  pthread_mutex_lock(&io->mu);
  io->stop_at = blk;
  pthread_cond_broadcast(&io->cv);
  pthread_mutex_unlock(&io->mu);
  for (int64_t w = io->written; w < blk; w++) io_write(io, w);
  return NULL;
}

int cmd_score(int argc, char **argv) {
  const char *data = NULL, *model = NULL, *out = NULL, *device = "auto", *nonfinite = "impute";
  int64_t block_rows = 0;
  static struct option opts[] = {{"data", 1, 0, 'd'},  {"model", 1, 0, 'm'},  {"out", 1, 0, 'o'},
                                 {"block-rows", 1, 0, 'b'}, {"device", 1, 0, 'D'}, {"quiet", 0, 0, 'q'},
                                 {"nonfinite", 1, 0, 'N'}, {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:m:o:b:D:qN:h", opts, NULL)) != -1) {
    switch (c) {
      case 'd': data = optarg; break;
      case 'm': model = optarg; break;
      case 'o': out = optarg; break;
      case 'b': block_rows = ps_parse_ll("--block-rows", optarg, 1, (int64_t)1 << 30); break;
      case 'D': device = optarg; break;
      case 'q': ps_quiet = 1; break;
      case 'N': nonfinite = optarg; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: ps_die_all(PS_EXIT_USAGE, "score: bad option (see propscore score --help)");
    }
  }
  if (optind != argc) ps_die_all(PS_EXIT_USAGE, "score: unexpected argument '%s'", argv[optind]);
  if (!data || !model || !out)
    ps_die_all(PS_EXIT_USAGE, "score: --data, --model and --out are required (see propscore score --help)");
  if (strcmp(nonfinite, "impute") && strcmp(nonfinite, "reject"))
    ps_die_all(PS_EXIT_USAGE, "--nonfinite: '%s' is not one of impute, reject", nonfinite);
  manifest_begin("score", argc, argv);
  manifest_set_output(out);
  ps_backend_t *b = backend_create(device, "f32");
  manifest_device(b->name);
  double t0 = ps_now();
  ps_model_t mdl;
  model_read(model, &mdl);
  ps_data_t d;
  h5io_open_data(data, &d);
  model_check_data(&mdl, model, &d);
  ps_check_writable(out);
  manifest_input("data", data, 0);
  manifest_input("model", model, 1);
  int k = mdl.k;
  int64_t f = d.f, n_all = d.n, row0, n;
  ps_partition(n_all, ps_size, ps_rank, &row0, &n);
  int64_t br = block_rows > 0 ? block_rows : h5io_block_rows(4 * f, d.chunk_rows);
  int64_t nb = h5io_common_blocks(n, br);

  /* <out>.partial (+ .progress) from an interrupted run of this very job? */
  size_t pl = strlen(out) + 32;
  char *partial = ps_malloc(pl), *progress = ps_malloc(pl);
  snprintf(partial, pl, "%s.partial", out);
  snprintf(progress, pl, "%s.partial.progress", out);
  char fp[4096];
  struct stat sd, sm;
  memset(&sd, 0, sizeof sd);
  memset(&sm, 0, sizeof sm);
  stat(data, &sd);
  stat(model, &sm);
  snprintf(fp, sizeof fp, "data=%s;size=%lld;mtime=%lld;model=%s;msize=%lld;mmtime=%lld;ranks=%d;block_rows=%lld",
           data, (long long)sd.st_size, (long long)sd.st_mtime, model, (long long)sm.st_size, (long long)sm.st_mtime,
           ps_size, (long long)br);
  int64_t start = read_progress(progress, fp);
  int exists = 0;
  if (ps_rank == 0) exists = access(partial, F_OK) == 0;
  comm_bcast(&exists, sizeof exists, 0);
  if (start < 0 || !exists) start = 0;
  if (ps_rank == 0) { /* removed if this run fails; kept if it is stopped by a signal */
    ps_tmp_register(partial);
    ps_tmp_register(progress);
  }

  hid_t fid, did, gs;
  hid_t *ds = ps_malloc(sizeof(hid_t) * (size_t)k);
  double t_meta = ps_now(); /* metadata (create, attributes) timed apart from data, as h5bench does */
  if (start > 0) {
    ps_log("score: resuming %s after %lld of %lld blocks", partial, (long long)start, (long long)nb);
    fid = h5io_open_rw(partial);
    did = H5Dopen2(fid, "/customer_id", H5P_DEFAULT);
    gs = H5Gopen2(fid, "/scores", H5P_DEFAULT);
    for (int h = 0; h < k; h++) ds[h] = H5Dopen2(gs, mdl.targets[h], H5P_DEFAULT);
  } else {
    fid = h5io_create(partial, 1);
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
    did = h5io_create_dataset(fid, "/customer_id", H5T_STD_I64LE, 1, dims, chunk);
    gs = h5io_create_group(fid, "/scores");
    for (int h = 0; h < k; h++) ds[h] = h5io_create_dataset(gs, mdl.targets[h], H5T_IEEE_F32LE, 1, dims, chunk);
  }

  t_meta = ps_now() - t_meta;
  ps_transform_t tf;
  model_transform(&mdl, &tf);
  score_io_t io = {0};
  io.d = &d;
  io.did = did;
  io.ds = ds;
  io.k = k;
  io.f = f;
  io.row0 = row0;
  io.n = n;
  io.br = br;
  io.nb = nb;
  io.start = start;
  io.stop_at = nb;
  io.reject = !strcmp(nonfinite, "reject");
  for (int i = 0; i < 2; i++) {
    io.X[i] = ps_malloc(sizeof(float) * (size_t)br * (size_t)f);
    io.P[i] = ps_malloc(sizeof(float) * (size_t)br * (size_t)k);
    io.ids[i] = ps_malloc(sizeof(int64_t) * (size_t)br);
  }
  io.computed = io.ready = start;
  pthread_mutex_init(&io.mu, NULL);
  pthread_cond_init(&io.cv, NULL);
  ps_progress_t prog;
  ps_progress_init(&prog, "score", (double)n_all, 4.0 * (double)f);
  double t_comp = 0;
  pthread_t thread;
  if (pthread_create(&thread, NULL, score_io_main, &io) != 0) ps_die_local("cannot start the score I/O thread");
  /* Compute while the I/O thread reads the next block and writes the last. */
  for (int64_t blk = start;; blk++) {
    pthread_mutex_lock(&io.mu);
    while (io.ready <= blk && blk < io.stop_at) pthread_cond_wait(&io.cv, &io.mu);
    int go = blk < io.stop_at;
    pthread_mutex_unlock(&io.mu);
    if (!go) break;
    int slot = (int)(blk % 2);
    double t0c = ps_now();
    b->predict_raw(b, &tf, mdl.theta, k, io.X[slot], io.m[slot], io.P[slot]);
    t_comp += ps_now() - t0c;
    pthread_mutex_lock(&io.mu);
    io.computed = blk + 1;
    pthread_cond_broadcast(&io.cv);
    pthread_mutex_unlock(&io.mu);
    ps_progress_update(&prog, (double)(blk * br + io.m[slot]) * (double)ps_size);
  }
  pthread_join(thread, NULL);
  int stopped = io.stop_at < nb;
  double t_read = io.t_read, t_write = io.t_write;
  if (stopped) {
    H5_CHECK(H5Fflush(fid, H5F_SCOPE_GLOBAL));
    write_progress(progress, fp, io.stop_at);
    ps_log("score: stop signal after %lld of %lld blocks; run the same command again to resume",
           (long long)io.stop_at, (long long)nb);
  }
  for (int i = 0; i < 2; i++) {
    free(io.X[i]);
    free(io.P[i]);
    free(io.ids[i]);
  }
  pthread_mutex_destroy(&io.mu);
  pthread_cond_destroy(&io.cv);
  for (int h = 0; h < k; h++) H5Dclose(ds[h]);
  H5Dclose(did);
  H5Gclose(gs);
  double tc0 = ps_now();
  h5io_close(fid);
  comm_barrier();
  free(ds);
  if (stopped) {
    if (ps_rank == 0) {
      ps_tmp_forget(partial);
      ps_tmp_forget(progress);
    }
    manifest_phase("read", t_read);
    manifest_phase("compute", t_comp);
    manifest_phase("write", t_write);
    manifest_finish(PS_EXIT_STOPPED, "stopped by a signal; finished blocks kept for resume");
    ps_out("score: stopped by signal %d; %s kept for resume", ps_stop_signal(), partial);
    free(partial); free(progress);
    h5io_close_data(&d);
    model_free(&mdl);
    b->destroy(b);
    return PS_EXIT_STOPPED;
  }
  int bad = 0;
  if (ps_rank == 0) {
    bad = ps_commit_file(partial, out) != 0;
    unlink(progress);
    ps_tmp_forget(progress);
    if (!bad) ps_tmp_forget(partial);
  }
  comm_bcast(&bad, sizeof bad, 0);
  if (bad) ps_die_all(PS_EXIT_ERROR, "score: cannot rename %s to %s", partial, out);
  t_write += ps_now() - tc0;
  double el = ps_now() - t0;
  ps_log("score: rank 0 time: metadata %.3f s, read %.2f s, compute %.2f s, write %.2f s (%.2f GB/s of scores)", t_meta,
         t_read, t_comp, t_write, (double)n_all * (8.0 + 4.0 * k) / 1e9 / (t_write > 0 ? t_write : 1e-9));
  ps_out("score: wrote %s: %lld customers x %d head%s in %.2f s (%.0f rows/s, %.2f GB/s of features, %d rank%s)", out,
         (long long)n_all, k, k == 1 ? "" : "s", el, (double)n_all / el, (double)n_all * (double)f * 4.0 / 1e9 / el,
         ps_size, ps_size == 1 ? "" : "s");
  manifest_output("scores", out);
  manifest_param_num("block_rows", (double)br);
  manifest_param_str("nonfinite", nonfinite);
  manifest_phase("metadata", t_meta);
  manifest_phase("read", t_read);
  manifest_phase("compute", t_comp);
  manifest_phase("write", t_write);
  cJSON *mj = manifest_metrics();
  if (mj) cJSON_AddNumberToObject(mj, "rows", (double)n_all);
  manifest_finish(0, NULL);
  free(partial); free(progress);
  h5io_close_data(&d);
  model_free(&mdl);
  b->destroy(b);
  return 0;
}
