/* nngp_output.c - an NNGP job's results file: provenance, the data used, the grid arrays, the
 * best model per depth under each selection rule, and the posterior and most/least uncertain test
 * examples of the reported models; every dimension has a scale in its array's own group, so each
 * group opens in xarray with named dimensions and coordinates. Also reads a file back for
 * --resume. The layout is documented in the README ("Output file"). */
#include "nngp_state.h"
#include "limit_stage.h"
#include "network_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "nngp_check.h"
#include "nn_error.h"
#include "nn_timer.h"
#include "par.h"
#include "provenance.h"
#include "sweep_common.h"

/* Status codes of /nngp/status, written as an attribute so the file explains itself. */
static const char status_legend[] = "0 = not computed, 1 = ok, 2 = factorization failed "
                                    "(see info: Cholesky info of the last attempt, as LAPACK dpotrf's)";

static int write_provenance(h5file_t *f, const nngp_state_t *s, const char *state_name)
{
    char end[32] = "", grid[32];
    if (strcmp(state_name, "running") != 0)
        provenance_now(end, sizeof end);
    snprintf(grid, sizeof grid, "%dx%d", s->layout.nprow, s->layout.npcol);
    provenance_t p = {.command_line = s->command_line, .job_path = s->job->path,
                      .job_text = s->job->text, .mpi_size = par_size(),
                      .group_size = s->job->nngp.group_size, .process_grid = grid,
                      .hostnames = s->hostnames, .start_time = s->start_time, .end_time = end,
                      .state = state_name};
    int st = provenance_write(f, &p);
    if (!st) st = h5_write_attr_str(f, "/", "experiment", "nngp");
    if (!st) st = h5_write_attr_double(f, "/", "wall_seconds", timer_now() - s->t_start);
    if (!st) st = h5_write_attr_double(f, "/", "checkpoint_seconds", s->checkpoint_seconds);
    return st;
}

/* /data/<name>_index and _label over the dimension /data/<name> (positions 0..n-1). */
static int write_split_indices(h5file_t *f, const char *name, const split_t *sp)
{
    char path[128], scale[64];
    size_t n = (size_t)sp->n;
    snprintf(scale, sizeof scale, "/data/%s", name);
    int st = h5_write_range_scale(f, scale, n, 0);
    snprintf(path, sizeof path, "/data/%s_index", name);
    if (!st) st = h5_write_i32(f, path, 1, &n, sp->source_index);
    if (!st) st = h5_attach_scale(f, path, 0, scale);
    snprintf(path, sizeof path, "/data/%s_label", name);
    if (!st) st = h5_write_i32(f, path, 1, &n, sp->label);
    if (!st) st = h5_attach_scale(f, path, 0, scale);
    return st;
}

static int write_data(h5file_t *f, const dataset_t *ds)
{
    static const char *const preprocess_names[] = {"scale01", "standardize", "unit_norm"};
    size_t nc = (size_t)ds->spec.nclasses;
    int st = h5_write_attr_str(f, "/data", "dataset", ds->name);
    if (!st) st = h5_write_attr_str(f, "/data", "preprocess", preprocess_names[ds->spec.preprocess]);
    if (!st) st = h5_write_attr_int(f, "/data", "shuffle_seed", ds->spec.shuffle_seed);
    if (!st) st = h5_write_attr_str(f, "/data", "label_of_position",
                                    "*_label hold the position of the class in /data/classes");
    if (!st) st = h5_write_i32(f, "/data/classes", 1, &nc, ds->spec.classes);
    if (!st) st = h5_make_scale(f, "/data/classes", NULL);
    if (!st) st = write_split_indices(f, "train", &ds->train);
    if (!st && ds->validation.n) st = write_split_indices(f, "validation", &ds->validation);
    if (!st) st = write_split_indices(f, "test", &ds->test);
    return st;
}

/* The scale <group>/depth (int32 depths): every group's arrays over depth have their own, so
 * that the group opened alone (xarray) has the depth coordinate. */
static int write_depth_scale(h5file_t *f, const nngp_state_t *s, const char *group, char *path,
                             size_t len)
{
    size_t nd = (size_t)s->nd;
    snprintf(path, len, "%s/depth", group);
    int st = h5_write_i32(f, path, 1, &nd, s->depths);
    return st ? st : h5_make_scale(f, path, NULL);
}

/* The scales <group>/sigma_w2 and <group>/sigma_b2 (the grid's variances). */
static int write_variance_scales(h5file_t *f, const nngp_state_t *s, const char *group)
{
    char path[96];
    snprintf(path, sizeof path, "%s/sigma_w2", group);
    int st = h5_write_scale(f, path, (size_t)s->nw, s->job->nngp.sigma_w2.v, NULL);
    snprintf(path, sizeof path, "%s/sigma_b2", group);
    if (!st) st = h5_write_scale(f, path, (size_t)s->nb, s->job->nngp.sigma_b2.v, NULL);
    return st;
}

/* The grid arrays and timings; scales, descriptions and attributes only when fresh (the values of
 * an earlier write are overwritten in place). */
