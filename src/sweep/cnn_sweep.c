/* cnn_sweep.c - a CNN job across MPI ranks: every run (the [cnn] section, or each [variant NAME])
 * is one par_schedule item, trained data-parallel by a group of ranks (identical replicas, the
 * global batch split into contiguous slices, gradients summed over the group); world rank 0
 * records each finished run and rewrites the results file (cnn_output.c). The run set-up and
 * the training step (cnn_train.h) are shared with the benchmark (cnn_bench.c). Not here: resume
 * inside a run (a run is restarted from scratch). */
#include "cnn_state.h"
#include "cnn_train.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "h5io.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_rng.h"
#include "nn_timer.h"
#include "par.h"
#include "provenance.h"
#include "sweep.h"

const double cnn_noise_levels[CNN_NOISE_LEVELS] = {0.05, 0.01, 0.005};
const char *const cnn_curve_names[CNN_NCURVES] = {"train_loss", "train_accuracy", "test_loss",
                                                  "test_accuracy", "learning_rate", "seconds",
                                                  "images_per_second"};

/* Seeds of the random streams besides the shuffle (seed, epoch, 0) and the initialization
 * (seed, CNN_INIT_STREAM, layer): xored into the job seed so no two streams coincide. */
#define DROPOUT_STREAM 0x64726f70ull
#define AUGMENT_STREAM 0x61756731ull
#define NOISE_STREAM 0x6e6f6973ull

/* Header of a run's record (doubles), then the curves [CNN_NCURVES][max_epochs], the confusion
 * matrix [nc][nc], the noise accuracies [3], then parameters and buffers as floats. */
enum { REC_EPOCHS, REC_NPARAMS, REC_NBUFFERS, REC_MB, REC_SECONDS, REC_HEADER };

typedef struct {
    cnn_state_t *state;
    const char *out_path;
    float *x_train, *x_test;        /* the splits as float (n, C, H, W), converted once */
    int max_epochs;
    size_t max_floats;              /* largest nparams + nbuffers over the runs */
} sweep_ctx_t;

static size_t record_doubles(const sweep_ctx_t *c)
{
    size_t nc = (size_t)c->state->ds->spec.nclasses;
    return REC_HEADER + (size_t)CNN_NCURVES * c->max_epochs + nc * nc + CNN_NOISE_LEVELS +
           (c->max_floats + 1) / 2;
}

static float *record_floats(const sweep_ctx_t *c, double *rec)
{
    size_t nc = (size_t)c->state->ds->spec.nclasses;
    return (float *)(rec + REC_HEADER + (size_t)CNN_NCURVES * c->max_epochs + nc * nc +
                     CNN_NOISE_LEVELS);
}

/* ---- group collectives ---- */

static void sum_doubles(double *v, int n, void *ctx)
{
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, *(MPI_Comm *)ctx);
}

/* The worst (lowest) status over the group; the message stays with the failing rank. */
static int group_agree(int st, MPI_Comm comm, int gsize)
{
    if (gsize > 1)
        MPI_Allreduce(MPI_IN_PLACE, &st, 1, MPI_INT, MPI_MIN, comm);
    return st;
}

/* argmax of each row of logits (B, nout), or logit > 0 for one output. */
static int count_correct(const float *logits, int B, int nout, const int *labels)
{
    int correct = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * nout;
        int best = 0;
        if (nout == 1)
            best = z[0] > 0;
        else
            for (int k = 1; k < nout; k++)
                if (z[k] > z[best])
                    best = k;
        correct += best == labels[b];
    }
    return correct;
}

/* ---- one run: set-up and step (cnn_train.h) ---- */

void run_work_free(run_work_t *w)
{
    cnn_net_destroy(&w->net);
    cnn_optim_destroy(&w->opt);
    free(w->perm);
    free(w->labels);
    free(w->pred);
    free(w->xb);
    free(w->xa);
    free(w->xnoise);
    memset(w, 0, sizeof *w);
}

/* Test split shard of group rank r: [n r / P, n (r+1) / P). */
static void shard(int n, int r, int P, int *off, int *cnt)
{
    *off = (int)((long long)n * r / P);
    *cnt = (int)((long long)n * (r + 1) / P) - *off;
}

