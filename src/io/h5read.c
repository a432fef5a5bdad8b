/* h5read.c - reading results files back (resume, report): existence tests, shapes, whole
 * datasets, scalar attributes, string arrays and group listings. Errors are NN_ERR_INPUT naming
 * the file and object. No partial (hyperslab) reads: callers read whole datasets. */
#include "h5io_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

int h5io_object_exists(const h5file_t *f, const char *path)
{
    if (!f || !path || !*path)
        return 0;
    if (strcmp(path, "/") == 0)
        return 1;
    char *p = strdup(path);
    if (!p)
        return 0;
    int ok = 1;
    /* H5Lexists fails (rather than saying no) when an intermediate group is missing: walk down */
    for (char *s = strchr(p + 1, '/'); ok && s; s = strchr(s + 1, '/')) {
        *s = '\0';
        ok = H5Lexists(f->fid, p, H5P_DEFAULT) > 0;
        *s = '/';
    }
    ok = ok && H5Lexists(f->fid, p, H5P_DEFAULT) > 0 && H5Oexists_by_name(f->fid, p, H5P_DEFAULT) > 0;
    free(p);
    H5Eclear2(H5E_DEFAULT);   /* a "no" is not an error worth reporting later */
    return ok;
}

int h5_exists(h5file_t *f, const char *path, const char *attr)
{
    char alias[H5IO_PATH_MAX];
    path = h5io_alias(f, path, alias, sizeof alias);
    if (!h5io_object_exists(f, path))
        return 0;
    if (!attr)
        return 1;
    int ok = H5Aexists_by_name(f->fid, path, attr, H5P_DEFAULT) > 0;
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

static int check_file(const h5file_t *f, const char *obj)
{
    if (!f)
        return nn_fail(NN_ERR_RUNTIME, "%s: no file", obj ? obj : "h5io");
    if (!obj || !*obj)
        return h5io_fail(NN_ERR_RUNTIME, f, NULL, "empty object path");
    return 0;
}

/* Opens the dataset at path into *did. */
static int open_dataset(h5file_t *f, const char *path, hid_t *did)
{
    char alias[H5IO_PATH_MAX];
    path = h5io_alias(f, path, alias, sizeof alias);
    int rc = check_file(f, path);
    if (rc)
        return rc;
    if (!h5io_object_exists(f, path))
        return h5io_fail(NN_ERR_INPUT, f, path, "no such dataset");
    *did = H5Oopen(f->fid, path, H5P_DEFAULT);
    if (*did < 0)
        return h5io_fail(NN_ERR_INPUT, f, path, "cannot open");
    if (H5Iget_type(*did) != H5I_DATASET) {
        H5Oclose(*did);
        return h5io_fail(NN_ERR_INPUT, f, path, "not a dataset");
    }
    return 0;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integers";
    case H5T_FLOAT: return "floating-point numbers";
    case H5T_STRING: return "strings";
    case H5T_COMPOUND: return "compound values";
    default: return "values of another type";
    }
}

int h5_dims(h5file_t *f, const char *path, int *rank, size_t dims[H5IO_MAX_RANK])
{
    hid_t did = -1;
    char alias[H5IO_PATH_MAX];
    path = h5io_alias(f, path, alias, sizeof alias);   /* so that messages name it too */
    int rc = open_dataset(f, path, &did);
    if (rc)
        return rc;
    hid_t space = H5Dget_space(did);
    int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    hsize_t hd[H5S_MAX_RANK];
    if (r < 0 || H5Sget_simple_extent_dims(space, hd, NULL) < 0)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "cannot read the dataspace");
    else if (r > H5IO_MAX_RANK)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "rank %d exceeds %d", r, H5IO_MAX_RANK);
    else {
        *rank = r;
        for (int i = 0; i < r; i++)
            dims[i] = (size_t)hd[i];
    }
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(did);
    return rc;
}

/* Reads a whole numeric dataset converted to memtype; integer_only refuses floating point. */
static int read_dataset(h5file_t *f, const char *path, hid_t memtype, int integer_only,
                        void *buf, size_t count)
{
    hid_t did = -1;
    char alias[H5IO_PATH_MAX];
    path = h5io_alias(f, path, alias, sizeof alias);   /* so that messages name it too */
    int rc = open_dataset(f, path, &did);
    if (rc)
        return rc;
    hid_t type = H5Dget_type(did), space = H5Dget_space(did);
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (type < 0 || n < 0)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "cannot read type and size");
    else if (cls != H5T_INTEGER && (integer_only || cls != H5T_FLOAT))
        rc = h5io_fail(NN_ERR_INPUT, f, path, "holds %s, expected %s", class_name(cls),
                       integer_only ? "integers" : "numbers");
    else if ((size_t)n != count)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "has %lld elements, expected %zu", (long long)n,
                       count);
    else if (count > 0 && !buf)
        rc = h5io_fail(NN_ERR_RUNTIME, f, path, "no buffer");
    else if (count > 0 && H5Dread(did, memtype, H5S_ALL, H5S_ALL, h5io_dxpl(), buf) < 0)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "cannot read %zu elements", count);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(did);
    return rc;
}

