#!/usr/bin/env bash
# Installs the Debian packages nnsweep needs that are missing. As root it runs apt-get;
# otherwise it prints the command to run. Set NNSWEEP_NO_DEPS=1 to skip (clusters with modules).
set -euo pipefail
[ "${NNSWEEP_NO_DEPS:-0}" = 1 ] && exit 0

build_pkgs="make gcc pkg-config libopenmpi-dev openmpi-bin libscalapack-openmpi-dev
  libhdf5-openmpi-dev hdf5-tools libopenblas-dev zlib1g-dev libinih-dev libcairo2-dev
  libcmocka-dev dataset-fashion-mnist fonts-dejavu-core"
# Tests compare against numpy and read files with h5py; SLURM tests start slurmctld/slurmd;
# benchmarks run PyTorch.
test_pkgs="python3-numpy python3-h5py slurm-wlm munge python3-torch"

missing=()
for p in $build_pkgs $test_pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "nnsweep: missing Debian packages; as root run:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "nnsweep: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet: update once, then install.
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/nnsweep-apt.log 2>&1; then
  apt-get update >>/tmp/nnsweep-apt.log 2>&1
  apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/nnsweep-apt.log 2>&1 \
    || { echo "nnsweep: apt-get failed, see /tmp/nnsweep-apt.log" >&2; tail -20 /tmp/nnsweep-apt.log >&2; exit 1; }
fi
