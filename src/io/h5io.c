/* h5io.c - HDF5 results files: made in memory (core driver), written into with datasets,
 * attributes, strings and scales, and saved whole, sealed (h5seal.c), to a temporary file beside
 * the target that is fsynced and renamed over it, now or on a background thread; h5_open checks
 * the seal first. Reads are in h5read.c. HDF5 never writes to disk itself, so a full disk is one
 * failed write() of ours with the previous file untouched. One process writes: no MPI-IO here. */
#include "h5io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_error.h"

#define CHUNK_MIN_ELEMENTS 4096          /* smaller datasets stay contiguous */
#define CHUNK_MAX_BYTES (1u << 20)       /* a chunk holds at most 1 MiB */
#define DEFLATE_LEVEL 1

/* ---- helpers shared with h5read.c and provenance.c (declared in h5io_internal.h) ---- */

void h5io_quiet(void)
{
    static int done;
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

hid_t h5io_dxpl(void)
{
    static hid_t dxpl = -1;
    if (dxpl < 0) {
        dxpl = H5Pcreate(H5P_DATASET_XFER);
        if (dxpl >= 0 && H5Pset_buffer(dxpl, (size_t)1 << 16, NULL, NULL) < 0) {
            H5Pclose(dxpl);
            dxpl = -1;
        }
    }
    return dxpl >= 0 ? dxpl : H5P_DEFAULT;
}

hid_t h5io_vlen_utf8(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* H5E_WALK_UPWARD visits the most specific (innermost) error first: keep that one. */
static herr_t innermost_error(unsigned n, const H5E_error2_t *err, void *data)
{
    if (n == 0 && err->desc && err->desc[0])
        snprintf((char *)data, 512, "%s", err->desc);
    return 0;
}

int h5io_fail(int code, const h5file_t *f, const char *obj, const char *fmt, ...)
{
    char what[1024], detail[512] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, detail);
    H5Eclear2(H5E_DEFAULT);
    const char *file = f && f->path ? f->path : "(no file)";
    return nn_fail(code, "%s: %s%s%s%s%s%s", file, obj ? obj : "", obj ? ": " : "", what,
                   detail[0] ? " (HDF5: " : "", detail, detail[0] ? ")" : "");
}

/* ---- creating, committing, closing ---- */

int h5io_make_parent_dirs(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -1;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {   /* relative name in cwd, or a file in "/" */
        free(dir);
        return 0;
    }
    *slash = '\0';
    int rc = 0;
    for (char *p = dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                rc = -1;
                break;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (rc == 0 && stat(dir, &st) != 0)
        rc = -1;
    else if (rc == 0 && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = -1;
    }
    free(dir);
    return rc;
}

static hid_t make_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return fapl;
    /* closing the file closes every object still open in it; tolerate file systems (Lustre
     * mounted without flock) on which HDF5's file locking is disabled */
    if (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 || H5Pset_file_locking(fapl, 1, 1) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

int h5_remove_stale(const char *path)
{
    size_t len = strlen(path) + 8;
    char *pattern = malloc(len);
    if (!pattern)
        return 0;
    snprintf(pattern, len, "%s.tmp.*", path);
    glob_t g;
    int removed = 0;
    if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            removed += unlink(g.gl_pathv[i]) == 0;
        globfree(&g);
    }
    free(pattern);
    return removed;
}

h5file_t *h5_create(const char *path)
{
    if (!path || !*path) {
        nn_fail(NN_ERR_RUNTIME, "h5_create: empty path");
        return NULL;
    }
    h5io_quiet();
    /* the temporary name may be the one a commit in flight is renaming: wait for it (and report
     * its failure here) */
    if (h5_commit_wait() != 0)
        return NULL;
    h5file_t *f = calloc(1, sizeof *f);
    size_t len = strlen(path) + 32;
    if (!f || !(f->path = strdup(path)) || !(f->tmp = malloc(len))) {
        if (f)
            free(f->path);
        free(f);
        nn_fail(NN_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    snprintf(f->tmp, len, "%s.tmp.%ld", path, (long)getpid());
    f->fid = f->lcpl = -1;
    f->writable = 1;
    if (h5io_make_parent_dirs(path) != 0) {
        nn_fail(NN_ERR_RUNTIME, "%s: cannot create its directory: %s", path, strerror(errno));
        goto fail;
    }
    f->lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (f->lcpl < 0 || H5Pset_create_intermediate_group(f->lcpl, 1) < 0 ||
        H5Pset_char_encoding(f->lcpl, H5T_CSET_UTF8) < 0) {
        h5io_fail(NN_ERR_RUNTIME, f, NULL, "cannot set up link creation properties");
        goto fail;
    }
    /* in memory: grown 1 MiB at a time, never written by HDF5 (h5_save writes its image),
     * with room for the seal before HDF5's superblock */
    hid_t fapl = make_fapl(), fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fapl < 0 || fcpl < 0 || H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0 ||
        H5Pset_userblock(fcpl, H5SEAL_BYTES) < 0) {
        h5io_fail(NN_ERR_RUNTIME, f, NULL, "cannot set up file properties");
    } else {
        f->fid = H5Fcreate(f->tmp, H5F_ACC_TRUNC, fcpl, fapl);
        if (f->fid < 0)
            h5io_fail(NN_ERR_RUNTIME, f, NULL, "cannot create the in-memory file");
    }
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (f->fid < 0)
        goto fail;
    return f;
fail:
    if (f->lcpl >= 0)
        H5Pclose(f->lcpl);
    free(f->tmp);
    free(f->path);
    free(f);
    return NULL;
}

h5file_t *h5_open(const char *path)
{
    if (!path || !*path) {
        nn_fail(NN_ERR_INPUT, "h5_open: empty path");
        return NULL;
    }
    h5io_quiet();
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        nn_fail(NN_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        nn_fail(NN_ERR_INPUT, "%s: cannot open: %s", path, strerror(EISDIR));
        return NULL;
    }
    if (h5seal_verify(path) != NN_OK)
        return NULL;
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        nn_fail(NN_ERR_INPUT, "%s: not an HDF5 file", path);
        return NULL;
    }
    h5file_t *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        nn_fail(NN_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    f->lcpl = -1;
    hid_t fapl = make_fapl();
    f->fid = fapl < 0 ? -1 : H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f->fid < 0) {
        h5io_fail(NN_ERR_INPUT, f, NULL, "damaged or incomplete HDF5 file, cannot open it");
        free(f->path);
        free(f);
        return NULL;
    }
    return f;
}

/* Opens path (a file or directory) and fsyncs it. Returns 0 or -1 with errno set. */
static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static void release(h5file_t *f)
{
    if (f->lcpl >= 0)
        H5Pclose(f->lcpl);
    free(f->tmp);
    free(f->path);
    free(f);
}

/* The part of a commit that needs no HDF5 (so it may run on the commit thread): seal the image,
 * write it to the temporary file, fsync that file, rename it over the target, fsync the
 * directory. The job owns its strings and image; the failing step and errno are kept for
 * finish_message, which also frees them. */
typedef struct {
    char *path, *tmp;
    void *image;        /* the whole file */
    size_t size;
    enum { STEP_OK, STEP_WRITE, STEP_FSYNC, STEP_RENAME, STEP_DIR, STEP_NOMEM } failed;
    int err;
} commit_job_t;

/* Writes size bytes of image to a new file at path. Returns 0 or -1 with errno set. */
static int write_whole(const char *path, const void *image, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return -1;
    const char *p = image;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = n < 0 ? errno : EIO;
            close(fd);
            errno = saved;
            return -1;
        }
        p += n;
        size -= (size_t)n;
    }
    return close(fd);
}

