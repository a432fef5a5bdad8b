/* figures_dream.c - the figures of a dream results file: dream_grid.png (the input, then one row
 * per layer set and one column per step count) and each computed dream as a PNG of its own at
 * its native size. Draws what the file holds; pairs not computed yet are grey boxes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"
#include "image.h"
#include "nn_error.h"
#include "report_dream.h"

/* Layout of dream_grid.png (tests/test_report_dream.sh recomputes it). Every image is shown as
 * dh x dw pixels: the input's h x w enlarged s times (nearest neighbour), s = ceil(128 / max(h,
 * w)) when the larger side is under 128, else 1; an input larger than 256 a side is shrunk
 * (bilinear, image_resize) to fit 256 x 256; an image of another size than the input is resized
 * to dh x dw. From fig_header's bottom: GRID_TOP, the input's label, GRID_LABEL lower the input
 * (at x = 20), GRID_AFTER below it the column labels ("N steps"), GRID_HEAD lower the first row;
 * a row: its label (the layer set), GRID_LABEL lower its images, GRID_GAP apart across from
 * x = 20, GRID_ROW below them the next row; GRID_FOOT below the last row the figure ends. */
enum { GRID_TOP = 8, GRID_LABEL = 22, GRID_AFTER = 20, GRID_HEAD = 24, GRID_GAP = 16,
       GRID_ROW = 24, GRID_FOOT = 28, GRID_MIN = 128, GRID_MAX = 256 };

/* Reads the (H,W,C) float32 dataset path into *im. Returns 1 with it, 0 when it is absent, not
 * an image or larger than DREAM_RESULTS_MAX_VALUES (message cleared), or NN_ERR_NOMEM. */
static int read_image(h5file_t *f, const char *path, image_t *im)
{
    int rank;
    size_t dims[H5IO_MAX_RANK];
    memset(im, 0, sizeof *im);
    if (!h5_exists(f, path, NULL) || h5_dims(f, path, &rank, dims) != NN_OK || rank != 3 ||
        dims[0] < 1 || dims[1] < 1 || dims[2] < 1 || dims[0] > 32767 || dims[1] > 32767 ||
        dims[2] > 64 || dims[0] * dims[1] * dims[2] > DREAM_RESULTS_MAX_VALUES) {
        nn_error_clear();
        return 0;
    }
    im->v = malloc(dims[0] * dims[1] * dims[2] * sizeof(float));
    if (!im->v)
        return nn_fail(NN_ERR_NOMEM, "%s: image of %zu x %zu x %zu", path, dims[0], dims[1],
                       dims[2]);
    if (h5_read_f32(f, path, im->v, dims[0] * dims[1] * dims[2]) != NN_OK) {
        nn_error_clear();
        image_free(im);
        return 0;
    }
    im->h = (int)dims[0];
    im->w = (int)dims[1];
    im->c = (int)dims[2];
    return 1;
}

/* The file name of the dream of set name after steps: "dream_<S>_steps<N>.png", S as written
 * ("+" kept: "dream_relu2+relu4_steps50.png"), any character other than letters, digits, "+",
 * "-", "." and "_" replaced by "_". */
