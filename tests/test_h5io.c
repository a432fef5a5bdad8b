/* test_h5io.c - io module: dataset and attribute round trips, chunking and compression (checked
 * through the HDF5 API directly), strings, dimension scales (checked with H5DS and with h5py),
 * netCDF-4 dimensions (with h5netcdf), the atomic create/commit/abandon cycle, error messages for
 * bad files, listing and provenance. */
#include "testlib.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>
#include <zlib.h>

#include "h5io.h"
#include "nn_error.h"
#include "provenance.h"

static char tmpdir[512];

static int setup_dir(void **state)
{
    (void)state;
    test_tmpdir(tmpdir, sizeof tmpdir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *in_tmp(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
    return buf;
}

/* Number of directory entries whose name contains ".tmp." (left-over temporary files). */
static int count_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void assert_msg_has(const char *part)
{
    if (!strstr(nn_errmsg(), part))
        fail_msg("message \"%s\" does not contain \"%s\"", nn_errmsg(), part);
}

static int have_h5py(void)
{
    return system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0;
}

/* Runs a Python script (no single quotes in it) with the file as sys.argv[1]; returns exit code. */
static int run_python(const char *script, const char *file)
{
    size_t len = strlen(script) + strlen(file) + 64;
    char *cmd = malloc(len);
    assert_non_null(cmd);
    snprintf(cmd, len, "/usr/bin/python3 -c '%s' '%s'", script, file);
    int st = system(cmd);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Checks the storage of dataset dset in file through HDF5 directly: datasets of >= 4096 elements
 * are chunked (chunk <= 1 MiB and within the dims) with shuffle and deflate level 4, smaller ones
 * contiguous without filters. */
static void check_layout(const char *file, const char *dset, size_t count)
{
    hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(fid >= 0);
    hid_t did = H5Dopen2(fid, dset, H5P_DEFAULT);
    assert_true(did >= 0);
    hid_t dcpl = H5Dget_create_plist(did), space = H5Dget_space(did), type = H5Dget_type(did);
    assert_true(dcpl >= 0 && space >= 0 && type >= 0);
    int nf = H5Pget_nfilters(dcpl);
    if (count < 4096) {
        assert_int_equal(H5Pget_layout(dcpl), H5D_CONTIGUOUS);
        assert_int_equal(nf, 0);
    } else {
        assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
        hsize_t chunk[H5S_MAX_RANK], dims[H5S_MAX_RANK];
        int rank = H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk);
        assert_int_equal(rank, H5Sget_simple_extent_dims(space, dims, NULL));
        size_t bytes = H5Tget_size(type);
        for (int i = 0; i < rank; i++) {
            assert_true(chunk[i] >= 1 && chunk[i] <= dims[i]);
            bytes *= chunk[i];
        }
        assert_true(bytes <= (1u << 20));
        int shuffle = 0, deflate = 0;
        for (int i = 0; i < nf; i++) {
            unsigned flags, cd[8], config;
            size_t ncd = 8;
            char name[64];
            H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name,
                                             &config);
            if (id == H5Z_FILTER_SHUFFLE)
                shuffle = 1;
            if (id == H5Z_FILTER_DEFLATE) {
                assert_true(ncd >= 1);
                assert_int_equal(cd[0], 1);   /* DEFLATE_LEVEL: fast, for checkpoints */
                deflate = 1;
            }
        }
        assert_true(shuffle && deflate);
    }
    H5Tclose(type);
    H5Sclose(space);
    H5Pclose(dcpl);
    H5Dclose(did);
    H5Fclose(fid);
}

/* ---- datasets ---- */

typedef struct {
    int rank;
    size_t dims[3];
} shape_t;

static const shape_t shapes[] = {
    {1, {7, 0, 0}},    {1, {5000, 0, 0}},   {2, {3, 4, 0}},   {2, {70, 80, 0}},
    {3, {2, 3, 4}},    {3, {20, 16, 16}},   {1, {4095, 0, 0}}, {1, {4096, 0, 0}},
    {2, {1000, 300, 0}},                     /* 2.4 MB of f64: several chunks */
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static size_t shape_count(const shape_t *s)
{
    size_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->dims[i];
    return n;
}

static void test_dataset_roundtrip(void **state)
{
    (void)state;
    char file[600], name[64];
    in_tmp(file, sizeof file, "data.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    for (size_t s = 0; s < NSHAPES; s++) {
        size_t n = shape_count(&shapes[s]);
        double *d = malloc(n * sizeof *d);
        float *x = malloc(n * sizeof *x);
        int *k = malloc(n * sizeof *k);
        unsigned char *u = malloc(n);
        assert_true(d && x && k && u);
        for (size_t i = 0; i < n; i++) {
            d[i] = sin((double)i + s) * 1e3 + 1e-9 * (double)i;
            x[i] = (float)cos((double)i * 0.37 + s);
            k[i] = (int)(i * 2654435761u % 2000000) - 1000000;
            u[i] = (unsigned char)(i * 7 + s);
        }
        snprintf(name, sizeof name, "/d/s%zu/f64", s);
        assert_int_equal(h5_write_f64(f, name, shapes[s].rank, shapes[s].dims, d), 0);
        snprintf(name, sizeof name, "/d/s%zu/f32", s);
        assert_int_equal(h5_write_f32(f, name, shapes[s].rank, shapes[s].dims, x), 0);
        snprintf(name, sizeof name, "/d/s%zu/i32", s);
        assert_int_equal(h5_write_i32(f, name, shapes[s].rank, shapes[s].dims, k), 0);
        snprintf(name, sizeof name, "/d/s%zu/u8", s);
        assert_int_equal(h5_write_u8(f, name, shapes[s].rank, shapes[s].dims, u), 0);
        free(d), free(x), free(k), free(u);
    }
    assert_int_equal(h5_commit(&f), 0);
    assert_null(f);

    f = h5_open(file);
    assert_non_null(f);
    for (size_t s = 0; s < NSHAPES; s++) {
        size_t n = shape_count(&shapes[s]);
        double *d = malloc(n * sizeof *d);
        float *x = malloc(n * sizeof *x);
        int *k = malloc(n * sizeof *k);
        unsigned char *u = malloc(n);
        assert_true(d && x && k && u);
        const char *kinds[] = {"f64", "f32", "i32", "u8"};
        for (int t = 0; t < 4; t++) {
            int rank = -1;
            size_t dims[H5IO_MAX_RANK];
            snprintf(name, sizeof name, "/d/s%zu/%s", s, kinds[t]);
            assert_int_equal(h5_dims(f, name, &rank, dims), 0);
            assert_int_equal(rank, shapes[s].rank);
            for (int i = 0; i < rank; i++)
                assert_int_equal(dims[i], shapes[s].dims[i]);
        }
        snprintf(name, sizeof name, "/d/s%zu/f64", s);
        assert_int_equal(h5_read_f64(f, name, d, n), 0);
        snprintf(name, sizeof name, "/d/s%zu/f32", s);
        assert_int_equal(h5_read_f32(f, name, x, n), 0);
        snprintf(name, sizeof name, "/d/s%zu/i32", s);
        assert_int_equal(h5_read_i32(f, name, k, n), 0);
        snprintf(name, sizeof name, "/d/s%zu/u8", s);
        assert_int_equal(h5_read_u8(f, name, u, n), 0);
        for (size_t i = 0; i < n; i++) {   /* lossless storage: bit-exact */
            if (d[i] != sin((double)i + s) * 1e3 + 1e-9 * (double)i)
                fail_msg("shape %zu f64[%zu] = %.17g", s, i, d[i]);
            if (x[i] != (float)cos((double)i * 0.37 + s))
                fail_msg("shape %zu f32[%zu] = %.9g", s, i, (double)x[i]);
            if (k[i] != (int)(i * 2654435761u % 2000000) - 1000000)
                fail_msg("shape %zu i32[%zu] = %d", s, i, k[i]);
            if (u[i] != (unsigned char)(i * 7 + s))
                fail_msg("shape %zu u8[%zu] = %d", s, i, u[i]);
        }
        free(d), free(x), free(k), free(u);
    }
    h5_close(&f);
    assert_null(f);

    for (size_t s = 0; s < NSHAPES; s++) {
        const char *kinds[] = {"f64", "f32", "i32", "u8"};
        for (int t = 0; t < 4; t++) {
            snprintf(name, sizeof name, "/d/s%zu/%s", s, kinds[t]);
            check_layout(file, name, shape_count(&shapes[s]));
        }
    }
    /* compression does something: a 5000-element u8 ramp (period 256) shrinks */
    hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t did = H5Dopen2(fid, "/d/s1/u8", H5P_DEFAULT);
    assert_true(H5Dget_storage_size(did) < 5000 / 2);
    H5Dclose(did);
    H5Fclose(fid);
}

static void test_dataset_overwrite(void **state)
{
    (void)state;
    char file[600];
    in_tmp(file, sizeof file, "overwrite.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {6, 5, 4, 3, 2, 1}, c[2] = {7, 8}, r[6];
    size_t d23[2] = {2, 3}, d2[1] = {2};
    int k[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(h5_write_f64(f, "/x", 2, d23, a), 0);
    assert_int_equal(h5_write_attr_str(f, "/x", "units", "m"), 0);
    assert_int_equal(h5_write_f64(f, "/x", 2, d23, b), 0);   /* same shape: in place */
    assert_int_equal(h5_write_f64(f, "/y", 2, d23, a), 0);
    assert_int_equal(h5_write_f64(f, "/y", 1, d2, c), 0);    /* new shape: replaced */
    assert_int_equal(h5_write_f64(f, "/z", 2, d23, a), 0);
    assert_int_equal(h5_write_i32(f, "/z", 2, d23, k), 0);   /* new type: replaced */
    assert_int_equal(h5_write_attr_int(f, "/g", "n", 1), 0); /* a group ... */
    assert_int_not_equal(h5_write_f64(f, "/g", 1, d2, c), 0); /* ... is not replaced by data */
    assert_msg_has("/g");
    assert_int_equal(h5_write_f64(f, "/x/below", 1, d2, c), NN_ERR_RUNTIME); /* under a dataset */
    assert_msg_has("/x is not a group");
    assert_int_equal(h5_write_attr_int(f, "/x/below/deeper", "a", 1), NN_ERR_RUNTIME);
    assert_msg_has("/x is not a group");
    assert_int_equal(h5_commit(&f), 0);

    f = h5_open(file);
    assert_non_null(f);
    assert_int_equal(h5_read_f64(f, "/x", r, 6), 0);
    for (int i = 0; i < 6; i++)
        assert_true(r[i] == b[i]);
    char *units = NULL;
    assert_int_equal(h5_read_attr_str(f, "/x", "units", &units), 0);
    assert_string_equal(units, "m");
    free(units);
    assert_int_equal(h5_read_f64(f, "/y", r, 2), 0);
    assert_true(r[0] == 7 && r[1] == 8);
    int rk[6];
    assert_int_equal(h5_read_i32(f, "/z", rk, 6), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(rk[i], k[i]);
    /* writing to a file opened for reading is refused */
    assert_int_not_equal(h5_write_f64(f, "/w", 1, d2, c), 0);
    assert_msg_has("read-only");
    h5_close(&f);
}

/* ---- attributes and strings ---- */

static void test_attributes(void **state)
{
    (void)state;
    char file[600];
    in_tmp(file, sizeof file, "attrs.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    size_t n3[1] = {3};
    double v[3] = {1, 2, 3};
    assert_int_equal(h5_write_f64(f, "/data/v", 1, n3, v), 0);
    const char *objs[] = {"/", "/grp/sub", "/data/v"};   /* root, a new group, a dataset */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h5_write_attr_str(f, objs[i], "s", "first"), 0);
        assert_int_equal(h5_write_attr_int(f, objs[i], "i", 1), 0);
        assert_int_equal(h5_write_attr_double(f, objs[i], "d", 0.5), 0);
        /* overwrite: same type, then a different type under the same name */
        assert_int_equal(h5_write_attr_str(f, objs[i], "s", "second, longer value"), 0);
        assert_int_equal(h5_write_attr_int(f, objs[i], "i", LLONG_MIN), 0);
        assert_int_equal(h5_write_attr_double(f, objs[i], "d", -1e-300), 0);
        assert_int_equal(h5_write_attr_str(f, objs[i], "t", "text"), 0);
        assert_int_equal(h5_write_attr_int(f, objs[i], "t", LLONG_MAX), 0);
        assert_int_equal(h5_write_attr_str(f, objs[i], "null", NULL), 0);
        assert_int_equal(h5_write_attr_str(f, objs[i], "utf8", "σ_w² ≥ 0"), 0);
    }
    assert_int_equal(h5_commit(&f), 0);

    f = h5_open(file);
    assert_non_null(f);
    for (int i = 0; i < 3; i++) {
        char *s = NULL;
        long long k = 0;
        double d = 0;
        assert_int_equal(h5_read_attr_str(f, objs[i], "s", &s), 0);
        assert_string_equal(s, "second, longer value");
        free(s);
        assert_int_equal(h5_read_attr_int(f, objs[i], "i", &k), 0);
        assert_true(k == LLONG_MIN);
        assert_int_equal(h5_read_attr_double(f, objs[i], "d", &d), 0);
        assert_true(d == -1e-300);
        assert_int_equal(h5_read_attr_int(f, objs[i], "t", &k), 0);
        assert_true(k == LLONG_MAX);
        assert_int_equal(h5_read_attr_str(f, objs[i], "null", &s), 0);
        assert_string_equal(s, "");
        free(s);
        assert_int_equal(h5_read_attr_str(f, objs[i], "utf8", &s), 0);
        assert_string_equal(s, "σ_w² ≥ 0");
        free(s);
        /* an integer reads as a double; a double does not read as an integer */
        assert_int_equal(h5_read_attr_double(f, objs[i], "t", &d), 0);
        assert_true(d == (double)LLONG_MAX);
        assert_int_equal(h5_read_attr_int(f, objs[i], "d", &k), NN_ERR_INPUT);
        assert_msg_has(file);
        assert_int_equal(h5_read_attr_str(f, objs[i], "i", &s), NN_ERR_INPUT);
        assert_msg_has("expected a string");
        assert_int_equal(h5_read_attr_int(f, objs[i], "missing", &k), NN_ERR_INPUT);
        assert_msg_has(objs[i]);
        assert_msg_has("missing");
        assert_int_equal(h5_exists(f, objs[i], "s"), 1);
        assert_int_equal(h5_exists(f, objs[i], "missing"), 0);
    }
    h5_close(&f);

    /* stored as variable-length UTF-8 strings, 64-bit integers and doubles */
    hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t aid = H5Aopen_by_name(fid, "/grp/sub", "s", H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Aget_type(aid);
    assert_int_equal(H5Tget_class(t), H5T_STRING);
    assert_true(H5Tis_variable_str(t) > 0);
    assert_int_equal(H5Tget_cset(t), H5T_CSET_UTF8);
    H5Tclose(t);
    H5Aclose(aid);
    aid = H5Aopen_by_name(fid, "/", "i", H5P_DEFAULT, H5P_DEFAULT);
    t = H5Aget_type(aid);
    assert_true(H5Tequal(t, H5T_STD_I64LE) > 0);
    H5Tclose(t);
    H5Aclose(aid);
    H5Fclose(fid);
}

/* Writes a fixed-length string attribute with the given padding through HDF5 directly. */
static void raw_fixed_attr(hid_t loc, const char *name, const char *value, size_t size,
                           H5T_str_t pad)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, size);
    H5Tset_strpad(t, pad);
    char buf[64] = {0};
    memcpy(buf, value, strlen(value));
    if (pad == H5T_STR_SPACEPAD)
        for (size_t i = strlen(value); i < size; i++)
            buf[i] = ' ';
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, t, buf) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void test_strings(void **state)
{
    (void)state;
    char file[600], fixed[600];
    in_tmp(file, sizeof file, "strings.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    const char *names[] = {"T-shirt/top", "", NULL, "Ankle boot", "σ²_w, ünïcödé"};
    assert_int_equal(h5_write_strings(f, "/data/classes", 5, names), 0);
    const char *two[] = {"a", "b"}, *two_new[] = {"c", "dd"};
    assert_int_equal(h5_write_strings(f, "/data/two", 2, two), 0);
    assert_int_equal(h5_write_strings(f, "/data/two", 2, two_new), 0);   /* same length */
    assert_int_equal(h5_write_strings(f, "/data/three", 2, two), 0);
    const char *three[] = {"x", "y", "z"};
    assert_int_equal(h5_write_strings(f, "/data/three", 3, three), 0);   /* new length */
    enum { NMANY = 5000 };   /* enough to be chunked and compressed */
    char (*many)[16] = malloc(NMANY * sizeof *many);
    const char **pm = malloc(NMANY * sizeof *pm);
    assert_true(many && pm);
    for (int i = 0; i < NMANY; i++) {
        snprintf(many[i], sizeof many[i], "item %d", i);
        pm[i] = many[i];
    }
    assert_int_equal(h5_write_strings(f, "/data/many", NMANY, pm), 0);
    assert_int_equal(h5_commit(&f), 0);

    f = h5_open(file);
    assert_non_null(f);
    char **s = NULL;
    int n = 0;
    assert_int_equal(h5_read_strings(f, "/data/classes", &s, &n), 0);
    assert_int_equal(n, 5);
    const char *want[] = {"T-shirt/top", "", "", "Ankle boot", "σ²_w, ünïcödé"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(s[i], want[i]);
    h5_free_names(s, n);
    assert_int_equal(h5_read_strings(f, "/data/two", &s, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(s[0], "c");
    assert_string_equal(s[1], "dd");
    h5_free_names(s, n);
    assert_int_equal(h5_read_strings(f, "/data/three", &s, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(s[2], "z");
    h5_free_names(s, n);
    assert_int_equal(h5_read_strings(f, "/data/many", &s, &n), 0);
    assert_int_equal(n, NMANY);
    for (int i = 0; i < NMANY; i++)
        assert_string_equal(s[i], many[i]);
    h5_free_names(s, n);
    free(many);
    free(pm);
    double d[5];
    assert_int_equal(h5_read_f64(f, "/data/classes", d, 5), NN_ERR_INPUT);   /* not numbers */
    assert_msg_has("/data/classes");
    h5_close(&f);

    hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t did = H5Dopen2(fid, "/data/classes", H5P_DEFAULT), t = H5Dget_type(did);
    assert_true(H5Tis_variable_str(t) > 0);
    assert_int_equal(H5Tget_cset(t), H5T_CSET_UTF8);
    H5Tclose(t);
    H5Dclose(did);
    H5Fclose(fid);
    check_layout(file, "/data/many", NMANY);
    check_layout(file, "/data/classes", 5);

    /* fixed-length strings written by other tools (any padding) read back too */
    in_tmp(fixed, sizeof fixed, "fixed.h5");
    fid = H5Fcreate(fixed, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    raw_fixed_attr(fid, "nullterm", "abc", 8, H5T_STR_NULLTERM);
    raw_fixed_attr(fid, "nullpad", "abcd", 4, H5T_STR_NULLPAD);   /* exactly full, no NUL */
    raw_fixed_attr(fid, "spacepad", "abc", 6, H5T_STR_SPACEPAD);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, 3);
    H5Tset_strpad(st, H5T_STR_NULLPAD);
    hsize_t n2 = 2;
    hid_t sp = H5Screate_simple(1, &n2, NULL);
    did = H5Dcreate2(fid, "fixed", st, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Dwrite(did, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, "xyzp\0\0") >= 0);
    H5Dclose(did);
    H5Sclose(sp);
    H5Tclose(st);
    H5Fclose(fid);
    f = h5_open(fixed);
    assert_non_null(f);
    char *v = NULL;
    assert_int_equal(h5_read_attr_str(f, "/", "nullterm", &v), 0);
    assert_string_equal(v, "abc");
    free(v);
    assert_int_equal(h5_read_attr_str(f, "/", "nullpad", &v), 0);
    assert_string_equal(v, "abcd");
    free(v);
    assert_int_equal(h5_read_attr_str(f, "/", "spacepad", &v), 0);
    assert_string_equal(v, "abc");
    free(v);
    assert_int_equal(h5_read_strings(f, "/fixed", &s, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(s[0], "xyz");
    assert_string_equal(s[1], "p");
    h5_free_names(s, n);
    h5_close(&f);
}

/* ---- dimension scales ---- */

static void test_dimension_scales(void **state)
{
    (void)state;
    char file[600];
    in_tmp(file, sizeof file, "scales.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    double depth[3] = {1, 2, 3}, sw[4] = {0.5, 1, 1.5, 2}, sb[5] = {0, 0.1, 0.2, 0.3, 0.4};
    double acc[60];
    for (int i = 0; i < 60; i++)
        acc[i] = i / 60.0;
    size_t dims[3] = {3, 4, 5};
    assert_int_equal(h5_write_scale(f, "/nngp/depth", 3, depth, "depth L"), 0);
    assert_int_equal(h5_write_scale(f, "/nngp/sigma_w2", 4, sw, "sigma_w^2"), 0);
    assert_int_equal(h5_write_scale(f, "/nngp/sigma_b2", 5, sb, NULL), 0);
    assert_int_equal(h5_write_f64(f, "/nngp/test_accuracy", 3, dims, acc), 0);
    assert_int_equal(h5_attach_scale(f, "/nngp/test_accuracy", 0, "/nngp/depth"), 0);
    assert_int_equal(h5_attach_scale(f, "/nngp/test_accuracy", 1, "/nngp/sigma_w2"), 0);
    assert_int_equal(h5_attach_scale(f, "/nngp/test_accuracy", 2, "/nngp/sigma_b2"), 0);
    assert_int_equal(h5_attach_scale(f, "/nngp/test_accuracy", 2, "/nngp/sigma_b2"), 0); /* again */
    /* rewriting the data, or a scale, with the same shape keeps the scales attached */
    assert_int_equal(h5_write_f64(f, "/nngp/test_accuracy", 3, dims, acc), 0);
    sw[3] = 2.5;
    assert_int_equal(h5_write_scale(f, "/nngp/sigma_w2", 4, sw, "sigma_w^2"), 0);

    /* refusals: wrong length, not a scale, dimension out of range, resizing an attached scale */
    assert_int_equal(h5_attach_scale(f, "/nngp/test_accuracy", 0, "/nngp/sigma_w2"), NN_ERR_RUNTIME);
    assert_msg_has("/nngp/test_accuracy");
    assert_msg_has("/nngp/sigma_w2");
    size_t d3[1] = {3};
    assert_int_equal(h5_write_f64(f, "/nngp/plain", 1, d3, depth), 0);
    assert_int_equal(h5_attach_scale(f, "/nngp/test_accuracy", 0, "/nngp/plain"), NN_ERR_RUNTIME);
    assert_msg_has("not a dimension scale");
    assert_int_equal(h5_attach_scale(f, "/nngp/test_accuracy", 3, "/nngp/depth"), NN_ERR_RUNTIME);
    assert_int_equal(h5_write_scale(f, "/nngp/depth", 2, depth, "depth L"), NN_ERR_RUNTIME);
    assert_msg_has("/nngp/depth");

    /* replacing a dataset by one of another shape detaches its scales first */
    double e[3] = {1, 2, 3};
    assert_int_equal(h5_write_scale(f, "/other/s", 3, e, "s"), 0);
    assert_int_equal(h5_write_f64(f, "/other/v", 1, d3, e), 0);
    assert_int_equal(h5_attach_scale(f, "/other/v", 0, "/other/s"), 0);
    size_t d13[2] = {1, 3};
    assert_int_equal(h5_write_f64(f, "/other/v", 2, d13, e), 0);
    assert_int_equal(h5_commit(&f), 0);

    hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t did = H5Dopen2(fid, "/nngp/test_accuracy", H5P_DEFAULT);
    const char *scales[3] = {"/nngp/depth", "/nngp/sigma_w2", "/nngp/sigma_b2"};
    const char *labels[3] = {"depth", "sigma_w2", "sigma_b2"};
    for (unsigned d = 0; d < 3; d++) {
        hid_t sid = H5Dopen2(fid, scales[d], H5P_DEFAULT);
        assert_true(H5DSis_scale(sid) > 0);
        assert_true(H5DSis_attached(did, sid, d) > 0);
        assert_int_equal(H5DSget_num_scales(did, d), 1);
        char label[64] = "";
        assert_true(H5DSget_label(did, d, label, sizeof label) > 0);
        assert_string_equal(label, labels[d]);
        H5Dclose(sid);
    }
    char sname[64] = "";
    hid_t sid = H5Dopen2(fid, "/nngp/sigma_b2", H5P_DEFAULT);
    assert_true(H5DSget_scale_name(sid, sname, sizeof sname) > 0);
    assert_string_equal(sname, "sigma_b2");   /* NULL label: the basename */
    H5Dclose(sid);
    H5Dclose(did);
    sid = H5Dopen2(fid, "/other/s", H5P_DEFAULT);
    assert_int_equal(H5Aexists(sid, "REFERENCE_LIST"), 0);   /* no stale back-reference */
    H5Dclose(sid);
    H5Fclose(fid);

    if (!have_h5py()) {
        print_message("h5py not importable by /usr/bin/python3: skipping the h5py check\n");
        return;
    }
    const char *py =
        "import sys, h5py\n"
        "f = h5py.File(sys.argv[1], \"r\")\n"
        "d = f[\"/nngp/test_accuracy\"]\n"
        "want = [(\"/nngp/depth\", \"depth\", \"depth L\"), (\"/nngp/sigma_w2\", \"sigma_w2\", "
        "\"sigma_w^2\"), (\"/nngp/sigma_b2\", \"sigma_b2\", \"sigma_b2\")]\n"
        "for i, (path, label, name) in enumerate(want):\n"
        "    assert d.dims[i][0].name == path, (i, d.dims[i][0].name)\n"
        "    assert d.dims[i].label == label, (i, d.dims[i].label)\n"
        "    assert list(d.dims[i].keys()) == [name], (i, list(d.dims[i].keys()))\n"
        "assert list(d.dims[1][0][:]) == [0.5, 1.0, 1.5, 2.5]\n"
        "assert len(f[\"/other/v\"].dims[0]) == 0\n";
    assert_int_equal(run_python(py, file), 0);
}

/* netCDF-4 style dimensions in an in-memory file saved twice (objects made once, values
 * rewritten): an integer coordinate, a string coordinate made from an existing dataset, and a
 * dimension without values; checked through HDF5 and, where installed, with h5netcdf (the reader
 * xarray uses), which must name every dimension without phony_dims. */
static void test_netcdf_dimensions(void **state)
{
    (void)state;
    char file[600];
    in_tmp(file, sizeof file, "dims.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    const char *names[2] = {"gram", "solve"};
    const char *dims[3] = {"/g/depth", "/g/phase", "/g/target"};
    size_t shape[3] = {3, 2, 4}, n = 3;
    double v[24];
    for (int gen = 0; gen < 2; gen++) {
        for (int i = 0; i < 24; i++)
            v[i] = gen * 100 + i;
        assert_int_equal(h5_write_f64(f, "/g/values", 3, shape, v), 0);
        assert_int_equal(h5_write_f64(f, "/g/per_depth", 1, &n, v), 0);
        if (gen == 0) {
            assert_int_equal(h5_write_range_scale(f, "/g/depth", 3, 1), 0);
            assert_int_equal(h5_write_strings(f, "/g/phase", 2, names), 0);
            assert_int_equal(h5_make_scale(f, "/g/phase", NULL), 0);
            assert_int_equal(h5_make_scale(f, "/g/phase", "ignored"), 0);   /* already one */
            assert_int_equal(h5_write_dimension(f, "/g/target", 4), 0);
            assert_int_equal(h5_attach_scales(f, "/g/values", 3, dims), 0);
            const char *skip[2] = {"/g/depth", NULL};
            assert_int_equal(h5_attach_scales(f, "/g/per_depth", 2, skip), 0);   /* NULL: none */
        }
        assert_int_equal(h5_save(f, 0), 0);
    }
    assert_int_equal(h5_make_scale(f, "/g/missing", NULL), NN_ERR_RUNTIME);
    assert_msg_has("/g/missing");
    /* a scale of 4 on a dimension of 3 */
    assert_int_equal(h5_attach_scales(f, "/g/per_depth", 1, dims + 2), NN_ERR_RUNTIME);
    assert_msg_has("/g/target");
    h5_close(&f);

    hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(fid >= 0);
    hid_t did = H5Dopen2(fid, "/g/depth", H5P_DEFAULT);
    int depth[3];
    assert_true(H5Dread(did, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, depth) >= 0);
    assert_true(depth[0] == 1 && depth[1] == 2 && depth[2] == 3);
    H5Dclose(did);
    const char *want[3] = {"depth", "phase",
                           "This is a netCDF dimension but not a netCDF variable.         4"};
    for (int k = 0; k < 3; k++) {   /* the H5DS names */
        char name[128] = "";
        did = H5Dopen2(fid, dims[k], H5P_DEFAULT);
        assert_true(H5DSget_scale_name(did, name, sizeof name) > 0);
        assert_string_equal(name, want[k]);
        if (k == 2)
            assert_true(H5Dget_storage_size(did) == 0);   /* no values stored */
        H5Dclose(did);
    }
    did = H5Dopen2(fid, "/g/per_depth", H5P_DEFAULT);
    assert_int_equal(H5DSget_num_scales(did, 0), 1);
    H5Dclose(did);
    H5Fclose(fid);

    if (system("/usr/bin/python3 -c 'import h5netcdf' >/dev/null 2>&1") != 0) {
        print_message("h5netcdf not importable by /usr/bin/python3: skipping the h5netcdf check\n");
        return;
    }
    const char *py =
        "import sys, h5netcdf\n"
        "f = h5netcdf.File(sys.argv[1], \"r\", decode_vlen_strings=True)\n"
        "g = f[\"g\"]\n"
        "want = [\"depth\", \"per_depth\", \"phase\", \"values\"]\n"
        "assert sorted(g.variables) == want, list(g.variables)\n"
        "assert g.variables[\"values\"].dimensions == (\"depth\", \"phase\", \"target\")\n"
        "assert g.variables[\"per_depth\"].dimensions == (\"depth\",)\n"
        "assert g.variables[\"depth\"][:].tolist() == [1, 2, 3]\n"
        "assert g.variables[\"values\"][2, 1, 3] == 123.0\n"
        "assert g.variables[\"phase\"][:].tolist() == [\"gram\", \"solve\"]\n"
        "assert len(g.dimensions[\"target\"]) == 4\n";
    assert_int_equal(run_python(py, file), 0);
}

/* ---- atomic create / commit / abandon ---- */

static void test_atomic_commit(void **state)
{
    (void)state;
    char dir[600], file[700];
    in_tmp(dir, sizeof dir, "new/nested");   /* neither directory exists yet */
    snprintf(file, sizeof file, "%s/results.h5", dir);
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    assert_int_equal(access(file, F_OK), -1);          /* nothing visible before commit */
    assert_int_equal(count_tmp_files(dir), 0);         /* in memory: nothing on disk at all */
    assert_int_equal(h5_write_attr_int(f, "/", "generation", 1), 0);
    assert_int_equal(h5_commit(&f), 0);
    assert_int_equal(count_tmp_files(dir), 0);

    /* an abandoned rewrite leaves the old file readable and unchanged, and no temporary */
    f = h5_create(file);
    assert_non_null(f);
    assert_int_equal(h5_write_attr_int(f, "/", "generation", 2), 0);
    h5_close(&f);
    assert_null(f);
    assert_int_equal(count_tmp_files(dir), 0);
    long long g = 0;
    h5file_t *r = h5_open(file);
    assert_non_null(r);
    assert_int_equal(h5_read_attr_int(r, "/", "generation", &g), 0);
    assert_int_equal(g, 1);
    h5_close(&r);

    /* while a rewrite is in progress the old content stays visible; after commit the new one */
    f = h5_create(file);
    assert_non_null(f);
    assert_int_equal(h5_write_attr_int(f, "/", "generation", 3), 0);
    r = h5_open(file);
    assert_non_null(r);
    assert_int_equal(h5_read_attr_int(r, "/", "generation", &g), 0);
    assert_int_equal(g, 1);
    h5_close(&r);
    assert_int_equal(h5_commit(&f), 0);
    assert_int_equal(count_tmp_files(dir), 0);
    r = h5_open(file);
    assert_non_null(r);
    assert_int_equal(h5_read_attr_int(r, "/", "generation", &g), 0);
    assert_int_equal(g, 3);
    h5_close(&r);

    h5_close(NULL);   /* NULL is accepted */
    h5_close(&r);
}

static void test_create_and_commit_failures(void **state)
{
    (void)state;
    char blocker[600], file[700], dirpath[600];
    /* the parent "directory" is a regular file: h5_create fails naming the path */
    in_tmp(blocker, sizeof blocker, "blocker");
    FILE *fp = fopen(blocker, "w");
    assert_non_null(fp);
    fputs("not a directory\n", fp);
    fclose(fp);
    snprintf(file, sizeof file, "%s/x.h5", blocker);
    assert_null(h5_create(file));
    assert_msg_has(file);

    /* the target is a directory: rename fails, the temporary is removed, the directory stays */
    in_tmp(dirpath, sizeof dirpath, "target.h5");
    assert_int_equal(mkdir(dirpath, 0777), 0);
    snprintf(file, sizeof file, "%s/keep", dirpath);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    h5file_t *f = h5_create(dirpath);
    assert_non_null(f);
    assert_int_equal(h5_write_attr_int(f, "/", "x", 1), 0);
    assert_int_equal(h5_commit(&f), NN_ERR_RUNTIME);
    assert_null(f);
    assert_msg_has(dirpath);
    assert_int_equal(count_tmp_files(tmpdir), 0);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(h5_commit(NULL), NN_ERR_RUNTIME);
}

/* An in-memory file saved many times: each save is a complete file at path (values rewritten in
 * place, attributes and attachments kept); background saves stay in order; a failed save is
 * reported by the next call and loses neither the old file nor a temporary. */
static long long read_generation(const char *file)
{
    long long g = -1;
    h5file_t *r = h5_open(file);
    assert_non_null(r);
    assert_int_equal(h5_read_attr_int(r, "/", "generation", &g), 0);
    h5_close(&r);
    return g;
}

static void test_image_save(void **state)
{
    (void)state;
    char dir[600], file[700];
    in_tmp(dir, sizeof dir, "image");
    snprintf(file, sizeof file, "%s/results.h5", dir);
    assert_int_equal(h5_commit_wait(), 0);   /* nothing in flight */
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    assert_int_equal(count_tmp_files(dir), 0);   /* nothing on disk before the first save */
    assert_int_equal(access(file, F_OK), -1);
    double axis[3] = {1, 2, 3};
    size_t n = 3;
    assert_int_equal(h5_write_scale(f, "/axis", n, axis, "axis"), 0);
    for (int gen = 1; gen <= 5; gen++) {
        double v[3] = {gen, 10.0 * gen, 100.0 * gen};
        assert_int_equal(h5_write_f64(f, "/g/values", 1, &n, v), 0);
        if (gen == 1) {
            assert_int_equal(h5_write_attr_str(f, "/g/values", "description", "kept"), 0);
            assert_int_equal(h5_attach_scale(f, "/g/values", 0, "/axis"), 0);
        }
        assert_int_equal(h5_write_attr_int(f, "/", "generation", gen), 0);
        assert_int_equal(h5_save(f, gen % 2), 0);   /* background and foreground in turn */
        if (gen % 2 == 0)
            assert_int_equal(read_generation(file), gen);   /* a foreground save is on disk */
    }
    assert_int_equal(h5_commit_wait(), 0);
    h5_close(&f);
    assert_int_equal(count_tmp_files(dir), 0);
    assert_int_equal(read_generation(file), 5);
    h5file_t *r = h5_open(file);
    assert_non_null(r);
    double got[3];
    assert_int_equal(h5_read_f64(r, "/g/values", got, 3), 0);
    assert_true(got[0] == 5 && got[1] == 50 && got[2] == 500);
    char *desc = NULL;
    assert_int_equal(h5_read_attr_str(r, "/g/values", "description", &desc), 0);
    assert_string_equal(desc, "kept");
    free(desc);
    h5_close(&r);
    if (have_h5py()) {   /* an independent reader sees the scale attached once */
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import h5py,sys; d=h5py.File(sys.argv[1])"
                 "['/g/values']; sys.exit(0 if len(d.dims[0]) == 1 and d.dims[0][0].name == "
                 "'/axis' else 1)\" '%s'", file);
        assert_int_equal(system(cmd), 0);
    }

    /* the target is a non-empty directory: the background rename fails; the next call reports
     * it once, naming the path, and no temporary is left */
    char target[600], keep[700];
    in_tmp(target, sizeof target, "image-target.h5");
    assert_int_equal(mkdir(target, 0777), 0);
    snprintf(keep, sizeof keep, "%s/keep", target);
    FILE *fp = fopen(keep, "w");
    assert_non_null(fp);
    fclose(fp);
    f = h5_create(target);
    assert_non_null(f);
    assert_int_equal(h5_write_attr_int(f, "/", "x", 1), 0);
    assert_int_equal(h5_save(f, 1), 0);
    nn_error_clear();
    assert_int_equal(h5_save(f, 1), NN_ERR_RUNTIME);
    assert_msg_has(target);
    assert_msg_has("cannot rename");
    assert_int_equal(h5_commit_wait(), 0);   /* reported once */
    assert_int_equal(h5_save(f, 0), NN_ERR_RUNTIME);   /* in the foreground: at once */
    h5_close(&f);
    assert_int_equal(count_tmp_files(tmpdir), 0);
    struct stat st;
    assert_int_equal(stat(keep, &st), 0);

    /* a file closed without a save leaves path as the last save made it */
    f = h5_create(file);
    assert_non_null(f);
    assert_int_equal(h5_write_attr_int(f, "/", "generation", 6), 0);
    h5_close(&f);
    assert_null(f);
    assert_int_equal(read_generation(file), 5);
    assert_int_equal(h5_save(NULL, 0), NN_ERR_RUNTIME);
}

/* The seal: a saved file starts with its length and the CRC-32 of the bytes after the first 512
 * (checked here with zlib directly); h5_open refuses the file once a byte changes, once it is
 * cut short or appended to, each with its own message, and reads it with NNSWEEP_IGNORE_SEAL. */
static void test_seal(void **state)
{
    (void)state;
    char file[600];
    in_tmp(file, sizeof file, "sealed.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    double v[3] = {1, 2, 3};
    size_t n = 3;
    assert_int_equal(h5_write_f64(f, "/v", 1, &n, v), 0);
    assert_int_equal(h5_commit(&f), 0);

    FILE *fp = fopen(file, "rb");
    assert_non_null(fp);
    static unsigned char bytes[1 << 16];
    size_t size = fread(bytes, 1, sizeof bytes, fp);
    fclose(fp);
    assert_true(size > 512 && size < sizeof bytes);
    unsigned long long stated_size = 0;
    unsigned long stated_crc = 0;
    assert_int_equal(sscanf((const char *)bytes, "nnsweep sealed file v1\nbytes=%llu\ncrc32=%lx",
                            &stated_size, &stated_crc), 2);
    assert_int_equal(stated_size, size);
    assert_int_equal(stated_crc, crc32(crc32(0L, Z_NULL, 0), bytes + 512, (uInt)(size - 512)));

    char copy[700];
    snprintf(copy, sizeof copy, "%s.copy", file);
    struct { size_t at; long truncate_to; const char *says; } cases[] = {
        {size / 2, -1, "damaged: its content does not match the CRC-32"},
        {size - 1, -1, "damaged: its content does not match the CRC-32"},
        {0, (long)size - 10, "damaged: truncated"},
        {0, (long)size + 1, "bytes where nnsweep wrote"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fp = fopen(copy, "wb");
        assert_non_null(fp);
        unsigned char saved = bytes[cases[k].at];
        if (cases[k].truncate_to < 0)
            bytes[cases[k].at] ^= 0x5a;
        size_t len = cases[k].truncate_to < 0 ? size : (size_t)cases[k].truncate_to;
        assert_int_equal(fwrite(bytes, 1, len, fp), len);
        fclose(fp);
        bytes[cases[k].at] = saved;
        nn_error_clear();
        assert_null(h5_open(copy));
        assert_msg_has(copy);
        assert_msg_has(cases[k].says);
    }
    setenv("NNSWEEP_IGNORE_SEAL", "1", 1);   /* the last copy: one byte appended */
    h5file_t *r = h5_open(copy);
    unsetenv("NNSWEEP_IGNORE_SEAL");
    assert_non_null(r);
    double got[3];
    assert_int_equal(h5_read_f64(r, "/v", got, 3), 0);
    assert_true(got[0] == 1 && got[2] == 3);
    h5_close(&r);
}

/* ---- reading errors ---- */

static void test_open_errors(void **state)
{
    (void)state;
    char missing[600], text[600];
    in_tmp(missing, sizeof missing, "does-not-exist.h5");
    nn_error_clear();
    assert_null(h5_open(missing));
    assert_msg_has(missing);
    assert_msg_has("No such file or directory");

    in_tmp(text, sizeof text, "text.h5");
    FILE *fp = fopen(text, "w");
    assert_non_null(fp);
    fputs("[job]\nkind = nngp\n", fp);
    fclose(fp);
    nn_error_clear();
    assert_null(h5_open(text));
    assert_msg_has(text);
    assert_msg_has("not an HDF5 file");

    in_tmp(text, sizeof text, "empty.h5");
    fp = fopen(text, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_null(h5_open(text));
    assert_msg_has("not an HDF5 file");
    assert_null(h5_open(tmpdir));   /* a directory */
    assert_msg_has(tmpdir);
}

static void test_read_errors(void **state)
{
    (void)state;
    char file[600];
    in_tmp(file, sizeof file, "errors.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    double v[6] = {0};
    size_t d23[2] = {2, 3};
    assert_int_equal(h5_write_f64(f, "/a/v", 2, d23, v), 0);
    assert_int_equal(h5_write_f64(f, "/bad", 0, d23, v), NN_ERR_RUNTIME);   /* rank 0 */
    assert_int_equal(h5_write_f64(f, "/bad", H5IO_MAX_RANK + 1, d23, v), NN_ERR_RUNTIME);
    assert_int_equal(h5_commit(&f), 0);

    f = h5_open(file);
    assert_non_null(f);
    double buf[7];
    assert_int_equal(h5_read_f64(f, "/a/v", buf, 5), NN_ERR_INPUT);
    assert_msg_has(file);
    assert_msg_has("/a/v");
    assert_msg_has("has 6 elements, expected 5");
    assert_int_equal(h5_read_f64(f, "/a/v", buf, 7), NN_ERR_INPUT);
    int k[6];
    assert_int_equal(h5_read_i32(f, "/a/v", k, 6), NN_ERR_INPUT);   /* floats as integers */
    assert_msg_has("expected integers");
    assert_int_equal(h5_read_f64(f, "/a/missing", buf, 6), NN_ERR_INPUT);
    assert_msg_has("/a/missing");
    assert_int_equal(h5_read_f64(f, "/nope/deeper/x", buf, 6), NN_ERR_INPUT);
    assert_msg_has("no such dataset");
    assert_int_equal(h5_read_f64(f, "/a", buf, 6), NN_ERR_INPUT);   /* a group */
    assert_msg_has("not a dataset");
    int rank;
    size_t dims[H5IO_MAX_RANK];
    assert_int_equal(h5_dims(f, "/a/missing", &rank, dims), NN_ERR_INPUT);
    assert_msg_has(file);
    h5_close(&f);
}

static void test_list_and_exists(void **state)
{
    (void)state;
    char file[600];
    in_tmp(file, sizeof file, "list.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    double v[1] = {1};
    size_t d1[1] = {1};
    const char *created[] = {"/g/zeta", "/g/alpha", "/g/c10", "/g/c2", "/g/Beta", "/g/sub/x"};
    for (int i = 0; i < 6; i++)
        assert_int_equal(h5_write_f64(f, created[i], 1, d1, v), 0);
    assert_int_equal(h5_write_attr_int(f, "/empty", "n", 0), 0);
    assert_int_equal(h5_commit(&f), 0);

    f = h5_open(file);
    assert_non_null(f);
    char **names = NULL;
    int n = -1;
    assert_int_equal(h5_list(f, "/g", &names, &n), 0);
    const char *want[] = {"Beta", "alpha", "c10", "c2", "sub", "zeta"};   /* byte order */
    assert_int_equal(n, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(names[i], want[i]);
    h5_free_names(names, n);
    assert_int_equal(h5_list(f, "/", &names, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "empty");
    assert_string_equal(names[1], "g");
    h5_free_names(names, n);
    assert_int_equal(h5_list(f, "/empty", &names, &n), 0);
    assert_int_equal(n, 0);
    h5_free_names(names, n);
    assert_int_equal(h5_list(f, "/g/zeta", &names, &n), NN_ERR_INPUT);
    assert_msg_has("not a group");
    assert_int_equal(h5_list(f, "/missing", &names, &n), NN_ERR_INPUT);
    assert_msg_has("/missing");
    h5_free_names(NULL, 0);

    assert_int_equal(h5_exists(f, "/", NULL), 1);
    assert_int_equal(h5_exists(f, "/g", NULL), 1);
    assert_int_equal(h5_exists(f, "/g/sub/x", NULL), 1);
    assert_int_equal(h5_exists(f, "/g/sub/y", NULL), 0);
    assert_int_equal(h5_exists(f, "/no/such/path", NULL), 0);
    assert_int_equal(h5_exists(f, "/g/zeta/below", NULL), 0);   /* below a dataset */
    assert_int_equal(h5_exists(f, "/empty", "n"), 1);
    assert_int_equal(h5_exists(f, "/nowhere", "n"), 0);
    h5_close(&f);
}

/* ---- provenance ---- */

static void test_provenance(void **state)
{
    (void)state;
    char now[32];
    assert_ptr_equal(provenance_now(now, sizeof now), now);
    assert_int_equal(strlen(now), 20);   /* YYYY-MM-DDTHH:MM:SSZ */
    for (int i = 0; i < 20; i++) {
        const char *shape = "dddd-dd-ddTdd:dd:ddZ";
        if (shape[i] == 'd')
            assert_true(now[i] >= '0' && now[i] <= '9');
        else
            assert_int_equal(now[i], shape[i]);
    }
    assert_true(strncmp(now, "20", 2) == 0);
    char tiny[4] = "xyz";
    provenance_now(tiny, sizeof tiny);   /* too small: empty, not overrun */
    assert_string_equal(tiny, "");
    assert_true(strncmp(provenance_compiler(), "gcc ", 4) == 0 ||
                strncmp(provenance_compiler(), "clang ", 6) == 0);
    assert_true(strlen(provenance_commit()) > 0);

    char file[600];
    in_tmp(file, sizeof file, "prov.h5");
    h5file_t *f = h5_create(file);
    assert_non_null(f);
    provenance_t p = {
        .command_line = "nnsweep nngp job.ini --out r.h5",
        .job_path = "job.ini",
        .job_text = "[job]\nkind = nngp\n# σ_w² sweep\n",
        .mpi_size = 4,
        .group_size = 2,
        .process_grid = "1x2",
        .hostnames = "node1,node2",
        .start_time = now,
        .end_time = NULL,   /* written as "" */
        .state = "running",
    };
    setenv("SLURM_JOB_ID", "123456", 1);
    assert_int_equal(provenance_write(f, &p), 0);
    unsetenv("SLURM_JOB_ID");
    p.state = "complete";
    p.end_time = now;
    assert_int_equal(provenance_write(f, &p), 0);   /* rewriting replaces every attribute */
    assert_int_equal(h5_commit(&f), 0);

    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    char hdf5[32];
    snprintf(hdf5, sizeof hdf5, "%u.%u.%u", maj, min, rel);
    const struct {
        const char *name, *value;
    } want[] = {
        {"program", "nnsweep"},
        {"version", provenance_version()},
        {"git_commit", provenance_commit()},
        {"compiler", provenance_compiler()},
        {"cflags", provenance_cflags()},
        {"hdf5_version", hdf5},
        {"command_line", p.command_line},
        {"job_file", "job.ini"},
        {"job_text", p.job_text},
        {"process_grid", "1x2"},
        {"hostnames", "node1,node2"},
        {"slurm_job_id", ""},
        {"start_time", now},
        {"end_time", now},
        {"state", "complete"},
    };
    f = h5_open(file);
    assert_non_null(f);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *v = NULL;
        assert_int_equal(h5_read_attr_str(f, "/", want[i].name, &v), 0);
        if (strcmp(v, want[i].value) != 0)
            fail_msg("attribute %s = \"%s\", expected \"%s\"", want[i].name, v, want[i].value);
        free(v);
    }
    long long k = 0;
    assert_int_equal(h5_read_attr_int(f, "/", "mpi_size", &k), 0);
    assert_int_equal(k, 4);
    assert_int_equal(h5_read_attr_int(f, "/", "group_size", &k), 0);
    assert_int_equal(k, 2);
    h5_close(&f);

    /* the SLURM job id is taken from the environment */
    in_tmp(file, sizeof file, "prov2.h5");
    f = h5_create(file);
    assert_non_null(f);
    setenv("SLURM_JOB_ID", "98765", 1);
    assert_int_equal(provenance_write(f, &p), 0);
    unsetenv("SLURM_JOB_ID");
    assert_int_equal(h5_commit(&f), 0);
    f = h5_open(file);
    assert_non_null(f);
    char *v = NULL;
    assert_int_equal(h5_read_attr_str(f, "/", "slurm_job_id", &v), 0);
    assert_string_equal(v, "98765");
    free(v);
    h5_close(&f);

    if (have_h5py()) {   /* h5py sees str attributes and integer sizes */
        const char *py = "import sys, h5py\n"
                         "a = h5py.File(sys.argv[1], \"r\").attrs\n"
                         "assert isinstance(a[\"job_text\"], str) and \"σ_w²\" in a[\"job_text\"]\n"
                         "assert a[\"program\"] == \"nnsweep\" and a[\"slurm_job_id\"] == \"98765\"\n"
                         "assert int(a[\"mpi_size\"]) == 4\n";
        assert_int_equal(run_python(py, file), 0);
    }
    assert_int_equal(provenance_write(NULL, &p), NN_ERR_RUNTIME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_roundtrip),
        cmocka_unit_test(test_dataset_overwrite),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_dimension_scales),
        cmocka_unit_test(test_netcdf_dimensions),
        cmocka_unit_test(test_atomic_commit),
        cmocka_unit_test(test_create_and_commit_failures),
        cmocka_unit_test(test_image_save),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_list_and_exists),
        cmocka_unit_test(test_provenance),
    };
    return cmocka_run_group_tests_name("h5io", tests, setup_dir, remove_dir);
}
