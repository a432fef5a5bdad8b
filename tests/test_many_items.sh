#!/usr/bin/env bash
# test_many_items.sh - ten thousand small items (a 100 x 100 variance grid, 200 training points):
# rank 0's time writing the results file (/checkpoint_seconds, which includes waiting for the
# previous background save) stays within 5% of the sweep's wall time (/wall_seconds), where
# rewriting the file after every item took 98% of a five-minute run before; and ten kill -9 at
# random moments, each followed by --resume, lose no item a checkpoint held and end with a file
# identical to the uninterrupted run's.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
H5CMP="/usr/bin/python3 tests/h5compare.py"

cat > "$TMP/many.ini" <<INI
[data]
dataset = fashion-mnist
classes = 0, 6
train = 200
test = 200
[nngp]
depth = 1:2
sigma_w2 = linspace(0.5, 5, 100)
sigma_b2 = linspace(0, 2, 100)
INI

attrs() {   # attrs FILE: "checkpoint_seconds wall_seconds items_done file_bytes"
  /usr/bin/python3 - "$1" <<'PY'
import os, sys, h5py
with h5py.File(sys.argv[1]) as f:
    print(f.attrs["checkpoint_seconds"], f.attrs["wall_seconds"], int(f["/nngp/item_done"][()].sum()),
          os.path.getsize(sys.argv[1]))
PY
}

check "10000 items, uninterrupted, 2 ranks" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/many.ini" --out "$TMP/ref.h5"
read -r ckpt wall done bytes < <(attrs "$TMP/ref.h5")
share=$(/usr/bin/python3 -c "print(f'{100 * $ckpt / $wall:.1f}')")
/usr/bin/python3 -c "import sys; sys.exit(0 if $ckpt <= 0.05 * $wall else 1)" \
  && ok "rank 0's checkpoints took ${ckpt} s of ${wall} s ($share%, at most 5%)" \
  || not_ok "rank 0's checkpoints took ${ckpt} s of ${wall} s ($share%, more than 5%)"
[ "$done" -eq 10000 ] && [ "$bytes" -lt 2000000 ] \
  && ok "all 10000 items in a file of $bytes bytes (no dead space from rewrites)" \
  || not_ok "all 10000 items in a file of $bytes bytes (done: $done)"

# Ten kill -9 at random moments of a run in progress, each followed by --resume: a kill comes once
# the run has saved its first file, at a random moment within the first 20% of the sweep time
# still to do (estimated from the uninterrupted run), so every kill lands mid-run and later kills
# meet files saved by earlier runs.
wait_save() {   # wait_save FILE PID: until FILE is replaced (or created), or process PID ended
  local prev ino
  prev=$(stat -c %i "$1" 2>/dev/null)
  while kill -0 "$2" 2>/dev/null; do
    ino=$(stat -c %i "$1" 2>/dev/null)
    [ -n "$ino" ] && [ "$ino" != "$prev" ] && return 0
    sleep 0.02
  done
}
pattern="^$NNSWEEP nngp --quiet $TMP/many.ini --out $TMP/k.h5"
RANDOM=$$
wall_ms=$(/usr/bin/python3 -c "print(int(1000 * $wall))")
last=0 lost=0 finished=0 moments=""
for k in $(seq 10); do
  mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/many.ini" --out "$TMP/k.h5" --resume >"$TMP/k.log" 2>&1 &
  mpid=$!
  wait_save "$TMP/k.h5" $mpid
  left_ms=$((wall_ms * (10000 - last) / 10000))
  ms=$((RANDOM % (left_ms / 5 + 1)))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  kill -0 $mpid 2>/dev/null || finished=$((finished + 1))
  pkill -KILL -f "$pattern"
  kill -KILL $mpid 2>/dev/null
  wait $mpid 2>/dev/null
  now=$(attrs "$TMP/k.h5" | cut -d' ' -f3)
  [ "$now" -lt "$last" ] && lost=1
  moments="$moments +${ms}ms:$now"
  last=$now
done
[ "$finished" -eq 0 ] && ok "ten kill -9 all landed in a running sweep" \
  || not_ok "ten kill -9 all landed in a running sweep ($finished runs had finished)"
[ "$lost" -eq 0 ] && ok "ten kill -9 (after the first save:items saved)$moments: no saved item lost" \
  || not_ok "ten kill -9 (after the first save:items saved)$moments: a saved item was lost"
check "--resume after the last kill completes" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/many.ini" --out "$TMP/k.h5" --resume
check "... with a file identical to the uninterrupted run's" -- $H5CMP --all "$TMP/ref.h5" "$TMP/k.h5"
