#!/usr/bin/env bash
# The README's first command: the default NNGP sweep on Fashion-MNIST on every core of this machine
# (one MPI rank per core), then the per-depth table.
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=${NNSWEEP_RANKS:-$(nproc)}
job=${1:-jobs/nngp-fashion-binary.ini}
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "nnsweep demo: mpirun -np $ranks build/nnsweep nngp $job"
exec mpirun -np "$ranks" --bind-to core build/nnsweep nngp "$job"