int run_setup(const cnn_spec_t *sp, const dataset_t *ds, MPI_Comm comm, run_slice_t *sl,
              run_work_t *w)
{
    memset(w, 0, sizeof *w);
    memset(sl, 0, sizeof *sl);
    sl->comm = comm;
    MPI_Comm_rank(comm, &sl->grank);
    MPI_Comm_size(comm, &sl->gsize);
    int grank = sl->grank, gsize = sl->gsize;
    int C = ds->channels, H = ds->rows, W = ds->cols, dim = ds->dim, nc = ds->spec.nclasses;
    int ntrain = ds->train.n, gB = sp->batch_size;
    if (gB > ntrain)   /* the last incomplete batch of an epoch is dropped */
        return nn_fail(NN_ERR_INPUT, "run %s: batch_size %d exceeds the %d training examples",
                       sp->name, gB, ntrain);
    if (gB < gsize)
        return nn_fail(NN_ERR_INPUT, "run %s: batch_size %d is smaller than the group of %d ranks",
                       sp->name, gB, gsize);
    /* This rank's slice of every global batch: [boff, boff + lb). */
    sl->gB = gB;
    sl->lb = gB / gsize + (grank < gB % gsize);
    sl->boff = grank * (gB / gsize) + (grank < gB % gsize ? grank : gB % gsize);
    sl->maxlb = (gB + gsize - 1) / gsize;
    int maxlb = sl->maxlb, toff, tcnt;
    shard(ds->test.n, grank, gsize, &toff, &tcnt);

    cnn_opt_kind_t okind;
    int st = cnn_net_create(&w->net, sp->layers, C, H, W, nc, maxlb);
    if (st == NN_OK) st = cnn_optim_kind(sp->optimizer, &okind);
    if (st == NN_OK) st = cnn_sched_kind(sp->schedule, &w->sched);
    if (st == NN_OK)
        st = cnn_init_params(cnn_net_arch(w->net), cnn_params(w->net), cnn_buffers(w->net),
                             sp->init, sp->init_mode, sp->init_std, (uint64_t)sp->seed);
    if (st == NN_OK) {
        w->opt = cnn_optim_create(okind, cnn_nparams(w->net), sp->momentum, sp->beta1, sp->beta2,
                                  sp->eps, sp->weight_decay);
        w->perm = malloc((size_t)ntrain * sizeof *w->perm);
        w->labels = malloc((size_t)maxlb * sizeof *w->labels);
        w->pred = malloc(((size_t)tcnt + 1) * sizeof *w->pred);
        w->xb = malloc((size_t)maxlb * dim * sizeof *w->xb);
        w->xa = malloc((size_t)maxlb * dim * sizeof *w->xa);
        w->xnoise = malloc(((size_t)tcnt + 1) * dim * sizeof *w->xnoise);
        if (!w->opt || !w->perm || !w->labels || !w->pred || !w->xb || !w->xa || !w->xnoise)
            st = nn_fail(NN_ERR_NOMEM, "run %s: cannot allocate the training workspace", sp->name);
    }
    st = group_agree(st, comm, gsize);
    if (st != NN_OK) {
        run_work_free(w);
        return st;
    }
    cnn_reducer_t red = {.sum = sum_doubles, .ctx = &sl->comm};
    cnn_set_reducer(w->net, sp->sync_bn && gsize > 1 ? &red : NULL);
    return NN_OK;
}

void run_shuffle(const cnn_spec_t *sp, int epoch, int n, run_work_t *w)
{
    rng_t shuf;   /* the same permutation on every rank of the group */
    rng_seed_stream(&shuf, (uint64_t)sp->seed, (uint64_t)epoch, 0);
    for (int i = 0; i < n; i++)
        w->perm[i] = i;
    rng_shuffle_int(&shuf, w->perm, n);
}

