/* nngp_sweep.c - an NNGP job across MPI ranks: one work item per (sigma_w^2, sigma_b^2) pair gives
 * every depth; results are recorded on rank 0 and the file is rewritten after every item; then the
 * best model of each depth is chosen and its posterior (mean, variance, uncertain examples)
 * computed, again as items. Ranks that would wait for the last grid items compute posteriors
 * ahead for the best models so far, which the final selection usually confirms. An item runs on
 * one rank with LAPACK (nngp.c), or on a group of ranks with ScaLAPACK (pgp.c), as nngp_layout
 * chooses. Files are in nngp_output.c. */
#include "nngp_state.h"
#include "limit_stage.h"
#include "network_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_timer.h"
#include "nn_units.h"
#include "par.h"
#include "pgp.h"
#include "provenance.h"
#include "sweep_common.h"

const char *const select_rule_names[SELECT_NRULES] = {"test_accuracy", "validation_accuracy",
                                                      "log_marginal_likelihood"};

#define MAX_SLOTS PAR_MAX_SLOTS

/* The stage running: the grid (and its posteriors) on the search's training examples, or the
 * final fits on all of them (search_train); each has its own problem, layout and work objects. */
typedef struct {
    nngp_state_t *state;            /* the kernel being computed */
    nngp_state_t **states;          /* every kernel of the job (all written by a checkpoint) */
    int nstates;
    nngp_problem_t problem;
    nngp_layout_t *layout;          /* the stage's (state->layout or state->final_layout) */
    double *gram_seconds;           /* where the stage's Gram seconds go */
    nngp_work_t *work[MAX_SLOTS];   /* LAPACK, on group leaders: one per slot, sharing the Gram */
    pgp_grid_t *grid;               /* ScaLAPACK, on every rank of a group, made at its first item */
    pgp_work_t *pwork;
    int slots;
    const char *out_path;
    h5file_t *image;            /* rank 0: the results file in memory, saved after every write */
    int written;                /* rank 0 has written the file at least once */
    int grid_unsaved;           /* grid items recorded since the last write (best not selected) */
    double last_write_end;      /* timer_now() after the last write */
    double last_write_seconds;  /* how long it took */
} sweep_ctx_t;

/* A grid item's record: ITEM_FIELDS rows of nd doubles (per depth: test accuracy, validation
 * accuracy, log marginal likelihood, noise used, status, info), then the phase seconds. Field f
 * of depth d is rec[item_at(nd, f) + d]. */
enum { ITEM_TEST, ITEM_VALID, ITEM_LML, ITEM_NOISE, ITEM_STATUS, ITEM_INFO, ITEM_FIELDS };

static size_t item_at(int nd, int field) { return (size_t)field * nd; }

/* Used before their definitions. */
static int run_posterior(sweep_ctx_t *c, int slot, int d, int item, double *rec);
static void record_posterior(const nngp_state_t *s, nngp_fits_t *fits, int d, int item,
                             const double *rec);
static void select_all(nngp_state_t *s);
static size_t item_record_doubles(int nd) { return item_at(nd, ITEM_FIELDS) + NNGP_NPHASES; }

/* The posterior arrays of f for nd depths, ntest test points and nr targets (and the covariance
 * when asked); the rest of f is cleared. Returns 1, or 0 when out of memory. */
static int fits_alloc(nngp_fits_t *f, size_t nd, size_t ntest, size_t nr, int covariance)
{
    memset(f, 0, sizeof *f);
    for (size_t d = 0; d < NNGP_MAX_DEPTHS; d++) {
        f->item[d] = -1;
        f->noise[d] = f->log_marginal_likelihood[d] = f->test_accuracy[d] = NAN;
        f->check[d].solve = f->check[d].factor = f->check_seconds[d] = NAN;
    }
    f->mean = calloc(nd * ntest * nr, sizeof(double));
    f->variance = calloc(nd * ntest, sizeof(double));
    f->covariance = covariance ? calloc(nd * ntest * ntest, sizeof(double)) : NULL;
    return f->mean && f->variance && (!covariance || f->covariance);
}

static void fits_free(nngp_fits_t *f)
{
    free(f->mean);
    free(f->variance);
    free(f->covariance);
}

/* The state's arrays in one table, read by the allocation and the release: exactly one of d, i
 * and u points to the array's pointer; n elements; nan: starts as NaN (else zero). */
typedef struct {
    double **d;
    int **i;
    unsigned char **u;
    size_t n;
    int nan;
} state_array_t;
enum { STATE_ARRAYS = 9 };

static void state_arrays(nngp_state_t *s, state_array_t *t)
{
    size_t grid = (size_t)s->nd * s->nitems, items = (size_t)s->nitems;
    const state_array_t all[STATE_ARRAYS] = {
        {NULL, &s->depths, NULL, (size_t)s->nd, 0},
        {&s->test_accuracy, NULL, NULL, grid, 1}, {&s->validation_accuracy, NULL, NULL, grid, 1},
        {&s->log_marginal_likelihood, NULL, NULL, grid, 1}, {&s->noise_used, NULL, NULL, grid, 1},
        {NULL, &s->status, NULL, grid, 0}, {NULL, &s->info, NULL, grid, 0},
        {&s->item_seconds, NULL, NULL, items * NNGP_NPHASES, 0},
        {NULL, NULL, &s->item_done, items, 0}};
    memcpy(t, all, sizeof all);
}

