/* dataset.c - the data a job uses: finds a kind's files, selects the classes and the train/
 * validation/test examples (file order or a seeded shuffle), or generates synthetic ones,
 * preprocesses with training-split statistics only, and builds regression targets. File formats
 * live in idx.c and cifar.c. */
#include "dataset.h"
#include "nn_error.h"
#include "nn_rng.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define NKINDS 4
#define NLABELS 10          /* every supported kind labels its classes 0..9 */
#define FILE_PATH_MAX (DATASET_PATH_MAX + 64)

static const char *const kind_names[NKINDS] = {"fashion-mnist", "mnist", "cifar10", "synthetic"};

const char *dataset_kind_name(dataset_kind_t kind)
{
    return (unsigned)kind < NKINDS ? kind_names[kind] : "unknown";
}

int dataset_kind_parse(const char *name, dataset_kind_t *kind)
{
    if (!name)
        return -1;
    if (!strcasecmp(name, "fashion-mnist"))
        *kind = DATASET_FASHION_MNIST;
    else if (!strcasecmp(name, "mnist"))
        *kind = DATASET_MNIST;
    else if (!strcasecmp(name, "cifar10") || !strcasecmp(name, "cifar-10"))
        *kind = DATASET_CIFAR10;
    else if (!strcasecmp(name, "synthetic"))
        *kind = DATASET_SYNTHETIC;
    else
        return -1;
    return 0;
}

const char *dataset_default_path(dataset_kind_t kind, char *buf, size_t len)
{
    static const char *const env[NKINDS] = {"NNSWEEP_FASHION_MNIST_DIR", "NNSWEEP_MNIST_DIR",
                                            "NNSWEEP_CIFAR10_DIR", NULL};
    static const char *const dir[NKINDS] = {"/usr/share/datasets/fashion-mnist",
                                            "/usr/share/datasets/mnist",
                                            "/usr/share/datasets/cifar-10-batches-bin", NULL};
    if (!buf || !len)
        return buf;
    if ((unsigned)kind >= NKINDS || !dir[kind]) {   /* synthetic data has no files */
        buf[0] = '\0';
        return buf;
    }
    const char *e = getenv(env[kind]);
    snprintf(buf, len, "%s", e && *e ? e : dir[kind]);
    return buf;
}

void dataset_class_counts(dataset_kind_t kind, int *train_per_class, int *test_per_class)
{
    *train_per_class = kind == DATASET_CIFAR10 ? 5000 : 6000;
    *test_per_class = 1000;
    if (kind == DATASET_SYNTHETIC)
        *train_per_class = *test_per_class = INT_MAX;
}

void dataset_spec_shape(const data_spec_t *spec, int *c, int *h, int *w)
{
    if (spec->kind == DATASET_SYNTHETIC) {
        *c = spec->channels;
        *h = spec->height;
        *w = spec->width;
    } else if (spec->kind == DATASET_CIFAR10) {
        *c = 3;
        *h = *w = 32;
    } else {
        *c = 1;
        *h = *w = 28;
    }
}

void rawdata_free(rawdata_t *r)
{
    if (!r)
        return;
    free(r->pixels);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

int split_alloc(split_t *s, int n, int dim, int ntargets)
{
    memset(s, 0, sizeof *s);
    if (n < 0 || dim < 1 || ntargets < 1)
        return nn_fail(NN_ERR_INPUT, "split_alloc: bad sizes n = %d, dim = %d, ntargets = %d", n,
                       dim, ntargets);
    if (n == 0)
        return 0;
    size_t nn = (size_t)n;
    if (nn > SIZE_MAX / sizeof(double) / (size_t)dim || nn > SIZE_MAX / sizeof(double) / (size_t)ntargets)
        return nn_fail(NN_ERR_NOMEM, "split_alloc: %d x %d is too large", n, dim);
    s->x = malloc(nn * (size_t)dim * sizeof *s->x);
    s->y = malloc(nn * (size_t)ntargets * sizeof *s->y);
    s->label = malloc(nn * sizeof *s->label);
    s->source_index = malloc(nn * sizeof *s->source_index);
    s->pixels = malloc(nn * (size_t)dim);
    if (!s->x || !s->y || !s->label || !s->source_index || !s->pixels) {
        split_free(s);
        return nn_fail(NN_ERR_NOMEM, "split_alloc: cannot allocate %d examples of dimension %d", n,
                       dim);
    }
    s->n = n;
    return 0;
}

void split_free(split_t *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->y);
    free(s->label);
    free(s->source_index);
    free(s->pixels);
    memset(s, 0, sizeof *s);
}

