/* cnn_bench.c - `nnsweep cnn JOB.ini --bench STEPS`: the training throughput of a job's first
 * run, trained data-parallel by all ranks with the real set-up and step of cnn_train.h on the
 * job's data (dataset = synthetic reads no files). BENCH_WARMUP untimed steps, then STEPS timed
 * ones between barriers; rank 0 prints "images/s: N" on stdout. No evaluation, no results file,
 * no checkpoints. */
#include "cnn_train.h"

#include <stdio.h>
#include <stdlib.h>

#include "nn_error.h"
#include "nn_log.h"
#include "nn_threads.h"
#include "nn_timer.h"
#include "par.h"

#define BENCH_WARMUP 2   /* steps before the clock starts: first-touch pages, BLAS buffers */

int cnn_bench_run(const sweep_ctx_t *job_ctx, const cnn_spec_t *sp, long long steps)
{
    const dataset_t *ds = job_ctx->state->ds;
    sweep_ctx_t c = {.state = job_ctx->state, .out_path = "", .max_epochs = sp->epochs};
    c.x_train = run_split_to_float(&ds->train, ds->dim);
    double *rec = calloc(run_record_doubles(&c), sizeof *rec);
    int st = par_agree(c.x_train && rec ? NN_OK
                                        : nn_fail(NN_ERR_NOMEM, "cannot allocate the benchmark's data"));
    run_t r;
    int opened = 0;
    if (st == NN_OK) {
        st = run_open(&r, &c, sp, rec, par_world());
        opened = 1;
    }
    double t0 = 0;
    for (long long s = 0; s < BENCH_WARMUP + steps && st == NN_OK; s++) {
        if (s == BENCH_WARMUP) {
            par_barrier(r.comm);
            t0 = timer_now();
        }
        if (r.batch == r.nbatches) {   /* epochs as in training: a new order each time */
            r.epoch++;
            r.batch = 0;
        }
        if (r.batch == 0)
            run_shuffle(&r);
        int stop = 0;
        double lr = cnn_lr_at(r.skind, sp->learning_rate, r.epoch, sp->epochs, sp->step_epochs,
                              sp->step_gamma);
        st = run_step(&r, lr, &stop);
        if (st == NN_OK && stop)
            st = nn_fail(NN_ERR_INTERRUPTED, "benchmark interrupted by a signal");
    }
    if (st == NN_OK) {
        par_barrier(r.comm);
        double seconds = timer_now() - t0, images = (double)steps * r.gB;
        log_info("bench: run %s, %zu parameters, global batch %d on %d rank(s), %s, %d warm-up "
                 "+ %lld timed steps in %.3f s, mean training loss of rank 0's slice %.4f",
                 sp->name, r.np, r.gB, r.gsize, threads_blas_name(), BENCH_WARMUP, steps, seconds,
                 r.sums[0] / ((double)(BENCH_WARMUP + steps) * r.lb));
        if (par_rank() == 0) {
            printf("images/s: %.1f\n", images / seconds);
            fflush(stdout);
        }
    }
    if (opened)
        run_close(&r);
    free(rec);
    free(c.x_train);
    return st;
}
