/* cnn_train.h - private to the CNN sweep: one rank's share of a data-parallel training run (its
 * slice of every global batch, the net, the optimizer, the workspace and the position reached)
 * and the training step, shared by the training runs (cnn_sweep.c) and the benchmark
 * (cnn_bench.c), so both train by the same code. Collective over the run's group communicator. */
#ifndef CNN_TRAIN_H
#define CNN_TRAIN_H

#include "cnn.h"
#include "cnn_state.h"
#include "par.h"

/* What the runs of a job share: the state world rank 0 records into, and the data as float. */
typedef struct {
    cnn_state_t *state;
    const char *out_path;
    float *x_train, *x_test;        /* the splits as float (n, C, H, W), converted once */
    float *y_train, *y_test;        /* regression targets as float (n, ntargets): the runs train
                                       on the squared loss (cnn_mse_*); NULL: on the labels */
    int max_epochs;
    size_t max_floats;              /* largest nparams + nbuffers over the runs */
} sweep_ctx_t;

/* A run on one rank of its group: sizes, workspace, and the position reached. */
typedef struct {
    const sweep_ctx_t *c;
    const cnn_spec_t *sp;
    const par_comm_t *comm;        /* the run's group (borrowed) */
    int grank, gsize;
    int nbatches, gB;              /* global batches per epoch (the last partial one dropped) */
    int lb, boff, maxlb;           /* this rank's slice of every global batch: [boff, boff + lb) */
    int toff, tcnt;                /* this rank's shard of the test split */
    cnn_sched_kind_t skind;
    cnn_net_t *net;
    cnn_reducer_t red;             /* sync bn: sums over comm */
    cnn_optim_t *opt;
    size_t np, nbuf;
    int *perm, *labels, *pred;
    float *xb, *xa, *xnoise;
    float *yb;                     /* with targets: this rank's slice of the batch's (lb, nout) */
    float *yout;                   /* with targets: outputs on the test shard (tcnt, nout) at the
                                      last evaluation (run_end_epoch) */
    float *all_bufs;               /* leader: [gsize][nbuf], every rank's bn statistics */
    double *all_sums;              /* leader: [gsize][2], every rank's epoch sums */
    char *ckpt_path;
    double *curve[CNN_NCURVES];    /* [epochs] each, inside the result record */
    /* position: epochs finished, batches of the current epoch trained, batches since the start */
    int epoch, batch;
    long long step;
    double sums[2];                /* this rank, this epoch: loss x examples, correct */
    double run_seconds, epoch_seconds, ckpt_seconds;   /* timing, summed over sessions */
} run_t;

/* Doubles of one run's result record (curves, confusion matrix, noise accuracies, weights). */
size_t run_record_doubles(const sweep_ctx_t *c);

/* Sizes the run for the group comm, builds the net (initialized from the seed) and optimizer and
 * allocates the workspace; curves point into the record rec (run_record_doubles(c) doubles).
 * Collective over comm: returns the agreed status (NN_ERR_INPUT for a batch that does not fit);
 * on failure run_close frees. */
int run_open(run_t *r, const sweep_ctx_t *c, const cnn_spec_t *sp, double *rec,
             const par_comm_t *comm);
void run_close(run_t *r);

/* r->perm = the order of the training examples in epoch r->epoch (the same on every rank). */
void run_shuffle(run_t *r);

/* One training step on global batch r->batch of the epoch, this rank taking its slice: gather,
 * augment, forward, loss and backward, gradients averaged over the group (one allreduce),
 * optimizer step at lr; the position moves on by one batch and step. The group agrees on
 * failures and on signals (*stop set: stop after this step). Returns 0 or the agreed error. */
int run_step(run_t *r, double lr, int *stop);

/* Trains batches r->batch .. nbatches-1 of epoch r->epoch at learning rate lr (run_shuffle, then
 * run_step). The group agrees at every step on failures and signals; on a signal it finishes
 * that step and returns with *stop set and the position after it. Returns 0 or an agreed error. */
int run_batches(run_t *r, double lr, int *stop);

/* Ends epoch r->epoch after its batches: averages the bn statistics over the group (without
 * sync_bn), evaluates on the test split (with targets: squared loss, outputs in r->yout), fills
 * the epoch's curves and moves the position to the next epoch. Returns the agreed status. */
int run_end_epoch(run_t *r, double lr);

/* 1 if every rank of r's group holds the same parameters bit for bit. Collective. */
int run_params_agree(const run_t *r);

/* The examples of a split as float (n, dim), malloc'd; NULL when out of memory. */
float *run_split_to_float(const split_t *sp, int dim);

/* The benchmark (cnn_bench.c): run sp trained by all ranks together for steps >= 1
 * timed steps after a short warm-up on the data of c (only c->state->ds is used); rank 0 prints
 * "images/s: N". Collective; returns 0 or the agreed error. */
int cnn_bench_run(const sweep_ctx_t *c, const cnn_spec_t *sp, long long steps);

#endif
