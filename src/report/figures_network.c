/* figures_network.c - the figures of the [network] stage (Lee et al. 2018, Fig. 1 and 3): test
 * accuracy of the trained networks against width (log scale), one curve per depth with the
 * depth's NNGP (and NTK) accuracy as horizontal lines; and the networks' squared error averaged
 * in ten quantile bins of the GP's predictive variance, one curve per depth. */
#include "report_network.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

#define NET_MAX_CURVES 6   /* depths drawn (the palette's colours) */
#define NBINS 10

/* Axes of a W x H figure below top over [x0, x1] x [lo, hi] (values padded and rounded). */
static plot_axes_t net_axes(plot_t *p, double top, int W, int H, double x0, double x1, double lo,
                            double hi, int pct)
{
    fig_value_range(&lo, &hi, 0.04, pct);
    plot_axes_t a = {.x = 90, .y = top + 14, .w = W - 90 - 30, .h = H - top - 14 - 90,
                     .x0 = x0, .x1 = x1, .y0 = lo, .y1 = hi};
    plot_axis_numeric(p, &a, PLOT_AXIS_Y, 0);
    return a;
}

static int fig_accuracy_width(fig_ctx_t *c, const net_results_t *r, const char *note)
{
    const int W = 900, H = 600, nd = (int)(r->nd < NET_MAX_CURVES ? r->nd : NET_MAX_CURVES);
    const int nw = (int)r->nw;   /* at most 64: figures_network */
    double lx[64], y[NET_MAX_CURVES][64], lo = INFINITY, hi = -INFINITY;
    char labels[64][16];
    const char *lab[64];
    for (int w = 0; w < nw; w++) {
        lx[w] = log2(r->width[w]);
        snprintf(labels[w], sizeof labels[w], "%g", r->width[w]);
        lab[w] = labels[w];
    }
    for (int d = 0; d < nd; d++) {
        for (int w = 0; w < nw; w++) {
            double sd;
            int n;
            net_results_acc(r, (size_t)d, (size_t)w, &y[d][w], &sd, &n);
            y[d][w] *= 100;
        }
        double refs[2] = {100 * r->gp_acc[d], r->ntk_acc ? 100 * r->ntk_acc[d] : NAN};
        for (int k = 0; k < nw + 2; k++) {   /* the curve's points and its reference lines */
            double v = k < nw ? y[d][k] : refs[k - nw];
            if (!isnan(v))
                lo = fmin(lo, v), hi = fmax(hi, v);
        }
    }
    if (isinf(lo))
        lo = 50, hi = 100;
    plot_t *p = plot_create(W, H);
    if (!p)
        return NN_ERR_NOMEM;
    double top = fig_header(c, p, "Trained networks against their GP: test accuracy against width",
                            note);
    double pad = nw > 1 ? 0.3 * (lx[nw - 1] - lx[0]) / (nw - 1) : 1;
    plot_axes_t a = net_axes(p, top, W, H, lx[0] - pad, lx[nw - 1] + pad, lo, hi, 1);
    plot_axis(p, &a, PLOT_AXIS_X, nw, lx, lab, 1);
    plot_frame(p, &a);
    plot_style_t st[NET_MAX_CURVES];
    char names[NET_MAX_CURVES][96];
    for (int d = 0; d < nd; d++) {
        plot_rgb_t col = plot_palette[d % 6];
        plot_segment(p, a.x, plot_py(&a, 100 * r->gp_acc[d]), a.x + a.w,
                     plot_py(&a, 100 * r->gp_acc[d]), col, 1.5, 1);
        if (r->ntk_acc && !isnan(r->ntk_acc[d]))
            plot_segment(p, a.x, plot_py(&a, 100 * r->ntk_acc[d]), a.x + a.w,
                         plot_py(&a, 100 * r->ntk_acc[d]), col, 1.5, 3);
        snprintf(names[d], sizeof names[d], "depth %g networks (mean over seeds)", r->depth[d]);
        st[d] = (plot_style_t){names[d], col, 0, PLOT_MARK_CIRCLE, 2.2, 9};
        plot_series(p, &a, &st[d], nw, lx, y[d]);
    }
    plot_legend_auto(p, &a, nd, st, nd * nw, lx, &y[0][0]);
    fig_axis_label_x(p, a.x + a.w / 2, a.y + a.h + 28, "width N (hidden units per layer, log scale)");
    fig_axis_label_y(p, 16, a.y + a.h / 2, "test accuracy (%)");
    plot_text(p, 20, H - 30, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "Dashed lines: the NNGP of the "
              "depth's selected model, in the depth's colour%s.",
              r->ntk_acc ? "; dotted: the NTK" : "");
    int rc = fig_save(c, p, "network-accuracy-width.png",
                      "trained networks' test accuracy against width, NNGP (NTK) as lines");
    plot_destroy(&p);
    return rc;
}

