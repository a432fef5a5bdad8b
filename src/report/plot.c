/* plot.c - the report's plotting layer over cairo (image surface, toy text API with the
 * "sans-serif" face, PNG writer). Draws what it is told; layout decisions belong to the figures.
 * Not a general plotting library: no log axes, no clipping of data outside the axes. */
#include "plot.h"

#include <cairo.h>
#ifdef __SANITIZE_ADDRESS__
#include <dlfcn.h>
#endif
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "nn_log.h"

struct plot {
    cairo_surface_t *surface;
    cairo_t *cr;
    int width, height;
};

const plot_rgb_t plot_palette[6] = {
    PLOT_RGB(0x0072b2), PLOT_RGB(0xe69f00), PLOT_RGB(0x009e73),
    PLOT_RGB(0xd55e00), PLOT_RGB(0x56b4e9), PLOT_RGB(0xcc79a7),
};

static void set_colour(cairo_t *cr, plot_rgb_t c)
{
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

plot_t *plot_create(int width, int height)
{
    plot_t *p = calloc(1, sizeof *p);
    if (!p) {
        nn_fail(NN_ERR_NOMEM, "figure of %d x %d pixels", width, height);
        return NULL;
    }
    p->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    p->cr = cairo_create(p->surface);
    if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS) {
        nn_fail(NN_ERR_RUNTIME, "cairo: figure of %d x %d pixels: %s", width, height,
                cairo_status_to_string(cairo_status(p->cr)));
        plot_destroy(&p);
        return NULL;
    }
    p->width = width;
    p->height = height;
    set_colour(p->cr, PLOT_WHITE);
    cairo_paint(p->cr);
    /* Without any font cairo draws nothing: say once what to install. */
    static int font_checked;
    if (!font_checked) {
        cairo_text_extents_t e;
        set_font(p->cr, 12, 0);
        cairo_text_extents(p->cr, "M", &e);
        if (e.x_advance <= 0)
            log_warn("no font found for the figures' text: install fonts-dejavu-core");
        font_checked = 1;
    }
    return p;
}

int plot_save(plot_t *p, const char *path)
{
    cairo_status_t st = cairo_status(p->cr);
    if (st != CAIRO_STATUS_SUCCESS)   /* a drawing step failed: cairo drew nothing after it */
        return nn_fail(NN_ERR_RUNTIME, "%s: the figure could not be drawn: cairo: %s", path,
                       cairo_status_to_string(st));
    cairo_surface_flush(p->surface);
    st = cairo_surface_write_to_png(p->surface, path);
    if (st != CAIRO_STATUS_SUCCESS)
        return nn_fail(NN_ERR_RUNTIME, "%s: cannot write the PNG file: %s", path,
                       cairo_status_to_string(st));
    return NN_OK;
}

void plot_destroy(plot_t **pp)
{
    if (!pp || !*pp)
        return;
    plot_t *p = *pp;
    if (p->cr)
        cairo_destroy(p->cr);
    if (p->surface)
        cairo_surface_destroy(p->surface);
    free(p);
    *pp = NULL;
}

void plot_release_caches(void)
{
    cairo_debug_reset_static_data();
#ifdef __SANITIZE_ADDRESS__
    /* Sanitizer builds only: fontconfig (loaded by cairo, not linked by us) keeps its parsed
     * configuration until FcFini, which LeakSanitizer would report at exit. */
    void *fc = dlopen("libfontconfig.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (fc) {
        void (*fc_fini)(void);
        *(void **)&fc_fini = dlsym(fc, "FcFini");
        if (fc_fini)
            fc_fini();
        dlclose(fc);
    }
#endif
}

int plot_width(const plot_t *p)
{
    return p->width;
}

/* ---- text ---- */

/* A run of text at one level: 0 normal, -1 subscript, +1 superscript. */
typedef struct {
    char s[160];
    int level;
} run_t;

#define MAX_RUNS 16

/* The length of the valid UTF-8 character at s (1-4 bytes), or 0 when s starts none: a stray
 * continuation byte, an overlong form, a surrogate, a code point past U+10FFFF or a character
 * cut short. */
