/* figures_cnn.c - the CNN figures: loss and accuracy against epoch (one colour per run, train
 * dashed, test solid), the confusion matrix of each finished run, test accuracy under input
 * noise per run, and the filters of each run's first convolution layer. Draws what the file
 * holds (an unfinished run with curves is drawn and says so); does not redraw the tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "cnn_results.h"
#include "figures.h"
#include "nn_error.h"

#define TITLE_NOTE 200

/* Line style of run i: a palette colour, and a marker that changes every palette round so that
 * runs beyond six stay distinguishable. Markers are left out when there are many epochs. */
static plot_style_t run_style(const cnn_results_t *r, int i, int epochs, int dash)
{
    static const int marks[4] = {PLOT_MARK_CIRCLE, PLOT_MARK_SQUARE, PLOT_MARK_TRIANGLE,
                                 PLOT_MARK_DIAMOND};
    plot_style_t s = {r->run[i].name, plot_palette[i % 6], dash, marks[(i / 6) % 4], 2.2, 8};
    if (epochs > 30)
        s.marker = PLOT_MARK_NONE;
    return s;
}

/* Runs that have curves to draw, in job order; returns their number. */
static int runs_with_curves(const cnn_results_t *r, int *idx)
{
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (r->run[i].epochs > 0)
            idx[n++] = i;
    return n;
}

/* ---- loss and accuracy against epoch ---- */

typedef struct {
    const char *file, *what, *title, *ylabel;
    int train, test;   /* CR_* curves */
    double scale;      /* 100 for accuracies shown in % */
} curves_fig_t;

/* The range of fig's curves of the runs idx[0..n-1] in *lo, *hi (lo infinite when there is
 * none); returns the most epochs of these runs. */
static int curves_range(const cnn_results_t *r, const curves_fig_t *fig, const int *idx, int n,
                        double *lo, double *hi)
{
    int emax = 0;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < n; k++) {
        const cnn_result_t *u = &r->run[idx[k]];
        emax = u->epochs > emax ? u->epochs : emax;
        for (int e = 0; e < u->epochs; e++)
            for (int w = 0; w < 2; w++) {
                const double *y = u->curve[w ? fig->test : fig->train];
                if (y && !isnan(y[e])) {
                    *lo = fmin(*lo, fig->scale * y[e]);
                    *hi = fmax(*hi, fig->scale * y[e]);
                }
            }
    }
    return emax;
}

/* The legend into leg: one entry per run of idx[0..n-1] (its colour; its label written in
 * names[k]), then what solid and dashed mean. Sets *unfinished when a run is not finished;
 * returns the number of entries. */
static int curves_legend(const cnn_results_t *r, const int *idx, int n, int emax,
                         plot_style_t *leg, char (*names)[96], int *unfinished)
{
    int nleg = 0;
    *unfinished = 0;
    for (int k = 0; k < n; k++) {
        const cnn_result_t *u = &r->run[idx[k]];
        leg[nleg] = run_style(r, idx[k], emax, 0);
        snprintf(names[k], sizeof names[k], "%s%s", u->name, u->done ? "" : " (not finished)");
        *unfinished |= !u->done;
        leg[nleg++].label = names[k];
    }
    leg[nleg++] = (plot_style_t){"test split (solid)", PLOT_GREY, 0, PLOT_MARK_NONE, 2.2, 0};
    leg[nleg++] = (plot_style_t){"training batches (dashed)", PLOT_GREY, 1, PLOT_MARK_NONE, 2.2, 0};
    return nleg;
}

/* Draws the axes and frame for epochs 1..emax across and the data range lo..hi up, in a W x H
 * figure below top with a legend lw wide at the right; returns them. */
static plot_axes_t curves_axes(plot_t *p, const curves_fig_t *fig, double lo, double hi,
                               int emax, double top, int W, int H, double lw)
{
    if (hi <= lo) {
        lo -= 0.5 * fig->scale / 100 + 1e-3;
        hi += 0.5 * fig->scale / 100 + 1e-3;
    }
    fig_value_range(&lo, &hi, 0.04, fig->scale == 100);
    plot_axes_t a = {.x = 90, .y = top + 14, .w = W - 90 - lw - 40, .h = H - top - 14 - 104,
                     .x0 = 1 - 0.02 * fmax(emax - 1, 10), .x1 = emax + 0.02 * fmax(emax - 1, 10),
                     .y0 = lo, .y1 = hi};
    plot_axis_numeric(p, &a, PLOT_AXIS_X, 1);
    plot_axis_numeric(p, &a, PLOT_AXIS_Y, 0);
    plot_frame(p, &a);
    return a;
}

