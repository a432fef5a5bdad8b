/* sweep.h - the experiment drivers: an NNGP job (grid items through par_schedule, best models,
 * posteriors of the reported models, checkpoint after every item, resume) and a CNN job (one
 * training run per item, checkpoint after every epoch and on a signal, resume).
 * Collective over all ranks; the data are already loaded and broadcast. */
#ifndef SWEEP_H
#define SWEEP_H

#include "dataset.h"
#include "job.h"

typedef struct {
    const char *out_path;       /* results file */
    const char *command_line;   /* for provenance */
    int resume;                 /* skip items finished in an existing file at out_path (CNN: and
                                   continue unfinished runs from their checkpoints) */
    int threads;                /* items a rank runs at once, one per thread */
    int strict;                 /* a FAILED self-check returns NN_ERR_CHECK (else only reported) */
    long long bench_steps;      /* cnn only: > 0 benchmarks the first run (cnn_bench.c) instead */
} sweep_options_t;

/* Runs the [nngp] part of a job. Returns 0; NN_ERR_INTERRUPTED when a signal stopped it (the file
 * holds every finished item, state "interrupted"); NN_ERR_INPUT for a resume that does not match
 * the job; or another error. The same status on every rank. */
int sweep_nngp(const job_t *job, const dataset_t *ds, const sweep_options_t *opt);

/* Runs the [cnn] part of a job: one data-parallel training run per variant (or the base), each
 * trained by a group of ranks; the file is rewritten after every run, and a run in progress is
 * checkpointed to <out_path>.ckpt/<run>.h5 after every epoch. Returns 0, NN_ERR_INTERRUPTED (a
 * signal: runs in progress checkpointed at their next step, file state "interrupted"),
 * NN_ERR_INPUT (bad layers string, batch or group size; a resume that does not match the job),
 * or another error. The same status on every rank. With opt->bench_steps > 0 it checks the
 * runs the same way, then only times bench_steps training steps of the first run on all ranks
 * (one group, whatever group_size says), prints "images/s: N" on rank 0's stdout and writes no
 * file. */
int sweep_cnn(const job_t *job, const dataset_t *ds, const sweep_options_t *opt);

/* Runs the [dream] part of a job (dream_sweep.c): every (layer set, steps) pair dreamed on the
 * job's image, items handed to ranks (and threads), the results file rewritten after every
 * item. Returns 0, NN_ERR_INTERRUPTED (finished pairs kept, state "interrupted"), NN_ERR_INPUT
 * (model, image or layers at fault; a resume of another job) or another error; the same status
 * on every rank. */
int sweep_dream(const job_t *job, const dataset_t *ds, const sweep_options_t *opt);

/* Model-selection rules, in the order they are stored under /nngp/best. */
enum { SELECT_TEST_ACCURACY, SELECT_VALIDATION_ACCURACY, SELECT_LOG_MARGINAL_LIKELIHOOD, SELECT_NRULES };
extern const char *const select_rule_names[SELECT_NRULES];

#endif
