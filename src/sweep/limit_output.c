/* limit_output.c - the group /limit of an NNGP results file: the [limit] stage's errors over
 * [depth][width] with their scales (so xarray opens the group with named coordinates), the
 * variances per depth, the fitted log-log slopes, and the settings as attributes; and reading it
 * back for --resume. Layout documented in the README ("Output file"). */
#include "limit_stage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "limit.h"
#include "nn_error.h"

/* The scales /limit/depth and /limit/width (int32) and the settings; once, in a new group. */
static int write_limit_scales(h5file_t *f, const nngp_state_t *s)
{
    const limit_state_t *L = s->limit;
    const limit_spec_t *spec = &s->job->limit;
    size_t nd = (size_t)L->nd, nw = (size_t)L->nw;
    int st = h5_write_i32(f, "/limit/depth", 1, &nd, s->depths);
    if (!st) st = h5_make_scale(f, "/limit/depth", NULL);
    if (!st) st = h5_write_i32(f, "/limit/width", 1, &nw, L->widths);
    if (!st) st = h5_make_scale(f, "/limit/width", NULL);
    if (!st) st = h5_write_attr_int(f, "/limit", "samples", spec->samples);
    if (!st) st = h5_write_attr_int(f, "/limit", "points", spec->points);
    if (!st) st = h5_write_attr_int(f, "/limit", "seed", spec->seed);
    if (!st) st = h5_write_attr_str(f, "/limit", "variances", isnan(spec->sigma_w2)
                                    ? "each depth's model selected by test accuracy "
                                      "(/nngp/best/test_accuracy)"
                                    : "set in [limit] for every depth");
    if (!st) st = h5_write_attr_str(f, "/limit", "description",
                                    "random ReLU networks of depth L (hidden layers) and width N "
                                    "drawn from the NNGP prior (weights N(0, sigma_w2/fan_in), "
                                    "biases N(0, sigma_b2)); on the first `points` test inputs "
                                    "K_N(x,x') = sigma_b2 + sigma_w2/N sum_j relu(f_j(x)) "
                                    "relu(f_j(x')), f the last hidden layer's pre-activations, "
                                    "against the NNGP kernel K^L; network s of a cell from the "
                                    "random stream (seed, L << 32 | N, s)");
    return st;
}

int limit_state_write(h5file_t *f, const nngp_state_t *s)
{
    const limit_state_t *L = s->limit;
    if (!L)
        return NN_OK;
    size_t nd = (size_t)L->nd, dims[2] = {nd, (size_t)L->nw};
    double slope[NNGP_MAX_DEPTHS], *width = malloc((size_t)L->nw * sizeof *width);
    if (!width)
        return nn_fail(NN_ERR_NOMEM, "writing /limit");
    for (int w = 0; w < L->nw; w++)
        width[w] = L->widths[w];
    for (int d = 0; d < L->nd; d++)
        slope[d] = limit_loglog_slope(width, L->error + (size_t)d * L->nw, L->nw);
    free(width);
    int fresh = !h5_exists(f, "/limit/done", NULL), st = NN_OK;
    if (fresh) st = write_limit_scales(f, s);
    static const char *const scales[2] = {"/limit/depth", "/limit/width"};
    struct { const char *name; int rank; const double *f64; const char *what; } cols[] = {
        {"/limit/error", 2, L->error, "mean over the networks of ||K_N - K^L||_F / ||K^L||_F"},
        {"/limit/error_stderr", 2, L->error_stderr, "standard error of error (sample standard "
         "deviation over the networks / sqrt(samples))"},
        {"/limit/bias", 2, L->bias, "||mean of K_N over the networks - K^L||_F / ||K^L||_F"},
        {"/limit/seconds", 2, L->seconds, "seconds of the item (all its networks)"},
        {"/limit/done", 2, NULL, "1: measured (resume bookkeeping)"},
        {"/limit/sigma_w2", 1, L->sigma_w2, "weight variance of the networks and of K^L (NaN: "
         "no model, every grid point of the depth failed)"},
        {"/limit/sigma_b2", 1, L->sigma_b2, "bias variance of the networks and of K^L"},
        {"/limit/slope", 1, slope, "least-squares slope of log(error) against log(width) over "
         "the measured widths; N^-1/2 is -0.5"}};
    for (size_t k = 0; k < sizeof cols / sizeof cols[0] && !st; k++) {
        st = cols[k].f64 ? h5_write_f64(f, cols[k].name, cols[k].rank, dims, cols[k].f64)
                         : h5_write_u8(f, cols[k].name, 2, dims, L->done);
        if (!st && fresh) st = h5_attach_scales(f, cols[k].name, cols[k].rank, scales);
        if (!st && fresh) st = h5_write_attr_str(f, cols[k].name, "description", cols[k].what);
    }
    return st;
}

int limit_state_resume(h5file_t *f, nngp_state_t *s)
{
    limit_state_t *L = s->limit;
    if (!L || !h5_exists(f, "/limit/done", NULL))
        return NN_OK;
    size_t nd = (size_t)L->nd, n = nd * L->nw;
    int st = h5_read_u8(f, "/limit/done", L->done, n);
    if (!st) st = h5_read_f64(f, "/limit/error", L->error, n);
    if (!st) st = h5_read_f64(f, "/limit/error_stderr", L->error_stderr, n);
    if (!st) st = h5_read_f64(f, "/limit/bias", L->bias, n);
    if (!st) st = h5_read_f64(f, "/limit/seconds", L->seconds, n);
    if (!st) st = h5_read_f64(f, "/limit/sigma_w2", L->sigma_w2, nd);
    if (!st) st = h5_read_f64(f, "/limit/sigma_b2", L->sigma_b2, nd);
    return st ? NN_ERR_INPUT : NN_OK;
}
