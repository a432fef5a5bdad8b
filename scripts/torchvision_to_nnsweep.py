#!/usr/bin/python3
"""torchvision_to_nnsweep.py - converts the `features` part of a torchvision VGG (its convolutions,
batch norms, ReLUs and max pools; not the classifier) into an nnsweep model file for
`nnsweep dream` (the format is described in include/dream.h). It downloads nothing: give it a file
saved by torch.save(model.state_dict()) (or torch.save(model)).

usage: /usr/bin/python3 scripts/torchvision_to_nnsweep.py ARCH STATE_DICT OUT.h5
  ARCH        vgg11, vgg13, vgg16, vgg19 or one of them with _bn (vgg16_bn, ...)
  STATE_DICT  the weights, loaded with torch.load(map_location='cpu'): a state dict, or a whole
              model with a `features` part; classifier.* entries are left out
  OUT.h5      the model file, written whole (a temporary file renamed at the end)

Needs Debian's python3-torchvision (with python3-torch), python3-h5py and python3-numpy.
Exit status: 0 written, 2 bad input (unknown ARCH, an unreadable file, weights that do not match
ARCH, a batch norm eps other than nnsweep's), 1 failure to write OUT.h5.
"""
import argparse
import os
import sys

# The torchvision configurations (torchvision.models.vgg.cfgs): output channels of each 3x3 conv
# (padding 1, each followed by [bn] relu), "M" a 2x2 max pool with stride 2.
CFGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
ARCHS = [a + bn for a in CFGS for bn in ("", "_bn")]
NNSWEEP_BN_EPS = 1e-5           # CNN_BN_EPS of include/cnn.h: bn layers divide by sqrt(var + eps)
IMAGENET_MEAN = (0.485, 0.456, 0.406)   # what torchvision's VGG weights were trained with
IMAGENET_STD = (0.229, 0.224, 0.225)
PROG = "torchvision_to_nnsweep"


class InputError(Exception):
    """Bad input: the message names the file or the entry at fault; exit status 2."""


def reference_features(arch):
    """torchvision's features part of arch (a torch.nn.Sequential), the layout to match."""
    from torchvision.models.vgg import make_layers
    return make_layers(CFGS[arch.removesuffix("_bn")], batch_norm=arch.endswith("_bn"))


def nnsweep_layer(name, m):
    """The nnsweep layer (layers-string token) that computes what module m does; InputError for a
    module it has none for (or with settings nnsweep's layer does not have)."""
    import torch.nn as nn

    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if isinstance(m, nn.Conv2d):
        k, s, p = pair(m.kernel_size), pair(m.stride), pair(m.padding)
        if (k[0] != k[1] or s[0] != s[1] or p[0] != p[1] or pair(m.dilation) != (1, 1)
                or m.groups != 1 or m.bias is None or m.padding_mode != "zeros"):
            raise InputError(f"{name}: {m}: nnsweep's conv is square, undilated, ungrouped, "
                             "zero-padded and has a bias")
        return (f"conv({m.out_channels},{k[0]}" + (f",stride={s[0]}" if s[0] != 1 else "")
                + (f",pad={p[0]}" if p[0] else "") + ")")
    if isinstance(m, nn.BatchNorm2d):
        if m.eps != NNSWEEP_BN_EPS:
            raise InputError(f"{name}: batch norm eps is {m.eps:g}, nnsweep's bn uses "
                             f"{NNSWEEP_BN_EPS:g} (CNN_BN_EPS): its outputs would differ")
        if not m.affine or not m.track_running_stats:
            raise InputError(f"{name}: {m}: nnsweep's bn has gamma, beta and running statistics")
        return "bn"
    if isinstance(m, nn.ReLU):
        return "relu"
    if isinstance(m, nn.MaxPool2d):
        k, s = pair(m.kernel_size), pair(m.stride if m.stride is not None else m.kernel_size)
        if (k[0] != k[1] or s[0] != s[1] or pair(m.padding) != (0, 0)
                or pair(m.dilation) != (1, 1) or m.ceil_mode):
            raise InputError(f"{name}: {m}: nnsweep's maxpool is square, unpadded, undilated, "
                             "floor mode")
        return f"maxpool({k[0]}" + (f",stride={s[0]}" if s[0] != k[0] else "") + ")"
    raise InputError(f"{name}: {type(m).__name__} has no nnsweep layer")


