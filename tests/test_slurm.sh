# test_slurm.sh - slurm/nngp.sbatch and slurm/cnn.sbatch on a private single-host SLURM cluster
# (tests/slurm_cluster.sh): a job via sbatch + srun gives the same arrays as mpirun; USR1 before
# the time limit checkpoints, requeues and resumes to the same arrays as an uninterrupted run (a
# CNN run mid-training: the same weights); the requeue cap and the mpirun launcher; srun starting
# independent single ranks is refused. Needs root, slurm-wlm and munge; when the cluster cannot
# start the test says "not ok" with the reason. Takes about 2 minutes.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
. tests/slurm_cluster.sh
NNSWEEP=$(readlink -f "$NNSWEEP")
export NNSWEEP_BIN=$NNSWEEP             # read by slurm/common.sh
h5() { /usr/bin/python3 "$TMP/h5tool.py" "$@"; }

cat > "$TMP/h5tool.py" <<'PY'
"""h5tool.py state F | progress F | shape F | compare A B | cnncompare A B: small reads of nnsweep
results files. A file being replaced (atomic rename) or not yet written is retried for up to 5 s."""
import sys, time
import h5py
import numpy as np

ARRAYS = ["/nngp/test_accuracy", "/nngp/log_marginal_likelihood", "/nngp/noise_used"]
CNN_ARRAYS = ["/cnn/base/weights", "/cnn/base/bn_buffers", "/cnn/base/train_loss",
              "/cnn/base/test_accuracy", "/cnn/base/confusion_matrix"]

def opened(path):
    for _ in range(50):
        try:
            return h5py.File(path, "r")
        except OSError:
            time.sleep(0.1)
    return h5py.File(path, "r")

def main(cmd, *paths):
    f = opened(paths[0])
    if cmd == "state":
        print(f.attrs["state"])
    elif cmd == "progress":          # "DONE TOTAL STATE"
        done = f["/nngp/item_done"][()]
        print(int(done.sum()), done.size, f.attrs["state"])
    elif cmd == "shape":
        print(" ".join(f"{name}={f[name].shape}" for name in ARRAYS))
    elif cmd in ("compare", "cnncompare"):
        g = opened(paths[1])
        names = ARRAYS if cmd == "compare" else CNN_ARRAYS
        for name in names:
            x, y = f[name][()], g[name][()]
            if x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
                print(f"{name} differs: shapes {x.shape} {y.shape}, max |diff| "
                      f"{np.nanmax(np.abs(x - y)) if x.shape == y.shape else '-'}")
                return 1
        print("identical:", ", ".join(names))
    return 0

sys.exit(main(*sys.argv[1:]))
PY

# The state of a job: "JobState ExitCode Restarts".
job_summary() {
  echo "$(cluster_job_field "$1" JobState) $(cluster_job_field "$1" ExitCode) $(cluster_job_field "$1" Restarts)"
}

# submit LOG JOB OUT [sbatch options...]: prints the job id (2 tasks, log to LOG).
submit() {
  local log=$1 job=$2 out=$3
  shift 3
  sbatch --parsable --ntasks=2 --output="$log" "$@" slurm/nngp.sbatch "$job" "$out"
}

# finished ID LOG DESCRIPTION WANT: waits (120 s at most) for job ID to end, then checks that its
# "JobState ExitCode Restarts" is WANT. Cancels a job that does not end.
finished() {
  local id=$1 log=$2 desc=$3 want=$4 got
  if ! cluster_wait_job "$id" 120 >/dev/null; then
    scancel "$id"
    not_ok "$desc (job $id still $(job_summary "$id") after 120 s; cancelled)"
    sed 's/^/#   /' "$log" 2>/dev/null | tail -20
    return 1
  fi
  got=$(job_summary "$id")
  if [ "$got" = "$want" ]; then
    ok "$desc"
  else
    not_ok "$desc (JobState ExitCode Restarts: '$got', wanted '$want')"
    sed 's/^/#   /' "$log" 2>/dev/null | tail -20
    return 1
  fi
}

