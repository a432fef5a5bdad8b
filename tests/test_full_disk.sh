#!/usr/bin/env bash
# test_full_disk.sh - a save that fails for want of space (ENOSPC) on a small tmpfs, mounted here
# (root) and unmounted at the end: the previous results file stays intact and readable, every
# rank stops with exit status 1 and a message naming the path and the error, and a --resume once
# space is freed ends with the same results as an uninterrupted run. For an NNGP sweep (a results
# file rewritten after every item) and a CNN run (its checkpoint, rewritten after every epoch).
# The disk is filled at a known moment: the ranks are stopped (SIGSTOP) once the first file
# exists, a filler takes every free byte, and they go on (SIGCONT).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
H5CMP="/usr/bin/python3 tests/h5compare.py"
MNT="$TMP/mnt"
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=8m nnsweep-test-full "$MNT"; then
  not_ok "mount a tmpfs at $MNT (the test needs root)"
  exit 0
fi
trap 'umount "$MNT" 2>/dev/null; rm -rf "$TMP"' EXIT

cat > "$TMP/nngp.ini" <<INI
[data]
dataset = fashion-mnist
classes = 0, 6
train = 1000
test = 300
[nngp]
depth = 1:8
sigma_w2 = linspace(0.5, 5, 10)
sigma_b2 = linspace(0, 2, 10)
INI

wait_for() {   # wait_for FILE: up to 60 s for FILE to appear
  for _ in $(seq 600); do [ -e "$1" ] && return 0; sleep 0.1; done
  return 1
}

# fill_when FILE PATTERN: once FILE exists and a few more checkpoints had time to come, stop the
# processes whose command line matches PATTERN (the ranks, not mpirun), copy FILE to
# $TMP/before.h5 (what a checkpoint saved), take every free byte of the tmpfs with a
# filler file, and let them go on.
fill_when() {
  wait_for "$1" || return 1
  sleep 0.5
  pkill -STOP -f "$2"
  cp "$1" "$TMP/before.h5"
  dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
  sync
  pkill -CONT -f "$2"
}

# full_disk_run KIND JOB OUT FIRST: runs `nnsweep KIND JOB --out OUT` on 2 ranks, fills the disk
# once FIRST exists; the exit status of every rank goes to $TMP/rc.<rank>, the output to $TMP/log.
full_disk_run() {
  rm -f "$TMP"/rc.*
  mpirun -np 2 sh -c "$NNSWEEP $1 --quiet $2 --out $3 >>$TMP/log 2>&1; echo \$? >$TMP/rc.\$OMPI_COMM_WORLD_RANK" &
  local mpid=$!
  fill_when "$4" "^$NNSWEEP $1 --quiet $2 --out $3"
  wait $mpid
}

# stopped_together LABEL REGEX: after full_disk_run, both ranks exited 1 and the log matches
# REGEX (the file it could not write and the error)
stopped_together() {
  [ "$(cat "$TMP/rc.0" "$TMP/rc.1" 2>/dev/null | tr '\n' ' ')" = "1 1 " ] \
    && ok "$1: both ranks stop with exit status 1 when the disk is full" \
    || { not_ok "$1: both ranks stop with exit status 1 (got: $(cat "$TMP"/rc.* 2>/dev/null | tr '\n' ' '))"; show_output "$TMP/log"; }
  grep -qE "$2" "$TMP/log" && ok "$1: the message names the file and the error" \
    || { not_ok "$1: the message names the file and the error (/$2/)"; show_output "$TMP/log"; }
}

# --- NNGP ---
check "NNGP reference run, 2 ranks" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/nngp.ini" --out "$TMP/nngp-ref.h5"
: > "$TMP/log"
full_disk_run nngp "$TMP/nngp.ini" "$MNT/nngp.h5" "$MNT/nngp.h5"
stopped_together NNGP "nngp.h5: cannot write .*nngp.h5.tmp.[0-9]+: No space left on device"
check "NNGP: the previous file is intact and readable (report)" -- $NNSWEEP report "$MNT/nngp.h5"
check "NNGP: ... holding every item the file held when the disk filled" -- /usr/bin/python3 -c "
import h5py, sys
done = [h5py.File(p)['/nngp/item_done'][()] for p in sys.argv[1:]]
assert (done[1] >= done[0]).all(), 'items lost'" "$TMP/before.h5" "$MNT/nngp.h5"
[ -z "$(ls "$MNT" | grep tmp)" ] && ok "NNGP: no temporary file is left behind" \
  || not_ok "NNGP: no temporary file is left behind ($(ls "$MNT"))"
rm -f "$MNT/filler"
expect 0 "\\(resumed\\)" "NNGP: --resume once space is freed completes" -- \
  mpirun -np 2 $NNSWEEP nngp "$TMP/nngp.ini" --out "$MNT/nngp.h5" --resume
check "NNGP: ... with the same results as the uninterrupted run" -- $H5CMP --all "$TMP/nngp-ref.h5" "$MNT/nngp.h5"
rm -f "$MNT"/nngp.h5*

# --- CNN: the checkpoint of a run in progress ---
JOB=tests/jobs/cnn-resume.ini
check "CNN reference run, 2 ranks" -- mpirun -np 2 $NNSWEEP cnn --quiet $JOB --out "$TMP/cnn-ref.h5"
: > "$TMP/log"
full_disk_run cnn $JOB "$MNT/cnn.h5" "$MNT/cnn.h5.ckpt/base.h5"
stopped_together CNN "cnn.h5.ckpt/base.h5: cannot write .*base.h5.tmp.[0-9]+: No space left on device"
check "CNN: the previous checkpoint is intact and readable" -- \
  /usr/bin/python3 -c "import h5py,sys; f = h5py.File(sys.argv[1]); assert f.attrs['epoch'] >= 1" "$MNT/cnn.h5.ckpt/base.h5"
check "CNN: ... at least as far as when the disk filled" -- /usr/bin/python3 -c "
import h5py, sys
epochs = [h5py.File(p).attrs['epoch'] for p in sys.argv[1:]]
assert epochs[1] >= epochs[0], epochs" "$TMP/before.h5" "$MNT/cnn.h5.ckpt/base.h5"
rm -f "$MNT/filler"
expect 0 "continuing from its checkpoint" "CNN: --resume once space is freed continues from the checkpoint" -- \
  mpirun -np 2 $NNSWEEP cnn $JOB --out "$MNT/cnn.h5" --resume
check "CNN: ... with the same results as the uninterrupted run" -- $H5CMP --all "$TMP/cnn-ref.h5" "$MNT/cnn.h5"

# --- a disk full from the start: refused before anything is computed ---
dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
expect 1 "cnn2.h5: cannot create .*cnn2.h5.lock: No space left on device" \
  "a disk full from the start: exit 1 at once, naming the file and the error" -- \
  mpirun -np 2 $NNSWEEP cnn --quiet $JOB --out "$MNT/cnn2.h5"
rm -f "$MNT/filler"