static int utf8_char_length(const unsigned char *s)
{
    unsigned char b = s[0];
    if (b < 0x80)
        return 1;
    int n = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    /* the second byte's range excludes overlong forms, surrogates and code points > U+10FFFF */
    unsigned char lo = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = b == 0xed ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
    if (n == 0 || s[1] < lo || s[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* Replaces each byte of s that starts no valid UTF-8 character by '?'. Text comes from results
 * files (paths, job and class names) in any encoding, and cairo refuses invalid UTF-8 by
 * putting the whole figure in an error state: nothing after it would be drawn. */
static void utf8_repair(char *s)
{
    while (*s) {
        int n = utf8_char_length((const unsigned char *)s);
        if (n == 0)
            *s++ = '?';
        else
            s += n;
    }
}

/* Splits "a_{b}c^{d}" into runs a, b (sub), c, d (sup), each valid UTF-8 (utf8_repair: also
 * where a run's length limit cut a character). Returns the number of runs. */
static int split_runs(const char *text, run_t *runs)
{
    int n = 0;
    size_t len = 0;
    runs[0].level = 0;
    runs[0].s[0] = 0;
    for (const char *c = text; *c && n < MAX_RUNS; c++) {
        const char *close = (*c == '_' || *c == '^') && c[1] == '{' ? strchr(c + 2, '}') : NULL;
        if (close) {
            if (len > 0 && ++n == MAX_RUNS)
                break;
            size_t k = (size_t)(close - c - 2);
            if (k >= sizeof runs[n].s)
                k = sizeof runs[n].s - 1;
            memcpy(runs[n].s, c + 2, k);
            runs[n].s[k] = 0;
            runs[n].level = *c == '_' ? -1 : 1;
            if (++n == MAX_RUNS)
                break;
            runs[n].level = 0;
            runs[n].s[0] = 0;
            len = 0;
            c = close;
        } else if (len + 1 < sizeof runs[n].s) {
            runs[n].s[len++] = *c;
            runs[n].s[len] = 0;
        }
    }
    if (n < MAX_RUNS && len > 0)
        n++;
    for (int i = 0; i < n; i++)
        utf8_repair(runs[i].s);
    return n;
}

static double run_size(double size, int level)
{
    return level ? 0.72 * size : size;
}

static double runs_width(cairo_t *cr, const run_t *runs, int n, double size, int bold)
{
    double w = 0;
    for (int i = 0; i < n; i++) {
        cairo_text_extents_t e;
        set_font(cr, run_size(size, runs[i].level), bold);
        cairo_text_extents(cr, runs[i].s, &e);
        w += e.x_advance;
    }
    return w;
}

double plot_text_width(plot_t *p, double size, int flags, const char *text)
{
    run_t runs[MAX_RUNS];
    int n = split_runs(text, runs);
    return runs_width(p->cr, runs, n, size, flags & PLOT_BOLD);
}

double plot_text(plot_t *p, double x, double y, double size, int flags, plot_rgb_t colour,
                 const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    run_t runs[MAX_RUNS];
    int n = split_runs(text, runs), bold = flags & PLOT_BOLD;
    cairo_t *cr = p->cr;
    double w = runs_width(cr, runs, n, size, bold);
    /* Anchor offsets for a sans-serif face: capitals are about 0.73 em tall, descenders 0.24 em. */
    double dx = (flags & 3) == PLOT_CENTER ? -w / 2 : (flags & 3) == PLOT_RIGHT ? -w : 0;
    double dy = (flags & 12) == PLOT_TOP ? 0.75 * size
              : (flags & 12) == PLOT_MIDDLE ? 0.37 * size
              : (flags & 12) == PLOT_BOTTOM ? -0.24 * size : 0;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (flags & PLOT_UP)
        cairo_rotate(cr, -M_PI / 2);
    set_colour(cr, colour);
    double at = dx;
    for (int i = 0; i < n; i++) {
        cairo_text_extents_t e;
        set_font(cr, run_size(size, runs[i].level), bold);
        cairo_text_extents(cr, runs[i].s, &e);
        double shift = runs[i].level < 0 ? 0.22 * size : runs[i].level > 0 ? -0.38 * size : 0;
        cairo_move_to(cr, at, dy + shift);
        cairo_show_text(cr, runs[i].s);
        at += e.x_advance;
    }
    cairo_restore(cr);
    return w;
}

/* ---- primitives ---- */

void plot_rect(plot_t *p, double x, double y, double w, double h, const plot_rgb_t *fill,
               const plot_rgb_t *stroke, double lw)
{
    cairo_t *cr = p->cr;
    cairo_rectangle(cr, x, y, w, h);
    if (fill) {
        set_colour(cr, *fill);
        if (stroke)
            cairo_fill_preserve(cr);
        else
            cairo_fill(cr);
    }
    if (stroke) {
        set_colour(cr, *stroke);
        cairo_set_line_width(cr, lw);
        cairo_stroke(cr);
    }
    cairo_new_path(cr);
}

static void set_dash(cairo_t *cr, int dash, double lw)
{
    static const double dashed[] = {7, 4}, dashdot[] = {8, 3, 2, 3}, dotted[] = {1.5, 3};
    double d[4];
    const double *pat = dash == 1 ? dashed : dash == 2 ? dashdot : dotted;
    int n = dash == 1 ? 2 : dash == 2 ? 4 : 2;
    for (int i = 0; i < n; i++)
        d[i] = pat[i] * (lw > 1 ? lw / 1.5 : 1);
    cairo_set_dash(cr, d, dash ? n : 0, 0);
}

void plot_segment(plot_t *p, double x0, double y0, double x1, double y1, plot_rgb_t colour,
                  double lw, int dash)
{
    cairo_t *cr = p->cr;
    set_colour(cr, colour);
    cairo_set_line_width(cr, lw);
    set_dash(cr, dash, lw);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
}

void plot_marker(plot_t *p, double x, double y, int marker, double size, plot_rgb_t colour)
{
    cairo_t *cr = p->cr;
    double r = size / 2;
    switch (marker) {
    case PLOT_MARK_CIRCLE:
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
        break;
    case PLOT_MARK_SQUARE:
        cairo_rectangle(cr, x - 0.9 * r, y - 0.9 * r, 1.8 * r, 1.8 * r);
        break;
    case PLOT_MARK_TRIANGLE:
        cairo_move_to(cr, x, y - 1.15 * r);
        cairo_line_to(cr, x + 1.05 * r, y + 0.75 * r);
        cairo_line_to(cr, x - 1.05 * r, y + 0.75 * r);
        cairo_close_path(cr);
        break;
    case PLOT_MARK_DIAMOND:
        cairo_move_to(cr, x, y - 1.2 * r);
        cairo_line_to(cr, x + r, y);
        cairo_line_to(cr, x, y + 1.2 * r);
        cairo_line_to(cr, x - r, y);
        cairo_close_path(cr);
        break;
    default:
        return;
    }
    set_colour(cr, colour);
    cairo_fill_preserve(cr);
    set_colour(cr, PLOT_WHITE);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
}

void plot_image(plot_t *p, double x, double y, double scale, int channels, int h, int w,
                const unsigned char *chw)
{
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return;
    }
    cairo_surface_flush(img);
    unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    size_t plane = (size_t)h * w;
    for (int i = 0; i < h; i++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)i * stride);
        for (int j = 0; j < w; j++) {
            size_t o = (size_t)i * w + j;
            uint32_t r = chw[o], g = r, b = r;
            if (channels >= 3) {
                g = chw[plane + o];
                b = chw[2 * plane + o];
            }
            row[j] = r << 16 | g << 8 | b;   /* RGB24: native-endian 0x00RRGGBB */
        }
    }
    cairo_surface_mark_dirty(img);
    cairo_t *cr = p->cr;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, scale, scale);
    /* our own pattern, not cairo_get_source's: on a context in an error state that one is a
     * new pattern nobody frees (cairo 1.16) */
    cairo_pattern_t *pattern = cairo_pattern_create_for_surface(img);
    cairo_pattern_set_filter(pattern, CAIRO_FILTER_NEAREST);
    cairo_set_source(cr, pattern);
    cairo_pattern_destroy(pattern);
    cairo_rectangle(cr, 0, 0, w, h);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
}

