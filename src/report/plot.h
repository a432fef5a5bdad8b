/* plot.h - private to the report module: a small plotting layer over cairo for the figures of
 * `nnsweep report --png`: a canvas written as PNG, text (with _{sub} and ^{sup}), axes with nice
 * ticks, lines with markers, legends, the viridis colour map with a colour bar, heatmaps and
 * 8-bit images. It knows nothing of results files; figures*.c decide what to draw.
 * Coordinates are pixels from the top-left corner; data go through a plot_axes_t. */
#ifndef REPORT_PLOT_H
#define REPORT_PLOT_H

#include <stddef.h>

typedef struct { double r, g, b; } plot_rgb_t;

#define PLOT_RGB(hex) ((plot_rgb_t){((hex) >> 16 & 255) / 255.0, ((hex) >> 8 & 255) / 255.0, \
                                    ((hex) & 255) / 255.0})
#define PLOT_BLACK PLOT_RGB(0x000000)
#define PLOT_WHITE PLOT_RGB(0xffffff)
#define PLOT_GREY PLOT_RGB(0x606060)
#define PLOT_LIGHT PLOT_RGB(0xd9d9d9)
#define PLOT_RED PLOT_RGB(0xc00000)

/* Okabe-Ito colours (distinguishable with colour-blindness): blue, orange, green, vermillion,
 * sky blue, reddish purple. */
extern const plot_rgb_t plot_palette[6];

typedef struct plot plot_t;

/* A white canvas of width x height pixels. NULL (message recorded) on failure. */
plot_t *plot_create(int width, int height);
/* Writes the canvas as a PNG file. Returns 0, or NN_ERR_RUNTIME with a message naming path (also
 * when a drawing step failed and the canvas is incomplete). */
int plot_save(plot_t *p, const char *path);
/* Accepts NULL; sets *p to NULL. */
void plot_destroy(plot_t **p);
/* Frees cairo's font caches (so that leak checkers see a clean exit); call when no canvas is left. */
void plot_release_caches(void);
int plot_width(const plot_t *p);

/* ---- text ---- */
/* Flags of plot_text: horizontal alignment | vertical alignment | style. The anchor (x, y) is the
 * left/centre/right end of the baseline, the top of the capitals, their middle, or the bottom of
 * the descenders. PLOT_UP turns the text 90 degrees to read upwards (y-axis labels). */
enum {
    PLOT_LEFT = 0, PLOT_CENTER = 1, PLOT_RIGHT = 2,
    PLOT_BASELINE = 0, PLOT_TOP = 4, PLOT_MIDDLE = 8, PLOT_BOTTOM = 12,
    PLOT_BOLD = 16, PLOT_UP = 32
};
/* Draws printf-formatted text of the given size (pixels); "_{..}" and "^{..}" set a run as a
 * subscript / superscript. Bytes that start no UTF-8 character are drawn as "?". Returns the
 * width drawn. */