int h5_read_f64(h5file_t *f, const char *path, double *buf, size_t count)
{
    return read_dataset(f, path, H5T_NATIVE_DOUBLE, 0, buf, count);
}

int h5_read_f32(h5file_t *f, const char *path, float *buf, size_t count)
{
    return read_dataset(f, path, H5T_NATIVE_FLOAT, 0, buf, count);
}

int h5_read_i32(h5file_t *f, const char *path, int *buf, size_t count)
{
    return read_dataset(f, path, H5T_NATIVE_INT, 1, buf, count);
}

int h5_read_u8(h5file_t *f, const char *path, unsigned char *buf, size_t count)
{
    return read_dataset(f, path, H5T_NATIVE_UCHAR, 1, buf, count);
}

/* Reads n strings (variable or fixed length, any padding) from an attribute or a dataset into
 * out[0..n-1], each malloc'd. On failure nothing is left allocated. Returns 0 or -1. */
static int read_strings(hid_t id, int is_attr, hid_t ftype, size_t n, char **out)
{
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (mt < 0 || H5Tset_cset(mt, H5Tget_cset(ftype)) < 0) {
        if (mt >= 0)
            H5Tclose(mt);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (H5Tis_variable_str(ftype) > 0) {
        char **tmp = calloc(n ? n : 1, sizeof *tmp);
        if (!tmp || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
            (is_attr ? H5Aread(id, mt, tmp) : H5Dread(id, mt, H5S_ALL, H5S_ALL, h5io_dxpl(), tmp)) < 0)
            rc = -1;
        for (size_t i = 0; tmp && i < n; i++) {
            if (rc == 0 && !(out[i] = strdup(tmp[i] ? tmp[i] : "")))
                rc = -1;
            if (tmp[i])
                H5free_memory(tmp[i]);
        }
        free(tmp);
    } else {
        size_t sz = H5Tget_size(ftype) + 1;   /* room for the terminator HDF5 adds */
        char *tmp = malloc((n ? n : 1) * sz);
        if (!tmp || H5Tset_size(mt, sz) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
            (is_attr ? H5Aread(id, mt, tmp) : H5Dread(id, mt, H5S_ALL, H5S_ALL, h5io_dxpl(), tmp)) < 0)
            rc = -1;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            tmp[i * sz + sz - 1] = '\0';
            if (!(out[i] = strdup(tmp + i * sz)))
                rc = -1;
        }
        free(tmp);
    }
    H5Tclose(mt);
    if (rc != 0)
        for (size_t i = 0; i < n; i++) {
            free(out[i]);
            out[i] = NULL;
        }
    return rc;
}

/* Reads a 1-D (or any shape, flattened) string dataset into a malloc'd array of malloc'd strings. */
int h5_read_strings(h5file_t *f, const char *path, char ***strings, int *n)
{
    hid_t did = -1;
    char alias[H5IO_PATH_MAX];
    path = h5io_alias(f, path, alias, sizeof alias);   /* so that messages name it too */
    int rc = open_dataset(f, path, &did);
    if (rc)
        return rc;
    hid_t type = H5Dget_type(did), space = H5Dget_space(did);
    hssize_t np = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    char **out = NULL;
    if (type < 0 || np < 0)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "cannot read type and size");
    else if (H5Tget_class(type) != H5T_STRING)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "holds %s, expected strings",
                       class_name(H5Tget_class(type)));
    else if (np > INT_MAX)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "too many strings (%lld)", (long long)np);
    else if (!(out = malloc((np ? (size_t)np : 1) * sizeof *out)))
        rc = nn_fail(NN_ERR_NOMEM, "%s: %s: out of memory", f->path, path);
    else if (read_strings(did, 0, type, (size_t)np, out) != 0)
        rc = h5io_fail(NN_ERR_INPUT, f, path, "cannot read %lld strings", (long long)np);
    if (rc == 0) {
        *strings = out;
        *n = (int)np;
    } else
        free(out);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(did);
    return rc;
}

