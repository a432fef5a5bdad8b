/* network_sweep.c - the [network] stage of an NNGP job: for each depth's selected model (sigma_w2,
 * sigma_b2), each width and each seed, a fully connected ReLU network of that depth and width
 * drawn from the NNGP prior is trained on the squared loss against the very targets the GP
 * regresses, by the CNN trainer's data-parallel run (cnn_train.h) on a group of ranks; one
 * par_schedule item per run. Does not write files itself (network_output.c, via save). */
#include "network_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_train.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_timer.h"
#include "par.h"

const char *const network_curve_names[NET_NCURVES] = {"train_loss", "train_accuracy",
                                                      "test_loss", "test_accuracy"};

static size_t nruns(const network_state_t *n) { return (size_t)n->nd * n->nw * n->ns; }

int network_state_create(nngp_state_t *s)
{
    const network_spec_t *spec = &s->job->network;
    s->network = NULL;
    if (!spec->enabled)
        return NN_OK;
    network_state_t *n = calloc(1, sizeof *n);
    if (!n)
        return nn_fail(NN_ERR_NOMEM, "cannot allocate the network stage's tables");
    s->network = n;
    *n = (network_state_t){.nd = s->nd, .nw = spec->widths.n, .ns = spec->seeds.n,
                           .epochs = spec->epochs, .ntest = s->ds->test.n,
                           .ntargets = s->ds->ntargets};
    size_t runs = nruns(n);
    n->done = calloc(runs, 1);
    n->status = calloc(runs, sizeof(int));
    n->test_accuracy = malloc(runs * sizeof(double));
    n->seconds = malloc(runs * sizeof(double));
    n->weights_agree = malloc(runs * sizeof(int));
    n->curve = malloc(NET_NCURVES * runs * n->epochs * sizeof(double));
    n->prediction = malloc(runs * n->ntest * n->ntargets * sizeof(double) + 1);
    if (!n->done || !n->status || !n->test_accuracy || !n->seconds || !n->weights_agree || !n->curve ||
        !n->prediction)
        return nn_fail(NN_ERR_NOMEM, "cannot allocate the network stage's tables");
    for (int d = 0; d < NNGP_MAX_DEPTHS; d++)
        n->sigma_w2[d] = n->sigma_b2[d] = NAN;
    for (size_t i = 0; i < runs; i++) {
        n->test_accuracy[i] = n->seconds[i] = NAN;
        n->weights_agree[i] = -1;
    }
    for (size_t i = 0; i < NET_NCURVES * runs * n->epochs; i++)
        n->curve[i] = NAN;
    for (size_t i = 0; i < runs * n->ntest * n->ntargets; i++)
        n->prediction[i] = NAN;
    return NN_OK;
}

void network_state_free(nngp_state_t *s)
{
    network_state_t *n = s->network;
    if (!n)
        return;
    free(n->done);
    free(n->status);
    free(n->test_accuracy);
    free(n->seconds);
    free(n->weights_agree);
    free(n->curve);
    free(n->prediction);
    free(n);
    s->network = NULL;
}

const nngp_fits_t *network_gp_fits(const nngp_state_t *s)
{
    return s->job->nngp.search_train ? &s->final : &s->post;
}

/* ---- one run ---- */

/* What the items share: the NNGP state, the trainer's context (data as float, targets), the
 * caller's save. */
typedef struct {
    nngp_state_t *s;
    sweep_ctx_t c;
    cnn_state_t cs;
    int (*save)(void *ctx);
    void *save_ctx;
} stage_t;

/* A run's record: these doubles, the curves [NET_NCURVES][epochs], the predictions
 * [ntest][ntargets]. */
enum { REC_STATUS, REC_SECONDS, REC_AGREE, REC_HEADER };

static size_t record_doubles(const network_state_t *n)
{
    return REC_HEADER + (size_t)NET_NCURVES * n->epochs + (size_t)n->ntest * n->ntargets;
}

