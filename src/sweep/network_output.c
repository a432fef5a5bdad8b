/* network_output.c - the /network group of an NNGP job's results file (the [network] stage):
 * per (depth, width, seed) the trained networks' accuracy, curves and test outputs, per (depth,
 * width) their squared error against the GP's predictive variance; every dimension has a scale in
 * /network so the group opens in xarray. Also reads the finished runs back for --resume. The
 * layout is documented in the README ("Output file"). */
#include "network_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

/* Pearson correlation of x and y over the n points where both are finite; NaN with fewer than
 * two such points or no spread. */
static double pearson(const double *x, const double *y, int n)
{
    double sx = 0, sy = 0, m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i]))
            sx += x[i], sy += y[i], m++;
    if (m < 2)
        return NAN;
    double mx = sx / m, my = sy / m, cxy = 0, cxx = 0, cyy = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            cxy += (x[i] - mx) * (y[i] - my);
            cxx += (x[i] - mx) * (x[i] - mx);
            cyy += (y[i] - my) * (y[i] - my);
        }
    return cxx > 0 && cyy > 0 ? cxy / sqrt(cxx * cyy) : NAN;
}

/* err[(d w) test] = mean over the finished seeds of sum_k (prediction - target)^2 (NaN when no
 * seed is finished); corr[d w] = Pearson correlation of err with the GP variance of depth d
 * (NaN without a fit); gpvar [d][test] and gpacc [d] the GP's (NaN without a fit). */
static void compare_with_gp(const nngp_state_t *s, double *err, double *corr, double *gpvar,
                            double *gpacc)
{
    const network_state_t *n = s->network;
    const nngp_fits_t *gp = network_gp_fits(s);
    const double *y = s->ds->test.y;
    int nt = n->ntest, nk = n->ntargets;
    for (int d = 0; d < n->nd; d++) {
        int fitted = gp->done[d] && gp->item[d] >= 0 && gp->info[d] == 0;
        gpacc[d] = fitted ? gp->test_accuracy[d] : NAN;
        for (int i = 0; i < nt; i++)
            gpvar[(size_t)d * nt + i] = fitted ? gp->variance[(size_t)d * nt + i] : NAN;
        for (int w = 0; w < n->nw; w++) {
            double *e = err + ((size_t)d * n->nw + w) * nt;
            int seen = 0;
            for (int i = 0; i < nt; i++)
                e[i] = 0;
            for (int k = 0; k < n->ns; k++) {
                size_t run = ((size_t)d * n->nw + w) * n->ns + k;
                if (!n->done[run] || isnan(n->test_accuracy[run]))
                    continue;
                seen++;
                const double *p = n->prediction + run * nt * nk;
                for (int i = 0; i < nt; i++)
                    for (int j = 0; j < nk; j++) {
                        double r = p[(size_t)i * nk + j] - y[(size_t)i * nk + j];
                        e[i] += r * r;
                    }
            }
            for (int i = 0; i < nt; i++)
                e[i] = seen ? e[i] / seen : NAN;
            corr[(size_t)d * n->nw + w] = pearson(gpvar + (size_t)d * nt, e, nt);
        }
    }
}

/* The scales depth, width, seed, epoch, test, target of /network (once). */
static int write_scales(h5file_t *f, const nngp_state_t *s)
{
    const network_state_t *n = s->network;
    size_t nd = (size_t)n->nd;
    int st = h5_write_i32(f, "/network/depth", 1, &nd, s->depths);
    if (!st) st = h5_make_scale(f, "/network/depth", NULL);
    if (!st) st = h5_write_scale(f, "/network/width", (size_t)n->nw, s->job->network.widths.v, NULL);
    if (!st) st = h5_write_scale(f, "/network/seed", (size_t)n->ns, s->job->network.seeds.v, NULL);
    if (!st) st = h5_write_range_scale(f, "/network/epoch", (size_t)n->epochs, 1);
    if (!st) st = h5_write_range_scale(f, "/network/test", (size_t)n->ntest, 0);
    if (!st) st = h5_write_dimension(f, "/network/target", (size_t)n->ntargets);
    return st;
}

