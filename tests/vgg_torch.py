#!/usr/bin/python3
"""vgg_torch.py - the PyTorch side of tests/test_vgg.sh (Debian's python3-torchvision, h5py):
  vgg_torch.py weights DIR        random torchvision features (fixed seeds) saved in DIR:
                                  vgg11.pt (a state dict, with a classifier entry that must be
                                  left out), vgg11_bn.pt (a whole model: torchvision's VGG class,
                                  random gamma/beta and running statistics), vgg13.pt (a state
                                  dict), bad_shape.pt (vgg11 with one conv of 32 channels) and
                                  bad_eps.pt (a vgg11_bn model whose bn eps is 1e-3)
  vgg_torch.py roundtrip PT H5    rebuilds every parameter and buffer from the model file alone
                                  (its layers string read here, independently of nnsweep) and
                                  requires them bit-equal to PT's under /model/torchvision_names
  vgg_torch.py reference PT H5 LAYERS DIR
                                  a random 64x64 image in pixel space [0,1], normalised with the
                                  file's input_mean/std into DIR/image.f32 (C,H,W) float32; in
                                  float64 (model.double(), the float32 weights exactly), the
                                  outputs of LAYERS (0-based, comma-separated) and the input
                                  gradient of sum_i ||a_i||_2 by autograd into DIR/ref.npz
  vgg_torch.py compare H5 DIR OUT.f32 TOL
                                  splits feat_probe's output like ref.npz and prints one line per
                                  layer and one for the gradient: "ok|fail WHAT REL" with REL =
                                  max |nnsweep - torch| / max |torch| over its values, ok when
                                  REL <= TOL (WHAT names the layer as nnsweep's layer listing
                                  does, e.g. "relu2 activations")
"""
import re
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
from torchvision.models.vgg import VGG, cfgs, make_layers

H = W = 64
CFG = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}   # torchvision's cfgs keys


def features(cfg, bn, seed):
    """torchvision's features part with every parameter random (non-zero biases, gamma/beta) and
    random running statistics (variances positive), eval mode, ReLUs not in place."""
    torch.manual_seed(seed)
    f = make_layers(cfgs[cfg], batch_norm=bn)
    with torch.no_grad():
        for m in f:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.bias.uniform_(-0.1, 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.3, 3.0)
            elif isinstance(m, nn.ReLU):
                m.inplace = False
    return f.eval()


def whole_model(f):
    """torchvision's VGG class around f without its 100-million-parameter classifier."""
    m = VGG.__new__(VGG)
    nn.Module.__init__(m)
    m.features, m.avgpool, m.classifier = f, nn.AdaptiveAvgPool2d((7, 7)), nn.Sequential()
    return m


def state_dict(path):
    obj = torch.load(path, map_location="cpu")
    return obj.state_dict() if isinstance(obj, nn.Module) else obj


def weights(d):
    def keyed(f):
        return {f"features.{k}": v for k, v in f.state_dict().items()}
    sd = keyed(features(CFG["vgg11"], False, 11))
    torch.save(dict(sd, **{"classifier.0.weight": torch.ones(10, 3)}), f"{d}/vgg11.pt")
    torch.save(whole_model(features(CFG["vgg11"], True, 12)), f"{d}/vgg11_bn.pt")
    torch.save(keyed(features(CFG["vgg13"], False, 13)), f"{d}/vgg13.pt")
    sd["features.3.weight"] = sd["features.3.weight"][:, :32]
    torch.save(sd, f"{d}/bad_shape.pt")
    torch.save(whole_model(nn.Sequential(nn.Conv2d(3, 64, 3, padding=1),
                                         nn.BatchNorm2d(64, eps=1e-3))), f"{d}/bad_eps.pt")


def layers_of(h5):
    """[(kind, args)] of the model file's layers string, e.g. ("conv", [64, 3, "pad=1"])."""
    with h5py.File(h5, "r") as f:
        text = f.attrs["layers"]
    out = []
    for tok in re.findall(r"[a-z]+(?:\([^)]*\))?", text):
        kind, _, args = tok.partition("(")
        out.append((kind, [a if "=" in a else int(a) for a in args.rstrip(")").split(",") if a]))
    return out


