/* figures_nngp.c - the NNGP figures: test accuracy against depth (one curve per selection rule),
 * accuracy heatmaps over (sigma_w2, sigma_b2) for each depth, the most and least uncertain test
 * images, and the time per phase. The best models are the sweep's own choice, read from
 * /nngp/best/<rule>/sigma_{w2,b2}_index (in an incomplete file: the best among finished items).
 * Does not redraw the tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"
#include "nn_error.h"

#define STATUS_OK 1
#define STATUS_FAILED 2

typedef struct {
    size_t nd, nw, nb, items;        /* depths, sigma_w2 values, sigma_b2 values, nw * nb */
    double *depth, *sw, *sb;
    double *test, *valid, *lml;      /* [nd][nw][nb] */
    int *status;                     /* [nd][nw][nb]: 0 not computed, 1 ok, 2 failed */
    int have_valid;                  /* some validation accuracy is finite */
    long *best[3];                   /* [rule][depth]: item chosen by the sweep, -1 if none */
    size_t done;                     /* finished (sigma_w2, sigma_b2) items */
    double *final_test;              /* [depth]: test accuracy of the final fits (search_train:
                                        the search's best models on every training example), or
                                        NULL when the job has none */
    long long ntrain, ntrain_final;  /* training examples of the grid and of the final fits */
} grid_t;

static void grid_free(grid_t *g)
{
    free(g->depth);
    free(g->sw);
    free(g->sb);
    free(g->test);
    free(g->valid);
    free(g->lml);
    free(g->status);
    free(g->final_test);
    for (int r = 0; r < 3; r++)
        free(g->best[r]);
    memset(g, 0, sizeof *g);
}

static size_t dim0(h5file_t *f, const char *path)
{
    int rank;
    size_t dims[H5IO_MAX_RANK];
    return h5_dims(f, path, &rank, dims) == NN_OK && rank == 1 ? dims[0] : 0;
}

/* The sweep's chosen model per depth and rule (/nngp/best/<rule>/sigma_{w2,b2}_index), as grid
 * items; -1 where the file has none (no validation split, nothing finished). */
static int best_load(h5file_t *f, grid_t *g)
{
    static const char *const rules[3] = {"test_accuracy", "validation_accuracy",
                                         "log_marginal_likelihood"};
    int *iw = malloc(g->nd * sizeof(int)), *ib = malloc(g->nd * sizeof(int));
    int st = iw && ib ? NN_OK : nn_fail(NN_ERR_NOMEM, "best-model tables");
    for (int r = 0; r < 3 && !st; r++) {
        char pw[96], pb[96];
        snprintf(pw, sizeof pw, "/nngp/best/%s/sigma_w2_index", rules[r]);
        snprintf(pb, sizeof pb, "/nngp/best/%s/sigma_b2_index", rules[r]);
        int have = h5_exists(f, pw, NULL) && h5_read_i32(f, pw, iw, g->nd) == NN_OK &&
                   h5_read_i32(f, pb, ib, g->nd) == NN_OK;
        if (!(g->best[r] = malloc(g->nd * sizeof(long)))) {
            st = nn_fail(NN_ERR_NOMEM, "best-model tables");
            break;
        }
        for (size_t d = 0; d < g->nd; d++)   /* an index outside the grid: no model */
            g->best[r][d] = have && iw[d] >= 0 && (size_t)iw[d] < g->nw && ib[d] >= 0 &&
                            (size_t)ib[d] < g->nb ? (long)iw[d] * (long)g->nb + ib[d] : -1;
    }
    free(iw);
    free(ib);
    return st;
}

static int grid_load(h5file_t *f, grid_t *g)
{
    memset(g, 0, sizeof *g);
    g->nd = dim0(f, "/nngp/depth");
    g->nw = dim0(f, "/nngp/sigma_w2");
    g->nb = dim0(f, "/nngp/sigma_b2");
    g->items = g->nw * g->nb;
    size_t n = g->nd * g->items;
    if (n == 0)
        return nn_fail(NN_ERR_INPUT, "NNGP grid scales /nngp/{depth,sigma_w2,sigma_b2} are missing");
    g->depth = malloc(g->nd * sizeof(double));
    g->sw = malloc(g->nw * sizeof(double));
    g->sb = malloc(g->nb * sizeof(double));
    g->test = malloc(n * sizeof(double));
    g->valid = malloc(n * sizeof(double));
    g->lml = malloc(n * sizeof(double));
    g->status = malloc(n * sizeof(int));
    unsigned char *done = malloc(g->items);
    int st = g->depth && g->sw && g->sb && g->test && g->valid && g->lml && g->status && done
                 ? NN_OK : nn_fail(NN_ERR_NOMEM, "NNGP grid of %zu points", n);
    if (!st) st = h5_read_f64(f, "/nngp/depth", g->depth, g->nd);
    if (!st) st = h5_read_f64(f, "/nngp/sigma_w2", g->sw, g->nw);
    if (!st) st = h5_read_f64(f, "/nngp/sigma_b2", g->sb, g->nb);
    if (!st) st = h5_read_f64(f, "/nngp/test_accuracy", g->test, n);
    if (!st) st = h5_read_f64(f, "/nngp/log_marginal_likelihood", g->lml, n);
    if (!st) st = h5_read_i32(f, "/nngp/status", g->status, n);
    if (!st) st = h5_read_u8(f, "/nngp/item_done", done, g->items);
    if (!st && h5_read_f64(f, "/nngp/validation_accuracy", g->valid, n) != NN_OK)
        for (size_t i = 0; i < n; i++)
            g->valid[i] = NAN;
    for (size_t i = 0; !st && i < n; i++)
        g->have_valid |= !isnan(g->valid[i]);
    for (size_t i = 0; !st && i < g->items; i++)
        g->done += done[i] != 0;
    free(done);
    h5_read_attr_int(f, "/nngp", "ntrain", &g->ntrain);
    if (!st && h5_exists(f, "/nngp/final/test_accuracy", NULL)) {
        h5_read_attr_int(f, "/nngp/final", "ntrain", &g->ntrain_final);
        if (!(g->final_test = malloc(g->nd * sizeof(double))))
            st = nn_fail(NN_ERR_NOMEM, "final fits");
        else
            st = h5_read_f64(f, "/nngp/final/test_accuracy", g->final_test, g->nd);
    }
    if (!st)
        st = best_load(f, g);
    if (st)
        grid_free(g);
    return st;
}