/* Allocates the arrays of s's table; returns 0, or -1 when one allocation failed. */
static int state_arrays_alloc(nngp_state_t *s)
{
    state_array_t t[STATE_ARRAYS];
    state_arrays(s, t);
    int fail = 0;
    for (int k = 0; k < STATE_ARRAYS; k++) {
        size_t n = t[k].n ? t[k].n : 1;
        if (t[k].d && (*t[k].d = calloc(n, sizeof(double))))
            for (size_t j = 0; t[k].nan && j < t[k].n; j++)
                (*t[k].d)[j] = NAN;
        if (t[k].i)
            *t[k].i = calloc(n, sizeof(int));
        if (t[k].u)
            *t[k].u = calloc(n, 1);
        fail |= t[k].d ? !*t[k].d : t[k].i ? !*t[k].i : !*t[k].u;
    }
    return fail ? -1 : 0;
}

static void state_arrays_free(nngp_state_t *s)
{
    state_array_t t[STATE_ARRAYS];
    state_arrays(s, t);
    for (int k = 0; k < STATE_ARRAYS; k++)
        free(t[k].d ? (void *)*t[k].d : t[k].i ? (void *)*t[k].i : (void *)*t[k].u);
}

/* Contract in nngp_state.h. */
int nngp_state_alloc(nngp_state_t *s, const job_t *job, const dataset_t *ds, int ntk, int stages)
{
    memset(s, 0, sizeof *s);
    s->job = job;
    s->ds = ds;
    s->ntk = ntk;
    s->group = ntk ? "/ntk" : "/nngp";
    s->nd = job->nngp.depth.n;
    s->nw = job->nngp.sigma_w2.n;
    s->nb = job->nngp.sigma_b2.n;
    s->nitems = s->nw * s->nb;
    if (s->nd > NNGP_MAX_DEPTHS)
        return nn_fail(NN_ERR_INPUT, "%s: [nngp] depth: at most %d depths per job", job->path,
                       NNGP_MAX_DEPTHS);
    size_t ntest = (size_t)ds->test.n, nd = (size_t)s->nd;
    int arrays_ok = state_arrays_alloc(s) == 0;
    s->ntrain_search = job->nngp.search_train > 0 ? job->nngp.search_train : ds->train.n;
    int fits_ok = fits_alloc(&s->post, nd, ntest, (size_t)ds->ntargets, job->nngp.covariance) &&
                  (!job->nngp.search_train ||
                   fits_alloc(&s->final, nd, ntest, (size_t)ds->ntargets, job->nngp.covariance));
    if (!arrays_ok || !fits_ok)
        return nn_fail(NN_ERR_NOMEM, "cannot allocate the NNGP result tables");
    if (stages && (limit_state_alloc(s) != NN_OK || network_state_create(s) != NN_OK))
        return NN_ERR_NOMEM;
    for (int d = 0; d < s->nd; d++)
        s->depths[d] = (int)job->nngp.depth.v[d];
    for (int r = 0; r < SELECT_NRULES; r++)
        for (int d = 0; d < NNGP_MAX_DEPTHS; d++)
            s->best[r][d] = -1;
    for (int d = 0; d < NNGP_MAX_DEPTHS; d++)
        s->ahead_item[d] = s->ahead_running[d] = -1;
    return NN_OK;
}

void nngp_state_free(nngp_state_t *s)
{
    state_arrays_free(s);
    fits_free(&s->post);
    fits_free(&s->final);
    limit_state_free(s);
    network_state_free(s);
    free(s->hostnames);
    memset(s, 0, sizeof *s);
}

/* Writes the results file (rank 0), state_name "running", "interrupted" or "complete"; the
 * best models are selected first among the grid items recorded so far. Its time, with the wait
 * for the previous background save, counts in /checkpoint_seconds. */
static int checkpoint(sweep_ctx_t *c, const char *state_name)
{
    double t0 = timer_now();
    if (c->grid_unsaved) {
        select_all(c->state);
        c->grid_unsaved = 0;
    }
    if (!c->image && !(c->image = h5_create(c->out_path)))
        return NN_ERR_RUNTIME;
    int st = nngp_state_write(c->image, c->states, c->nstates, c->out_path, state_name);
    c->written = 1;
    c->last_write_end = timer_now();
    c->last_write_seconds = c->last_write_end - t0;
    c->states[0]->checkpoint_seconds += c->last_write_seconds;
    return st;
}

/* A checkpoint of state running once at least 40 times the last write's duration has passed
 * since it ended, so that these writes take under 2.5% of rank 0's time however small the
 * items (and the first and last writes have room within 5%): a kill -9 then loses at most the
 * items of that interval, which --resume computes again. */
static int checkpoint_if_due(sweep_ctx_t *c)
{
    if (timer_now() - c->last_write_end < 40 * c->last_write_seconds)
        return NN_OK;
    return checkpoint(c, "running");
}