def roundtrip(pt, h5):
    sd = state_dict(pt)
    with h5py.File(h5, "r") as f:
        assert f.attrs["program"] == "nnsweep" and f.attrs["experiment"] == "model", dict(f.attrs)
        assert f.attrs["in_channels"] == 3
        w, names = f["model/weights"][:], [n.decode() for n in f["model/torchvision_names"][:]]
        buf = f["model/bn_buffers"][:] if "model/bn_buffers" in f else np.zeros(0, np.float32)
        assert w.dtype == np.float32 and buf.dtype == np.float32
        assert np.allclose(f["model/input_mean"][:], [0.485, 0.456, 0.406], rtol=0, atol=1e-12)
        assert np.allclose(f["model/input_std"][:], [0.229, 0.224, 0.225], rtol=0, atol=1e-12)
    layers = layers_of(h5)
    assert len(layers) == len(names), (len(layers), len(names))
    wo = bo = 0
    c = 3
    for (kind, args), name in zip(layers, names):
        if kind == "conv":
            blocks = [(f"{name}.weight", (args[0], c, args[1], args[1])),
                      (f"{name}.bias", (args[0],))]
            c = args[0]
        elif kind == "bn":
            blocks = [(f"{name}.weight", (c,)), (f"{name}.bias", (c,))]
            for key in (f"{name}.running_mean", f"{name}.running_var"):
                assert np.array_equal(buf[bo:bo + c], sd[key].numpy()), key
                bo += c
        else:
            assert kind in ("relu", "maxpool") and f"{name}.weight" not in sd, (kind, name)
            blocks = []
        for key, shape in blocks:
            n = int(np.prod(shape))
            assert tuple(sd[key].shape) == shape, (key, shape)
            assert np.array_equal(w[wo:wo + n], sd[key].numpy().ravel()), key
            wo += n
    assert wo == w.size and bo == buf.size, (wo, w.size, bo, buf.size)
    used = {k for n in names for k in sd if k.startswith(n + ".")}
    left = {k for k in sd if not k.startswith("classifier.") and not k.endswith("batches_tracked")}
    assert used >= left, sorted(left - used)
    print(f"{len(names)} layers, {wo} parameters, {bo} buffer values equal")


def reference(pt, h5, sel, d):
    with h5py.File(h5, "r") as hf:
        arch, mean, std = hf.attrs["arch"], hf["model/input_mean"][:], hf["model/input_std"][:]
    f = features(CFG[arch.removesuffix("_bn")], arch.endswith("_bn"), 0)
    f.load_state_dict({k[len("features."):]: v for k, v in state_dict(pt).items()
                       if k.startswith("features.")})
    rng = np.random.default_rng(18)
    pixels = rng.random((H, W, 3))                                   # (H,W,C) in [0,1]
    x = ((pixels - mean) / std).transpose(2, 0, 1).astype(np.float32)  # (C,H,W) input space
    x.tofile(f"{d}/image.f32")
    f = f.double()
    xt = torch.from_numpy(x.astype(np.float64))[None].requires_grad_(True)
    a, outs = xt, {}
    for i, m in enumerate(f):
        a = m(a)
        outs[i] = a
        if i == max(sel):
            break
    obj = sum(outs[i].norm() for i in sel)
    obj.backward()
    np.savez(f"{d}/ref.npz", sel=np.array(sel), objective=obj.item(),
             grad=xt.grad[0].numpy(), **{f"a{i}": outs[i][0].detach().numpy() for i in sel})
    print(f"objective {obj.item():.9g}")


def compare(h5, d, out, tol):
    ref = np.load(f"{d}/ref.npz")
    got = np.fromfile(out, dtype=np.float32).astype(np.float64)
    layers = layers_of(h5)
    seen, names = {}, []
    for kind, _ in layers:
        seen[kind] = seen.get(kind, 0) + 1
        names.append(f"{kind}{seen[kind]}")
    want = [(f"{names[i]} activations", ref[f"a{i}"]) for i in ref["sel"]]
    want.append(("input gradient", ref["grad"]))
    total = sum(r.size for _, r in want)
    if got.size != total:
        print(f"SIZE feat_probe wrote {got.size} values, PyTorch's layers have {total}")
        return 1
    at = 0
    for what, r in want:
        g = got[at:at + r.size]
        at += r.size
        rel = np.max(np.abs(g - r.ravel())) / np.max(np.abs(r))
        print(f"{'ok' if rel <= tol else 'fail'} {what} {rel:.2e}")   # NaN fails
    return 0


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "weights":
        weights(*args)
    elif cmd == "roundtrip":
        roundtrip(*args)
    elif cmd == "reference":
        reference(args[0], args[1], [int(s) for s in args[2].split(",")], args[3])
    elif cmd == "compare":
        return compare(args[0], args[1], args[2], float(args[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