/* ---- axes ---- */

double plot_px(const plot_axes_t *a, double x)
{
    return a->x + (x - a->x0) / (a->x1 - a->x0) * a->w;
}

double plot_py(const plot_axes_t *a, double y)
{
    return a->y + a->h - (y - a->y0) / (a->y1 - a->y0) * a->h;
}

static double nice_step(double lo, double hi, int target)
{
    double raw = (hi - lo) / (target > 0 ? target : 1);
    if (!(raw > 0))
        return 1;
    double mag = pow(10, floor(log10(raw))), norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

int plot_ticks(double lo, double hi, int target, double *ticks, int max, double *step)
{
    double s = nice_step(lo, hi, target);
    int n = 0;
    for (double t = ceil(lo / s - 1e-9) * s; t <= hi + 1e-9 * s && n < max; t += s)
        ticks[n++] = fabs(t) < 1e-12 * s ? 0 : t;
    if (step)
        *step = s;
    return n;
}

void plot_nice_range(double *lo, double *hi, int target)
{
    if (!(*hi > *lo)) {
        double d = *lo != 0 ? 0.05 * fabs(*lo) : 1;
        *lo -= d;
        *hi += d;
    }
    double s = nice_step(*lo, *hi, target);
    *lo = floor(*lo / s + 1e-9) * s;
    *hi = ceil(*hi / s - 1e-9) * s;
}

int plot_decimals(double step)
{
    int d = (int)-floor(log10(step) + 1e-9);
    return d > 0 ? d : 0;
}

#define TICK_FONT 13.0
#define TICK_LEN 5.0

void plot_axis(plot_t *p, const plot_axes_t *a, int axis, int n, const double *at,
               const char *const *labels, int grid)
{
    char buf[48];
    double widest = 0;
    for (int i = 0; i < n; i++) {
        const char *s = labels ? labels[i] : (snprintf(buf, sizeof buf, "%g", at[i]), buf);
        double w = plot_text_width(p, TICK_FONT, 0, s);
        widest = w > widest ? w : widest;
    }
    /* Keep every k-th label so that neighbours never touch. */
    double room = n > 1 ? (axis == PLOT_AXIS_X ? fabs(plot_px(a, at[1]) - plot_px(a, at[0]))
                                               : fabs(plot_py(a, at[1]) - plot_py(a, at[0])))
                        : 1e9;
    double need = axis == PLOT_AXIS_X ? widest + 8 : TICK_FONT + 3;
    int k = room > 0 ? (int)ceil(need / room) : 1;
    if (k < 1)
        k = 1;
    for (int i = 0; i < n; i++) {
        const char *s = labels ? labels[i] : (snprintf(buf, sizeof buf, "%g", at[i]), buf);
        if (axis == PLOT_AXIS_X) {
            double x = plot_px(a, at[i]), yb = a->y + a->h;
            if (grid)
                plot_segment(p, x, a->y, x, yb, PLOT_RGB(0xe4e4e4), 1, 0);
            plot_segment(p, x, yb, x, yb + TICK_LEN, PLOT_BLACK, 1, 0);
            if (i % k == 0)
                plot_text(p, x, yb + TICK_LEN + 3, TICK_FONT, PLOT_CENTER | PLOT_TOP, PLOT_BLACK,
                          "%s", s);
        } else {
            double y = plot_py(a, at[i]);
            if (grid)
                plot_segment(p, a->x, y, a->x + a->w, y, PLOT_RGB(0xe4e4e4), 1, 0);
            plot_segment(p, a->x - TICK_LEN, y, a->x, y, PLOT_BLACK, 1, 0);
            if (i % k == 0)
                plot_text(p, a->x - TICK_LEN - 3, y, TICK_FONT, PLOT_RIGHT | PLOT_MIDDLE,
                          PLOT_BLACK, "%s", s);
        }
    }
}

void plot_axis_numeric(plot_t *p, const plot_axes_t *a, int axis, int integer)
{
    double lo = axis == PLOT_AXIS_X ? a->x0 : a->y0, hi = axis == PLOT_AXIS_X ? a->x1 : a->y1;
    double len = axis == PLOT_AXIS_X ? a->w : a->h, step;
    double at[64], keep[64];
    int n = plot_ticks(lo, hi, (int)(len / (axis == PLOT_AXIS_X ? 90 : 55)) + 2, at, 64, &step);
    char text[64][24];
    const char *labels[64];
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (integer && fabs(at[i] - round(at[i])) > 1e-9)
            continue;
        keep[m] = at[i];
        snprintf(text[m], sizeof text[m], "%.*f", integer ? 0 : plot_decimals(step), at[i]);
        labels[m] = text[m];
        m++;
    }
    plot_axis(p, a, axis, m, keep, labels, 1);
}

