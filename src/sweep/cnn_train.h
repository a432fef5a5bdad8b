/* cnn_train.h - private to the CNN sweep: one rank's share of a data-parallel training run (its
 * slice of every global batch, the net, the optimizer and the buffers) and the training step,
 * shared by the training runs (cnn_sweep.c) and the benchmark (cnn_bench.c), so both train by
 * the same code. Collective over the group communicator given to run_setup. */
#ifndef CNN_TRAIN_H
#define CNN_TRAIN_H

#include <mpi.h>

#include "cnn.h"
#include "dataset.h"
#include "job.h"

/* Everything one rank allocates for a run; run_work_free releases it. */
typedef struct {
    cnn_net_t *net;
    cnn_optim_t *opt;
    cnn_sched_kind_t sched;
    int *perm;              /* [ntrain] the epoch's order of the training examples */
    int *labels, *pred;     /* [maxlb] batch labels; [test shard] predictions */
    float *xb, *xa;         /* [maxlb][dim] the batch, and its augmented copy */
    float *xnoise;          /* [test shard][dim] noisy test images */
} run_work_t;

/* This rank's place in the run's group and its slice [boff, boff + lb) of every global batch
 * of gB examples (the first gB % gsize ranks take one more). */
typedef struct {
    MPI_Comm comm;
    int grank, gsize;
    int gB, lb, boff, maxlb;
} run_slice_t;

/* Collective over comm: checks the batch against the training split and the group, creates the
 * net (initialized from sp->seed, the same on every rank), the optimizer and the buffers, and
 * sets the sync-BN reducer (which keeps a pointer to sl->comm: sl must outlive the run).
 * Returns 0, or the group's agreed error with nothing left to free. */
int run_setup(const cnn_spec_t *sp, const dataset_t *ds, MPI_Comm comm, run_slice_t *sl,
              run_work_t *w);
void run_work_free(run_work_t *w);

/* w->perm = the order of the n training examples in epoch (the same on every rank). */
void run_shuffle(const cnn_spec_t *sp, int epoch, int n, run_work_t *w);

/* One step on the global batch of training examples perm[first .. first + gB), this rank
 * taking its slice: gather (x_train (n,dim) float, labels), augment, forward, loss and
 * backward, gradients averaged over the group (one allreduce), optimizer step at lr. step
 * numbers the random streams (augmentation, dropout); epoch and batch are for messages.
 * sums[0] += loss x local examples, sums[1] += correct predictions. Collective; returns 0 or
 * the group's agreed error. */
int run_step(const cnn_spec_t *sp, const run_slice_t *sl, run_work_t *w, const dataset_t *ds,
             const float *x_train, size_t first, long long step, double lr, int epoch, int batch,
             double sums[2]);

/* The examples of a split as float (n, dim), malloc'd; NULL when out of memory. */
float *run_split_to_float(const split_t *sp, int dim);

/* The benchmark (cnn_bench.c): run sp trained by every rank of MPI_COMM_WORLD for steps >= 1
 * timed steps after a short warm-up; rank 0 prints "images/s: N". Collective; returns 0 or the
 * agreed error. */
int cnn_bench_run(const cnn_spec_t *sp, const dataset_t *ds, long long steps);

#endif
