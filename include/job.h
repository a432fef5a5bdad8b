/* job.h - job files (INI, parsed with inih): sections [data], [nngp], [limit], [cnn], [output], and
 * [variant NAME] sections that override [cnn] keys for one CNN variant. Grid specs, defaults and
 * validation live here. Knows nothing numerical and nothing of MPI: rank 0 calls job_load(), the
 * driver broadcasts job->text, and the other ranks call job_parse() on the same text.
 * Every error names "file:line: key" and returns NN_ERR_INPUT. */
#ifndef JOB_H
#define JOB_H

#include "dataset.h"

/* A list of grid values, in the order written. Owns v. */
typedef struct {
    double *v;
    int n;
} grid_t;

/* Parses a grid spec into g:
 *   "1:10" and "1:20:2"   integer ranges, inclusive (start:stop[:step], step > 0)
 *   "linspace(a, b, n)"   n >= 1 evenly spaced values from a to b inclusive
 *   "logspace(a, b, n)"   10^a .. 10^b, n values evenly spaced in the exponent
 *   "0, 0.25, 1.5"        explicit list (a single number is a list of one)
 * At most 100000 values; nan, inf and trailing junk are rejected. Returns 0, or NN_ERR_INPUT with
 * the reason in why (no file/line: the caller adds them), or NN_ERR_NOMEM; g is {NULL, 0} then. */
int grid_parse(const char *text, grid_t *g, char *why, size_t whylen);
void grid_free(grid_t *g);

typedef enum { SOLVER_AUTO, SOLVER_LAPACK, SOLVER_SCALAPACK } solver_t;

/* The kernels a job regresses with ([nngp] kernel), as bits: the NNGP kernel K and the neural
 * tangent kernel Theta (kernel.h). */
enum { KERNEL_NNGP = 1, KERNEL_NTK = 2 };

typedef struct {
    int enabled;                /* the job has an [nngp] section */
    grid_t depth;               /* integers >= 1 */
    grid_t sigma_w2, sigma_b2;  /* sigma_w2 > 0, sigma_b2 >= 0 */
    double noise;               /* s2 added to the diagonal, default 1e-10, >= 0 */
    double noise_max;           /* cap for the x10 jitter retries, default 1e-1, >= noise */
    solver_t solver;            /* default auto */
    int group_size;             /* ranks per work group, default 1 */
    int block_size;             /* ScaLAPACK block size, default 0 = measured default */
    int grid_p, grid_q;         /* BLACS grid "PxQ", default 0x0 = chosen automatically */
    int covariance;             /* store the full test covariance of reported models (default 0) */
    int search_train;           /* > 0: the grid on the first search_train training examples, then
                                   each depth's selected model fitted on all (default 0: off) */
    unsigned kernels;           /* KERNEL_* bits, default KERNEL_NNGP: each kernel is a sweep of
                                   its own, written under /nngp and /ntk */
    double check_threshold;     /* a fit's self-check passes with scaled residuals at most this
                                   (nngp_check.h; default 16, HPL's), > 0 */
} nngp_spec_t;

/* [limit]: a stage of the NNGP job measuring how random networks of finite width approach the
 * NNGP kernel (limit.h). */
typedef struct {
    int enabled;                /* the job has a [limit] section (which must set widths) */
    grid_t widths;              /* integers 1..65536, sorted */
    int samples;                /* networks per depth and width, >= 2, default 20 */
    int points;                 /* the first `points` test inputs, 2..[data] test, default 100 */
    double sigma_w2, sigma_b2;  /* both or neither set; NaN: each depth's selected model */
    long long seed;             /* default 1 */
} limit_spec_t;

#define JOB_NAME_MAX 64
#define JOB_LAYERS_MAX 1024
#define JOB_MAX_VARIANTS 32

/* Training settings ([cnn], or a variant: [cnn] with that section's keys overriding). */
typedef struct {
    char name[JOB_NAME_MAX];        /* "base" for the [cnn] section itself */
    char layers[JOB_LAYERS_MAX];    /* e.g. "conv(32,3,pad=1) bn relu maxpool(2) flatten dense(10)" */
    int epochs;                     /* default 10 */
    int batch_size;                 /* global batch, default 64 */
    char optimizer[16];             /* sgd | momentum | nesterov | adagrad | adam (default momentum) */
    double learning_rate;           /* default 0.01 */
    double momentum;                /* default 0.9 */
    double beta1, beta2, eps;       /* Adam, defaults 0.9, 0.999, 1e-8 */
    double weight_decay;            /* default 0 */
    char schedule[16];              /* none | step | cosine (default none) */
    int step_epochs;                /* step schedule: every step_epochs epochs, default 10 */
    double step_gamma;              /* step schedule: multiply by gamma, default 0.1 */
    char init[32];                  /* kaiming_normal | kaiming_uniform | xavier_normal | xavier_uniform
                                       | normal | uniform (default kaiming_normal) */
    char init_mode[8];              /* fan_in | fan_out (default fan_in) */
    double init_std;                /* normal(std) / uniform(-a, a), default 0.01 */
    int augment_crop;               /* random-crop padding in pixels, default 0 = off */
    int augment_flip;               /* horizontal flip, default 0 */
    int sync_bn;                    /* synchronized batch norm, default 0 */
    long long seed;                 /* default 1 */
    int group_size;                 /* ranks per training run, default: all ranks */
    double init_sigma_w2;           /* init "nngp" (cnn_init_nngp; set by the [network] stage, */
    double init_sigma_b2;           /*   no [cnn] key): weights N(0, sw2/fan_in), biases N(0, sb2) */
} cnn_spec_t;