/* A checkpoint of state running (the [limit] stage's hook). */
static int checkpoint_running(void *vctx) { return checkpoint(vctx, "running"); }

/* The first file of a run, state running (par_schedule's started hook). Its time is mostly the
 * creation of every object, which later writes do not pay: the next item is saved at once, and
 * from then on the time of an ordinary write sets the pace (checkpoint_if_due). */
static int first_checkpoint(void *vctx)
{
    sweep_ctx_t *c = vctx;
    if (c->written)
        return NN_OK;
    int st = checkpoint(c, "running");
    c->last_write_seconds = 0;
    return st;
}

/* ---- work objects ---- */

/* ScaLAPACK: the group's process grid and work object, made by the group's first item (every
 * rank of the group runs it) and kept for the rest of the job. Returns 0 or the error (message
 * set on every rank of the group). */
static int group_work(sweep_ctx_t *c)
{
    if (c->pwork)
        return NN_OK;
    const nngp_layout_t *lay = c->layout;
    double t0 = timer_now();
    if (!c->grid)
        c->grid = pgp_grid_create(par_group_comm(), lay->nprow, lay->npcol, lay->nb);
    if (c->grid)
        c->pwork = pgp_work_create(c->grid, &c->problem, (pgp_store_t)lay->store);
    *c->gram_seconds = timer_now() - t0;
    return !c->grid ? NN_ERR_RUNTIME : !c->pwork ? NN_ERR_NOMEM : NN_OK;
}

static void share_by_bcast(void *buf, size_t bytes, int owner, void *ctx)
{
    (void)ctx;
    par_bcast(buf, bytes, owner);
}

/* LAPACK: on group leaders, one work object per slot sharing one set of Gram matrices. With
 * groups of one rank, every rank computes a share of the Gram rows and broadcasts it. Collective
 * over the world: every rank calls it. */
static int leader_work(sweep_ctx_t *c)
{
    int group_size = c->layout->group_size;
    int leader = par_rank() % group_size == 0, st = NN_OK;
    if (leader) {
        c->work[0] = nngp_work_alloc(&c->problem);
        for (int k = 1; k < c->slots && c->work[0]; k++)
            if (!(c->work[k] = nngp_work_clone(c->work[0])))
                break;
        if (!c->work[0] || (c->slots > 1 && !c->work[c->slots - 1]))
            st = NN_ERR_NOMEM;
    }
    if ((st = par_agree(st)) != NN_OK)
        return st;
    nngp_gram_split_t split = {.part = par_rank(), .nparts = par_size(), .share = share_by_bcast};
    if (leader)
        nngp_work_gram(c->work[0], group_size == 1 ? &split : NULL);
    *c->gram_seconds = nngp_work_gram_seconds(c->work[0]);
    return NN_OK;
}

/* The layout of the stage into *c->layout, which every rank agrees on (the smallest memory per
 * rank over the nodes), for the stage's problem: a search's grid (search_train) as
 * nngp_layout_choose_search says, the final fits (nfits > 0 of them) as
 * nngp_layout_choose_fits, every other grid as the job says. */
static int choose_layout(sweep_ctx_t *c, int slots, int search, int nfits)
{
    const nngp_state_t *s = c->state;
    const nngp_problem_t *p = &c->problem;
    nngp_sizes_t z = {.ntrain = p->ntrain, .ntest = p->ntest, .nvalid = p->nvalid,
                      .dim = p->dim, .ntargets = p->ntargets, .ntk = p->ntk};
    double mine = HUGE_VAL;
    int st = nngp_memory_per_rank(par_node_size(), &mine);
    double budget = par_min_double(mine);   /* every rank takes part, whatever its st */
    if (st != NN_OK)
        return st;
    c->slots = slots;
    const nngp_spec_t *spec = &s->job->nngp;
    st = search  ? nngp_layout_choose_search(spec, &z, c->slots, budget, c->layout)
         : nfits ? nngp_layout_choose_fits(spec, &z, c->slots, budget, nfits, c->layout)
                 : nngp_layout_choose(spec, &z, c->slots, budget, c->layout);
    if (st != NN_OK)
        return nn_fail_context(st, "%s: ", s->job->path);
    if (c->layout->solver == SOLVER_SCALAPACK)
        c->slots = 1;   /* one item per group at a time; its ranks' cores go to the grid */
    return NN_OK;
}

/* Whether this rank computes an item: with LAPACK only the group leader, with ScaLAPACK every
 * rank of the group, whose grid and work object the first item makes (*st: 0 or that error). */
static int computes_items(sweep_ctx_t *c, int *st)
{
    *st = NN_OK;
    if (c->layout->solver != SOLVER_SCALAPACK)
        return par_group_rank() == 0;
    *st = group_work(c);
    return *st == NN_OK;
}

/* The variances of grid item `item` (numbered iw * nb + ib). */
static void item_variances(const nngp_state_t *s, int item, double *sw2, double *sb2)
{
    *sw2 = s->job->nngp.sigma_w2.v[item / s->nb];
    *sb2 = s->job->nngp.sigma_b2.v[item % s->nb];
}

