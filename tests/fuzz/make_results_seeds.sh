#!/usr/bin/env bash
# tests/fuzz/make_results_seeds.sh [NNSWEEP] - writes the seeds of the results-file harness
# (tests/fuzz/fuzz_results.c) into tests/fuzz/corpus/results: real files of tiny jobs on
# synthetic data, so every reader has something to read: an NNGP job with both kernels, a
# validation split, search_train and the [limit] and [network] stages (10 classes' one-hot
# targets); a binary NNGP job with the covariance; a CNN job with two variants, finished and
# interrupted (state running); a CNN run's checkpoint (OUT.ckpt/RUN.h5); and a dream of the
# finished CNN run. Each a few tens
# of KB. NNSWEEP defaults to build/nnsweep; run from anywhere, after `make`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/nnsweep}
out=tests/fuzz/corpus/results
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d /tmp/nnsweep-seeds-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

cat >"$tmp/nngp-stages.ini" <<'INI'
[data]
dataset = synthetic
channels = 1
height = 3
width = 3
classes = 0, 1, 2
train = 24
validation = 6
test = 8
[nngp]
depth = 1:3
sigma_w2 = 1, 2
sigma_b2 = 0, 0.5
kernel = nngp, ntk
search_train = 16
[limit]
widths = 4, 8
samples = 2
points = 4
[network]
widths = 4
epochs = 2
batch_size = 8
seeds = 1
INI
cat >"$tmp/nngp-binary.ini" <<'INI'
[data]
dataset = synthetic
channels = 1
height = 2
width = 3
classes = 3, 5
train = 12
test = 6
preprocess = standardize
[nngp]
depth = 1, 4
sigma_w2 = 1.5
sigma_b2 = 0.1, 0.2
covariance = yes
INI
cat >"$tmp/cnn-variants.ini" <<'INI'
[data]
dataset = synthetic
channels = 1
height = 4
width = 4
classes = 0, 1, 2
train = 16
test = 6
[cnn]
layers = conv(2,3,pad=1) bn relu maxpool(2) flatten dense(3)
epochs = 2
batch_size = 8
optimizer = adam
[variant drop]
layers = conv(2,3,pad=1) relu flatten dropout(0.2) dense(3)
epochs = 1
INI
cat >"$tmp/cnn-long.ini" <<'INI'
[data]
dataset = synthetic
channels = 1
height = 8
width = 8
classes = 0, 1
train = 2048
test = 4
[cnn]
layers = conv(4,3,pad=1) bn relu flatten dense(2)
epochs = 200
batch_size = 8
[variant quick]
epochs = 1
[variant long]
optimizer = adam
INI

run() { "$bin" "$@" --quiet >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }; }
run nngp "$tmp/nngp-stages.ini" --out "$out/nngp-stages.h5"
run nngp "$tmp/nngp-binary.ini" --out "$out/nngp-binary.h5"
run cnn "$tmp/cnn-variants.ini" --out "$out/cnn-variants.h5"

# A CNN job caught mid-way: its results file (state running: run quick done, run long not) and
# long's checkpoint, copied while it trains (both are replaced atomically, so a copy is always a
# whole file), then stopped.
"$bin" cnn "$tmp/cnn-long.ini" --out "$tmp/long.h5" --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -s "$tmp/long.h5.ckpt/long.h5" ] && [ -s "$tmp/long.h5" ] && break
  sleep 0.05
done
sleep 0.1
cp "$tmp/long.h5.ckpt/long.h5" "$out/cnn-checkpoint.h5"
cp "$tmp/long.h5" "$out/cnn-running.h5"
kill "$pid"
wait "$pid" 2>/dev/null || true

# A dream (nnsweep dream) with the CNN run drop: two layer sets, two step counts, a
# 10 x 12 noise image, two octaves (every pair its own group)
cat >"$tmp/dream.ini" <<INI
[dream]
model = $out/cnn-variants.h5
run = drop
image = noise
height = 10
width = 12
layers = relu1, conv1+relu1
steps = 2, 3
octaves = 2
jitter = 1
INI
run dream "$tmp/dream.ini" --out "$tmp/dream.h5"   # (its PNGs go beside it, not into the seeds)
cp "$tmp/dream.h5" "$out/dream.h5"
ls -l "$out"
