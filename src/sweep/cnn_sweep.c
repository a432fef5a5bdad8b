/* cnn_sweep.c - a CNN job across MPI ranks: every run (the [cnn] section, or each [variant NAME])
 * is one par_schedule item, trained data-parallel by a group of ranks (identical replicas, the
 * global batch split into contiguous slices, gradients summed over the group); world rank 0
 * records each finished run and rewrites the results file (cnn_output.c). The group leader
 * checkpoints its run after every epoch and, on a signal, at the next step (cnn_checkpoint.c);
 * --resume reloads finished runs and continues the others bit for bit. A run's set-up and
 * training step (cnn_train.h) also serve the benchmark (cnn_bench.c). */
#include "cnn_state.h"
#include "cnn_train.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnn.h"
#include "h5io.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_rng.h"
#include "nn_signal.h"
#include "nn_timer.h"
#include "par.h"
#include "provenance.h"
#include "sweep.h"
#include "sweep_common.h"

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
enum { REC_EPOCHS, REC_NPARAMS, REC_NBUFFERS, REC_MB, REC_SECONDS, REC_CKPT_SECONDS,
       REC_WEIGHTS_AGREE, REC_HEADER };

size_t run_record_doubles(const sweep_ctx_t *c)
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

/* The sync bn reducer's sum: ctx points to the run's group (run_t.comm). */
static void sum_doubles(double *v, int n, void *ctx)
{
    par_sum_doubles(*(const par_comm_t *const *)ctx, v, (size_t)n);
}