void plot_frame(plot_t *p, const plot_axes_t *a)
{
    plot_rgb_t k = PLOT_BLACK;
    plot_rect(p, a->x, a->y, a->w, a->h, NULL, &k, 1);
}

/* ---- series and legends ---- */

#define LEGEND_FONT 13.0
#define LEGEND_ROW 21.0
#define LEGEND_SAMPLE 34.0

void plot_series(plot_t *p, const plot_axes_t *a, const plot_style_t *s, int n, const double *x,
                 const double *y)
{
    cairo_t *cr = p->cr;
    double lw = s->lw > 0 ? s->lw : 2.2, ms = s->msize > 0 ? s->msize : 9;
    set_colour(cr, s->colour);
    cairo_set_line_width(cr, lw);
    set_dash(cr, s->dash, lw);
    int pen = 0;
    for (int i = 0; i < n && s->dash != PLOT_NO_LINE; i++) {
        if (isnan(x[i]) || isnan(y[i])) {
            pen = 0;
            continue;
        }
        if (pen)
            cairo_line_to(cr, plot_px(a, x[i]), plot_py(a, y[i]));
        else
            cairo_move_to(cr, plot_px(a, x[i]), plot_py(a, y[i]));
        pen = 1;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    for (int i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i]))
            plot_marker(p, plot_px(a, x[i]), plot_py(a, y[i]), s->marker, ms, s->colour);
}

