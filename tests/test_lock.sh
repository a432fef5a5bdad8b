# test_lock.sh - two runs, one output (run_lock.h): a run that would write a results file another
# live run is writing is refused at start (exit 2, naming the file, host, pid) and the first run
# is not touched; a lock left by a run killed with -9 does not block --resume; a requeued SLURM
# job takes over its earlier incarnation's lock; a lock of another host naming a SLURM job that a
# private single-host cluster (tests/slurm_cluster.sh) says has ended, is pending or is unknown is
# taken over, one naming a running job is respected; a lock on another host without that proof
# (no job; SLURM cannot be asked), or one that cannot be read, is respected and named. Needs root,
# slurm-wlm and munge for the cluster part (about 10 s more).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
. tests/slurm_cluster.sh
H5CMP="/usr/bin/python3 tests/h5compare.py"

cat > "$TMP/job.ini" <<INI
[data]
dataset = fashion-mnist
classes = 0, 6
train = 1000
test = 300
[nngp]
depth = 1:8
sigma_w2 = linspace(0.5, 5, 7)
sigma_b2 = linspace(0, 2, 6)
INI
printf '[data]\ndataset = fashion-mnist\nclasses = 0, 1\ntrain = 64\ntest = 32\n[cnn]\nlayers = flatten dense(2)\nepochs = 1\n' > "$TMP/cnn.ini"

wait_for() {   # wait_for FILE: up to 20 s for FILE to appear
  for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.1; done
  return 1
}

check "reference run" -- $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/ref.h5"
[ ! -e "$TMP/ref.h5.lock" ] && ok "a finished run leaves no lock" || not_ok "a finished run leaves no lock"

$NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/a.h5" >"$TMP/a.log" 2>&1 &
apid=$!
wait_for "$TMP/a.h5.lock" && ok "a running run holds a.h5.lock" || not_ok "a running run holds a.h5.lock"
kill -STOP $apid   # held still while the others try: on a fast machine it could finish first
expect 2 "a.h5 is being written by another run \(host $(hostname), pid $apid, since .*\): not started" \
  "a second NNGP run on the same file is refused, naming host and pid" -- \
  $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/a.h5"
expect 2 "a.h5 is being written by another run" "... and a CNN run of another job too" -- \
  $NNSWEEP cnn --quiet "$TMP/cnn.ini" --out "$TMP/a.h5"
kill -CONT $apid
wait $apid
check "the first run finishes" -- test $? -eq 0
check "... untouched: its results equal the reference run's" -- $H5CMP "$TMP/ref.h5" "$TMP/a.h5"

$NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/k.h5" >/dev/null 2>&1 &
kpid=$!
wait_for "$TMP/k.h5.lock"
sleep 1
kill -9 $kpid; wait $kpid 2>/dev/null
[ -e "$TMP/k.h5.lock" ] && ok "kill -9 leaves its lock behind" || not_ok "kill -9 leaves its lock behind"
expect 0 "taking over the lock of a run that is gone \(host $(hostname), pid $kpid\)" \
  "--resume takes over the lock of the killed run" -- $NNSWEEP nngp "$TMP/job.ini" --out "$TMP/k.h5" --resume
check "... and finishes with the reference results" -- $H5CMP "$TMP/ref.h5" "$TMP/k.h5"

printf 'host=elsewhere\npid=4242\nslurm_job_id=\nstart=2026-12-04T00:00:00Z\n' > "$TMP/o.h5.lock"
expect 2 "o.h5 is being written by another run \(host elsewhere, pid 4242, since 2026-12-04T00:00:00Z\).*remove .*o.h5.lock" \
  "a lock of another host is respected, with the way out named" -- $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/o.h5"