void dataset_free(dataset_t *ds)
{
    if (!ds)
        return;
    split_free(&ds->train);
    split_free(&ds->validation);
    split_free(&ds->test);
    memset(ds, 0, sizeof *ds);
}

/* NN_ERR_INPUT naming the field at fault unless the spec is usable. */
static int check_spec(const data_spec_t *spec)
{
    if ((unsigned)spec->kind >= NKINDS)
        return nn_fail(NN_ERR_INPUT, "dataset: unknown dataset kind %d", (int)spec->kind);
    if (spec->nclasses < 2 || spec->nclasses > DATASET_MAX_CLASSES)
        return nn_fail(NN_ERR_INPUT, "dataset %s: %d classes given, need 2..%d",
                       dataset_kind_name(spec->kind), spec->nclasses, DATASET_MAX_CLASSES);
    for (int c = 0; c < spec->nclasses; c++) {
        if (spec->classes[c] < 0 || spec->classes[c] >= NLABELS)
            return nn_fail(NN_ERR_INPUT, "dataset %s: class %d is outside 0..%d",
                           dataset_kind_name(spec->kind), spec->classes[c], NLABELS - 1);
        for (int d = 0; d < c; d++)
            if (spec->classes[d] == spec->classes[c])
                return nn_fail(NN_ERR_INPUT, "dataset %s: class %d is listed twice",
                               dataset_kind_name(spec->kind), spec->classes[c]);
    }
    if (spec->train < 1 || spec->validation < 0 || spec->test < 0)
        return nn_fail(NN_ERR_INPUT,
                       "dataset %s: train = %d, validation = %d, test = %d: need train >= 1 and "
                       "the others >= 0",
                       dataset_kind_name(spec->kind), spec->train, spec->validation, spec->test);
    if ((unsigned)spec->preprocess > PREPROCESS_UNIT_NORM)
        return nn_fail(NN_ERR_INPUT, "dataset %s: unknown preprocessing %d",
                       dataset_kind_name(spec->kind), (int)spec->preprocess);
    if (spec->kind == DATASET_SYNTHETIC
        && (spec->channels < 1 || spec->channels > DATASET_SYNTHETIC_MAX_CHANNELS
            || spec->height < 1 || spec->height > DATASET_SYNTHETIC_MAX_SIDE
            || spec->width < 1 || spec->width > DATASET_SYNTHETIC_MAX_SIDE))
        return nn_fail(NN_ERR_INPUT, "dataset synthetic: images of %dx%dx%d (channels x height x "
                       "width): need 1..%d channels and sides of 1..%d", spec->channels,
                       spec->height, spec->width, DATASET_SYNTHETIC_MAX_CHANNELS,
                       DATASET_SYNTHETIC_MAX_SIDE);
    return 0;
}