static void pair_name(const char *set, int steps, char *buf, size_t n)
{
    char s[200];
    size_t i = 0;
    for (; set[i] && i < sizeof s - 1; i++) {
        char ch = set[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 strchr("+-._", ch);
        s[i] = ok ? ch : '_';
    }
    s[i] = 0;
    snprintf(buf, n, "dream_%s_steps%d.png", s, steps);
}

/* Draws im at (x, y) as dh x dw pixels: enlarged s times when that is its size, else resized.
 * buf holds 3 dh dw bytes. Returns 0 or NN_ERR_NOMEM. */
static int draw_image(plot_t *p, double x, double y, const image_t *im, int s, int dh, int dw,
                      unsigned char *buf)
{
    int nd = im->c == 3 ? 3 : 1;
    if (im->h * s == dh && im->w * s == dw) {
        image_to_chw8(im, buf);
        plot_image(p, x, y, s, nd, im->h, im->w, buf);
        return NN_OK;
    }
    image_t r;
    int st = image_resize(im, dh, dw, &r);
    if (st)
        return st;
    image_to_chw8(&r, buf);
    plot_image(p, x, y, 1, nd, dh, dw, buf);
    image_free(&r);
    return NN_OK;
}

/* One row of the grid with its top at y: the set's label, then per step count its dream (and the
 * objective's growth under it) or a grey box. */
static int grid_row(fig_ctx_t *c, plot_t *p, const dream_results_t *d, int set, double y,
                    int s, int dh, int dw, unsigned char *buf)
{
    plot_text(p, 20, y, 14, PLOT_LEFT | PLOT_TOP | PLOT_BOLD, PLOT_BLACK, "layer set %s",
              d->sets[set]);
    int st = NN_OK;
    for (int k = 0; k < d->nsteps && !st; k++) {
        const dream_pair_t *q = &d->pair[set * d->nsteps + k];
        double x = 20 + k * (dw + GRID_GAP), yi = y + GRID_LABEL;
        char g[512], path[600];
        image_t im;
        snprintf(path, sizeof path, "%s/image", dream_results_group(d, set, k, g, sizeof g));
        int got = q->done ? read_image(c->f, path, &im) : 0;
        if (got < 0)
            return got;
        if (got) {
            st = draw_image(p, x, yi, &im, s, dh, dw, buf);
            image_free(&im);
            if (!isnan(q->first) && !isnan(q->last) && q->first != 0)
                plot_text(p, x, yi + dh + 4, 12, PLOT_LEFT | PLOT_TOP, PLOT_GREY,
                          "objective x%.3g", q->last / q->first);
        } else {
            plot_rect(p, x, yi, dw, dh, &PLOT_LIGHT, NULL, 0);
            plot_text(p, x + dw / 2.0, yi + dh / 2.0, 12, PLOT_CENTER | PLOT_MIDDLE, PLOT_GREY,
                      "not computed");
        }
    }
    return st;
}

/* dream_grid.png. */
static int fig_grid(fig_ctx_t *c, const dream_results_t *d, const image_t *in, const char *note)
{
    const char *name = "dream_grid.png";
    int side = in->h > in->w ? in->h : in->w, s = 1, dh = in->h, dw = in->w;
    if (side < GRID_MIN) {
        s = (GRID_MIN + side - 1) / side;
        dh *= s;
        dw *= s;
    } else if (side > GRID_MAX) {   /* shrunk to fit GRID_MAX, the aspect kept */
        dh = (int)fmax(1, floor((double)in->h * GRID_MAX / side + 0.5));
        dw = (int)fmax(1, floor((double)in->w * GRID_MAX / side + 0.5));
    }
    double top0 = note && note[0] ? 86 : 66;
    int ncols = d->nsteps > 0 ? d->nsteps : 1;
    int W = (int)fmax(900, 40 + ncols * (dw + GRID_GAP) - GRID_GAP);
    double rows_y = top0 + GRID_TOP + GRID_LABEL + dh + GRID_AFTER + GRID_HEAD;
    int H = (int)(rows_y + d->nsets * (GRID_LABEL + dh + GRID_ROW) + GRID_FOOT);
    if (H > 32767 || W > 32767) {   /* cairo's limit */
        fig_skip(c, name, "too many layer sets or step counts for one image");
        return NN_OK;
    }
    unsigned char *buf = malloc((size_t)3 * dh * dw);
    plot_t *p = buf ? plot_create(W, H) : NULL;
    if (!p) {
        free(buf);
        return nn_fail(NN_ERR_NOMEM, "%s", name);
    }
    double y = fig_header(c, p, "DeepDream: each layer set's dream after each number of steps",
                          note) + GRID_TOP;
    plot_text(p, 20, y, 14, PLOT_LEFT | PLOT_TOP | PLOT_BOLD, PLOT_BLACK, "input (source): %s",
              d->image[0] ? d->image : "?");
    int st = draw_image(p, 20, y + GRID_LABEL, in, s, dh, dw, buf);
    y += GRID_LABEL + dh + GRID_AFTER;
    for (int k = 0; k < d->nsteps; k++)
        plot_text(p, 20 + k * (dw + GRID_GAP) + dw / 2.0, y, 14, PLOT_CENTER | PLOT_TOP | PLOT_BOLD,
                  PLOT_BLACK, "%d steps", d->steps[k]);
    y += GRID_HEAD;
    for (int set = 0; set < d->nsets && !st; set++) {
        st = grid_row(c, p, d, set, y, s, dh, dw, buf);
        y += GRID_LABEL + dh + GRID_ROW;
    }
    if (s > 1)
        plot_text(p, 20, y + 4, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "Images of %d x %d pixels "
                  "shown %d times enlarged (nearest neighbour); \"objective xR\": last / first.",
                  in->h, in->w, s);
    else
        plot_text(p, 20, y + 4, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "Images of %d x %d pixels "
                  "shown as %d x %d; \"objective xR\": the objective's last / first value.",
                  in->h, in->w, dh, dw);
    if (!st)
        st = fig_save(c, p, name, "the input and each layer set's dream after each step count");
    plot_destroy(&p);
    free(buf);
    return st;
}

/* dream_<S>_steps<N>.png of every computed pair, at native size (image_write_png). */
static int fig_pairs(fig_ctx_t *c, const dream_results_t *d)
{
    int st = NN_OK;
    for (int set = 0; set < d->nsets && !st; set++)
        for (int k = 0; k < d->nsteps && !st; k++) {
            char g[512], h5path[600], name[256], path[4096], what[300];
            image_t im;
            snprintf(h5path, sizeof h5path, "%s/image",
                     dream_results_group(d, set, k, g, sizeof g));
            int got = d->pair[set * d->nsteps + k].done ? read_image(c->f, h5path, &im) : 0;
            if (got <= 0) {
                st = got;
                continue;
            }
            pair_name(d->sets[set], d->steps[k], name, sizeof name);
            st = image_write_png(fig_path(c, name, path, sizeof path), &im);
            snprintf(what, sizeof what, "the dream of layer set %s after %d steps (%d x %d)",
                     d->sets[set], d->steps[k], im.h, im.w);
            if (!st)
                fig_list(c, name, path, what);
            image_free(&im);
        }
    return st;
}

int figures_dream(fig_ctx_t *c)
{
    dream_results_t d;
    int st = dream_results_load(c->f, &d);
    if (st)
        return st;
    char note[200] = "";
    if (c->state[0] && strcmp(c->state, "complete") != 0)
        snprintf(note, sizeof note, "Incomplete file (state %s): %d of %d dreams computed; only "
                 "those are shown.", c->state, d.ndone, d.nsets * d.nsteps);
    snprintf(c->about, sizeof c->about, "model %s%s%s; learning rate %g, %lld octave(s) of "
             "scale %g, jitter %lld px, seed %lld", d.model[0] ? d.model : "?",
             d.run[0] ? " run " : "", d.run, d.learning_rate, d.octaves, d.octave_scale,
             d.jitter, d.seed);
    image_t in;
    int got = read_image(c->f, "/dream/input", &in);
    if (got < 0)
        st = got;
    else if (got == 0)
        fig_skip(c, "dream_grid.png", "the file holds no input image (/dream/input)");
    else
        st = fig_grid(c, &d, &in, note);
    image_free(&in);
    if (!st)
        st = fig_pairs(c, &d);
    dream_results_free(&d);
    return st;
}
