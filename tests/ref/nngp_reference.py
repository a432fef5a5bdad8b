#!/usr/bin/python3
"""nngp_reference.py - an independent numpy implementation of the NNGP sweep, for test_nngp.

Written from the equations, sharing no code with the C library: the full-matrix recursion uses
numpy's arccos, sin and cos directly (no sqrt(1 - c^2) shortcut, no symmetric half, no SLEEF), the
posterior uses numpy.linalg.cholesky only to test positive definiteness and numpy.linalg.solve /
slogdet (LU) for alpha, the mean, the variance and the log marginal likelihood.

Usage: nngp_reference.py DIR. DIR holds meta.txt (written by the C test):
    ntrain ntest nvalid dim ntargets
    noise noise_max
    depths d1 d2 ...
    sw2 v1 v2 ...
    sb2 v1 v2 ...
    posterior depth sw2 sb2
    kernel ntk            (optional: regress with the neural tangent kernel Theta instead of K)
and raw little-endian arrays x_train.bin, y_train.bin, x_test.bin, x_valid.bin (float64, row-major)
and test_label.bin, valid_label.bin (int32). Writes DIR/results.txt, one line per grid point and
depth: "sw2 sb2 depth status test_acc valid_acc lml noise_used" (status 1 ok, 2 failed), and
DIR/posterior_{mean,var,cov}.bin (float64) for the posterior model.
"""
import math
import os
import sys

import numpy as np


def read_meta(path):
    meta = {}
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    meta["ntrain"], meta["ntest"], meta["nvalid"], meta["dim"], meta["ntargets"] = map(int, lines[0])
    meta["noise"], meta["noise_max"] = map(float, lines[1])
    for ln in lines[2:]:
        key, vals = ln[0], ln[1:]
        if key == "depths":
            meta["depths"] = [int(v) for v in vals]
        elif key in ("sw2", "sb2"):
            meta[key] = [float(v) for v in vals]
        elif key == "posterior":
            meta["posterior"] = (int(vals[0]), float(vals[1]), float(vals[2]))
        elif key == "kernel":
            meta["ntk"] = vals[0] == "ntk"
    return meta


def load(d, name, shape, dtype=np.float64):
    n = int(np.prod(shape))
    if n == 0:
        return np.zeros(shape, dtype=dtype)
    return np.fromfile(os.path.join(d, name), dtype=dtype, count=n).reshape(shape)


def layer0(x1, x2, sw2, sb2):
    """K^0(x, x') = sb2 + sw2 x.x' / N0."""
    return sb2 + sw2 * (x1 @ x2.T) / x1.shape[1]


def layer0_diag(x, sw2, sb2):
    return sb2 + sw2 * np.einsum("ij,ij->i", x, x) / x.shape[1]


def relu_step(k, d1, d2, sw2, sb2):
    """K^l = sb2 + sw2/(2 pi) sqrt(d1 d2) (sin t + (pi - t) cos t), t = arccos(K^{l-1}/sqrt(d1 d2))."""
    norm = np.sqrt(np.outer(d1, d2))
    safe = np.where(norm > 0, norm, 1.0)
    c = np.clip(np.where(norm > 0, k / safe, 0.0), -1.0, 1.0)
    t = np.arccos(c)
    return sb2 + sw2 / (2 * math.pi) * norm * (np.sin(t) + (math.pi - t) * np.cos(t))


def diag_step(d, sw2, sb2):
    return sb2 + sw2 / 2 * d


def ntk_step(th, k, d1, d2, sw2, sb2):
    """Theta^l = K^l + sw2 (pi - t)/(2 pi) Theta^{l-1}, t the angle of K^{l-1} (Jacot et al.);
    returns (K^l, Theta^l) from K^{l-1} = k and Theta^{l-1} = th."""
    norm = np.sqrt(np.outer(d1, d2))
    safe = np.where(norm > 0, norm, 1.0)
    t = np.arccos(np.clip(np.where(norm > 0, k / safe, 0.0), -1.0, 1.0))
    k_new = relu_step(k, d1, d2, sw2, sb2)
    return k_new, k_new + sw2 * (math.pi - t) / (2 * math.pi) * th