/* buf = dir "/" name; NN_ERR_INPUT if it does not fit. */
static int path_join(char *buf, size_t len, const char *dir, const char *name)
{
    size_t n = strlen(dir);
    const char *sep = n && dir[n - 1] == '/' ? "" : "/";
    int w = snprintf(buf, len, "%s%s%s", dir, sep, name);
    if (w < 0 || (size_t)w >= len)
        return nn_fail(NN_ERR_INPUT, "%s%s%s: path longer than %zu bytes", dir, sep, name, len - 1);
    return 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* buf = dir/base.gz if that exists, else dir/base if that exists; NN_ERR_INPUT naming both. */
static int idx_find(const char *dir, const char *base, char *buf, size_t len)
{
    char gzname[128], gzpath[FILE_PATH_MAX];
    snprintf(gzname, sizeof gzname, "%s.gz", base);
    int rc = path_join(gzpath, sizeof gzpath, dir, gzname);
    if (rc)
        return rc;
    if ((rc = path_join(buf, len, dir, base)))
        return rc;
    if (file_exists(gzpath)) {
        snprintf(buf, len, "%s", gzpath);
        return 0;
    }
    if (file_exists(buf))
        return 0;
    return nn_fail(NN_ERR_INPUT, "%s: not found (nor %s)", gzpath, buf);
}

/* Reads the training (test = 0) or test file(s) of kind from dir into raw; what receives the
 * path(s) for later messages. */
static int read_raw(dataset_kind_t kind, const char *dir, int test, rawdata_t *raw, char *what,
                    size_t wlen)
{
    int rc;
    if (kind == DATASET_CIFAR10) {
        char paths[5][FILE_PATH_MAX];
        const char *pp[5];
        int np = test ? 1 : 5;
        for (int i = 0; i < np; i++) {
            char name[32];
            if (test)
                snprintf(name, sizeof name, "test_batch.bin");
            else
                snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
            if ((rc = path_join(paths[i], sizeof paths[i], dir, name)))
                return rc;
            pp[i] = paths[i];
        }
        if (test)
            snprintf(what, wlen, "%s", paths[0]);
        else
            snprintf(what, wlen, "%s .. data_batch_5.bin", paths[0]);
        return cifar_read(pp, np, raw);
    }
    char img[FILE_PATH_MAX], lab[FILE_PATH_MAX];
    if ((rc = idx_find(dir, test ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte", img,
                       sizeof img)) ||
        (rc = idx_find(dir, test ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte", lab,
                       sizeof lab)))
        return rc;
    snprintf(what, wlen, "%s", img);
    return idx_read(img, lab, raw);
}

/* "{3, 5}" */
static void classes_str(const data_spec_t *spec, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "{");
    for (int c = 0; c < spec->nclasses && used < len; c++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", c ? ", " : "", spec->classes[c]);
    if (used < len)
        snprintf(buf + used, len - used, "}");
}

/* idx[0..total) = the first total examples of raw whose label has pos[label] >= 0, taken in file
 * order (shuffle_seed < 0) or in the order of rng_shuffle_int over all indices 0..n-1 seeded by
 * rng_seed(seed) for the training file and rng_seed_stream(seed, 1, 0) for the test file.
 * NN_ERR_INPUT naming what, the classes and the counts when the classes hold too few. */
static int select_examples(const rawdata_t *raw, const data_spec_t *spec, const int *pos,
                           int test, long long total, int *idx, const char *what,
                           const char *requested)
{
    long long avail = 0;
    for (int i = 0; i < raw->n; i++)
        avail += pos[raw->labels[i]] >= 0;
    if (avail < total) {
        char cls[64];
        classes_str(spec, cls, sizeof cls);
        return nn_fail(NN_ERR_INPUT, "%s: classes %s hold %lld examples, %lld requested (%s)",
                       what, cls, avail, total, requested);
    }
    int *order = NULL;
    if (spec->shuffle_seed >= 0) {
        order = malloc((size_t)raw->n * sizeof *order);
        if (!order)
            return nn_fail(NN_ERR_NOMEM, "%s: cannot allocate a shuffle of %d indices", what,
                           raw->n);
        for (int i = 0; i < raw->n; i++)
            order[i] = i;
        rng_t r;
        if (test)
            rng_seed_stream(&r, (uint64_t)spec->shuffle_seed, 1, 0);
        else
            rng_seed(&r, (uint64_t)spec->shuffle_seed);
        rng_shuffle_int(&r, order, raw->n);
    }
    long long k = 0;
    for (int j = 0; j < raw->n && k < total; j++) {
        int i = order ? order[j] : j;
        if (pos[raw->labels[i]] >= 0)
            idx[k++] = i;
    }
    free(order);
    return 0;
}

/* Copies the selected examples idx[0..s->n) of raw into s: pixels, labels, source indices. */
static void fill_split(split_t *s, const rawdata_t *raw, const int *idx, const int *pos)
{
    size_t dim = (size_t)raw->dim;
    for (int k = 0; k < s->n; k++) {
        int src = idx[k];
        s->source_index[k] = src;
        s->label[k] = pos[raw->labels[src]];
        memcpy(s->pixels + (size_t)k * dim, raw->pixels + (size_t)src * dim, dim);
    }
}

/* Synthetic splits (contract in dataset.h): example i of split number which has pixels uniform
 * in 0..255 and a class position uniform in 0..nclasses-1, from its own stream. */
static int synthetic_splits(dataset_t *ds)
{
    const data_spec_t *sp = &ds->spec;
    const int n[3] = {sp->train, sp->validation, sp->test};
    split_t *splits[3] = {&ds->train, &ds->validation, &ds->test};
    const uint64_t seed = sp->shuffle_seed >= 0 ? (uint64_t)sp->shuffle_seed : 0;
    ds->channels = sp->channels;
    ds->rows = sp->height;
    ds->cols = sp->width;
    ds->dim = sp->channels * sp->height * sp->width;
    for (int which = 0; which < 3; which++) {
        int rc = split_alloc(splits[which], n[which], ds->dim, ds->ntargets);
        if (rc)
            return rc;
        for (int i = 0; i < n[which]; i++) {
            rng_t r;
            rng_seed_stream(&r, seed, (uint64_t)which, (uint64_t)i);
            unsigned char *p = splits[which]->pixels + (size_t)i * ds->dim;
            for (int j = 0; j < ds->dim; j++)
                p[j] = (unsigned char)rng_below(&r, 256);
            splits[which]->label[i] = (int)rng_below(&r, (uint64_t)sp->nclasses);
            splits[which]->source_index[i] = i;
        }
    }
    return 0;
}

/* Binary (k = 2): y = -0.5 for classes[0], +0.5 for classes[1]. k > 2: one-hot shifted to zero
 * mean, y_c = [c == label] - 1/k, so each row sums to 0. y is n x ntargets, row-major. */
static void make_targets(split_t *s, int nclasses)
{
    if (nclasses == 2) {
        for (int i = 0; i < s->n; i++)
            s->y[i] = s->label[i] == 0 ? -0.5 : 0.5;
        return;
    }
    double off = -1.0 / nclasses, on = 1.0 - 1.0 / nclasses;
    for (int i = 0; i < s->n; i++)
        for (int c = 0; c < nclasses; c++)
            s->y[(size_t)i * nclasses + c] = c == s->label[i] ? on : off;
}

/* x = pixel / 255, and for unit_norm each row divided by its Euclidean norm (zero rows stay). */
static void scale_split(split_t *s, int dim, int unit_norm)
{
    for (int i = 0; i < s->n; i++) {
        double *x = s->x + (size_t)i * dim;
        const unsigned char *p = s->pixels + (size_t)i * dim;
        double ss = 0;
        for (int j = 0; j < dim; j++) {
            x[j] = p[j] / 255.0;
            ss += x[j] * x[j];
        }
        if (unit_norm && ss > 0) {
            double norm = sqrt(ss);
            for (int j = 0; j < dim; j++)
                x[j] /= norm;
        }
    }
}

/* Standardize: x_ij = (p_ij/255 - mean_j) / sd_j with mean_j and the population sd_j of p_j/255
 * over the TRAINING split only; sd_j = 1 for a feature constant over training. The mean comes
 * from an exact integer sum, so a constant feature gives exactly zero deviations and sd. */
static int standardize(dataset_t *ds)
{
    int dim = ds->dim, n = ds->train.n;
    double *mean = calloc((size_t)dim, sizeof *mean), *sd = calloc((size_t)dim, sizeof *sd);
    if (!mean || !sd) {
        free(mean);
        free(sd);
        return nn_fail(NN_ERR_NOMEM, "dataset %s: cannot allocate standardization statistics",
                       ds->name);
    }
    const unsigned char *p = ds->train.pixels;
    for (int i = 0; i < n; i++)           /* integer sums below 2^53: exact in double */
        for (int j = 0; j < dim; j++)
            mean[j] += p[(size_t)i * dim + j];
    for (int j = 0; j < dim; j++)
        mean[j] = mean[j] / n / 255.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dim; j++) {
            double d = p[(size_t)i * dim + j] / 255.0 - mean[j];
            sd[j] += d * d;
        }
    for (int j = 0; j < dim; j++) {
        sd[j] = sqrt(sd[j] / n);
        if (sd[j] == 0)
            sd[j] = 1;
    }
    split_t *splits[3] = {&ds->train, &ds->validation, &ds->test};
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < splits[s]->n; i++) {
            double *x = splits[s]->x + (size_t)i * dim;
            const unsigned char *q = splits[s]->pixels + (size_t)i * dim;
            for (int j = 0; j < dim; j++)
                x[j] = (q[j] / 255.0 - mean[j]) / sd[j];
        }
    free(mean);
    free(sd);
    return 0;
}

