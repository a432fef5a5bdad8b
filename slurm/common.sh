# shellcheck shell=bash
# common.sh - the body shared by slurm/nngp.sbatch and slurm/cnn.sbatch, sourced by them (sbatch
# runs a copy of the script from its spool folder, so they find this file through
# $SLURM_SUBMIT_DIR: submit from the repository's top directory). Defines one function:
#
#   nnsweep_batch EXPERIMENT JOB [OUT]
#       runs `nnsweep EXPERIMENT JOB [--out OUT] [--resume]` with the launcher, forwards USR1 and
#       TERM to the ranks, and requeues the job when the program stopped with a checkpoint
#       (exit 75) on the warning signal. The program chooses its threads and BLAS threads itself
#       from the cores each task may use (--cpus-per-task). Exits with the program's exit status
#       (0 after a successful requeue), or 1 when the launcher exited 0 but the results file is
#       not complete.
#
# Environment (export before sbatch; sbatch passes it on):
#   NNSWEEP_BIN            the program          (default $SLURM_SUBMIT_DIR/build/nnsweep)
#   NNSWEEP_LAUNCHER       srun (default) or mpirun (Open MPI inside the allocation)
#   NNSWEEP_SRUN_MPI       srun's --mpi plugin  (default pmix; see `srun --mpi=list`)
#   NNSWEEP_MAX_REQUEUES   stop requeueing after this many restarts (default 5)
#   NNSWEEP_RESUME         1 (default): always pass --resume, so resubmitting continues a job;
#                          0: the first run starts afresh (a requeued run always resumes)
#
# Signals: `--signal=B:USR1@LEAD` sends USR1 to the batch shell only. The shell runs the launcher
# in the background, traps USR1 and forwards it; srun and mpirun both pass USR1 on to every rank.
# Chosen over the form without B: (which signals only the tasks srun started, not this shell)
# because it works for both launchers (mpirun's ranks are not SLURM tasks) and the shell knows a
# checkpoint is coming. The ranks checkpoint (NNGP: at the next item boundary; CNN: at the next
# training step), the results file is written with state "interrupted" and the program exits 75;
# the script then runs `scontrol requeue` (allowed by --requeue) and the job starts again from the
# top with SLURM_RESTART_COUNT set, resuming from the file, until it is complete or
# NNSWEEP_MAX_REQUEUES is reached. TERM (scancel, the time limit itself, preemption) is forwarded
# too, so the ranks still write a checkpoint, but the job is never requeued then: SLURM's (or the
# user's) decision stands. Test it by hand: scancel --signal=USR1 --batch JOBID.

# results_file BIN JOB OUT: the results file a run writes: OUT, else what the program says
# (the job's [output] file, else its default).
results_file() {
  if [ -n "$3" ]; then echo "$3"; else "$1" plan "$2" --results-file 2>/dev/null; fi
}