typedef struct {
    int enabled;                              /* the job has a [cnn] section */
    cnn_spec_t base;                          /* [cnn] */
    cnn_spec_t variants[JOB_MAX_VARIANTS];    /* [variant NAME] sections, in file order */
    int nvariants;                            /* 0: the base alone is the one run */
} cnn_job_t;

/* Trained networks against their GP ([network], a stage of an [nngp] job): for each depth's
 * selected (sigma_w2, sigma_b2), each width and seed, a fully connected ReLU net of that depth
 * and width from the NNGP prior trained on the squared loss against the GP's targets. */
typedef struct {
    int enabled;                    /* the job has a [network] section */
    grid_t widths;                  /* integers >= 1, default 256, 1024, 4096 */
    int epochs;                     /* default 20 */
    int batch_size;                 /* global batch, default 100 */
    char optimizer[16];             /* as [cnn] (default sgd) */
    double learning_rate;           /* default 0.01 */
    grid_t seeds;                   /* integers, default 1: one run per seed */
    int group_size;                 /* ranks per run (data-parallel), default 1; 0 = all ranks */
} network_spec_t;

/* A dream ([dream], `nnsweep dream`): gradient ascent on an image that maximises the L2 norms
 * of chosen layers of a trained model (dream.h). */
typedef struct {
    int enabled;                    /* the job has a [dream] section (which must set model, layers) */
    char model[DATASET_PATH_MAX];   /* a CNN results file or a converted model file */
    char run[128];                  /* the run of a CNN results file holding several */
    char image[DATASET_PATH_MAX];   /* a PNG path, "test:INDEX" or "noise" (default) */
    char layers[1024];              /* layer sets, comma-separated; a set joins layers with + */
    grid_t steps;                   /* integers >= 1, default 10, 50, 200 */
    double learning_rate;           /* default 0.01 (the gradient is divided by its mean |g|) */
    int octaves;                    /* default 1 */
    double octave_scale;            /* > 1, default 1.4 */
    int jitter;                     /* pixels, default 0 */
    long long seed;                 /* default 1 */
    int height, width;              /* noise only: the image size (0: the model's) */
} dream_spec_t;

typedef struct {
    char file[DATASET_PATH_MAX];    /* default results/<job file stem>.h5 */
} output_spec_t;

typedef struct {
    char path[DATASET_PATH_MAX];    /* the job file as named on the command line */
    char *text;                     /* its full text (stored in the output file) */
    data_spec_t data;
    nngp_spec_t nngp;
    limit_spec_t limit;
    cnn_job_t cnn;
    network_spec_t network;
    dream_spec_t dream;
    output_spec_t output;
    struct job_lines *lines;        /* private: where each key was written (job_key_line) */
} job_t;

/* Reads and validates a job file. Returns 0, or NN_ERR_INPUT ("path: cannot read job file: ..." or
 * "path:line: key: reason"; "path: [section]: key: reason" when a default is at fault) /
 * NN_ERR_NOMEM; on error *job is zeroed and holds nothing to free. */
int job_load(const char *path, job_t *job);
/* The same from text already in memory; name is used in messages and as job->path. */
int job_parse(const char *text, const char *name, job_t *job);
/* Line of "key" in "section" (1-based), or 0 when the key was not written (default used). */
int job_key_line(const job_t *job, const char *section, const char *key);
/* The k-th [cnn] key (k = 0, 1, ... in the order of the key table) and its value in s as text into
 * value (n bytes): numbers "%.6g", booleans "true"/"false", choices and strings as stored. Returns
 * the key's name, or NULL (value untouched) when k is past the last key. For comparing variants. */
const char *job_cnn_setting(const cnn_spec_t *s, int k, char *value, size_t n);
/* Frees what job_load/job_parse allocated; accepts a zeroed job. */
void job_free(job_t *job);

#endif