static int write_grid(h5file_t *f, const nngp_state_t *s, int fresh)
{
    const job_t *job = s->job;
    static const char *const grid_dims[3] = {"/nngp/depth", "/nngp/sigma_w2", "/nngp/sigma_b2"};
    static const char *const item_dims[1] = {"/nngp/item"};
    static const char *const timing_dims[3] = {"/nngp/timing/sigma_w2", "/nngp/timing/sigma_b2",
                                               "/nngp/timing/phase"};
    size_t dims[3] = {(size_t)s->nd, (size_t)s->nw, (size_t)s->nb};
    int st = NN_OK;
    if (fresh) {
        char path[32];
        st = write_depth_scale(f, s, "/nngp", path, sizeof path);
        if (!st) st = write_variance_scales(f, s, "/nngp");
        if (!st) st = h5_write_dimension(f, "/nngp/item", (size_t)s->nitems);
    }
    struct { const char *name; const double *f64; const int *i32; const char *what; } arrays[] = {
        {"/nngp/test_accuracy", s->test_accuracy, NULL, "fraction of test examples classified correctly"},
        {"/nngp/validation_accuracy", s->validation_accuracy, NULL, "fraction of validation examples classified correctly (NaN without a validation split)"},
        {"/nngp/log_marginal_likelihood", s->log_marginal_likelihood, NULL, "log p(Y_train | X_train), summed over target columns, nats"},
        {"/nngp/noise_used", s->noise_used, NULL, "s2 added to the kernel diagonal that let the Cholesky factorization succeed"},
        {"/nngp/status", NULL, s->status, status_legend},
        {"/nngp/info", NULL, s->info, "Cholesky info of the last factorization attempt, as LAPACK dpotrf's (0 = success, k > 0: leading minor k not positive definite)"},
    };
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0] && !st; a++) {
        st = arrays[a].f64 ? h5_write_f64(f, arrays[a].name, 3, dims, arrays[a].f64)
                           : h5_write_i32(f, arrays[a].name, 3, dims, arrays[a].i32);
        if (!fresh)
            continue;
        if (!st) st = h5_write_attr_str(f, arrays[a].name, "description", arrays[a].what);
        if (!st) st = h5_attach_scales(f, arrays[a].name, 3, grid_dims);
    }
    /* Timings: per item and phase, plus totals per phase. */
    size_t tdims[3] = {(size_t)s->nw, (size_t)s->nb, NNGP_NPHASES};
    double total[NNGP_NPHASES] = {0};
    total[NNGP_PHASE_GRAM] = s->gram_seconds;
    for (int i = 0; i < s->nitems; i++)
        for (int p = 0; p < NNGP_NPHASES; p++)
            total[p] += s->item_seconds[(size_t)i * NNGP_NPHASES + p];
    for (int d = 0; d < s->nd; d++)
        total[NNGP_PHASE_VARIANCE] += s->post.seconds[d];
    size_t np = NNGP_NPHASES, ni = (size_t)s->nitems;
    if (!st) st = h5_write_f64(f, "/nngp/timing/item_seconds", 3, tdims, s->item_seconds);
    if (!st) st = h5_write_f64(f, "/nngp/timing/phase_seconds", 1, &np, total);
    if (!st) st = h5_write_u8(f, "/nngp/item_done", 1, &ni, s->item_done);
    if (st || !fresh)
        return st;
    st = h5_write_strings(f, "/nngp/timing/phase_names", np, nngp_phase_names);
    /* the phase dimension's coordinate: the phase names again, as /nngp/timing/phase */
    if (!st) st = h5_write_strings(f, "/nngp/timing/phase", np, nngp_phase_names);
    if (!st) st = h5_make_scale(f, "/nngp/timing/phase", NULL);
    if (!st) st = write_variance_scales(f, s, "/nngp/timing");
    if (!st) st = h5_attach_scales(f, "/nngp/timing/item_seconds", 3, timing_dims);
    if (!st) st = h5_attach_scales(f, "/nngp/timing/phase_seconds", 1, timing_dims + 2);
    if (!st) st = h5_attach_scales(f, "/nngp/timing/phase_names", 1, timing_dims + 2);
    if (!st) st = h5_attach_scales(f, "/nngp/item_done", 1, item_dims);
    if (!st) st = h5_write_attr_str(f, "/nngp/timing", "description",
                                    "seconds per phase; gram is paid once per rank, variance is the "
                                    "posterior of the reported models; item_seconds is [sigma_w2][sigma_b2][phase]");
    if (!st) st = h5_write_attr_int(f, "/nngp", "ntrain", s->ntrain_search);
    if (!st) st = h5_write_attr_int(f, "/nngp", "search_train", job->nngp.search_train);
    if (!st) st = h5_write_attr_str(f, "/nngp", "training_examples",
                                    job->nngp.search_train
                                        ? "the grid, its best models and their posteriors are "
                                          "computed on the first ntrain training examples (a "
                                          "search); /nngp/final holds the fits on all of them"
                                        : "the grid is computed on every training example");
    if (!st) st = h5_write_attr_int(f, "/nngp", "ntest", s->ds->test.n);
    if (!st) st = h5_write_attr_int(f, "/nngp", "nvalidation", s->ds->validation.n);
    if (!st) st = h5_write_attr_int(f, "/nngp", "ntargets", s->ds->ntargets);
    if (!st) st = h5_write_attr_double(f, "/nngp", "noise", job->nngp.noise);
    if (!st) st = h5_write_attr_double(f, "/nngp", "noise_max", job->nngp.noise_max);
    const nngp_layout_t *lay = &s->layout;
    if (!st) st = h5_write_attr_str(f, "/nngp", "solver", nngp_solver_name(lay->solver));
    if (!st && lay->solver == SOLVER_SCALAPACK) {
        st = h5_write_attr_int(f, "/nngp", "block_size", lay->nb);
        if (!st) st = h5_write_attr_str(f, "/nngp", "store", nngp_store_name(lay->store));
    }
    if (!st) st = h5_write_attr_double(f, "/nngp", "memory_per_rank_estimate", lay->bytes);
    if (!st) st = h5_write_attr_double(f, "/nngp", "memory_per_rank_available", lay->budget);
    return st;
}

