# test_cli.sh - the command line and every bad-input path a user can hit: each must exit with
# the documented status and a message naming the file (and line) at fault.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

expect 0 "usage: nnsweep" "--help exits 0" -- $NNSWEEP --help
expect 0 "^nnsweep [0-9]" "--version exits 0" -- $NNSWEEP --version
expect 2 "unknown command or option 'frobnicate'" "unknown command exits 2" -- $NNSWEEP frobnicate
expect 2 "unknown command or option '--frob'" "unknown option exits 2" -- $NNSWEEP --frob
expect 2 "usage: nnsweep" "no command exits 2 with usage" -- $NNSWEEP
for cmd in nngp cnn plan report; do
  expect 0 "usage: nnsweep $cmd" "$cmd --help exits 0" -- $NNSWEEP $cmd --help
done
expect 2 "unexpected argument '--bogus'" "nngp unknown option exits 2" -- $NNSWEEP nngp jobs/nngp-fashion-binary.ini --bogus
expect 2 "missing JOB.ini" "nngp without a job exits 2" -- $NNSWEEP nngp
expect 2 "/no/such.ini" "missing job file exits 2 naming the path" -- $NNSWEEP nngp /no/such.ini

# Job-file errors name file:line and the key.
job() { printf '%s\n' "$@" > "$TMP/job.ini"; }
job "[data]" "classes = 0, 6" "trian = 100" "[nngp]" "depth = 1:2"
expect 2 "job.ini:3: .*trian" "misspelt key exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "classes = 0, 6" "[nngp]" "depth = 1:2" "sigma_w2 = -1"
expect 2 "job.ini:5: .*sigma_w2" "negative variance exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "classes = 0, 6" "[nngp]" "depth = 0:3"
expect 2 "job.ini:4: .*depth" "depth < 1 exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "classes = 0, 11" "[nngp]"
expect 2 "job.ini:2: .*classes" "class out of range exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "classes = 0, 6" "train = 20000" "[nngp]"
expect 2 "job.ini:3: .*train" "more examples than the dataset has exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "classes = 0, 6" "[nngp]" "sigma_b2 = linspace(0, 1)"
expect 2 "job.ini:4: .*sigma_b2" "malformed grid exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "classes = 0, 6" "[nngp]" "depth = 5:1"
expect 2 "job.ini:4: .*depth" "empty range exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "classes = 0, 6" "[nngp]" "noise = abc"
expect 2 "job.ini:4: .*noise" "bad number exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[datta]" "classes = 0, 6"
expect 2 "job.ini:1: .*datta" "unknown section exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "classes = 0, 6" "[output]" "file = $TMP/x.h5"
expect 2 "no \[nngp\] section" "a job without [nngp] exits 2" -- $NNSWEEP nngp "$TMP/job.ini"

# Synthetic data: the image shape keys are checked and belong to dataset = synthetic only.
job "[data]" "dataset = synthetic" "channels = 0" "[nngp]"
expect 2 "job.ini:3: channels: value 0 must be in \\[1, 64\\]" "synthetic channels 0 exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "dataset = synthetic" "height = 2000" "[nngp]"
expect 2 "job.ini:3: height: value 2000 must be in \\[1, 1024\\]" "synthetic height too large exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "dataset = synthetic" "width = wide" "[nngp]"
expect 2 "job.ini:3: width: " "synthetic width not a number exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "dataset = fashion-mnist" "classes = 0, 6" "channels = 3" "[nngp]"
expect 2 "job.ini:4: channels: only for dataset = synthetic" "an image shape key with file data exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "dataset = imagenet" "[nngp]"
expect 2 "job.ini:2: dataset: unknown dataset 'imagenet' \\(fashion-mnist, mnist, cifar10 or synthetic\\)" "an unknown dataset exits 2 with file:line" -- $NNSWEEP nngp "$TMP/job.ini"
job "[data]" "dataset = synthetic" "channels = 1" "height = 4" "width = 3" "classes = 0, 1" "train = 20" "test = 10" "[nngp]" "depth = 1:2" "sigma_w2 = 1" "sigma_b2 = 0" "[output]" "file = $TMP/syn.h5"
expect 0 "depth" "an NNGP job on synthetic data runs without any file" -- $NNSWEEP nngp --quiet "$TMP/job.ini"

# Dataset errors name the path.
mkdir -p "$TMP/fm"
job "[data]" "path = $TMP/fm" "classes = 0, 6" "train = 10" "test = 10" "[nngp]" "depth = 1:2" "[output]" "file = $TMP/o.h5"
expect 2 "$TMP/fm/train-images-idx3-ubyte" "missing dataset files exit 2 naming the path" -- $NNSWEEP nngp "$TMP/job.ini"
zcat /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz | head -c 100000 > "$TMP/fm/train-images-idx3-ubyte"
cp /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz /usr/share/datasets/fashion-mnist/t10k-*.gz "$TMP/fm/"
expect 2 "$TMP/fm/train-images-idx3-ubyte.*(truncated|expected)" "truncated IDX file exits 2 naming the path" -- $NNSWEEP nngp "$TMP/job.ini"

# CIFAR-10 files in the exact binary format, made broken in three ways.
mkdir -p "$TMP/cifar"
/usr/bin/python3 - "$TMP/cifar" <<'PY'
import os, sys
d = sys.argv[1]
def batch(name, n, bad_label=False, cut=0):
    data = bytearray()
    for i in range(n):
        data.append(10 if (bad_label and i == 3) else i % 10)
        data += bytes((i * 7 + k) % 256 for k in range(3072))
    with open(os.path.join(d, name), "wb") as f:
        f.write(data[:len(data) - cut] if cut else data)