/* ---- grid items ---- */

/* A posterior ahead travels as item number nitems + d * nitems + grid item (depth index d). */
static int ahead_number(const nngp_state_t *s, int d, int item) { return s->nitems * (1 + d) + item; }
static int ahead_depth(const nngp_state_t *s, int number) { return number / s->nitems - 1; }
static int ahead_grid_item(const nngp_state_t *s, int number) { return number % s->nitems; }

/* par_schedule's run hook of the grid phase: grid item `item` into an ITEM_* record, or (a
 * number >= nitems) a posterior computed ahead into a POST_* record. */
static int run_grid_phase_item(int item, int slot, void *result, void *vctx)
{
    sweep_ctx_t *c = vctx;
    const nngp_state_t *s = c->state;
    if (item >= s->nitems)   /* a posterior ahead: see ahead_item */
        return run_posterior(c, slot, ahead_depth(s, item), ahead_grid_item(s, item), result);
    int st;
    if (!computes_items(c, &st))
        return st;
    int nd = s->nd;
    double *rec = result;
    int status[NNGP_MAX_DEPTHS], info[NNGP_MAX_DEPTHS];
    nngp_result_t r = {.test_accuracy = rec + item_at(nd, ITEM_TEST),
                       .valid_accuracy = rec + item_at(nd, ITEM_VALID),
                       .log_marginal_likelihood = rec + item_at(nd, ITEM_LML),
                       .noise_used = rec + item_at(nd, ITEM_NOISE),
                       .status = status, .info = info};
    double sw2, sb2;
    item_variances(s, item, &sw2, &sb2);
    st = c->pwork ? pgp_item_run(c->pwork, sw2, sb2, &r) : nngp_item_run(c->work[slot], sw2, sb2, &r);
    for (int d = 0; d < nd; d++) {
        rec[item_at(nd, ITEM_STATUS) + d] = status[d];
        rec[item_at(nd, ITEM_INFO) + d] = info[d];
    }
    memcpy(rec + item_at(nd, ITEM_FIELDS), r.seconds, sizeof r.seconds);
    return st;
}

/* par_schedule's record hook of the grid phase (rank 0): a grid item's results into the state
 * (and a checkpoint), or a posterior ahead into s->post, not yet confirmed. */
static int record_grid_phase_item(int item, const void *result, void *vctx)
{
    sweep_ctx_t *c = vctx;
    nngp_state_t *s = c->state;
    const double *rec = result;
    if (item >= s->nitems) {   /* kept aside until the final selection (confirm_ahead) */
        int d = ahead_depth(s, item);
        s->ahead_item[d] = ahead_grid_item(s, item);
        s->ahead_running[d] = -1;
        record_posterior(s, &s->post, d, s->ahead_item[d], rec);
        return NN_OK;
    }
    int nd = s->nd;
    for (int d = 0; d < nd; d++) {
        size_t g = (size_t)d * s->nitems + item;
        s->test_accuracy[g] = rec[item_at(nd, ITEM_TEST) + d];
        s->validation_accuracy[g] = rec[item_at(nd, ITEM_VALID) + d];
        s->log_marginal_likelihood[g] = rec[item_at(nd, ITEM_LML) + d];
        s->noise_used[g] = rec[item_at(nd, ITEM_NOISE) + d];
        s->status[g] = (int)rec[item_at(nd, ITEM_STATUS) + d];
        s->info[g] = (int)rec[item_at(nd, ITEM_INFO) + d];
    }
    memcpy(s->item_seconds + (size_t)item * NNGP_NPHASES, rec + item_at(nd, ITEM_FIELDS),
           NNGP_NPHASES * sizeof(double));
    s->item_done[item] = 1;
    c->grid_unsaved = 1;
    return checkpoint_if_due(c);
}

/* ---- model selection ---- */

/* Best item of depth d by a rule: the highest score among grid points that succeeded; ties go to
 * the higher log marginal likelihood, then to the first in grid order. -1 if none qualifies. */
static int select_best(const nngp_state_t *s, int d, int rule)
{
    const double *score = rule == SELECT_TEST_ACCURACY         ? s->test_accuracy
                          : rule == SELECT_VALIDATION_ACCURACY ? s->validation_accuracy
                                                               : s->log_marginal_likelihood;
    int best = -1;
    for (int item = 0; item < s->nitems; item++) {
        size_t g = (size_t)d * s->nitems + item;
        if (s->status[g] != NNGP_OK || isnan(score[g]))
            continue;
        if (best < 0)
            best = item;
        else {
            size_t b = (size_t)d * s->nitems + best;
            if (score[g] > score[b] ||
                (score[g] == score[b] && s->log_marginal_likelihood[g] > s->log_marginal_likelihood[b]))
                best = item;
        }
    }
    return best;
}

static void select_all(nngp_state_t *s)
{
    for (int rule = 0; rule < SELECT_NRULES; rule++)
        for (int d = 0; d < s->nd; d++)
            s->best[rule][d] = select_best(s, d, rule);
}

/* ---- posterior items: one per depth, for the best-by-test-accuracy model ---- */