/* Depth d's model, grid item `item` (-1: none), as its positions in the variance scales (-1)
 * and their values (NaN) into iw[d], ib[d], sw2[d], sb2[d]. */
static void item_model(const nngp_state_t *s, int item, int d, int *iw, int *ib, double *sw2,
                       double *sb2)
{
    iw[d] = item < 0 ? -1 : item / s->nb;
    ib[d] = item < 0 ? -1 : item % s->nb;
    sw2[d] = item < 0 ? NAN : s->job->nngp.sigma_w2.v[iw[d]];
    sb2[d] = item < 0 ? NAN : s->job->nngp.sigma_b2.v[ib[d]];
}

/* The best model per depth under each rule; attachments and the rule text only when fresh. */
static int write_best(h5file_t *f, const nngp_state_t *s, int fresh)
{
    static const char *const rule_text[SELECT_NRULES] = {
        "highest test accuracy (ties: higher log marginal likelihood, then grid order)",
        "highest validation accuracy (ties: higher log marginal likelihood, then grid order)",
        "highest log marginal likelihood of the training targets"};
    size_t nd = (size_t)s->nd;
    int st = NN_OK;
    for (int rule = 0; rule < SELECT_NRULES && !st; rule++) {
        if (rule == SELECT_VALIDATION_ACCURACY && s->ds->validation.n == 0)
            continue;
        double sw2[NNGP_MAX_DEPTHS], sb2[NNGP_MAX_DEPTHS], acc[NNGP_MAX_DEPTHS],
            vacc[NNGP_MAX_DEPTHS], lml[NNGP_MAX_DEPTHS], noise[NNGP_MAX_DEPTHS];
        int iw[NNGP_MAX_DEPTHS], ib[NNGP_MAX_DEPTHS];
        for (int d = 0; d < s->nd; d++) {
            int item = s->best[rule][d];
            item_model(s, item, d, iw, ib, sw2, sb2);
            size_t g = (size_t)d * s->nitems + (item < 0 ? 0 : item);
            acc[d] = item < 0 ? NAN : s->test_accuracy[g];
            vacc[d] = item < 0 ? NAN : s->validation_accuracy[g];
            lml[d] = item < 0 ? NAN : s->log_marginal_likelihood[g];
            noise[d] = item < 0 ? NAN : s->noise_used[g];
        }
        char group[96], path[160], depth[128];
        snprintf(group, sizeof group, "/nngp/best/%s", select_rule_names[rule]);
        if (fresh) st = write_depth_scale(f, s, group, depth, sizeof depth);
        struct { const char *name; const double *v; } cols[] = {
            {"sigma_w2", sw2}, {"sigma_b2", sb2}, {"test_accuracy", acc},
            {"validation_accuracy", vacc}, {"log_marginal_likelihood", lml}, {"noise_used", noise}};
        for (size_t k = 0; k < sizeof cols / sizeof cols[0] && !st; k++) {
            snprintf(path, sizeof path, "%s/%s", group, cols[k].name);
            st = h5_write_f64(f, path, 1, &nd, cols[k].v);
            if (!st && fresh) st = h5_attach_scale(f, path, 0, depth);
        }
        struct { const char *name; const int *v; } idx[] = {{"sigma_w2_index", iw},
                                                            {"sigma_b2_index", ib}};
        for (size_t k = 0; k < 2 && !st; k++) {   /* positions in the grid scales, -1: none */
            snprintf(path, sizeof path, "%s/%s", group, idx[k].name);
            st = h5_write_i32(f, path, 1, &nd, idx[k].v);
            if (!st && fresh) st = h5_attach_scale(f, path, 0, depth);
        }
        if (!st && fresh) st = h5_write_attr_str(f, group, "rule", rule_text[rule]);
    }
    return st;
}

/* Test positions of the k largest (most uncertain) or smallest variances, ties by position. */
static void rank_by_variance(const double *var, int n, int k, int largest, int *out)
{
    for (int j = 0; j < k; j++) {
        int pick = -1;
        for (int i = 0; i < n; i++) {
            int used = 0;
            for (int q = 0; q < j; q++)
                used |= out[q] == i;
            if (used || isnan(var[i]))
                continue;
            if (pick < 0 || (largest ? var[i] > var[pick] : var[i] < var[pick]))
                pick = i;
        }
        out[j] = pick;
    }
}

