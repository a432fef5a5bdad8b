/* dataset.h - image datasets: raw readers (IDX for MNIST/Fashion-MNIST, CIFAR-10 binary) and the
 * dataset a job uses (class subset, train/validation/test splits, preprocessing, targets).
 * Knows files only: no MPI, no job-file parsing. Errors name the path (and byte offset). */
#ifndef DATASET_H
#define DATASET_H

#include <stddef.h>

#define DATASET_MAX_CLASSES 10
#define DATASET_PATH_MAX 4096

/* DATASET_SYNTHETIC: no files; deterministic random images of a shape the job gives (for
 * benchmarks and tests), see dataset_load. */
typedef enum { DATASET_FASHION_MNIST, DATASET_MNIST, DATASET_CIFAR10, DATASET_SYNTHETIC } dataset_kind_t;
typedef enum { PREPROCESS_SCALE01, PREPROCESS_STANDARDIZE, PREPROCESS_UNIT_NORM } preprocess_t;

/* Images exactly as stored in a file. pixels: n x dim bytes, row-major, one image after the
 * other; within an image channel-major (C,H,W). labels: n bytes. Owns both arrays. */
typedef struct {
    int n;
    int channels, rows, cols;
    int dim;                    /* channels * rows * cols */
    unsigned char *pixels;
    unsigned char *labels;
} rawdata_t;

/* Reads an IDX image file and its IDX label file (gzip-compressed or plain; detected by content).
 * Checks magic numbers (0x803 images, 0x801 labels), dimensions, matching counts and file length.
 * Returns 0, or NN_ERR_INPUT / NN_ERR_NOMEM with a message naming the path; *out untouched then. */
int idx_read(const char *images_path, const char *labels_path, rawdata_t *out);

/* Reads and concatenates CIFAR-10 binary batch files (records of 1 label byte + 3072 pixel bytes,
 * 3x32x32 channel-major). Checks that each file size is a whole number of records, at least one,
 * and labels <= 9. Returns 0, or NN_ERR_INPUT / NN_ERR_NOMEM naming the path and byte offset. */
int cifar_read(const char *const *paths, int npaths, rawdata_t *out);

/* Frees the arrays and zeroes the struct; accepts an already freed/zeroed struct. */
void rawdata_free(rawdata_t *r);

/* What a job asks for ([data] section). */
typedef struct {
    dataset_kind_t kind;
    char path[DATASET_PATH_MAX];   /* directory holding the files; "" = default for the kind */
    int classes[DATASET_MAX_CLASSES];
    int nclasses;                  /* 2 = binary regression targets, >2 = one-hot */
    int train, validation, test;   /* examples per split (validation carved from the training file) */
    preprocess_t preprocess;
    long long shuffle_seed;        /* < 0: first examples in file order; else a seeded shuffle */
    int channels, height, width;   /* synthetic only: image shape (C,H,W); unused otherwise */
} data_spec_t;

/* Largest synthetic image side and channel count (a job file's bounds). */
#define DATASET_SYNTHETIC_MAX_SIDE 1024
#define DATASET_SYNTHETIC_MAX_CHANNELS 64

/* One split after selection. x: n x dim doubles, row-major, preprocessed. y: n x ntargets
 * regression targets (binary: -0.5 for classes[0], +0.5 for classes[1]; multi-class: one-hot
 * shifted to zero mean, 1-1/k and -1/k). label: class position 0..nclasses-1. source_index: index
 * of the example in its source file (for provenance and the report). pixels: the raw bytes. */
typedef struct {
    int n;
    double *x;
    double *y;
    int *label;
    int *source_index;
    unsigned char *pixels;
} split_t;

/* The data a job uses. Owns every array. */
typedef struct {
    data_spec_t spec;
    char name[32];              /* "fashion-mnist", "mnist", "cifar10", "synthetic" */
    int channels, rows, cols, dim;
    int ntargets;               /* 1 for binary, nclasses otherwise */
    split_t train, validation, test;
} dataset_t;

/* Name <-> kind. dataset_kind_parse returns 0 or -1 for an unknown name. */
const char *dataset_kind_name(dataset_kind_t kind);
int dataset_kind_parse(const char *name, dataset_kind_t *kind);

/* Directory used when spec.path is empty: $NNSWEEP_<KIND>_DIR (FASHION_MNIST, MNIST, CIFAR10)
 * if set, else /usr/share/datasets/fashion-mnist, /usr/share/datasets/mnist,
 * /usr/share/datasets/cifar-10-batches-bin. Writes into buf; returns buf. */
const char *dataset_default_path(dataset_kind_t kind, char *buf, size_t len);

/* Examples per class in the standard files (60000/10000 MNIST-like: 6000/1000 per class;
 * CIFAR-10: 5000/1000; synthetic: no limit, INT_MAX), for validating a job before reading any data. */
void dataset_class_counts(dataset_kind_t kind, int *train_per_class, int *test_per_class);

/* The image shape (C,H,W) of the data spec names: 1x28x28 (Fashion-MNIST, MNIST), 3x32x32
 * (CIFAR-10), the spec's channels, height and width (synthetic). Reads no file. */
void dataset_spec_shape(const data_spec_t *spec, int *c, int *h, int *w);

/* Reads the files the spec names, selects the classes and splits, preprocesses (statistics from
 * the training split only) and builds targets. Returns 0, or NN_ERR_INPUT naming the path when a
 * file is missing or malformed or the classes hold fewer examples than asked; *ds zeroed then.
 * Synthetic: reads nothing; example i of a split has pixels uniform in 0..255 and a class uniform
 * over the listed classes, drawn from rng_seed_stream(S, split, i) with S = shuffle_seed if set,
 * else 0 (split 0 training, 1 validation, 2 test), so any subset of ranks or examples regenerates
 * the same data; source_index = i. */
int dataset_load(const data_spec_t *spec, dataset_t *ds);

/* Allocates the arrays of a split of n examples (for receiving a broadcast). Returns 0 or NN_ERR_NOMEM. */
int split_alloc(split_t *s, int n, int dim, int ntargets);
void split_free(split_t *s);
void dataset_free(dataset_t *ds);

#endif