def load_weights(path, arch, features):
    """The state dict in path (a state dict or a whole model); InputError if unreadable. A whole
    model's features must be built like torchvision's arch (checked layer by layer, eps too)."""
    import torch
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise InputError(f"{path}: cannot read: no such readable file")
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:   # torch.load raises anything from pickle, zipfile, torch itself
        raise InputError(f"{path}: not a file saved by torch.save ({type(e).__name__}: {e})")
    if isinstance(obj, torch.nn.Module):
        feat = getattr(obj, "features", None)
        if not isinstance(feat, torch.nn.Module):
            raise InputError(f"{path}: a {type(obj).__name__} model without a `features` part")
        got = [(f"features.{n}", m) for n, m in feat.named_children()]
        want = [(f"features.{n}", m) for n, m in features.named_children()]
        for (gn, gm), (wn, wm) in zip(got, want):
            if gn != wn or nnsweep_layer(gn, gm) != nnsweep_layer(wn, wm):
                raise InputError(f"{path}: not {arch}: its {gn} is {gm}, {arch} has {wn} {wm}")
        if len(got) != len(want):
            raise InputError(f"{path}: not {arch}: its features have {len(got)} layers, "
                             f"{arch}'s {len(want)}")
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise InputError(f"{path}: holds a {type(obj).__name__}, not a state dict (names to "
                         "tensors) nor a model")
    return obj


def convert(arch, path):
    """Returns (layers string, torchvision names, params float32, buffers float32) of arch's
    features from the state dict in path; InputError if they do not match arch."""
    import numpy as np
    import torch
    features = reference_features(arch)
    sd = load_weights(path, arch, features)
    want = {f"features.{k}": v for k, v in features.state_dict().items()}
    optional = {k for k in want if k.endswith(".num_batches_tracked")}   # not in older files
    got = {k for k in sd if k.startswith("features.")}
    missing = sorted(set(want) - got - optional, key=natural)
    extra = sorted(got - set(want), key=natural)
    other = sorted(k for k in sd if not k.startswith(("features.", "classifier.")))
    if missing or extra or other:
        parts = []
        for what, keys in (("missing", missing), ("unexpected", extra + other)):
            if keys:
                parts.append(f"{what} {', '.join(keys[:6])}"
                             + (f" (+{len(keys) - 6} more)" if len(keys) > 6 else ""))
        like = [a for a in ARCHS if a != arch and feature_shapes(a) == {
            k: tuple(v.shape) for k, v in sd.items()
            if k.startswith("features.") and not k.endswith(".num_batches_tracked")}]
        raise InputError(f"{path}: does not match {arch}'s features: {'; '.join(parts)}"
                         + (f" (it matches {' and '.join(like)})" if like else ""))
    for k, v in want.items():
        if k in sd and tuple(sd[k].shape) != tuple(v.shape):
            raise InputError(f"{path}: {k} has shape {tuple(sd[k].shape)}, {arch} has "
                             f"{tuple(v.shape)}")

    def values(key):
        t = sd[key]
        if not t.is_floating_point():
            raise InputError(f"{path}: {key} holds {t.dtype}, not floating point numbers")
        a = t.detach().to(torch.float32).numpy().ravel()
        if not np.all(np.isfinite(a)):
            raise InputError(f"{path}: {key} holds a value that is not finite")
        return a
    tokens, names, params, buffers = [], [], [], []
    for n, m in features.named_children():
        name = f"features.{n}"
        tokens.append(nnsweep_layer(name, m))
        names.append(name)
        if tokens[-1].startswith("conv") or tokens[-1] == "bn":
            params += [values(f"{name}.weight"), values(f"{name}.bias")]   # weight/gamma, bias/beta
        if tokens[-1] == "bn":
            var = values(f"{name}.running_var")
            if np.any(var < 0):
                raise InputError(f"{path}: {name}.running_var holds a negative variance")
            buffers += [values(f"{name}.running_mean"), var]
    empty = [np.zeros(0, np.float32)]
    return " ".join(tokens), names, np.concatenate(params + empty), np.concatenate(buffers + empty)


