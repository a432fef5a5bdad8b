/* cnn_bench.c - `nnsweep cnn JOB.ini --bench STEPS`: the training throughput of a job's first
 * run, trained data-parallel by all ranks with the real set-up and step of cnn_train.h on the
 * job's data (dataset = synthetic reads no files). BENCH_WARMUP untimed steps, then STEPS timed
 * ones between barriers; rank 0 prints "images/s: N" on stdout. No evaluation, no results file. */
#include "cnn_train.h"

#include <cblas.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn_error.h"
#include "nn_log.h"
#include "nn_timer.h"
#include "par.h"

#define BENCH_WARMUP 2   /* steps before the clock starts: first-touch pages, BLAS buffers */

int cnn_bench_run(const cnn_spec_t *sp, const dataset_t *ds, long long steps)
{
    float *x = run_split_to_float(&ds->train, ds->dim);
    int st = par_agree(x ? NN_OK : nn_fail(NN_ERR_NOMEM, "cannot convert the data to float"));
    run_slice_t sl;
    run_work_t w;
    if (st == NN_OK)
        st = run_setup(sp, ds, MPI_COMM_WORLD, &sl, &w);
    if (st != NN_OK) {
        free(x);
        return st;
    }
    const int nbatches = ds->train.n / sl.gB;   /* run_setup checked gB <= ntrain */
    double sums[2] = {0, 0}, t0 = 0;
    for (long long s = 0; s < BENCH_WARMUP + steps && st == NN_OK; s++) {
        if (s == BENCH_WARMUP) {
            MPI_Barrier(sl.comm);
            t0 = timer_now();
        }
        const int epoch = (int)(s / nbatches), b = (int)(s % nbatches);
        if (b == 0)   /* epochs as in training: a new order of the examples each time */
            run_shuffle(sp, epoch, ds->train.n, &w);
        const double lr = cnn_lr_at(w.sched, sp->learning_rate, epoch, sp->epochs,
                                    sp->step_epochs, sp->step_gamma);
        st = run_step(sp, &sl, &w, ds, x, (size_t)b * sl.gB, s, lr, epoch, b, sums);
    }
    if (st == NN_OK) {
        MPI_Barrier(sl.comm);
        const double seconds = timer_now() - t0, images = (double)steps * sl.gB;
        log_info("bench: run %s, %zu parameters, global batch %d on %d rank(s), OpenBLAS %s "
                 "kernels, %d warm-up + %lld timed steps in %.3f s, mean training loss of rank "
                 "0 %.4f", sp->name, cnn_nparams(w.net), sl.gB, sl.gsize, openblas_get_corename(),
                 BENCH_WARMUP, steps, seconds, sums[0] / ((double)(BENCH_WARMUP + steps) * sl.lb));
        if (par_rank() == 0) {
            printf("images/s: %.1f\n", images / seconds);
            fflush(stdout);
        }
    }
    run_work_free(&w);
    free(x);
    return st;
}
