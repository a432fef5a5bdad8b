/* test_data.c - data module: the IDX and CIFAR-10 readers on the real Debian Fashion-MNIST files
 * and on small files written here (round trips and every malformed-file error), class and split
 * selection against a direct scan of the labels, preprocessing against statistics computed here
 * independently in long double, and the regression targets. */
#include "testlib.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset.h"
#include "nn_error.h"
#include "nn_rng.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/* The real Fashion-MNIST files, read once by the group setup (n = 0 when absent: tests skip). */
static rawdata_t real_train, real_test;

/* ---------- helpers: writing files ---------- */

static void write_file(const char *path, int gz, const unsigned char *buf, size_t len)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (len)
            assert_int_equal(gzwrite(f, buf, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (len)
            assert_int_equal(fwrite(buf, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Pixel j of image i of the small test sets. */
static unsigned char test_pixel(int i, int j) { return (unsigned char)((i * 31 + j * 7 + 1) & 255); }

/* An IDX image file in memory: 16-byte header then n*rows*cols bytes; image 0 is all zero when
 * zero_first. Caller frees. */
static unsigned char *idx_images(uint32_t magic, int n, int rows, int cols, int zero_first,
                                 size_t *len)
{
    size_t dim = (size_t)rows * cols;
    *len = 16 + n * dim;
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    put_be32(b, magic);
    put_be32(b + 4, (uint32_t)n);
    put_be32(b + 8, (uint32_t)rows);
    put_be32(b + 12, (uint32_t)cols);
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            b[16 + i * dim + j] = (zero_first && i == 0) ? 0 : test_pixel(i, (int)j);
    return b;
}

/* An IDX label file in memory: 8-byte header then the n labels. Caller frees. */
static unsigned char *idx_labels(uint32_t magic, int n, const unsigned char *labels, size_t *len)
{
    *len = 8 + (size_t)n;
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    put_be32(b, magic);
    put_be32(b + 4, (uint32_t)n);
    memcpy(b + 8, labels, (size_t)n);
    return b;
}

/* Writes a small IDX dataset (train and test pairs) into dir; train image 0 is all zero. */
static void write_idx_set(const char *dir, int gz, int ntrain, int ntest, int rows, int cols,
                          const unsigned char *ltrain, const unsigned char *ltest)
{
    char path[512];
    size_t len;
    const char *ext = gz ? ".gz" : "";
    unsigned char *b = idx_images(0x803, ntrain, rows, cols, 1, &len);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte%s", dir, ext);
    write_file(path, gz, b, len);
    free(b);
    b = idx_labels(0x801, ntrain, ltrain, &len);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte%s", dir, ext);
    write_file(path, gz, b, len);
    free(b);
    b = idx_images(0x803, ntest, rows, cols, 0, &len);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte%s", dir, ext);
    write_file(path, gz, b, len);
    free(b);
    b = idx_labels(0x801, ntest, ltest, &len);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte%s", dir, ext);
    write_file(path, gz, b, len);
    free(b);
}

/* CIFAR-10 pixel (channel c, row y, col x) of record r in file f. */
static unsigned char cifar_pixel(int f, int r, int c, int y, int x)
{
    return (unsigned char)((f * 101 + r * 13 + c * 85 + y * 3 + x) & 255);
}

/* Writes n CIFAR-10 records with the given labels; file number f seeds the pixels. */
static void write_cifar(const char *path, int f, int n, const unsigned char *labels)
{
    unsigned char *b = malloc((size_t)n * 3073);
    assert_non_null(b);
    for (int r = 0; r < n; r++) {
        unsigned char *rec = b + (size_t)r * 3073;
        rec[0] = labels[r];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    rec[1 + c * 1024 + y * 32 + x] = cifar_pixel(f, r, c, y, x);
    }
    write_file(path, 0, b, (size_t)n * 3073);
    free(b);
}

/* Deletes the files in dir, then dir. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* The call failed with NN_ERR_INPUT, left *out zeroed, and the message names path and want. */
static void expect_input_error(int rc, const void *out, size_t outlen, const char *path,
                               const char *want)
{
    const char *msg = nn_errmsg();
    print_message("    message: %s\n", msg);
    assert_int_equal(rc, NN_ERR_INPUT);
    assert_true(is_zero(out, outlen));
    if (!strstr(msg, path))
        fail_msg("message \"%s\" does not name %s", msg, path);
    if (want && !strstr(msg, want))
        fail_msg("message \"%s\" does not contain \"%s\"", msg, want);
}

static data_spec_t make_spec(dataset_kind_t kind, const char *path, int nclasses,
                             const int *classes, int train, int validation, int test)
{
    data_spec_t s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    snprintf(s.path, sizeof s.path, "%s", path);
    s.nclasses = nclasses;
    memcpy(s.classes, classes, (size_t)nclasses * sizeof *classes);
    s.train = train;
    s.validation = validation;
    s.test = test;
    s.preprocess = PREPROCESS_SCALE01;
    s.shuffle_seed = -1;
    return s;
}

/* Position of label l in classes, -1 if absent. */
static int class_pos(const data_spec_t *s, int l)
{
    for (int c = 0; c < s->nclasses; c++)
        if (s->classes[c] == l)
            return c;
    return -1;
}

/* Direct scan: the first n indices of raw, in order (identity if order is NULL), whose label is
 * one of the spec's classes, after skipping the first skip of them. */
static void scan_select(const rawdata_t *raw, const data_spec_t *s, const int *order, int skip,
                        int n, int *out)
{
    int k = 0, seen = 0;
    for (int j = 0; j < raw->n && k < n; j++) {
        int i = order ? order[j] : j;
        if (class_pos(s, raw->labels[i]) < 0)
            continue;
        if (seen++ >= skip)
            out[k++] = i;
    }
    assert_int_equal(k, n);
}

/* The split's source indices are expected[], its labels the class positions of the raw labels,
 * and its pixels the raw bytes. */
static void check_split_source(const split_t *sp, const rawdata_t *raw, const data_spec_t *s,
                               const int *expected)
{
    for (int k = 0; k < sp->n; k++) {
        assert_int_equal(sp->source_index[k], expected[k]);
        assert_int_equal(sp->label[k], class_pos(s, raw->labels[expected[k]]));
        assert_memory_equal(sp->pixels + (size_t)k * raw->dim,
                            raw->pixels + (size_t)expected[k] * raw->dim, (size_t)raw->dim);
    }
}

/* Skips on a developer machine without the Debian dataset package; in CI (CI=true), where
 * `make deps` installs it, a missing dataset is a failure, never a silent skip. */
static void skip_without_real_data(void)
{
    if (real_train.n == 0 || real_test.n == 0) {
        const char *ci = getenv("CI");
        if (ci && *ci && strcmp(ci, "false") != 0)
            fail_msg("%s not readable in CI: install dataset-fashion-mnist", FMNIST_DIR);
        print_message("    %s not readable: skipped\n", FMNIST_DIR);
        skip();
    }
}

/* ---------- names, paths, allocation ---------- */

static void test_kind_names_default_path_counts(void **state)
{
    (void)state;
    dataset_kind_t k = DATASET_MNIST;
    assert_int_equal(dataset_kind_parse("fashion-mnist", &k), 0);
    assert_int_equal(k, DATASET_FASHION_MNIST);
    assert_int_equal(dataset_kind_parse("mnist", &k), 0);
    assert_int_equal(k, DATASET_MNIST);
    assert_int_equal(dataset_kind_parse("cifar10", &k), 0);
    assert_int_equal(k, DATASET_CIFAR10);
    k = DATASET_MNIST;
    assert_int_equal(dataset_kind_parse("cifar-10", &k), 0);
    assert_int_equal(k, DATASET_CIFAR10);
    assert_int_equal(dataset_kind_parse("imagenet", &k), -1);
    assert_string_equal(dataset_kind_name(DATASET_FASHION_MNIST), "fashion-mnist");
    assert_string_equal(dataset_kind_name(DATASET_MNIST), "mnist");
    assert_string_equal(dataset_kind_name(DATASET_CIFAR10), "cifar10");

    char buf[DATASET_PATH_MAX];
    unsetenv("NNSWEEP_FASHION_MNIST_DIR");
    unsetenv("NNSWEEP_MNIST_DIR");
    unsetenv("NNSWEEP_CIFAR10_DIR");
    assert_string_equal(dataset_default_path(DATASET_FASHION_MNIST, buf, sizeof buf),
                        "/usr/share/datasets/fashion-mnist");
    assert_string_equal(dataset_default_path(DATASET_MNIST, buf, sizeof buf),
                        "/usr/share/datasets/mnist");
    assert_string_equal(dataset_default_path(DATASET_CIFAR10, buf, sizeof buf),
                        "/usr/share/datasets/cifar-10-batches-bin");
    setenv("NNSWEEP_MNIST_DIR", "/tmp/my-mnist", 1);
    setenv("NNSWEEP_CIFAR10_DIR", "/tmp/my-cifar", 1);
    setenv("NNSWEEP_FASHION_MNIST_DIR", "/tmp/my-fashion", 1);
    assert_string_equal(dataset_default_path(DATASET_MNIST, buf, sizeof buf), "/tmp/my-mnist");
    assert_string_equal(dataset_default_path(DATASET_CIFAR10, buf, sizeof buf), "/tmp/my-cifar");
    assert_string_equal(dataset_default_path(DATASET_FASHION_MNIST, buf, sizeof buf),
                        "/tmp/my-fashion");
    unsetenv("NNSWEEP_FASHION_MNIST_DIR");
    unsetenv("NNSWEEP_MNIST_DIR");
    unsetenv("NNSWEEP_CIFAR10_DIR");

    int tr, te;
    dataset_class_counts(DATASET_FASHION_MNIST, &tr, &te);
    assert_int_equal(tr, 6000);
    assert_int_equal(te, 1000);
    dataset_class_counts(DATASET_CIFAR10, &tr, &te);
    assert_int_equal(tr, 5000);
    assert_int_equal(te, 1000);
}

/* Synthetic data: the shape the spec gives, labels among the class positions, every class seen,
 * pixels preprocessed like file data, and the same examples when generated again (example i of a
 * split depends on (seed, split, i) only: a longer split starts with the same examples). */
static void test_synthetic(void **state)
{
    (void)state;
    dataset_kind_t k = DATASET_MNIST;
    assert_int_equal(dataset_kind_parse("synthetic", &k), 0);
    assert_int_equal(k, DATASET_SYNTHETIC);
    assert_string_equal(dataset_kind_name(DATASET_SYNTHETIC), "synthetic");
    char buf[16];
    assert_string_equal(dataset_default_path(DATASET_SYNTHETIC, buf, sizeof buf), "");

    const int classes[3] = {2, 5, 7};
    data_spec_t s = make_spec(DATASET_SYNTHETIC, "", 3, classes, 60, 5, 7);
    s.channels = 3;
    s.height = 4;
    s.width = 5;
    dataset_t a, b;
    assert_int_equal(dataset_load(&s, &a), 0);
    assert_int_equal(a.channels * 100 + a.rows * 10 + a.cols, 345);
    assert_int_equal(a.dim, 60);
    assert_int_equal(a.train.n, 60);
    assert_int_equal(a.validation.n, 5);
    assert_int_equal(a.test.n, 7);
    assert_string_equal(a.name, "synthetic");
    int seen[3] = {0, 0, 0};
    for (int i = 0; i < a.train.n; i++) {
        assert_in_range(a.train.label[i], 0, 2);
        seen[a.train.label[i]]++;
        assert_int_equal(a.train.source_index[i], i);
        for (int j = 0; j < a.dim; j++)
            assert_true(a.train.x[(size_t)i * a.dim + j] == a.train.pixels[(size_t)i * a.dim + j] / 255.0);
    }
    assert_true(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
    s.train = 70;   /* more examples: the first 60 are the same */
    assert_int_equal(dataset_load(&s, &b), 0);
    assert_memory_equal(a.train.pixels, b.train.pixels, (size_t)60 * a.dim);
    assert_memory_equal(a.train.label, b.train.label, 60 * sizeof(int));
    assert_memory_equal(a.test.pixels, b.test.pixels, (size_t)7 * a.dim);
    assert_true(memcmp(a.train.pixels, a.test.pixels, (size_t)a.dim) != 0);
    dataset_free(&b);
    s.shuffle_seed = 5;   /* another seed: other images */
    assert_int_equal(dataset_load(&s, &b), 0);
    assert_true(memcmp(a.train.pixels, b.train.pixels, (size_t)60 * a.dim) != 0);
    dataset_free(&b);
    dataset_free(&a);

    s.width = 0;
    assert_int_equal(dataset_load(&s, &a), NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "synthetic"));
    s.width = 5;
    s.channels = DATASET_SYNTHETIC_MAX_CHANNELS + 1;
    assert_int_equal(dataset_load(&s, &a), NN_ERR_INPUT);
}

static void test_alloc_and_free_accept_zeroed(void **state)
{
    (void)state;
    split_t s;
    memset(&s, 0, sizeof s);
    split_free(&s);
    assert_int_equal(split_alloc(&s, 7, 5, 3), 0);
    assert_int_equal(s.n, 7);
    assert_non_null(s.x);
    assert_non_null(s.y);
    assert_non_null(s.label);
    assert_non_null(s.source_index);
    assert_non_null(s.pixels);
    s.x[7 * 5 - 1] = 1;   /* the last element of each array is writable (ASan checks) */
    s.y[7 * 3 - 1] = 1;
    s.pixels[7 * 5 - 1] = 1;
    split_free(&s);
    assert_true(is_zero(&s, sizeof s));
    split_free(&s);
    assert_int_equal(split_alloc(&s, 0, 5, 1), 0);
    assert_int_equal(s.n, 0);
    split_free(&s);

    dataset_t ds;
    memset(&ds, 0, sizeof ds);
    dataset_free(&ds);
    dataset_free(NULL);
    rawdata_t r;
    memset(&r, 0, sizeof r);
    rawdata_free(&r);
    rawdata_free(NULL);
}

/* ---------- IDX ---------- */

static void test_idx_real_fashion_mnist(void **state)
{
    (void)state;
    skip_without_real_data();
    assert_int_equal(real_train.n, 60000);
    assert_int_equal(real_test.n, 10000);
    assert_int_equal(real_train.rows, 28);
    assert_int_equal(real_train.cols, 28);
    assert_int_equal(real_train.channels, 1);
    assert_int_equal(real_train.dim, 784);
    assert_int_equal(real_test.dim, 784);
    const unsigned char train_first[8] = {9, 0, 0, 3, 0, 2, 7, 2};
    const unsigned char test_first[8] = {9, 2, 1, 1, 6, 1, 4, 6};
    assert_memory_equal(real_train.labels, train_first, 8);
    assert_memory_equal(real_test.labels, test_first, 8);
    int counts[10] = {0};
    for (int i = 0; i < real_train.n; i++) {
        assert_in_range(real_train.labels[i], 0, 9);
        counts[real_train.labels[i]]++;
    }
    for (int c = 0; c < 10; c++)
        assert_int_equal(counts[c], 6000);

    /* Speed: the 60000 training images must be read in blocks (well under a second). */
    struct timespec t0, t1;
    rawdata_t r;
    memset(&r, 0, sizeof r);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(idx_read(FMNIST_DIR "/train-images-idx3-ubyte.gz",
                              FMNIST_DIR "/train-labels-idx1-ubyte.gz", &r), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    print_message("    read 60000 training images in %.3f s\n", sec);
    assert_true(sec < 3.0);   /* generous: sanitizer builds and a loaded machine */
    assert_memory_equal(r.pixels, real_train.pixels, (size_t)60000 * 784);
    rawdata_free(&r);
}

static void test_idx_roundtrip_gz_and_plain(void **state)
{
    (void)state;
    char dir[256], img[300], lab[300];
    test_tmpdir(dir, sizeof dir);
    const int n = 5, rows = 3, cols = 4;
    const unsigned char labels[5] = {7, 0, 9, 3, 3};
    for (int gz = 0; gz < 2; gz++) {
        size_t li, ll;
        unsigned char *bi = idx_images(0x803, n, rows, cols, 0, &li);
        unsigned char *bl = idx_labels(0x801, n, labels, &ll);
        snprintf(img, sizeof img, "%s/img%d", dir, gz);
        snprintf(lab, sizeof lab, "%s/lab%d", dir, gz);
        write_file(img, gz, bi, li);
        write_file(lab, gz, bl, ll);
        rawdata_t r;
        memset(&r, 0, sizeof r);
        assert_int_equal(idx_read(img, lab, &r), 0);
        assert_int_equal(r.n, n);
        assert_int_equal(r.channels, 1);
        assert_int_equal(r.rows, rows);
        assert_int_equal(r.cols, cols);
        assert_int_equal(r.dim, rows * cols);
        assert_memory_equal(r.pixels, bi + 16, (size_t)n * rows * cols);
        assert_memory_equal(r.labels, labels, (size_t)n);
        rawdata_free(&r);
        assert_true(is_zero(&r, sizeof r));
        free(bi);
        free(bl);
    }
    remove_dir(dir);
}

/* Writes the image and label buffers (plain or gz) and expects idx_read to fail naming the path
 * in err_path (img or lab) and containing want. */
static void idx_expect_error(const char *dir, int gz, const unsigned char *bi, size_t li,
                             const unsigned char *bl, size_t ll, int bad_is_labels,
                             const char *want)
{
    char img[300], lab[300];
    snprintf(img, sizeof img, "%s/bad-images%s", dir, gz ? ".gz" : "");
    snprintf(lab, sizeof lab, "%s/bad-labels%s", dir, gz ? ".gz" : "");
    write_file(img, gz, bi, li);
    write_file(lab, gz, bl, ll);
    rawdata_t r;
    memset(&r, 0, sizeof r);
    int rc = idx_read(img, lab, &r);
    expect_input_error(rc, &r, sizeof r, bad_is_labels ? lab : img, want);
}

static void test_idx_malformed_files(void **state)
{
    (void)state;
    char dir[256];
    test_tmpdir(dir, sizeof dir);
    const unsigned char labels[5] = {1, 2, 3, 4, 5};
    size_t li, ll, li4, ll4;
    unsigned char *bi = idx_images(0x803, 5, 3, 4, 0, &li);   /* 16 + 60 bytes */
    unsigned char *bl = idx_labels(0x801, 5, labels, &ll);     /* 8 + 5 bytes */
    unsigned char *bi4 = idx_images(0x803, 4, 3, 4, 0, &li4);
    unsigned char *bl4 = idx_labels(0x801, 4, labels, &ll4);
    unsigned char *big = calloc(li + 16, 1);
    assert_non_null(big);
    memcpy(big, bi, li);

    for (int gz = 0; gz < 2; gz++) {
        print_message("  %s files\n", gz ? "gzip" : "plain");
        /* bad magic: a label file given as the image file, and an image file as the label file */
        idx_expect_error(dir, gz, bl, ll, bl, ll, 0, "magic number 0x00000801, expected 0x00000803");
        idx_expect_error(dir, gz, bi, li, bi, li, 1, "magic number 0x00000803, expected 0x00000801");
        /* truncated pixel data, truncated labels, truncated header */
        idx_expect_error(dir, gz, bi, li - 10, bl, ll, 0, "expected 60 bytes (5 images of 3x4) after the 16-byte header, found 50");
        idx_expect_error(dir, gz, bi, li, bl, ll - 2, 1, "expected 5 bytes (5 labels) after the 8-byte header, found 3");
        idx_expect_error(dir, gz, bi, 10, bl, ll, 0, "expected a 16-byte IDX image header, found 10 bytes");
        /* counts differ */
        idx_expect_error(dir, gz, bi, li, bl4, ll4, 0, "counts differ");
        idx_expect_error(dir, gz, bi4, li4, bl, ll, 1, "holds 5 labels but");
        /* trailing bytes after the images and after the labels */
        idx_expect_error(dir, gz, big, li + 3, bl, ll, 0, "3 unexpected trailing bytes at byte offset 76");
        unsigned char bl_extra[32];
        memcpy(bl_extra, bl, ll);
        memset(bl_extra + ll, 0xab, 7);
        idx_expect_error(dir, gz, bi, li, bl_extra, ll + 7, 1, "7 unexpected trailing bytes");
        /* a zero dimension */
        unsigned char bz[16];
        memcpy(bz, bi, 16);
        put_be32(bz + 8, 0);
        idx_expect_error(dir, gz, bz, 16, bl, ll, 0, "dimension 1 (byte offset 8) is 0");
    }

    /* a gzip stream cut in the middle of the compressed data */
    char img[300], lab[300];
    snprintf(img, sizeof img, "%s/cut-images.gz", dir);
    snprintf(lab, sizeof lab, "%s/cut-labels", dir);
    size_t lb;
    unsigned char *bb = idx_images(0x803, 200, 28, 28, 0, &lb);
    write_file(img, 1, bb, lb);
    free(bb);
    FILE *f = fopen(img, "rb");
    assert_non_null(f);
    unsigned char *gzbytes = malloc(lb);
    assert_non_null(gzbytes);
    size_t gzlen = fread(gzbytes, 1, lb, f);
    fclose(f);
    write_file(img, 0, gzbytes, gzlen / 2);
    free(gzbytes);
    unsigned char l200[200] = {0};
    bb = idx_labels(0x801, 200, l200, &lb);
    write_file(lab, 0, bb, lb);
    free(bb);
    rawdata_t r;
    memset(&r, 0, sizeof r);
    expect_input_error(idx_read(img, lab, &r), &r, sizeof r, img, NULL);

    /* a missing file */
    snprintf(img, sizeof img, "%s/no-such-file", dir);
    expect_input_error(idx_read(img, lab, &r), &r, sizeof r, img, "cannot open");

    free(bi);
    free(bl);
    free(bi4);
    free(bl4);
    free(big);
    remove_dir(dir);
}

/* ---------- CIFAR-10 ---------- */

static void test_cifar_roundtrip(void **state)
{
    (void)state;
    char dir[256], p1[300], p2[300];
    test_tmpdir(dir, sizeof dir);
    const unsigned char l1[3] = {3, 0, 9}, l2[2] = {5, 1};
    snprintf(p1, sizeof p1, "%s/a.bin", dir);
    snprintf(p2, sizeof p2, "%s/b.bin", dir);
    write_cifar(p1, 1, 3, l1);
    write_cifar(p2, 2, 2, l2);
    const char *paths[2] = {p1, p2};
    rawdata_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(cifar_read(paths, 2, &r), 0);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.channels, 3);
    assert_int_equal(r.rows, 32);
    assert_int_equal(r.cols, 32);
    assert_int_equal(r.dim, 3072);
    const unsigned char want[5] = {3, 0, 9, 5, 1};
    assert_memory_equal(r.labels, want, 5);
    for (int i = 0; i < 5; i++) {
        int f = i < 3 ? 1 : 2, rec = i < 3 ? i : i - 3;
        for (int c = 0; c < 3; c++)   /* channel-major: (c, y, x) at c*1024 + y*32 + x */
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    assert_int_equal(r.pixels[(size_t)i * 3072 + c * 1024 + y * 32 + x],
                                     cifar_pixel(f, rec, c, y, x));
    }
    rawdata_free(&r);
    remove_dir(dir);
}

static void test_cifar_malformed_files(void **state)
{
    (void)state;
    char dir[256], good[300], bad[300];
    test_tmpdir(dir, sizeof dir);
    snprintf(good, sizeof good, "%s/good.bin", dir);
    snprintf(bad, sizeof bad, "%s/bad.bin", dir);
    const unsigned char labels[3] = {1, 2, 3};
    write_cifar(good, 0, 3, labels);
    const char *paths[2] = {good, bad};
    rawdata_t r;
    memset(&r, 0, sizeof r);

    /* size not a multiple of 3073 */
    unsigned char *b = calloc(2 * 3073, 1);
    assert_non_null(b);
    write_file(bad, 0, b, 2 * 3073 - 10);
    expect_input_error(cifar_read(paths, 2, &r), &r, sizeof r, bad,
                       "size 6136 bytes is not a whole number of 3073-byte records");
    /* an empty file */
    write_file(bad, 0, b, 0);
    expect_input_error(cifar_read(paths, 2, &r), &r, sizeof r, bad,
                       "not a whole number of 3073-byte records");
    /* a label byte above 9 in record 1 */
    b[3073] = 10;
    write_file(bad, 0, b, 2 * 3073);
    expect_input_error(cifar_read(paths, 2, &r), &r, sizeof r, bad,
                       "record 1 (byte offset 3073): label byte 10 > 9");
    /* a missing file */
    unlink(bad);
    expect_input_error(cifar_read(paths, 2, &r), &r, sizeof r, bad, "cannot open");
    free(b);
    remove_dir(dir);
}

static void test_dataset_cifar_directory(void **state)
{
    (void)state;
    char dir[256], p[300];
    test_tmpdir(dir, sizeof dir);
    /* 5 training batches of 4 records, labels (f + r) % 10; a test batch of 10, labels r % 10 */
    unsigned char all_labels[20];
    for (int f = 1; f <= 5; f++) {
        unsigned char l[4];
        for (int r = 0; r < 4; r++)
            all_labels[(f - 1) * 4 + r] = l[r] = (unsigned char)((f + r) % 10);
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, f);
        write_cifar(p, f, 4, l);
    }
    unsigned char lt[10];
    for (int r = 0; r < 10; r++)
        lt[r] = (unsigned char)r;
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    write_cifar(p, 9, 10, lt);

    const int classes[2] = {5, 3};
    data_spec_t s = make_spec(DATASET_CIFAR10, dir, 2, classes, 3, 2, 2);
    dataset_t ds;
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_string_equal(ds.name, "cifar10");
    assert_int_equal(ds.dim, 3072);
    assert_int_equal(ds.channels, 3);
    assert_int_equal(ds.rows, 32);
    assert_int_equal(ds.cols, 32);
    assert_int_equal(ds.ntargets, 1);
    /* direct scan: labels 5 or 3 in the concatenated training labels */
    int want[20], k = 0;
    for (int i = 0; i < 20; i++)
        if (all_labels[i] == 5 || all_labels[i] == 3)
            want[k++] = i;
    assert_true(k >= 5);
    for (int i = 0; i < 5; i++) {
        split_t *sp = i < 3 ? &ds.train : &ds.validation;
        int j = i < 3 ? i : i - 3, src = want[i];
        assert_int_equal(sp->source_index[j], src);
        assert_int_equal(sp->label[j], all_labels[src] == 5 ? 0 : 1);
        assert_close(sp->y[j], all_labels[src] == 5 ? -0.5 : 0.5, 0);
        int f = src / 4 + 1, r = src % 4;
        assert_int_equal(sp->pixels[(size_t)j * 3072 + 2 * 1024 + 7 * 32 + 11],
                         cifar_pixel(f, r, 2, 7, 11));
        assert_close(sp->x[(size_t)j * 3072 + 1024], cifar_pixel(f, r, 1, 0, 0) / 255.0, 0);
    }
    assert_int_equal(ds.test.n, 2);
    assert_int_equal(ds.test.source_index[0], 3);
    assert_int_equal(ds.test.source_index[1], 5);
    assert_int_equal(ds.test.label[0], 1);
    assert_int_equal(ds.test.label[1], 0);
    dataset_free(&ds);

    /* a missing batch file names its path */
    snprintf(p, sizeof p, "%s/data_batch_4.bin", dir);
    unlink(p);
    expect_input_error(dataset_load(&s, &ds), &ds, sizeof ds, p, "cannot open");
    remove_dir(dir);
}

/* ---------- dataset_load on small IDX directories ---------- */

/* 40 training images of 4x4, labels i % 10 (image 0 all zero); 20 test images, labels 3i % 10. */
static void write_small_idx_dir(const char *dir, int gz)
{
    unsigned char ltrain[40], ltest[20];
    for (int i = 0; i < 40; i++)
        ltrain[i] = (unsigned char)(i % 10);
    for (int i = 0; i < 20; i++)
        ltest[i] = (unsigned char)(3 * i % 10);
    write_idx_set(dir, gz, 40, 20, 4, 4, ltrain, ltest);
}

static void test_dataset_idx_lookup_gz_first(void **state)
{
    (void)state;
    char dir[256];
    test_tmpdir(dir, sizeof dir);
    const int classes[2] = {0, 1};
    data_spec_t s = make_spec(DATASET_MNIST, dir, 2, classes, 2, 0, 2);
    dataset_t ds;

    /* no files at all: the message names the .gz path and the plain one */
    char want[400];
    snprintf(want, sizeof want, "%s/train-images-idx3-ubyte", dir);
    expect_input_error(dataset_load(&s, &ds), &ds, sizeof ds, want, "not found");

    /* plain files only */
    write_small_idx_dir(dir, 0);
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_string_equal(ds.name, "mnist");
    assert_int_equal(ds.dim, 16);
    assert_int_equal(ds.channels, 1);
    assert_int_equal(ds.train.source_index[0], 0);
    assert_int_equal(ds.train.source_index[1], 1);
    assert_int_equal(ds.train.pixels[16 + 5], test_pixel(1, 5));
    dataset_free(&ds);

    /* .gz next to the plain files, with different labels: the .gz ones are used */
    unsigned char ltrain[40], ltest[20];
    for (int i = 0; i < 40; i++)
        ltrain[i] = (unsigned char)((i + 1) % 10);
    for (int i = 0; i < 20; i++)
        ltest[i] = (unsigned char)(i % 10);
    write_idx_set(dir, 1, 40, 20, 4, 4, ltrain, ltest);
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_int_equal(ds.train.source_index[0], 0);   /* label 1 */
    assert_int_equal(ds.train.source_index[1], 9);   /* label 0 */
    assert_int_equal(ds.train.label[0], 1);
    assert_int_equal(ds.train.label[1], 0);
    dataset_free(&ds);

    /* spec.path empty: the directory comes from $NNSWEEP_MNIST_DIR and is recorded */
    setenv("NNSWEEP_MNIST_DIR", dir, 1);
    s.path[0] = '\0';
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_string_equal(ds.spec.path, dir);
    dataset_free(&ds);
    unsetenv("NNSWEEP_MNIST_DIR");
    remove_dir(dir);
}

static void test_too_many_requested_and_bad_specs(void **state)
{
    (void)state;
    char dir[256];
    test_tmpdir(dir, sizeof dir);
    write_small_idx_dir(dir, 1);
    const int classes[2] = {2, 7};   /* 4 + 4 training examples, 2 + 2 test examples */
    data_spec_t s = make_spec(DATASET_FASHION_MNIST, dir, 2, classes, 6, 3, 1);
    dataset_t ds;
    char path[400];

    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    expect_input_error(dataset_load(&s, &ds), &ds, sizeof ds, path,
                       "classes {2, 7} hold 8 examples, 9 requested (train 6 + validation 3)");
    s.validation = 2;
    assert_int_equal(dataset_load(&s, &ds), 0);   /* exactly all of them */
    dataset_free(&ds);
    s.test = 5;
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    expect_input_error(dataset_load(&s, &ds), &ds, sizeof ds, path,
                       "classes {2, 7} hold 4 examples, 5 requested (test 5)");

    /* specs refused before any file is read */
    s.test = 1;
    data_spec_t b = s;
    b.nclasses = 1;
    expect_input_error(dataset_load(&b, &ds), &ds, sizeof ds, "", "1 classes given, need 2..10");
    b = s;
    b.classes[1] = 10;
    expect_input_error(dataset_load(&b, &ds), &ds, sizeof ds, "", "class 10 is outside 0..9");
    b = s;
    b.classes[1] = 2;
    expect_input_error(dataset_load(&b, &ds), &ds, sizeof ds, "", "class 2 is listed twice");
    b = s;
    b.train = 0;
    expect_input_error(dataset_load(&b, &ds), &ds, sizeof ds, "", "need train >= 1");

    /* test images of another size than the training images */
    unsigned char l[8] = {2, 7, 2, 7, 2, 7, 2, 7};
    size_t len;
    unsigned char *bi = idx_images(0x803, 8, 5, 5, 0, &len);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    write_file(path, 1, bi, len);
    free(bi);
    bi = idx_labels(0x801, 8, l, &len);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    write_file(path, 1, bi, len);
    free(bi);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    expect_input_error(dataset_load(&s, &ds), &ds, sizeof ds, path,
                       "images are 1x5x5 but the training images are 1x4x4");
    remove_dir(dir);
}

static void test_scale01_and_unit_norm(void **state)
{
    (void)state;
    char dir[256];
    test_tmpdir(dir, sizeof dir);
    write_small_idx_dir(dir, 0);
    const int classes[3] = {0, 4, 8};   /* train image 0 (all zero) has label 0 */
    data_spec_t s = make_spec(DATASET_MNIST, dir, 3, classes, 8, 2, 4);
    dataset_t ds;
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_int_equal(ds.train.source_index[0], 0);
    split_t *splits[3] = {&ds.train, &ds.validation, &ds.test};
    for (int t = 0; t < 3; t++)
        for (size_t j = 0; j < (size_t)splits[t]->n * 16; j++) {
            assert_true(splits[t]->x[j] >= 0.0 && splits[t]->x[j] <= 1.0);
            assert_close(splits[t]->x[j], splits[t]->pixels[j] / 255.0, 0);
        }
    dataset_free(&ds);

    /* unit_norm: each row is the scaled pixels over their norm (1e-12: a few roundings of
     * values of order 1); the zero image stays zero. */
    s.preprocess = PREPROCESS_UNIT_NORM;
    assert_int_equal(dataset_load(&s, &ds), 0);
    for (int j = 0; j < 16; j++)
        assert_true(ds.train.x[j] == 0.0);
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < splits[t]->n; i++) {
            if (t == 0 && i == 0)
                continue;
            const double *x = splits[t]->x + (size_t)i * 16;
            const unsigned char *p = splits[t]->pixels + (size_t)i * 16;
            long double ss = 0, pp = 0;
            for (int j = 0; j < 16; j++) {
                ss += (long double)x[j] * x[j];
                pp += (long double)p[j] * p[j];
            }
            assert_close((double)sqrtl(ss), 1.0, 1e-12);
            for (int j = 0; j < 16; j++)
                assert_close(x[j], (double)(p[j] / sqrtl(pp)), 1e-12);
        }
    dataset_free(&ds);
    remove_dir(dir);
}

/* ---------- selection and preprocessing on the real Fashion-MNIST files ---------- */

static void test_select_file_order(void **state)
{
    (void)state;
    skip_without_real_data();
    const int classes[3] = {7, 2, 9};
    data_spec_t s = make_spec(DATASET_FASHION_MNIST, FMNIST_DIR, 3, classes, 300, 120, 90);
    dataset_t ds;
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_string_equal(ds.name, "fashion-mnist");
    assert_int_equal(ds.dim, 784);
    assert_int_equal(ds.train.n, 300);
    assert_int_equal(ds.validation.n, 120);
    assert_int_equal(ds.test.n, 90);
    int want[420];
    scan_select(&real_train, &s, NULL, 0, 300, want);
    check_split_source(&ds.train, &real_train, &s, want);
    scan_select(&real_train, &s, NULL, 300, 120, want);
    check_split_source(&ds.validation, &real_train, &s, want);
    scan_select(&real_test, &s, NULL, 0, 90, want);
    check_split_source(&ds.test, &real_test, &s, want);
    /* validation is disjoint from train and comes after it in the file */
    for (int i = 0; i < ds.validation.n; i++)
        for (int j = 0; j < ds.train.n; j++)
            assert_int_not_equal(ds.validation.source_index[i], ds.train.source_index[j]);
    assert_true(ds.validation.source_index[0] > ds.train.source_index[ds.train.n - 1]);
    dataset_free(&ds);
}

/* The documented shuffle: rng_shuffle_int of 0..n-1 seeded by rng_seed(seed) for the training
 * file and rng_seed_stream(seed, 1, 0) for the test file, then the classes filtered in order. */
static int *reference_order(int n, long long seed, int test)
{
    int *o = malloc((size_t)n * sizeof *o);
    assert_non_null(o);
    for (int i = 0; i < n; i++)
        o[i] = i;
    rng_t r;
    if (test)
        rng_seed_stream(&r, (uint64_t)seed, 1, 0);
    else
        rng_seed(&r, (uint64_t)seed);
    rng_shuffle_int(&r, o, n);
    return o;
}

static void test_select_shuffle(void **state)
{
    (void)state;
    skip_without_real_data();
    const int classes[2] = {0, 6};
    data_spec_t s = make_spec(DATASET_FASHION_MNIST, FMNIST_DIR, 2, classes, 200, 100, 100);
    s.shuffle_seed = 12345;
    dataset_t a, b, c;
    assert_int_equal(dataset_load(&s, &a), 0);
    assert_int_equal(dataset_load(&s, &b), 0);
    s.shuffle_seed = 12346;
    assert_int_equal(dataset_load(&s, &c), 0);

    /* reproducible with the same seed, different with another */
    assert_memory_equal(a.train.source_index, b.train.source_index, 200 * sizeof(int));
    assert_memory_equal(a.validation.source_index, b.validation.source_index, 100 * sizeof(int));
    assert_memory_equal(a.test.source_index, b.test.source_index, 100 * sizeof(int));
    assert_memory_equal(a.train.x, b.train.x, (size_t)200 * 784 * sizeof(double));
    assert_memory_not_equal(a.train.source_index, c.train.source_index, 200 * sizeof(int));
    assert_memory_not_equal(a.test.source_index, c.test.source_index, 100 * sizeof(int));

    /* exactly the documented shuffle, and not file order */
    s.shuffle_seed = 12345;
    int want[300];
    int *o = reference_order(real_train.n, 12345, 0);
    scan_select(&real_train, &s, o, 0, 200, want);
    check_split_source(&a.train, &real_train, &s, want);
    scan_select(&real_train, &s, o, 200, 100, want);
    check_split_source(&a.validation, &real_train, &s, want);
    free(o);
    o = reference_order(real_test.n, 12345, 1);
    scan_select(&real_test, &s, o, 0, 100, want);
    check_split_source(&a.test, &real_test, &s, want);
    free(o);
    scan_select(&real_train, &s, NULL, 0, 200, want);
    assert_memory_not_equal(a.train.source_index, want, 200 * sizeof(int));

    /* validation disjoint from train */
    for (int i = 0; i < a.validation.n; i++)
        for (int j = 0; j < a.train.n; j++)
            assert_int_not_equal(a.validation.source_index[i], a.train.source_index[j]);
    dataset_free(&a);
    dataset_free(&b);
    dataset_free(&c);
}

/* Standardize: statistics from the training split only. Reference: per feature, the mean m and
 * population sd of the raw bytes of the selected training images in long double; the expected
 * value is (p - m) / sd, the same as (p/255 - m/255) / (sd/255), or (p - m)/255 when sd = 0.
 * Tolerance 1e-12 relative (floor 1): a few double roundings on values up to ~100. */
static void test_standardize_uses_train_statistics(void **state)
{
    (void)state;
    skip_without_real_data();
    const int classes[2] = {1, 8};
    data_spec_t s = make_spec(DATASET_FASHION_MNIST, FMNIST_DIR, 2, classes, 500, 50, 200);
    s.preprocess = PREPROCESS_STANDARDIZE;
    dataset_t ds;
    assert_int_equal(dataset_load(&s, &ds), 0);
    const int dim = 784, n = ds.train.n;
    long double *m = calloc(dim, sizeof *m), *sd = calloc(dim, sizeof *sd);
    assert_non_null(m);
    assert_non_null(sd);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
            m[j] += real_train.pixels[(size_t)ds.train.source_index[i] * dim + j];
    for (int j = 0; j < dim; j++)
        m[j] /= n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dim; j++) {
            long double d = real_train.pixels[(size_t)ds.train.source_index[i] * dim + j] - m[j];
            sd[j] += d * d;
        }
    int nconst = 0;
    for (int j = 0; j < dim; j++) {
        sd[j] = sqrtl(sd[j] / n);
        nconst += sd[j] == 0;
    }
    print_message("    %d of 784 features constant over the training split\n", nconst);

    /* train: mean 0 and sd 1 per non-constant feature, 0 for a constant one */
    for (int j = 0; j < dim; j++) {
        long double mu = 0, var = 0;
        for (int i = 0; i < n; i++)
            mu += ds.train.x[(size_t)i * dim + j];
        mu /= n;
        for (int i = 0; i < n; i++) {
            long double d = ds.train.x[(size_t)i * dim + j] - mu;
            var += d * d;
        }
        assert_close((double)mu, 0.0, 1e-12);
        assert_close((double)sqrtl(var / n), sd[j] == 0 ? 0.0 : 1.0, 1e-12);
    }
    /* every split, the test split especially, uses those training statistics */
    split_t *splits[3] = {&ds.train, &ds.validation, &ds.test};
    const rawdata_t *src[3] = {&real_train, &real_train, &real_test};
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < splits[t]->n; i++)
            for (int j = 0; j < dim; j++) {
                long double p = src[t]->pixels[(size_t)splits[t]->source_index[i] * dim + j];
                long double ref = sd[j] == 0 ? (p - m[j]) / 255 : (p - m[j]) / sd[j];
                assert_rel_close(splits[t]->x[(size_t)i * dim + j], (double)ref, 1e-12, 1.0);
            }
    free(m);
    free(sd);
    dataset_free(&ds);
}