void plot_legend_size(plot_t *p, int n, const plot_style_t *s, double *w, double *h)
{
    double widest = 0;
    for (int i = 0; i < n; i++) {
        double t = plot_text_width(p, LEGEND_FONT, 0, s[i].label);
        widest = t > widest ? t : widest;
    }
    *w = 10 + LEGEND_SAMPLE + 8 + widest + 10;
    *h = 8 + n * LEGEND_ROW + 4;
}

void plot_legend(plot_t *p, double x, double y, int n, const plot_style_t *s)
{
    double w, h;
    plot_legend_size(p, n, s, &w, &h);
    plot_rgb_t fill = PLOT_WHITE, edge = PLOT_RGB(0xa0a0a0);
    plot_rect(p, x, y, w, h, &fill, &edge, 1);
    for (int i = 0; i < n; i++) {
        double yc = y + 8 + (i + 0.5) * LEGEND_ROW;
        if (s[i].dash != PLOT_NO_LINE)
            plot_segment(p, x + 10, yc, x + 10 + LEGEND_SAMPLE, yc, s[i].colour,
                         s[i].lw > 0 ? s[i].lw : 2.2, s[i].dash);
        plot_marker(p, x + 10 + LEGEND_SAMPLE / 2, yc, s[i].marker,
                    s[i].msize > 0 ? s[i].msize : 9, s[i].colour);
        plot_text(p, x + 10 + LEGEND_SAMPLE + 8, yc, LEGEND_FONT, PLOT_LEFT | PLOT_MIDDLE,
                  PLOT_BLACK, "%s", s[i].label);
    }
}