/* The stage's settings as attributes of /network (once). */
static int write_settings(h5file_t *f, const nngp_state_t *s)
{
    const network_spec_t *ns = &s->job->network;
    int st = h5_write_attr_str(f, "/network", "description", "fully connected ReLU networks of "
                               "each depth (that many hidden dense layers of the width, then a "
                               "dense readout of ntargets units) drawn from the NNGP prior of the "
                               "depth's selected model (weights N(0, sigma_w2/fan_in), biases "
                               "N(0, sigma_b2)) and trained on the squared loss, mean over the "
                               "batch of 1/2 ||output - target||^2, against the GP's targets");
    if (!st) st = h5_write_attr_str(f, "/network", "gp_fits", s->job->nngp.search_train
                                                                  ? "/nngp/final"
                                                                  : "/nngp/posterior");
    if (!st) st = h5_write_attr_int(f, "/network", "ntrain", s->ds->train.n);
    if (!st) st = h5_write_attr_int(f, "/network", "epochs", ns->epochs);
    if (!st) st = h5_write_attr_int(f, "/network", "batch_size", ns->batch_size);
    if (!st) st = h5_write_attr_str(f, "/network", "optimizer", ns->optimizer);
    if (!st) st = h5_write_attr_double(f, "/network", "learning_rate", ns->learning_rate);
    return st;
}

typedef struct {
    const char *name;
    const double *f64;
    const int *i32;
    const unsigned char *u8;
    int rank;
    const char *what;
} array_t;

/* Writes the arrays (dims from their rank: 1 [depth], 2 [depth][width], 3 [depth][width][seed],
 * 4 + epoch, 5 + test, target; -2 [depth][test]; -3 [depth][width][test]), and when fresh their
 * scales and descriptions. */
static int write_arrays(h5file_t *f, const network_state_t *n, const array_t *a, int na, int fresh)
{
    static const char *const d3[5] = {"/network/depth", "/network/width", "/network/seed",
                                      "/network/epoch", "/network/target"};
    static const char *const d5[5] = {"/network/depth", "/network/width", "/network/seed",
                                      "/network/test", "/network/target"};
    static const char *const dt[3] = {"/network/depth", "/network/width", "/network/test"};
    static const char *const dg[2] = {"/network/depth", "/network/test"};
    int st = NN_OK;
    for (int k = 0; k < na && !st; k++) {
        size_t dims[5] = {(size_t)n->nd, (size_t)n->nw, (size_t)n->ns, (size_t)n->epochs, 0};
        int rank = a[k].rank;
        const char *const *scales = d3;
        if (rank == 5) {
            dims[3] = (size_t)n->ntest, dims[4] = (size_t)n->ntargets, scales = d5;
        } else if (rank == -2) {
            dims[1] = (size_t)n->ntest, rank = 2, scales = dg;
        } else if (rank == -3) {
            dims[2] = (size_t)n->ntest, rank = 3, scales = dt;
        }
        st = a[k].f64 ? h5_write_f64(f, a[k].name, rank, dims, a[k].f64)
           : a[k].i32 ? h5_write_i32(f, a[k].name, rank, dims, a[k].i32)
                      : h5_write_u8(f, a[k].name, rank, dims, a[k].u8);
        if (!st && fresh) st = h5_attach_scales(f, a[k].name, rank, scales);
        if (!st && fresh) st = h5_write_attr_str(f, a[k].name, "description", a[k].what);
    }
    return st;
}