static void test_targets_binary_and_multiclass(void **state)
{
    (void)state;
    skip_without_real_data();
    const int bin[2] = {4, 1};
    data_spec_t s = make_spec(DATASET_FASHION_MNIST, FMNIST_DIR, 2, bin, 100, 20, 50);
    dataset_t ds;
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_int_equal(ds.ntargets, 1);
    split_t *splits[3] = {&ds.train, &ds.validation, &ds.test};
    const rawdata_t *src[3] = {&real_train, &real_train, &real_test};
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < splits[t]->n; i++) {
            int l = src[t]->labels[splits[t]->source_index[i]];
            assert_true(l == 4 || l == 1);
            assert_int_equal(splits[t]->label[i], l == 4 ? 0 : 1);
            assert_true(splits[t]->y[i] == (l == 4 ? -0.5 : 0.5));
        }
    dataset_free(&ds);

    /* 10 classes listed in a permuted order: label = position in the list; y = 0.9 at the
     * label, -0.1 elsewhere (exact to 1e-15), each row summing to 0 within 1e-12. */
    const int all[10] = {9, 3, 0, 7, 1, 8, 2, 6, 4, 5};
    s = make_spec(DATASET_FASHION_MNIST, FMNIST_DIR, 10, all, 200, 50, 100);
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_int_equal(ds.ntargets, 10);
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < splits[t]->n; i++) {
            int l = src[t]->labels[splits[t]->source_index[i]];
            assert_int_equal(splits[t]->label[i], class_pos(&s, l));
            double sum = 0;
            for (int c = 0; c < 10; c++) {
                double y = splits[t]->y[(size_t)i * 10 + c];
                assert_close(y, c == splits[t]->label[i] ? 0.9 : -0.1, 1e-15);
                sum += y;
            }
            assert_close(sum, 0.0, 1e-12);
        }
    /* the first training examples are the first of the file: labels 9 0 0 3 -> positions 0 2 2 1 */
    assert_int_equal(ds.train.source_index[0], 0);
    assert_int_equal(ds.train.label[0], 0);
    assert_int_equal(ds.train.label[1], 2);
    assert_int_equal(ds.train.label[3], 1);
    dataset_free(&ds);

    /* 3 classes: 1 - 1/3 and -1/3 */
    const int three[3] = {4, 1, 0};
    s = make_spec(DATASET_FASHION_MNIST, FMNIST_DIR, 3, three, 10, 0, 0);
    assert_int_equal(dataset_load(&s, &ds), 0);
    assert_int_equal(ds.ntargets, 3);
    assert_int_equal(ds.test.n, 0);
    for (int i = 0; i < ds.train.n; i++)
        for (int c = 0; c < 3; c++)
            assert_close(ds.train.y[i * 3 + c], c == ds.train.label[i] ? 2.0 / 3 : -1.0 / 3, 1e-15);
    dataset_free(&ds);
}

