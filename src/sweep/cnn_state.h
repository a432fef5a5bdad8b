/* cnn_state.h - private to the CNN sweep: what world rank 0 keeps of every finished run, shared
 * by the driver (cnn_sweep.c) and the results file (cnn_output.c), and the per-run checkpoint
 * file a group leader keeps of a run in progress (cnn_checkpoint.c). */
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
    double model_mb, seconds;           /* seconds: training, summed over resumed sessions */
    double checkpoint_seconds;          /* spent writing its checkpoints */
    int group_size;                     /* ranks that trained it */
    int weights_agree;                  /* self-check: 1 every rank of the group ended with the
                                           same parameters bit for bit, 0 not, -1 not checked
                                           (a file written before the check existed) */
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

/* The job's self-check over the finished runs: "FAILED" when a run's ranks ended with different
 * parameters or its final training or test loss is not finite, else "PENDING" while a run is
 * unfinished, else "PASSED". *nchecked: runs checked. */
const char *cnn_self_check(const cnn_state_t *s, int *nchecked);

/* Rewrites the whole results file at path atomically with every finished run; state_name is
 * "running", "complete" or "interrupted". World rank 0 only. Returns 0 or an error. */
int cnn_state_write(const cnn_state_t *s, const char *path, const char *state_name);
/* Allocates the arrays of a run for E epochs and nc classes (nparams and nbuffers set):
 * curve[0..] in one block, confusion, weights with buffers after them. Returns 0 or NN_ERR_NOMEM. */
int cnn_run_alloc(cnn_run_t *r, int E, int nc);
/* Loads the finished runs of an earlier results file at path into s (runs[i].done set, every
 * array allocated as record_item does). Returns 0 (also when there is no file: nothing loaded),
 * or NN_ERR_INPUT when the file was not written by this same job. World rank 0 only. */
int cnn_state_resume(cnn_state_t *s, const char *path);

/* ---- per-run checkpoint: <results file>.ckpt/<run name>.h5 ----
 * Everything a group needs to continue a run bit for bit at a step boundary. Parameters and
 * optimizer state are the same on every rank of a group; bn running statistics (averaged only at
 * the end of an epoch unless sync_bn) and the partial sums of the epoch's training loss and
 * accuracy are per rank, so they are kept for each rank of the group. Random streams are derived
 * from (seed, epoch) and (seed, group rank, step), so the position is all the random state. */
typedef struct {
    int epoch;                  /* epochs finished */
    int batch;                  /* batches of epoch `epoch` already trained (0: epoch boundary) */
    long long step;             /* batches trained since the start of the run */
    long long optimizer_steps;  /* the optimizer's step counter t */
    int group_size;             /* ranks that trained it: the per-rank arrays have this many rows */
    int epochs;                 /* the run's epochs: length of every curve */
    size_t nparams, nbuffers, nstate;
    double run_seconds;         /* training seconds so far, over every session (timing only) */
    double epoch_seconds;       /* training seconds of the unfinished epoch (timing only) */
    double checkpoint_seconds;  /* seconds spent writing checkpoints so far */
    float *params;              /* [nparams] */
    float *opt_state;           /* [nstate] (cnn_optim_t.state) */
    float *buffers;             /* [group_size][nbuffers] bn running statistics of each rank */
    double *sums;               /* [group_size][2] loss x examples, correct: this epoch, per rank */
    double *curve[CNN_NCURVES]; /* [epochs] each; the first `epoch` values are set */
} cnn_ckpt_t;

enum { CNN_CKPT_NONE = 1, CNN_CKPT_MISMATCH = 2 };

/* "<out_path>.ckpt/<run>.h5", malloc'd; NULL when out of memory. */
char *cnn_ckpt_path(const char *out_path, const char *run);
/* Writes k atomically to path (directory created), tagged with the job text and run name.
 * Returns 0 or an error; an earlier checkpoint at path stays intact on failure. */
int cnn_ckpt_write(const char *path, const char *job_text, const char *run, const cnn_ckpt_t *k);
/* Reads the checkpoint at path into k. The caller sets every size field of k (group_size,
 * epochs, nparams, nbuffers, nstate) and the arrays to fill. Returns NN_OK (arrays and position
 * filled), CNN_CKPT_NONE (no file), CNN_CKPT_MISMATCH (another job, run, group size or network;
 * nothing filled; the message says what differs), or NN_ERR_INPUT when a matching file cannot be
 * read (arrays may be partly filled). */
int cnn_ckpt_read(const char *path, const char *job_text, const char *run, cnn_ckpt_t *k);
/* Removes the checkpoint of a run and any temporary file a killed writer left beside it. */
void cnn_ckpt_remove(const char *out_path, const char *run);
/* Removes the checkpoint directory of out_path if it is empty. */
void cnn_ckpt_remove_dir(const char *out_path);

#endif