/* k indices spread evenly over 0..n-1, first and last included (all of them when n <= k). */
static int spread(int n, int k, int *idx)
{
    if (n <= k) {
        for (int i = 0; i < n; i++)
            idx[i] = i;
        return n;
    }
    for (int i = 0; i < k; i++)
        idx[i] = (int)lround((double)i * (n - 1) / (k - 1));
    return k;
}

/* "1, 3, 5" from the depths at idx[0..n-1]. */
static void depth_list(const grid_t *g, const int *idx, int n, char *buf, size_t len)
{
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t at = strlen(buf);
        snprintf(buf + at, len - at, "%s%g", i ? ", " : "", g->depth[idx[i]]);
    }
}

/* ---- test accuracy against depth ---- */

enum { NCURVES = 4 };

/* The curves of the accuracy-against-depth figure: the selection rules the file has, then the
 * final fits when the job has them. */
typedef struct {
    char best_label[160], final_label[160];
    plot_style_t used[NCURVES];
    int n;              /* curves */
    double *x, *y;      /* [n][nd]: depth, test accuracy (%) or NaN where there is none */
    double lo, hi;      /* range of the finite accuracies; lo infinite when there is none */
} depth_curves_t;

/* A range of accuracies (%) made drawable: 50 to 100 when there are none (lo infinite), and at
 * least one percentage point wide, so that the ticks stay readable. */
static void pct_span(double *lo, double *hi)
{
    if (isinf(*lo))
        *lo = 50, *hi = 100;
    if (*hi - *lo < 1) {
        *lo = fmin((*lo + *hi) / 2 - 0.5, 99);
        *hi = *lo + 1;
    }
}

/* Fills dc with the curves of g; dc->x and dc->y are to be freed. Returns 0 or NN_ERR_NOMEM
 * (message set, nothing allocated). */
static int depth_curves(const grid_t *g, depth_curves_t *dc)
{
    const int nd = (int)g->nd;
    snprintf(dc->best_label, sizeof dc->best_label,
             "best of the %zu x %zu (σ_{w}², σ_{b}²) grid: selected on the test set (optimistic)",
             g->nw, g->nb);
    if (g->final_test)
        snprintf(dc->best_label + strlen(dc->best_label),
                 sizeof dc->best_label - strlen(dc->best_label), ", %lld train", g->ntrain);
    snprintf(dc->final_label, sizeof dc->final_label, "the same models fitted on all %lld "
             "training examples (final fits)", g->ntrain_final);
    /* Widest first, so that curves which coincide stay visible one inside the other. */
    const plot_style_t styles[NCURVES] = {
        {dc->best_label, plot_palette[0], 0, PLOT_MARK_CIRCLE, 5, 14},
        {"model selected by validation accuracy", plot_palette[1], 1, PLOT_MARK_SQUARE, 3, 9},
        {"model selected by log marginal likelihood (training data only)", plot_palette[2], 2,
         PLOT_MARK_DIAMOND, 2, 8},
        {dc->final_label, plot_palette[3], 0, PLOT_MARK_TRIANGLE, 3, 10},
    };
    dc->y = malloc(NCURVES * g->nd * sizeof(double));
    dc->x = malloc(NCURVES * g->nd * sizeof(double));
    if (!dc->x || !dc->y) {
        free(dc->x);
        free(dc->y);
        return nn_fail(NN_ERR_NOMEM, "accuracy figure");
    }
    dc->n = 0;
    dc->lo = INFINITY;
    dc->hi = -INFINITY;
    for (int r = 0; r < NCURVES; r++) {
        if ((r == 1 && !g->have_valid) || (r == 3 && !g->final_test))
            continue;
        for (int d = 0; d < nd; d++) {
            long item = r < 3 ? g->best[r][d] : -1;
            double v = r == 3    ? 100 * g->final_test[d]
                       : item >= 0 ? 100 * g->test[(size_t)d * g->items + (size_t)item]
                                   : NAN;
            dc->x[dc->n * nd + d] = g->depth[d];
            dc->y[dc->n * nd + d] = v;
            if (!isnan(v)) {
                dc->lo = fmin(dc->lo, v);
                dc->hi = fmax(dc->hi, v);
            }
        }
        dc->used[dc->n++] = styles[r];
    }
    return NN_OK;
}

