/* idx.c - reads an IDX image file and its IDX label file (MNIST, Fashion-MNIST), gzip-compressed
 * or plain (zlib's gzread passes plain files through), in large blocks. Validates the magic
 * numbers, dimensions, matching counts and exact lengths; no class selection or scaling here. */
#include "dataset.h"
#include "nn_error.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u   /* unsigned bytes, 3 dimensions (n, rows, cols) */
#define IDX_MAGIC_LABELS 0x00000801u   /* unsigned bytes, 1 dimension (n) */
/* The buffer sizes can be set at build time: the fuzzing build (make fuzz) makes them small, so
 * that each input costs microseconds rather than megabytes and reads cross the buffer edges. */
#ifndef IDX_GZ_BUFFER
#define IDX_GZ_BUFFER (1u << 20)       /* zlib's input buffer */
#endif
#define IDX_READ_CHUNK (1u << 26)      /* bytes per gzread call (gzread takes an unsigned int) */
#ifndef IDX_FIRST_ALLOC
#define IDX_FIRST_ALLOC ((size_t)1 << 26) /* a header's claim is trusted only as data arrives */
#endif

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Opens path for gzread; NN_ERR_INPUT naming the path if it cannot be opened. */
static int idx_open(const char *path, gzFile *f)
{
    errno = 0;
    *f = gzopen(path, "rb");
    if (!*f)
        return nn_fail(NN_ERR_INPUT, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "zlib could not allocate its state");
    gzbuffer(*f, IDX_GZ_BUFFER);
    return 0;
}

/* Reads up to len bytes, as many as the file still holds; *got = bytes read. Returns 0, or
 * NN_ERR_INPUT naming the path and offset when zlib reports corrupt compressed data. */
