#!/usr/bin/env bash
# test_vgg.sh - pretrained VGG weights for `nnsweep dream` (issue 18, item 5), with no download:
# random torchvision vgg11 (a state dict) and vgg11_bn (a whole model, random running statistics)
# from fixed seeds (tests/vgg_torch.py) go through scripts/torchvision_to_nnsweep.py; the model
# file must rebuild the same weights (read with h5py alone), and nnsweep's feature net on it
# (dream_model_load + cnn_feat_*, through $BUILD/tests/feat_probe) must give PyTorch's activations
# of a conv, its relu, a maxpool, a bn and the last layer of features, and the input gradient of
# sum_i ||a_i||_2 over them, for a 64x64 image normalised with the file's mean and std; and
# `nnsweep dream` must run on it.
# Measure: max |nnsweep - PyTorch| / max |PyTorch| over each layer's values (and the gradient's),
# PyTorch in float64 from the same float32 weights and image; tolerance 1e-4, well above float32
# rounding through 8 convolutions of up to 4608 terms (~1e-6 seen) and well below what a wrong
# index, channel or bn statistic gives (1e-1 or more). Then the converter's error paths.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
CONVERT="$PY scripts/torchvision_to_nnsweep.py"
TORCH="$PY tests/vgg_torch.py"
PROBE=$(dirname "$NNSWEEP")/tests/feat_probe
TOL=1e-4

if ! $PY -c 'import torchvision, h5py' >"$TMP/out" 2>&1; then
  not_ok "python3-torchvision and python3-h5py are installed (scripts/deps.sh test)"
  show_output "$TMP/out"
  exit 0
fi
check "random vgg11, vgg11_bn and vgg13 weights saved (fixed seeds)" -- $TORCH weights "$TMP"

# compare MODEL LAYERS: the probe against PyTorch, one line per layer and one for the gradient.
compare() {
  local model=$1 layers=$2 verdict what err
  if ! $TORCH reference "$TMP/$model.pt" "$TMP/$model.h5" "$layers" "$TMP" >"$TMP/out" 2>&1; then
    not_ok "$model: PyTorch's reference computed"; show_output "$TMP/out"; return
  fi
  if [ ! -x "$PROBE" ]; then
    not_ok "$model: no probe $PROBE (make test builds it)"; return
  fi
  if ! "$PROBE" "$TMP/$model.h5" "$TMP/image.f32" 64 64 "$layers" "$TMP/$model.f32" \
       >"$TMP/out" 2>&1; then
    not_ok "$model: feat_probe ran on the model file"; show_output "$TMP/out"; return
  fi
  if ! $TORCH compare "$TMP/$model.h5" "$TMP" "$TMP/$model.f32" $TOL >"$TMP/cmp" 2>&1; then
    not_ok "$model: feat_probe wrote the sizes of PyTorch's layers"; show_output "$TMP/cmp"; return
  fi
  while read -r verdict what; do
    err=${what##* } what=${what% *}
    if [ "$verdict" = ok ]; then
      ok "$model: $what equal PyTorch's (max rel diff $err)"
    else
      not_ok "$model: $what equal PyTorch's within $TOL (max rel diff $err)"
      show_output "$TMP/cmp"
    fi
  done <"$TMP/cmp"
}

# vgg11: conv2, relu2, maxpool2, conv6, maxpool5 (the last layer of features)
# vgg11_bn: conv2, bn2, relu2, maxpool2, bn6, maxpool5 (the last)
for case in "vgg11 3,4,5,13,20" "vgg11_bn 4,5,6,7,19,28"; do
  model=${case% *} layers=${case#* }
  check "$model: converted" -- $CONVERT "$model" "$TMP/$model.pt" "$TMP/$model.h5"
  check "$model: the model file holds the same weights under the torchvision names (h5py)" -- \
    $TORCH roundtrip "$TMP/$model.pt" "$TMP/$model.h5"
  compare "$model" "$layers"
done

# The converted model in `nnsweep dream`: layers by name, a set of two, a noise image.
cat >"$TMP/dream.ini" <<INI
[dream]
model = $TMP/vgg11_bn.h5
image = noise
height = 48
width = 48
layers = relu2, conv4+maxpool5
steps = 3
[output]
file = $TMP/dream.h5
INI
check "vgg11_bn: nnsweep dream runs on the converted model" -- \
  $NNSWEEP dream --quiet "$TMP/dream.ini"
check "vgg11_bn: each layer set's dream raises its objective (last step above the first)" -- \
  $PY -c "
import sys, h5py
with h5py.File(sys.argv[1], 'r') as f:
    for s in ('relu2', 'conv4+maxpool5'):
        o = f[f'dream/{s}/steps_3/objective'][:]
        print(s, o)
        assert len(o) == 3 and o[-1] > o[0]
        assert f[f'dream/{s}/steps_3/image'].shape == (48, 48, 3)
" "$TMP/dream.h5"

expect 0 'usage: .*ARCH STATE_DICT OUT\.h5' "converter: --help" -- $CONVERT --help
expect 2 "unknown ARCH 'vgg12'.*vgg11, vgg11_bn" "converter: an unknown ARCH is refused" -- \
  $CONVERT vgg12 "$TMP/vgg11.pt" "$TMP/x.h5"
expect 2 "vgg13\.pt: does not match vgg11's features: missing features\.3\.bias.*it matches vgg13" \
  "converter: vgg13's state dict given as vgg11 is refused" -- \
  $CONVERT vgg11 "$TMP/vgg13.pt" "$TMP/x.h5"
expect 2 "does not match vgg11_bn's features: missing features\.1\.bias.*it matches vgg11\)" \
  "converter: vgg11 given as vgg11_bn is refused" -- $CONVERT vgg11_bn "$TMP/vgg11.pt" "$TMP/x.h5"
expect 2 'features\.3\.weight has shape \(128, 32, 3, 3\), vgg11 has \(128, 64, 3, 3\)' \
  "converter: a tensor of the wrong shape is refused" -- \
  $CONVERT vgg11 "$TMP/bad_shape.pt" "$TMP/x.h5"
expect 2 "features\.1: batch norm eps is 0\.001, nnsweep's bn uses 1e-05" \
  "converter: a batch norm eps other than nnsweep's is refused" -- \
  $CONVERT vgg11_bn "$TMP/bad_eps.pt" "$TMP/x.h5"
echo "not a torch file" >"$TMP/text.pt"
expect 2 'text\.pt: not a file saved by torch\.save' \
  "converter: a file that is not torch.save's is refused" -- \
  $CONVERT vgg11 "$TMP/text.pt" "$TMP/x.h5"
expect 2 'nothere\.pt: cannot read' "converter: a missing file is refused" -- \
  $CONVERT vgg11 "$TMP/nothere.pt" "$TMP/x.h5"
if ls "$TMP"/x.h5* >/dev/null 2>&1; then not_ok "converter: no output left by a refusal"
else ok "converter: no output left by a refusal"; fi
