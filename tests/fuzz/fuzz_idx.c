/* fuzz_idx.c - libFuzzer harness: the IDX reader (MNIST, Fashion-MNIST), plain and gzip, and
 * the class selection and preprocessing of dataset_load on the files it accepts.
 * Input: byte 0 = mode, bytes 1..4 = n (little endian), then n bytes of the image file and the
 * rest as the label file (n is cut to what is there). Mode bit 0 / bit 1: the harness
 * gzip-compresses the image / label bytes before writing them, so mutations of the IDX content
 * reach the reader through zlib too; without it the bytes are written as they are (plain IDX,
 * or gzip streams the fuzzer mutates). Bits 2..7: the classes, split sizes, preprocessing and
 * shuffle that dataset_load asks for (plain files only).
 * Contract: idx_read returns 0 with n images of rows x cols (n, rows, cols >= 1, dim = rows *
 * cols) whose arrays hold exactly the file's bytes, or NN_ERR_INPUT / NN_ERR_NOMEM with a message
 * naming a path and *out untouched; dataset_load likewise; nothing crashes or leaks. */
#include "fuzz.h"
#include "dataset_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"
#include "nn_error.h"

/* Writes data as file name: gzip-compressed when gz, else as it is. Returns the path. */
static const char *write_file(const char *name, const uint8_t *data, size_t n, int gz)
{
    if (!gz)
        return fuzz_file(name, data, n);
    const char *path = fuzz_path(name);
    gzFile f = gzopen(path, "wb1");
    FUZZ_CHECK(f != NULL, "gzopen for writing");
    FUZZ_CHECK(n == 0 || gzwrite(f, data, (unsigned)n) == (int)n, "gzwrite");
    FUZZ_CHECK(gzclose(f) == Z_OK, "gzclose");
    return path;
}

/* dataset_load on the accepted files as a fashion-mnist directory (training and test files the
 * same): two or three classes, a few examples, each preprocessing. */
static void load_dataset(const uint8_t *img, size_t ni, const uint8_t *lab, size_t nl, int mode)
{
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    const char *path = NULL;
    for (int k = 0; k < 4; k++)
        path = write_file(names[k], k % 2 ? lab : img, k % 2 ? nl : ni, 0);
    data_spec_t spec = {.kind = DATASET_FASHION_MNIST, .nclasses = 2 + (mode >> 2 & 1),
                        .classes = {0, 1, 2}, .train = 1 + (mode >> 3 & 1),
                        .validation = mode >> 4 & 1, .test = 1,
                        .preprocess = (preprocess_t)((mode >> 5) % 3),
                        .shuffle_seed = mode >> 7 ? 7 : -1};
    fuzz_check_dataset_load(&spec, path, 0);   /* the directory of the scratch files */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    int mode = size > 0 ? data[0] : 0;
    size_t n = 0;
    if (size >= 5)
        n = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
    const uint8_t *img = size >= 5 ? data + 5 : data;
    size_t rest = size >= 5 ? size - 5 : 0;
    if (n > rest)
        n = rest;
    const uint8_t *lab = img + n;
    size_t nl = rest - n;
    const char *ipath = write_file("images", img, n, mode & 1);
    const char *lpath = write_file("labels", lab, nl, mode & 2);
    rawdata_t raw;
    memset(&raw, 0xA5, sizeof raw);
    nn_error_clear();
    int rc = idx_read(ipath, lpath, &raw);
    if (rc != 0) {
        fuzz_check_read_failure(rc, &raw, (const char *const[]){ipath, lpath}, 2);
        return 0;
    }
    FUZZ_CHECK(raw.n >= 1 && raw.rows >= 1 && raw.cols >= 1 && raw.channels == 1, "shape");
    FUZZ_CHECK((size_t)raw.dim == (size_t)raw.rows * raw.cols, "dim = rows x cols");
    int img_gz = (mode & 1) || (n >= 2 && img[0] == 0x1f && img[1] == 0x8b);
    int lab_gz = (mode & 2) || (nl >= 2 && lab[0] == 0x1f && lab[1] == 0x8b);
    if (!img_gz)   /* plain: the pixels are the file's bytes after the 16-byte header */
        FUZZ_CHECK(n == 16 + (size_t)raw.n * raw.dim &&
                   memcmp(raw.pixels, img + 16, (size_t)raw.n * raw.dim) == 0, "pixels");
    if (!lab_gz)
        FUZZ_CHECK(nl == 8 + (size_t)raw.n && memcmp(raw.labels, lab + 8, (size_t)raw.n) == 0,
                   "labels");
    rawdata_free(&raw);
    if (!(mode & 3))
        load_dataset(img, n, lab, nl, mode);
    return 0;
}