/* The worst (lowest) status over the group; the message stays with the failing rank. */
static int group_agree(int st, const par_comm_t *comm, int gsize)
{
    if (gsize > 1)
        par_min_ints(comm, &st, 1);
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

/* ---- one run ---- */


void run_close(run_t *r)
{
    cnn_net_destroy(&r->net);
    cnn_optim_destroy(&r->opt);
    free(r->perm);
    free(r->labels);
    free(r->pred);
    free(r->xb);
    free(r->xa);
    free(r->xnoise);
    free(r->yb);
    free(r->yout);
    free(r->all_bufs);
    free(r->all_sums);
    free(r->ckpt_path);
}

/* Test split shard of group rank q: [n q / P, n (q+1) / P). */
static void shard(int n, int q, int P, int *off, int *cnt)
{
    *off = (int)((long long)n * q / P);
    *cnt = (int)((long long)n * (q + 1) / P) - *off;
}

int run_open(run_t *r, const sweep_ctx_t *c, const cnn_spec_t *sp, double *rec,
             const par_comm_t *comm)
{
    const dataset_t *ds = c->state->ds;
    memset(r, 0, sizeof *r);
    r->c = c;
    r->sp = sp;
    r->comm = comm;
    r->grank = par_comm_rank(comm);
    r->gsize = par_comm_size(comm);
    int g = r->gsize, q = r->grank, ntrain = ds->train.n;
    r->gB = sp->batch_size;
    r->nbatches = r->gB > 0 ? ntrain / r->gB : 0;
    if (r->nbatches == 0)
        return nn_fail(NN_ERR_INPUT, "run %s: batch_size %d exceeds the %d training examples",
                       sp->name, r->gB, ntrain);
    if (r->gB < g)
        return nn_fail(NN_ERR_INPUT, "run %s: batch_size %d is smaller than the group of %d ranks",
                       sp->name, r->gB, g);
    r->lb = r->gB / g + (q < r->gB % g);
    r->boff = q * (r->gB / g) + (q < r->gB % g ? q : r->gB % g);
    r->maxlb = (r->gB + g - 1) / g;
    shard(ds->test.n, q, g, &r->toff, &r->tcnt);
    for (int k = 0; k < CNN_NCURVES; k++) {
        r->curve[k] = rec + REC_HEADER + (size_t)k * c->max_epochs;
        for (int e = 0; e < sp->epochs; e++)
            r->curve[k][e] = NAN;
    }

    cnn_opt_kind_t okind;
    int dim = ds->dim;
    int st = cnn_net_create(&r->net, sp->layers, ds->channels, ds->rows, ds->cols,
                            ds->spec.nclasses, r->maxlb);
    if (st == NN_OK) st = cnn_optim_kind(sp->optimizer, &okind);
    if (st == NN_OK) st = cnn_sched_kind(sp->schedule, &r->skind);
    if (st == NN_OK) {
        r->np = cnn_nparams(r->net);
        r->nbuf = cnn_nbuffers(r->net);
        st = strcmp(sp->init, "nngp") == 0
                 ? cnn_init_nngp(cnn_net_arch(r->net), cnn_params(r->net), cnn_buffers(r->net),
                                 sp->init_sigma_w2, sp->init_sigma_b2, (uint64_t)sp->seed)
                 : cnn_init_params(cnn_net_arch(r->net), cnn_params(r->net), cnn_buffers(r->net),
                                   sp->init, sp->init_mode, sp->init_std, (uint64_t)sp->seed);
    }
    if (st == NN_OK) {
        size_t lead = q == 0 ? (size_t)g : 0;
        r->opt = cnn_optim_create(okind, r->np, sp->momentum, sp->beta1, sp->beta2, sp->eps,
                                  sp->weight_decay);
        r->perm = malloc((size_t)ntrain * sizeof *r->perm);
        r->labels = malloc((size_t)r->maxlb * sizeof *r->labels);
        r->pred = malloc(((size_t)r->tcnt + 1) * sizeof *r->pred);
        r->xb = malloc((size_t)r->maxlb * dim * sizeof *r->xb);
        r->xa = malloc((size_t)r->maxlb * dim * sizeof *r->xa);
        r->xnoise = malloc(((size_t)r->tcnt + 1) * dim * sizeof *r->xnoise);
        r->all_bufs = malloc((lead * r->nbuf + 1) * sizeof *r->all_bufs);
        r->all_sums = malloc((lead * 2 + 1) * sizeof *r->all_sums);
        r->ckpt_path = cnn_ckpt_path(c->out_path, sp->name);
        size_t nout = (size_t)cnn_net_nout(r->net), ny = c->y_train ? nout : 0;
        r->yb = malloc(((size_t)r->maxlb * ny + 1) * sizeof *r->yb);
        r->yout = malloc(((size_t)r->tcnt * ny + 1) * sizeof *r->yout);
        if (!r->opt || !r->perm || !r->labels || !r->pred || !r->xb || !r->xa || !r->xnoise ||
            !r->yb || !r->yout || !r->all_bufs || !r->all_sums || !r->ckpt_path)
            st = nn_fail(NN_ERR_NOMEM, "run %s: cannot allocate the training workspace", sp->name);
    }
    if (st == NN_OK) {
        r->red = (cnn_reducer_t){.sum = sum_doubles, .ctx = &r->comm};
        cnn_set_reducer(r->net, sp->sync_bn && g > 1 ? &r->red : NULL);
    }
    return group_agree(st, r->comm, r->gsize);
}

/* The checkpoint as a view of the run's arrays (no copies). */
static cnn_ckpt_t ckpt_view(const run_t *r)
{
    cnn_ckpt_t k = {.epoch = r->epoch, .batch = r->batch, .step = r->step,
                    .optimizer_steps = r->opt->t, .group_size = r->gsize,
                    .epochs = r->sp->epochs, .nparams = r->np, .nbuffers = r->nbuf,
                    .nstate = r->opt->nstate, .run_seconds = r->run_seconds,
                    .epoch_seconds = r->epoch_seconds, .checkpoint_seconds = r->ckpt_seconds,
                    .params = cnn_params(r->net), .opt_state = r->opt->state,
                    .buffers = r->all_bufs, .sums = r->all_sums};
    memcpy(k.curve, r->curve, sizeof k.curve);
    return k;
}

/* Writes the run's checkpoint: every rank's bn statistics and epoch sums are gathered on the
 * leader, which writes the file. Collective over the group; returns the agreed status. */
static int run_save(run_t *r)
{
    double t0 = timer_now();
    int st = par_gather(r->comm, cnn_buffers(r->net), r->all_bufs, r->nbuf * sizeof(float), 0);
    if (st == NN_OK)
        st = par_gather(r->comm, r->sums, r->all_sums, sizeof r->sums, 0);
    if (st == NN_OK && r->grank == 0) {
        cnn_ckpt_t k = ckpt_view(r);
        st = cnn_ckpt_write(r->ckpt_path, r->c->state->job->text, r->sp->name, &k);
    }
    r->ckpt_seconds += timer_now() - t0;
    return group_agree(st, r->comm, r->gsize);
}

/* Continues the run from its checkpoint when the leader finds one that matches: the leader
 * reads it, parameters, optimizer state and position are broadcast and each rank gets its own
 * bn statistics and epoch sums back. A checkpoint of another group size (or job, or network) is
 * reported and the run starts from the beginning: its per-rank state and random streams belong
 * to that layout, so continuing would not give the same result. Returns the agreed status. */
static int run_restore(run_t *r)
{
    long long pos[5] = {0, 0, 0, 0, 0};   /* loaded, epoch, batch, step, optimizer steps */
    int st = NN_OK;
    if (r->grank == 0) {
        cnn_ckpt_t k = ckpt_view(r);
        int rc = cnn_ckpt_read(r->ckpt_path, r->c->state->job->text, r->sp->name, &k);
        if (rc == NN_OK) {
            long long p[5] = {1, k.epoch, k.batch, k.step, k.optimizer_steps};
            memcpy(pos, p, sizeof p);
            r->run_seconds = k.run_seconds;
            r->epoch_seconds = k.epoch_seconds;
            r->ckpt_seconds = k.checkpoint_seconds;
            if (!log_is_quiet())
                fprintf(stderr, "[rank %d] %s: continuing from its checkpoint at epoch %d, "
                        "batch %d of %d\n", par_rank(), r->sp->name, k.epoch + 1, k.batch,
                        r->nbatches);
        } else if (rc == CNN_CKPT_MISMATCH) {
            log_warn("run %s: not continued from its checkpoint (%s): the run starts from the "
                     "beginning", r->sp->name, nn_errmsg());
        } else if (rc != CNN_CKPT_NONE) {
            st = nn_fail_context(rc, "run %s: ", r->sp->name);
        }
    }
    st = group_agree(st, r->comm, r->gsize);
    if (st != NN_OK)
        return st;
    st = par_comm_bcast(r->comm, pos, sizeof pos, 0);
    if (st != NN_OK || !pos[0])
        return st;
    st = par_comm_bcast(r->comm, cnn_params(r->net), r->np * sizeof(float), 0);
    if (st == NN_OK)
        st = par_comm_bcast(r->comm, r->opt->state, r->opt->nstate * sizeof(float), 0);
    if (st == NN_OK)
        st = par_scatter(r->comm, r->all_bufs, cnn_buffers(r->net), r->nbuf * sizeof(float), 0);
    if (st == NN_OK)
        st = par_scatter(r->comm, r->all_sums, r->sums, sizeof r->sums, 0);
    if (st != NN_OK)
        return st;
    r->epoch = (int)pos[1];
    r->batch = (int)pos[2];
    r->step = pos[3];
    r->opt->t = pos[4];
    return NN_OK;
}

/* Group-wide at every step: the worst status, and whether any rank caught a signal. One
 * allreduce of two ints, the one the failure check needs anyway. */
static int step_agree(const run_t *r, int st, int *stop)
{
    int v[2] = {st, signal_pending() ? -1 : 0};
    if (r->gsize > 1)
        par_min_ints(r->comm, v, 2);
    *stop = v[1] < 0;
    return v[0];
}

void run_shuffle(run_t *r)
{
    int ntrain = r->c->state->ds->train.n;
    rng_t shuf;   /* the same permutation on every rank of the group */
    rng_seed_stream(&shuf, (uint64_t)r->sp->seed, (uint64_t)r->epoch, 0);
    for (int i = 0; i < ntrain; i++)
        r->perm[i] = i;
    rng_shuffle_int(&shuf, r->perm, ntrain);
}

int run_step(run_t *r, double lr, int *stop)
{
    const sweep_ctx_t *c = r->c;
    const dataset_t *ds = c->state->ds;
    const cnn_spec_t *sp = r->sp;
    int dim = ds->dim, b = r->batch, nout = cnn_net_nout(r->net);
    const int *idx = r->perm + (size_t)b * r->gB + r->boff;
    for (int i = 0; i < r->lb; i++) {   // xb (lb, C, H, W), yb (lb, nout)
        memcpy(r->xb + (size_t)i * dim, c->x_train + (size_t)idx[i] * dim,
               (size_t)dim * sizeof(float));
        r->labels[i] = ds->train.label[idx[i]];
        if (c->y_train)
            memcpy(r->yb + (size_t)i * nout, c->y_train + (size_t)idx[i] * nout,
                   (size_t)nout * sizeof(float));
    }
    const float *x = r->xb;
    if (sp->augment_crop > 0 || sp->augment_flip) {
        rng_t ar;
        rng_seed_stream(&ar, (uint64_t)sp->seed ^ AUGMENT_STREAM, (uint64_t)r->grank,
                        (uint64_t)r->step);
        cnn_augment(r->xb, r->xa, r->lb, ds->channels, ds->rows, ds->cols, sp->augment_crop,
                    sp->augment_flip, &ar);
        x = r->xa;
    }
    rng_t dr;
    rng_seed_stream(&dr, (uint64_t)sp->seed ^ DROPOUT_STREAM, (uint64_t)r->grank,
                    (uint64_t)r->step);
    const float *logits = cnn_forward(r->net, x, r->lb, 1, &dr);
    int st = NN_OK;
    if (!logits) {
        st = nn_fail_context(NN_ERR_RUNTIME, "run %s, epoch %d, batch %d", sp->name,
                             r->epoch + 1, b + 1);
    } else {
        r->sums[1] += count_correct(logits, r->lb, nout, r->labels);
        double loss = c->y_train ? cnn_mse_loss_backward(r->net, r->yb)   /* local batch mean */
                                 : cnn_loss_backward(r->net, r->labels);
        if (isnan(loss))
            st = nn_fail(NN_ERR_RUNTIME, "run %s, epoch %d, batch %d: loss is NaN "
                         "(diverged: lower the learning rate)", sp->name, r->epoch + 1, b + 1);
        r->sums[0] += loss * r->lb;
    }
    st = step_agree(r, st, stop);   /* a signal takes effect after this step */
    if (st != NN_OK)
        return st;
    float *grads = cnn_grads(r->net);
    if (r->gsize > 1) {   /* d(mean over the global batch) = sum_r (lb_r / gB) d(local mean) */
        float scale = (float)r->lb / (float)r->gB;
        for (size_t i = 0; i < r->np; i++)
            grads[i] *= scale;
        par_sum_floats(r->comm, grads, r->np);
    }
    cnn_optim_step(r->opt, cnn_params(r->net), grads, lr);
    r->batch++;
    r->step++;
    return NN_OK;
}

int run_batches(run_t *r, double lr, int *stop)
{
    run_shuffle(r);
    *stop = 0;
    while (r->batch < r->nbatches && !*stop) {
        int st = run_step(r, lr, stop);
        if (st != NN_OK)
            return st;
        par_poll();
    }
    return NN_OK;
}

/* Contract in cnn_train.h; curve seconds: the epoch's training time and its evaluation. */
int run_end_epoch(run_t *r, double lr)
{
    const dataset_t *ds = r->c->state->ds;
    double t0 = timer_now();
    float *bufs = cnn_buffers(r->net);
    if (r->gsize > 1 && r->nbuf > 0 && !r->sp->sync_bn) {
        par_sum_floats(r->comm, bufs, r->nbuf);
        for (size_t i = 0; i < r->nbuf; i++)
            bufs[i] /= (float)r->gsize;
    }
    double tsum[2] = {0, 0};
    int correct = 0, st = NN_OK, e = r->epoch;
    const float *xt = r->c->x_test + (size_t)r->toff * ds->dim;
    if (r->tcnt > 0 && r->c->y_test)
        st = cnn_evaluate_mse(r->net, xt, r->c->y_test + (size_t)r->toff * cnn_net_nout(r->net),
                              ds->test.label + r->toff, r->tcnt, &tsum[0], &correct, r->yout);
    else if (r->tcnt > 0)
        st = cnn_evaluate(r->net, xt, ds->test.label + r->toff, r->tcnt, &tsum[0], &correct);
    tsum[1] = correct;
    st = group_agree(st, r->comm, r->gsize);
    if (st != NN_OK)
        return st;
    if (r->gsize > 1) {
        par_sum_doubles(r->comm, r->sums, 2);
        par_sum_doubles(r->comm, tsum, 2);
    }
    double seen = (double)r->nbatches * r->gB, nt = ds->test.n > 0 ? ds->test.n : NAN;
    double **curve = r->curve;
    curve[CNN_TRAIN_LOSS][e] = r->sums[0] / seen;
    curve[CNN_TRAIN_ACC][e] = r->sums[1] / seen;
    curve[CNN_TEST_LOSS][e] = tsum[0] / nt;
    curve[CNN_TEST_ACC][e] = tsum[1] / nt;
    curve[CNN_LR][e] = lr;
    curve[CNN_SECONDS][e] = r->epoch_seconds + (timer_now() - t0);
    curve[CNN_IMAGES_PER_S][e] = seen / r->epoch_seconds;
    if (r->grank == 0 && !log_is_quiet())
        fprintf(stderr, "[rank %d] %s epoch %d/%d: train loss %.4f acc %.4f | test loss %.4f "
                "acc %.4f | lr %.4g | %.1f s, %.0f images/s\n", par_rank(), r->sp->name, e + 1,
                r->sp->epochs, curve[CNN_TRAIN_LOSS][e], curve[CNN_TRAIN_ACC][e],
                curve[CNN_TEST_LOSS][e], curve[CNN_TEST_ACC][e], lr, curve[CNN_SECONDS][e],
                curve[CNN_IMAGES_PER_S][e]);
    r->run_seconds += timer_now() - t0;
    r->epoch++;
    r->batch = 0;
    r->sums[0] = r->sums[1] = 0;
    r->epoch_seconds = 0;
    return NN_OK;
}

/* Confusion matrix and accuracies under additive Gaussian noise on the test split, group-wide. */
static int final_evaluation(run_t *r, int *confusion, double *noise_acc)
{
    const dataset_t *ds = r->c->state->ds;
    int nc = ds->spec.nclasses, dim = ds->dim, off = r->toff, cnt = r->tcnt, st = NN_OK;
    memset(confusion, 0, (size_t)nc * nc * sizeof *confusion);
    if (cnt > 0)
        st = cnn_predict(r->net, r->c->x_test + (size_t)off * dim, cnt, r->pred);
    for (int i = 0; st == NN_OK && i < cnt; i++)
        confusion[ds->test.label[off + i] * nc + r->pred[i]]++;
    int correct[CNN_NOISE_LEVELS] = {0};
    for (int k = 0; st == NN_OK && k < CNN_NOISE_LEVELS; k++) {
        for (int i = 0; i < cnt; i++) {   /* noise of example i depends on i only: any layout */
            rng_t g;
            rng_seed_stream(&g, (uint64_t)r->sp->seed ^ NOISE_STREAM, (uint64_t)k,
                            (uint64_t)(off + i));
            const float *x = r->c->x_test + (size_t)(off + i) * dim;
            float *y = r->xnoise + (size_t)i * dim;
            for (int j = 0; j < dim; j++)
                y[j] = (float)(x[j] + cnn_noise_levels[k] * rng_normal(&g));
        }
        if (cnt > 0)
            st = cnn_predict(r->net, r->xnoise, cnt, r->pred);
        for (int i = 0; st == NN_OK && i < cnt; i++)
            correct[k] += r->pred[i] == ds->test.label[off + i];
    }
    st = group_agree(st, r->comm, r->gsize);
    if (st != NN_OK)
        return st;
    if (r->gsize > 1) {
        par_sum_ints(r->comm, confusion, (size_t)nc * nc);
        par_sum_ints(r->comm, correct, CNN_NOISE_LEVELS);
    }
    for (int k = 0; k < CNN_NOISE_LEVELS; k++)
        noise_acc[k] = ds->test.n ? (double)correct[k] / ds->test.n : NAN;
    return NN_OK;
}

/* The self-check's invariant of data-parallel training: 1 if every rank of r's group holds the
 * same parameters bit for bit (each applied the same summed gradients). Compares a 62-bit
 * FNV-1a hash of the parameter bytes over the group. Collective over the group. */
int run_params_agree(const run_t *r)
{
    uint64_t h = 14695981039346656037ull;
    const unsigned char *b = (const unsigned char *)cnn_params(r->net);
    for (size_t i = 0; i < r->np * sizeof(float); i++)
        h = (h ^ b[i]) * 1099511628211ull;
    int lo[2] = {(int)(h & 0x7fffffff), (int)((h >> 32) & 0x7fffffff)}, hi[2] = {lo[0], lo[1]};
    if (r->gsize > 1) {
        par_min_ints(r->comm, lo, 2);
        par_max_ints(r->comm, hi, 2);
    }
    return lo[0] == hi[0] && lo[1] == hi[1];
}

/* Fills the leader's record of a finished run (header, confusion, noise accuracy, weights). */
static int run_finish(run_t *r, double *rec)
{
    const sweep_ctx_t *c = r->c;
    int nc = c->state->ds->spec.nclasses;
    size_t ncurve = (size_t)CNN_NCURVES * c->max_epochs;
    int *confusion = (int *)(rec + REC_HEADER + ncurve);   /* nc*nc ints in nc*nc doubles */
    double *noise_acc = rec + REC_HEADER + ncurve + (size_t)nc * nc;
    double t0 = timer_now();
    int st = final_evaluation(r, confusion, noise_acc);
    int agree = st == NN_OK ? run_params_agree(r) : 0;
    r->run_seconds += timer_now() - t0;
    if (st == NN_OK && r->grank == 0) {
        rec[REC_EPOCHS] = r->sp->epochs;
        rec[REC_NPARAMS] = (double)r->np;
        rec[REC_NBUFFERS] = (double)r->nbuf;
        rec[REC_MB] = cnn_arch_mb(cnn_net_arch(r->net));
        rec[REC_SECONDS] = r->run_seconds;
        rec[REC_CKPT_SECONDS] = r->ckpt_seconds;
        rec[REC_WEIGHTS_AGREE] = agree;
        float *f = record_floats(c, rec);
        memcpy(f, cnn_params(r->net), r->np * sizeof(float));
        memcpy(f + r->np, cnn_buffers(r->net), r->nbuf * sizeof(float));
    }
    return st;
}

/* Trains one run from the beginning, or from its checkpoint, which is rewritten after every
 * epoch. A signal stops the group at the next step boundary with a checkpoint: returns
 * NN_ERR_INTERRUPTED then (the run is not recorded; --resume continues it bit for bit). */
static int train_run(const sweep_ctx_t *c, const cnn_spec_t *sp, double *rec)
{
    run_t r;
    int st = run_open(&r, c, sp, rec, par_group_comm());
    if (st == NN_OK)
        st = run_restore(&r);
    while (st == NN_OK && r.epoch < sp->epochs) {
        double lr = cnn_lr_at(r.skind, sp->learning_rate, r.epoch, sp->epochs, sp->step_epochs,
                              sp->step_gamma);
        int stop = 0;
        double t0 = timer_now();
        st = run_batches(&r, lr, &stop);
        r.epoch_seconds += timer_now() - t0;
        r.run_seconds += timer_now() - t0;
        if (st == NN_OK && stop) {
            st = run_save(&r);
            if (st == NN_OK)
                st = nn_fail(NN_ERR_INTERRUPTED, "interrupted by a signal: run %s stopped at "
                             "epoch %d, batch %d of %d, checkpoint %s", sp->name, r.epoch + 1,
                             r.batch, r.nbatches, r.ckpt_path);
            break;
        }
        if (st == NN_OK) st = run_end_epoch(&r, lr);
        if (st == NN_OK) st = run_save(&r);
    }
    if (st == NN_OK)
        st = run_finish(&r, rec);
    run_close(&r);
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
    r->nparams = (size_t)rec[REC_NPARAMS];
    r->nbuffers = (size_t)rec[REC_NBUFFERS];
    r->model_mb = rec[REC_MB];
    r->seconds = rec[REC_SECONDS];
    r->checkpoint_seconds = rec[REC_CKPT_SECONDS];
    r->weights_agree = (int)rec[REC_WEIGHTS_AGREE];
    r->group_size = s->group_size;
    int st = cnn_run_alloc(r, E, nc);
    if (st != NN_OK)
        return st;
    for (int k = 0; k < CNN_NCURVES; k++)
        memcpy(r->curve[k], rec + REC_HEADER + (size_t)k * c->max_epochs, (size_t)E * sizeof(double));
    size_t ncurve = (size_t)CNN_NCURVES * c->max_epochs;
    memcpy(r->confusion, rec + REC_HEADER + ncurve, (size_t)nc * nc * sizeof(int));
    memcpy(r->noise_accuracy, rec + REC_HEADER + ncurve + (size_t)nc * nc, sizeof r->noise_accuracy);
    const float *f = record_floats(c, (double *)rec);
    memcpy(r->weights, f, (r->nparams + r->nbuffers) * sizeof(float));
    r->done = 1;
    st = cnn_state_write(s, c->out_path, "running");
    if (st == NN_OK)   /* the run is safe in the results file: its checkpoint is not needed */
        cnn_ckpt_remove(c->out_path, r->spec->name);
    return st;
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

/* World rank 0, before any writer starts: removes temporary files left by killed writers; with
 * resume loads the finished runs of an earlier results file at out. Removes the checkpoints that
 * must not be continued: all of them without resume or without a results file, a finished run's
 * always. Returns 0 or NN_ERR_INPUT (the file belongs to another job). */
static int prepare_files(cnn_state_t *s, const char *out, int resume)
{
    if (h5_remove_stale(out) > 0)
        log_info("removed temporary files of an earlier run that was killed mid-write");
    int have_file = resume && access(out, F_OK) == 0;
    int st = have_file ? cnn_state_resume(s, out) : NN_OK;
    for (int i = 0; st == NN_OK && i < s->nruns; i++) {
        const char *name = s->runs[i].spec->name;
        char *path = cnn_ckpt_path(out, name);
        if (!path)
            return nn_fail(NN_ERR_NOMEM, "out of memory");
        if (!have_file || s->runs[i].done)
            cnn_ckpt_remove(out, name);
        else
            h5_remove_stale(path);
        free(path);
    }
    return st;
}

/* Rank 0, at the end of a complete job: the self-check's verdict in the log (NN_ERR_CHECK when
 * it FAILED under --strict). */
static int log_self_check(const cnn_state_t *s, int strict)
{
    int n;
    const char *verdict = cnn_self_check(s, &n);
    char what[160];
    snprintf(what, sizeof what, "%d run(s): each group's ranks %s the same weights, final losses "
             "%s; see the runs' self_check attributes", n,
             strcmp(verdict, "FAILED") ? "ended with" : "must end with",
             strcmp(verdict, "FAILED") ? "finite" : "must be finite");
    return sweep_check_verdict(verdict, what, strict);
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
        return st == NN_OK ? cnn_bench_run(&c, s.specs[0], opt->bench_steps) : st;
    s.hostnames = par_hostnames();
    s.t_start = timer_now();
    provenance_now(s.start_time, sizeof s.start_time);
    if (st == NN_OK) {
        c.x_train = run_split_to_float(&ds->train, ds->dim);
        c.x_test = run_split_to_float(&ds->test, ds->dim);
        st = c.x_train && c.x_test ? NN_OK : nn_fail(NN_ERR_NOMEM, "cannot convert the data to float");
        st = par_agree(st);
    }
    unsigned char done[JOB_MAX_VARIANTS] = {0};
    int ndone = 0;
    if (st == NN_OK) {
        if (rank == 0)
            st = prepare_files(&s, opt->out_path, opt->resume);
        if (rank == 0 && st == NN_OK)
            st = cnn_state_write(&s, opt->out_path, "running");
        st = par_agree(st);
        for (int i = 0; i < s.nruns; i++)
            done[i] = (unsigned char)s.runs[i].done;
        par_bcast(done, sizeof done, 0);
        for (int i = 0; i < s.nruns; i++)
            ndone += done[i];
    }
    if (st == NN_OK) {
        log_info("CNN job: %d run(s), %d train / %d test, %d rank(s) in groups of %d%s", s.nruns,
                 ds->train.n, ds->test.n, par_size(), s.group_size, ndone ? " (resumed)" : "");
        par_schedule_t sched = {.nitems = s.nruns, .done = done,
                                .result_bytes = run_record_doubles(&c) * sizeof(double),
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
        if (st == NN_OK)
            cnn_ckpt_remove_dir(opt->out_path);
        if (st == NN_OK)
            st = log_self_check(&s, opt->strict);
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