for b in range(1, 6):
    batch(f"data_batch_{b}.bin", 20)
batch("test_batch.bin", 20)
PY
job "[data]" "dataset = cifar10" "path = $TMP/cifar" "classes = 0, 1" "train = 8" "test = 2" "[nngp]" "depth = 1:2" "sigma_w2 = 1" "sigma_b2 = 0" "[output]" "file = $TMP/c.h5"
expect 0 "depth" "small CIFAR-10 files in the binary format run" -- $NNSWEEP nngp --quiet "$TMP/job.ini"
cp "$TMP/cifar/data_batch_2.bin" "$TMP/good.bin"
head -c $((3073 * 20 - 100)) "$TMP/good.bin" > "$TMP/cifar/data_batch_2.bin"
expect 2 "$TMP/cifar/data_batch_2.bin" "truncated CIFAR-10 file exits 2 naming the path" -- $NNSWEEP nngp "$TMP/job.ini"
cat "$TMP/good.bin" "$TMP/good.bin" | head -c $((3073 * 20 + 17)) > "$TMP/cifar/data_batch_2.bin"
expect 2 "$TMP/cifar/data_batch_2.bin.*3073" "wrong CIFAR-10 file size exits 2 naming the path" -- $NNSWEEP nngp "$TMP/job.ini"
cp "$TMP/good.bin" "$TMP/cifar/data_batch_2.bin"
/usr/bin/python3 -c "
import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[3073*4]=12; open(p,'wb').write(b)" "$TMP/cifar/test_batch.bin"
expect 2 "$TMP/cifar/test_batch.bin.*label" "CIFAR-10 label above 9 exits 2 naming the path" -- $NNSWEEP nngp "$TMP/job.ini"

# report on files that are not nnsweep results
echo "not hdf5" > "$TMP/plain.h5"
expect 2 "$TMP/plain.h5" "report on a non-HDF5 file exits 2" -- $NNSWEEP report "$TMP/plain.h5"
expect 2 "/no/such.h5" "report on a missing file exits 2" -- $NNSWEEP report /no/such.h5
/usr/bin/python3 -c "import h5py,sys; h5py.File(sys.argv[1],'w').create_dataset('x', data=[1,2])" "$TMP/other.h5"
expect 2 "not an nnsweep results file" "report on a foreign HDF5 file exits 2" -- $NNSWEEP report "$TMP/other.h5"
expect 2 "unknown format" "report with a bad format exits 2" -- $NNSWEEP report "$TMP/other.h5" --format pdf

# plan
expect 0 "100 items" "plan prints the item count" -- $NNSWEEP plan jobs/nngp-fashion-binary.ini --ranks 4
expect 2 "--ranks" "plan with a bad rank count exits 2" -- $NNSWEEP plan jobs/nngp-fashion-binary.ini --ranks 0
expect 0 "solver: scalapack, 1x2 process grid per group, block size 128, store factor" "plan of the scale job names the ScaLAPACK grid and store (factor: a one-kernel job keeps nothing)" -- $NNSWEEP plan jobs/nngp-fashion-scale.ini --ranks 2 --mem-per-rank 10G
expect 0 "memory per computing rank: 1.[0-9] GiB of 10.0 GiB" "... and the memory per rank" -- $NNSWEEP plan jobs/nngp-fashion-scale.ini --ranks 2 --mem-per-rank 10G
expect 0 "at depth 3, which reuses the item's factor" "... and that its one posterior reuses the item's factor" -- $NNSWEEP plan jobs/nngp-fashion-scale.ini --ranks 2 --mem-per-rank 10G
expect 2 "nngp-fashion-scale.ini: .*need [0-9.]+ GiB per rank on a 1x2 ScaLAPACK grid, more than the 1.0 GiB.*group_size >= [0-9]+" "plan that cannot fit exits 2 and says what would" -- $NNSWEEP plan jobs/nngp-fashion-scale.ini --ranks 2 --mem-per-rank 1G
check "plan --results-file prints the default results file alone" -- \
  test "$($NNSWEEP plan jobs/nngp-fashion-binary.ini --results-file)" = results/nngp-fashion-binary.h5
printf '[data]\ndataset = fashion-mnist\n[nngp]\ndepth = 1\n[output]\nfile = %s ; where\n' "$TMP/there.h5" > "$TMP/there.ini"
check "... or the job's [output] file" -- test "$($NNSWEEP plan "$TMP/there.ini" --results-file)" = "$TMP/there.h5"
expect 2 "job.ini:3: .*trian" "... and exits 2 on a malformed job, naming the line" -- \
  sh -c "printf '[data]\ndataset = fashion-mnist\ntrian = 5\n' > $TMP/job.ini; $NNSWEEP plan $TMP/job.ini --results-file"
expect 2 "mem-per-rank needs a size" "plan with a bad --mem-per-rank exits 2" -- $NNSWEEP plan jobs/nngp-fashion-scale.ini --mem-per-rank lots
expect 2 "NNSWEEP_MEM_PER_RANK = 'lots' is not a size" "plan with a malformed NNSWEEP_MEM_PER_RANK exits 2 naming it" -- env NNSWEEP_MEM_PER_RANK=lots $NNSWEEP plan jobs/nngp-fashion-binary.ini
expect 2 "NNSWEEP_MEM_PER_RANK = '12Q' is not a size" "nngp with a malformed NNSWEEP_MEM_PER_RANK exits 2 naming it" -- env NNSWEEP_MEM_PER_RANK=12Q $NNSWEEP nngp jobs/nngp-fashion-binary.ini --out "$TMP/badmem.h5"
check "... and writes no results file" -- test ! -e "$TMP/badmem.h5"