/* Draws the axes (depth across, accuracy in % up) and frame of a W x H figure below top for the
 * curves dc; returns them. */
static plot_axes_t depth_axes(plot_t *p, const grid_t *g, const depth_curves_t *dc, double top,
                              int W, int H)
{
    const int nd = (int)g->nd;
    double dmin = g->depth[0], dmax = g->depth[0];
    for (int d = 1; d < nd; d++) {
        dmin = fmin(dmin, g->depth[d]);
        dmax = fmax(dmax, g->depth[d]);
    }
    double lo = dc->lo, hi = dc->hi;
    pct_span(&lo, &hi);
    fig_value_range(&lo, &hi, 0.04, 1);
    plot_axes_t a = {.x = 90, .y = top + 14, .w = W - 90 - 30, .h = H - top - 14 - 104,
                     .x0 = dmin - 0.5, .x1 = dmax + 0.5, .y0 = lo, .y1 = hi};
    if (nd <= 30)
        plot_axis(p, &a, PLOT_AXIS_X, nd, g->depth, NULL, 1);
    else
        plot_axis_numeric(p, &a, PLOT_AXIS_X, 1);
    plot_axis_numeric(p, &a, PLOT_AXIS_Y, 0);
    plot_frame(p, &a);
    return a;
}

static int fig_accuracy_depth(fig_ctx_t *c, const grid_t *g, const char *note)
{
    const int W = 900, H = 600, nd = (int)g->nd;
    depth_curves_t dc;
    int st = depth_curves(g, &dc);
    if (st)
        return st;
    plot_t *p = plot_create(W, H);
    if (!p) {
        free(dc.x);
        free(dc.y);
        return NN_ERR_NOMEM;
    }
    char title[160];
    snprintf(title, sizeof title, "%s test accuracy against depth, for each way of choosing "
             "(σ_{w}², σ_{b}²)", fig_kernel_name(c));
    double top = fig_header(c, p, title, note);
    plot_axes_t a = depth_axes(p, g, &dc, top, W, H);
    for (int r = 0; r < dc.n; r++)
        plot_series(p, &a, &dc.used[r], nd, dc.x + r * nd, dc.y + r * nd);
    if (!isinf(dc.lo))
        plot_legend_auto(p, &a, dc.n, dc.used, dc.n * nd, dc.x, dc.y);
    else
        plot_text(p, a.x + a.w / 2, a.y + a.h / 2, 16, PLOT_CENTER | PLOT_MIDDLE, PLOT_RED,
                  "no grid point finished yet");
    fig_axis_label_x(p, a.x + a.w / 2, a.y + a.h + 28, "depth L (number of hidden layers)");
    plot_text(p, 20, H - 42, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY,
              "Each point: test accuracy of the model that the curve's rule picks for that depth.%s",
              g->have_valid ? "" : " No validation split in this job.");
    plot_text(p, 20, H - 24, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY,
              "Where curves coincide they are drawn one inside the other.");
    fig_axis_label_y(p, 16, a.y + a.h / 2, "test accuracy (%)");
    st = fig_save(c, p, "nngp-accuracy-depth.png",
                  "test accuracy against depth, one curve per selection rule");
    plot_destroy(&p);
    free(dc.x);
    free(dc.y);
    return st;
}

/* ---- heatmaps over the variance grid ---- */

#define MAX_PANELS 24

/* Sizes in the heatmap figure (px): margins left and right, gaps between panels across and
 * down, a panel's title, space below the panels. */
static const double HM_L = 100, HM_R = 140, HM_G = 22, HM_GV = 14, HM_TITLE = 40, HM_BOTTOM = 84;

typedef struct {
    int idx[MAX_PANELS], n;     /* depths shown, as indices into g->depth */
    int rows, cols, W, H;       /* panels and figure size */
    double S;                   /* side of a panel */
    double lo, hi;              /* colour scale (%), the same in every panel */
    int any_nan, any_failed;    /* a grid point not computed; one whose Cholesky failed */
} heat_layout_t;

/* Tick labels of the panels: the sigma_w2 and sigma_b2 values and their positions, and blanks
 * for the panels that show no labels. */
typedef struct {
    char (*wl)[16], (*bl)[16];
    const char **wlab, **blab, **empty;
    double *wat, *bat;
} heat_ticks_t;

/* The panels of g: which depths, how many rows and columns, the figure's size. */
static void heat_layout(const grid_t *g, const char *note, heat_layout_t *h)
{
    h->n = spread((int)g->nd, MAX_PANELS, h->idx);
    h->rows = (int)lround(sqrt(h->n / 1.8));
    h->rows = h->rows < 1 ? 1 : h->rows;
    h->cols = (h->n + h->rows - 1) / h->rows;
    double S = floor((1200 - HM_L - HM_R - (h->cols - 1) * HM_G) / h->cols);
    h->S = S > 230 ? 230 : S < 120 ? 120 : S;
    int W = (int)(HM_L + h->cols * h->S + (h->cols - 1) * HM_G + HM_R);
    h->W = W < 900 ? 900 : W;
    double top0 = note && note[0] ? 86 : 66;
    h->H = (int)(top0 + 12 + h->rows * (HM_TITLE + h->S) + (h->rows - 1) * HM_GV + HM_BOTTOM);
}

/* One colour scale for every panel: the range of all finite accuracies; and which marks the key
 * needs. */