static int predicted_class(const double *mean, int ntargets)
{
    if (ntargets == 1)
        return mean[0] >= 0 ? 1 : 0;
    int best = 0;
    for (int c = 1; c < ntargets; c++)
        if (mean[c] > mean[best])
            best = c;
    return best;
}

#define NUNCERTAIN 2

/* The most (largest) or least uncertain test examples of the fitted models, under group. */
static int write_uncertain(h5file_t *f, const nngp_state_t *s, const nngp_fits_t *fits,
                           const char *group, int largest)
{
    const dataset_t *ds = s->ds;
    int ntest = ds->test.n, nk = ds->ntargets, nd = s->nd, dim = ds->dim;
    size_t n2 = (size_t)nd * NUNCERTAIN;
    int *pos = malloc(n2 * sizeof(int)), *src = malloc(n2 * sizeof(int));
    int *label = malloc(n2 * sizeof(int)), *pred = malloc(n2 * sizeof(int));
    double *var = malloc(n2 * sizeof(double)), *mean = malloc(n2 * nk * sizeof(double));
    unsigned char *img = calloc(n2 * dim, 1);
    int st = pos && src && label && pred && var && mean && img ? NN_OK
                                                               : nn_fail(NN_ERR_NOMEM, "uncertainty tables");
    for (int d = 0; d < nd && !st; d++) {
        int *p = pos + d * NUNCERTAIN;
        if (!fits->done[d] || fits->item[d] < 0)
            p[0] = p[1] = -1;
        else
            rank_by_variance(fits->variance + (size_t)d * ntest, ntest, NUNCERTAIN, largest, p);
        for (int j = 0; j < NUNCERTAIN; j++) {
            size_t o = (size_t)d * NUNCERTAIN + j;
            int i = p[j];
            const double *m = i >= 0 ? fits->mean + ((size_t)d * ntest + i) * nk : NULL;
            src[o] = i >= 0 ? ds->test.source_index[i] : -1;
            label[o] = i >= 0 ? ds->test.label[i] : -1;
            pred[o] = i >= 0 ? predicted_class(m, nk) : -1;
            var[o] = i >= 0 ? fits->variance[(size_t)d * ntest + i] : NAN;
            for (int c = 0; c < nk; c++)
                mean[o * nk + c] = m ? m[c] : NAN;
            if (i >= 0)
                memcpy(img + o * dim, ds->test.pixels + (size_t)i * dim, (size_t)dim);
        }
    }
    char path[160];
    size_t d2[2] = {(size_t)nd, NUNCERTAIN}, d3[3] = {(size_t)nd, NUNCERTAIN, (size_t)nk};
    size_t d5[5] = {(size_t)nd, NUNCERTAIN, (size_t)ds->channels, (size_t)ds->rows, (size_t)ds->cols};
    int fresh = !h5_exists(f, group, NULL);
#define UNC_PATH(name) (snprintf(path, sizeof path, "%s/%s", group, name), path)
    if (!st) st = h5_write_i32(f, UNC_PATH("test_position"), 2, d2, pos);
    if (!st) st = h5_write_i32(f, UNC_PATH("source_index"), 2, d2, src);
    if (!st) st = h5_write_i32(f, UNC_PATH("label"), 2, d2, label);
    if (!st) st = h5_write_i32(f, UNC_PATH("predicted"), 2, d2, pred);
    if (!st) st = h5_write_f64(f, UNC_PATH("variance"), 2, d2, var);
    if (!st) st = h5_write_f64(f, UNC_PATH("mean"), 3, d3, mean);
    if (!st) st = h5_write_u8(f, UNC_PATH("image"), 5, d5, img);
    /* Dimensions, made once: depth, example (the most or least uncertain first), target and the
     * image's channel, height, width. */
    static const char *const names[6] = {"depth", "example", "target",
                                         "channel", "height", "width"};
    static const char *const arrays[7] = {"test_position", "source_index", "label", "predicted",
                                          "variance", "mean", "image"};
    const size_t len[6] = {(size_t)nd, NUNCERTAIN, (size_t)nk, d5[2], d5[3], d5[4]};
    char scale[6][128];
    for (int k = 0; k < 6 && fresh && !st; k++) {
        snprintf(scale[k], sizeof scale[k], "%s/%s", group, names[k]);
        st = k == 0 ? write_depth_scale(f, s, group, scale[0], sizeof scale[0])
                    : h5_write_dimension(f, scale[k], len[k]);
    }
    const char *dims3[3] = {scale[0], scale[1], scale[2]};
    const char *dims5[5] = {scale[0], scale[1], scale[3], scale[4], scale[5]};
    for (int a = 0; a < 7 && fresh && !st; a++)   /* ranks 2 (the first five), 3, 5 */
        st = h5_attach_scales(f, UNC_PATH(arrays[a]), a < 5 ? 2 : a == 5 ? 3 : 5,
                              a == 6 ? dims5 : dims3);
#undef UNC_PATH
    free(pos); free(src); free(label); free(pred); free(var); free(mean); free(img);
    return st;
}