nnsweep_batch() {
  local experiment=$1 job=$2 out=${3:-}
  local name="$experiment.sbatch"
  local bin=${NNSWEEP_BIN:-${SLURM_SUBMIT_DIR:-.}/build/nnsweep}
  local launcher=${NNSWEEP_LAUNCHER:-srun}
  local max_requeues=${NNSWEEP_MAX_REQUEUES:-5}
  local restarts=${SLURM_RESTART_COUNT:-0}
  say() { echo "[$(date '+%Y-%m-%d %H:%M:%S')] $name: $*"; }

  if [ ! -x "$bin" ]; then
    say "no executable $bin (build it with make, or set NNSWEEP_BIN)"
    exit 2
  fi
  if [ ! -r "$job" ]; then
    say "cannot read job file $job (paths are relative to $PWD)"
    exit 2
  fi

  local args=("$experiment" "$job")
  [ -n "$out" ] && args+=(--out "$out")
  if [ "${NNSWEEP_RESUME:-1}" = 1 ] || [ "$restarts" -gt 0 ]; then
    args+=(--resume)   # safe: with no file yet the program just starts
  fi

  local threads=${SLURM_CPUS_PER_TASK:-1} cmd
  # The program chooses its threads (affinity mask, SLURM_CPUS_PER_TASK) and BLAS threads itself.
  case "$launcher" in
    srun)
      # srun no longer inherits --cpus-per-task from the allocation (SLURM >= 22.05): pass it on.
      cmd=(srun --mpi="${NNSWEEP_SRUN_MPI:-pmix}" --cpus-per-task="$threads" "$bin" "${args[@]}") ;;
    mpirun)
      # Open MPI's mpirun reads the allocation from SLURM (on several nodes it starts its daemons
      # with srun); it forwards USR1 and TERM to every rank.
      [ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      cmd=(mpirun -np "${SLURM_NTASKS:-1}" --bind-to none "$bin" "${args[@]}") ;;
    *)
      say "NNSWEEP_LAUNCHER must be srun or mpirun, not '$launcher'"
      exit 2 ;;
  esac

  say "job ${SLURM_JOB_ID:-?} run $((restarts + 1)) (restart $restarts of at most $max_requeues)" \
      "on ${SLURM_JOB_NODELIST:-?}, ${SLURM_NTASKS:-?} task(s) x $threads thread(s)"
  say "${cmd[*]}"

  # Traps run only between commands, so the launcher runs in the background and the shell waits.
  launcher_pid=""
  caught=0
  terminated=0
  # shellcheck disable=SC2317   # called from the traps
  forward() {
    caught=1
    [ "$1" = TERM ] && terminated=1
    say "caught SIG$1: forwarding to the ranks (they checkpoint and stop)"
    [ -n "$launcher_pid" ] && kill -s "$1" "$launcher_pid" 2>/dev/null
  }
  trap 'forward USR1' USR1
  trap 'forward TERM' TERM

  "${cmd[@]}" &
  launcher_pid=$!
  local status
  while :; do
    caught=0
    wait "$launcher_pid"
    status=$?
    # A trapped signal interrupts `wait` with a status above 128 while the launcher runs on:
    # wait again for its real exit status.
    [ "$caught" = 1 ] && [ "$status" -gt 128 ] && continue
    break
  done

  case "$status" in
    0)
      # A launcher can exit 0 although no rank ran (seen with Slurm 22.05 + PMIx when a requeued
      # job landed on a node that had been lost: a stale PMIx directory of the killed step): the
      # file then still says running or interrupted. Only the file's state says the job is done.
      local file state
      file=$(results_file "$bin" "$job" "$out")
      state=$("$bin" report "$file" 2>/dev/null | head -n 1 | sed -n 's/.*, state \([a-z]*\)$/\1/p')
      if [ "$state" = complete ]; then
        say "$experiment job complete ($file)"
      else
        say "the launcher exited 0 but $file is ${state:+in state }${state:-not readable}," \
            "not complete (a job step whose ranks did not run?): resubmit the same command to resume"
        status=1
      fi ;;
    75)
      # Requeue only on the warning signal: TERM, and a state other than RUNNING, mean SLURM ends
      # the job (scancel, time limit reached, preemption), and that decision stands.
      local job_state=""
      [ -n "${SLURM_JOB_ID:-}" ] &&
        job_state=$(scontrol show job -o "$SLURM_JOB_ID" 2>/dev/null | grep -o 'JobState=[A-Z_]*')
      if [ "$terminated" = 1 ] || [ "$job_state" != JobState=RUNNING ]; then
        say "interrupted with a checkpoint; SLURM is ending the job (${job_state:-JobState=?}): not" \
            "requeueing; resubmit the same command to resume"
      elif [ "$restarts" -lt "$max_requeues" ]; then
        say "interrupted with a checkpoint: requeueing (restart $((restarts + 1)) of at most $max_requeues)"
        if scontrol requeue "$SLURM_JOB_ID"; then
          exit 0
        fi
        say "scontrol requeue failed: resubmit the same command to resume"
      else
        say "interrupted with a checkpoint, but NNSWEEP_MAX_REQUEUES=$max_requeues is reached:" \
            "resubmit the same command to resume"
      fi ;;
    *)
      say "the program failed with exit status $status (1 runtime failure, 2 bad input): not requeueing" ;;
  esac
  exit "$status"
}
