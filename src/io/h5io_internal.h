/* h5io_internal.h - private to src/io: the file handle and the helpers shared by the writer
 * (h5io.c), the reader (h5read.c) and provenance.c. Nothing outside src/io includes this; it is
 * where hdf5.h enters the program. */
#ifndef H5IO_INTERNAL_H
#define H5IO_INTERNAL_H

#include <hdf5.h>
#include <hdf5_hl.h>

#include "h5io.h"

struct h5file {
    hid_t fid;
    hid_t lcpl;    /* link creation list: intermediate groups, UTF-8 names (writer only) */
    int writable;  /* 1 from h5_create (a file in memory), 0 from h5_open */
    char *path;    /* the path the caller named (used in every message) */
    char *tmp;     /* "<path>.tmp.<pid>", where saves write before the rename; NULL for h5_open */
    char alias_from[32], alias_to[32];   /* h5_set_alias; empty: none */
};

enum { H5IO_PATH_MAX = 1024 };

/* The seal (h5seal.c): every file h5_create makes starts with a user block of H5SEAL_BYTES, which
 * h5seal_image fills, just before the image is written, with the file's length and the CRC-32 of
 * the rest. h5seal_verify checks a file on disk against its seal: NN_OK when it matches or the
 * file has none (older files, other programs) or NNSWEEP_IGNORE_SEAL is set; NN_ERR_INPUT with a
 * message saying what is wrong (truncated, appended to, bytes changed) otherwise. */
enum { H5SEAL_BYTES = 512 };
void h5seal_image(void *image, size_t size);
int h5seal_verify(const char *path);
/* path with f's alias applied (h5_set_alias): a path equal to or below alias_from moves under
 * alias_to, written into buf; any other path comes back unchanged. Every public function that
 * takes an object path passes it through here first. */
const char *h5io_alias(const h5file_t *f, const char *path, char *buf, size_t len);

/* Records "<file>: <obj>: <formatted message>" (obj may be NULL), followed by the innermost
 * HDF5 error description if the HDF5 error stack holds one; returns code. */
int h5io_fail(int code, const h5file_t *f, const char *obj, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 1 if path names an object in f (every intermediate link present and resolving), else 0. */
int h5io_object_exists(const h5file_t *f, const char *path);
/* The dataset transfer list for every H5Dread and H5Dwrite: a 64 KiB type-conversion buffer
 * instead of HDF5's default 1 MiB, which it allocates and clears on every read or write that
 * converts (variable-length strings): about 6 ms a call here, against 0.05 ms. Made once. */
hid_t h5io_dxpl(void);
/* mkdir -p of the directory part of path. Returns 0 or -1 with errno set. */
int h5io_make_parent_dirs(const char *path);
/* Turns off HDF5's automatic error printing (idempotent). */
void h5io_quiet(void);
/* A variable-length UTF-8 string type (caller closes it), or a negative id. */
hid_t h5io_vlen_utf8(void);

#endif