def feature_shapes(arch):
    """{state dict key: shape} of arch's features (num_batches_tracked left out), from CFGS."""
    shapes, i, c = {}, 0, 3
    for v in CFGS[arch.removesuffix("_bn")]:
        if v == "M":
            i += 1
            continue
        shapes.update({f"features.{i}.weight": (v, c, 3, 3), f"features.{i}.bias": (v,)})
        if arch.endswith("_bn"):
            shapes.update({f"features.{i + 1}.{k}": (v,)
                           for k in ("weight", "bias", "running_mean", "running_var")})
        i, c = i + (3 if arch.endswith("_bn") else 2), v
    return shapes


def natural(key):
    """Sort key for "features.10.weight" after "features.2.weight"."""
    return [int(p) if p.isdigit() else p for p in key.split(".")]


def write_model(out, arch, layers, names, params, buffers, source):
    """Writes the model file (include/dream.h) to out through a temporary file beside it."""
    import h5py
    import numpy as np
    import torch
    import torchvision
    tmp = f"{out}.tmp.{os.getpid()}"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["program"] = "nnsweep"
            f.attrs["experiment"] = "model"
            f.attrs["arch"] = arch
            f.attrs["layers"] = layers
            f.attrs["in_channels"] = np.int32(3)
            f.attrs["converted_from"] = os.path.abspath(source)
            f.attrs["converter"] = (f"scripts/torchvision_to_nnsweep.py (torch "
                                    f"{torch.__version__}, torchvision {torchvision.__version__})")
            g = f.create_group("model")
            g.create_dataset("weights", data=params.astype(np.float32))
            if buffers.size:
                g.create_dataset("bn_buffers", data=buffers.astype(np.float32))
            g.create_dataset("input_mean", data=np.array(IMAGENET_MEAN, np.float64))
            g.create_dataset("input_std", data=np.array(IMAGENET_STD, np.float64))
            g.create_dataset("torchvision_names", data=np.array(names, dtype=object),
                             dtype=h5py.string_dtype())
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def main(argv):
    ap = argparse.ArgumentParser(
        prog="torchvision_to_nnsweep.py",
        description=__doc__.split("\n\n")[0].split(" - ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    ap.add_argument("arch", metavar="ARCH", help="one of " + ", ".join(ARCHS))
    ap.add_argument("state_dict", metavar="STATE_DICT", help="the weights (torch.save)")
    ap.add_argument("out", metavar="OUT.h5", help="the model file to write")
    a = ap.parse_args(argv)
    try:
        if a.arch not in ARCHS:
            raise InputError(f"unknown ARCH '{a.arch}': expected one of {', '.join(ARCHS)}")
        try:
            import h5py  # noqa: F401  (checked here, before the work)
            import torch  # noqa: F401
            import torchvision  # noqa: F401
        except ImportError as e:
            print(f"{PROG}: {e}: install Debian's python3-torchvision and python3-h5py",
                  file=sys.stderr)
            return 1
        layers, names, params, buffers = convert(a.arch, a.state_dict)
    except InputError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    try:
        write_model(a.out, a.arch, layers, names, params, buffers, a.state_dict)
    except OSError as e:
        print(f"{PROG}: {a.out}: cannot write: {e}", file=sys.stderr)
        return 1
    print(f"{a.out}: {a.arch} features, {len(names)} layers, {params.size} parameters, "
          f"{buffers.size} bn buffer values")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