/* Opens attribute name of obj into *aid, checking it holds exactly one value. */
static int open_scalar_attr(h5file_t *f, const char *obj, const char *name, hid_t *aid)
{
    char alias[H5IO_PATH_MAX];
    obj = h5io_alias(f, obj, alias, sizeof alias);
    int rc = check_file(f, obj);
    if (rc)
        return rc;
    if (!name || !*name)
        return h5io_fail(NN_ERR_RUNTIME, f, obj, "empty attribute name");
    if (!h5io_object_exists(f, obj))
        return h5io_fail(NN_ERR_INPUT, f, obj, "no such object (looking for attribute %s)", name);
    if (H5Aexists_by_name(f->fid, obj, name, H5P_DEFAULT) <= 0)
        return h5io_fail(NN_ERR_INPUT, f, obj, "no attribute %s", name);
    *aid = H5Aopen_by_name(f->fid, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (*aid < 0)
        return h5io_fail(NN_ERR_INPUT, f, obj, "cannot open attribute %s", name);
    hid_t space = H5Aget_space(*aid);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (space >= 0)
        H5Sclose(space);
    if (n != 1) {
        H5Aclose(*aid);
        return h5io_fail(NN_ERR_INPUT, f, obj, "attribute %s has %lld values, expected one", name,
                         (long long)n);
    }
    return 0;
}

int h5_read_attr_str(h5file_t *f, const char *obj, const char *name, char **value)
{
    hid_t aid = -1;
    int rc = open_scalar_attr(f, obj, name, &aid);
    if (rc)
        return rc;
    hid_t type = H5Aget_type(aid);
    if (type < 0 || H5Tget_class(type) != H5T_STRING)
        rc = h5io_fail(NN_ERR_INPUT, f, obj, "attribute %s holds %s, expected a string", name,
                       class_name(type < 0 ? H5T_NO_CLASS : H5Tget_class(type)));
    else if (read_strings(aid, 1, type, 1, value) != 0)
        rc = h5io_fail(NN_ERR_INPUT, f, obj, "cannot read attribute %s", name);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(aid);
    return rc;
}

/* A numeric scalar attribute converted to memtype; integer_only refuses floating point. */
static int read_attr_number(h5file_t *f, const char *obj, const char *name, hid_t memtype,
                            int integer_only, void *value)
{
    hid_t aid = -1;
    int rc = open_scalar_attr(f, obj, name, &aid);
    if (rc)
        return rc;
    hid_t type = H5Aget_type(aid);
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    if (cls != H5T_INTEGER && (integer_only || cls != H5T_FLOAT))
        rc = h5io_fail(NN_ERR_INPUT, f, obj, "attribute %s holds %s, expected %s", name,
                       class_name(cls), integer_only ? "an integer" : "a number");
    else if (H5Aread(aid, memtype, value) < 0)
        rc = h5io_fail(NN_ERR_INPUT, f, obj, "cannot read attribute %s", name);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(aid);
    return rc;
}

int h5_read_attr_int(h5file_t *f, const char *obj, const char *name, long long *value)
{
    return read_attr_number(f, obj, name, H5T_NATIVE_LLONG, 1, value);
}

int h5_read_attr_double(h5file_t *f, const char *obj, const char *name, double *value)
{
    return read_attr_number(f, obj, name, H5T_NATIVE_DOUBLE, 0, value);
}

typedef struct {
    char **names;
    int n, cap;
} names_t;

static herr_t collect_name(hid_t gid, const char *name, const H5L_info_t *info, void *data)
{
    names_t *l = data;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **p = realloc(l->names, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        l->names = p;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(name)))
        return -1;
    l->n++;
    return 0;
}

/* Members in increasing name order (byte-wise, as HDF5's name index sorts); an empty group gives
 * *names = NULL, *n = 0. */
int h5_list(h5file_t *f, const char *group, char ***names, int *n)
{
    char alias[H5IO_PATH_MAX];
    group = h5io_alias(f, group, alias, sizeof alias);
    int rc = check_file(f, group);
    if (rc)
        return rc;
    if (!h5io_object_exists(f, group))
        return h5io_fail(NN_ERR_INPUT, f, group, "no such group");
    hid_t gid = H5Oopen(f->fid, group, H5P_DEFAULT);
    if (gid < 0)
        return h5io_fail(NN_ERR_INPUT, f, group, "cannot open");
    names_t l = {0};
    if (H5Iget_type(gid) != H5I_GROUP)
        rc = h5io_fail(NN_ERR_INPUT, f, group, "not a group");
    else if (H5Literate(gid, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &l) < 0)
        rc = h5io_fail(NN_ERR_INPUT, f, group, "cannot list members");
    H5Oclose(gid);
    if (rc) {
        h5_free_names(l.names, l.n);
        return rc;
    }
    *names = l.names;
    *n = l.n;
    return 0;
}

void h5_free_names(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
