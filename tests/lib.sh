# lib.sh - helpers for the shell tests: each check prints "ok - ..." or "not ok - ..." (with the
# command's output as "#" lines), which tests/run.sh counts. Sourced, not run.
set -u
NNSWEEP=${NNSWEEP_BIN:-build/nnsweep}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nnsweep-shtest-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }

# show_output FILE: a failed check's output as "#" lines: all of it, or its first 10 and last 15
# lines (where a late error, such as a sanitizer's report at exit, shows).
show_output() {
  local n
  n=$(wc -l <"$1")
  if [ "$n" -le 30 ]; then
    sed 's/^/#   /' "$1"
  else
    sed -n '1,10s/^/#   /p' "$1"
    echo "#   ... ($((n - 25)) lines)"
    tail -15 "$1" | sed 's/^/#   /'
  fi
}

# expect STATUS REGEX DESCRIPTION -- COMMAND...: the command exits with STATUS and its combined
# output matches the extended regular expression REGEX.
expect() {
  local want=$1 pattern=$2 desc=$3
  shift 4
  "$@" >"$TMP/out" 2>&1
  local got=$?
  if [ "$got" -eq "$want" ] && grep -qE -- "$pattern" "$TMP/out"; then
    ok "$desc"
  else
    not_ok "$desc (exit $got, wanted $want and /$pattern/)"
    show_output "$TMP/out"
  fi
}

# check DESCRIPTION -- COMMAND...: the command succeeds.
check() {
  local desc=$1
  shift 2
  if "$@" >"$TMP/out" 2>&1; then ok "$desc"; else not_ok "$desc"; show_output "$TMP/out"; fi
}