/* A fits table under group (over <group>/depth): per depth the model (sigma_w2, sigma_b2, their
 * positions in the grid's scales), done, status, info, noise_used, seconds, test_accuracy,
 * log_marginal_likelihood; once a fit is done, the posterior mean, variance[, covariance] (over
 * <group>/test and <group>/target) and the most and least uncertain test examples under
 * <unc_group>/most_uncertain and least_uncertain. */
static int write_fits(h5file_t *f, const nngp_state_t *s, const nngp_fits_t *fits,
                      const char *group, const char *unc_group, const char *model)
{
    const dataset_t *ds = s->ds;
    size_t nd = (size_t)s->nd, ntest = (size_t)ds->test.n;
    size_t dm[3] = {nd, ntest, (size_t)ds->ntargets}, dv[2] = {nd, ntest}, dc[3] = {nd, ntest, ntest};
    double sw2[NNGP_MAX_DEPTHS], sb2[NNGP_MAX_DEPTHS];
    int iw[NNGP_MAX_DEPTHS], ib[NNGP_MAX_DEPTHS], status[NNGP_MAX_DEPTHS];
    unsigned char done_any = 0;
    for (size_t d = 0; d < nd; d++) {
        int item = fits->item[d];
        done_any |= fits->done[d];
        item_model(s, item, (int)d, iw, ib, sw2, sb2);
        status[d] = !fits->done[d] || item < 0 ? NNGP_PENDING
                    : fits->info[d] == 0       ? NNGP_OK
                                               : NNGP_FAILED;
    }
    char path[160], depth[128], scale[3][128];
    snprintf(path, sizeof path, "%s/done", group);
    int fresh = !h5_exists(f, path, NULL), st = NN_OK;
    if (fresh) st = write_depth_scale(f, s, group, depth, sizeof depth);
    if (!st) st = h5_write_attr_str(f, group, "model", model);
    struct { const char *name; const double *f64; const int *i32; const unsigned char *u8; } cols[] = {
        {"done", NULL, NULL, fits->done}, {"status", NULL, status, NULL},
        {"info", NULL, fits->info, NULL}, {"sigma_w2", sw2, NULL, NULL},
        {"sigma_b2", sb2, NULL, NULL}, {"sigma_w2_index", NULL, iw, NULL},
        {"sigma_b2_index", NULL, ib, NULL}, {"noise_used", fits->noise, NULL, NULL},
        {"seconds", fits->seconds, NULL, NULL}, {"test_accuracy", fits->test_accuracy, NULL, NULL},
        {"log_marginal_likelihood", fits->log_marginal_likelihood, NULL, NULL}};
    for (size_t k = 0; k < sizeof cols / sizeof cols[0] && !st; k++) {
        snprintf(path, sizeof path, "%s/%s", group, cols[k].name);
        st = cols[k].f64 ? h5_write_f64(f, path, 1, &nd, cols[k].f64)
           : cols[k].i32 ? h5_write_i32(f, path, 1, &nd, cols[k].i32)
                         : h5_write_u8(f, path, 1, &nd, cols[k].u8);
        if (!st && fresh) st = h5_attach_scale(f, path, 0, depth);
        if (!st && fresh && cols[k].i32 == status)
            st = h5_write_attr_str(f, path, "description", status_legend);
    }
    size_t dp[2] = {nd, NNGP_NPHASES}, np = NNGP_NPHASES;
    char phase[160];
    snprintf(path, sizeof path, "%s/phase_seconds", group);
    snprintf(phase, sizeof phase, "%s/phase", group);
    if (!st) st = h5_write_f64(f, path, 2, dp, &fits->phase_seconds[0][0]);
    if (!st && fresh) st = h5_write_strings(f, phase, np, nngp_phase_names);
    if (!st && fresh) st = h5_make_scale(f, phase, NULL);
    const char *phase_dims[2] = {depth, phase};
    if (!st && fresh) st = h5_attach_scales(f, path, 2, phase_dims);
    if (!st && fresh) st = h5_write_attr_str(f, path, "description", "seconds of each phase of "
                                             "the fit on its (group leader) rank");
    if (st || !done_any)
        return st;
    /* dimensions: depth, test (positions in the test split; test2 for the covariance's
     * columns), target; made with the arrays that use them */
    static const char *const names[3] = {"test", "target", "test2"};
    for (int k = 0; k < 3; k++)
        snprintf(scale[k], sizeof scale[k], "%s/%s", group, names[k]);
    snprintf(depth, sizeof depth, "%s/depth", group);
    const char *mean_dims[3] = {depth, scale[0], scale[1]};
    const char *cov_dims[3] = {depth, scale[0], scale[2]};
    char vpath[160];
    snprintf(path, sizeof path, "%s/mean", group);
    snprintf(vpath, sizeof vpath, "%s/variance", group);
    fresh = !h5_exists(f, path, NULL);
    st = h5_write_f64(f, path, 3, dm, fits->mean);
    if (!st) st = h5_write_f64(f, vpath, 2, dv, fits->variance);
    if (!st && fresh) st = h5_write_range_scale(f, scale[0], ntest, 0);
    if (!st && fresh) st = h5_write_dimension(f, scale[1], dm[2]);
    if (!st && fresh) st = h5_attach_scales(f, path, 3, mean_dims);
    if (!st && fresh) st = h5_attach_scales(f, vpath, 2, mean_dims);
    if (!st && fits->covariance) {
        snprintf(path, sizeof path, "%s/covariance", group);
        st = h5_write_f64(f, path, 3, dc, fits->covariance);
        if (!st && fresh) st = h5_write_range_scale(f, scale[2], ntest, 0);
        if (!st && fresh) st = h5_attach_scales(f, path, 3, cov_dims);
    }
    snprintf(path, sizeof path, "%s/most_uncertain", unc_group);
    if (!st) st = write_uncertain(f, s, fits, path, 1);
    snprintf(path, sizeof path, "%s/least_uncertain", unc_group);
    if (!st) st = write_uncertain(f, s, fits, path, 0);
    return st;
}