/* Draws fig's curves of the runs idx[0..n-1] on a, each run's training curve (dashed) first so
 * that its test curve lies on top. Returns 0, or NN_ERR_NOMEM with nothing drawn. */
static int curves_series(plot_t *p, const plot_axes_t *a, const cnn_results_t *r,
                         const curves_fig_t *fig, const int *idx, int n, int emax)
{
    double *x = malloc((size_t)(emax > 0 ? emax : 1) * sizeof(double));
    double *y = malloc((size_t)(emax > 0 ? emax : 1) * sizeof(double));
    int st = x && y ? NN_OK : NN_ERR_NOMEM;
    for (int k = 0; !st && k < n; k++) {
        const cnn_result_t *u = &r->run[idx[k]];
        for (int w = 0; w < 2; w++) {
            const double *v = u->curve[w ? fig->test : fig->train];
            if (!v)
                continue;
            for (int e = 0; e < u->epochs; e++) {
                x[e] = e + 1;
                y[e] = fig->scale * v[e];
            }
            plot_style_t s = run_style(r, idx[k], emax, w ? 0 : 1);
            plot_series(p, a, &s, u->epochs, x, y);
        }
    }
    free(x);
    free(y);
    return st;
}

static int fig_curves(fig_ctx_t *c, const cnn_results_t *r, const curves_fig_t *fig,
                      const char *note)
{
    int *idx = malloc((size_t)r->n * sizeof(int));
    plot_style_t *leg = malloc(((size_t)r->n + 3) * sizeof *leg);
    if (!idx || !leg) {
        free(idx);
        free(leg);
        return nn_fail(NN_ERR_NOMEM, "%s", fig->file);
    }
    int n = runs_with_curves(r, idx), unfinished = 0, nleg = 0;
    double lo, hi;
    int emax = curves_range(r, fig, idx, n, &lo, &hi);
    char (*names)[96] = malloc((size_t)r->n * sizeof *names);
    if (names)
        nleg = curves_legend(r, idx, n, emax, leg, names, &unfinished);
    const int W = 1000;
    plot_t *p = names ? plot_create(W, 100) : NULL;   /* measures the legend, then redrawn */
    double lw = 0, lh = 0;
    if (p)
        plot_legend_size(p, nleg, leg, &lw, &lh);
    plot_destroy(&p);
    double top0 = note && note[0] ? 86 : 66;
    int H = (int)fmax(620, top0 + 14 + lh + 120);
    p = names ? plot_create(W, H) : NULL;
    if (!p) {
        free(idx);
        free(leg);
        free(names);
        return NN_ERR_NOMEM;
    }
    char title[200];
    snprintf(title, sizeof title, "%s%s%s", fig->title, n == 1 ? ", run " : ", one colour per run",
             n == 1 ? r->run[idx[0]].name : "");
    double top = fig_header(c, p, title, note);
    plot_axes_t a = curves_axes(p, fig, lo, hi, emax, top, W, H, lw);
    int drawn = curves_series(p, &a, r, fig, idx, n, emax) == NN_OK;
    plot_legend(p, a.x + a.w + 20, a.y, nleg, leg);
    fig_axis_label_x(p, a.x + a.w / 2, a.y + a.h + 28, "epoch");
    fig_axis_label_y(p, 16, a.y + a.h / 2, fig->ylabel);
    plot_text(p, 20, H - 42, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "Test: the whole test split "
              "after each epoch. Training: running average over the epoch's batches, while the "
              "weights");
    plot_text(p, 20, H - 24, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "still change and dropout is "
              "active: compare it with the test curve with care.%s",
              unfinished ? " A run not finished shows the epochs stored so far." : "");
    int st = drawn ? fig_save(c, p, fig->file, fig->what) : nn_fail(NN_ERR_NOMEM, "%s", fig->file);
    plot_destroy(&p);
    free(idx);
    free(leg);
    free(names);
    return st;
}

