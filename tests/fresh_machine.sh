#!/usr/bin/env bash
# fresh_machine.sh - the README's Quick start on a fresh Debian 12 system: `make demo` as the very
# first command, then `make test`, in a minimal Debian 12 (bookworm) root built with debootstrap
# and entered with chroot, as root, with a clean environment. Run by .ci/run (not by `make test`:
# the name does not start with test_). Needs root and network access to the Debian mirror.
#
# What is tested is the COMMIT under test: HEAD of the repository this script lives in, cloned
# with git. Uncommitted changes in the working tree are NOT part of it (commit them first).
#
# Steps (each prints its seconds):
#  1. debootstrap on the host (apt-get install if missing).
#  2. The base root: `debootstrap --variant=minbase bookworm` from the mirror named in the host's
#     /etc/apt/sources.list.d/debian.sources (read now, never written into the repository), mode
#     755, with the host's debian.sources (no sources.list), resolv.conf, hosts (so the host name
#     resolves, as on an installed machine; slurmctld needs it) and a policy-rc.d that
#     says `exit 101` (apt starts no services, as on the machines this runs on); inside it only
#     `apt-get install --no-install-recommends make gcc git ca-certificates` (a developer's bare
#     machine). A tarball of it is kept in $NNSWEEP_FRESH_CACHE (default $XDG_CACHE_HOME/
#     nnsweep-fresh, else /var/cache/nnsweep-fresh) and reused for 7 days
#     ($NNSWEEP_FRESH_MAX_AGE_DAYS) while the sources file is unchanged; NNSWEEP_FRESH_CACHE=none
#     neither reads nor writes one. A new machine builds it once (about 1.5 min).
#  3. proc, /dev, /dev/pts, /dev/shm and sys mounted inside it, and the host's cgroup file systems
#     on sys/fs/cgroup (a booted machine has them there; slurmd does not start without them).
#     An EXIT trap (also on failure, Ctrl-C and SIGTERM) stops any process still running inside
#     the root (by pid), unmounts everything below the root in reverse order and deletes the
#     root; it never deletes while something is still mounted there.
#  4. `git clone` of HEAD into /root/nnsweep in the root.
#  5. `make demo` inside (env -i HOME PATH TERM, plus OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE when
#     the host sets them: this machine's environment sets them on purpose, see README, OpenBLAS
#     kernels): it must succeed and print the per-depth table.
#  6. `make test` inside: it must succeed and end with "N passed, 0 failed".
# For 5 and 6 the summary gives the wall time and the Debian packages installed (what deps.sh
# asked for, and the count of all newly installed packages; the full lists are in the log
# directory). Logs: $NNSWEEP_FRESH_LOGS (default build/fresh-machine/ of this checkout).
# Ends with "N passed, N failed" for its own two checks; exit status 0 only if both passed.
#
# Skips: none. Every test runs inside the root as on a real fresh machine, the SLURM tests
# included (they start their own munged, slurmctld and slurmd; no systemd needed).
# shellcheck disable=SC2317  # the cleanup functions run from traps
set -uo pipefail
t_start=$EPOCHREALTIME
here=$(cd "$(dirname "$0")/.." && pwd)
suite=bookworm
base_pkgs="make gcc git ca-certificates"
log_dir=${NNSWEEP_FRESH_LOGS:-$here/build/fresh-machine}
root=""
passed=0 failed=0
summary=()