int run_step(const cnn_spec_t *sp, const run_slice_t *sl, run_work_t *w, const dataset_t *ds,
             const float *x_train, size_t first, long long step, double lr, int epoch, int batch,
             double sums[2])
{
    const int lb = sl->lb, dim = ds->dim, nout = cnn_net_nout(w->net);
    const int *idx = w->perm + first + sl->boff;
    for (int i = 0; i < lb; i++) {   // xb (lb, C, H, W)
        memcpy(w->xb + (size_t)i * dim, x_train + (size_t)idx[i] * dim, (size_t)dim * sizeof(float));
        w->labels[i] = ds->train.label[idx[i]];
    }
    const float *x = w->xb;
    if (sp->augment_crop > 0 || sp->augment_flip) {
        rng_t ar;
        rng_seed_stream(&ar, (uint64_t)sp->seed ^ AUGMENT_STREAM, (uint64_t)sl->grank,
                        (uint64_t)step);
        cnn_augment(w->xb, w->xa, lb, ds->channels, ds->rows, ds->cols, sp->augment_crop,
                    sp->augment_flip, &ar);
        x = w->xa;
    }
    rng_t dr;
    rng_seed_stream(&dr, (uint64_t)sp->seed ^ DROPOUT_STREAM, (uint64_t)sl->grank, (uint64_t)step);
    const float *logits = cnn_forward(w->net, x, lb, 1, &dr);
    int st = NN_OK;
    if (!logits) {
        st = nn_fail_context(NN_ERR_RUNTIME, "run %s, epoch %d, batch %d", sp->name, epoch + 1,
                             batch + 1);
    } else {
        sums[1] += count_correct(logits, lb, nout, w->labels);
        double loss = cnn_loss_backward(w->net, w->labels);   /* mean over the local batch */
        if (isnan(loss))
            st = nn_fail(NN_ERR_RUNTIME, "run %s, epoch %d, batch %d: loss is NaN "
                         "(diverged: lower the learning rate)", sp->name, epoch + 1, batch + 1);
        sums[0] += loss * lb;
    }
    st = group_agree(st, sl->comm, sl->gsize);
    if (st != NN_OK)
        return st;
    float *grads = cnn_grads(w->net);
    size_t np = cnn_nparams(w->net);
    if (sl->gsize > 1) {   /* d(mean over the global batch) = sum_r (lb_r / gB) d(local mean) */
        const float scale = (float)lb / (float)sl->gB;
        for (size_t i = 0; i < np; i++)
            grads[i] *= scale;
        MPI_Allreduce(MPI_IN_PLACE, grads, (int)np, MPI_FLOAT, MPI_SUM, sl->comm);
    }
    cnn_optim_step(w->opt, cnn_params(w->net), grads, lr);
    return NN_OK;
}

/* Confusion matrix and accuracies under additive Gaussian noise on the test split, group-wide. */
static int final_evaluation(const sweep_ctx_t *c, const cnn_spec_t *sp, run_work_t *w,
                            MPI_Comm comm, int grank, int gsize, int *confusion, double *noise_acc)
{
    const dataset_t *ds = c->state->ds;
    int nc = ds->spec.nclasses, dim = ds->dim, off, cnt, st = NN_OK;
    shard(ds->test.n, grank, gsize, &off, &cnt);
    memset(confusion, 0, (size_t)nc * nc * sizeof *confusion);
    if (cnt > 0)
        st = cnn_predict(w->net, c->x_test + (size_t)off * dim, cnt, w->pred);
    for (int i = 0; st == NN_OK && i < cnt; i++)
        confusion[ds->test.label[off + i] * nc + w->pred[i]]++;
    int correct[CNN_NOISE_LEVELS] = {0};
    for (int k = 0; st == NN_OK && k < CNN_NOISE_LEVELS; k++) {
        for (int i = 0; i < cnt; i++) {   /* noise of example i depends on i only: any layout */
            rng_t r;
            rng_seed_stream(&r, (uint64_t)sp->seed ^ NOISE_STREAM, (uint64_t)k,
                            (uint64_t)(off + i));
            const float *x = c->x_test + (size_t)(off + i) * dim;
            float *y = w->xnoise + (size_t)i * dim;
            for (int j = 0; j < dim; j++)
                y[j] = (float)(x[j] + cnn_noise_levels[k] * rng_normal(&r));
        }
        if (cnt > 0)
            st = cnn_predict(w->net, w->xnoise, cnt, w->pred);
        for (int i = 0; st == NN_OK && i < cnt; i++)
            correct[k] += w->pred[i] == ds->test.label[off + i];
    }
    st = group_agree(st, comm, gsize);
    if (st != NN_OK)
        return st;
    if (gsize > 1) {
        MPI_Allreduce(MPI_IN_PLACE, confusion, nc * nc, MPI_INT, MPI_SUM, comm);
        MPI_Allreduce(MPI_IN_PLACE, correct, CNN_NOISE_LEVELS, MPI_INT, MPI_SUM, comm);
    }
    for (int k = 0; k < CNN_NOISE_LEVELS; k++)
        noise_acc[k] = ds->test.n ? (double)correct[k] / ds->test.n : NAN;
    return NN_OK;
}