/* ---- the self-check ---- */

/* 1: fits d has a factor, so a check (-1: nothing to check; 0: not done yet). */
static int fit_checked(const nngp_fits_t *fits, int d)
{
    if (!fits->done[d])
        return 0;
    return fits->item[d] >= 0 && fits->info[d] == 0 ? 1 : -1;
}

const char *nngp_self_check(const nngp_state_t *s, nngp_check_t *worst, int *nchecked)
{
    const nngp_fits_t *tables[2] = {&s->post, s->job->nngp.search_train ? &s->final : NULL};
    int failed = 0, pending = 0;
    *worst = (nngp_check_t){0.0, 0.0};
    *nchecked = 0;
    for (int t = 0; t < 2; t++)
        for (int d = 0; d < s->nd && tables[t]; d++) {
            int checked = fit_checked(tables[t], d);
            pending |= checked == 0;
            if (checked <= 0)
                continue;
            nngp_check_t c = tables[t]->check[d];
            failed |= !nngp_check_passed(c, s->job->nngp.check_threshold);
            worst->solve = c.solve > worst->solve ? c.solve : worst->solve;
            worst->factor = c.factor > worst->factor ? c.factor : worst->factor;
            ++*nchecked;
        }
    return failed ? "FAILED" : pending ? "PENDING" : "PASSED";
}

const char *nngp_self_check_all(nngp_state_t *const *s, int n, nngp_check_t *worst,
                                int *nchecked)
{
    int failed = 0, pending = 0;
    *worst = (nngp_check_t){0.0, 0.0};
    *nchecked = 0;
    for (int k = 0; k < n; k++) {
        nngp_check_t w;
        int c;
        const char *v = nngp_self_check(s[k], &w, &c);
        failed |= strcmp(v, "FAILED") == 0;
        pending |= strcmp(v, "PENDING") == 0;
        worst->solve = w.solve > worst->solve ? w.solve : worst->solve;
        worst->factor = w.factor > worst->factor ? w.factor : worst->factor;
        *nchecked += c;
    }
    return failed ? "FAILED" : pending ? "PENDING" : "PASSED";
}

/* <group>/{solve_residual, factor_residual, seconds, passed} over <group>/depth for a fits
 * table trained on ntrain examples. */
static int write_check_table(h5file_t *f, const nngp_state_t *s, const nngp_fits_t *fits,
                             const char *group, int ntrain)
{
    size_t nd = (size_t)s->nd;
    double solve[NNGP_MAX_DEPTHS], factor[NNGP_MAX_DEPTHS];
    int passed[NNGP_MAX_DEPTHS], rows[NNGP_CHECK_ROWS];
    for (int d = 0; d < s->nd; d++) {
        int checked = fit_checked(fits, d);
        solve[d] = checked > 0 ? fits->check[d].solve : NAN;
        factor[d] = checked > 0 ? fits->check[d].factor : NAN;
        passed[d] = checked > 0 ? nngp_check_passed(fits->check[d], s->job->nngp.check_threshold)
                                : -1;
    }
    char path[160], depth[128];
    snprintf(path, sizeof path, "%s/passed", group);
    int fresh = !h5_exists(f, path, NULL), st = NN_OK;
    if (fresh) st = write_depth_scale(f, s, group, depth, sizeof depth);
    struct { const char *name; const double *f64; const int *i32; const char *text; } cols[] = {
        {"solve_residual", solve, NULL, "||A(S,:) alpha - y(S)||_oo / (eps (||A(S,:)||_oo "
         "||alpha||_oo + ||y(S)||_oo) n), the largest over targets"},
        {"factor_residual", factor, NULL, "||(L L^T)(S,:) - A(S,:)||_oo / (eps ||A(S,:)||_oo n)"},
        {"seconds", fits->check_seconds, NULL, "seconds of the check"},
        {"passed", NULL, passed, "1 = both residuals at most the threshold, 0 = not (FAILED), "
         "-1 = nothing to check (no fit or its factorization failed) or not done yet"}};
    for (size_t k = 0; k < sizeof cols / sizeof cols[0] && !st; k++) {
        snprintf(path, sizeof path, "%s/%s", group, cols[k].name);
        st = cols[k].f64 ? h5_write_f64(f, path, 1, &nd, cols[k].f64)
                         : h5_write_i32(f, path, 1, &nd, cols[k].i32);
        if (!st && fresh) st = h5_attach_scale(f, path, 0, depth);
        if (!st && fresh) st = h5_write_attr_str(f, path, "description", cols[k].text);
    }
    if (!st) st = h5_write_attr_int(f, group, "ntrain", ntrain);
    if (!st) st = h5_write_attr_int(f, group, "rows_checked", nngp_check_rows(ntrain, rows));
    return st;
}