say() { echo "fresh_machine: $*"; }
die() { say "FAILED: $*"; exit 1; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
step_begin() { step_name=$1; step_t=$EPOCHREALTIME; say "[$step_name] ..."; }
step_end() {
  local s
  s=$(since "$step_t")
  say "[$step_name] done in $s s${1:+ ($1)}"
  summary+=("$(printf '%-22s %7s s%s' "$step_name" "$s" "${1:+  $1}")")
}

# --- cleanup: processes, mounts, the root ------------------------------------------------------
# Mount points at or below the root, innermost (last mounted) first.
root_mounts() {
  [ -n "$root" ] || return 0
  awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | tac
}
# Pids of processes whose root directory is the chroot (only this run starts any there).
root_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
}
stop_root_processes() {
  local pids
  for _ in 1 2 3; do
    pids=$(root_pids | tr '\n' ' ')
    [ -n "${pids// /}" ] || return 0
    say "stopping processes left inside the root: $pids"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    for _ in $(seq 1 50); do
      [ -z "$(root_pids)" ] && return 0
      sleep 0.1
    done
    pids=$(root_pids | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -n "${pids// /}" ] && kill -KILL $pids 2>/dev/null
    sleep 0.5
  done
}
unmount_all() {
  local m
  for m in $(root_mounts); do
    umount "$m" 2>/dev/null || { sleep 1; umount "$m" 2>/dev/null; } || umount -l "$m" ||
      say "cannot unmount $m"
  done
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$root" ] && [ -d "$root" ]; then
    stop_root_processes
    unmount_all
    if [ -n "$(root_mounts)" ]; then
      say "still mounted below $root, not deleting it: $(root_mounts | tr '\n' ' ')"
      status=1
    else
      rm -rf --one-file-system "$root"
    fi
  fi
  [ -n "${cache_tmp:-}" ] && rm -f "$cache_tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# The binds are made slaves, so nothing mounted or unmounted below the root reaches the host's
# mounts. A booted machine has its cgroup file system(s) on /sys/fs/cgroup, which a new sysfs
# lacks (slurmd refuses to start without them): the host's are bound there.
mount_all() {
  mount -t proc proc "$root/proc" &&
    mount --bind /dev "$root/dev" && mount --make-slave "$root/dev" &&
    mount --bind /dev/pts "$root/dev/pts" && mount --make-slave "$root/dev/pts" &&
    mount --bind /dev/shm "$root/dev/shm" && mount --make-slave "$root/dev/shm" &&
    mount -t sysfs sys "$root/sys" || return 1
  if mountpoint -q /sys/fs/cgroup; then
    mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup" && mount --make-rslave "$root/sys/fs/cgroup"
  fi
}

# Runs a command line inside the root with a clean environment, as a fresh machine's root shell.
envv=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
      "TERM=${TERM:-dumb}")
[ -n "${OPENBLAS_CORETYPE:-}" ] && envv+=("OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE")
[ -n "${OPENBLAS_L2_SIZE:-}" ] && envv+=("OPENBLAS_L2_SIZE=$OPENBLAS_L2_SIZE")
in_root() { chroot "$root" /usr/bin/env -i "${envv[@]}" /bin/bash -c "$1"; }
installed_pkgs() {
  in_root "dpkg-query -W -f='\${db:Status-Status} \${Package}\n'" |
    awk '$1 == "installed" { print $2 }' | sort
}

# run_logged NAME LOG TIMEOUT COMMAND: runs COMMAND inside the root (under `timeout`, in the
# background so that a signal to this script is handled at once), output to LOG and, without
# compiler lines, to the terminal. Returns the command's exit status.
run_logged() {
  local log=$2 limit=$3 cmd=$4 pid
  (
    timeout "$limit" chroot "$root" /usr/bin/env -i "${envv[@]}" /bin/bash -c "$cmd" 2>&1 |
      tee "$log" | grep --line-buffered -vE '^(mpicc|gcc|cc|ar) ' | sed -u 's/^/  | /'
    exit "${PIPESTATUS[0]}"
  ) &
  pid=$!
  wait "$pid"
}

