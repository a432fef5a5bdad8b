# test_lock.sh - two runs, one output (run_lock.h): a run that would write a results file another
# live run is writing is refused at start (exit 2, naming the file, host, pid) and the first run
# is not touched; a lock left by a run killed with -9 does not block --resume; a requeued SLURM
# job takes over its earlier incarnation's lock; a lock on another host without that proof, or
# one that cannot be read, is respected and named.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
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
expect 2 "a.h5 is being written by another run \(host $(hostname), pid $apid, since .*\): not started" \
  "a second NNGP run on the same file is refused, naming host and pid" -- \
  $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/a.h5"
expect 2 "a.h5 is being written by another run" "... and a CNN run of another job too" -- \
  $NNSWEEP cnn --quiet "$TMP/cnn.ini" --out "$TMP/a.h5"
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
expect 2 "SLURM job 777" "... naming its SLURM job" -- $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/o.h5"
expect 0 "taking over the lock of a run that is gone \(host elsewhere, pid 4242, SLURM job 777\)" \
  "a requeued SLURM job (same job id) takes over its earlier run's lock" -- \
  env SLURM_JOB_ID=777 $NNSWEEP nngp "$TMP/job.ini" --out "$TMP/o.h5" --resume
printf 'garbage\n' > "$TMP/g.h5.lock"
expect 2 "g.h5 is locked by .*g.h5.lock, which cannot be read" "an unreadable lock is respected" -- \
  $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/g.h5"