/* ---- confusion matrix ---- */

/* The counts in the cells of matrix a (font size font; pct: the cell values the heatmap shows),
 * the diagonal in bold, zeros in a quiet colour. */
static void confusion_cells(plot_t *p, const plot_axes_t *a, const cnn_result_t *u,
                            const double *pct, double font)
{
    const int k = u->nclasses;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double cx = plot_px(a, j), cy = plot_py(a, k - 1 - i);
            plot_rgb_t fg = plot_text_colour_on(plot_heat_colour(pct[(size_t)j * k + (k - 1 - i)],
                                                                 0, 100));
            if (u->confusion[i * k + j] == 0)   /* zeros present but quiet */
                fg = PLOT_RGB(0x8c8ca6);
            plot_text(p, cx, cy, font, PLOT_CENTER | PLOT_MIDDLE | (i == j ? PLOT_BOLD : 0), fg,
                      "%d", u->confusion[i * k + j]);
        }
}

/* Class names around matrix a: true classes down the left, predicted below; at the right, the
 * share of each true class predicted correctly (row[i]: test images of class i). */
static void confusion_classes(plot_t *p, const fig_ctx_t *c, const plot_axes_t *a,
                              const cnn_result_t *u, const long *row)
{
    const int k = u->nclasses;
    char label[48];
    for (int i = 0; i < k; i++) {
        fig_class_name(c, i, label, sizeof label);
        double yc = plot_py(a, k - 1 - i), xc = plot_px(a, i);
        plot_text(p, a->x - 8, yc, 13, PLOT_RIGHT | PLOT_MIDDLE, PLOT_BLACK, "%s", label);
        plot_text(p, xc, a->y + a->h + 8, 13, PLOT_RIGHT | PLOT_MIDDLE | PLOT_UP, PLOT_BLACK, "%s",
                  label);
        plot_text(p, a->x + a->w + 12, yc, 13, PLOT_LEFT | PLOT_MIDDLE, PLOT_BLACK, "%.1f%%",
                  row[i] ? 100.0 * u->confusion[i * k + i] / row[i] : NAN);
    }
}

static int fig_confusion(fig_ctx_t *c, const cnn_result_t *u, const char *note)
{
    const int k = u->nclasses;
    char name[128], what[160], label[48];
    snprintf(name, sizeof name, "cnn-confusion-%s.png", u->name);
    snprintf(what, sizeof what, "confusion matrix of run %s on the test split", u->name);
    double *pct = malloc((size_t)k * k * sizeof(double));
    long *row = calloc((size_t)k, sizeof(long));
    plot_t *p = pct && row ? plot_create(100, 100) : NULL;
    if (!p) {
        free(pct);
        free(row);
        return nn_fail(NN_ERR_NOMEM, "%s", name);
    }
    long total = 0, correct = 0;
    double widest = 0;
    for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++)
            row[i] += u->confusion[i * k + j];
        total += row[i];
        correct += u->confusion[i * k + i];
        widest = fmax(widest, plot_text_width(p, 13, 0, fig_class_name(c, i, label, sizeof label)));
    }
    plot_destroy(&p);
    /* Cell value at (predicted j across, true i down): the share of the true class, in %. The
     * heatmap puts iy = 0 at the bottom, so true class i is row k-1-i. */
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            pct[(size_t)j * k + (k - 1 - i)] = row[i] ? 100.0 * u->confusion[i * k + j] / row[i]
                                                      : NAN;
    double S = floor(fmin(150, fmax(26, 600.0 / k)));   /* the matrix: 300 to 600 px square */
    double top0 = note && note[0] ? 86 : 66;
    double L = 20 + 24 + widest + 12, T = top0 + 52;
    double B = widest + 12 + 40 + 54;
    int W = (int)fmax(900, L + k * S + 110 + 150);
    int H = (int)(T + k * S + B);
    p = plot_create(W, H);
    if (!p) {
        free(pct);
        free(row);
        return NN_ERR_NOMEM;
    }
    char title[200];
    snprintf(title, sizeof title, "Confusion matrix of run %s on the test split, after the last "
             "epoch", u->name);
    double top = fig_header(c, p, title, note);
    plot_text(p, 20, top + 4, 14, PLOT_LEFT | PLOT_TOP, PLOT_BLACK, "%ld of %ld test images "
              "classified correctly (%.1f%%)", correct, total, total ? 100.0 * correct / total : 0);
    plot_axes_t a = {.x = L, .y = T, .w = k * S, .h = k * S, .x0 = -0.5, .x1 = k - 0.5,
                     .y0 = -0.5, .y1 = k - 0.5};
    plot_heatmap(p, &a, k, k, pct, (size_t)k, 1, 0, 100);
    confusion_cells(p, &a, u, pct, fmin(16, S * 0.36));
    plot_frame(p, &a);
    confusion_classes(p, c, &a, u, row);
    plot_text(p, a.x + a.w + 12, a.y - 8, 13, PLOT_LEFT | PLOT_BOTTOM | PLOT_BOLD, PLOT_BLACK,
              "correct");
    fig_axis_label_y(p, 20, a.y + a.h / 2, "true class");
    fig_axis_label_x(p, a.x + a.w / 2, a.y + a.h + widest + 20, "predicted class");
    plot_colorbar(p, a.x + a.w + 90, a.y, 20, a.h, 0, 100, "% of the true class's test images");
    plot_text(p, 20, H - 42, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "Each cell: number of test "
              "images of the row's true class predicted as the column's class; its colour: that "
              "number");
    plot_text(p, 20, H - 24, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "as a share of the row. The "
              "diagonal holds the correct predictions; \"correct\": their share per true class.");
    int st = fig_save(c, p, name, what);
    plot_destroy(&p);
    free(pct);
    free(row);
    return st;
}

/* ---- accuracy under input noise ---- */

/* Test images behind a run's accuracies (the confusion matrix total); 0 when unknown. */
static long test_images(const cnn_result_t *u)
{
    long n = 0;
    for (int i = 0; u->confusion && i < u->nclasses * u->nclasses; i++)
        n += u->confusion[i];
    return n;
}

/* The four accuracies of a row, clean on top: index into noise[] (0.05, 0.01, 0.005); -1: clean. */
static const int noise_level[4] = {-1, 2, 1, 0};

/* Test accuracy (%) of run u at noise level d of a row (noise_level); NaN when not measured. */
static double noise_value(const cnn_result_t *u, int d)
{
    return 100 * (noise_level[d] < 0 ? cnn_result_last(u, CR_TEST_ACC) : u->noise[noise_level[d]]);
}

/* The finished runs with noise accuracies, in idx; their range of accuracies (%) in *lo, *hi,
 * their mean clean accuracy (a fraction) in *mean, the test images of the last of them in
 * *ntest. Returns their number. */
static int noise_runs(const cnn_results_t *r, int *idx, double *lo, double *hi, double *mean,
                      long *ntest)
{
    int n = 0;
    *lo = INFINITY;
    *hi = -INFINITY;
    *mean = 0;
    *ntest = 0;
    for (int i = 0; i < r->n; i++) {
        const cnn_result_t *u = &r->run[i];
        if (!u->done || isnan(u->noise[0]))
            continue;
        for (int d = 0; d < 4; d++) {
            double v = noise_value(u, d);
            if (!isnan(v)) {
                *lo = fmin(*lo, v);
                *hi = fmax(*hi, v);
            }
        }
        *mean += cnn_result_last(u, CR_TEST_ACC);
        *ntest = test_images(u);
        idx[n++] = i;
    }
    if (n > 0)
        *mean /= n;
    return n;
}

/* The rows of the runs idx[0..n-1] at heights at[] on a: a separating line, then one marker per
 * noise level in the style dots[d], on a line of its own. */
static void noise_rows(plot_t *p, const plot_axes_t *a, const cnn_results_t *r, const int *idx,
                       const double *at, int n, double pitch, const plot_style_t *dots)
{
    double sub = fmin(pitch, a->h / n) / 5;   /* spacing of the four lines of a row */
    for (int k = 0; k < n; k++) {
        const cnn_result_t *u = &r->run[idx[k]];
        double yc = plot_py(a, at[k]);
        if (k > 0)
            plot_segment(p, a->x, yc - 2.5 * sub, a->x + a->w, yc - 2.5 * sub, PLOT_LIGHT, 1, 0);
        for (int d = 0; d < 4; d++) {
            double v = noise_value(u, d);
            double y = yc + (d - 1.5) * sub;
            if (!isnan(v))
                plot_marker(p, plot_px(a, v), y, dots[d].marker, dots[d].msize, dots[d].colour);
        }
    }
}

/* The notes at the bottom of the H px high figure: what the noise is, and the sampling error of
 * an accuracy near mean on ntest images (when known). */
static void noise_notes(plot_t *p, int H, long ntest, double mean)
{
    plot_text(p, 20, H - 60, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "Noise: every pixel of every "
              "test image (after preprocessing) plus a·z, z drawn from N(0, 1); the final model of "
              "each run.");
    if (ntest > 0)
        plot_text(p, 20, H - 42, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "On %ld test images an "
                  "accuracy near %.0f%% has a binomial standard error of about %.1f percentage "
                  "points:", ntest, 100 * mean, 100 * sqrt(mean * (1 - mean) / ntest));
    plot_text(p, 20, H - 24, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "%s",
              ntest > 0 ? "smaller differences between runs or noise levels may be chance."
                        : "Differences smaller than the sampling error of one test split may be "
                          "chance.");
}

/* One row per finished run; in it, one line per noise level (clean on top), so that equal
 * accuracies never hide each other. */
static int fig_noise(fig_ctx_t *c, const cnn_results_t *r, const char *note)
{
    const char *name = "cnn-noise-accuracy.png";
    int *idx = malloc((size_t)r->n * sizeof(int));
    const char **lab = malloc((size_t)r->n * sizeof *lab);
    double *at = malloc((size_t)r->n * sizeof(double));
    if (!idx || !lab || !at) {
        free(idx);
        free(lab);
        free(at);
        return nn_fail(NN_ERR_NOMEM, "%s", name);
    }
    const plot_style_t dots[4] = {
        {"no noise (final test accuracy)", PLOT_BLACK, PLOT_NO_LINE, PLOT_MARK_CIRCLE, 0, 12},
        {"noise a = 0.005", plot_palette[4], PLOT_NO_LINE, PLOT_MARK_SQUARE, 0, 11},
        {"noise a = 0.01", plot_palette[1], PLOT_NO_LINE, PLOT_MARK_TRIANGLE, 0, 12},
        {"noise a = 0.05", plot_palette[3], PLOT_NO_LINE, PLOT_MARK_DIAMOND, 0, 12},
    };
    double lo, hi, mean;
    long ntest;
    int n = noise_runs(r, idx, &lo, &hi, &mean, &ntest), st = NN_OK;
    const int W = 1000, PITCH = 64;
    double top0 = note && note[0] ? 86 : 66, ah = fmax(n * PITCH, 150);
    int H = (int)(top0 + 20 + ah + 130);
    plot_t *p = n > 0 ? plot_create(W, H) : NULL;
    if (n == 0)
        fig_skip(c, name, "no finished run with noise accuracies yet");
    else if (!p)
        st = NN_ERR_NOMEM;
    if (p) {
        double top = fig_header(c, p, "Test accuracy of each run with Gaussian noise added to "
                                      "the test images", note);
        double widest = 0, lw, lh;
        for (int k = 0; k < n; k++) {
            lab[k] = r->run[idx[k]].name;
            at[k] = n - 1 - k;   /* first run at the top */
            widest = fmax(widest, plot_text_width(p, 13, 0, lab[k]));
        }
        plot_legend_size(p, 4, dots, &lw, &lh);
        if (hi - lo < 1) {
            lo = (lo + hi) / 2 - 0.5;
            hi = lo + 1;
        }
        fig_value_range(&lo, &hi, 0.05, 1);
        plot_axes_t a = {.x = 30 + widest, .y = top + 20, .w = W - 30 - widest - lw - 40, .h = ah,
                         .x0 = lo, .x1 = hi, .y0 = -0.5, .y1 = n - 0.5};
        plot_axis_numeric(p, &a, PLOT_AXIS_X, 0);
        plot_axis(p, &a, PLOT_AXIS_Y, n, at, lab, 0);
        noise_rows(p, &a, r, idx, at, n, PITCH, dots);
        plot_frame(p, &a);
        plot_legend(p, a.x + a.w + 20, a.y, 4, dots);
        fig_axis_label_x(p, a.x + a.w / 2, a.y + a.h + 28, "test accuracy (%)");
        noise_notes(p, H, ntest, mean);
        st = fig_save(c, p, name, "test accuracy per run without and with Gaussian noise");
    }
    plot_destroy(&p);
    free(idx);
    free(lab);
    free(at);
    return st;
}

/* ---- the first convolution layer's filters ---- */

/* Layout of filters.png (tests/test_report.sh recomputes it to find the filters): panels from
 * fig_header's bottom + FILT_TOP down, one per run with a conv layer, in job order. A panel: two
 * lines of text, then from FILT_TEXT below its top the filters in rows of at most FILT_COLS, each
 * k x k filter drawn as k s x k s pixels, s = max(1, FILT_CELL / k) (whole pixels, no smoothing),
 * FILT_GAP apart, the first at x = 20; FILT_AFTER below the last row the next panel starts. */
enum { FILT_TOP = 8, FILT_TEXT = 44, FILT_COLS = 16, FILT_CELL = 48, FILT_GAP = 6,
       FILT_AFTER = 20 };

#define FILT_MAX_PARAMS ((size_t)1 << 26)   /* 256 MB of weights: larger blocks are not read */

typedef struct {
    const char *run;
    cnn_layer_t L;      /* the first conv layer */
    float *w;           /* its weight (n, in_c, k, k), owned */
    double m;           /* max |w| (1 when all are zero) */
} filters_t;

/* The first conv layer of run u and its weights into *out. Returns 1 with them, 0 when the run
 * has none to draw (why says so), or NN_ERR_NOMEM. */
static int filters_load(fig_ctx_t *c, const cnn_result_t *u, int ic, int ih, int iw,
                        filters_t *out, char *why, size_t n)
{
    char g[160], p[192], *layers = NULL;
    snprintf(g, sizeof g, "/cnn/%s", u->name);
    snprintf(p, sizeof p, "%s/weights", g);
    int rank;
    size_t dims[H5IO_MAX_RANK];
    if (h5_read_attr_str(c->f, g, "layers", &layers) != NN_OK && u->spec)
        layers = strdup(u->spec->layers);
    cnn_arch_t arch;
    if (!layers) {
        snprintf(why, n, "run %s: no layers attribute", u->name);
        return 0;
    }
    int st = cnn_arch_parse(layers, ic, ih, iw, &arch);
    free(layers);
    nn_error_clear();
    if (st) {
        snprintf(why, n, "run %s: its layers do not parse for %d x %d x %d images", u->name, ic,
                 ih, iw);
        return st == NN_ERR_NOMEM ? st : 0;
    }
    int first = -1;
    for (int i = 0; i < arch.nlayers && first < 0; i++)
        if (arch.layers[i].kind == CNN_CONV)
            first = i;
    float *all = NULL;
    int have = first >= 0 && h5_exists(c->f, p, NULL) && h5_dims(c->f, p, &rank, dims) == NN_OK &&
               rank == 1 && dims[0] == arch.nparams && arch.nparams <= FILT_MAX_PARAMS;
    if (first < 0)
        snprintf(why, n, "run %s: no convolution layer", u->name);
    else if (arch.nparams > FILT_MAX_PARAMS)
        snprintf(why, n, "run %s: %zu parameters, more than the report reads (%zu)", u->name,
                 arch.nparams, FILT_MAX_PARAMS);
    else if (!have)
        snprintf(why, n, "run %s: no weights of %zu parameters stored (yet)", u->name,
                 arch.nparams);
    if (have) {
        out->run = u->name;
        out->L = arch.layers[first];
        all = malloc(arch.nparams * sizeof(float));
        out->w = malloc(out->L.nw * sizeof(float));
        st = all && out->w ? NN_OK : nn_fail(NN_ERR_NOMEM, "%s: %zu weights", p, arch.nparams);
        if (!st && h5_read_f32(c->f, p, all, arch.nparams) != NN_OK) {
            snprintf(why, n, "run %s: its weights cannot be read", u->name);
            nn_error_clear();
            have = 0;
        }
    }
    if (have && !st) {
        memcpy(out->w, all + out->L.w_off, out->L.nw * sizeof(float));
        out->m = 0;
        for (size_t i = 0; i < out->L.nw; i++)
            out->m = fmax(out->m, fabs(out->w[i]));
        if (out->m == 0)
            out->m = 1;
    }
    free(all);
    cnn_arch_free(&arch);
    if (st || !have) {
        free(out->w);
        out->w = NULL;
    }
    return st ? st : have;
}

/* A filter's square (pixels across), a panel's rows of filters and its height. */
static int filters_cell(const filters_t *t)
{
    return t->L.k * (t->L.k < FILT_CELL ? FILT_CELL / t->L.k : 1);
}
static int filters_rows(const filters_t *t) { return (t->L.n + FILT_COLS - 1) / FILT_COLS; }
static int filters_panel_h(const filters_t *t)
{
    return FILT_TEXT + filters_rows(t) * (filters_cell(t) + FILT_GAP) - FILT_GAP + FILT_AFTER;
}

/* Byte of value v on the symmetric scale of max |w| = m: (v/m + 1)/2, rounded. */
static unsigned char filter_byte(double v, double m)
{
    double b = floor(255 * ((v / m + 1) / 2) + 0.5);
    return (unsigned char)fmin(255, fmax(0, b));
}

/* One run's panel with its top at y: what the layer is, the colour scale, the filters. Colour
 * when the layer has 3 input channels (R, G, B = channels 0, 1, 2), grey otherwise (the mean
 * over the input channels when there are several; the scale stays that of max |w|). */
static void filters_panel(plot_t *p, const filters_t *t, double y, unsigned char *buf)
{
    const cnn_layer_t *L = &t->L;
    const int k = L->k, ic = L->in_c, rgb = ic == 3, s = filters_cell(t) / k;
    plot_text(p, 20, y, 14, PLOT_LEFT | PLOT_TOP | PLOT_BOLD, PLOT_BLACK, "run %s: layer %d %s, "
              "%d filters of %d x %d", t->run, L->pos, L->text, L->n, k, k);
    if (rgb)
        plot_text(p, 20, y + 20, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "colour, R, G, B = input "
                  "channels 1, 2, 3, each: %+.3g (0) .. 0 (128) .. %+.3g (255)", -t->m, t->m);
    else if (ic == 1)
        plot_text(p, 20, y + 20, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "grey: %+.3g (black) .. 0 "
                  ".. %+.3g (white)", -t->m, t->m);
    else
        plot_text(p, 20, y + 20, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "grey, the mean over the "
                  "%d input channels: %+.3g (black) .. 0 .. %+.3g (white)", ic, -t->m, t->m);
    const int kk = k * k;
    for (int f = 0; f < L->n; f++) {
        const float *w = t->w + (size_t)f * ic * kk;   /* (in_c, k, k) */
        for (int q = 0; q < kk; q++) {
            if (rgb) {
                for (int d = 0; d < 3; d++)
                    buf[d * kk + q] = filter_byte(w[d * kk + q], t->m);
            } else {
                double sum = 0;
                for (int d = 0; d < ic; d++)
                    sum += w[d * kk + q];
                buf[q] = filter_byte(ic == 1 ? w[q] : sum / ic, t->m);
            }
        }
        double x0 = 20 + (f % FILT_COLS) * (k * s + FILT_GAP);
        double y0 = y + FILT_TEXT + (f / FILT_COLS) * (k * s + FILT_GAP);
        plot_image(p, x0, y0, s, rgb ? 3 : 1, k, k, buf);
    }
}

/* filters.png: the first convolution layer of every run with one and with weights stored. */
static int fig_filters(fig_ctx_t *c, const cnn_results_t *r, const char *note)
{
    const char *name = "filters.png";
    int ic, ih, iw;
    if (!r->have_job) {
        fig_skip(c, name, r->job_error);
        return NN_OK;
    }
    dataset_spec_shape(&r->job.data, &ic, &ih, &iw);
    filters_t *t = calloc((size_t)(r->n > 0 ? r->n : 1), sizeof *t);
    if (!t)
        return nn_fail(NN_ERR_NOMEM, "%s", name);
    int n = 0, st = NN_OK, H = 0, W = 900, kmax = 1;
    for (int i = 0; i < r->n && !st; i++) {
        char why[256], skip[160];
        int got = filters_load(c, &r->run[i], ic, ih, iw, &t[n], why, sizeof why);
        if (got < 0) {
            st = got;
        } else if (got == 0) {
            snprintf(skip, sizeof skip, "%s (run %s)", name, r->run[i].name);
            fig_skip(c, skip, why);
        } else {
            int cols = t[n].L.n < FILT_COLS ? t[n].L.n : FILT_COLS;
            W = (int)fmax(W, 40 + cols * (filters_cell(&t[n]) + FILT_GAP) - FILT_GAP);
            kmax = t[n].L.k > kmax ? t[n].L.k : kmax;
            H += filters_panel_h(&t[n++]);
        }
    }
    unsigned char *buf = malloc((size_t)3 * kmax * kmax);
    double top0 = note && note[0] ? 86 : 66;
    plot_t *p = !st && n > 0 && buf ? plot_create(W, (int)(top0 + FILT_TOP + H + 48)) : NULL;
    if (!st && n == 0)
        fig_skip(c, name, "no run with a convolution layer and stored weights");
    else if (!st && !p)
        st = NN_ERR_NOMEM;
    if (p) {
        double y = fig_header(c, p, "The filters of the first convolution layer of each run",
                              note) + FILT_TOP;
        for (int i = 0; i < n; i++) {
            filters_panel(p, &t[i], y, buf);
            y += filters_panel_h(&t[i]);
        }
        plot_text(p, 20, y + 4, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "Each square: one filter "
                  "(output channel) after training, its k x k weights enlarged; a weight v is");
        plot_text(p, 20, y + 22, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "drawn at (v/m + 1)/2 of "
                  "the scale, m = the largest |weight| of the run's first convolution layer.");
        st = fig_save(c, p, name, "the first convolution layer's filters of each run");
    }
    plot_destroy(&p);
    for (int i = 0; i < n; i++)
        free(t[i].w);
    free(t);
    free(buf);
    return st;
}

int figures_cnn(fig_ctx_t *c)
{
    cnn_results_t r;
    int st = cnn_results_load(c->f, &r);
    if (st)
        return st;
    char note[TITLE_NOTE] = "";
    if (c->state[0] && strcmp(c->state, "complete") != 0)
        snprintf(note, sizeof note, "Incomplete file (state %s): %d of %d runs finished; only "
                 "what is stored so far is shown.", c->state, r.ndone, r.n);
    int have_curves = 0;
    for (int i = 0; i < r.n; i++)
        have_curves |= r.run[i].epochs > 0;
    static const curves_fig_t loss = {
        "cnn-loss-curves.png", "cross-entropy loss against epoch, per run (train and test)",
        "Cross-entropy loss against epoch", "mean cross-entropy loss",
        CR_TRAIN_LOSS, CR_TEST_LOSS, 1};
    static const curves_fig_t acc = {
        "cnn-accuracy-curves.png", "accuracy (%) against epoch, per run (train and test)",
        "Classification accuracy against epoch", "accuracy (%)",
        CR_TRAIN_ACC, CR_TEST_ACC, 100};
    if (!have_curves) {
        fig_skip(c, loss.file, "no run has finished an epoch yet");
        fig_skip(c, acc.file, "no run has finished an epoch yet");
    } else {
        st = fig_curves(c, &r, &loss, note);
        if (!st)
            st = fig_curves(c, &r, &acc, note);
    }
    int nconf = 0;
    for (int i = 0; i < r.n && !st; i++)
        if (r.run[i].done && r.run[i].confusion) {
            st = fig_confusion(c, &r.run[i], note);
            nconf++;
        }
    if (!st && nconf == 0)
        fig_skip(c, "cnn-confusion-RUN.png", "no finished run with a confusion matrix yet");
    if (!st)
        st = fig_noise(c, &r, note);
    if (!st)
        st = fig_filters(c, &r, note);
    cnn_results_free(&r);
    return st;
}
