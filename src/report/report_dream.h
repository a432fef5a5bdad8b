/* report_dream.h - private to the report module: what a dream results file (`nnsweep dream`)
 * holds, read once for the table (report_dream.c) and the figures (figures_dream.c), and the
 * dream part of a report. The file layout:
 *   /dream attributes  model, run, image (str), learning_rate, octave_scale (float64), octaves,
 *                      jitter, seed (int)
 *   /dream/input       float32 (H,W,C) in [0,1], the starting image
 *   /dream/layer_sets  strings (nsets), e.g. "relu2", "relu2+relu4"
 *   /dream/steps       int32 (nsteps), ascending
 *   /dream/<S>/steps_<N>/image (float32 (H,W,C)) and objective (float64 (N), before each step),
 *                      attributes layer_set, steps; absent while the pair is not computed. */
#ifndef REPORT_DREAM_H
#define REPORT_DREAM_H

#include <stdio.h>

#include "h5io.h"
#include "report.h"

/* Bounds on what the report reads (a damaged file may claim any size): layer sets and step
 * counts each, and values of one array (an objective, an image). */
#define DREAM_RESULTS_MAX_LIST 4096
#define DREAM_RESULTS_MAX_VALUES ((size_t)1 << 26)

typedef struct {
    int done;               /* the pair's group holds an image */
    double first, last;     /* objective before the first and before the last step (NaN: none) */
} dream_pair_t;

typedef struct {
    char *model, *run, *image;          /* /dream attributes ("" when absent), owned */
    double learning_rate, octave_scale; /* NaN when absent */
    long long octaves, jitter, seed;    /* -1 when absent */
    int h, w, c;                        /* /dream/input's shape (0 when absent) */
    char **sets;                        /* [nsets] layer set names, owned */
    int nsets;
    int *steps;                         /* [nsteps] */
    int nsteps;
    dream_pair_t *pair;                 /* [nsets][nsteps] */
    int ndone;
} dream_results_t;

/* Reads the open dream results file f into d (no images: dream_results_image reads them).
 * Returns 0, or NN_ERR_INPUT when /dream/layer_sets or /dream/steps is missing or unreadable,
 * or NN_ERR_NOMEM; d is then empty (safe to free). */
int dream_results_load(h5file_t *f, dream_results_t *d);
void dream_results_free(dream_results_t *d);
/* The group of set s and step count index k: "/dream/<S>/steps_<N>" into buf (n bytes). */
const char *dream_results_group(const dream_results_t *d, int s, int k, char *buf, size_t n);

/* Prints the dream's settings and one table row per (layer set, steps): the objective before
 * the first and the last step and their ratio; pairs not computed yet say so. Returns 0,
 * NN_ERR_INPUT (see dream_results_load) or NN_ERR_NOMEM. */
int report_dream(h5file_t *f, FILE *out, report_format_t format);

#endif