static int train_run(const sweep_ctx_t *c, const cnn_spec_t *sp, double *rec)
{
    const dataset_t *ds = c->state->ds;
    run_slice_t sl;
    run_work_t w;
    int st = run_setup(sp, ds, (MPI_Comm)par_group_comm(), &sl, &w);
    if (st != NN_OK)
        return st;
    MPI_Comm comm = sl.comm;
    int grank = sl.grank, gsize = sl.gsize, rank = par_rank(), dim = ds->dim;
    int nc = ds->spec.nclasses, ntrain = ds->train.n, gB = sl.gB, toff, tcnt;
    int nbatches = ntrain / gB;   /* the last incomplete batch is dropped */
    shard(ds->test.n, grank, gsize, &toff, &tcnt);
    size_t np = cnn_nparams(w.net), nbuf = cnn_nbuffers(w.net);
    float *params = cnn_params(w.net), *bufs = cnn_buffers(w.net);
    int E = sp->epochs;
    double *curve[CNN_NCURVES];
    for (int k = 0; k < CNN_NCURVES; k++)
        curve[k] = rec + REC_HEADER + (size_t)k * c->max_epochs;
    double t_run = timer_now();
    long long step = 0;

    for (int epoch = 0; epoch < E && st == NN_OK; epoch++) {
        double t0 = timer_now(), lr = cnn_lr_at(w.sched, sp->learning_rate, epoch, E,
                                                sp->step_epochs, sp->step_gamma);
        run_shuffle(sp, epoch, ntrain, &w);
        double sums[2] = {0, 0};   /* loss x examples, correct predictions (this rank) */
        for (int b = 0; b < nbatches && st == NN_OK; b++, step++) {
            st = run_step(sp, &sl, &w, ds, c->x_train, (size_t)b * gB, step, lr, epoch, b, sums);
            par_poll();
        }
        if (st != NN_OK)
            break;
        double t_train = timer_now() - t0;
        if (gsize > 1 && nbuf > 0 && !sp->sync_bn) {   /* average the running statistics */
            MPI_Allreduce(MPI_IN_PLACE, bufs, (int)nbuf, MPI_FLOAT, MPI_SUM, comm);
            for (size_t i = 0; i < nbuf; i++)
                bufs[i] /= (float)gsize;
        }
        double tsum[2] = {0, 0};
        int correct = 0;
        if (tcnt > 0)
            st = cnn_evaluate(w.net, c->x_test + (size_t)toff * dim, ds->test.label + toff, tcnt,
                              &tsum[0], &correct);
        tsum[1] = correct;
        st = group_agree(st, comm, gsize);
        if (st != NN_OK)
            break;
        if (gsize > 1) {
            MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm);
            MPI_Allreduce(MPI_IN_PLACE, tsum, 2, MPI_DOUBLE, MPI_SUM, comm);
        }
        double seen = (double)nbatches * gB, nt = ds->test.n > 0 ? ds->test.n : NAN;
        curve[CNN_TRAIN_LOSS][epoch] = sums[0] / seen;
        curve[CNN_TRAIN_ACC][epoch] = sums[1] / seen;
        curve[CNN_TEST_LOSS][epoch] = tsum[0] / nt;
        curve[CNN_TEST_ACC][epoch] = tsum[1] / nt;
        curve[CNN_LR][epoch] = lr;
        curve[CNN_SECONDS][epoch] = timer_now() - t0;
        curve[CNN_IMAGES_PER_S][epoch] = seen / t_train;
        if (grank == 0 && !log_is_quiet())
            fprintf(stderr, "[rank %d] %s epoch %d/%d: train loss %.4f acc %.4f | test loss %.4f "
                    "acc %.4f | lr %.4g | %.1f s, %.0f images/s\n", rank, sp->name, epoch + 1, E,
                    curve[CNN_TRAIN_LOSS][epoch], curve[CNN_TRAIN_ACC][epoch],
                    curve[CNN_TEST_LOSS][epoch], curve[CNN_TEST_ACC][epoch], lr,
                    curve[CNN_SECONDS][epoch], curve[CNN_IMAGES_PER_S][epoch]);
    }
    size_t ncurve = (size_t)CNN_NCURVES * c->max_epochs;
    int *confusion = (int *)(rec + REC_HEADER + ncurve);   /* nc*nc ints in nc*nc doubles */
    double *noise_acc = rec + REC_HEADER + ncurve + (size_t)nc * nc;
    if (st == NN_OK)
        st = final_evaluation(c, sp, &w, comm, grank, gsize, confusion, noise_acc);
    if (st == NN_OK && grank == 0) {
        rec[REC_EPOCHS] = E;
        rec[REC_NPARAMS] = (double)np;
        rec[REC_NBUFFERS] = (double)nbuf;
        rec[REC_MB] = cnn_arch_mb(cnn_net_arch(w.net));
        rec[REC_SECONDS] = timer_now() - t_run;
        float *f = record_floats(c, rec);
        memcpy(f, params, np * sizeof(float));
        memcpy(f + np, bufs, nbuf * sizeof(float));
    }
    run_work_free(&w);
    return st;
}

