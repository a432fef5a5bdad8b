#!/usr/bin/env bash
# Runs the test executables given as arguments, then every tests/test_*.sh script.
# An executable whose source contains the marker "nnsweep-test: mpi" runs under mpirun at 1, 2 and
# 4 ranks (4 oversubscribed); the others run once. cmocka summaries and the "ok"/"not ok" lines of
# the shell tests are counted; a run that crashes before its summary counts as one failure.
# NNSWEEP_TEST_SCRIPTS=0 skips the shell scripts. Ends with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export NNSWEEP_BIN="${NNSWEEP_BIN:-$PWD/build/nnsweep}"
if [ "${SANITIZE:-}" = 1 ]; then
  # Open MPI and HDF5 unload their plugins at finalize, which leaves LeakSanitizer with
  # unnamed frames; a preloaded no-op dlclose keeps them mapped so tests/lsan.supp can match
  # them, and full unwinding attributes allocations made inside libraries built without frame
  # pointers. Everything nnsweep itself allocates is still checked.
  shim="$(dirname "${1:-build-san/x}")/nodlclose.so"
  gcc -shared -fPIC -O2 -o "$shim" tests/nodlclose.c || exit 1
  export LD_PRELOAD="$PWD/$shim"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:verify_asan_link_order=0:fast_unwind_on_malloc=0"
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1"
fi
log_dir="$(dirname "${1:-build/x}")/test-logs"
mkdir -p "$log_dir"
passed=0 failed=0

count_cmocka() {   # $1 = log file, $2 = exit status, $3 = label
  local p f
  p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$1" | awk '{s+=$4} END {print s+0}')
  f=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$1" | awk '{s+=$4} END {print s+0}')
  if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$f" -eq 0 ]; then echo "PASS $3 ($p)"; else echo "FAIL $3 ($f failed, see $1)"; grep -E '^\[  (FAILED|ERROR)|error|Error' "$1" | head -20; fi
}

for exe in "$@"; do
  name=$(basename "$exe")
  if grep -q 'nnsweep-test: mpi' "tests/$name.c" 2>/dev/null; then
    for np in 1 2 4; do
      log="$log_dir/$name.np$np.log"
      timeout 600 mpirun -np "$np" "$exe" >"$log" 2>&1
      count_cmocka "$log" $? "$name -np $np"
    done
  else
    log="$log_dir/$name.log"
    timeout 600 "$exe" >"$log" 2>&1
    count_cmocka "$log" $? "$name"
  fi
done

for script in tests/test_*.sh; do
  [ -e "$script" ] || continue
  [ "${NNSWEEP_TEST_SCRIPTS:-1}" = 0 ] && break
  name=$(basename "$script" .sh)
  log="$log_dir/$name.log"
  start=$SECONDS
  timeout 1500 bash "$script" >"$log" 2>&1
  status=$?
  took=$((SECONDS - start))
  p=$(grep -c '^ok ' "$log") f=$(grep -c '^not ok ' "$log")
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$f" -eq 0 ]; then echo "PASS $name ($p, ${took} s)"; else echo "FAIL $name ($f failed, ${took} s, see $log)"; grep '^not ok\|^#' "$log" | head -30; fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
