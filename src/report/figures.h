/* figures.h - private to the report module: the figures of `nnsweep report --png DIR` and what
 * the figures of every experiment share (the line that says which data, file names, the list of
 * figures printed with the report). One figures_<experiment>.c per experiment. */
#ifndef REPORT_FIGURES_H
#define REPORT_FIGURES_H

#include <stddef.h>
#include <stdio.h>

#include "h5io.h"
#include "plot.h"
#include "report.h"

/* Writes the figures of the open results file f into the existing directory dir and lists them on
 * out (as comment lines in CSV). A figure whose data are not in the file yet is listed as skipped.
 * Returns 0, or NN_ERR_RUNTIME (message names the file) when a PNG cannot be written. */
int report_figures(h5file_t *f, const char *experiment, const char *dir, FILE *out,
                   report_format_t format);

#define FIG_MAX_CLASSES 16

typedef struct {
    h5file_t *f;
    const char *dir;
    FILE *out;
    report_format_t format;
    char dataset[32];                /* /data attribute "dataset" ("" when absent) */
    int nclasses;
    int classes[FIG_MAX_CLASSES];    /* class number of each position (/data/classes) */
    char state[32];                  /* root attribute "state" */
    char about[320];                 /* data set, classes, sizes and job: drawn under each title */
    int listed;                      /* figures listed on out so far */
    int ntk;                         /* drawing the /ntk group (read through the /nngp alias):
                                        files ntk-*.png instead of nngp-*.png, titles say NTK */
} fig_ctx_t;

/* "NTK" or "NNGP": the kernel of the figures being drawn. */
const char *fig_kernel_name(const fig_ctx_t *c);

/* Name of the class at position pos: Fashion-MNIST and CIFAR-10 names, MNIST digits, otherwise
 * "class N". Writes into buf (n bytes) and returns it. */
const char *fig_class_name(const fig_ctx_t *c, int pos, char *buf, size_t n);
/* Draws the title, the about line and note (red; "" for none) at the top of p; returns the y
 * coordinate below them. */
double fig_header(const fig_ctx_t *c, plot_t *p, const char *title, const char *note);
/* An axis title centred at x with its top at y (x axis), or reading upwards with its top edge
 * at x (y axis). */
void fig_axis_label_x(plot_t *p, double x, double y, const char *text);
void fig_axis_label_y(plot_t *p, double x, double y, const char *text);
/* The value axis of a figure from the data range [lo, hi]: widened by pad times its width on
 * each side (keeps markers off the frame), rounded to nice ticks, cut at 0 and, with clip100,
 * at 100 (percentages). */
void fig_value_range(double *lo, double *hi, double pad, int clip100);
/* dir/name into buf (n bytes); returns buf. */
const char *fig_path(const fig_ctx_t *c, const char *name, char *buf, size_t n);
/* Lists a file written to path (dir/name) on out with a description. */
void fig_list(fig_ctx_t *c, const char *name, const char *path, const char *what);
/* Writes p to dir/name and lists it on out with a description. Returns 0 or NN_ERR_RUNTIME. */
int fig_save(fig_ctx_t *c, plot_t *p, const char *name, const char *what);
/* Lists a figure that was not drawn, and why. */
void fig_skip(fig_ctx_t *c, const char *name, const char *why);

/* The NNGP figures (figures_nngp.c) and the CNN figures (figures_cnn.c). Return 0 or the first
 * error. */
int figures_nngp(fig_ctx_t *c);
int figures_cnn(fig_ctx_t *c);
/* The dream figures (figures_dream.c): the grid of dreams and each dream at its native size. */
int figures_dream(fig_ctx_t *c);
/* The [limit] figure of an NNGP file (figures_limit.c), nothing without /limit; note as
 * fig_header's. */
int figures_limit(fig_ctx_t *c, const char *note);

#endif
