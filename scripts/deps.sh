#!/usr/bin/env bash
# Installs the Debian packages that one use of nnsweep needs and that are missing:
#   scripts/deps.sh build   build and run (what `make` and `make demo` need)
#   scripts/deps.sh test    build + what the tests use (`make test`)
#   scripts/deps.sh bench   build + what the benchmarks compare against (`make bench`)
#   scripts/deps.sh fuzz    build + clang and its fuzzer runtime (`make fuzz`)
#   scripts/deps.sh all     everything (`make deps`, the default)
# As root it runs apt-get; otherwise it prints the exact command to run and exits 1.
# NNSWEEP_NO_DEPS=1 skips it (clusters with modules). `--list` prints the packages and exits.
set -euo pipefail
[ "${NNSWEEP_NO_DEPS:-0}" = 1 ] && exit 0

build_pkgs="make gcc pkg-config libopenmpi-dev openmpi-bin libscalapack-openmpi-dev
  libhdf5-openmpi-dev libopenblas-dev zlib1g-dev libinih-dev libcairo2-dev
  dataset-fashion-mnist fonts-dejavu-core"
# Unit tests (cmocka), references and file checks (numpy, h5py, xarray, h5dump), the SLURM tests
# (a private controller and node: slurm-wlm, munge; two nodes in network namespaces: iproute2),
# the install test (man), pkill in the signal tests (procps: not in a minimal Debian system),
# torchvision's VGG (with PyTorch) as the reference of the feature nets and the converter
# scripts/torchvision_to_nnsweep.py (tests/test_vgg.sh).
test_pkgs="libcmocka-dev python3-numpy python3-h5py python3-xarray python3-h5netcdf hdf5-tools
  slurm-wlm munge iproute2 man-db procps python3-torchvision"
# The benchmarks run the same work in PyTorch, do their arithmetic with bc and measure peak
# memory with GNU time (bench/nngp_floor.sh, nngp_budget.sh, nngp_scaling.sh).
bench_pkgs="python3-numpy python3-h5py python3-torch bc time"
# The fuzz harnesses: clang 14 (Debian 12's), libFuzzer and the sanitizer runtimes
# (libclang-rt-14-dev, only recommended by clang-14) and clang's OpenMP runtime (libomp-14-dev).
fuzz_pkgs="clang-14 libclang-rt-14-dev libomp-14-dev"

list=0
[ "${1:-}" = --list ] && { list=1; shift; }
case "${1:-all}" in
  build) want="$build_pkgs" ;;
  test) want="$build_pkgs $test_pkgs" ;;
  bench) want="$build_pkgs $bench_pkgs" ;;
  fuzz) want="$build_pkgs $fuzz_pkgs" ;;
  all) want="$build_pkgs $test_pkgs $bench_pkgs $fuzz_pkgs" ;;
  *) echo "usage: scripts/deps.sh [--list] [build|test|bench|fuzz|all]" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086  # word splitting of the lists is intended
want=$(printf '%s\n' $want | sort -u | tr '\n' ' ')
if [ "$list" = 1 ]; then echo "$want"; exit 0; fi

missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "nnsweep: missing Debian packages; as root run:" >&2
  echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "nnsweep: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=/tmp/nnsweep-apt.log
# A fresh machine has no package lists yet: update once, then install.
if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  apt-get update >>"$log" 2>&1
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
    || { echo "nnsweep: apt-get failed, see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi
