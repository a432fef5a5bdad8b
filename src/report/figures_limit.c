/* figures_limit.c - the figure of the [limit] stage: the error of random finite networks'
 * kernels against the NNGP kernel over width, log-log, one curve per depth with standard-error
 * bars, and an N^-1/2 guide line. Reads /limit through report_limit.h; draws nothing else. */
#include "figures.h"
#include "report_limit.h"

#include <math.h>
#include <stdlib.h>

#include "nn_error.h"

#define LIMIT_MAX_CURVES 24
#define LIMIT_MAX_TICKS 64

/* The range of log10(error -+ stderr) over the measured cells into lo, hi (lo > hi: none), and
 * the intercept of the N^-1/2 line fitted to them in log10: mean of log10 e + log10(N) / 2. */
static double error_range(const limit_data_t *l, double *lo, double *hi)
{
    double sum = 0;
    int n = 0;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t g = 0; g < l->nd * l->nw; g++) {
        double e = l->error[g], se = isnan(l->error_stderr[g]) ? 0 : l->error_stderr[g];
        if (!l->done[g] || !(e > 0) || isinf(e))
            continue;
        *lo = fmin(*lo, log10(e - se > 0 ? e - se : e));
        *hi = fmax(*hi, log10(e + se));
        sum += log10(e) + 0.5 * log10(l->width[g % l->nw]);
        n++;
    }
    return n ? sum / n : NAN;
}

/* Log axes: widths at their values, errors at 1, 2, 5 x 10^k inside [a->y0, a->y1]. */
static void log_axes(plot_t *p, const plot_axes_t *a, const limit_data_t *l)
{
    double at[LIMIT_MAX_TICKS];
    char text[LIMIT_MAX_TICKS][24];
    const char *labels[LIMIT_MAX_TICKS];
    int n = 0;
    for (size_t w = 0; w < l->nw && n < LIMIT_MAX_TICKS; w++, n++) {
        at[n] = log10(l->width[w]);
        snprintf(text[n], sizeof text[n], "%g", l->width[w]);
        labels[n] = text[n];
    }
    plot_axis(p, a, PLOT_AXIS_X, n, at, labels, 1);
    n = 0;
    static const double mantissa[3] = {1, 2, 5};
    for (int k = (int)floor(a->y0) - 1; k <= (int)ceil(a->y1); k++)
        for (int m = 0; m < 3 && n < LIMIT_MAX_TICKS; m++) {
            double v = log10(mantissa[m]) + k;
            if (v < a->y0 || v > a->y1)
                continue;
            at[n] = v;
            snprintf(text[n], sizeof text[n], "%g", mantissa[m] * pow(10, k));
            labels[n] = text[n];
            n++;
        }
    plot_axis(p, a, PLOT_AXIS_Y, n, at, labels, 1);
    plot_frame(p, a);
}

/* One depth's curve: log10 error over log10 width, with +- stderr bars. */
static void depth_curve(plot_t *p, const plot_axes_t *a, const limit_data_t *l, size_t d,
                        const plot_style_t *style, double *x, double *y)
{
    for (size_t w = 0; w < l->nw; w++) {
        size_t g = d * l->nw + w;
        double e = l->done[g] && l->error[g] > 0 ? l->error[g] : NAN, se = l->error_stderr[g];
        x[w] = log10(l->width[w]);
        y[w] = log10(e);
        if (!isnan(e) && se > 0)
            plot_segment(p, plot_px(a, x[w]), plot_py(a, log10(e - se > 0 ? e - se : e)),
                         plot_px(a, x[w]), plot_py(a, log10(e + se)), style->colour, 1.5, 0);
    }
    plot_series(p, a, style, (int)l->nw, x, y);
}