/* /nngp/check: each fit's scaled residuals, the threshold, and the kernel's verdict (the root
 * attribute self_check sums up every kernel's). */
static int write_check(h5file_t *f, const nngp_state_t *s)
{
    nngp_check_t worst;
    int n;
    const char *verdict = nngp_self_check(s, &worst, &n);
    int st = write_check_table(f, s, &s->post, "/nngp/check/posterior", s->ntrain_search);
    if (!st && s->job->nngp.search_train)
        st = write_check_table(f, s, &s->final, "/nngp/check/final", s->ds->train.n);
    char text[256];
    snprintf(text, sizeof text, "self-check of every fit (HPL's scaled residuals): S = "
             "rows_checked rows of A = %s + s2 I, evenly spaced, recomputed from the points; L "
             "the solver's factor, alpha its weights, n = ntrain", s->ntk ? "Theta" : "K");
    if (!st) st = h5_write_attr_str(f, "/nngp/check", "description", text);
    if (!st) st = h5_write_attr_double(f, "/nngp/check", "threshold", s->job->nngp.check_threshold);
    if (!st) st = h5_write_attr_str(f, "/nngp/check", "result", verdict);
    return st;
}

/* /nngp/final: the search's selected models fitted on every training example (search_train). */
static int write_final(h5file_t *f, const nngp_state_t *s)
{
    int st = write_fits(f, s, &s->final, "/nngp/final", "/nngp/final/uncertainty",
                        "best model of each depth by test accuracy in the search "
                        "(/nngp/best/test_accuracy), fitted on all training examples");
    const nngp_layout_t *lay = &s->final_layout;
    if (!st) st = h5_write_attr_int(f, "/nngp/final", "ntrain", s->ds->train.n);
    if (!st) st = h5_write_attr_double(f, "/nngp/final", "gram_seconds", s->final_gram_seconds);
    if (!st) st = h5_write_attr_str(f, "/nngp/final", "solver", nngp_solver_name(lay->solver));
    if (!st) st = h5_write_attr_int(f, "/nngp/final", "group_size", lay->group_size);
    if (!st && lay->solver == SOLVER_SCALAPACK) {
        char grid[32];
        snprintf(grid, sizeof grid, "%dx%d", lay->nprow, lay->npcol);
        st = h5_write_attr_str(f, "/nngp/final", "process_grid", grid);
        if (!st) st = h5_write_attr_int(f, "/nngp/final", "block_size", lay->nb);
        if (!st) st = h5_write_attr_str(f, "/nngp/final", "store", nngp_store_name(lay->store));
    }
    if (!st) st = h5_write_attr_double(f, "/nngp/final", "memory_per_rank_estimate", lay->bytes);
    return st;
}

/* One kernel's results, written as /nngp/... (the caller's alias moves them to its group). */
static int write_kernel(h5file_t *f, const nngp_state_t *s)
{
    int fresh = !h5_exists(f, "/nngp", NULL);
    int st = write_grid(f, s, fresh);
    if (!st) st = h5_write_attr_str(f, "/nngp", "kernel", s->ntk ? "ntk" : "nngp");
    if (!st) st = write_best(f, s, fresh);
    if (!st) st = write_fits(f, s, &s->post, "/nngp/posterior", "/nngp/uncertainty",
                             "best model of each depth by test accuracy (/nngp/best/test_accuracy)");
    if (!st && s->job->nngp.search_train) st = write_final(f, s);
    if (!st) st = write_check(f, s);
    return st;
}

int nngp_state_write(h5file_t *f, nngp_state_t *const *s, int n, const char *path,
                     const char *state_name)
{
    int st = write_provenance(f, s[0], state_name);
    if (!st && !h5_exists(f, "/data", NULL)) st = write_data(f, s[0]->ds);
    for (int k = 0; k < n && !st; k++) {
        st = h5_set_alias(f, "/nngp", s[k]->group);
        if (!st) st = write_kernel(f, s[k]);
        h5_set_alias(f, NULL, NULL);
    }
    nngp_check_t worst;
    int nchecked;
    if (!st) st = h5_write_attr_str(f, "/", "self_check",
                                    nngp_self_check_all(s, n, &worst, &nchecked));
    if (!st) st = limit_state_write(f, s[0]);   /* the stages after the kernels' searches */
    if (!st) st = network_state_write(f, s[0]);
    if (st)
        return nn_fail_context(st, "writing %s: ", path);
    return h5_save(f, strcmp(state_name, "running") == 0);
}

