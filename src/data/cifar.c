/* cifar.c - reads CIFAR-10 binary batch files (records of 1 label byte + 3072 pixel bytes,
 * 3x32x32 channel-major) and concatenates them in the order given. Checks record framing and
 * label range; knows nothing of which files make up a split (see dataset.c). */
#include "dataset.h"
#include "nn_error.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_DIM 3072
#define CIFAR_RECORD (1 + CIFAR_DIM)
#ifndef CIFAR_CHUNK          /* set at build time by the fuzzing build (make fuzz), like idx.c's */
#define CIFAR_CHUNK 1024   /* records per fread */
#endif

/* Size of path in records; NN_ERR_INPUT naming the path unless it is a positive multiple of
 * CIFAR_RECORD bytes. */
static int cifar_records(const char *path, long long *nrec)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return nn_fail(NN_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return nn_fail(NN_ERR_INPUT, "%s: not a regular file", path);
    long long size = (long long)st.st_size;
    if (size == 0)
        return nn_fail(NN_ERR_INPUT,
                       "%s: empty file (size 0): not a whole number of %d-byte records (need at "
                       "least one)",
                       path, CIFAR_RECORD);
    if (size % CIFAR_RECORD)
        return nn_fail(NN_ERR_INPUT,
                       "%s: size %lld bytes is not a whole number of %d-byte records "
                       "(%lld records and %lld bytes left over)",
                       path, size, CIFAR_RECORD, size / CIFAR_RECORD, size % CIFAR_RECORD);
    *nrec = size / CIFAR_RECORD;
    return 0;
}

/* Reads nrec records of path into labels[0..nrec) and pixels[0..nrec*CIFAR_DIM), using buf
 * (CIFAR_CHUNK records) as staging. */
static int cifar_read_file(const char *path, long long nrec, unsigned char *buf,
                           unsigned char *labels, unsigned char *pixels)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_fail(NN_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    int rc = 0;
    for (long long r0 = 0; r0 < nrec && !rc; r0 += CIFAR_CHUNK) {
        size_t m = (size_t)(nrec - r0 < CIFAR_CHUNK ? nrec - r0 : CIFAR_CHUNK);
        size_t got = fread(buf, CIFAR_RECORD, m, f);
        if (got != m) {
            rc = nn_fail(NN_ERR_INPUT, "%s: short read at byte offset %lld (%s)", path,
                         (r0 + (long long)got) * CIFAR_RECORD,
                         ferror(f) ? strerror(errno) : "file shrank while reading");
            break;
        }
        for (size_t k = 0; k < m; k++) {
            const unsigned char *rec = buf + k * CIFAR_RECORD;
            long long r = r0 + (long long)k;
            if (rec[0] > 9) {
                rc = nn_fail(NN_ERR_INPUT, "%s: record %lld (byte offset %lld): label byte %d > 9",
                             path, r, r * CIFAR_RECORD, rec[0]);
                break;
            }
            labels[r] = rec[0];
            memcpy(pixels + (size_t)r * CIFAR_DIM, rec + 1, CIFAR_DIM);
        }
    }
    fclose(f);
    return rc;
}

int cifar_read(const char *const *paths, int npaths, rawdata_t *out)
{
    if (!paths || npaths < 1)
        return nn_fail(NN_ERR_INPUT, "cifar_read: no files given");
    long long total = 0;
    for (int i = 0; i < npaths; i++) {
        long long nrec;
        int rc = cifar_records(paths[i], &nrec);
        if (rc)
            return rc;
        total += nrec;
        if (total > INT_MAX || (unsigned long long)total > SIZE_MAX / CIFAR_DIM)
            return nn_fail(NN_ERR_INPUT, "%s: too many records in total (%lld)", paths[i], total);
    }
    unsigned char *pixels = malloc((size_t)total * CIFAR_DIM);
    unsigned char *labels = malloc((size_t)total);
    unsigned char *buf = malloc((size_t)CIFAR_CHUNK * CIFAR_RECORD);
    int rc = 0;
    if (!pixels || !labels || !buf)
        rc = nn_fail(NN_ERR_NOMEM, "%s: cannot allocate %lld CIFAR-10 records", paths[0], total);
    long long r = 0;
    for (int i = 0; i < npaths && !rc; i++) {
        long long nrec;
        if ((rc = cifar_records(paths[i], &nrec)))
            break;
        if (r + nrec > total) {
            rc = nn_fail(NN_ERR_INPUT, "%s: file grew while reading", paths[i]);
            break;
        }
        rc = cifar_read_file(paths[i], nrec, buf, labels + r, pixels + (size_t)r * CIFAR_DIM);
        r += nrec;
    }
    if (!rc && r != total)
        rc = nn_fail(NN_ERR_INPUT, "%s: file shrank while reading", paths[npaths - 1]);
    free(buf);
    if (rc) {
        free(pixels);
        free(labels);
        return rc;
    }
    out->n = (int)total;
    out->channels = 3;
    out->rows = 32;
    out->cols = 32;
    out->dim = CIFAR_DIM;
    out->pixels = pixels;
    out->labels = labels;
    return 0;
}