/* A posterior's record: these doubles, then the mean, the variance[, the covariance]. */
enum { POST_NOISE, POST_INFO, POST_SECONDS, POST_LML, POST_CHECK_SOLVE, POST_CHECK_FACTOR,
       POST_CHECK_SECONDS, POST_PHASES,
       POST_HEADER = POST_PHASES + NNGP_NPHASES };

static size_t post_record_doubles(const nngp_state_t *s)
{
    size_t ntest = (size_t)s->ds->test.n;
    return POST_HEADER + ntest * (size_t)s->ds->ntargets + ntest + (s->post.covariance ? ntest * ntest : 0);
}

/* The depths in the order their posteriors are handed out (order[k] = depth index), from the
 * current best models: the depths that share a model come together, shallowest first, so that a
 * rank given several goes on with the recursion of its previous one (nngp_posterior); groups
 * with more depths first, then deeper ones, so that the longest work starts early. */
static void order_posteriors(const nngp_state_t *s, int *order)
{
    const int *best = s->best[SELECT_TEST_ACCURACY];
    int size[NNGP_MAX_DEPTHS], deepest[NNGP_MAX_DEPTHS];
    for (int d = 0; d < s->nd; d++) {
        size[d] = deepest[d] = 0;
        for (int e = 0; e < s->nd; e++)
            if (best[e] == best[d]) {
                size[d]++;
                deepest[d] = e;
            }
    }
    for (int k = 0; k < s->nd; k++) {   /* insertion sort: a few dozen depths at most */
        int d = k, j = k;
        for (; j > 0; j--) {
            int e = order[j - 1];
            int before = size[d] != size[e] ? size[d] > size[e]
                       : deepest[d] != deepest[e] ? deepest[d] > deepest[e]   /* other model */
                       : d < e;                                                /* same model */
            if (!before)
                break;
            order[j] = e;
        }
        order[j] = d;
    }
}

static int post_depth(const nngp_state_t *s, int item) { return s->post_order[item]; }

/* The self-check of the fit the stage's work objects just made (nngp_check.h) into a record. */
static int check_posterior(sweep_ctx_t *c, int slot, int depth, double sw2, double sb2, double s2,
                           double *rec)
{
    nngp_check_t check;
    double t0 = timer_now();
    int st = c->pwork ? pgp_posterior_check(c->pwork, depth, sw2, sb2, s2, &check)
                      : nngp_posterior_check(c->work[slot], depth, sw2, sb2, s2, &check);
    if (st == NN_OK) {
        rec[POST_CHECK_SOLVE] = check.solve;
        rec[POST_CHECK_FACTOR] = check.factor;
        rec[POST_CHECK_SECONDS] = timer_now() - t0;
    }
    return st;
}

/* The posterior of depth index d for grid item `item` (or nothing when item < 0) with the
 * stage's work objects, into a record (POST_*). */
static int run_posterior(sweep_ctx_t *c, int slot, int d, int item, double *rec)
{
    const nngp_state_t *s = c->state;
    int st;
    if (!computes_items(c, &st))
        return st;
    size_t ntest = (size_t)s->ds->test.n;
    double *mean = rec + POST_HEADER, *var = mean + ntest * (size_t)s->ds->ntargets;
    double *cov = s->post.covariance ? var + ntest : NULL;
    int info = 0;
    double noise = NAN, t0 = timer_now();
    rec[POST_NOISE] = rec[POST_LML] = NAN;
    rec[POST_CHECK_SOLVE] = rec[POST_CHECK_FACTOR] = rec[POST_CHECK_SECONDS] = NAN;
    rec[POST_INFO] = rec[POST_SECONDS] = 0;
    memset(rec + POST_PHASES, 0, NNGP_NPHASES * sizeof *rec);
    if (item < 0)
        return NN_OK;   /* every grid point of this depth failed: nothing to report */
    double sw2, sb2;
    item_variances(s, item, &sw2, &sb2);
    st = c->pwork ? pgp_posterior(c->pwork, s->depths[d], sw2, sb2, mean, var, cov, &noise, &info)
                  : nngp_posterior(c->work[slot], s->depths[d], sw2, sb2, mean, var, cov, &noise,
                                   &info);
    rec[POST_NOISE] = noise;
    rec[POST_INFO] = info;
    rec[POST_SECONDS] = timer_now() - t0;
    if (st == NN_OK && c->pwork) {
        rec[POST_LML] = pgp_posterior_log_marginal(c->pwork);
        pgp_posterior_seconds(c->pwork, rec + POST_PHASES);
    } else if (st == NN_OK) {
        rec[POST_LML] = nngp_posterior_log_marginal(c->work[slot]);
        nngp_posterior_seconds(c->work[slot], rec + POST_PHASES);
    }
    if (st == NN_OK)
        st = check_posterior(c, slot, s->depths[d], sw2, sb2, noise, rec);
    return st == NN_ERR_NOT_PD ? NN_OK : st;   /* recorded through info, the job goes on */
}

static int run_post_item(int post_item, int slot, void *result, void *vctx)
{
    sweep_ctx_t *c = vctx;
    int d = post_depth(c->state, post_item);
    return run_posterior(c, slot, d, c->state->best[SELECT_TEST_ACCURACY][d], result);
}