/* The figure on a canvas p of W x H pixels below top; the curves' points go to x, y. */
static void draw_limit(plot_t *p, const limit_data_t *l, double top, int W, int H, double *x,
                       double *y)
{
    double lo, hi, icept = error_range(l, &lo, &hi);
    if (lo > hi)
        lo = -2, hi = 0;
    double xlo = log10(l->width[0]), xhi = log10(l->width[l->nw - 1]), pad = fmax(xhi - xlo, 1);
    plot_axes_t a = {.x = 90, .y = top + 14, .w = W - 90 - 30, .h = H - top - 14 - 104,
                     .x0 = xlo - 0.05 * pad, .x1 = xhi + 0.05 * pad,
                     .y0 = lo - 0.08 * fmax(hi - lo, 0.5), .y1 = hi + 0.08 * fmax(hi - lo, 0.5)};
    log_axes(p, &a, l);
    size_t nc = l->nd < LIMIT_MAX_CURVES ? l->nd : LIMIT_MAX_CURVES;
    plot_style_t style[LIMIT_MAX_CURVES + 1];
    char label[LIMIT_MAX_CURVES][64];
    for (size_t d = 0; d < nc; d++) {
        snprintf(label[d], sizeof label[d], "L = %g: slope %.2f", l->depth[d], l->slope[d]);
        style[d] = (plot_style_t){label[d], plot_palette[d % 6], (int)(d / 6) % 3,
                                  PLOT_MARK_CIRCLE + (int)(d % 4), 0, 0};
        depth_curve(p, &a, l, d, &style[d], x + d * l->nw, y + d * l->nw);
    }
    style[nc] = (plot_style_t){"N^{-1/2} guide (fitted to all points)", PLOT_BLACK, 1,
                               PLOT_MARK_NONE, 1.5, 0};
    if (!isnan(icept)) {
        double gx[2] = {a.x0, a.x1}, gy[2] = {icept - 0.5 * a.x0, icept - 0.5 * a.x1};
        plot_series(p, &a, &style[nc], 2, gx, gy);
        plot_legend_auto(p, &a, (int)nc + 1, style, (int)(nc * l->nw), x, y);
    } else {
        plot_text(p, a.x + a.w / 2, a.y + a.h / 2, 16, PLOT_CENTER | PLOT_MIDDLE, PLOT_RED,
                  "no width measured yet");
    }
    fig_axis_label_x(p, a.x + a.w / 2, a.y + a.h + 28,
                     "width N (units per hidden layer), log scale");
    fig_axis_label_y(p, 16, a.y + a.h / 2,
                     "error ||K_{N} - K^{L}||_{F} / ||K^{L}||_{F}, log scale");
    plot_text(p, 20, H - 42, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY,
              "Each point: mean over %lld random networks of depth L and width N (NNGP prior) on "
              "%lld test inputs; bars: +- one standard error.", l->samples, l->points);
    plot_text(p, 20, H - 24, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY,
              "slope: least-squares slope of log(error) against log(N); the GP limit predicts "
              "-0.5.");
}

int figures_limit(fig_ctx_t *c, const char *note)
{
    const char *name = "nngp-limit-error-width.png";
    limit_data_t l;
    if (!limit_data_load(c->f, &l))
        return NN_OK;   /* a job without [limit]: no figure, nothing to list */
    const int W = 900, H = 600;
    double *x = malloc(l.nd * l.nw * sizeof *x), *y = malloc(l.nd * l.nw * sizeof *y);
    plot_t *p = x && y ? plot_create(W, H) : NULL;
    int st = p ? NN_OK : NN_ERR_NOMEM;
    if (p) {
        double top = fig_header(c, p, "GP limit: kernels of random finite networks against the "
                                      "NNGP kernel, by width", note);
        draw_limit(p, &l, top, W, H, x, y);
        st = fig_save(c, p, name, "error of finite networks' kernels against width, log-log, one "
                                  "curve per depth, with an N^-1/2 guide");
    }
    plot_destroy(&p);
    free(x);
    free(y);
    limit_data_free(&l);
    return st;
}