class Layers:
    """The kernel blocks of one (sw2, sb2) layer by layer: K (and Theta with the NTK) of the
    train x train, test x train, valid x train and test x test blocks and their diagonals; .f()
    gives the blocks regressed with (Theta with the NTK, else K)."""

    def __init__(self, xt, xs, xv, sw2, sb2, ntk):
        self.sw2, self.sb2, self.ntk = sw2, sb2, ntk
        pts = {"t": xt, "s": xs, "v": xv}
        self.k = {a + b: layer0(pts[a], pts[b], sw2, sb2) for a, b in ("tt", "st", "vt", "ss")}
        self.d = {a: layer0_diag(pts[a], sw2, sb2) for a in "tsv"}
        self.th = dict(self.k)
        self.td = dict(self.d)

    def step(self):
        sw2, sb2, d = self.sw2, self.sb2, self.d
        for blk in list(self.k):
            d1, d2 = d[blk[0]], d[blk[1]]
            if self.ntk:
                self.k[blk], self.th[blk] = ntk_step(self.th[blk], self.k[blk], d1, d2, sw2, sb2)
            else:
                self.k[blk] = relu_step(self.k[blk], d1, d2, sw2, sb2)
        for a in "tsv":
            d[a] = diag_step(d[a], sw2, sb2)
            self.td[a] = d[a] + sw2 / 2 * self.td[a]
        if self.ntk:   # a point with itself: angle 0 exactly (arccos of a rounded 1 is ~1e-8)
            for blk in ("tt", "ss"):
                np.fill_diagonal(self.th[blk], self.td[blk[0]])

    def f(self, blk):
        return self.th[blk] if self.ntk else self.k[blk]

    def fd(self, a):
        return self.td[a] if self.ntk else self.d[a]


def factor(k, noise, noise_max):
    """Cholesky of K + s2 I with the x10 retry of the C contract; returns (ok, s2)."""
    n = k.shape[0]
    s2 = noise
    mean_diag = float(np.mean(np.diag(k)))
    while True:
        try:
            np.linalg.cholesky(k + s2 * np.eye(n))
            return True, s2
        except np.linalg.LinAlgError:
            nxt = 10 * s2 if s2 > 0 else 1e-12 * (mean_diag if mean_diag > 0 else 1.0)
            if not nxt <= noise_max * (1 + 1e-9):
                return False, s2
            s2 = nxt


def accuracy(pred, labels):
    if pred.shape[1] == 1:
        cls = (pred[:, 0] >= 0).astype(int)
    else:
        cls = np.argmax(pred, axis=1)
    return float(np.mean(cls == labels))


def main():
    d = sys.argv[1]
    m = read_meta(os.path.join(d, "meta.txt"))
    nt, ns, nv, dim, nr = m["ntrain"], m["ntest"], m["nvalid"], m["dim"], m["ntargets"]
    xt = load(d, "x_train.bin", (nt, dim))
    yt = load(d, "y_train.bin", (nt, nr))
    xs = load(d, "x_test.bin", (ns, dim))
    xv = load(d, "x_valid.bin", (nv, dim))
    ls = load(d, "test_label.bin", (ns,), np.int32)
    lv = load(d, "valid_label.bin", (nv,), np.int32)
    lmax = max(m["depths"])
    ntk = m.get("ntk", False)
    out = []
    for sw2 in m["sw2"]:
        for sb2 in m["sb2"]:
            lay = Layers(xt, xs, xv, sw2, sb2, ntk)
            for depth in range(1, lmax + 1):
                lay.step()
                ktt, kst, kvt = lay.f("tt"), lay.f("st"), lay.f("vt")
                if depth not in m["depths"]:
                    continue
                ok, s2 = factor(ktt, m["noise"], m["noise_max"])
                if not ok:
                    out.append(f"{sw2!r} {sb2!r} {depth} 2 nan nan nan {s2!r}")
                    continue
                a = ktt + s2 * np.eye(nt)
                alpha = np.linalg.solve(a, yt)
                acc = accuracy(kst @ alpha, ls)
                vacc = accuracy(kvt @ alpha, lv) if nv > 0 else float("nan")
                _, logdet = np.linalg.slogdet(a)
                lml = float(-0.5 * np.sum(yt * alpha) - nr * (0.5 * logdet + 0.5 * nt * math.log(2 * math.pi)))
                out.append(f"{sw2!r} {sb2!r} {depth} 1 {acc!r} {vacc!r} {lml!r} {s2!r}")
    with open(os.path.join(d, "results.txt"), "w") as f:
        f.write("\n".join(out) + "\n")

    if "posterior" in m:
        depth, sw2, sb2 = m["posterior"]
        lay = Layers(xt, xs, xv, sw2, sb2, ntk)
        for _ in range(depth):
            lay.step()
        ktt, kst, kss, ds = lay.f("tt"), lay.f("st"), lay.f("ss"), lay.fd("s")
        ok, s2 = factor(ktt, m["noise"], m["noise_max"])
        a = ktt + s2 * np.eye(nt)
        mean = kst @ np.linalg.solve(a, yt)
        cov = kss - kst @ np.linalg.solve(a, kst.T)
        var = ds - np.einsum("ij,ji->i", kst, np.linalg.solve(a, kst.T))
        mean.astype(np.float64).tofile(os.path.join(d, "posterior_mean.bin"))
        var.astype(np.float64).tofile(os.path.join(d, "posterior_var.bin"))
        cov.astype(np.float64).tofile(os.path.join(d, "posterior_cov.bin"))


if __name__ == "__main__":
    main()