/* A posterior record of grid item `item` at depth index d into fits (not marked done); the test
 * accuracy follows from the mean. */
static void record_posterior(const nngp_state_t *s, nngp_fits_t *fits, int d, int item,
                             const double *rec)
{
    const split_t *test = &s->ds->test;
    size_t ntest = (size_t)test->n, nm = ntest * (size_t)s->ds->ntargets;
    const double *mean = rec + POST_HEADER;
    fits->item[d] = item;
    fits->noise[d] = rec[POST_NOISE];
    fits->info[d] = (int)rec[POST_INFO];
    fits->seconds[d] = rec[POST_SECONDS];
    fits->log_marginal_likelihood[d] = rec[POST_LML];
    memcpy(fits->phase_seconds[d], rec + POST_PHASES, sizeof fits->phase_seconds[d]);
    fits->check[d].solve = rec[POST_CHECK_SOLVE];
    fits->check[d].factor = rec[POST_CHECK_FACTOR];
    fits->check_seconds[d] = rec[POST_CHECK_SECONDS];
    fits->test_accuracy[d] = item >= 0 && fits->info[d] == 0
                                 ? nngp_accuracy(mean, test->n, s->ds->ntargets, test->label)
                                 : NAN;
    memcpy(fits->mean + (size_t)d * nm, mean, nm * sizeof(double));
    memcpy(fits->variance + (size_t)d * ntest, mean + nm, ntest * sizeof(double));
    if (fits->covariance)
        memcpy(fits->covariance + (size_t)d * ntest * ntest, mean + nm + ntest, ntest * ntest * sizeof(double));
}

static int record_post_item(int item, const void *result, void *vctx)
{
    sweep_ctx_t *c = vctx;
    nngp_state_t *s = c->state;
    int d = post_depth(s, item);
    record_posterior(s, &s->post, d, s->best[SELECT_TEST_ACCURACY][d], result);
    s->post.done[d] = 1;
    return checkpoint_if_due(c);   /* recomputed on resume: the final write has them all */
}

/* ---- posteriors ahead: a group that would wait for the last grid items computes the posterior
 * of a depth's best model among the items finished so far; the final selection usually agrees
 * (a later item rarely beats it), and then the posterior phase has that depth done. ---- */

/* Whether the grid schedule may hand out posteriors ahead: their records travel in its
 * messages, which must stay small, so not with covariances or large test sets. */
static int ahead_enabled(const nngp_state_t *s)
{
    return !s->post.covariance && post_record_doubles(s) <= ((size_t)1 << 17);
}

/* par_schedule's extra hook (rank 0): the first depth, in order_posteriors's order, whose
 * current best has no posterior ahead yet, as item nitems + d * nitems + best, or -1. */
static int next_ahead(void *vctx)
{
    nngp_state_t *s = ((sweep_ctx_t *)vctx)->state;
    int order[NNGP_MAX_DEPTHS];
    order_posteriors(s, order);
    for (int k = 0; k < s->nd; k++) {
        int d = order[k], best = s->best[SELECT_TEST_ACCURACY][d];
        if (best < 0 || s->ahead_running[d] >= 0 || s->ahead_item[d] == best)
            continue;
        s->ahead_running[d] = best;
        return ahead_number(s, d, best);
    }
    return -1;
}

/* Rank 0, after the final selection: posteriors ahead of the selected models count as done. */
static void confirm_ahead(nngp_state_t *s)
{
    for (int d = 0; d < s->nd; d++) {
        int best = s->best[SELECT_TEST_ACCURACY][d];
        s->post.done[d] |= best >= 0 && s->ahead_item[d] == best;
    }
}

/* ---- the job ---- */

/* The problem of the grid: its training examples are the first ntrain of the dataset's. */
static nngp_problem_t make_problem(const job_t *job, const dataset_t *ds, const int *depths,
                                   int ntrain, int ntk)
{
    nngp_problem_t p = {.dim = ds->dim, .ntargets = ds->ntargets, .ntrain = ntrain,
                        .ntest = ds->test.n, .nvalid = ds->validation.n,
                        .x_train = ds->train.x, .y_train = ds->train.y, .x_test = ds->test.x,
                        .x_valid = ds->validation.x, .test_label = ds->test.label,
                        .valid_label = ds->validation.label, .depths = depths,
                        .ndepth = job->nngp.depth.n, .noise = job->nngp.noise,
                        .noise_max = job->nngp.noise_max, .ntk = ntk, .poll = par_poll};
    return p;
}

static int run_phase(sweep_ctx_t *c, int nitems, const unsigned char *done, size_t record_doubles,
                     int (*run)(int, int, void *, void *),
                     int (*record)(int, const void *, void *), int (*extra)(void *),
                     const char *label)
{
    par_schedule_t sched = {.nitems = nitems, .done = done,
                            .result_bytes = record_doubles * sizeof(double),
                            .group_size = c->layout->group_size, .slots = c->slots,
                            .run = run, .record = record, .started = first_checkpoint,
                            .extra = extra, .ctx = c, .label = label};
    return par_schedule(&sched);
}