int network_state_write(h5file_t *f, const nngp_state_t *s)
{
    const network_state_t *n = s->network;
    if (!n)
        return NN_OK;
    size_t runs = (size_t)n->nd * n->nw * n->ns, nt = (size_t)n->ntest;
    double *err = malloc(((size_t)n->nd * n->nw * nt + 1) * sizeof *err);
    double *corr = malloc(((size_t)n->nd * n->nw + 1) * sizeof *corr);
    double *gpvar = malloc(((size_t)n->nd * nt + 1) * sizeof *gpvar), gpacc[NNGP_MAX_DEPTHS];
    if (!err || !corr || !gpvar) {
        free(err), free(corr), free(gpvar);
        return nn_fail(NN_ERR_NOMEM, "writing /network: out of memory");
    }
    compare_with_gp(s, err, corr, gpvar, gpacc);
    int fresh = !h5_exists(f, "/network/done", NULL), st = NN_OK;
    if (fresh) st = write_scales(f, s);
    if (!st && fresh) st = write_settings(f, s);
    if (!st) st = h5_write_attr_int(f, "/network", "group_size", n->group_size);   /* resolved
                                                                    when the stage starts */
    size_t E = (size_t)n->epochs;
    const array_t a[] = {
        {"/network/done", NULL, NULL, n->done, 3, "1 = the run is finished (see status)"},
        {"/network/status", NULL, n->status, NULL, 3, "0 = pending, 1 = trained, 2 = diverged (loss NaN; curves up to then, accuracy and prediction NaN), 3 = no model (every grid point of the depth failed)"},
        {"/network/test_accuracy", n->test_accuracy, NULL, NULL, 3, "fraction of test examples classified correctly after the last epoch (sign of the output, or argmax)"},
        {"/network/seconds", n->seconds, NULL, NULL, 3, "wall seconds of the run"},
        {"/network/weights_agree", NULL, n->weights_agree, NULL, 3, "self-check: 1 = every rank of the run's group ended with the same parameters bit for bit, 0 = not, -1 = not trained"},
        {"/network/train_loss", n->curve + NET_TRAIN_LOSS * runs * E, NULL, NULL, 4, "mean squared loss (1/2 ||output - target||^2) over the epoch's training batches"},
        {"/network/train_accuracy_curve", n->curve + NET_TRAIN_ACC * runs * E, NULL, NULL, 4, "accuracy over the epoch's training batches"},
        {"/network/test_loss", n->curve + NET_TEST_LOSS * runs * E, NULL, NULL, 4, "mean squared loss (1/2 ||output - target||^2) on the test split after the epoch"},
        {"/network/test_accuracy_curve", n->curve + NET_TEST_ACC * runs * E, NULL, NULL, 4, "test accuracy after the epoch"},
        {"/network/prediction", n->prediction, NULL, NULL, 5, "the network's outputs on the test split after the last epoch"},
        {"/network/sigma_w2", n->sigma_w2, NULL, NULL, 1, "the prior's weight variance (the depth's selected model; NaN: none)"},
        {"/network/sigma_b2", n->sigma_b2, NULL, NULL, 1, "the prior's bias variance (the depth's selected model; NaN: none)"},
        {"/network/squared_error", err, NULL, NULL, -3, "sum over targets of (output - target)^2 per test point, mean over the finished seeds"},
        {"/network/variance_error_correlation", corr, NULL, NULL, 2, "Pearson correlation over the test points between the GP's predictive variance (gp_variance) and squared_error"},
        {"/network/gp_variance", gpvar, NULL, NULL, -2, "predictive variance of the depth's GP fit (the group's gp_fits attribute names it) per test point"},
        {"/network/gp_test_accuracy", gpacc, NULL, NULL, 1, "test accuracy of the depth's GP fit (gp_fits)"},
    };
    if (!st) st = write_arrays(f, n, a, (int)(sizeof a / sizeof a[0]), fresh);
    free(err);
    free(corr);
    free(gpvar);
    return st;
}

int network_state_read(h5file_t *f, nngp_state_t *s)
{
    network_state_t *n = s->network;
    if (!n || !h5_exists(f, "/network/done", NULL))
        return NN_OK;
    size_t nd = (size_t)n->nd, runs = nd * n->nw * n->ns;
    int st = h5_read_u8(f, "/network/done", n->done, runs);
    if (!st) st = h5_read_i32(f, "/network/status", n->status, runs);
    if (!st) st = h5_read_f64(f, "/network/sigma_w2", n->sigma_w2, nd);
    if (!st) st = h5_read_f64(f, "/network/sigma_b2", n->sigma_b2, nd);
    if (!st) st = h5_read_f64(f, "/network/test_accuracy", n->test_accuracy, runs);
    if (!st) st = h5_read_f64(f, "/network/seconds", n->seconds, runs);
    if (!st) st = h5_read_i32(f, "/network/weights_agree", n->weights_agree, runs);
    for (int k = 0; k < NET_NCURVES && !st; k++) {
        static const char *const paths[NET_NCURVES] = {
            "/network/train_loss", "/network/train_accuracy_curve", "/network/test_loss",
            "/network/test_accuracy_curve"};
        st = h5_read_f64(f, paths[k], n->curve + k * runs * n->epochs, runs * n->epochs);
    }
    if (!st) st = h5_read_f64(f, "/network/prediction", n->prediction,
                              runs * n->ntest * n->ntargets);
    return st;
}
