#!/usr/bin/python3
"""reseal.py FILE...: rewrites the seal of nnsweep results files edited on purpose (by the tests,
with h5py in r+ mode, to make the state a run leaves when it stops at a chosen point), as nnsweep
would write it: the first 512 bytes say the file's length and the CRC-32 of the bytes after them.
A second implementation of the format in src/io/h5seal.c, from its description in the README."""
import os
import sys
import zlib

BLOCK = 512
MAGIC = b"nnsweep sealed file v1\n"

for path in sys.argv[1:]:
    with open(path, "r+b") as f:
        data = f.read()
        if not data.startswith(MAGIC):
            sys.exit(f"{path}: no nnsweep seal to rewrite")
        text = MAGIC + b"bytes=%d\ncrc32=%08x\n" % (len(data), zlib.crc32(data[BLOCK:]))
        rest = data[:BLOCK].split(b"\n", 3)[3]   # the explanation line(s) after the three fields
        block = (text + rest).ljust(BLOCK, b"\0")[:BLOCK]
        f.seek(0)
        f.write(block)
        os.fsync(f.fileno())
