#!/usr/bin/python3
"""scripts/make_dream_image.py OUT.png [SIZE] - the photo-sized start image of
jobs/dream-fashion.ini, made from nothing (nnsweep downloads nothing): soft colour gradients,
a few rings and a bright disc on a textured ground, SIZE x SIZE RGB (default 256). numpy, zlib
and struct only; deterministic (seed 7)."""
import struct
import sys
import zlib

import numpy as np


def png_bytes(rgb):
    """An 8-bit RGB PNG of an (H, W, 3) uint8 array."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def scene(n):
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:n, 0:n] / (n - 1.0)
    img = np.stack([0.35 + 0.3 * x, 0.3 + 0.25 * y, 0.55 - 0.2 * x * y], axis=-1)
    r = np.hypot(x - 0.62, y - 0.4)
    img += (0.12 * np.cos(40 * r) * np.exp(-4 * r))[..., None]          # rings
    img[np.hypot(x - 0.3, y - 0.7) < 0.12] = (0.9, 0.85, 0.6)           # a disc
    img += 0.04 * rng.standard_normal((n, n, 1))                        # grain
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    with open(sys.argv[1], "wb") as f:
        f.write(png_bytes(scene(size)))