# wait_items FILE: waits (90 s at most) until FILE shows some finished items but state running.
wait_items() {
  local t p
  for t in $(seq 1 360); do
    p=$(h5 progress "$1" 2>/dev/null)
    case "$p" in [1-9]*" running") echo "$p"; return 0 ;; esac
    case "$p" in *" complete") echo "$p"; return 1 ;; esac
    sleep 0.25
  done
  echo "${p:-no file}"
  return 1
}

if [ ! -x "$NNSWEEP" ]; then
  not_ok "no executable $NNSWEEP (build it first)"
  exit 1
fi
if [ "$(getconf _NPROCESSORS_ONLN)" -lt 2 ]; then
  not_ok "the SLURM tests need 2 CPUs, this machine has $(getconf _NPROCESSORS_ONLN)"
  exit 1
fi
if ! cluster_start; then
  not_ok "a private SLURM cluster starts: $CLUSTER_ERROR"
  cluster_log_tails
  exit 1
fi
ok "a private SLURM cluster starts (slurmctld + slurmd in $CLUSTER_DIR, node idle)"

# 1. The small job through sbatch + srun --mpi=pmix, compared with mpirun.
id=$(submit "$TMP/small.log" tests/jobs/nngp-small.ini "$TMP/small-slurm.h5")
finished "$id" "$TMP/small.log" "small job via sbatch + srun completes with exit code 0" "COMPLETED 0:0 0"
expect 0 "^complete$" "its results file has state complete" -- h5 state "$TMP/small-slurm.h5"
expect 0 "test_accuracy=\(6, 3, 3\) .*likelihood=\(6, 3, 3\) .*noise_used=\(6, 3, 3\)" \
  "its arrays have shape (depth 6, sigma_w2 3, sigma_b2 3)" -- h5 shape "$TMP/small-slurm.h5"
check "mpirun -np 2 runs the same job" -- mpirun -np 2 "$NNSWEEP" nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/small-mpirun.h5"
check "sbatch + srun and mpirun give identical arrays" -- h5 compare "$TMP/small-slurm.h5" "$TMP/small-mpirun.h5"

# 2. USR1 (as --signal=B:USR1@LEAD sends it, to the batch shell) mid-run: the script forwards it,
# the ranks checkpoint and exit 75, the script requeues the job, the second run resumes.
cat > "$TMP/long.ini" <<'INI'
; 64 items of 1000 train / 500 test, 10 depths: long enough to signal mid-run
[data]
dataset = fashion-mnist
classes = 0, 6
train = 1000
test = 500
[nngp]
depth = 1:10
sigma_w2 = linspace(0.5, 5, 8)
sigma_b2 = linspace(0, 2, 8)
INI
check "mpirun -np 2 runs the long job uninterrupted (reference)" -- \
  mpirun -np 2 "$NNSWEEP" nngp --quiet "$TMP/long.ini" --out "$TMP/long-ref.h5"
id=$(submit "$TMP/long.log" "$TMP/long.ini" "$TMP/long-slurm.h5")
if progress=$(wait_items "$TMP/long-slurm.h5"); then
  ok "the long job is running and has checkpointed items ($progress)"
  scancel --signal=USR1 --batch "$id"
else
  not_ok "the long job did not reach a running state with finished items ($progress)"
fi
finished "$id" "$TMP/long.log" "the signalled job is requeued once and completes with exit code 0" \
  "COMPLETED 0:0 1"
expect 0 "interrupted by a signal.*exit status 75" "the signal reached the ranks: checkpoint and exit 75" -- \
  cat "$TMP/long.log"
expect 0 "requeueing \(restart 1 of at most 5\)" "the script requeued the job" -- cat "$TMP/long.log"
expect 0 "\(resumed\)" "the second run resumed from the checkpoint" -- cat "$TMP/long.log"
expect 0 "^complete$" "the requeued job's file has state complete" -- h5 state "$TMP/long-slurm.h5"
check "interrupted + resumed and uninterrupted give identical arrays" -- \
  h5 compare "$TMP/long-slurm.h5" "$TMP/long-ref.h5"