static int idx_read_upto(gzFile f, const char *path, size_t offset, unsigned char *buf,
                         size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > IDX_READ_CHUNK)
            want = IDX_READ_CHUNK;
        int r = gzread(f, buf + *got, (unsigned)want);
        if (r < 0) {
            int err;
            const char *msg = gzerror(f, &err);
            return nn_fail(NN_ERR_INPUT, "%s: read error at uncompressed byte offset %zu: %s",
                           path, offset + *got, msg ? msg : "unknown zlib error");
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* " (the compressed stream ends early)" when a gzip stream was cut, else "". */
static const char *idx_gz_note(gzFile f)
{
    int err;
    gzerror(f, &err);
    return err == Z_BUF_ERROR ? " (the compressed stream ends early)" : "";
}

/* Reads and checks a header of 4 + 4*ndims bytes: magic, then ndims big-endian sizes, each in
 * 1..INT_MAX. what = "image" or "label" for messages. */
static int idx_header(gzFile f, const char *path, uint32_t magic, int ndims, const char *what,
                      uint32_t *dims)
{
    unsigned char h[16];
    size_t hlen = 4 + 4 * (size_t)ndims, got;
    int rc = idx_read_upto(f, path, 0, h, hlen, &got);
    if (rc)
        return rc;
    if (got >= 4 && be32(h) != magic)
        return nn_fail(NN_ERR_INPUT,
                       "%s: magic number 0x%08x, expected 0x%08x (IDX unsigned-byte %s file, "
                       "%d dimension%s)",
                       path, be32(h), magic, what, ndims, ndims > 1 ? "s" : "");
    if (got < hlen)
        return nn_fail(NN_ERR_INPUT, "%s: truncated: expected a %zu-byte IDX %s header, found %zu bytes%s",
                       path, hlen, what, got, idx_gz_note(f));
    for (int d = 0; d < ndims; d++) {
        dims[d] = be32(h + 4 + 4 * d);
        if (dims[d] < 1 || dims[d] > INT_MAX)
            return nn_fail(NN_ERR_INPUT, "%s: dimension %d (byte offset %d) is %u, expected 1..%d",
                           path, d, 4 + 4 * d, dims[d], INT_MAX);
    }
    return 0;
}

/* Reads exactly want bytes following an hlen-byte header into a new array *out, then checks that
 * nothing follows. what describes the data for messages ("60000 images of 28x28"). */
static int idx_body(gzFile f, const char *path, size_t hlen, size_t want, const char *what,
                    unsigned char **out)
{
    size_t cap = want < IDX_FIRST_ALLOC ? want : IDX_FIRST_ALLOC, have = 0;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return nn_fail(NN_ERR_NOMEM, "%s: cannot allocate %zu bytes for %s", path, cap, what);
    for (;;) {
        size_t got;
        int rc = idx_read_upto(f, path, hlen + have, buf + have, cap - have, &got);
        if (rc) {
            free(buf);
            return rc;
        }
        have += got;
        if (have < cap || cap == want)
            break;
        size_t ncap = cap > want / 2 ? want : 2 * cap;
        unsigned char *nbuf = realloc(buf, ncap);
        if (!nbuf) {
            free(buf);
            return nn_fail(NN_ERR_NOMEM, "%s: cannot allocate %zu bytes for %s", path, ncap, what);
        }
        buf = nbuf;
        cap = ncap;
    }
    if (have < want) {
        free(buf);
        return nn_fail(NN_ERR_INPUT,
                       "%s: truncated: expected %zu bytes (%s) after the %zu-byte header, found %zu%s",
                       path, want, what, hlen, have, idx_gz_note(f));
    }
    unsigned char extra[65536];
    size_t nextra = 0, got;
    do {
        int rc = idx_read_upto(f, path, hlen + want + nextra, extra, sizeof extra, &got);
        if (rc) {
            free(buf);
            return rc;
        }
        nextra += got;
    } while (got == sizeof extra);
    if (nextra) {
        free(buf);
        return nn_fail(NN_ERR_INPUT,
                       "%s: %zu unexpected trailing bytes at byte offset %zu: expected the file to "
                       "end after the %zu-byte header and %zu bytes (%s)",
                       path, nextra, hlen + want, hlen, want, what);
    }
    *out = buf;
    return 0;
}

int idx_read(const char *images_path, const char *labels_path, rawdata_t *out)
{
    gzFile fi = NULL, fl = NULL;
    unsigned char *pixels = NULL, *labels = NULL;
    uint32_t di[3] = {0}, dl[1] = {0};
    char what[128];
    int rc;

    if ((rc = idx_open(images_path, &fi)) || (rc = idx_open(labels_path, &fl)))
        goto done;
    if ((rc = idx_header(fi, images_path, IDX_MAGIC_IMAGES, 3, "image", di)) ||
        (rc = idx_header(fl, labels_path, IDX_MAGIC_LABELS, 1, "label", dl)))
        goto done;
    if (dl[0] != di[0]) {
        rc = nn_fail(NN_ERR_INPUT, "%s holds %u labels but %s holds %u images: counts differ",
                     labels_path, dl[0], images_path, di[0]);
        goto done;
    }
    size_t dim = (size_t)di[1] * di[2];
    if (dim > INT_MAX || dim > SIZE_MAX / di[0]) {
        rc = nn_fail(NN_ERR_INPUT, "%s: images of %ux%u are too large (%u of them)", images_path,
                     di[1], di[2], di[0]);
        goto done;
    }
    snprintf(what, sizeof what, "%u images of %ux%u", di[0], di[1], di[2]);
    if ((rc = idx_body(fi, images_path, 16, di[0] * dim, what, &pixels)))
        goto done;
    snprintf(what, sizeof what, "%u labels", dl[0]);
    if ((rc = idx_body(fl, labels_path, 8, dl[0], what, &labels)))
        goto done;

    out->n = (int)di[0];
    out->channels = 1;
    out->rows = (int)di[1];
    out->cols = (int)di[2];
    out->dim = (int)dim;
    out->pixels = pixels;
    out->labels = labels;
    pixels = labels = NULL;
done:
    if (fi)
        gzclose(fi);
    if (fl)
        gzclose(fl);
    free(pixels);
    free(labels);
    return rc;
}