/* The trainer's settings of run `item`: the job's [network] keys, the depth's model as the
 * nngp init, no augmentation, decay or schedule; momentum and Adam's constants as [cnn]'s. */
static void run_spec(const stage_t *x, int item, cnn_spec_t *sp)
{
    const network_state_t *n = x->s->network;
    const network_spec_t *ns = &x->s->job->network;
    int d = item / (n->nw * n->ns), w = item / n->ns % n->nw, k = item % n->ns;
    int depth = x->s->depths[d], width = (int)ns->widths.v[w];
    *sp = x->s->job->cnn.base;
    snprintf(sp->name, sizeof sp->name, "depth%d-width%d-seed%lld", depth, width,
             (long long)ns->seeds.v[k]);
    int len = snprintf(sp->layers, sizeof sp->layers, "flatten");
    for (int l = 0; l < depth && len < (int)sizeof sp->layers; l++)
        len += snprintf(sp->layers + len, sizeof sp->layers - len, " dense(%d) relu", width);
    if (len < (int)sizeof sp->layers)
        snprintf(sp->layers + len, sizeof sp->layers - len, " dense(%d)", n->ntargets);
    sp->epochs = ns->epochs;
    sp->batch_size = ns->batch_size;
    snprintf(sp->optimizer, sizeof sp->optimizer, "%s", ns->optimizer);
    sp->learning_rate = ns->learning_rate;
    sp->weight_decay = 0;
    snprintf(sp->schedule, sizeof sp->schedule, "none");
    snprintf(sp->init, sizeof sp->init, "nngp");
    sp->init_sigma_w2 = n->sigma_w2[d];
    sp->init_sigma_b2 = n->sigma_b2[d];
    sp->augment_crop = sp->augment_flip = sp->sync_bn = 0;
    sp->seed = (long long)ns->seeds.v[k];
    sp->group_size = n->group_size;
}

/* The outputs on the whole test split into out (ntest x nout floats) on every rank of the
 * group: each rank's shard, summed over the group (the others' entries are zero: exact). */
static void gather_outputs(const run_t *r, float *out, int ntest, int nout)
{
    memset(out, 0, (size_t)ntest * nout * sizeof *out);
    memcpy(out + (size_t)r->toff * nout, r->yout, (size_t)r->tcnt * nout * sizeof *out);
    if (r->gsize > 1)
        par_sum_floats(r->comm, out, (size_t)ntest * nout);
}

/* After a failed step of r (status agreed by the group): 1 when it failed because the loss of
 * some rank's slice was NaN (the run diverged; logged), else 0. Collective over the group. */
static int diverged(const run_t *r, const char *name)
{
    int nan = isnan(r->sums[0]);
    if (r->gsize > 1)
        par_max_ints(r->comm, &nan, 1);
    if (nan && r->grank == 0)
        log_warn("network run %s diverged in epoch %d (its loss is NaN): recorded as diverged; "
                 "a smaller [network] learning_rate trains it", name, r->epoch + 1);
    return nan;
}

/* Trains run `item` from the beginning on the group; the leader fills rec (a diverged run too,
 * with the epochs it finished). A signal stops it at the next step: NN_ERR_INTERRUPTED (not
 * recorded; a resumed job trains it again). */