# 3. The mpirun launcher and the requeue cap: with NNSWEEP_MAX_REQUEUES=0 a signalled job stops
# with exit 75 and a checkpoint; resubmitting the same command finishes it.
id=$(NNSWEEP_LAUNCHER=mpirun NNSWEEP_MAX_REQUEUES=0 submit "$TMP/cap.log" "$TMP/long.ini" "$TMP/long-cap.h5")
if progress=$(wait_items "$TMP/long-cap.h5"); then
  scancel --signal=USR1 --batch "$id"
else
  not_ok "the mpirun-launched job did not reach a running state with finished items ($progress)"
fi
finished "$id" "$TMP/cap.log" "mpirun launcher: a signalled job at the requeue cap fails with 75, not requeued" \
  "FAILED 75:0 0"
expect 0 "NNSWEEP_MAX_REQUEUES=0 is reached" "the log says the cap is reached" -- cat "$TMP/cap.log"
expect 0 "^interrupted$" "its file has state interrupted" -- h5 state "$TMP/long-cap.h5"
id=$(NNSWEEP_LAUNCHER=mpirun submit "$TMP/cap2.log" "$TMP/long.ini" "$TMP/long-cap.h5")
finished "$id" "$TMP/cap2.log" "resubmitting the same command (mpirun launcher) completes" "COMPLETED 0:0 0"
expect 0 "\(resumed\)" "the resubmitted job resumed" -- cat "$TMP/cap2.log"
check "stopped + resubmitted and uninterrupted give identical arrays" -- \
  h5 compare "$TMP/long-cap.h5" "$TMP/long-ref.h5"

# A plain scancel (TERM to everything) is the user's decision: the ranks checkpoint, but the
# script must not requeue.
id=$(submit "$TMP/cancel.log" "$TMP/long.ini" "$TMP/long-cancel.h5")
if progress=$(wait_items "$TMP/long-cancel.h5"); then
  scancel "$id"
else
  not_ok "the job to cancel did not reach a running state with finished items ($progress)"
fi
finished "$id" "$TMP/cancel.log" "scancel: the job ends CANCELLED and is not requeued" "CANCELLED 75:0 0"
expect 0 "^interrupted$" "the cancelled job's file has state interrupted" -- h5 state "$TMP/long-cancel.h5"

# A launcher that exits 0 although no rank ran (srun did so for a requeue onto a node that had
# been lost, tests/test_two_nodes.sh): the script reads the file's state, says it is not complete
# and fails. The stand-in program does nothing for nngp and is nnsweep for plan and report. The
# job names its file in [output] (no --out): the script asks `plan --results-file` for it.
printf '#!/bin/sh\ncase "$1" in nngp|cnn) exit 0 ;; esac\nexec %s "$@"\n' "$NNSWEEP" > "$TMP/idle-nnsweep"
chmod +x "$TMP/idle-nnsweep"
{ cat "$TMP/long.ini"; printf '[output]\nfile = %s\n' "$TMP/long-cancel.h5"; } > "$TMP/idle.ini"
id=$(NNSWEEP_BIN="$TMP/idle-nnsweep" submit "$TMP/idle.log" "$TMP/idle.ini" "")
finished "$id" "$TMP/idle.log" "a launcher that exits 0 without running the ranks: the job fails (exit 1)" \
  "FAILED 1:0 0"
expect 0 "the launcher exited 0 but .*long-cancel.h5 is in state interrupted, not complete" \
  "... and the log says the results file is not complete" -- cat "$TMP/idle.log"
expect 0 "nngp job complete \(.*small-slurm.h5\)" "a complete job's log names its complete file" -- cat "$TMP/small.log"

# 4. srun without MPI wiring. Open MPI refuses by itself when it sees SLURM_NODELIST without PMI;
# with that variable removed each task becomes a singleton, which the program must refuse.
srun_none() { timeout 60 srun --mpi=none --ntasks=2 "$@"; }
srun_none "$NNSWEEP" nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/none.h5" >"$TMP/out" 2>&1
status=$?
if [ "$status" -ne 0 ] && [ ! -e "$TMP/none.h5" ]; then
  ok "srun --mpi=none: refused in MPI_Init (exit $status), no results file"