double plot_text(plot_t *p, double x, double y, double size, int flags, plot_rgb_t colour,
                 const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* The width plot_text would draw (no formatting; markup understood). */
double plot_text_width(plot_t *p, double size, int flags, const char *text);

/* ---- primitives ---- */
/* A rectangle filled with *fill and/or outlined with *stroke (line width lw); either may be NULL. */
void plot_rect(plot_t *p, double x, double y, double w, double h, const plot_rgb_t *fill,
               const plot_rgb_t *stroke, double lw);
/* A line segment; dash 0 solid, 1 dashed, 2 dash-dot, 3 dotted. */
void plot_segment(plot_t *p, double x0, double y0, double x1, double y1, plot_rgb_t colour,
                  double lw, int dash);
enum { PLOT_MARK_NONE, PLOT_MARK_CIRCLE, PLOT_MARK_SQUARE, PLOT_MARK_TRIANGLE, PLOT_MARK_DIAMOND };
/* A filled marker of the given size (pixels across) centred on (x, y), with a white rim. */
void plot_marker(plot_t *p, double x, double y, int marker, double size, plot_rgb_t colour);
/* An 8-bit image chw[channels][h][w] (channels 1: grey, 3: RGB), each pixel drawn as a
 * scale x scale block (no smoothing) with its top-left corner at (x, y). */
void plot_image(plot_t *p, double x, double y, double scale, int channels, int h, int w,
                const unsigned char *chw);

/* ---- axes ---- */
typedef struct {
    double x, y, w, h;       /* plot area in pixels (x, y: top-left corner) */
    double x0, x1, y0, y1;   /* data range drawn across it; y0 at the bottom */
} plot_axes_t;

double plot_px(const plot_axes_t *a, double x);
double plot_py(const plot_axes_t *a, double y);
/* Nice tick values (1, 2, 5 x 10^k apart) covering [lo, hi], about target of them, at most max.
 * Returns their number; *step gets the spacing. */
int plot_ticks(double lo, double hi, int target, double *ticks, int max, double *step);
/* Widens [*lo, *hi] to whole tick steps (about target ticks); a empty range becomes non-empty. */
void plot_nice_range(double *lo, double *hi, int target);
/* Decimals needed to print multiples of step ("%.*f"). */
int plot_decimals(double step);
enum { PLOT_AXIS_X, PLOT_AXIS_Y };
/* Tick marks and labels on the bottom (x) or left (y) side of the axes at data values at[0..n-1];
 * labels NULL prints them with "%g". grid != 0 also draws light grid lines across the area.
 * Labels that would overlap are thinned out (every k-th is kept). */
void plot_axis(plot_t *p, const plot_axes_t *a, int axis, int n, const double *at,
               const char *const *labels, int grid);
/* Numeric ticks chosen by plot_ticks over the axis range, with grid lines. integer != 0 keeps
 * only whole numbers. */
void plot_axis_numeric(plot_t *p, const plot_axes_t *a, int axis, int integer);
/* The frame around the plot area. */
void plot_frame(plot_t *p, const plot_axes_t *a);

/* ---- series and legends ---- */
#define PLOT_NO_LINE (-1)

typedef struct {
    const char *label;
    plot_rgb_t colour;
    int dash;      /* as plot_segment; PLOT_NO_LINE: markers only */
    int marker;    /* PLOT_MARK_* */
    double lw;     /* line width in pixels; 0: 2.2 */
    double msize;  /* marker size in pixels; 0: 9 */
} plot_style_t;

/* A line through (x[i], y[i]) in data units with markers at the points; a NaN breaks the line. */
void plot_series(plot_t *p, const plot_axes_t *a, const plot_style_t *s, int n, const double *x,
                 const double *y);
/* Size of the legend box of n entries. */
void plot_legend_size(plot_t *p, int n, const plot_style_t *s, double *w, double *h);
/* Draws the legend box with its top-left corner at (x, y). */
void plot_legend(plot_t *p, double x, double y, int n, const plot_style_t *s);
/* Draws the legend in the inside corner of the axes that covers fewest of the npts data points
 * (px, py in data units; NaN ignored). */
void plot_legend_auto(plot_t *p, const plot_axes_t *a, int n, const plot_style_t *s, int npts,
                      const double *px, const double *py);

/* ---- colour ---- */
/* The viridis colour map (dark blue at 0 to yellow at 1); t is clamped to [0, 1]. */
plot_rgb_t plot_viridis(double t);
/* Relative luminance 0..1 (to choose black or white text over a colour). */
double plot_luminance(plot_rgb_t c);
/* Black or white, whichever reads better on bg. */
plot_rgb_t plot_text_colour_on(plot_rgb_t bg);
/* The colour plot_heatmap gives value v on the scale [lo, hi]: viridis, light grey for NaN. */
plot_rgb_t plot_heat_colour(double v, double lo, double hi);
/* Cells (ix, iy), ix < nx, iy < ny, value v[ix * sx + iy * sy], coloured by viridis over [lo, hi]
 * on axes spanning -0.5..nx-0.5 and -0.5..ny-0.5 (iy = 0 at the bottom). NaN cells are light
 * grey. */
void plot_heatmap(plot_t *p, const plot_axes_t *a, int nx, int ny, const double *v, size_t sx,
                  size_t sy, double lo, double hi);
/* A vertical colour bar for [lo, hi] in the box (x, y, w, h), ticks and label on its right. */
void plot_colorbar(plot_t *p, double x, double y, double w, double h, double lo, double hi,
                   const char *label);

#endif