static void heat_scale(const grid_t *g, heat_layout_t *h)
{
    size_t n_all = g->nd * g->items;
    h->lo = INFINITY;
    h->hi = -INFINITY;
    h->any_nan = h->any_failed = 0;
    for (size_t i = 0; i < n_all; i++) {
        if (!isnan(g->test[i])) {
            h->lo = fmin(h->lo, 100 * g->test[i]);
            h->hi = fmax(h->hi, 100 * g->test[i]);
        }
        h->any_failed |= g->status[i] == STATUS_FAILED;
        h->any_nan |= g->status[i] != STATUS_FAILED && isnan(g->test[i]);
    }
    pct_span(&h->lo, &h->hi);
}

static void heat_ticks_free(heat_ticks_t *t)
{
    free(t->wl);
    free(t->bl);
    free(t->wlab);
    free(t->blab);
    free(t->empty);
    free(t->wat);
    free(t->bat);
}

/* Fills t for the grid g. Returns 0 or NN_ERR_NOMEM; to be freed by heat_ticks_free either way. */
static int heat_ticks(const grid_t *g, heat_ticks_t *t)
{
    size_t most = g->nw > g->nb ? g->nw : g->nb;
    t->wl = malloc(g->nw * sizeof *t->wl);
    t->bl = malloc(g->nb * sizeof *t->bl);
    t->wlab = malloc(g->nw * sizeof *t->wlab);
    t->blab = malloc(g->nb * sizeof *t->blab);
    t->empty = malloc(most * sizeof *t->empty);
    t->wat = malloc(g->nw * sizeof(double));
    t->bat = malloc(g->nb * sizeof(double));
    if (!t->wl || !t->bl || !t->wlab || !t->blab || !t->empty || !t->wat || !t->bat)
        return NN_ERR_NOMEM;
    for (size_t i = 0; i < g->nw; i++) {
        snprintf(t->wl[i], sizeof t->wl[i], "%.3g", g->sw[i]);
        t->wlab[i] = t->wl[i];
        t->wat[i] = (double)i;
    }
    for (size_t i = 0; i < g->nb; i++) {
        snprintf(t->bl[i], sizeof t->bl[i], "%.3g", g->sb[i]);
        t->blab[i] = t->bl[i];
        t->bat[i] = (double)i;
    }
    for (size_t i = 0; i < most; i++)
        t->empty[i] = "";
    return NN_OK;
}

/* The marks in the cells of panel a (depth d, accuracies v in %): a cross where the Cholesky
 * failed, else the accuracy where the cells are large enough to hold it. */
static void heat_cells(plot_t *p, const plot_axes_t *a, const grid_t *g, const heat_layout_t *h,
                       int d, const double *v)
{
    double cw = h->S / g->nw, ch = h->S / g->nb;
    for (size_t iw = 0; iw < g->nw; iw++)
        for (size_t ib = 0; ib < g->nb; ib++) {
            size_t i = iw * g->nb + ib;
            double cx = plot_px(a, (double)iw), cy = plot_py(a, (double)ib);
            plot_rgb_t fg = plot_text_colour_on(plot_heat_colour(v[i], h->lo, h->hi));
            if (g->status[(size_t)d * g->items + i] == STATUS_FAILED) {
                double r = fmin(cw, ch) * 0.3;
                plot_segment(p, cx - r, cy - r, cx + r, cy + r, fg, 1.5, 0);
                plot_segment(p, cx - r, cy + r, cx + r, cy - r, fg, 1.5, 0);
            } else if (!isnan(v[i]) && cw >= 44 && ch >= 22) {
                plot_text(p, cx, cy, 12, PLOT_CENTER | PLOT_MIDDLE, fg, "%.1f", v[i]);
            }
        }
}

/* Outlines the sweep's best grid point of depth d (by test accuracy) in panel a and names it
 * above the panel, or says that none finished. */
static void heat_best(plot_t *p, const plot_axes_t *a, const grid_t *g, int d, const double *v)
{
    long best = g->best[0][d];
    double S = a->w;
    if (best >= 0) {
        double cw = S / g->nw, ch = S / g->nb;
        size_t iw = (size_t)best / g->nb, ib = (size_t)best % g->nb;
        double x0 = plot_px(a, iw - 0.5), y0 = plot_py(a, ib + 0.5);
        plot_rgb_t white = PLOT_WHITE, black = PLOT_BLACK;
        plot_rect(p, x0 + 1.5, y0 + 1.5, cw - 3, ch - 3, NULL, &white, 3);
        plot_rect(p, x0 + 1.5, y0 + 1.5, cw - 3, ch - 3, NULL, &black, 1.2);
        plot_text(p, a->x + S / 2, a->y - 19, 13, PLOT_CENTER | PLOT_TOP, PLOT_BLACK,
                  "best %.1f%% at (%.3g, %.3g)", v[best], g->sw[iw], g->sb[ib]);
    } else {
        plot_text(p, a->x + S / 2, a->y - 19, 12, PLOT_CENTER | PLOT_TOP, PLOT_RED,
                  "no grid point finished");
    }
}

/* Draws panel k (depth h->idx[k], accuracies v in %) in its place below top; returns its right
 * edge. */
static double heat_panel(plot_t *p, const grid_t *g, const heat_layout_t *h,
                         const heat_ticks_t *t, int k, double top, const double *v)
{
    int d = h->idx[k], row = k / h->cols, col = k % h->cols;
    double S = h->S;
    plot_axes_t a = {.x = HM_L + col * (S + HM_G),
                     .y = top + row * (HM_TITLE + S + HM_GV) + HM_TITLE, .w = S, .h = S,
                     .x0 = -0.5, .x1 = g->nw - 0.5, .y0 = -0.5, .y1 = g->nb - 0.5};
    /* value at (iw, ib) is v[iw * nb + ib]: sigma_w2 across, sigma_b2 up */
    plot_heatmap(p, &a, (int)g->nw, (int)g->nb, v, g->nb, 1, h->lo, h->hi);
    heat_cells(p, &a, g, h, d, v);
    int last_in_col = k + h->cols >= h->n;
    plot_axis(p, &a, PLOT_AXIS_X, (int)g->nw, t->wat, last_in_col ? t->wlab : t->empty, 0);
    plot_axis(p, &a, PLOT_AXIS_Y, (int)g->nb, t->bat, col == 0 ? t->blab : t->empty, 0);
    plot_frame(p, &a);
    plot_text(p, a.x + S / 2, a.y - HM_TITLE + 2, 14, PLOT_CENTER | PLOT_TOP | PLOT_BOLD,
              PLOT_BLACK, "depth %g", g->depth[d]);
    heat_best(p, &a, g, d, v);
    return a.x + S;
}

/* Around the panels (which start below top): the colour bar, left edge cbar_x + 28, the axis
 * titles, and a key to the marks on one line at the bottom. */
static void heat_key(plot_t *p, const heat_layout_t *h, double top, double cbar_x)
{
    double ptop = top + HM_TITLE, pbottom = top + h->rows * (HM_TITLE + h->S + HM_GV) - HM_GV;
    plot_colorbar(p, cbar_x + 28, ptop, 20, pbottom - ptop, h->lo, h->hi,
                  "test accuracy (%), same scale in every panel");
    double mid = HM_L + (h->cols * h->S + (h->cols - 1) * HM_G) / 2;
    fig_axis_label_x(p, mid, pbottom + 30, "weight variance σ_{w}² (sigma_w2)");
    fig_axis_label_y(p, 18, (ptop + pbottom) / 2, "bias variance σ_{b}² (sigma_b2)");
    double kx = HM_L, ky = h->H - 22;
    plot_rgb_t white = PLOT_WHITE, black = PLOT_BLACK, grey = PLOT_LIGHT, mid_c = plot_viridis(0.5);
    plot_rect(p, kx, ky - 8, 16, 16, &mid_c, &white, 3);
    plot_rect(p, kx, ky - 8, 16, 16, NULL, &black, 1.2);
    kx += 22 + plot_text(p, kx + 22, ky, 13, PLOT_LEFT | PLOT_MIDDLE, PLOT_BLACK,
                         "outlined: best grid point of the depth, its accuracy at "
                         "(σ_{w}², σ_{b}²) above the panel");
    if (h->any_nan) {
        kx += 24;
        plot_rect(p, kx, ky - 8, 16, 16, &grey, NULL, 0);
        kx += 22 + plot_text(p, kx + 22, ky, 13, PLOT_LEFT | PLOT_MIDDLE, PLOT_BLACK,
                             "not computed");
    }
    if (h->any_failed) {
        kx += 24;
        plot_segment(p, kx + 3, ky - 5, kx + 13, ky + 5, PLOT_BLACK, 1.5, 0);
        plot_segment(p, kx + 3, ky + 5, kx + 13, ky - 5, PLOT_BLACK, 1.5, 0);
        plot_text(p, kx + 22, ky, 13, PLOT_LEFT | PLOT_MIDDLE, PLOT_BLACK,
                  "Cholesky failed even with the largest jitter");
    }
}

static int fig_heatmaps(fig_ctx_t *c, const grid_t *g, const char *note)
{
    heat_layout_t h;
    heat_layout(g, note, &h);
    heat_scale(g, &h);
    size_t n_all = g->nd * g->items;
    double *pct = malloc(n_all * sizeof(double));
    plot_t *p = pct ? plot_create(h.W, h.H) : NULL;
    if (!p) {
        free(pct);
        return NN_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_all; i++)
        pct[i] = 100 * g->test[i];
    char title[200], shown[160] = "";
    if (h.n < (int)g->nd)
        snprintf(shown, sizeof shown, " (%d of %zu depths)", h.n, g->nd);
    snprintf(title, sizeof title, "%s test accuracy over the (σ_{w}², σ_{b}²) grid, one panel "
             "per depth%s", fig_kernel_name(c), shown);
    double top = fig_header(c, p, title, note) + 12;
    heat_ticks_t t;
    int st = heat_ticks(g, &t);
    double cbar_x = 0;
    for (int k = 0; !st && k < h.n; k++)
        cbar_x = fmax(cbar_x, heat_panel(p, g, &h, &t, k, top, pct + (size_t)h.idx[k] * g->items));
    if (!st) {
        heat_key(p, &h, top, cbar_x);
        st = fig_save(c, p, "nngp-accuracy-heatmaps.png",
                      "test accuracy over (sigma_w2, sigma_b2), one panel per depth");
    }
    plot_destroy(&p);
    free(pct);
    heat_ticks_free(&t);
    return st;
}

/* ---- most and least uncertain test images ---- */

#define MAX_EXAMPLE_ROWS 5

typedef struct {
    int *pos, *label, *pred;     /* [nd][2] */
    double *var;                 /* [nd][2] */
    unsigned char *image;        /* [nd][2][C][H][W] */
} examples_t;

static void examples_free(examples_t *e)
{
    free(e->pos);
    free(e->label);
    free(e->pred);
    free(e->var);
    free(e->image);
}

static int examples_load(h5file_t *f, const char *which, size_t nd, size_t img, examples_t *e)
{
    char path[128];
    e->pos = malloc(nd * 2 * sizeof(int));
    e->label = malloc(nd * 2 * sizeof(int));
    e->pred = malloc(nd * 2 * sizeof(int));
    e->var = malloc(nd * 2 * sizeof(double));
    e->image = malloc(nd * 2 * img);
    int st = e->pos && e->label && e->pred && e->var && e->image ? NN_OK : NN_ERR_NOMEM;
#define RD(kind, name, buf, count)                                                  \
    if (!st) {                                                                      \
        snprintf(path, sizeof path, "/nngp/uncertainty/%s/%s", which, name);        \
        st = h5_read_##kind(f, path, buf, count);                                   \
    }
    RD(i32, "test_position", e->pos, nd * 2)
    RD(i32, "label", e->label, nd * 2)
    RD(i32, "predicted", e->pred, nd * 2)
    RD(f64, "variance", e->var, nd * 2)
    RD(u8, "image", e->image, nd * 2 * img)
#undef RD
    return st;
}

#define EXAMPLES_FIG "nngp-uncertain-examples.png"

/* Sizes in the examples figure (px): the depth labels' column, a column of one image, the gap
 * between the two groups, the captions under an image. */
static const double EX_LBL = 95, EX_CW = 188, EX_GAP = 26, EX_CAP = 4 * 17;

typedef struct {
    int C, ih, iw;        /* image channels, height, width */
    size_t img;           /* bytes of one image */
    double scale;         /* figure pixels per image pixel */
    double img_h, row;    /* height of an image, pitch of the rows */
    double x0;            /* left edge of the first column */
    int W;                /* figure width */
} ex_layout_t;

/* The layout for images of dims[2..4] = (C, H, W). */
static ex_layout_t examples_layout(const size_t *dims)
{
    ex_layout_t L = {.C = (int)dims[2], .ih = (int)dims[3], .iw = (int)dims[4]};
    L.img = (size_t)L.C * L.ih * L.iw;
    L.scale = floor(112.0 / (L.ih > L.iw ? L.ih : L.iw));
    L.scale = L.scale < 1 ? 1 : L.scale;
    L.img_h = L.ih * L.scale;
    L.row = L.img_h + 8 + EX_CAP + 16;
    L.W = (int)fmax(900, EX_LBL + 4 * EX_CW + EX_GAP + 20);
    L.x0 = EX_LBL + (L.W - (EX_LBL + 4 * EX_CW + EX_GAP + 20)) / 2;
    return L;
}

/* Loads the examples (ex[0] most, ex[1] least uncertain; to be freed either way) and picks the
 * depths to draw: *rows of them in idx, of the *nhave depths whose posterior is done. Returns 0
 * (*rows 0: nothing to draw, listed as skipped) or NN_ERR_NOMEM. */
static int examples_pick(fig_ctx_t *c, const grid_t *g, size_t img, examples_t ex[2], int *idx,
                         int *rows, int *nhave)
{
    int st = examples_load(c->f, "most_uncertain", g->nd, img, &ex[0]);
    if (!st)
        st = examples_load(c->f, "least_uncertain", g->nd, img, &ex[1]);
    int *have = malloc(g->nd * sizeof(int));
    if (!have)
        st = NN_ERR_NOMEM;
    *nhave = *rows = 0;
    for (size_t d = 0; !st && d < g->nd; d++)   /* depths whose posterior is done */
        if (ex[0].pos[d * 2] >= 0 && ex[1].pos[d * 2] >= 0)
            have[(*nhave)++] = (int)d;
    if (!st && *nhave > 0) {
        *rows = spread(*nhave, MAX_EXAMPLE_ROWS, idx);
        for (int r = 0; r < *rows; r++)
            idx[r] = have[idx[r]];
    } else if (st != NN_ERR_NOMEM) {
        fig_skip(c, EXAMPLES_FIG, st ? "the uncertainty arrays are unreadable"
                                     : "the posterior of the best models is not in the file yet");
    }
    free(have);
    return st == NN_ERR_NOMEM ? st : NN_OK;
}

/* Under the figure's title (at top): which depths are shown, then the headings of the two groups
 * of columns and the line between them. Returns the top of the first row. */
static double examples_heading(plot_t *p, const grid_t *g, const ex_layout_t *L, const int *idx,
                               int rows, int nhave, double top)
{
    char depths[160] = "";
    if (rows < nhave) {
        depth_list(g, idx, rows, depths, sizeof depths);
        plot_text(p, 20, top, 13, PLOT_LEFT | PLOT_TOP, PLOT_BLACK, "Depths %s shown, of %d "
                  "with a posterior (the report's table lists them all).", depths, nhave);
    } else {
        plot_text(p, 20, top, 13, PLOT_LEFT | PLOT_TOP, PLOT_BLACK, "Every depth with a "
                  "posterior is shown.");
    }
    top += 34;
    const char *group[2] = {"most uncertain: highest predictive variance",
                            "least uncertain: lowest predictive variance"};
    for (int w = 0; w < 2; w++) {
        double gx = L->x0 + w * (2 * EX_CW + EX_GAP);
        plot_text(p, gx + EX_CW, top, 15, PLOT_CENTER | PLOT_TOP | PLOT_BOLD, PLOT_BLACK, "%s",
                  group[w]);
        plot_segment(p, gx + 10, top + 24, gx + 2 * EX_CW - 10, top + 24, PLOT_GREY, 1, 0);
    }
    double xs = L->x0 + 2 * EX_CW + EX_GAP / 2;
    plot_segment(p, xs, top, xs, top + 44 + rows * L->row - 10, PLOT_LIGHT, 1, 0);
    return top + 44;
}

/* Example o of e: its image centred at cx with its top at ry (a red frame when misclassified),
 * and under it the true and predicted class, the variance and the test position. */
static void example_cell(plot_t *p, const fig_ctx_t *c, const ex_layout_t *L,
                         const examples_t *e, size_t o, double cx, double ry)
{
    double ix = cx - L->iw * L->scale / 2;
    int wrong = e->label[o] != e->pred[o];
    plot_rgb_t frame = wrong ? PLOT_RED : PLOT_GREY;
    plot_rect(p, ix - 3, ry - 3, L->iw * L->scale + 6, L->img_h + 6, NULL, &frame, wrong ? 3 : 1);
    plot_image(p, ix, ry, L->scale, L->C, L->ih, L->iw, e->image + o * L->img);
    char a[48], b[48];
    double ty = ry + L->img_h + 8;
    plot_text(p, cx, ty, 13, PLOT_CENTER | PLOT_TOP, PLOT_BLACK, "true class: %s",
              fig_class_name(c, e->label[o], a, sizeof a));
    plot_text(p, cx, ty + 17, 13, PLOT_CENTER | PLOT_TOP | (wrong ? PLOT_BOLD : 0),
              wrong ? PLOT_RED : PLOT_BLACK, "predicted: %s%s",
              fig_class_name(c, e->pred[o], b, sizeof b), wrong ? " (wrong)" : "");
    plot_text(p, cx, ty + 34, 13, PLOT_CENTER | PLOT_TOP, PLOT_BLACK, "variance: %.3g", e->var[o]);
    plot_text(p, cx, ty + 51, 12, PLOT_CENTER | PLOT_TOP, PLOT_GREY, "test example %d", e->pos[o]);
}

/* Draws the figure into p (H px high): a row per depth in idx, its two most and two least
 * uncertain images, and a footnote; then saves it. Returns fig_save's status. */
static int examples_draw(fig_ctx_t *c, plot_t *p, int H, const grid_t *g, const ex_layout_t *L,
                         const examples_t ex[2], const int *idx, int rows, int nhave,
                         const char *note)
{
    double top = fig_header(c, p, "Most and least uncertain test images of the best model of "
                                  "each depth", note);
    top = examples_heading(p, g, L, idx, rows, nhave, top);
    for (int r = 0; r < rows; r++) {
        size_t d = (size_t)idx[r];
        double ry = top + r * L->row;
        plot_text(p, 20, ry + L->img_h / 2, 15, PLOT_LEFT | PLOT_MIDDLE | PLOT_BOLD, PLOT_BLACK,
                  "depth %g", g->depth[d]);
        for (int w = 0; w < 2; w++)
            for (int j = 0; j < 2; j++) {
                size_t o = d * 2 + (size_t)j;
                if (ex[w].pos[o] >= 0)
                    example_cell(p, c, L, &ex[w], o,
                                 L->x0 + w * (2 * EX_CW + EX_GAP) + j * EX_CW + EX_CW / 2, ry);
            }
    }
    static const char *const foot[3] = {
        "Best model: highest test accuracy of the depth. Variance: its GP posterior predictive "
        "variance at the image,",
        "on the scale of that model's prior kernel: compare within a row, not across depths. "
        "Red frame: misclassified.",
        "Test example: position in the test set of the results file (/data/test_index holds "
        "its index in the data file).",
    };
    for (int i = 0; i < 3; i++)
        plot_text(p, 20, H - 58 + 18 * i, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "%s", foot[i]);
    return fig_save(c, p, EXAMPLES_FIG, "two most and two least uncertain test images per depth");
}

static int fig_examples(fig_ctx_t *c, const grid_t *g, const char *note)
{
    int rank;
    size_t dims[H5IO_MAX_RANK];
    if (!h5_exists(c->f, "/nngp/uncertainty/most_uncertain/image", NULL) ||
        h5_dims(c->f, "/nngp/uncertainty/most_uncertain/image", &rank, dims) != NN_OK ||
        rank != 5 || dims[0] != g->nd || dims[1] != 2 || (dims[2] != 1 && dims[2] != 3)) {
        fig_skip(c, EXAMPLES_FIG, "the posterior of the best models is not in the file yet");
        return NN_OK;
    }
    ex_layout_t L = examples_layout(dims);
    examples_t ex[2] = {{0}, {0}};
    int idx[MAX_EXAMPLE_ROWS], rows, nhave;
    int st = examples_pick(c, g, L.img, ex, idx, &rows, &nhave);
    if (!st && rows > 0) {
        double top0 = note && note[0] ? 86 : 66;
        const int H = (int)(top0 + 34 + 44 + rows * L.row + 64);
        plot_t *p = plot_create(L.W, H);
        st = p ? examples_draw(c, p, H, g, &L, ex, idx, rows, nhave, note) : NN_ERR_NOMEM;
        plot_destroy(&p);
    }
    examples_free(&ex[0]);
    examples_free(&ex[1]);
    return st;
}

/* ---- time per phase ---- */

static int fig_timing(fig_ctx_t *c, const char *note)
{
    const char *name = "nngp-time-per-phase.png";
    size_t n = h5_exists(c->f, "/nngp/timing/phase_seconds", NULL)
                   ? dim0(c->f, "/nngp/timing/phase_seconds") : 0;
    if (n == 0 || n > 16) {
        fig_skip(c, name, "no timing in the file");
        return NN_OK;
    }
    double sec[16], total = 0, wall = NAN;
    long long ranks = 0;
    if (h5_read_f64(c->f, "/nngp/timing/phase_seconds", sec, n) != NN_OK) {
        fig_skip(c, name, "the timing is unreadable");
        return NN_OK;
    }
    char **names = NULL;
    int nn = 0;
    if (h5_read_strings(c->f, "/nngp/timing/phase_names", &names, &nn) != NN_OK)
        nn = 0;
    static const char *const defaults[] = {"gram", "recursion", "factorization", "solve", "variance"};
    h5_read_attr_double(c->f, "/", "wall_seconds", &wall);
    h5_read_attr_int(c->f, "/", "mpi_size", &ranks);
    for (size_t i = 0; i < n; i++)
        total += sec[i];

    const int W = 900, BAR = 34, PITCH = 50;
    double top0 = note && note[0] ? 86 : 66;
    const int H = (int)(top0 + 20 + n * PITCH + 132);
    plot_t *p = plot_create(W, H);
    if (!p) {
        h5_free_names(names, nn);
        return NN_ERR_NOMEM;
    }
    char title[96];
    snprintf(title, sizeof title, "Where the time goes: seconds per phase of the %s sweep",
             fig_kernel_name(c));
    double top = fig_header(c, p, title, note);
    const char *label[16];
    double widest = 0;
    for (size_t i = 0; i < n; i++) {
        label[i] = (int)i < nn ? names[i] : i < 5 ? defaults[i] : "?";
        widest = fmax(widest, plot_text_width(p, 14, 0, label[i]));
    }
    double hi = 0;
    for (size_t i = 0; i < n; i++)
        hi = fmax(hi, sec[i]);
    double lo = 0, span = hi > 0 ? hi * 1.3 : 1;   /* room for the value labels */
    plot_nice_range(&lo, &span, 6);
    plot_axes_t a = {.x = 30 + widest, .y = top + 20, .w = W - 30 - widest - 40,
                     .h = (double)n * PITCH, .x0 = 0, .x1 = span, .y0 = 0, .y1 = (double)n};
    plot_axis_numeric(p, &a, PLOT_AXIS_X, 0);
    for (size_t i = 0; i < n; i++) {
        double yc = a.y + (i + 0.5) * PITCH, xe = plot_px(&a, sec[i]);
        plot_rect(p, a.x, yc - BAR / 2.0, xe - a.x, BAR, &plot_palette[0], NULL, 0);
        plot_text(p, a.x - 8, yc, 14, PLOT_RIGHT | PLOT_MIDDLE, PLOT_BLACK, "%s", label[i]);
        plot_text(p, xe + 6, yc, 13, PLOT_LEFT | PLOT_MIDDLE, PLOT_BLACK, "%.3g s (%.1f%%)", sec[i],
                  total > 0 ? 100 * sec[i] / total : 0.0);
    }
    plot_frame(p, &a);
    fig_axis_label_x(p, a.x + a.w / 2, a.y + a.h + 28, "seconds, summed over all MPI ranks");
    double fy = a.y + a.h + 60;
    char wall_text[96] = "";
    if (!isnan(wall))
        snprintf(wall_text, sizeof wall_text, "; wall-clock time %.3g s on %lld MPI rank%s", wall,
                 ranks, ranks == 1 ? "" : "s");
    plot_text(p, 20, fy, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "total %.3g s%s", total, wall_text);
    plot_text(p, 20, fy + 19, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY,
              "gram: input Gram matrix (once per rank); recursion: kernel recursion over depth; "
              "factorization: Cholesky;");
    plot_text(p, 20, fy + 38, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY,
              "solve: posterior mean and accuracy; variance: posterior variance of the best model "
              "of each depth.");
    int st = fig_save(c, p, name, "seconds per phase (bar chart)");
    plot_destroy(&p);
    h5_free_names(names, nn);
    return st;
}

int figures_nngp(fig_ctx_t *c)
{
    grid_t g;
    int st = grid_load(c->f, &g);
    if (st)
        return st;
    char note[200] = "";
    if (c->state[0] && strcmp(c->state, "complete") != 0)
        snprintf(note, sizeof note, "Incomplete file (state %s): %zu of %zu (σ_{w}², σ_{b}²) grid "
                 "points finished; only those are shown.", c->state, g.done, g.items);
    st = fig_accuracy_depth(c, &g, note);
    if (!st) st = fig_heatmaps(c, &g, note);
    if (!st) st = fig_examples(c, &g, note);
    if (!st) st = fig_timing(c, note);
    grid_free(&g);
    return st;
}