static int setup_real(void **state)
{
    (void)state;
    memset(&real_train, 0, sizeof real_train);
    memset(&real_test, 0, sizeof real_test);
    if (idx_read(FMNIST_DIR "/train-images-idx3-ubyte.gz", FMNIST_DIR "/train-labels-idx1-ubyte.gz",
                 &real_train) ||
        idx_read(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", FMNIST_DIR "/t10k-labels-idx1-ubyte.gz",
                 &real_test)) {
        fprintf(stderr, "note: %s\n", nn_errmsg());
        rawdata_free(&real_train);
        rawdata_free(&real_test);
    }
    return 0;
}

static int teardown_real(void **state)
{
    (void)state;
    rawdata_free(&real_train);
    rawdata_free(&real_test);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names_default_path_counts),
        cmocka_unit_test(test_alloc_and_free_accept_zeroed),
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_idx_real_fashion_mnist),
        cmocka_unit_test(test_idx_roundtrip_gz_and_plain),
        cmocka_unit_test(test_idx_malformed_files),
        cmocka_unit_test(test_cifar_roundtrip),
        cmocka_unit_test(test_cifar_malformed_files),
        cmocka_unit_test(test_dataset_cifar_directory),
        cmocka_unit_test(test_dataset_idx_lookup_gz_first),
        cmocka_unit_test(test_too_many_requested_and_bad_specs),
        cmocka_unit_test(test_scale01_and_unit_norm),
        cmocka_unit_test(test_select_file_order),
        cmocka_unit_test(test_select_shuffle),
        cmocka_unit_test(test_standardize_uses_train_statistics),
        cmocka_unit_test(test_targets_binary_and_multiclass),
    };
    return cmocka_run_group_tests_name("data", tests, setup_real, teardown_real);
}
