/* cnn_state.h - private to the CNN sweep: what world rank 0 keeps of every finished run, shared
 * by the driver (cnn_sweep.c) and the results-file writer (cnn_output.c). */
#ifndef CNN_STATE_H
#define CNN_STATE_H

#include <stddef.h>

#include "dataset.h"
#include "job.h"

#define CNN_NOISE_LEVELS 3
extern const double cnn_noise_levels[CNN_NOISE_LEVELS];   /* 0.05, 0.01, 0.005 */

/* Per-epoch curves, in this order in a run's record. */
enum { CNN_TRAIN_LOSS, CNN_TRAIN_ACC, CNN_TEST_LOSS, CNN_TEST_ACC, CNN_LR, CNN_SECONDS,
       CNN_IMAGES_PER_S, CNN_NCURVES };
extern const char *const cnn_curve_names[CNN_NCURVES];

/* One finished run (variant), as world rank 0 received it. */
typedef struct {
    const cnn_spec_t *spec;
    int done;
    int epochs;
    double *curve[CNN_NCURVES];         /* [epochs] each (one malloc'd block at curve[0]) */
    int *confusion;                     /* [nclasses][nclasses], rows = true class position */
    double noise_accuracy[CNN_NOISE_LEVELS];
    float *weights;                     /* [nparams] */
    size_t nparams, nbuffers;
    float *buffers;                     /* [nbuffers] bn running statistics */
    double model_mb, seconds;
} cnn_run_t;

typedef struct {
    const job_t *job;
    const dataset_t *ds;
    int nruns;
    const cnn_spec_t *specs[JOB_MAX_VARIANTS];
    cnn_run_t runs[JOB_MAX_VARIANTS];
    int group_size;                     /* resolved: ranks per run */
    const char *command_line;
    char *hostnames;
    char start_time[32];
    double t_start;
} cnn_state_t;

/* Rewrites the whole results file at path atomically with every finished run; state_name is
 * "running", "complete" or "interrupted". World rank 0 only. Returns 0 or an error. */
int cnn_state_write(const cnn_state_t *s, const char *path, const char *state_name);

#endif
