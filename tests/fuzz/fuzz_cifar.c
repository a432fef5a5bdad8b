/* fuzz_cifar.c - libFuzzer harness: the CIFAR-10 binary reader (records of 1 label byte and
 * 3072 pixel bytes), one to three batch files concatenated in order, and dataset_load's
 * selection and preprocessing on a directory of batches it accepts.
 * Input: byte 0 = mode: 1 + mode % 3 files, bit 2 also dataset_load (bits 3..7 its classes,
 * split sizes and preprocessing); then, for each file but the last, its length as 4 bytes
 * (little endian, cut to what is there), then the files' bytes one after the other.
 * Contract: cifar_read returns 0 with n = all records, labels 0..9, 3x32x32 images holding the
 * files' bytes, or NN_ERR_INPUT / NN_ERR_NOMEM with a message naming a path and *out
 * untouched; dataset_load likewise; nothing crashes or leaks. */
#include "fuzz.h"
#include "dataset_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "nn_error.h"

#define RECORD 3073

/* dataset_load on a cifar10 directory whose five training batches and test batch are all the
 * first file: two classes, one or two examples, preprocessing from the mode. */
static void load_dataset(const uint8_t *file, size_t n, int mode)
{
    static const char *const names[6] = {"data_batch_1.bin", "data_batch_2.bin",
                                         "data_batch_3.bin", "data_batch_4.bin",
                                         "data_batch_5.bin", "test_batch.bin"};
    const char *path = NULL;
    for (int k = 0; k < 6; k++)
        path = fuzz_file(names[k], file, n);
    data_spec_t spec = {.kind = DATASET_CIFAR10, .nclasses = 2, .classes = {mode & 8 ? 3 : 0, 1},
                        .train = 1 + (mode >> 4 & 1), .validation = mode >> 5 & 1, .test = 1,
                        .preprocess = (preprocess_t)((mode >> 6) % 3), .shuffle_seed = -1};
    fuzz_check_dataset_load(&spec, path, 3072);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    static const char *const names[3] = {"batch1", "batch2", "batch3"};
    int mode = size > 0 ? data[0] : 0, nfiles = 1 + mode % 3;
    size_t pos = size > 0 ? 1 : 0, len[3];
    for (int i = 0; i < nfiles - 1; i++) {
        size_t n = 0;
        for (int b = 0; b < 4 && pos < size; b++)
            n |= (size_t)data[pos++] << 8 * b;
        len[i] = n;
    }
    const char *paths[3];
    const uint8_t *start[3];
    for (int i = 0; i < nfiles; i++) {
        size_t left = size - pos;
        len[i] = i == nfiles - 1 || len[i] > left ? left : len[i];
        start[i] = data + pos;
        paths[i] = fuzz_file(names[i], start[i], len[i]);
        pos += len[i];
    }
    rawdata_t raw;
    memset(&raw, 0xA5, sizeof raw);
    nn_error_clear();
    int rc = cifar_read(paths, nfiles, &raw);
    if (rc != 0) {
        fuzz_check_read_failure(rc, &raw, paths, nfiles);
        return 0;
    }
    size_t total = 0;
    for (int i = 0; i < nfiles; i++)
        total += len[i] / RECORD;
    FUZZ_CHECK(raw.n >= 1 && (size_t)raw.n == total && raw.dim == 3072 && raw.channels == 3,
               "every record read, 3x32x32");
    size_t r = 0;
    for (int i = 0; i < nfiles; i++)
        for (size_t k = 0; k < len[i] / RECORD; k++, r++) {
            const uint8_t *rec = start[i] + k * RECORD;
            FUZZ_CHECK(raw.labels[r] <= 9 && raw.labels[r] == rec[0], "labels");
            FUZZ_CHECK(memcmp(raw.pixels + r * 3072, rec + 1, 3072) == 0, "pixels");
        }
    rawdata_free(&raw);
    if (mode & 4)   /* half the accepted inputs: dataset_load writes and reads six files */
        load_dataset(start[0], len[0], mode);
    return 0;
}