static void *finish_commit(void *arg)
{
    commit_job_t *job = arg;
    job->failed = STEP_OK;
    h5seal_image(job->image, job->size);
    if (write_whole(job->tmp, job->image, job->size) != 0)
        job->failed = STEP_WRITE;
    else if (fsync_path(job->tmp, O_RDONLY) != 0)
        job->failed = STEP_FSYNC;
    else if (rename(job->tmp, job->path) != 0)
        job->failed = STEP_RENAME;
    if (job->failed != STEP_OK) {
        job->err = errno;
        unlink(job->tmp);
        return NULL;
    }
    /* make the rename itself durable; EINVAL means the file system cannot sync directories */
    char *dir = strdup(job->path);
    if (!dir) {
        job->failed = STEP_NOMEM;
        return NULL;
    }
    char *slash = strrchr(dir, '/');
    const char *d = !slash ? "." : slash == dir ? "/" : (*slash = '\0', dir);
    if (fsync_path(d, O_RDONLY | O_DIRECTORY) != 0 && errno != EINVAL) {
        job->failed = STEP_DIR;
        job->err = errno;
    }
    free(dir);
    return NULL;
}

/* Records the failure of a finished job (if any) and frees it; returns 0 or the code. */
static int finish_message(commit_job_t *job)
{
    int rc = 0;
    const char *path = job->path, *tmp = job->tmp, *why = strerror(job->err);
    switch (job->failed) {
    case STEP_OK:
        break;
    case STEP_WRITE:
        rc = nn_fail(NN_ERR_RUNTIME, "%s: cannot write %s: %s", path, tmp, why);
        break;
    case STEP_FSYNC:
        rc = nn_fail(NN_ERR_RUNTIME, "%s: cannot fsync %s: %s", path, tmp, why);
        break;
    case STEP_RENAME:
        rc = nn_fail(NN_ERR_RUNTIME, "%s: cannot rename %s over it: %s", path, tmp, why);
        break;
    case STEP_DIR:
        rc = nn_fail(NN_ERR_RUNTIME, "%s: written, but cannot fsync its directory: %s", path, why);
        break;
    case STEP_NOMEM:
        rc = nn_fail(NN_ERR_NOMEM, "out of memory");
        break;
    }
    free(job->path);
    free(job->tmp);
    free(job->image);
    memset(job, 0, sizeof *job);
    return rc;
}