/* The grid phase, with posteriors ahead when their records are small enough. */
static int run_grid(sweep_ctx_t *c)
{
    nngp_state_t *s = c->state;
    size_t grid = item_record_doubles(s->nd), post = post_record_doubles(s);
    int ahead = ahead_enabled(s);
    return run_phase(c, s->nitems, s->item_done, ahead && post > grid ? post : grid,
                     run_grid_phase_item, record_grid_phase_item, ahead ? next_ahead : NULL, "grid");
}

/* The posterior phase: every depth not confirmed from a posterior ahead (rank 0 knows; the others
 * learn it here). Posteriors are never resumed (cheap next to the grid, and they depend on the
 * final selection). */
static int run_posteriors(sweep_ctx_t *c)
{
    nngp_state_t *s = c->state;
    unsigned char done[NNGP_MAX_DEPTHS];
    if (par_rank() == 0) {
        select_all(s);
        c->grid_unsaved = 0;
        confirm_ahead(s);
    }
    par_bcast(s->best, sizeof s->best, 0);
    par_bcast(s->post.done, (size_t)s->nd, 0);
    order_posteriors(s, s->post_order);
    for (int k = 0; k < s->nd; k++)
        done[k] = s->post.done[post_depth(s, k)];
    return run_phase(c, s->nd, done, post_record_doubles(s), run_post_item, record_post_item, NULL,
                     "posterior");
}

/* ---- final fits (search_train): each depth's selected model on every training example, by the
 * posterior items (run_post_item with the final stage's work objects), in the posterior phase's
 * order ---- */

/* Every fit is saved as soon as it is known: one costs as much as a large part of the job. */
static int record_final_item(int k, const void *result, void *vctx)
{
    sweep_ctx_t *c = vctx;
    nngp_state_t *s = c->state;
    int d = post_depth(s, k);
    record_posterior(s, &s->final, d, s->best[SELECT_TEST_ACCURACY][d], result);
    s->final.done[d] = 1;
    return checkpoint(c, "running");
}

/* Frees the stage's work objects; collective over each ScaLAPACK grid, whose ranks all made one. */
static void release_work(sweep_ctx_t *c)
{
    for (int k = MAX_SLOTS - 1; k >= 0; k--)   /* clones before the original they share with */
        nngp_work_destroy(&c->work[k]);
    pgp_work_destroy(&c->pwork);
    pgp_grid_destroy(&c->grid);
}

static void log_layout(const nngp_layout_t *lay)
{
    char b1[32], b2[32];
    log_info("solver %s: groups of %d rank(s), %s per rank of %s available",
             nngp_solver_name(lay->solver), lay->group_size,
             nn_bytes_text(lay->bytes, b1, sizeof b1), nn_bytes_text(lay->budget, b2, sizeof b2));
    if (lay->solver == SOLVER_SCALAPACK)
        log_info("ScaLAPACK grid %dx%d, block size %d, store %s", lay->nprow, lay->npcol, lay->nb,
                 nngp_store_name(lay->store));
}

/* The final stage, after the search's posteriors (best and post_order known on every rank): the
 * search's work objects make way for the full problem's, with the layout the job asks for. A fit
 * an earlier run saved counts when it is of the model selected now. */
static int run_final(sweep_ctx_t *c, int slots)
{
    nngp_state_t *s = c->state;
    const int *best = s->best[SELECT_TEST_ACCURACY];
    unsigned char done[NNGP_MAX_DEPTHS];
    if (par_rank() == 0)
        for (int d = 0; d < s->nd; d++)
            s->final.done[d] &= s->final.item[d] == best[d];
    par_bcast(s->final.done, (size_t)s->nd, 0);
    int todo = 0;
    for (int k = 0; k < s->nd; k++)
        todo += !(done[k] = s->final.done[post_depth(s, k)]);
    release_work(c);
    c->problem.ntrain = s->ds->train.n;
    c->layout = &s->final_layout;
    c->gram_seconds = &s->final_gram_seconds;
    int st = par_agree(choose_layout(c, todo < 1 ? 1 : todo < slots ? todo : slots, 0,
                                     todo < 1 ? 1 : todo));
    if (st != NN_OK || todo == 0)
        return st;
    if (c->layout->solver == SOLVER_LAPACK && (st = leader_work(c)) != NN_OK)
        return st;
    log_info("final fits: the selected model of %d depth(s) on all %d training examples%s", todo,
             s->ds->train.n, todo < s->nd ? " (the others resumed)" : "");
    log_layout(c->layout);
    return run_phase(c, s->nd, done, post_record_doubles(s), run_post_item, record_final_item,
                     NULL, "final");
}

/* Rank 0, at the end of a complete run: the self-check's verdict over every kernel in the log;
 * a FAILED one is NN_ERR_CHECK under --strict. */
static int log_self_check(nngp_state_t *const *s, int n, int strict)
{
    nngp_check_t worst;
    int nchecked;
    const char *verdict = nngp_self_check_all(s, n, &worst, &nchecked);
    char what[256];
    snprintf(what, sizeof what, "%d fit(s), scaled residuals at most %.2g (solve) and %.2g "
             "(factorization) against threshold %g; see /nngp/check", nchecked, worst.solve,
             worst.factor, s[0]->job->nngp.check_threshold);
    return sweep_check_verdict(verdict, what, strict);
}

