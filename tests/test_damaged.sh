#!/usr/bin/env bash
# test_damaged.sh - a damaged results file (cut short at several offsets, or with one byte flipped
# at several offsets): `report` and `--resume` exit 2 with a message saying what is wrong and
# leave the file exactly as it was; `--restart` moves it aside under a new name, says so, and
# starts over. The seal (h5io.h) is what sees a flipped data byte, which HDF5 would read as a
# valid number; a file without a seal still gets HDF5's own checks.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
H5CMP="/usr/bin/python3 tests/h5compare.py"

cat > "$TMP/job.ini" <<INI
[data]
dataset = fashion-mnist
classes = 0, 6
train = 200
test = 100
[nngp]
depth = 1:3
sigma_w2 = 1, 2, 3
sigma_b2 = 0, 0.5
INI
printf '[data]\ndataset = fashion-mnist\nclasses = 0, 1\ntrain = 64\ntest = 32\n[cnn]\nlayers = flatten dense(2)\nepochs = 1\n' > "$TMP/cnn.ini"

check "NNGP reference run" -- $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/ref.h5"
check "CNN reference run" -- $NNSWEEP cnn --quiet "$TMP/cnn.ini" --out "$TMP/cnn-ref.h5"
check "the results file opens in h5py, which skips the seal's user block" -- \
  /usr/bin/python3 -c "import h5py,sys; f = h5py.File(sys.argv[1]); assert f.userblock_size == 512 and 'nngp' in f" "$TMP/ref.h5"
size=$(stat -c %s "$TMP/ref.h5")

flip() {   # flip FILE OFFSET: xor one byte
  /usr/bin/python3 -c "import sys
f = open(sys.argv[1], 'r+b'); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x5a]))" "$1" "$2"
}

# damaged WHAT: report and --resume on $TMP/bad.h5 exit 2 saying WHAT, the file is untouched.
damaged() {
  cp "$TMP/bad.h5" "$TMP/bad.copy"
  expect 2 "bad.h5: $1" "$2: report exits 2 saying '$1'" -- $NNSWEEP report "$TMP/bad.h5"
  expect 2 "bad.h5: $1.*--restart moves it aside" "$2: --resume exits 2 saying '$1' and what to run" -- \
    $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/bad.h5" --resume
  cmp -s "$TMP/bad.h5" "$TMP/bad.copy" && [ ! -e "$TMP/bad.h5.lock" ] \
    && ok "$2: the file is left exactly as it was" || not_ok "$2: the file is left exactly as it was"
}

for cut in 0 100 512 4000 $((size / 2)) $((size - 1)); do
  cp "$TMP/ref.h5" "$TMP/bad.h5"
  truncate -s $cut "$TMP/bad.h5"
  if [ $cut -eq 0 ]; then   # nothing left, not even the seal: HDF5 finds no file
    damaged "not an HDF5 file" "cut to $cut bytes"
  else
    damaged "damaged: truncated, $cut of the $size bytes" "cut to $cut bytes"
  fi
done
for at in 600 2000 $((size / 3)) $((size / 2)) $((size - 1)); do
  cp "$TMP/ref.h5" "$TMP/bad.h5"
  flip "$TMP/bad.h5" $at
  damaged "damaged: its content does not match the CRC-32" "byte $at of $size flipped"
done
cp "$TMP/ref.h5" "$TMP/bad.h5"
printf 'x' >> "$TMP/bad.h5"
damaged "damaged: $((size + 1)) bytes where nnsweep wrote $size" "one byte appended"

# A file without a valid seal (as from older versions): HDF5's own checks still refuse it.
cp "$TMP/ref.h5" "$TMP/bad.h5"
truncate -s $((size / 2)) "$TMP/bad.h5"
flip "$TMP/bad.h5" 0
damaged "damaged or incomplete HDF5 file" "an unsealed file cut short"

# Edited on purpose: NNSWEEP_IGNORE_SEAL reads it anyway.
cp "$TMP/ref.h5" "$TMP/bad.h5"
flip "$TMP/bad.h5" $((size - 1))
expect 0 "state complete" "NNSWEEP_IGNORE_SEAL=1 reads a file whose seal no longer matches" -- \
  env NNSWEEP_IGNORE_SEAL=1 $NNSWEEP report "$TMP/bad.h5"

# CNN results: the same refusal.
cp "$TMP/cnn-ref.h5" "$TMP/cbad.h5"
flip "$TMP/cbad.h5" $(($(stat -c %s "$TMP/cnn-ref.h5") / 2))
cp "$TMP/cbad.h5" "$TMP/cbad.copy"
expect 2 "cbad.h5: damaged: its content does not match" "CNN: report refuses a damaged file" -- \
  $NNSWEEP report "$TMP/cbad.h5"
expect 2 "cbad.h5: damaged: .*--restart moves it aside" "CNN: --resume refuses it" -- \
  $NNSWEEP cnn --quiet "$TMP/cnn.ini" --out "$TMP/cbad.h5" --resume
check "CNN: the file is left exactly as it was" -- cmp "$TMP/cbad.h5" "$TMP/cbad.copy"

# --restart: moved aside, said so, started over.
cp "$TMP/ref.h5" "$TMP/bad.h5"
flip "$TMP/bad.h5" $((size / 2))
cp "$TMP/bad.h5" "$TMP/bad.copy"
expect 0 "--restart: the earlier .*bad.h5 is now .*bad.h5.old-[0-9]{8}T[0-9]{6}Z" \
  "--restart moves the damaged file aside and says so" -- \
  $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/bad.h5" --restart
moved=$(ls "$TMP"/bad.h5.old-* 2>/dev/null | head -1)
[ -n "$moved" ] && cmp -s "$moved" "$TMP/bad.copy" && ok "... the moved file is the damaged one, unchanged" \
  || not_ok "... the moved file is the damaged one, unchanged"
check "... and the new run equals the reference" -- $H5CMP --all "$TMP/ref.h5" "$TMP/bad.h5"
expect 2 "exclude each other" "--resume with --restart is refused" -- \
  $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/bad.h5" --resume --restart
expect 0 "" "--restart without an earlier file just runs" -- \
  $NNSWEEP nngp --quiet "$TMP/job.ini" --out "$TMP/fresh.h5" --restart
