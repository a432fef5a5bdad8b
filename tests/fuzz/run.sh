#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS NAME... - what `make fuzz` runs after building build-fuzz/: each
# harness build-fuzz/fuzz/fuzz_NAME for SECONDS seconds, one at a time under nice -n 19, on
# build-fuzz/corpus/NAME (kept between runs: new inputs go there) with tests/fuzz/corpus/NAME
# and tests/fuzz/regress/NAME as read-only seeds and tests/fuzz/NAME.dict if present. Prints per
# harness the executions and the CPU seconds; fails (exit 1) on any crash, hang (-timeout: 10 s,
# 30 s for results), out-of-memory or sanitizer report, naming the harness and the input
# libFuzzer saved in build-fuzz/crashes/NAME/. FUZZ_ARGS adds libFuzzer options (e.g.
# FUZZ_ARGS=-jobs=...).
set -u
cd "$(dirname "$0")/../.."
secs=${1:?usage: tests/fuzz/run.sh SECONDS NAME...}
shift
top=build-fuzz
# The runtimes' one-time allocations (Open MPI, HDF5) are not nnsweep's leaks; UBSan stops at
# the first report (-fno-sanitize-recover) and prints where.
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# A 16 MB quarantine (not 256) keeps the freed memory warm: 2-5x the executions per second,
# and use-after-free is still caught within the last 16 MB freed.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# the harnesses' scratch files (tests/fuzz/common.c) in one place, removed at the end even when
# a fuzzer died without cleaning up
scratch=$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/nnsweep-fuzz-run.$$
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
export NNSWEEP_FUZZ_DIR=$scratch
failed=()
printf '%-8s %12s %10s %8s %s\n' harness executions exec/s cpu_s result
for name in "$@"; do
  bin=$top/fuzz/fuzz_$name
  work=$top/corpus/$name crashes=$top/crashes/$name log=$top/logs/$name.log
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  seeds=()
  for d in tests/fuzz/corpus/$name tests/fuzz/regress/$name; do [ -d "$d" ] && seeds+=("$d"); done
  opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$crashes/")
  [ -f "tests/fuzz/$name.dict" ] && opts+=(-dict="tests/fuzz/$name.dict")
  asan=$ASAN_OPTIONS malloc_limit=1024   # MB: a larger single allocation is a finding
  if [ "$name" = results ]; then
    # libhdf5 sizes its buffers from the (damaged) file and handles a failed malloc: let huge
    # requests fail instead of stopping the run (nnsweep's code checks every allocation too).
    # Requests above the RSS limit (2 GB) fail at once: ASan poisons a large block's shadow
    # when it maps and frees it, so one 2-8 GB block that libhdf5 asked for a damaged object
    # header took 14 s here (0.1 s without ASan, where it is mapped lazily and barely
    # touched), a timeout in CI's run beside the fresh-machine test
    # (tests/fuzz/regress/results/asan-huge-header-allocation.h5). The RSS limit still
    # catches memory actually used.
    malloc_limit=1048576
    asan="$asan:allocator_may_return_null=1:max_allocation_size_mb=2048"
    # libhdf5's own memory errors decoding a damaged object header (tests/fuzz/asan.supp)
    asan="$asan:suppressions=$PWD/tests/fuzz/asan.supp"
    # An input takes 0.1-0.5 s here; CI runs this beside the fresh-machine test, whose load has
    # slowed it to one input a second: 30 s, not 10, before an input counts as a hang.
    opts+=(-timeout=30)
    # inputs libhdf5 alone does not survive or is slow on (fuzz_results.c: libhdf5_survives),
    # for the record
    export NNSWEEP_FUZZ_LIBHDF5_DIR=$PWD/$top/libhdf5/$name
    rm -rf "$NNSWEEP_FUZZ_LIBHDF5_DIR"
    mkdir -p "$NNSWEEP_FUZZ_LIBHDF5_DIR"
  fi
  opts+=(-malloc_limit_mb=$malloc_limit)
  # bash's `time` of the whole run: user and system seconds of the fuzzer process
  TIMEFORMAT='cpu %U %S'
  { time ASAN_OPTIONS=$asan nice -n 19 "$bin" "${opts[@]}" ${FUZZ_ARGS:-} "$work" "${seeds[@]}" >"$log" 2>&1; } 2>"$log.time"
  rc=$?
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  rate=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  cpu=$(awk '/^cpu/ {printf "%.0f", $2 + $3}' "$log.time")
  if [ "$rc" -ne 0 ] || grep -qE '^==[0-9]+==ERROR|^SUMMARY: |runtime error:|fuzz contract:|Test unit written to|ALARM: working on the last Unit|out-of-memory' "$log" \
     || ! grep -q 'Done [0-9]* runs in' "$log"; then
    result="FAILED"
    failed+=("$name")
  else
    result=ok
  fi
  printf '%-8s %12s %10s %8s %s\n' "$name" "${execs:-?}" "${rate:-?}" "${cpu:-?}" "$result"
  if [ "$name" = results ]; then
    echo "#   inputs skipped because libhdf5 alone crashed, hung or took over 1 s of CPU on them: $(ls "$NNSWEEP_FUZZ_LIBHDF5_DIR" | wc -l) kept (at most 100) in $NNSWEEP_FUZZ_LIBHDF5_DIR"
    unset NNSWEEP_FUZZ_LIBHDF5_DIR
  fi
  if [ "$result" != ok ]; then
    grep -E 'ERROR:|SUMMARY:|runtime error:|fuzz contract:|ALARM|out-of-memory|#[0-9]+ 0x' "$log" | head -25 | sed 's/^/#   /'
    grep -Eo 'Test unit written to .*' "$log" | sed "s/^/#   $name: /"
    echo "#   full log: $log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "make fuzz: FAILED: ${failed[*]} (crashing inputs in $top/crashes/NAME/; copy each to tests/fuzz/regress/NAME/ once fixed)"
  exit 1
fi
echo "make fuzz: every harness ran ${secs} s without a crash, hang or sanitizer report"
