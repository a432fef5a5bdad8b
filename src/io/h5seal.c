/* h5seal.c - the seal of a results file: nnsweep writes every file whole from memory, and fills
 * the file's first H5SEAL_BYTES (an HDF5 user block, which HDF5 and h5py skip) with a short text
 * that states the file's length and the CRC-32 of everything after the block. A file cut short,
 * appended to, or with any byte changed since is then recognised before HDF5 parses a byte of it
 * (HDF5 itself would read a flipped data byte as a valid number). No HDF5 calls here, so sealing
 * may run on the commit thread. */
#include "h5io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nn_error.h"

#define SEAL_MAGIC "nnsweep sealed file v1\n"

/* CRC-32 of n bytes, continuing crc (zlib's crc32 takes at most UINT_MAX bytes a call). */
static uLong crc_of(uLong crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        uInt part = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, part);
        p += part;
        n -= part;
    }
    return crc;
}

void h5seal_image(void *image, size_t size)
{
    if (size < H5SEAL_BYTES)
        return;
    unsigned char *p = image;
    uLong crc = crc_of(crc32(0L, Z_NULL, 0), p + H5SEAL_BYTES, size - H5SEAL_BYTES);
    char text[H5SEAL_BYTES];
    memset(text, 0, sizeof text);
    snprintf(text, sizeof text,
             SEAL_MAGIC "bytes=%zu\ncrc32=%08lx\n"
             "(nnsweep checks these before reading the file: see README, \"Failures and what "
             "survives them\")\n",
             size, (unsigned long)crc);
    memcpy(p, text, sizeof text);
}

/* Parses a seal block; 1 if it is one (length and checksum into *bytes, *crc), else 0. */
static int parse_seal(const char *block, size_t n, uintmax_t *bytes, unsigned long *crc)
{
    char text[H5SEAL_BYTES + 1];
    if (n < sizeof SEAL_MAGIC - 1 || memcmp(block, SEAL_MAGIC, sizeof SEAL_MAGIC - 1) != 0)
        return 0;
    memcpy(text, block, n);
    text[n] = '\0';
    return sscanf(text + sizeof SEAL_MAGIC - 1, "bytes=%ju\ncrc32=%lx", bytes, crc) == 2;
}

/* 1 when NNSWEEP_IGNORE_SEAL is set to anything but "" or "0". */
static int seal_ignored(void)
{
    const char *skip = getenv("NNSWEEP_IGNORE_SEAL");
    return skip && *skip && strcmp(skip, "0") != 0;
}

/* Compares the CRC-32 of fd's bytes after the seal block with want. */
static int check_crc(int fd, const char *path, unsigned long want)
{
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    if (!buf)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory to check it", path);
    uLong crc = crc32(0L, Z_NULL, 0);
    off_t at = H5SEAL_BYTES;
    ssize_t n;
    while ((n = pread(fd, buf, CHUNK, at)) > 0) {
        crc = crc_of(crc, buf, (size_t)n);
        at += n;
    }
    free(buf);
    if (n < 0)
        return nn_fail(NN_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
    if (crc != want)
        return nn_fail(NN_ERR_INPUT, "%s: damaged: its content does not match the CRC-32 nnsweep "
                       "wrote in its first %d bytes (%08lx, now %08lx): bytes were changed after "
                       "it was written (a disk or transfer fault; if you edited it on purpose, "
                       "set NNSWEEP_IGNORE_SEAL=1)", path, H5SEAL_BYTES, want, (unsigned long)crc);
    return NN_OK;
}

int h5seal_verify(const char *path)
{
    if (seal_ignored())
        return NN_OK;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return nn_fail(NN_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    char block[H5SEAL_BYTES];
    ssize_t got = fstat(fd, &st) == 0 ? pread(fd, block, sizeof block, 0) : -1;
    uintmax_t bytes;
    unsigned long want;
    int rc;
    if (got < 0)
        rc = nn_fail(NN_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
    else if (!parse_seal(block, (size_t)got, &bytes, &want))
        rc = NN_OK;   /* not sealed (written before seals, or by another program) */
    else if ((uintmax_t)st.st_size < bytes)
        rc = nn_fail(NN_ERR_INPUT, "%s: damaged: truncated, %jd of the %ju bytes nnsweep wrote "
                     "are left (the file was cut short after it was written)", path,
                     (intmax_t)st.st_size, bytes);
    else if ((uintmax_t)st.st_size > bytes)
        rc = nn_fail(NN_ERR_INPUT, "%s: damaged: %jd bytes where nnsweep wrote %ju (something "
                     "was appended after it was written)", path, (intmax_t)st.st_size, bytes);
    else
        rc = check_crc(fd, path, want);
    close(fd);
    return rc;
}