/* The commit on the background thread, at most one at a time. */
static struct {
    int running;
    pthread_t thread;
    commit_job_t job;
} pending;

int h5_commit_wait(void)
{
    if (!pending.running)
        return 0;
    pthread_join(pending.thread, NULL);
    pending.running = 0;
    return finish_message(&pending.job);
}

/* Runs a job here, or on the commit thread when background (here if no thread can start). */
static int run_commit(commit_job_t *job, int background)
{
    if (background) {
        pending.job = *job;
        if (pthread_create(&pending.thread, NULL, finish_commit, &pending.job) == 0) {
            pending.running = 1;
            return 0;
        }
        *job = pending.job;
    }
    finish_commit(job);
    return finish_message(job);
}

int h5_save(h5file_t *f, int background)
{
    int rc = h5_commit_wait();
    if (rc != 0)
        return rc;
    if (!f || !f->writable)
        return h5io_fail(NN_ERR_RUNTIME, f, NULL, "h5_save needs a file from h5_create");
    if (H5Fflush(f->fid, H5F_SCOPE_GLOBAL) < 0)
        return h5io_fail(NN_ERR_RUNTIME, f, NULL, "cannot flush the in-memory file");
    /* HDF5's image leaves out the user block: the seal goes in front of it */
    ssize_t size = H5Fget_file_image(f->fid, NULL, 0);
    size_t total = H5SEAL_BYTES + (size_t)(size > 0 ? size : 0);
    commit_job_t job = {.path = strdup(f->path), .tmp = strdup(f->tmp),
                        .image = size > 0 ? calloc(1, total) : NULL, .size = total};
    if (size <= 0 || !job.path || !job.tmp || !job.image) {
        rc = size <= 0 ? h5io_fail(NN_ERR_RUNTIME, f, NULL, "cannot size the file image")
                       : nn_fail(NN_ERR_NOMEM, "%s: out of memory for the file image", f->path);
        finish_message(&job);
        return rc;
    }
    if (H5Fget_file_image(f->fid, (char *)job.image + H5SEAL_BYTES, (size_t)size) != size) {
        rc = h5io_fail(NN_ERR_RUNTIME, f, NULL, "cannot copy the file image");
        finish_message(&job);
        return rc;
    }
    return run_commit(&job, background);
}

int h5_commit(h5file_t **pf)
{
    if (!pf || !*pf)
        return nn_fail(NN_ERR_RUNTIME, "h5_commit: no file");
    int rc = h5_save(*pf, 0);
    h5_close(pf);
    return rc;
}

