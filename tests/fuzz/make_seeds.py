#!/usr/bin/python3
"""make_seeds.py - writes the seed inputs of the IDX and CIFAR-10 harnesses (tests/fuzz/fuzz_idx.c,
fuzz_cifar.c) into tests/fuzz/corpus/idx and tests/fuzz/corpus/cifar: small valid files in the
harnesses' input layouts (plain, gzip-compressed by the harness, and gzip bytes as they are), plus
a few near misses. Deterministic; run from anywhere. The results-file seeds come from real runs:
tests/fuzz/make_results_seeds.sh."""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx_images(n, rows, cols):
    pix = bytes((7 * i + 3) % 256 for i in range(n * rows * cols))
    return struct.pack(">IIII", 0x803, n, rows, cols) + pix


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def idx_input(mode, img, lab):
    """fuzz_idx.c's layout: mode byte, image length (4 bytes, little endian), images, labels."""
    return bytes([mode]) + struct.pack("<I", len(img)) + img + lab


def gz(data):
    return gzip.compress(data, compresslevel=1, mtime=0)


def idx_seeds():
    img, lab = idx_images(6, 4, 3), idx_labels([0, 1, 2, 1, 0, 2])
    write("idx", "plain", idx_input(0x00, img, lab))
    write("idx", "plain-3class-std", idx_input(0x00 | 0x04 | 0x08 | 0x10 | 0x20, img, lab))
    write("idx", "plain-shuffle-unitnorm", idx_input(0x80 | 0x40, img, lab))
    write("idx", "harness-gzip", idx_input(0x03, img, lab))
    write("idx", "harness-gzip-images", idx_input(0x01, img, lab))
    write("idx", "gzip-bytes", idx_input(0x00, gz(img), gz(lab)))
    write("idx", "one-image", idx_input(0x00, idx_images(1, 1, 1), idx_labels([9])))
    write("idx", "count-mismatch", idx_input(0x00, idx_images(2, 2, 2), idx_labels([1])))
    write("idx", "trailing-byte", idx_input(0x00, idx_images(2, 2, 2) + b"\0", idx_labels([0, 1])))
    write("idx", "truncated", idx_input(0x00, idx_images(3, 5, 5)[:-4], idx_labels([0, 1, 2])))
    write("idx", "huge-claim", idx_input(0x00, struct.pack(">IIII", 0x803, 0x7fffffff, 1, 1),
                                         idx_labels([0])))


def cifar_file(labels):
    out = b""
    for r, lab in enumerate(labels):
        out += bytes([lab]) + bytes((r * 31 + i) % 256 for i in range(3072))
    return out


def cifar_input(mode, files):
    """fuzz_cifar.c's layout: mode byte (1 + mode % 3 files), the lengths of all files but the
    last (4 bytes each, little endian), then the files."""
    out = bytes([mode])
    for f in files[:-1]:
        out += struct.pack("<I", len(f))
    return out + b"".join(files)


def cifar_seeds():
    a, b = cifar_file([0, 1, 3]), cifar_file([1])
    write("cifar", "one-file", cifar_input(0, [a]))
    write("cifar", "one-file-dataset", cifar_input(0x0C, [a]))
    write("cifar", "one-file-std", cifar_input(0x75, [a]))
    write("cifar", "two-files", cifar_input(4, [a, b]))
    write("cifar", "three-files", cifar_input(5, [b, a, b]))
    write("cifar", "bad-label", cifar_input(0, [cifar_file([0, 10])]))
    write("cifar", "partial-record", cifar_input(0, [a[:-1]]))
    write("cifar", "empty", cifar_input(1, [b"", a]))


if __name__ == "__main__":
    idx_seeds()
    cifar_seeds()