/* ---- resume ---- */

static int read_grid_f64(h5file_t *f, const char *path, double *dst, size_t n)
{
    return h5_read_f64(f, path, dst, n);
}

/* The final fits of an earlier run into s->final: each depth's model (from its positions in the
 * grid's scales), results and, once one is done, the posteriors. */
static int read_final(h5file_t *f, nngp_state_t *s)
{
    nngp_fits_t *fits = &s->final;
    size_t nd = (size_t)s->nd, ntest = (size_t)s->ds->test.n;
    int iw[NNGP_MAX_DEPTHS], ib[NNGP_MAX_DEPTHS];
    int st = h5_read_u8(f, "/nngp/final/done", fits->done, nd);
    if (!st) st = h5_read_i32(f, "/nngp/final/sigma_w2_index", iw, nd);
    if (!st) st = h5_read_i32(f, "/nngp/final/sigma_b2_index", ib, nd);
    if (!st) st = h5_read_i32(f, "/nngp/final/info", fits->info, nd);
    if (!st) st = h5_read_f64(f, "/nngp/final/noise_used", fits->noise, nd);
    if (!st) st = h5_read_f64(f, "/nngp/final/seconds", fits->seconds, nd);
    if (!st) st = h5_read_f64(f, "/nngp/final/test_accuracy", fits->test_accuracy, nd);
    if (!st) st = h5_read_f64(f, "/nngp/final/log_marginal_likelihood",
                              fits->log_marginal_likelihood, nd);
    double solve[NNGP_MAX_DEPTHS], factor[NNGP_MAX_DEPTHS];
    int checked = h5_exists(f, "/nngp/check/final/solve_residual", NULL);
    if (!st && checked) st = h5_read_f64(f, "/nngp/check/final/solve_residual", solve, nd);
    if (!st && checked) st = h5_read_f64(f, "/nngp/check/final/factor_residual", factor, nd);
    if (!st && checked) st = h5_read_f64(f, "/nngp/check/final/seconds", fits->check_seconds, nd);
    int any = 0;
    for (size_t d = 0; d < nd && !st; d++) {
        fits->done[d] &= checked;   /* a file from before the self-check: fitted again */
        fits->check[d] = checked ? (nngp_check_t){solve[d], factor[d]} : fits->check[d];
        int ok = iw[d] >= 0 && iw[d] < s->nw && ib[d] >= 0 && ib[d] < s->nb;
        fits->item[d] = ok ? iw[d] * s->nb + ib[d] : -1;
        fits->done[d] = fits->done[d] && ok;
        any |= fits->done[d];
    }
    if (!st && any) {
        st = h5_read_f64(f, "/nngp/final/mean", fits->mean, nd * ntest * (size_t)s->ds->ntargets);
        if (!st) st = h5_read_f64(f, "/nngp/final/variance", fits->variance, nd * ntest);
        if (!st && fits->covariance)
            st = h5_read_f64(f, "/nngp/final/covariance", fits->covariance, nd * ntest * ntest);
    }
    return st;
}

int nngp_state_resume(nngp_state_t *s, const char *path)
{
    h5file_t *f = NULL;
    int st = sweep_resume_open(path, "nngp", s->job->text, &f);
    if (st || !f)
        return st;
    st = h5_set_alias(f, "/nngp", s->group);
    if (!st && !h5_exists(f, "/nngp", NULL)) {   /* this kernel's group not written yet */
        h5_close(&f);
        return NN_OK;
    }
    size_t grid = (size_t)s->nd * s->nitems;
    if (!st) st = read_grid_f64(f, "/nngp/test_accuracy", s->test_accuracy, grid);
    if (!st) st = read_grid_f64(f, "/nngp/validation_accuracy", s->validation_accuracy, grid);
    if (!st) st = read_grid_f64(f, "/nngp/log_marginal_likelihood", s->log_marginal_likelihood, grid);
    if (!st) st = read_grid_f64(f, "/nngp/noise_used", s->noise_used, grid);
    if (!st) st = h5_read_i32(f, "/nngp/status", s->status, grid);
    if (!st) st = h5_read_i32(f, "/nngp/info", s->info, grid);
    if (!st) st = h5_read_f64(f, "/nngp/timing/item_seconds", s->item_seconds,
                              (size_t)s->nitems * NNGP_NPHASES);
    if (!st) st = h5_read_u8(f, "/nngp/item_done", s->item_done, (size_t)s->nitems);
    if (!st && s->job->nngp.search_train && h5_exists(f, "/nngp/final/done", NULL))
        st = read_final(f, s);
    if (!st) st = limit_state_resume(f, s);
    if (!st) st = network_state_read(f, s);
    /* The search's posteriors are cheap next to the grid and depend on the final selection: redo
     * them. The final fits are dear: run_final keeps those of the models it selects again. */
    if (st && st != NN_ERR_INPUT)
        st = nn_fail_context(NN_ERR_INPUT, "%s: cannot resume: ", path);
    h5_close(&f);
    return st;
}