static int train_item(stage_t *x, int item, double *rec)
{
    const network_state_t *n = x->s->network;
    cnn_spec_t sp;
    run_spec(x, item, &sp);
    double t0 = timer_now(), *crec = calloc(run_record_doubles(&x->c), sizeof *crec);
    float *out = malloc(((size_t)n->ntest * n->ntargets + 1) * sizeof *out);
    int st = crec && out ? NN_OK : nn_fail(NN_ERR_NOMEM, "network run %s: out of memory", sp.name);
    if (par_group_size() > 1)
        par_min_ints(par_group_comm(), &st, 1);
    run_t r;
    int opened = st == NN_OK;
    if (opened)
        st = run_open(&r, &x->c, &sp, crec, par_group_comm());
    while (st == NN_OK && r.epoch < sp.epochs) {
        int stop = 0;
        double te = timer_now();
        st = run_batches(&r, sp.learning_rate, &stop);
        r.epoch_seconds += timer_now() - te;
        if (st == NN_OK && stop)
            st = nn_fail(NN_ERR_INTERRUPTED, "interrupted by a signal: network run %s stopped "
                         "in epoch %d (it is trained again on --resume)", sp.name, r.epoch + 1);
        if (st == NN_OK)
            st = run_end_epoch(&r, sp.learning_rate);
    }
    rec[REC_STATUS] = st == NN_OK ? NET_TRAINED : NET_DIVERGED;
    if (st == NN_ERR_RUNTIME && diverged(&r, sp.name))
        st = NN_OK;   /* recorded with the curves so far; the stage goes on */
    else if (st == NN_OK)
        gather_outputs(&r, out, n->ntest, n->ntargets);
    if (st == NN_OK) {
        int agree = rec[REC_STATUS] == NET_TRAINED ? run_params_agree(&r) : -1;
        static const int from[NET_NCURVES] = {CNN_TRAIN_LOSS, CNN_TRAIN_ACC, CNN_TEST_LOSS,
                                              CNN_TEST_ACC};
        rec[REC_SECONDS] = timer_now() - t0;
        rec[REC_AGREE] = agree;
        for (int k = 0; k < NET_NCURVES; k++)
            memcpy(rec + REC_HEADER + (size_t)k * n->epochs, r.curve[from[k]],
                   (size_t)n->epochs * sizeof(double));
        double *pred = rec + REC_HEADER + (size_t)NET_NCURVES * n->epochs;
        for (size_t i = 0; i < (size_t)n->ntest * n->ntargets; i++)
            pred[i] = rec[REC_STATUS] == NET_TRAINED ? out[i] : NAN;
    }
    if (opened)
        run_close(&r);
    free(crec);
    free(out);
    return st;
}

static int run_item(int item, int slot, void *result, void *vctx)
{
    (void)slot;
    stage_t *x = vctx;
    const network_state_t *n = x->s->network;
    double *rec = result;
    memset(rec, 0, record_doubles(n) * sizeof *rec);
    rec[REC_STATUS] = NET_NO_MODEL;
    if (isnan(n->sigma_w2[item / (n->nw * n->ns)]))
        return NN_OK;   /* every grid point of this depth failed: no prior to train from */
    return train_item(x, item, rec);
}

static int record_item(int item, const void *result, void *vctx)
{
    stage_t *x = vctx;
    network_state_t *n = x->s->network;
    const double *rec = result;
    size_t runs = nruns(n), E = (size_t)n->epochs, np = (size_t)n->ntest * n->ntargets;
    n->done[item] = 1;
    n->status[item] = (int)rec[REC_STATUS];
    if (n->status[item] == NET_NO_MODEL)
        return x->save(x->save_ctx);
    n->seconds[item] = rec[REC_SECONDS];
    n->weights_agree[item] = (int)rec[REC_AGREE];
    for (int k = 0; k < NET_NCURVES; k++)
        memcpy(n->curve + ((size_t)k * runs + item) * E, rec + REC_HEADER + k * E,
               E * sizeof(double));
    n->test_accuracy[item] = n->status[item] == NET_TRAINED
                                 ? rec[REC_HEADER + NET_TEST_ACC * E + E - 1] : NAN;
    memcpy(n->prediction + item * np, rec + REC_HEADER + NET_NCURVES * E, np * sizeof(double));
    return x->save(x->save_ctx);
}

/* ---- the stage ---- */

/* Rank 0: each depth's prior from its selected model (NaN: none); runs resumed from an earlier
 * file count only when their depth's model is still the one selected. */