void plot_legend_auto(plot_t *p, const plot_axes_t *a, int n, const plot_style_t *s, int npts,
                      const double *px, const double *py)
{
    double w, h, pad = 10;
    plot_legend_size(p, n, s, &w, &h);
    /* Corners in order of preference: lower right, upper right, lower left, upper left. */
    double cx[4] = {a->x + a->w - w - pad, a->x + a->w - w - pad, a->x + pad, a->x + pad};
    double cy[4] = {a->y + a->h - h - pad, a->y + pad, a->y + a->h - h - pad, a->y + pad};
    int best = 0, best_count = npts + 1;
    for (int c = 0; c < 4; c++) {
        int count = 0;
        for (int i = 0; i < npts; i++) {
            if (isnan(px[i]) || isnan(py[i]))
                continue;
            double x = plot_px(a, px[i]), y = plot_py(a, py[i]);
            count += x > cx[c] - 8 && x < cx[c] + w + 8 && y > cy[c] - 8 && y < cy[c] + h + 8;
        }
        if (count < best_count) {
            best = c;
            best_count = count;
        }
    }
    plot_legend(p, cx[best], cy[best], n, s);
}

/* ---- colour ---- */

plot_rgb_t plot_viridis(double t)
{
    /* matplotlib's viridis sampled at t = 0, 0.1, ..., 1; linear in between. */
    static const unsigned v[11] = {0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c,
                                   0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725};
    if (!(t > 0))
        t = 0;
    if (t > 1)
        t = 1;
    double u = t * 10;
    int i = (int)u < 10 ? (int)u : 9;
    double f = u - i;
    plot_rgb_t a = PLOT_RGB(v[i]), b = PLOT_RGB(v[i + 1]);
    return (plot_rgb_t){a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
}

double plot_luminance(plot_rgb_t c)
{
    return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
}

plot_rgb_t plot_text_colour_on(plot_rgb_t bg)
{
    return plot_luminance(bg) > 0.45 ? PLOT_BLACK : PLOT_WHITE;
}

plot_rgb_t plot_heat_colour(double v, double lo, double hi)
{
    return isnan(v) ? PLOT_LIGHT : plot_viridis((v - lo) / (hi - lo));
}

void plot_heatmap(plot_t *p, const plot_axes_t *a, int nx, int ny, const double *v, size_t sx,
                  size_t sy, double lo, double hi)
{
    for (int ix = 0; ix < nx; ix++)
        for (int iy = 0; iy < ny; iy++) {
            double val = v[(size_t)ix * sx + (size_t)iy * sy];
            plot_rgb_t c = plot_heat_colour(val, lo, hi);
            double x0 = plot_px(a, ix - 0.5), x1 = plot_px(a, ix + 0.5);
            double y0 = plot_py(a, iy + 0.5), y1 = plot_py(a, iy - 0.5);
            /* Cover the seams between cells (antialiasing would leave hairlines). */
            plot_rect(p, x0, y0, x1 - x0 + 0.5, y1 - y0 + 0.5, &c, NULL, 0);
        }
}

void plot_colorbar(plot_t *p, double x, double y, double w, double h, double lo, double hi,
                   const char *label)
{
    int steps = (int)h;
    for (int i = 0; i < steps; i++) {
        plot_rgb_t c = plot_viridis((i + 0.5) / steps);
        plot_rect(p, x, y + h - i - 1, w, 1.5, &c, NULL, 0);
    }
    plot_rgb_t k = PLOT_BLACK;
    plot_rect(p, x, y, w, h, NULL, &k, 1);
    double at[32], step;
    int n = plot_ticks(lo, hi, h > 400 ? 8 : (int)(h / 50) + 2, at, 32, &step);
    double widest = 0;
    for (int i = 0; i < n; i++) {
        double ty = y + h - (at[i] - lo) / (hi - lo) * h;
        plot_segment(p, x + w, ty, x + w + TICK_LEN, ty, PLOT_BLACK, 1, 0);
        double tw = plot_text(p, x + w + TICK_LEN + 3, ty, TICK_FONT, PLOT_LEFT | PLOT_MIDDLE,
                              PLOT_BLACK, "%.*f", plot_decimals(step), at[i]);
        widest = tw > widest ? tw : widest;
    }
    if (label)
        plot_text(p, x + w + TICK_LEN + 3 + widest + 10, y + h / 2, 14, PLOT_CENTER | PLOT_TOP | PLOT_UP,
                  PLOT_BLACK, "%s", label);
}
