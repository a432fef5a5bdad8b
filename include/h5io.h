/* h5io.h - the only module that calls HDF5. Results files are written whole to a temporary file
 * beside the target and renamed over it on commit (fsync of file and directory first), so a crash
 * never leaves a corrupt or half-written results file. A file rewritten often can live in memory
 * and be saved the same way (h5_create_image, h5_save). Also reads files back (resume, report).
 * Paths inside a file are absolute ("/nngp/test_accuracy"); missing groups are created. */
#ifndef H5IO_H
#define H5IO_H

#include <stddef.h>

#define H5IO_MAX_RANK 8

typedef struct h5file h5file_t;

/* Opens "<path>.tmp.<pid>" for writing; nothing is visible at path until h5_commit.
 * Returns NULL (message names the path) on failure. */
h5file_t *h5_create(const char *path);
/* Closes, fsyncs and atomically renames the temporary file to path; frees *f and sets it NULL.
 * Returns 0 or NN_ERR_RUNTIME (the temporary file is removed then; the old file is intact). */
int h5_commit(h5file_t **f);
/* A file kept in memory for path, written many times and saved whole by h5_save (a results file
 * rewritten after every work item: objects are created once, later writes overwrite values in
 * place). Closing it with h5_close leaves path as the last save made it. NULL on failure. */
h5file_t *h5_create_image(const char *path);
/* Saves the current content of an h5_create_image file to path atomically (written to
 * "<path>.tmp.<pid>", fsynced, renamed over path, directory fsynced); the file stays open for
 * more writes. background: only the copy of the image happens now and the disk work runs on a
 * thread, so path holds the previous save until it finishes. One save or commit is in flight
 * at a time: h5_create, h5_create_image, h5_commit and h5_save wait for it first and return its
 * failure, if any (the creates as NULL). Call h5_commit_wait before exiting. */
int h5_save(h5file_t *f, int background);
/* Waits for the save in flight, if any. Returns 0 or its failure (message set). */
int h5_commit_wait(void);
/* Opens an existing file read-only. Returns NULL with NN_ERR_INPUT-style message if it is
 * missing or not HDF5. */
h5file_t *h5_open(const char *path);
/* Removes "<path>.tmp.*" files left by a writer that was killed mid-write (call once at start,
 * before any writer of path runs). Returns the number removed. */
int h5_remove_stale(const char *path);
/* Until changed, every object path given to f that is the group `from` or below it means the same
 * path under `to` instead (both absolute group paths, under 32 characters; to NULL: no alias). So
 * code that writes or reads one layout (e.g. /nngp/...) serves another group of the same layout
 * (/ntk/...). Returns 0 or NN_ERR_RUNTIME (a name too long). */
int h5_set_alias(h5file_t *f, const char *from, const char *to);

/* Closes a file from h5_open, or abandons (deletes) an uncommitted h5_create. Accepts NULL. */
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
