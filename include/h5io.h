/* h5io.h - the only module that calls HDF5. A results file is made in memory and saved whole:
 * written to "<path>.tmp.<pid>" beside the target, fsynced and renamed over it (the directory
 * fsynced too), so a crash or a full disk never leaves a corrupt or half-written results file and
 * the previous one stays as it was. Every saved file is sealed: its first 512 bytes (an HDF5 user
 * block) state its length and CRC-32, and h5_open refuses a file that no longer matches them.
 * Also reads files back (resume, report). Paths inside a file are absolute
 * ("/nngp/test_accuracy"); missing groups are created. */
#ifndef H5IO_H
#define H5IO_H

#include <stddef.h>

#define H5IO_MAX_RANK 8

typedef struct h5file h5file_t;

/* A new file for path, kept in memory: nothing is visible at path until h5_save or h5_commit.
 * Objects are created once; later writes overwrite values in place. NULL (message names the
 * path) on failure. */
h5file_t *h5_create(const char *path);
/* Saves the current content of f to path atomically (sealed, written to "<path>.tmp.<pid>",
 * fsynced, renamed over path, directory fsynced); f stays open for more writes. background: only
 * the copy of the image happens now and the disk work runs on a thread, so path holds the
 * previous save until it finishes. One save is in flight at a time: h5_create, h5_save and
 * h5_commit wait for it first and return its failure, if any (h5_create as NULL). On failure
 * (ENOSPC, EDQUOT, EIO: the message names path and the error) the temporary file is removed and
 * path is as the previous save left it. Call h5_commit_wait before exiting. */
int h5_save(h5file_t *f, int background);
/* h5_save(f, 0), then h5_close; *f is NULL afterwards. Returns 0 or NN_ERR_RUNTIME. */
int h5_commit(h5file_t **f);
/* Waits for the save in flight, if any. Returns 0 or its failure (message set). */
int h5_commit_wait(void);
/* Opens an existing file read-only. Returns NULL with an NN_ERR_INPUT message if it is missing,
 * not HDF5, or damaged (its seal does not match: truncated, appended to, bytes changed). */
h5file_t *h5_open(const char *path);
/* Removes "<path>.tmp.*" files left by a writer that was killed mid-write (call once at start,
 * before any writer of path runs). Returns the number removed. */
int h5_remove_stale(const char *path);
/* Until changed, every object path given to f that is the group `from` or below it means the same
 * path under `to` instead (both absolute group paths, under 32 characters; to NULL: no alias). So
 * code that writes or reads one layout (e.g. /nngp/...) serves another group of the same layout
 * (/ntk/...). Returns 0 or NN_ERR_RUNTIME (a name too long). */
int h5_set_alias(h5file_t *f, const char *from, const char *to);

/* Closes a file from h5_open or h5_create (path stays as the last save left it). Accepts NULL. */
void h5_close(h5file_t **f);

/* Attributes on an object (group or dataset path; "/" is the root). Overwrites an existing one. */
int h5_write_attr_str(h5file_t *f, const char *obj, const char *name, const char *value);
int h5_write_attr_int(h5file_t *f, const char *obj, const char *name, long long value);
int h5_write_attr_double(h5file_t *f, const char *obj, const char *name, double value);

/* N-D datasets, row-major (C order) with dims[0..rank-1]. Datasets of 4096 elements or more are
 * chunked and deflate-compressed. An optional "units"/"description" is written with h5_write_attr_str.
 * Rewriting a dataset with the same shape and type overwrites its values in place (its attributes
 * and scale attachments stay); otherwise the old one is deleted and created anew. */
int h5_write_f64(h5file_t *f, const char *path, int rank, const size_t *dims, const double *data);
int h5_write_f32(h5file_t *f, const char *path, int rank, const size_t *dims, const float *data);
int h5_write_i32(h5file_t *f, const char *path, int rank, const size_t *dims, const int *data);
int h5_write_u8(h5file_t *f, const char *path, int rank, const size_t *dims, const unsigned char *data);
/* A 1-D array of strings (variable length, UTF-8). */
int h5_write_strings(h5file_t *f, const char *path, size_t n, const char *const *strings);

/* Dimension scales (H5DS), written the way netCDF-4 readers (xarray with h5netcdf) expect: a
 * dimension is named by the basename of its scale's path, so a dataset whose every dimension has
 * a scale in its own group (or an ancestor group) opens with named dimensions, and the scales of
 * its own group become its coordinates.
 * h5_write_scale: a 1-D float64 scale of n values; its H5DS name is label (the basename of path
 * when label is NULL or ""). h5_make_scale: an existing 1-D dataset (numbers or strings) becomes a
 * scale with that H5DS name (idempotent). h5_write_range_scale: an int32 scale first,
 * first + 1, ..., first + n - 1 (positions, epochs). h5_write_dimension: a dimension of length n
 * without values (netCDF-4's "not a netCDF variable" scale: float32, no storage, reads as 0).
 * h5_attach_scale attaches scale to dimension dim of dataset and labels that dimension with the
 * scale's basename (lengths must agree; attaching twice is harmless); h5_attach_scales attaches
 * scales[d] to dimension d for d < n, skipping NULL entries. All return 0 or NN_ERR_RUNTIME. */
int h5_write_scale(h5file_t *f, const char *path, size_t n, const double *values, const char *label);
int h5_make_scale(h5file_t *f, const char *path, const char *name);
int h5_write_range_scale(h5file_t *f, const char *path, size_t n, int first);
int h5_write_dimension(h5file_t *f, const char *path, size_t n);
int h5_attach_scale(h5file_t *f, const char *dataset, int dim, const char *scale);
int h5_attach_scales(h5file_t *f, const char *dataset, int n, const char *const *scales);

/* Reading. h5_exists: 1 if the object (or attribute when attr != NULL) exists, else 0. */
int h5_exists(h5file_t *f, const char *path, const char *attr);
/* Dimensions of a dataset. Returns 0 or NN_ERR_INPUT naming file and path. */
int h5_dims(h5file_t *f, const char *path, int *rank, size_t dims[H5IO_MAX_RANK]);
/* Reads a whole dataset into buf, which holds count elements (must equal the dataset size). */
int h5_read_f64(h5file_t *f, const char *path, double *buf, size_t count);
int h5_read_f32(h5file_t *f, const char *path, float *buf, size_t count);
int h5_read_i32(h5file_t *f, const char *path, int *buf, size_t count);
int h5_read_u8(h5file_t *f, const char *path, unsigned char *buf, size_t count);
/* A string attribute, malloc'd into *value (caller frees). */
int h5_read_attr_str(h5file_t *f, const char *obj, const char *name, char **value);
int h5_read_attr_int(h5file_t *f, const char *obj, const char *name, long long *value);
int h5_read_attr_double(h5file_t *f, const char *obj, const char *name, double *value);
/* A string dataset (as written by h5_write_strings; fixed-length strings are read too) into a
 * malloc'd array of *n malloc'd strings (free with h5_free_names(strings, n)). */
int h5_read_strings(h5file_t *f, const char *path, char ***strings, int *n);
/* Names of the members of a group, malloc'd array of malloc'd strings (free with h5_free_names). */
int h5_list(h5file_t *f, const char *group, char ***names, int *n);
void h5_free_names(char **names, int n);

#endif