static int run_item(int item, int slot, void *result, void *vctx)
{
    (void)slot;
    sweep_ctx_t *c = vctx;
    return train_run(c, c->state->specs[item], result);
}

static int record_item(int item, const void *result, void *vctx)
{
    sweep_ctx_t *c = vctx;
    cnn_state_t *s = c->state;
    const double *rec = result;
    cnn_run_t *r = &s->runs[item];
    int E = (int)rec[REC_EPOCHS], nc = s->ds->spec.nclasses;
    r->epochs = E;
    r->nparams = (size_t)rec[REC_NPARAMS];
    r->nbuffers = (size_t)rec[REC_NBUFFERS];
    r->model_mb = rec[REC_MB];
    r->seconds = rec[REC_SECONDS];
    r->curve[0] = malloc((size_t)CNN_NCURVES * (E > 0 ? E : 1) * sizeof(double));
    r->confusion = malloc((size_t)nc * nc * sizeof(int));
    r->weights = malloc((r->nparams + r->nbuffers + 1) * sizeof(float));
    if (!r->curve[0] || !r->confusion || !r->weights)
        return nn_fail(NN_ERR_NOMEM, "cannot store the results of run %s", r->spec->name);
    for (int k = 0; k < CNN_NCURVES; k++) {
        r->curve[k] = r->curve[0] + (size_t)k * E;
        memcpy(r->curve[k], rec + REC_HEADER + (size_t)k * c->max_epochs, (size_t)E * sizeof(double));
    }
    size_t ncurve = (size_t)CNN_NCURVES * c->max_epochs;
    memcpy(r->confusion, rec + REC_HEADER + ncurve, (size_t)nc * nc * sizeof(int));
    memcpy(r->noise_accuracy, rec + REC_HEADER + ncurve + (size_t)nc * nc, sizeof r->noise_accuracy);
    const float *f = record_floats(c, (double *)rec);
    memcpy(r->weights, f, (r->nparams + r->nbuffers) * sizeof(float));
    r->buffers = r->weights + r->nparams;
    r->done = 1;
    return cnn_state_write(s, c->out_path, "running");
}

/* ---- the job ---- */