static void select_priors(nngp_state_t *s)
{
    network_state_t *n = s->network;
    size_t per_depth = (size_t)n->nw * n->ns;
    for (int d = 0; d < n->nd; d++) {
        int item = s->best[SELECT_TEST_ACCURACY][d];
        double sw2 = item < 0 ? NAN : s->job->nngp.sigma_w2.v[item / s->nb];
        double sb2 = item < 0 ? NAN : s->job->nngp.sigma_b2.v[item % s->nb];
        int same = (sw2 == n->sigma_w2[d] && sb2 == n->sigma_b2[d]) ||
                   (isnan(sw2) && isnan(n->sigma_w2[d]));
        if (!same)
            memset(n->done + d * per_depth, 0, per_depth);
        n->sigma_w2[d] = sw2;
        n->sigma_b2[d] = sb2;
    }
}

/* The stage's data as float: inputs and the GP's regression targets of both splits. */
static int convert_data(stage_t *x)
{
    const dataset_t *ds = x->s->ds;
    split_t ytrain = {.n = ds->train.n, .x = ds->train.y}, ytest = {.n = ds->test.n, .x = ds->test.y};
    x->c.x_train = run_split_to_float(&ds->train, ds->dim);
    x->c.x_test = run_split_to_float(&ds->test, ds->dim);
    x->c.y_train = run_split_to_float(&ytrain, ds->ntargets);
    x->c.y_test = run_split_to_float(&ytest, ds->ntargets);
    if (!x->c.x_train || !x->c.x_test || !x->c.y_train || !x->c.y_test)
        return nn_fail(NN_ERR_NOMEM, "network stage: cannot convert the data to float");
    return NN_OK;
}

/* The group size: the job's (0: all ranks), which must divide the ranks. Same on every rank. */
static int resolve_group(const nngp_state_t *s, int *g)
{
    const job_t *job = s->job;
    *g = job->network.group_size > 0 ? job->network.group_size : par_size();
    if (par_size() % *g == 0)
        return NN_OK;
    int line = job_key_line(job, "network", "group_size");
    return nn_fail(NN_ERR_INPUT, "%s:%d: group_size: %d does not divide the %d MPI ranks",
                   job->path, line, *g, par_size());
}

int network_stage(nngp_state_t *s, const char *out_path, int (*save)(void *ctx), void *save_ctx)
{
    network_state_t *n = s->network;
    if (!n)
        return NN_OK;
    stage_t x = {.s = s, .save = save, .save_ctx = save_ctx};
    x.cs = (cnn_state_t){.job = s->job, .ds = s->ds};
    x.c = (sweep_ctx_t){.state = &x.cs, .out_path = out_path, .max_epochs = n->epochs};
    int st = resolve_group(s, &n->group_size);
    if (st == NN_OK)
        st = par_agree(convert_data(&x));
    if (st == NN_OK) {
        if (par_rank() == 0)
            select_priors(s);
        par_bcast(n->done, nruns(n), 0);
        par_bcast(n->sigma_w2, sizeof n->sigma_w2, 0);
        par_bcast(n->sigma_b2, sizeof n->sigma_b2, 0);
        int todo = 0;
        for (size_t i = 0; i < nruns(n); i++)
            todo += !n->done[i];
        log_info("network stage: %d run(s) of %zu (%d depth(s) x %d width(s) x %d seed(s)), "
                 "%d epoch(s) each, groups of %d rank(s)%s", todo, nruns(n), n->nd, n->nw, n->ns,
                 n->epochs, n->group_size, todo < (int)nruns(n) ? " (the others resumed)" : "");
        par_schedule_t sched = {.nitems = (int)nruns(n), .done = n->done,
                                .result_bytes = record_doubles(n) * sizeof(double),
                                .group_size = n->group_size, .slots = 1, .run = run_item,
                                .record = record_item, .ctx = &x, .label = "networks"};
        st = par_schedule(&sched);
    }
    free(x.c.x_train);
    free(x.c.x_test);
    free(x.c.y_train);
    free(x.c.y_test);
    return st;
}