void h5_close(h5file_t **pf)
{
    if (!pf || !*pf)
        return;
    h5file_t *f = *pf;
    *pf = NULL;
    if (f->fid >= 0)
        H5Fclose(f->fid);   /* in memory: a file never saved leaves nothing on disk */
    release(f);
}

/* ---- writing ---- */

static int check_writable(const h5file_t *f, const char *obj)
{
    if (!f)
        return nn_fail(NN_ERR_RUNTIME, "%s: no file", obj ? obj : "h5io");
    if (!obj || !*obj)
        return h5io_fail(NN_ERR_RUNTIME, f, NULL, "empty object path");
    if (!f->writable)
        return h5io_fail(NN_ERR_RUNTIME, f, obj, "file is open read-only");
    return 0;
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Before creating path: every existing ancestor must be a group (HDF5's own message for a
 * dataset in the way is obscure). Missing ancestors are fine; they are created. */
static int check_parents(h5file_t *f, const char *path)
{
    char *p = strdup(path);
    if (!p)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory", f->path);
    int rc = 0;
    for (char *s = strchr(p + 1, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (!h5io_object_exists(f, p))
            break;
        hid_t o = H5Oopen(f->fid, p, H5P_DEFAULT);
        if (o < 0 || H5Iget_type(o) != H5I_GROUP)
            rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot create: %s is not a group", p);
        if (o >= 0)
            H5Oclose(o);
        *s = '/';
    }
    free(p);
    return rc;
}

/* Chunk shape for a dataset of rank dims: start from the whole array and halve the leading
 * dimensions first (so rows stay whole, matching C-order slices) until a chunk is <= 1 MiB. */
static void choose_chunk(int rank, const hsize_t *dims, size_t elsize, hsize_t *chunk)
{
    uint64_t bytes = elsize;
    for (int i = 0; i < rank; i++) {
        chunk[i] = dims[i];
        bytes *= dims[i];
    }
    for (int i = 0; i < rank && bytes > CHUNK_MAX_BYTES; i++)
        while (bytes > CHUNK_MAX_BYTES && chunk[i] > 1) {
            hsize_t half = (chunk[i] + 1) / 2;
            bytes = bytes / chunk[i] * half;
            chunk[i] = half;
        }
}

/* Collects the paths of the scales attached to one dimension of a dataset. */
typedef struct {
    char **names;
    int n, cap;
} name_list_t;

static herr_t collect_scale(hid_t did, unsigned dim, hid_t dsid, void *data)
{
    name_list_t *l = data;
    char buf[1024];
    if (H5Iget_name(dsid, buf, sizeof buf) <= 0)
        return -1;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 4;
        char **p = realloc(l->names, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        l->names = p;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(buf)))
        return -1;
    l->n++;
    return 0;
}

/* Detaches every scale from dataset did, so that deleting it leaves no stale back-references. */
static int detach_all_scales(h5file_t *f, const char *path, hid_t did, int rank)
{
    if (H5Aexists(did, "DIMENSION_LIST") <= 0)
        return 0;
    int rc = 0;
    for (int d = 0; d < rank && rc == 0; d++) {
        name_list_t l = {0};
        if (H5DSget_num_scales(did, (unsigned)d) > 0 &&
            H5DSiterate_scales(did, (unsigned)d, NULL, collect_scale, &l) < 0)
            rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot list the scales of dimension %d", d);
        for (int i = 0; i < l.n; i++) {
            hid_t sid = rc == 0 ? H5Dopen2(f->fid, l.names[i], H5P_DEFAULT) : -1;
            if (rc == 0 && (sid < 0 || H5DSdetach_scale(did, sid, (unsigned)d) < 0))
                rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot detach scale %s", l.names[i]);
            if (sid >= 0)
                H5Dclose(sid);
            free(l.names[i]);
        }
        free(l.names);
    }
    return rc;
}

/* H5Tequal tells a variable-length string on disk from the same type in memory: compare
 * those by class and character set instead. */
static int same_type(hid_t a, hid_t b)
{
    if (H5Tget_class(a) == H5T_STRING && H5Tget_class(b) == H5T_STRING &&
        H5Tis_variable_str(a) > 0 && H5Tis_variable_str(b) > 0)
        return H5Tget_cset(a) == H5Tget_cset(b);
    return H5Tequal(a, b) > 0;
}

/* An existing object at path: returns 1 if it is a dataset of this shape and type (the caller
 * overwrites its values in place, which keeps its attributes and scale attachments), 0 if it
 * was deleted so the caller creates it anew, or a negative code. */
static int prepare_existing(h5file_t *f, const char *path, int rank, const hsize_t *dims,
                            hid_t filetype)
{
    hid_t oid = H5Oopen(f->fid, path, H5P_DEFAULT);
    if (oid < 0)
        return h5io_fail(NN_ERR_RUNTIME, f, path, "cannot open existing object");
    if (H5Iget_type(oid) != H5I_DATASET) {
        H5Oclose(oid);
        return h5io_fail(NN_ERR_RUNTIME, f, path, "exists and is not a dataset");
    }
    hid_t space = H5Dget_space(oid), type = H5Dget_type(oid);
    int same = space >= 0 && type >= 0 && H5Sget_simple_extent_ndims(space) == rank &&
               same_type(type, filetype);
    hsize_t old[H5S_MAX_RANK];
    if (same && H5Sget_simple_extent_dims(space, old, NULL) == rank)
        for (int i = 0; i < rank; i++)
            same = same && old[i] == dims[i];
    int old_rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : 0;
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (same) {
        H5Oclose(oid);
        return 1;
    }
    int rc = 0;
    if (H5DSis_scale(oid) > 0 && H5Aexists(oid, "REFERENCE_LIST") > 0)
        rc = h5io_fail(NN_ERR_RUNTIME, f, path,
                       "is a dimension scale attached to datasets; cannot change its shape or type");
    if (rc == 0)
        rc = detach_all_scales(f, path, oid, old_rank);
    H5Oclose(oid);
    if (rc == 0 && H5Ldelete(f->fid, path, H5P_DEFAULT) < 0)
        rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot delete the old dataset");
    return rc;
}

/* Passed as data to write_dataset: create the dataset (or keep one of the same shape and type)
 * without writing values; HDF5 allocates no storage for it and reads give the fill value 0. */
static const char no_values[1];

int h5_set_alias(h5file_t *f, const char *from, const char *to)
{
    if (!to || !from) {
        f->alias_from[0] = f->alias_to[0] = '\0';
        return NN_OK;
    }
    if (strlen(from) >= sizeof f->alias_from || strlen(to) >= sizeof f->alias_to)
        return h5io_fail(NN_ERR_RUNTIME, f, from, "alias names too long");
    strcpy(f->alias_from, from);
    strcpy(f->alias_to, to);
    return NN_OK;
}

const char *h5io_alias(const h5file_t *f, const char *path, char *buf, size_t len)
{
    size_t n = f && path ? strlen(f->alias_from) : 0;
    if (n == 0 || strncmp(path, f->alias_from, n) != 0 || (path[n] != '\0' && path[n] != '/'))
        return path;
    snprintf(buf, len, "%s%s", f->alias_to, path + n);
    return buf;
}

/* Writes (creating or replacing) a dataset; filetype is the type stored, memtype describes data. */
static int write_dataset(h5file_t *f, const char *path, int rank, const size_t *dims,
                         hid_t memtype, hid_t filetype, const void *data)
{
    char alias[H5IO_PATH_MAX];
    path = h5io_alias(f, path, alias, sizeof alias);
    int rc = check_writable(f, path);
    if (rc)
        return rc;
    if (rank < 1 || rank > H5IO_MAX_RANK || !dims)
        return h5io_fail(NN_ERR_RUNTIME, f, path, "rank %d outside 1..%d", rank, H5IO_MAX_RANK);
    size_t elsize = H5Tget_size(memtype), count = 1;
    hsize_t hd[H5IO_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        if (dims[i] && count > SIZE_MAX / elsize / dims[i])
            return h5io_fail(NN_ERR_RUNTIME, f, path, "dataset size overflows");
        count *= dims[i];
        hd[i] = dims[i];
    }
    if (count > 0 && !data)
        return h5io_fail(NN_ERR_RUNTIME, f, path, "no data");

    hid_t did = -1, space = -1, dcpl = -1;
    if (h5io_object_exists(f, path)) {
        rc = prepare_existing(f, path, rank, hd, filetype);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            rc = 0;
            did = H5Dopen2(f->fid, path, H5P_DEFAULT);
            if (did < 0)
                return h5io_fail(NN_ERR_RUNTIME, f, path, "cannot open dataset");
        }
    }
    if (did < 0 && (rc = check_parents(f, path)) != 0)
        return rc;
    if (did < 0) {
        space = H5Screate_simple(rank, hd, NULL);
        dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (space < 0 || dcpl < 0) {
            rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot set up dataspace");
            goto done;
        }
        if (count >= CHUNK_MIN_ELEMENTS) {
            hsize_t chunk[H5IO_MAX_RANK];
            choose_chunk(rank, hd, H5Tget_size(filetype), chunk);
            if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 ||
                H5Pset_deflate(dcpl, DEFLATE_LEVEL) < 0) {
                rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot set up chunking and compression");
                goto done;
            }
        }
        did = H5Dcreate2(f->fid, path, filetype, space, f->lcpl, dcpl, H5P_DEFAULT);
        if (did < 0) {
            rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot create dataset");
            goto done;
        }
    }
    if (count > 0 && data != no_values &&
        H5Dwrite(did, memtype, H5S_ALL, H5S_ALL, h5io_dxpl(), data) < 0)
        rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot write %zu elements", count);
