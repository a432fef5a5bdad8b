/* report_network.c - the text part of the [network] stage's report: per depth and width the
 * trained networks' test accuracy (mean and spread over seeds) next to the accuracy of the
 * depth's GP fit (and the NTK's when the file has /ntk), and the correlation of their squared
 * error with the GP's predictive variance. Reads the file only. */
#include "report_network.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "table.h"

void net_results_free(net_results_t *r)
{
    free(r->depth);
    free(r->width);
    free(r->acc);
    free(r->corr);
    free(r->err);
    free(r->gpvar);
    free(r->gp_acc);
    free(r->ntk_acc);
    memset(r, 0, sizeof *r);
}

/* A malloc'd array of n doubles read from path; NULL when absent or unreadable. */
static double *read_f64(h5file_t *f, const char *path, size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (v && (!h5_exists(f, path, NULL) || h5_read_f64(f, path, v, n) != NN_OK)) {
        free(v);
        return NULL;
    }
    return v;
}

/* The NTK's accuracy of each depth from the /ntk group laid out as /nngp (the fits gp_fits
 * names, with /ntk for /nngp), or NULL. */
static double *read_ntk(h5file_t *f, size_t nd)
{
    char *fits = NULL, path[160];
    if (h5_read_attr_str(f, "/network", "gp_fits", &fits) != NN_OK || !fits)
        return NULL;
    snprintf(path, sizeof path, "/ntk%s/test_accuracy", strncmp(fits, "/nngp", 5) ? "" : fits + 5);
    free(fits);
    return read_f64(f, path, nd);
}

int net_results_load(h5file_t *f, net_results_t *r)
{
    memset(r, 0, sizeof *r);
    if (!h5_exists(f, "/network/test_accuracy", NULL))
        return 1;
    int rank;
    size_t dims[H5IO_MAX_RANK], tdims[H5IO_MAX_RANK];
    int st = h5_dims(f, "/network/test_accuracy", &rank, dims);
    if (!st && rank == 3) st = h5_dims(f, "/network/gp_variance", &rank, tdims);
    if (st || rank != 2)
        return nn_fail(NN_ERR_INPUT, "/network: arrays missing or of the wrong shape");
    r->nd = dims[0], r->nw = dims[1], r->ns = dims[2], r->nt = tdims[1];
    r->depth = read_f64(f, "/network/depth", r->nd);
    r->width = read_f64(f, "/network/width", r->nw);
    r->acc = read_f64(f, "/network/test_accuracy", r->nd * r->nw * r->ns);
    r->corr = read_f64(f, "/network/variance_error_correlation", r->nd * r->nw);
    r->err = read_f64(f, "/network/squared_error", r->nd * r->nw * r->nt);
    r->gpvar = read_f64(f, "/network/gp_variance", r->nd * r->nt);
    r->gp_acc = read_f64(f, "/network/gp_test_accuracy", r->nd);
    r->ntk_acc = read_ntk(f, r->nd);
    if (!r->depth || !r->width || !r->acc || !r->corr || !r->err || !r->gpvar || !r->gp_acc) {
        net_results_free(r);
        return nn_fail(NN_ERR_INPUT, "/network: arrays missing or unreadable");
    }
    return NN_OK;
}

void net_results_acc(const net_results_t *r, size_t d, size_t w, double *mean, double *sd, int *n)
{
    const double *a = r->acc + (d * r->nw + w) * r->ns;
    double s = 0, s2 = 0;
    *n = 0;
    for (size_t k = 0; k < r->ns; k++)
        if (isfinite(a[k]))
            s += a[k], s2 += a[k] * a[k], ++*n;
    *mean = *n ? s / *n : NAN;
    *sd = *n > 1 ? sqrt(fmax(0, (s2 - s * s / *n) / (*n - 1))) : NAN;
}

int report_network(h5file_t *f, FILE *out, report_format_t format)
{
    net_results_t r;
    int st = net_results_load(f, &r);
    if (st == 1)
        return NN_OK;
    if (st)
        return st;
    const char *head[] = {"depth", "width", "net_test_acc", "sd", "seeds", "nngp_acc", "ntk_acc",
                          "corr(var, err)", NULL};
    if (!r.ntk_acc) {
        head[6] = "corr(var, err)";
        head[7] = NULL;
    }
    table_t t;
    table_init(&t, head);
    for (size_t d = 0; d < r.nd && !st; d++)
        for (size_t w = 0; w < r.nw && !st; w++) {
            double mean, sd;
            int n;
            net_results_acc(&r, d, w, &mean, &sd, &n);
            char c[8][TABLE_CELL];
            snprintf(c[0], TABLE_CELL, "%g", r.depth[d]);
            snprintf(c[1], TABLE_CELL, "%g", r.width[w]);
            table_number(c[2], "%.4f", mean);
            table_number(c[3], "%.4f", sd);
            snprintf(c[4], TABLE_CELL, "%d/%zu", n, r.ns);
            table_number(c[5], "%.4f", r.gp_acc[d]);
            table_number(c[6], "%.4f", r.ntk_acc ? r.ntk_acc[d] : NAN);
            table_number(c[r.ntk_acc ? 7 : 6], "%+.3f", r.corr[d * r.nw + w]);
            const char *row[8] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
            st = table_add_row(&t, row);
        }
    if (!st && format != REPORT_CSV)
        fprintf(out, "\nTrained networks against their GP (/network): test accuracy over seeds "
                     "(mean, sd), the depth's NNGP fit%s, and the Pearson correlation over test "
                     "points of the GP's predictive variance with the networks' squared error\n",
                r.ntk_acc ? " and NTK" : "");
    if (!st)
        table_print(&t, out, format);
    table_free(&t);
    net_results_free(&r);
    return st;
}