main() {
# --- where we are ------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount, chroot)"
head=$(git -C "$here" rev-parse HEAD) || die "$here is not a git repository"
mkdir -p "$log_dir" || die "cannot create $log_dir"
say "commit under test: $(git -C "$here" log -1 --format='%h %s' "$head" | cut -c1-100)"
git -C "$here" diff --quiet HEAD 2>/dev/null ||
  say "note: the working tree has uncommitted changes; they are not tested (only the commit is)"
say "logs in $log_dir; $(nproc) cores"
sources=/etc/apt/sources.list.d/debian.sources
[ -r "$sources" ] || die "no $sources on this host (needs a Debian 12 host with deb822 sources)"
# The URIs of the first stanza whose Suites include the release itself (not -security/-updates).
mirror=$(awk -v s="$suite" '
  /^[[:space:]]*$/ { if (u != "" && ok) { print u; exit } u = ""; ok = 0; next }
  tolower($1) == "uris:" { u = $2 }
  tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
  END { if (u != "" && ok) print u }' "$sources" | head -n 1)
[ -n "$mirror" ] || die "no URIs line for suite $suite in $sources"

# --- 1. debootstrap on the host ---------------------------------------------------------------
step_begin "host debootstrap"
if ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y debootstrap || { apt-get update && apt-get install -y debootstrap; }; } \
    >"$log_dir/host-apt.log" 2>&1 ||
    die "apt-get install debootstrap failed, see $log_dir/host-apt.log"
  step_end "installed"
else
  step_end "present"
fi

# --- 2, 3. the base root, mounted ----------------------------------------------------------
step_begin "base root"
root=$(mktemp -d /var/tmp/nnsweep-fresh-root-XXXXXX) || die "mktemp failed"
chmod 755 "$root"   # mktemp's 0700 breaks every package script that switches to a system user
cache=${NNSWEEP_FRESH_CACHE:-${XDG_CACHE_HOME:+$XDG_CACHE_HOME/nnsweep-fresh}}
cache=${cache:-/var/cache/nnsweep-fresh}
key=$( { echo "$suite minbase $base_pkgs --no-install-recommends v1"; cat "$sources"; } |
       sha256sum | cut -c1-16)
if command -v zstd >/dev/null; then zflag=--zstd ext=zst; else zflag=--gzip ext=gz; fi
tarball=""
if [ "$cache" != none ]; then
  tarball=$(find "$cache" -maxdepth 1 -name "base-$suite-$key.tar.*" \
              -mtime -"${NNSWEEP_FRESH_MAX_AGE_DAYS:-7}" 2>/dev/null | head -n 1)
fi
copy_host_files() {
  rm -f "$root/etc/apt/sources.list"
  cp "$sources" "$root/etc/apt/sources.list.d/debian.sources" &&
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" &&
    cp -L /etc/hosts "$root/etc/hosts" &&
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d" &&
    chmod 755 "$root/usr/sbin/policy-rc.d"
}
if [ -n "$tarball" ] && tar -C "$root" --numeric-owner -xpf "$tarball" 2>"$log_dir/base.log"; then
  copy_host_files || die "cannot copy the host's files into the root"
  mount_all || die "mounting proc/dev/sys in the root failed"
  step_end "from cache $tarball"
else
  [ -n "$tarball" ] && say "cache $tarball unreadable, building the base again"
  say "debootstrap --variant=minbase $suite from $mirror"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log_dir/base.log" 2>&1 ||
    { tail -20 "$log_dir/base.log"; die "debootstrap failed, see $log_dir/base.log"; }
  copy_host_files || die "cannot copy the host's files into the root"
  mount_all || die "mounting proc/dev/sys in the root failed"
  in_root "export DEBIAN_FRONTEND=noninteractive; apt-get update &&
           apt-get install -y --no-install-recommends $base_pkgs && apt-get clean" \
    >>"$log_dir/base.log" 2>&1 ||
    { tail -20 "$log_dir/base.log"; die "installing $base_pkgs failed, see $log_dir/base.log"; }
  how="debootstrap + $base_pkgs"
  if [ "$cache" != none ] && mkdir -p "$cache"; then
    cache_tmp=$(mktemp "$cache/.base-XXXXXX")
    # --one-file-system leaves out the mounted proc, dev and sys.
    if tar -C "$root" --one-file-system --numeric-owner $zflag -cpf "$cache_tmp" . \
         2>>"$log_dir/base.log" &&
       mv "$cache_tmp" "$cache/base-$suite-$key.tar.$ext"; then
      find "$cache" -maxdepth 1 -name "base-$suite-*.tar.*" ! -name "base-$suite-$key.tar.$ext" \
        -delete
      how="$how, cached as $cache/base-$suite-$key.tar.$ext"
    else
      say "could not write the cache tarball (going on without it)"
    fi
    rm -f "$cache_tmp"
    cache_tmp=""
  fi
  step_end "$how"
fi

# --- 4. the commit under test ------------------------------------------------------------------
step_begin "git clone"
if ! git clone --quiet --no-local --no-checkout "$here" "$root/root/nnsweep" \
       >"$log_dir/clone.log" 2>&1 ||
   ! git -C "$root/root/nnsweep" checkout --quiet -B main "$head" >>"$log_dir/clone.log" 2>&1; then
  cat "$log_dir/clone.log"
  die "git clone of $head failed"
fi
step_end "$(git -C "$root/root/nnsweep" rev-parse --short=12 HEAD)"

# --- 5, 6. the README's two commands -------------------------------------------------------------
# run_make NAME TIMEOUT: runs `make NAME` inside the root; records time and packages.
installed_line() { grep -m1 '^nnsweep: installing ' "$1" | sed 's/^nnsweep: installing //'; }
run_make() {
  local name=$1 limit=$2 log="$log_dir/make-$1.log" st new asked
  installed_pkgs > "$log_dir/pkgs-before-$name.txt"
  step_begin "make $name"
  run_logged "$name" "$log" "$limit" "cd /root/nnsweep && make $name"
  st=$?
  step_end "exit status $st"
  installed_pkgs > "$log_dir/pkgs-after-$name.txt"
  comm -13 "$log_dir/pkgs-before-$name.txt" "$log_dir/pkgs-after-$name.txt" \
    > "$log_dir/pkgs-new-$name.txt"
  new=$(wc -l < "$log_dir/pkgs-new-$name.txt")
  asked=$(installed_line "$log")
  summary+=("    installed: ${asked:-nothing asked by scripts/deps.sh}")
  summary+=("    $new packages new in the root in all (list: $log_dir/pkgs-new-$name.txt)")
  return "$st"
}

# The per-depth table of `make demo`: after "Best model per depth", a header naming depth,
# sigma_w2 and test_acc and one row for each depth 1..10 of jobs/nngp-fashion-binary.ini.
demo_table_ok() {   # (stderr lines such as "results written to ..." may be interleaved)
  awk '/Best model per depth/ { t = 1; next }
       t && !h && /depth/ && /sigma_w2/ && /test_acc/ { h = 1; next }
       h { n = split($0, f, " ")
           if (n > 1 && f[1] ~ /^[0-9]+$/) { got[f[1] + 0] = 1; rows++ }
           else if (n == 0 && rows > 0) exit }
       END { for (i = 1; i <= 10; i++) if (!got[i]) exit 1; exit 0 }' "$1"
}

if run_make demo 1200 && grep -q 'Best model per depth' "$log_dir/make-demo.log" &&
   demo_table_ok "$log_dir/make-demo.log"; then
  passed=$((passed + 1)); summary+=("PASS make demo: succeeded and printed the per-depth table")
  say "PASS make demo"
else
  failed=$((failed + 1)); summary+=("FAIL make demo: see $log_dir/make-demo.log")
  say "FAIL make demo (no success or no per-depth table for depths 1..10); tail of the log:"
  tail -30 "$log_dir/make-demo.log" | sed 's/^/  # /'
fi

run_make test 1800
st=$?
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log_dir/make-test.log" | tail -n 1)
if [ "$st" -eq 0 ] && [ "$(tail -n 1 "$log_dir/make-test.log")" = "$last" ] &&
   [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
  passed=$((passed + 1)); summary+=("PASS make test: $last")
  say "PASS make test: $last"
else
  failed=$((failed + 1)); summary+=("FAIL make test: exit status $st, ${last:-no summary line}")
  say "FAIL make test: exit status $st, ${last:-no summary line}"
  grep -E '^(FAIL|not ok) ' "$log_dir/make-test.log" | sed 's/^/  # /'
  # The failing tests' own logs are inside the root, which is deleted: keep a copy.
  cp -r "$root/root/nnsweep/build/tests/test-logs" "$log_dir/" 2>/dev/null &&
    say "test logs copied to $log_dir/test-logs"
fi

echo
echo "== fresh Debian 12 root: summary (commit ${head:0:12})"
printf '  %s\n' "${summary[@]}"
echo "  skipped                none (every test ran inside the root)"
echo "  total                  $(since "$t_start") s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
}
# Everything runs from main, read whole before it starts: editing this file meanwhile is harmless.
main "$@"; exit $?
