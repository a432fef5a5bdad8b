/* limit_sweep.c - the [limit] stage of an NNGP job: for each depth and width, `samples` random
 * networks of the NNGP prior against K^L on the first `points` test inputs (limit.h), one work
 * item per (depth, width) handed out by par_schedule, the dearest first. Every network comes from
 * its own random stream, so results do not depend on ranks or threads. The file part is in
 * limit_output.c; this file neither reads nor writes files. */
#include "limit_stage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "limit.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_timer.h"
#include "par.h"

/* An item's record: these doubles. */
enum { REC_ERROR, REC_STDERR, REC_BIAS, REC_SECONDS, REC_DOUBLES };

typedef struct {
    nngp_state_t *s;
    int *order;                 /* item k is the cell order[k] = d * nw + w */
    double *work[PAR_MAX_SLOTS];
    int (*checkpoint)(void *);
    void *checkpoint_ctx;
} limit_ctx_t;

int limit_state_alloc(nngp_state_t *s)
{
    const limit_spec_t *spec = &s->job->limit;
    s->limit = NULL;
    if (!spec->enabled)
        return NN_OK;
    limit_state_t *L = calloc(1, sizeof *L);
    if (!L)
        return nn_fail(NN_ERR_NOMEM, "cannot allocate the [limit] tables");
    s->limit = L;
    L->nd = s->nd;
    L->nw = spec->widths.n;
    size_t n = (size_t)L->nd * L->nw;
    L->widths = malloc((size_t)L->nw * sizeof *L->widths);
    double **arrays[4] = {&L->error, &L->error_stderr, &L->bias, &L->seconds};
    for (int a = 0; a < 4; a++)
        *arrays[a] = malloc(n * sizeof(double));
    L->done = calloc(n, 1);
    if (!L->widths || !L->error || !L->error_stderr || !L->bias || !L->seconds || !L->done)
        return nn_fail(NN_ERR_NOMEM, "cannot allocate the [limit] tables");
    for (int w = 0; w < L->nw; w++)
        L->widths[w] = (int)spec->widths.v[w];
    for (size_t i = 0; i < n; i++)
        L->error[i] = L->error_stderr[i] = L->bias[i] = L->seconds[i] = NAN;
    for (int d = 0; d < NNGP_MAX_DEPTHS; d++)
        L->sigma_w2[d] = L->sigma_b2[d] = NAN;
    return NN_OK;
}

void limit_state_free(nngp_state_t *s)
{
    limit_state_t *L = s->limit;
    if (!L)
        return;
    free(L->widths);
    free(L->error);
    free(L->error_stderr);
    free(L->bias);
    free(L->seconds);
    free(L->done);
    free(L);
    s->limit = NULL;
}

/* The variances of depth index d: [limit]'s, else the depth's model selected by test accuracy
 * (NaN when every grid point of the depth failed). */
static void depth_variances(const nngp_state_t *s, int d, double *sw2, double *sb2)
{
    const limit_spec_t *spec = &s->job->limit;
    int item = s->best[SELECT_TEST_ACCURACY][d];
    if (!isnan(spec->sigma_w2)) {
        *sw2 = spec->sigma_w2;
        *sb2 = spec->sigma_b2;
    } else {
        *sw2 = item < 0 ? NAN : s->job->nngp.sigma_w2.v[item / s->nb];
        *sb2 = item < 0 ? NAN : s->job->nngp.sigma_b2.v[item % s->nb];
    }
}

