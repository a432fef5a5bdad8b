#!/usr/bin/python3
"""pngread.py - a PNG decoder for the shell tests that needs no imaging library (zlib and numpy
only): signature, chunk CRCs, IHDR, then inflate and unfilter the IDAT stream. Handles 8-bit RGB
and RGBA, as cairo writes them. read_png(path) returns (width, height, colour type, pixels as a
uint8 array (height, width, 3), file size); it raises ValueError naming what is wrong.
`pngread.py FILE` prints the size."""
import struct
import sys
import zlib

import numpy as np


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: no PNG signature")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]:
            raise ValueError(f"{path}: bad CRC in chunk {kind}")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype = ihdr[:4]
    if depth != 8 or ctype not in (2, 6):
        raise ValueError(f"{path}: unexpected bit depth {depth} / colour type {ctype}")
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    if len(raw) != h * (stride + 1):
        raise ValueError(f"{path}: image data of {len(raw)} bytes, expected {h * (stride + 1)}")
    img = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(h):
        f = raw[y * (stride + 1)]
        cur = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        if f == 1:    # Sub: a running sum per channel
            cur = np.cumsum(cur.reshape(w, bpp), axis=0).reshape(-1) & 255
        elif f == 2:  # Up
            cur = (cur + prev) & 255
        elif f in (3, 4):   # Average, Paeth: sequential along the row
            line, up = cur.tolist(), prev.tolist()
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = up[i]
                if f == 3:
                    line[i] = (line[i] + ((a + b) >> 1)) & 255
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.array(line, dtype=np.int64)
        img[y] = cur
        prev = cur
    return w, h, ctype, img.reshape(h, w, bpp)[:, :, :3], len(data)


if __name__ == "__main__":
    w, h, _, _, _ = read_png(sys.argv[1])
    print(f"{sys.argv[1]}: {w} x {h} px")