done:
    if (did >= 0)
        H5Dclose(did);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

int h5_write_f64(h5file_t *f, const char *path, int rank, const size_t *dims, const double *data)
{
    return write_dataset(f, path, rank, dims, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, data);
}

int h5_write_f32(h5file_t *f, const char *path, int rank, const size_t *dims, const float *data)
{
    return write_dataset(f, path, rank, dims, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, data);
}

int h5_write_i32(h5file_t *f, const char *path, int rank, const size_t *dims, const int *data)
{
    return write_dataset(f, path, rank, dims, H5T_NATIVE_INT, H5T_STD_I32LE, data);
}

int h5_write_u8(h5file_t *f, const char *path, int rank, const size_t *dims,
                const unsigned char *data)
{
    return write_dataset(f, path, rank, dims, H5T_NATIVE_UCHAR, H5T_STD_U8LE, data);
}

/* NULL entries are stored as "". */
int h5_write_strings(h5file_t *f, const char *path, size_t n, const char *const *strings)
{
    if (n > 0 && !strings)
        return h5io_fail(NN_ERR_RUNTIME, f, path, "no strings");
    const char **copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory", path ? path : "");
    for (size_t i = 0; i < n; i++)
        copy[i] = strings[i] ? strings[i] : "";
    hid_t t = h5io_vlen_utf8();
    int rc = t < 0 ? h5io_fail(NN_ERR_RUNTIME, f, path, "cannot make string type")
                   : write_dataset(f, path, 1, &n, t, t, copy);
    if (t >= 0)
        H5Tclose(t);
    free(copy);
    return rc;
}