/* One kernel's search (grid and posteriors) and final fits, on the state c->state (resumed
 * already). Collective. */
static int run_kernel(sweep_ctx_t *c, int slots)
{
    nngp_state_t *s = c->state;
    const job_t *job = s->job;
    const dataset_t *ds = s->ds;
    c->layout = &s->layout;
    c->gram_seconds = &s->gram_seconds;
    c->problem = make_problem(job, ds, s->depths, s->ntrain_search, s->ntk);
    int st = par_agree(choose_layout(c, slots, job->nngp.search_train > 0, 0));
    if (st == NN_OK && s->layout.solver == SOLVER_LAPACK)
        st = leader_work(c);
    int done_items = 0;
    for (int i = 0; i < s->nitems; i++)
        done_items += s->item_done[i];
    if (st == NN_OK && done_items < s->nitems) {
        char search[64] = "";
        if (job->nngp.search_train)
            snprintf(search, sizeof search, " (a search: the first %d of %d)", s->ntrain_search,
                     ds->train.n);
        log_info("%s sweep: %d (sigma_w2, sigma_b2) items x %d depths, %d train%s / %d test, "
                 "%d rank(s)%s", s->ntk ? "NTK" : "NNGP", s->nitems, s->nd, s->ntrain_search,
                 search, ds->test.n, par_size(), done_items ? " (resumed)" : "");
        log_layout(&s->layout);
        st = run_grid(c);
    }
    if (st == NN_OK)
        st = run_posteriors(c);
    if (st == NN_OK && job->nngp.search_train)
        st = run_final(c, slots);
    release_work(c);
    return st;
}

/* Allocates the state of every kernel of the job into s (NNGP first) and, with resume, loads
 * what an earlier run finished; every rank learns which items are done. Returns the agreed
 * status; *n is the number of states allocated (to free). */
static int states_open(const job_t *job, const dataset_t *ds, const sweep_options_t *opt,
                       nngp_state_t *s, int *n)
{
    int st = NN_OK;
    *n = 0;
    char *hosts = par_hostnames();   /* gathered once; each state owns a copy */
    for (int ntk = 0; ntk < 2 && st == NN_OK; ntk++) {
        if (!(job->nngp.kernels & (ntk ? KERNEL_NTK : KERNEL_NNGP)))
            continue;
        st = par_agree(nngp_state_alloc(&s[*n], job, ds, ntk, *n == 0));
        s[*n].command_line = opt->command_line;
        s[*n].hostnames = hosts ? strdup(hosts) : NULL;
        s[*n].t_start = timer_now();
        provenance_now(s[*n].start_time, sizeof s[*n].start_time);
        ++*n;
    }
    free(hosts);
    if (st == NN_OK && par_rank() == 0 && h5_remove_stale(opt->out_path) > 0)
        log_info("removed temporary files of an earlier run that was killed mid-write");
    for (int k = 0; k < *n && st == NN_OK; k++) {
        if (par_rank() == 0 && opt->resume)
            st = nngp_state_resume(&s[k], opt->out_path);
        st = par_agree(st);
        if (st == NN_OK)   /* the first file is written once the first items are handed out */
            par_bcast(s[k].item_done, (size_t)s[k].nitems, 0);
    }
    return st;
}

int sweep_nngp(const job_t *job, const dataset_t *ds, const sweep_options_t *opt)
{
    nngp_state_t s[2], *states[2] = {&s[0], &s[1]};
    int n = 0;
    sweep_ctx_t c = {.states = states, .out_path = opt->out_path};
    int slots = opt->threads < 1 ? 1 : opt->threads > MAX_SLOTS ? MAX_SLOTS : opt->threads;
    int rank = par_rank();
    int st = states_open(job, ds, opt, s, &n);
    c.nstates = n;
    for (int k = 0; k < n && st == NN_OK; k++) {
        c.state = &s[k];
        st = run_kernel(&c, slots);
    }
    /* the stages after the searches, on the first kernel's state */
    c.state = &s[0];
    if (st == NN_OK && s[0].limit)
        st = limit_stage_run(&s[0], slots, checkpoint_running, &c);
    if (st == NN_OK && s[0].network)
        st = network_stage(&s[0], opt->out_path, checkpoint_running, &c);
    if (rank == 0) {
        const char *state = st == NN_OK ? "complete" : st == NN_ERR_INTERRUPTED ? "interrupted" : NULL;
        if (state) {
            int wst = checkpoint(&c, state);
            if (wst != NN_OK)
                st = wst;
        }
        int wst = h5_commit_wait();   /* after a failure, a running checkpoint may be in flight */
        if (st == NN_OK)
            st = wst;
        if (st == NN_OK)
            st = log_self_check(states, n, opt->strict);
        h5_close(&c.image);
    }
    st = par_agree(st);
    release_work(&c);
    for (int k = 0; k < n; k++)
        nngp_state_free(&s[k]);
    return st;
}