static int cmp_pair(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return (x > y) - (x < y);
}

/* Depth d's binned curve: the squared error (mean over widths and test points in a bin) in
 * NBINS equal-count bins of GP variance (bx: the bin's mean variance). Returns the bins filled. */
static int bin_depth(const net_results_t *r, size_t d, double *pairs, double *bx, double *by)
{
    size_t m = 0;
    for (size_t i = 0; i < r->nt; i++) {
        double v = r->gpvar[d * r->nt + i], e = 0;
        int n = 0;
        for (size_t w = 0; w < r->nw; w++) {
            double ew = r->err[(d * r->nw + w) * r->nt + i];
            if (isfinite(ew))
                e += ew, n++;
        }
        if (isfinite(v) && n)
            pairs[2 * m] = v, pairs[2 * m + 1] = e / n, m++;
    }
    if (m < NBINS)
        return 0;
    qsort(pairs, m, 2 * sizeof(double), cmp_pair);
    for (int b = 0; b < NBINS; b++) {
        size_t i0 = m * b / NBINS, i1 = m * (b + 1) / NBINS;
        double sv = 0, se = 0;
        for (size_t i = i0; i < i1; i++)
            sv += pairs[2 * i], se += pairs[2 * i + 1];
        bx[b] = sv / (double)(i1 - i0);
        by[b] = se / (double)(i1 - i0);
    }
    return NBINS;
}

static int fig_error_variance(fig_ctx_t *c, const net_results_t *r, const char *note)
{
    const int W = 900, H = 600, nd = (int)(r->nd < NET_MAX_CURVES ? r->nd : NET_MAX_CURVES);
    double *pairs = malloc((2 * r->nt + 1) * sizeof *pairs);
    double bx[NET_MAX_CURVES][NBINS], by[NET_MAX_CURVES][NBINS];
    double x0 = INFINITY, x1 = -INFINITY, lo = INFINITY, hi = -INFINITY;
    int nb[NET_MAX_CURVES];
    if (!pairs)
        return nn_fail(NN_ERR_NOMEM, "error-variance figure");
    for (int d = 0; d < nd; d++) {
        nb[d] = bin_depth(r, (size_t)d, pairs, bx[d], by[d]);
        for (int b = 0; b < nb[d]; b++)
            x0 = fmin(x0, bx[d][b]), x1 = fmax(x1, bx[d][b]), lo = fmin(lo, by[d][b]),
            hi = fmax(hi, by[d][b]);
    }
    free(pairs);
    if (isinf(x0)) {
        fig_skip(c, "network-error-variance.png", "no depth has both a GP fit and a trained network");
        return NN_OK;
    }
    plot_t *p = plot_create(W, H);
    if (!p)
        return NN_ERR_NOMEM;
    double top = fig_header(c, p, "Networks' squared error against the GP's predictive variance",
                            note);
    double pad = x1 > x0 ? 0.05 * (x1 - x0) : 0.5 * fmax(x0, 1e-3);
    plot_axes_t a = net_axes(p, top, W, H, x0 - pad, x1 + pad, lo, hi, 0);
    plot_axis_numeric(p, &a, PLOT_AXIS_X, 0);
    plot_frame(p, &a);
    plot_style_t st[NET_MAX_CURVES];
    char names[NET_MAX_CURVES][96];
    for (int d = 0; d < nd; d++) {
        snprintf(names[d], sizeof names[d], "depth %g", r->depth[d]);
        st[d] = (plot_style_t){names[d], plot_palette[d % 6], 0, PLOT_MARK_CIRCLE, 2.2, 9};
        if (nb[d])
            plot_series(p, &a, &st[d], nb[d], bx[d], by[d]);
    }
    plot_legend_auto(p, &a, nd, st, nd * NBINS, &bx[0][0], &by[0][0]);
    fig_axis_label_x(p, a.x + a.w / 2, a.y + a.h + 28, "GP predictive variance (bin mean)");
    fig_axis_label_y(p, 16, a.y + a.h / 2, "squared error of the networks");
    plot_text(p, 20, H - 30, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "Test points in %d equal-count "
              "bins of the depth's GP variance; error averaged over seeds, widths and the bin.",
              NBINS);
    int rc = fig_save(c, p, "network-error-variance.png",
                      "networks' binned squared error against the GP's predictive variance");
    plot_destroy(&p);
    return rc;
}

int figures_network(fig_ctx_t *c, const char *note)
{
    net_results_t r;
    int st = net_results_load(c->f, &r);
    if (st == 1)
        return NN_OK;
    if (st)
        return st;
    if (r.nw > 64)
        fig_skip(c, "network-accuracy-width.png", "more than 64 widths");
    else
        st = fig_accuracy_width(c, &r, note);
    if (!st)
        st = fig_error_variance(c, &r, note);
    net_results_free(&r);
    return st;
}