[ ! -e "$TMP/o.h5" ] && [ -e "$TMP/o.h5.lock" ] && ok "... nothing written, the lock left alone" || not_ok "... nothing written, the lock left alone"
printf 'host=elsewhere\npid=4242\nslurm_job_id=777\nstart=2026-12-04T00:00:00Z\n' > "$TMP/o.h5.lock"
# SLURM that cannot be asked: a stand-in squeue that fails as one without a controller does.
mkdir -p "$TMP/bin"
printf '#!/bin/sh\necho "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2\nexit 1\n' \
  > "$TMP/bin/squeue"
chmod +x "$TMP/bin/squeue"
expect 2 "SLURM job 777, since .*; SLURM cannot be asked whether it still runs: slurm_load_jobs error: Unable to contact slurm controller" \
  "... naming its SLURM job, and why SLURM could not say whether it runs" -- \
  env PATH="$TMP/bin:$PATH" $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/o.h5"
expect 0 "taking over the lock of a run that is gone \(host elsewhere, pid 4242, SLURM job 777\)" \
  "a requeued SLURM job (same job id) takes over its earlier run's lock" -- \
  env SLURM_JOB_ID=777 $NNSWEEP nngp "$TMP/job.ini" --out "$TMP/o.h5" --resume
printf 'garbage\n' > "$TMP/g.h5.lock"
expect 2 "g.h5 is locked by .*g.h5.lock, which cannot be read" "an unreadable lock is respected" -- \
  $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/g.h5"

# Another host's lock and SLURM's word on its job, from a private single-host cluster.
if ! cluster_start; then
  not_ok "a private SLURM cluster starts: $CLUSTER_ERROR"
  cluster_log_tails
  exit 1
fi
# lock_of JOBID FILE: a lock of host elsewhere naming SLURM job JOBID, for FILE.
lock_of() { printf 'host=elsewhere\npid=4242\nslurm_job_id=%s\nstart=2026-12-04T00:00:00Z\n' "$1" > "$2.lock"; }
done_id=$(sbatch --parsable --output=/dev/null --wrap true)
state=$(cluster_wait_job "$done_id" 60)
lock_of "$done_id" "$TMP/s1.h5"
expect 0 "taking over the lock of a run that is gone \(host elsewhere, pid 4242, SLURM job $done_id: SLURM says $state\)" \
  "a lock of another host whose SLURM job has ended ($state) is taken over" -- \
  $NNSWEEP cnn "$TMP/cnn.ini" --out "$TMP/s1.h5" --resume
lock_of 987654 "$TMP/s2.h5"
expect 0 "taking over the lock .*SLURM job 987654: SLURM does not know it\)" \
  "... and one whose job SLURM does not know (ended long ago)" -- \
  $NNSWEEP cnn "$TMP/cnn.ini" --out "$TMP/s2.h5" --resume
held_id=$(sbatch --parsable --hold --output=/dev/null --wrap true)
lock_of "$held_id" "$TMP/s3.h5"
expect 0 "taking over the lock .*SLURM job $held_id: SLURM says PENDING\)" \
  "... and one whose job is pending (as after a requeue: none of its processes runs)" -- \
  $NNSWEEP cnn "$TMP/cnn.ini" --out "$TMP/s3.h5" --resume
scancel "$held_id"
run_id=$(sbatch --parsable --output=/dev/null --wrap 'sleep 300')
for _ in $(seq 1 120); do [ "$(cluster_job_field "$run_id" JobState)" = RUNNING ] && break; sleep 0.25; done
lock_of "$run_id" "$TMP/s4.h5"
expect 2 "s4.h5 is being written by another run \(host elsewhere, pid 4242, SLURM job $run_id, since .*; SLURM says RUNNING\)" \
  "a lock of another host whose SLURM job runs is respected, naming SLURM's answer" -- \
  $NNSWEEP cnn --quiet "$TMP/cnn.ini" --out "$TMP/s4.h5" --resume
[ ! -e "$TMP/s4.h5" ] && grep -q "slurm_job_id=$run_id" "$TMP/s4.h5.lock" &&
  ok "... nothing written, the lock left alone" || not_ok "... nothing written, the lock left alone"
scancel "$run_id"