/* 1 if obj already has attribute name of type filetype holding value (memtype): rewriting it
 * would only cost time and, for a string, leave its old copy as dead space in the file, which a
 * file saved after every work item would accumulate (1.5 KB a save was measured). */
static int attr_unchanged(hid_t oid, const char *name, hid_t filetype, hid_t memtype,
                          const void *value)
{
    hid_t aid = H5Aopen(oid, name, H5P_DEFAULT);
    if (aid < 0)
        return 0;
    hid_t t = H5Aget_type(aid);
    int same = 0;
    if (t >= 0 && H5Tequal(t, filetype) > 0) {
        if (H5Tis_variable_str(memtype) > 0) {
            char *old = NULL;
            same = H5Aread(aid, memtype, &old) >= 0 && old &&
                   strcmp(old, *(const char *const *)value) == 0;
            H5free_memory(old);
        } else {
            unsigned char old[16];
            size_t n = H5Tget_size(memtype);
            same = n <= sizeof old && H5Aread(aid, memtype, old) >= 0 && !memcmp(old, value, n);
        }
    }
    if (t >= 0)
        H5Tclose(t);
    H5Aclose(aid);
    H5Eclear2(H5E_DEFAULT);
    return same;
}

/* Writes a scalar attribute, replacing one of the same name. A missing obj is created as a group. */
static int write_attr(h5file_t *f, const char *obj, const char *name, hid_t filetype,
                      hid_t memtype, const void *value)
{
    char alias[H5IO_PATH_MAX];
    obj = h5io_alias(f, obj, alias, sizeof alias);
    int rc = check_writable(f, obj);
    if (rc)
        return rc;
    if (!name || !*name)
        return h5io_fail(NN_ERR_RUNTIME, f, obj, "empty attribute name");
    if (!h5io_object_exists(f, obj)) {
        if ((rc = check_parents(f, obj)) != 0)
            return rc;
        hid_t gid = H5Gcreate2(f->fid, obj, f->lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (gid < 0)
            return h5io_fail(NN_ERR_RUNTIME, f, obj, "cannot create group for attribute %s", name);
        H5Gclose(gid);
    }
    hid_t oid = H5Oopen(f->fid, obj, H5P_DEFAULT), space = -1, aid = -1;
    if (oid < 0)
        return h5io_fail(NN_ERR_RUNTIME, f, obj, "cannot open object for attribute %s", name);
    htri_t exists = H5Aexists(oid, name);
    if (exists > 0 && attr_unchanged(oid, name, filetype, memtype, value))
        goto done;
    if (exists < 0 || (exists > 0 && H5Adelete(oid, name) < 0)) {
        rc = h5io_fail(NN_ERR_RUNTIME, f, obj, "cannot replace attribute %s", name);
        goto done;
    }
    space = H5Screate(H5S_SCALAR);
    aid = space < 0 ? -1 : H5Acreate2(oid, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (aid < 0 || H5Awrite(aid, memtype, value) < 0)
        rc = h5io_fail(NN_ERR_RUNTIME, f, obj, "cannot write attribute %s", name);
done:
    if (aid >= 0)
        H5Aclose(aid);
    if (space >= 0)
        H5Sclose(space);
    H5Oclose(oid);
    return rc;
}

/* A NULL value is stored as "". */
int h5_write_attr_str(h5file_t *f, const char *obj, const char *name, const char *value)
{
    const char *v = value ? value : "";
    hid_t t = h5io_vlen_utf8();
    if (t < 0)
        return h5io_fail(NN_ERR_RUNTIME, f, obj, "cannot make string type");
    int rc = write_attr(f, obj, name, t, t, &v);
    H5Tclose(t);
    return rc;
}

int h5_write_attr_int(h5file_t *f, const char *obj, const char *name, long long value)
{
    return write_attr(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &value);
}

int h5_write_attr_double(h5file_t *f, const char *obj, const char *name, double value)
{
    return write_attr(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* ---- dimension scales ---- */

/* netCDF-4's H5DS name of a dimension that has no values (netCDF-C's DIM_WITHOUT_VARIABLE, then
 * the length as "%10d"): netCDF readers (h5netcdf, netCDF-C) name the dimension after the dataset
 * and do not show it as a variable. */
#define NETCDF_DIM_ONLY "This is a netCDF dimension but not a netCDF variable."

/* An existing 1-D dataset becomes a dimension scale with this H5DS name (basename of path when
 * name is NULL or ""); one that already is a scale is left as it is. */
int h5_make_scale(h5file_t *f, const char *path, const char *name)
{
    char alias[H5IO_PATH_MAX];
    path = h5io_alias(f, path, alias, sizeof alias);
    int rc = check_writable(f, path);
    if (rc)
        return rc;
    hid_t did = H5Dopen2(f->fid, path, H5P_DEFAULT);
    if (did < 0)
        return h5io_fail(NN_ERR_RUNTIME, f, path, "cannot open the dataset to make it a scale");
    htri_t is = H5DSis_scale(did);
    if (is < 0 || (is == 0 && H5DSset_scale(did, name && *name ? name : basename_of(path)) < 0))
        rc = h5io_fail(NN_ERR_RUNTIME, f, path, "cannot make it a dimension scale");
    H5Dclose(did);
    return rc;
}

/* The scale's H5DS name is label (the basename of path when label is NULL or ""). */
int h5_write_scale(h5file_t *f, const char *path, size_t n, const double *values, const char *label)
{
    int rc = h5_write_f64(f, path, 1, &n, values);
    return rc ? rc : h5_make_scale(f, path, label);
}

int h5_write_range_scale(h5file_t *f, const char *path, size_t n, int first)
{
    int *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory", path ? path : "");
    for (size_t i = 0; i < n; i++)
        v[i] = first + (int)i;
    int rc = h5_write_i32(f, path, 1, &n, v);
    free(v);
    return rc ? rc : h5_make_scale(f, path, NULL);
}

int h5_write_dimension(h5file_t *f, const char *path, size_t n)
{
    char name[sizeof NETCDF_DIM_ONLY + 24];
    snprintf(name, sizeof name, "%s%10zu", NETCDF_DIM_ONLY, n);
    int rc = write_dataset(f, path, 1, &n, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, no_values);
    return rc ? rc : h5_make_scale(f, path, name);
}

/* Attaches scale to dimension dim of dataset and labels that dimension with the scale's basename.
 * The scale's length must equal the dimension's size. Attaching twice is harmless. */
int h5_attach_scale(h5file_t *f, const char *dataset, int dim, const char *scale)
{
    char alias_d[H5IO_PATH_MAX], alias_s[H5IO_PATH_MAX];
    dataset = h5io_alias(f, dataset, alias_d, sizeof alias_d);
    scale = h5io_alias(f, scale, alias_s, sizeof alias_s);
    int rc = check_writable(f, dataset);
    if (rc)
        return rc;
    if (!scale || !*scale)
        return h5io_fail(NN_ERR_RUNTIME, f, dataset, "no scale named");
    hid_t did = H5Dopen2(f->fid, dataset, H5P_DEFAULT), sid = -1, dspace = -1, sspace = -1;
    if (did < 0)
        return h5io_fail(NN_ERR_RUNTIME, f, dataset, "cannot open dataset to attach %s", scale);
    sid = H5Dopen2(f->fid, scale, H5P_DEFAULT);
    if (sid < 0) {
        rc = h5io_fail(NN_ERR_RUNTIME, f, scale, "cannot open scale to attach to %s", dataset);
        goto done;
    }
    if (H5DSis_scale(sid) <= 0) {
        rc = h5io_fail(NN_ERR_RUNTIME, f, scale, "not a dimension scale (use h5_write_scale)");
        goto done;
    }
    dspace = H5Dget_space(did);
    sspace = H5Dget_space(sid);
    hsize_t dd[H5S_MAX_RANK], sd[H5S_MAX_RANK];
    int drank = dspace < 0 ? -1 : H5Sget_simple_extent_dims(dspace, dd, NULL);
    int srank = sspace < 0 ? -1 : H5Sget_simple_extent_dims(sspace, sd, NULL);
    if (drank < 0 || srank != 1) {
        rc = h5io_fail(NN_ERR_RUNTIME, f, dataset, "cannot read the shapes to attach %s", scale);
        goto done;
    }
    if (dim < 0 || dim >= drank) {
        rc = h5io_fail(NN_ERR_RUNTIME, f, dataset, "dimension %d outside 0..%d", dim, drank - 1);
        goto done;
    }
    if (sd[0] != dd[dim]) {
        rc = h5io_fail(NN_ERR_RUNTIME, f, dataset,
                       "dimension %d has %llu entries but scale %s has %llu", dim,
                       (unsigned long long)dd[dim], scale, (unsigned long long)sd[0]);
        goto done;
    }
    if (H5DSattach_scale(did, sid, (unsigned)dim) < 0) {
        rc = h5io_fail(NN_ERR_RUNTIME, f, dataset, "cannot attach scale %s to dimension %d", scale,
                       dim);
        goto done;
    }
    if (H5DSset_label(did, (unsigned)dim, basename_of(scale)) < 0)
        rc = h5io_fail(NN_ERR_RUNTIME, f, dataset, "cannot label dimension %d", dim);
done:
    if (sspace >= 0)
        H5Sclose(sspace);
    if (dspace >= 0)
        H5Sclose(dspace);
    if (sid >= 0)
        H5Dclose(sid);
    H5Dclose(did);
    return rc;
}

int h5_attach_scales(h5file_t *f, const char *dataset, int n, const char *const *scales)
{
    int rc = 0;
    for (int d = 0; d < n && rc == 0; d++)
        if (scales[d])
            rc = h5_attach_scale(f, dataset, d, scales[d]);
    return rc;
}
