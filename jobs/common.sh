# jobs/common.sh: shared by the sbatch scripts (sourced, not run).
# Finds the binary, sets the MPI launcher, and runs a step so that Slurm's
# signals reach propscore and a checkpointed stop (exit 75) requeues the job.

# PS_BIN: the propscore binary (default: propscore on PATH, else build/propscore
# under the submit directory).
if [ -z "${PS_BIN:-}" ]; then
  if command -v propscore >/dev/null 2>&1; then PS_BIN=$(command -v propscore)
  else PS_BIN=${SLURM_SUBMIT_DIR:-$PWD}/build/propscore; fi
fi
[ -x "$PS_BIN" ] || { echo "propscore job: no executable PS_BIN ($PS_BIN)" >&2; exit 2; }
# PS_LAUNCH: how ranks start (default: srun with PMIx, killing the step if one rank fails).
PS_LAUNCH=${PS_LAUNCH:-srun --mpi=pmix --kill-on-bad-exit=1}
# One GPU per rank: with --gpus-per-task Slurm sets CUDA_VISIBLE_DEVICES per task and
# propscore uses its node-local rank's device; without GPUs the CPU backend runs.
PS_DEVICE=${PS_DEVICE:-auto}

ps_log() { echo "[$(date -u +%FT%TZ)] job ${SLURM_JOB_ID:-?}: $*" >&2; }

# ps_step ARGS...: run propscore under the launcher; forward USR1/TERM to it.
# Exit 75 from propscore (stopped after a checkpoint) requeues this job, which
# then resumes from the checkpoint; any other failure fails the job (afterok
# dependencies never start).
ps_step() {
  ps_log "start: $PS_LAUNCH $PS_BIN $*"
  $PS_LAUNCH "$PS_BIN" "$@" &
  local pid=$! rc=0
  trap 'ps_log "signal: forwarding to the step"; kill -USR1 $pid 2>/dev/null || true' USR1 TERM
  while :; do
    wait $pid && rc=0 || rc=$?
    kill -0 $pid 2>/dev/null || break   # wait was interrupted by a trapped signal: wait again
  done
  trap - USR1 TERM
  if [ $rc -eq 75 ]; then
    ps_log "stopped after a checkpoint: requeueing to resume"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
  fi
  ps_log "end: exit $rc"
  return $rc
}