else
  not_ok "srun --mpi=none: exit $status, results file $( [ -e "$TMP/none.h5" ] && echo written || echo absent)"
  sed 's/^/#   /' "$TMP/out" | head -10
fi
expect 2 "SLURM_NTASKS=2 but MPI_COMM_WORLD has 1 rank.*independent single ranks" \
  "srun starting 2 independent single ranks: the program refuses with exit 2" -- \
  srun_none env -u SLURM_NODELIST "$NNSWEEP" nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/single.h5"

# 5. slurm/cnn.sbatch: USR1 once the run has a checkpoint; the ranks stop at the next training
# step with a checkpoint, the job is requeued and continues the run to the uninterrupted weights.
check "mpirun -np 2 trains the CNN job uninterrupted (reference)" -- \
  mpirun -np 2 "$NNSWEEP" cnn --quiet tests/jobs/cnn-resume.ini --out "$TMP/cnn-ref.h5"
id=$(sbatch --parsable --ntasks=2 --output="$TMP/cnn.log" slurm/cnn.sbatch tests/jobs/cnn-resume.ini "$TMP/cnn-slurm.h5")
for _ in $(seq 1 360); do [ -e "$TMP/cnn-slurm.h5.ckpt/base.h5" ] && break; sleep 0.25; done
if [ -e "$TMP/cnn-slurm.h5.ckpt/base.h5" ]; then
  ok "the CNN job is training and has a checkpoint"
  scancel --signal=USR1 --batch "$id"
else
  not_ok "the CNN job wrote no checkpoint"
fi
finished "$id" "$TMP/cnn.log" "cnn.sbatch: the signalled job is requeued once and completes with exit code 0" \
  "COMPLETED 0:0 1"
expect 0 "run base stopped at epoch [0-9]+, batch" "the ranks stopped mid-run with a checkpoint" -- cat "$TMP/cnn.log"
expect 0 "continuing from its checkpoint at epoch" "the requeued job continued the run from its checkpoint" -- \
  cat "$TMP/cnn.log"
expect 0 "^complete$" "the CNN results file has state complete" -- h5 state "$TMP/cnn-slurm.h5"
check "interrupted + requeued and uninterrupted CNN runs give identical weights" -- \
  h5 cnncompare "$TMP/cnn-slurm.h5" "$TMP/cnn-ref.h5"

# 6. slurm/nngp-scalapack.sbatch, resized to this one node: items on a 1x2 ScaLAPACK grid through
# sbatch + srun give the same arrays as mpirun.
sed 's/^\[nngp\]/[nngp]\nsolver = scalapack\ngroup_size = 2/' tests/jobs/nngp-small.ini > "$TMP/pgp.ini"
check "mpirun -np 2 runs the ScaLAPACK job (reference)" -- \
  mpirun -np 2 "$NNSWEEP" nngp --quiet "$TMP/pgp.ini" --out "$TMP/pgp-ref.h5"
# (--signal: the script's one-hour lead is longer than this 10-minute limit, so slurmctld would
# signal the job at its first check; a slow build, e.g. SANITIZE=1, was still running then)
id=$(sbatch --parsable --nodes=1 --ntasks-per-node=2 --time=00:10:00 --signal=B:USR1@60 \
  --output="$TMP/pgp.log" slurm/nngp-scalapack.sbatch "$TMP/pgp.ini" "$TMP/pgp-slurm.h5")
finished "$id" "$TMP/pgp.log" "nngp-scalapack.sbatch completes with exit code 0" "COMPLETED 0:0 0"
expect 0 "ScaLAPACK grid 1x2" "the job ran on a 1x2 process grid" -- cat "$TMP/pgp.log"
check "sbatch + srun and mpirun give identical ScaLAPACK arrays" -- h5 compare "$TMP/pgp-slurm.h5" "$TMP/pgp-ref.h5"

left=$(squeue -h -o %i)
if [ -z "$left" ]; then ok "no jobs left in the queue"; else not_ok "jobs left in the queue: $left"; fi
