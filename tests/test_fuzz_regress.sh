#!/usr/bin/env bash
# test_fuzz_regress.sh - replays through each fuzz harness (tests/fuzz/fuzz_NAME.c, linked with
# tests/fuzz/replay.c into $BUILD/fuzz/replay_NAME, BUILD being the folder of the nnsweep under
# test: build/ or, with make SANITIZE=1 test, build-san/) every input kept in
# tests/fuzz/regress/NAME (inputs that once crashed, hung or tripped a sanitizer, fixed since)
# and its seed corpus tests/fuzz/corpus/NAME. One "ok" line per input; a replay that dies names
# the input at fault.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
bindir=$(dirname "$NNSWEEP")/fuzz
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  name=${name#fuzz_}
  replay=$bindir/replay_$name
  if [ ! -x "$replay" ]; then
    not_ok "$name: no replay program $replay (make test builds it)"
    continue
  fi
  for kind in regress corpus; do
    dir=tests/fuzz/$kind/$name
    [ -d "$dir" ] || continue
    mapfile -t inputs < <(find "$dir" -type f ! -name README.md | sort)
    [ ${#inputs[@]} -gt 0 ] || continue
    # one process for the directory; it prints "ok - replay_NAME: FILE" after each input
    timeout 600 "$replay" "${inputs[@]}" >"$TMP/replay" 2>&1
    status=$?
    done_count=$(grep -c '^ok - ' "$TMP/replay")
    sed -n "s|^ok - replay_$name: |ok - fuzz $name $kind: |p" "$TMP/replay"
    if [ "$status" -ne 0 ] || [ "$done_count" -ne ${#inputs[@]} ]; then
      not_ok "fuzz $name $kind: ${inputs[$done_count]:-?} (replay exit $status)"
      grep -v '^ok - ' "$TMP/replay" | head -40 | sed 's/^/#   /'
    fi
  done
done