int dataset_load(const data_spec_t *spec, dataset_t *ds)
{
    data_spec_t sp = *spec;   /* spec may alias ds->spec */
    rawdata_t raw = {0};
    int *idx = NULL;
    char what[FILE_PATH_MAX + 32], requested[96];
    int pos[256];

    memset(ds, 0, sizeof *ds);
    int rc = check_spec(&sp);
    if (rc)
        return rc;
    if (!sp.path[0])
        dataset_default_path(sp.kind, sp.path, sizeof sp.path);
    ds->spec = sp;
    snprintf(ds->name, sizeof ds->name, "%s", dataset_kind_name(sp.kind));
    ds->ntargets = sp.nclasses == 2 ? 1 : sp.nclasses;
    for (int l = 0; l < 256; l++)
        pos[l] = -1;
    for (int c = 0; c < sp.nclasses; c++)
        pos[sp.classes[c]] = c;

    if (sp.kind == DATASET_SYNTHETIC && (rc = synthetic_splits(ds)))
        goto fail;
    for (int test = 0; test < 2 && sp.kind != DATASET_SYNTHETIC; test++) {   /* train, then test file */
        if (test && sp.test == 0)
            break;
        if ((rc = read_raw(sp.kind, sp.path, test, &raw, what, sizeof what)))
            goto fail;
        if (!test) {
            ds->channels = raw.channels;
            ds->rows = raw.rows;
            ds->cols = raw.cols;
            ds->dim = raw.dim;
        } else if (raw.channels != ds->channels || raw.rows != ds->rows || raw.cols != ds->cols) {
            rc = nn_fail(NN_ERR_INPUT, "%s: images are %dx%dx%d but the training images are %dx%dx%d",
                         what, raw.channels, raw.rows, raw.cols, ds->channels, ds->rows, ds->cols);
            goto fail;
        }
        long long total = test ? sp.test : (long long)sp.train + sp.validation;
        if (test)
            snprintf(requested, sizeof requested, "test %d", sp.test);
        else
            snprintf(requested, sizeof requested, "train %d + validation %d", sp.train,
                     sp.validation);
        if (!(idx = malloc((size_t)total * sizeof *idx))) {
            rc = nn_fail(NN_ERR_NOMEM, "%s: cannot allocate %lld indices", what, total);
            goto fail;
        }
        if ((rc = select_examples(&raw, &sp, pos, test, total, idx, what, requested)))
            goto fail;
        if (test) {
            if ((rc = split_alloc(&ds->test, sp.test, ds->dim, ds->ntargets)))
                goto fail;
            fill_split(&ds->test, &raw, idx, pos);
        } else {
            if ((rc = split_alloc(&ds->train, sp.train, ds->dim, ds->ntargets)) ||
                (rc = split_alloc(&ds->validation, sp.validation, ds->dim, ds->ntargets)))
                goto fail;
            fill_split(&ds->train, &raw, idx, pos);
            fill_split(&ds->validation, &raw, idx + sp.train, pos);
        }
        free(idx);
        idx = NULL;
        rawdata_free(&raw);
    }

    split_t *splits[3] = {&ds->train, &ds->validation, &ds->test};
    if (sp.preprocess == PREPROCESS_STANDARDIZE) {
        if ((rc = standardize(ds)))
            goto fail;
    } else {
        for (int s = 0; s < 3; s++)
            scale_split(splits[s], ds->dim, sp.preprocess == PREPROCESS_UNIT_NORM);
    }
    for (int s = 0; s < 3; s++)
        make_targets(splits[s], sp.nclasses);
    return 0;

fail:
    free(idx);
    rawdata_free(&raw);
    dataset_free(ds);
    return rc;
}