/* Checks every run's layers string and sizes the records. Same result on every rank. */
static int check_runs(sweep_ctx_t *c)
{
    cnn_state_t *s = c->state;
    const job_t *job = s->job;
    const dataset_t *ds = s->ds;
    for (int i = 0; i < s->nruns; i++) {
        const cnn_spec_t *sp = s->specs[i];
        cnn_net_t *net = NULL;
        int st = cnn_net_create(&net, sp->layers, ds->channels, ds->rows, ds->cols,
                                ds->spec.nclasses, 1);
        if (st != NN_OK) {   /* "job.ini:12: [variant NAME] layers: layer 4 dense(10): ..." */
            char sec[JOB_NAME_MAX + 16] = "cnn";
            if (job->cnn.nvariants)
                snprintf(sec, sizeof sec, "variant %s", sp->name);
            int line = job_key_line(job, sec, "layers");
            if (!line) {   /* inherited from [cnn] */
                line = job_key_line(job, "cnn", "layers");
                snprintf(sec, sizeof sec, "cnn");
            }
            return nn_fail_context(st, "%s:%d: [%s] layers: ", job->path, line, sec);
        }
        size_t n = cnn_nparams(net) + cnn_nbuffers(net);
        if (n > c->max_floats)
            c->max_floats = n;
        if (sp->epochs > c->max_epochs)
            c->max_epochs = sp->epochs;
        cnn_net_destroy(&net);
        if (sp->group_size != s->specs[0]->group_size)
            return nn_fail(NN_ERR_INPUT, "%s: [variant %s] group_size %d differs from %d: every "
                           "run of a job uses the same group size", job->path, sp->name,
                           sp->group_size, s->specs[0]->group_size);
    }
    int g = s->specs[0]->group_size > 0 ? s->specs[0]->group_size : par_size();
    if (par_size() % g != 0)
        return nn_fail(NN_ERR_INPUT, "%s: [cnn] group_size %d does not divide the %d MPI ranks",
                       job->path, g, par_size());
    s->group_size = g;
    return NN_OK;
}

float *run_split_to_float(const split_t *sp, int dim)
{
    size_t n = (size_t)sp->n * dim;
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (float)sp->x[i];
    return x;
}

int sweep_cnn(const job_t *job, const dataset_t *ds, const sweep_options_t *opt)
{
    cnn_state_t s;
    memset(&s, 0, sizeof s);
    s.job = job;
    s.ds = ds;
    s.command_line = opt->command_line;
    s.nruns = job->cnn.nvariants ? job->cnn.nvariants : 1;
    for (int i = 0; i < s.nruns; i++) {
        s.specs[i] = job->cnn.nvariants ? &job->cnn.variants[i] : &job->cnn.base;
        s.runs[i].spec = s.specs[i];
    }
    sweep_ctx_t c = {.state = &s, .out_path = opt->out_path};
    int rank = par_rank();
    int st = par_agree(check_runs(&c));
    if (opt->bench_steps > 0)   /* --bench: the first run's throughput, no results file */
        return st == NN_OK ? cnn_bench_run(s.specs[0], ds, opt->bench_steps) : st;
    s.hostnames = par_hostnames();
    s.t_start = timer_now();
    provenance_now(s.start_time, sizeof s.start_time);
    if (st == NN_OK) {
        c.x_train = run_split_to_float(&ds->train, ds->dim);
        c.x_test = run_split_to_float(&ds->test, ds->dim);
        st = c.x_train && c.x_test ? NN_OK : nn_fail(NN_ERR_NOMEM, "cannot convert the data to float");
        st = par_agree(st);
    }
    if (st == NN_OK) {
        if (rank == 0 && h5_remove_stale(opt->out_path) > 0)
            log_info("removed temporary files of an earlier run that was killed mid-write");
        if (rank == 0)
            st = cnn_state_write(&s, opt->out_path, "running");
        st = par_agree(st);
    }
    if (st == NN_OK) {
        log_info("CNN job: %d run(s), %d train / %d test, %d rank(s) in groups of %d", s.nruns,
                 ds->train.n, ds->test.n, par_size(), s.group_size);
        par_schedule_t sched = {.nitems = s.nruns, .done = NULL,
                                .result_bytes = record_doubles(&c) * sizeof(double),
                                .group_size = s.group_size, .slots = 1, .run = run_item,
                                .record = record_item, .ctx = &c, .label = "cnn runs"};
        st = par_schedule(&sched);
    }
    if (rank == 0) {
        const char *state = st == NN_OK ? "complete" : st == NN_ERR_INTERRUPTED ? "interrupted" : NULL;
        if (state) {
            int wst = cnn_state_write(&s, opt->out_path, state);
            if (wst != NN_OK)
                st = wst;
        }
    }
    st = par_agree(st);
    for (int i = 0; i < s.nruns; i++) {
        free(s.runs[i].curve[0]);
        free(s.runs[i].confusion);
        free(s.runs[i].weights);
    }
    free(s.hostnames);
    free(c.x_train);
    free(c.x_test);
    return st;
}