static int same_value(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* Cost of a cell in random numbers drawn (the multiply-adds of the forward pass scale alike). */
static double cell_cost(const nngp_state_t *s, int cell)
{
    const limit_state_t *L = s->limit;
    double width = L->widths[cell % L->nw], depth = s->depths[cell / L->nw];
    return width * (s->ds->dim + (depth - 1) * width);
}

/* order[k] = cells by decreasing cost, ties in cell order: the long items start first. */
static void order_cells(const nngp_state_t *s, int *order)
{
    int n = s->limit->nd * s->limit->nw;
    for (int k = 0; k < n; k++) {   /* insertion sort: a few hundred cells at most */
        int j = k;
        for (; j > 0 && cell_cost(s, order[j - 1]) < cell_cost(s, k); j--)
            order[j] = order[j - 1];
        order[j] = k;
    }
}

/* par_schedule's run hook: item k's cell, all its networks, into a REC_* record. */
static int run_limit_item(int k, int slot, void *result, void *vctx)
{
    limit_ctx_t *c = vctx;
    const nngp_state_t *s = c->s;
    const limit_state_t *L = s->limit;
    const limit_spec_t *spec = &s->job->limit;
    int cell = c->order[k], d = cell / L->nw, p = spec->points, dim = s->ds->dim;
    double *rec = result, t0 = timer_now();
    rec[REC_ERROR] = rec[REC_STDERR] = rec[REC_BIAS] = NAN;
    if (!isnan(L->sigma_w2[d])) {
        double *kref = c->work[slot], *diag = kref + (size_t)p * p, *work = diag + p;
        limit_nngp_kernel(s->ds->test.x, p, dim, s->depths[d], L->sigma_w2[d], L->sigma_b2[d],
                          kref, diag);
        limit_cell_t r = limit_cell(s->ds->test.x, p, dim, s->depths[d], L->widths[cell % L->nw],
                                    L->sigma_w2[d], L->sigma_b2[d], spec->samples,
                                    (uint64_t)spec->seed, kref, work, par_poll);
        rec[REC_ERROR] = r.error;
        rec[REC_STDERR] = r.error_stderr;
        rec[REC_BIAS] = r.bias;
    }
    rec[REC_SECONDS] = timer_now() - t0;
    return NN_OK;
}

/* par_schedule's record hook (rank 0): the record into the tables, then a checkpoint. */
static int record_limit_item(int k, const void *result, void *vctx)
{
    limit_ctx_t *c = vctx;
    limit_state_t *L = c->s->limit;
    const double *rec = result;
    int cell = c->order[k];
    L->error[cell] = rec[REC_ERROR];
    L->error_stderr[cell] = rec[REC_STDERR];
    L->bias[cell] = rec[REC_BIAS];
    L->seconds[cell] = rec[REC_SECONDS];
    L->done[cell] = 1;
    return c->checkpoint(c->checkpoint_ctx);
}

/* Per slot: K^L, its diagonal and limit_cell's scratch at the widest width. Returns 0, or -1 when
 * out of memory. */
static int alloc_work(limit_ctx_t *c, int slots)
{
    const limit_state_t *L = c->s->limit;
    int p = c->s->job->limit.points, widest = L->widths[L->nw - 1];   /* widths are sorted */
    size_t n = (size_t)p * p + p + limit_cell_work_doubles(p, c->s->ds->dim, widest);
    for (int k = 0; k < slots; k++)
        if (!(c->work[k] = malloc(n * sizeof(double))))
            return -1;
    return 0;
}

/* Rank 0: cells measured with other variances than now (a resumed file whose selection changed)
 * are measured again; the variances in force become the state's. Every rank: the variances. */
static void set_variances(nngp_state_t *s)
{
    limit_state_t *L = s->limit;
    for (int d = 0; d < L->nd; d++) {
        double sw2, sb2;
        depth_variances(s, d, &sw2, &sb2);
        int same = same_value(sw2, L->sigma_w2[d]) && same_value(sb2, L->sigma_b2[d]);
        for (size_t g = (size_t)d * L->nw; g < (size_t)(d + 1) * L->nw && !same; g++) {
            L->done[g] = 0;
            L->error[g] = L->error_stderr[g] = L->bias[g] = L->seconds[g] = NAN;
        }
        L->sigma_w2[d] = sw2;
        L->sigma_b2[d] = sb2;
    }
}

int limit_stage_run(nngp_state_t *s, int slots, int (*checkpoint)(void *ctx), void *ctx)
{
    limit_state_t *L = s->limit;
    int n = L->nd * L->nw, todo = 0;
    limit_ctx_t c = {.s = s, .checkpoint = checkpoint, .checkpoint_ctx = ctx};
    unsigned char *done = malloc((size_t)n);
    c.order = malloc((size_t)n * sizeof *c.order);
    int st = done && c.order && alloc_work(&c, slots) == 0 ? NN_OK
                                                          : nn_fail(NN_ERR_NOMEM, "[limit] work");
    if ((st = par_agree(st)) == NN_OK) {
        set_variances(s);
        par_bcast(L->done, (size_t)n, 0);
        order_cells(s, c.order);
        for (int k = 0; k < n; k++)
            todo += !(done[k] = L->done[c.order[k]]);
    }
    if (st == NN_OK && todo > 0) {
        log_info("GP limit: %d depth(s) x %d width(s), %d networks each on %d test inputs, "
                 "%d item(s)%s", L->nd, L->nw, s->job->limit.samples, s->job->limit.points, todo,
                 todo < n ? " (the others resumed)" : "");
        par_schedule_t sched = {.nitems = n, .done = done,
                                .result_bytes = REC_DOUBLES * sizeof(double), .group_size = 1,
                                .slots = slots, .run = run_limit_item,
                                .record = record_limit_item, .ctx = &c, .label = "limit"};
        st = par_schedule(&sched);
    }
    for (int k = 0; k < slots; k++)
        free(c.work[k]);
    free(c.order);
    free(done);
    return st;
}
