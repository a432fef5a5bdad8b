/* report_network.h - private to the report module: the [network] stage of an NNGP results file
 * (/network): trained networks against their GP, as a table and two figures. */
#ifndef REPORT_NETWORK_H
#define REPORT_NETWORK_H

#include <stdio.h>

#include "figures.h"
#include "h5io.h"
#include "report.h"

/* /network read back: sizes, scales and the arrays the report uses (malloc'd). */
typedef struct {
    size_t nd, nw, ns, nt;
    double *depth, *width;          /* [nd], [nw] */
    double *acc;                    /* [nd][nw][ns] test accuracy (NaN: not trained) */
    double *corr;                   /* [nd][nw] variance_error_correlation */
    double *err, *gpvar;            /* [nd][nw][nt] squared error; [nd][nt] GP variance */
    double *gp_acc, *ntk_acc;       /* [nd] GP fit's accuracy; NTK's, or NULL without /ntk */
} net_results_t;

/* Loads /network of f into r. Returns 0, 1 when the file has no /network, or NN_ERR_INPUT /
 * NN_ERR_NOMEM (r holds nothing then). */
int net_results_load(h5file_t *f, net_results_t *r);
void net_results_free(net_results_t *r);
/* Mean and sample standard deviation of the finite accuracies of (d, w) over seeds; *n of them. */
void net_results_acc(const net_results_t *r, size_t d, size_t w, double *mean, double *sd, int *n);

/* Prints the table of /network (nothing without it). Returns 0 or an error. */
int report_network(h5file_t *f, FILE *out, report_format_t format);
/* The figures network-accuracy-width.png and network-error-variance.png (nothing without
 * /network). Returns 0 or the first error. */
int figures_network(fig_ctx_t *c, const char *note);

#endif
