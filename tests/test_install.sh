# test_install.sh - `make install` and `make uninstall`: a DESTDIR-staged install puts every file
# under DESTDIR with the PREFIX paths inside; an install into a temporary prefix runs from another
# directory (the program on installed jobs: plan on each, one real NNGP sweep; the installed slurm
# scripts find the installed common.sh and program without SLURM_SUBMIT_DIR pointing at the
# repository); the man page renders without warnings and names every command and option of the
# program's --help. Installs the binary under test (INSTALL_BIN), so the build is never touched.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
NNSWEEP=$(readlink -f "$NNSWEEP")
REPO=$PWD
# A make of its own: not the jobserver or flags of a `make test` that runs this script.
install_make() {
  env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
    make --no-print-directory -C "$REPO" INSTALL_BIN="$NNSWEEP" "$@"
}

# no_output COMMAND...: the command succeeds and prints nothing on stderr (stdout is dropped).
no_output() {
  local err
  err=$("$@" 2>&1 >/dev/null) || { echo "$err"; return 1; }
  [ -z "$err" ] || { echo "$err"; return 1; }
}
# no_files DIR: nothing but directories is left under DIR.
no_files() { no_output sh -c 'find "$1" -not -type d | grep . >&2; true' sh "$1"; }

# has_files ROOT: every file make install should put under ROOT (bin, man page, jobs, slurm).
has_files() {
  local root=$1 f missing=""
  [ -x "$root/bin/nnsweep" ] || missing+=" bin/nnsweep"
  [ -f "$root/share/man/man1/nnsweep.1" ] || missing+=" share/man/man1/nnsweep.1"
  for f in jobs/*.ini slurm/*.sh slurm/*.sbatch; do
    [ -f "$root/share/nnsweep/$f" ] || missing+=" share/nnsweep/$f"
  done
  [ -z "$missing" ] || { echo "missing:$missing"; return 1; }
}

# 1. Staged (packager) install: files under DESTDIR, paths inside them without DESTDIR.
stage=$TMP/stage
check "make install DESTDIR=... PREFIX=/opt/nnsweep succeeds" -- \
  install_make install DESTDIR="$stage" PREFIX=/opt/nnsweep
check "staged install has the program, man page, jobs and slurm scripts" -- \
  has_files "$stage/opt/nnsweep"
check "staged program is the binary under test" -- cmp "$NNSWEEP" "$stage/opt/nnsweep/bin/nnsweep"
staged_paths() {   # the installed scripts name /opt/nnsweep, never the staging dir or the repo
  local s=$stage/opt/nnsweep/share/nnsweep/slurm
  grep -q "common=/opt/nnsweep/share/nnsweep/slurm/common.sh" "$s/nngp.sbatch" &&
    grep -q 'NNSWEEP_BIN:-/opt/nnsweep/bin/nnsweep}' "$s/common.sh" &&
    ! grep -rn -e "$stage" -e 'SLURM_SUBMIT_DIR:-.}/' -e ':-jobs/' \
      "$s" "$stage/opt/nnsweep/share/man"
}
check "staged slurm scripts name the PREFIX paths, not DESTDIR or the repository" -- staged_paths
check "make uninstall DESTDIR=... removes every file" -- \
  install_make uninstall DESTDIR="$stage" PREFIX=/opt/nnsweep
check "nothing but empty directories left after uninstall" -- no_files "$stage"

# 2. Install into a prefix and run from elsewhere.
prefix=$TMP/prefix
jobs=$prefix/share/nnsweep/jobs
check "make install PREFIX=<temp dir> succeeds" -- install_make install PREFIX="$prefix"
check "installed files are all there" -- has_files "$prefix"
same_version() { [ "$("$prefix/bin/nnsweep" --version)" = "$($NNSWEEP --version)" ]; }
check "installed --version is the build's ($($NNSWEEP --version))" -- same_version

mkdir -p "$TMP/work" && cd "$TMP/work" || exit 1
plan_all() {   # every installed job plans (512 ranks of 10G fit all of them)
  local j
  for j in "$jobs"/*.ini; do
    "$prefix/bin/nnsweep" plan "$j" --ranks 512 --threads 1 --mem-per-rank 10G ||
      { echo "plan $j failed"; return 1; }
  done
}
check "installed plan runs on every installed job from another directory" -- plan_all
expect 0 "results written to results/nngp-fashion-binary.h5" \
  "installed nngp runs an installed job from another directory (mpirun -np 1)" -- \
  mpirun -np 1 "$prefix/bin/nnsweep" nngp "$jobs/nngp-fashion-binary.ini"
complete_file() {   # FILE JOB: state complete, every item done, the installed job file recorded
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    done = f["/nngp/item_done"][()]
    print(f.attrs["state"], int(done.sum()), done.size, f.attrs["job_file"])
    ok = (f.attrs["state"] == "complete" and done.all() and f.attrs["job_file"] == sys.argv[2]
          and (f["/nngp/status"][()] == 1).all())
sys.exit(0 if ok else 1)
PY
}
check "its results file (relative to the working directory) is complete" -- \
  complete_file "$TMP/work/results/nngp-fashion-binary.h5" "$jobs/nngp-fashion-binary.ini"

# 3. The installed slurm scripts, run by bash as SLURM would (its spool copy, SLURM_SUBMIT_DIR the
# submit directory, here not the repository), find the installed common.sh and program. A job
# file that does not exist is reported only after the program was found.
slurm=$prefix/share/nnsweep/slurm
mkdir -p "$TMP/submit" && cd "$TMP/submit" || exit 1
for s in nngp cnn nngp-scalapack; do
  cp "$slurm/$s.sbatch" "$TMP/spool-$s.sbatch"
  expect 2 "cannot read job file /no/such.ini" \
    "installed $s.sbatch finds common.sh and the program" -- \
    env -u NNSWEEP_BIN SLURM_SUBMIT_DIR="$TMP/submit" bash "$TMP/spool-$s.sbatch" /no/such.ini
  default=$(grep -o '"${1:-[^}]*}"' "$slurm/$s.sbatch" | sed 's/^"${1:-//; s/}"$//')
  check "installed $s.sbatch's default job is an installed file ($(basename "$default"))" -- \
    test -r "$default"
done
expect 0 "nngp job complete" "installed nngp.sbatch runs an installed job (mpirun launcher)" -- \
  env -u NNSWEEP_BIN SLURM_SUBMIT_DIR="$TMP/submit" NNSWEEP_LAUNCHER=mpirun SLURM_NTASKS=1 \
  bash "$TMP/spool-nngp.sbatch" "$jobs/bench-nngp.ini"
if grep -q "mpirun .* $prefix/bin/nnsweep nngp" "$TMP/out"; then ok "it ran the installed program"
else not_ok "it ran the installed program (no '$prefix/bin/nnsweep nngp' in its log)"; fi
check "its results file is complete" -- \
  complete_file "$TMP/submit/results/bench-nngp.h5" "$jobs/bench-nngp.ini"
cd "$REPO" || exit 1

# 4. The man page: no groff warnings, found through MANPATH, version and every command and option.
man1=$prefix/share/man/man1/nnsweep.1
check "man page renders without warnings (groff -man -ww)" -- no_output groff -man -ww -z "$man1"
check "man page renders without warnings (man --warnings)" -- \
  no_output env MANWIDTH=80 man --warnings -l "$man1"
LC_ALL=C MANWIDTH=80 MANPATH="$prefix/share/man" man nnsweep 2>/dev/null | col -bx > "$TMP/man.txt"
expect 0 "^ +nnsweep +- +NNGP sweeps" "man nnsweep finds the installed page" -- cat "$TMP/man.txt"
version=$($NNSWEEP --version | awk '{print $2}')
expect 0 "^nnsweep $version .*NNSWEEP\(1\)" "man page footer has the program's version ($version)" \
  -- tail -1 "$TMP/man.txt"
expect 0 "$slurm/nngp.sbatch" "installed man page names the installed paths" -- cat "$TMP/man.txt"
man_covers_help() {   # every command of --help, and every option of each command's --help
  local cmd opt missing=""
  for cmd in $($NNSWEEP --help | sed -n '/^commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p'); do
    grep -q "nnsweep $cmd" "$TMP/man.txt" || missing+=" $cmd"
    for opt in $($NNSWEEP "$cmd" --help | grep -o -- '--[a-z-]\+' | sort -u); do
      grep -q -- "$opt" "$TMP/man.txt" || missing+=" $cmd:$opt"
    done
  done
  for opt in --help --version; do grep -q -- "$opt" "$TMP/man.txt" || missing+=" $opt"; done
  [ -z "$missing" ] || { echo "not in the man page:$missing"; return 1; }
  [ "$cmd" ] || { echo "no commands found in --help"; return 1; }
}
check "man page names every command and option of --help" -- man_covers_help

# 5. Uninstall leaves nothing behind.
check "make uninstall PREFIX=<temp dir> succeeds" -- install_make uninstall PREFIX="$prefix"
check "nothing but empty directories left after uninstall" -- no_files "$prefix"
