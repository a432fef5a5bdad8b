/* report_limit.c - the [limit] part of an NNGP report: how far random networks of each width are
 * from the NNGP kernel (error +- its standard error, bias) and the fitted log-log slope per depth
 * (-0.5 for N^-1/2), read from /limit; also the reader the figure shares. */
#include "report_limit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "table.h"

void limit_data_free(limit_data_t *l)
{
    double *arrays[] = {l->depth, l->width, l->error, l->error_stderr, l->bias, l->sigma_w2,
                        l->sigma_b2, l->slope};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++)
        free(arrays[k]);
    free(l->done);
    memset(l, 0, sizeof *l);
}

/* Reads the integer scale at path (n values) as doubles into a malloc'd array, or NULL. */
static double *read_scale(h5file_t *f, const char *path, size_t n)
{
    int *v = malloc(n * sizeof *v);
    double *d = malloc(n * sizeof *d);
    if (v && d && h5_read_i32(f, path, v, n) == NN_OK) {
        for (size_t i = 0; i < n; i++)
            d[i] = v[i];
        free(v);
        return d;
    }
    free(v);
    free(d);
    return NULL;
}

int limit_data_load(h5file_t *f, limit_data_t *l)
{
    memset(l, 0, sizeof *l);
    int rank;
    size_t dims[H5IO_MAX_RANK];
    if (!h5_exists(f, "/limit/done", NULL) || h5_dims(f, "/limit/done", &rank, dims) != NN_OK ||
        rank != 2)
        return 0;
    l->nd = dims[0];
    l->nw = dims[1];
    size_t grid = l->nd * l->nw;
    struct { const char *path; double **dst; size_t n; } cols[] = {
        {"/limit/error", &l->error, grid}, {"/limit/error_stderr", &l->error_stderr, grid},
        {"/limit/bias", &l->bias, grid}, {"/limit/sigma_w2", &l->sigma_w2, l->nd},
        {"/limit/sigma_b2", &l->sigma_b2, l->nd}, {"/limit/slope", &l->slope, l->nd}};
    int ok = (l->depth = read_scale(f, "/limit/depth", l->nd)) &&
             (l->width = read_scale(f, "/limit/width", l->nw)) && (l->done = malloc(grid)) &&
             h5_read_u8(f, "/limit/done", l->done, grid) == NN_OK;
    for (size_t k = 0; k < sizeof cols / sizeof cols[0] && ok; k++)
        ok = (*cols[k].dst = malloc(cols[k].n * sizeof(double))) &&
             h5_read_f64(f, cols[k].path, *cols[k].dst, cols[k].n) == NN_OK;
    h5_read_attr_int(f, "/limit", "samples", &l->samples);
    h5_read_attr_int(f, "/limit", "points", &l->points);
    if (!ok)
        limit_data_free(l);
    return ok;
}

/* The error table: one row per depth and width. */
static void print_errors(const limit_data_t *l, FILE *out, report_format_t format)
{
    const char *head[] = {"depth", "width", "error", "stderr", "bias", NULL};
    table_t t;
    table_init(&t, head);
    for (size_t d = 0; d < l->nd; d++)
        for (size_t w = 0; w < l->nw; w++) {
            size_t g = d * l->nw + w;
            char c[5][TABLE_CELL];
            snprintf(c[0], TABLE_CELL, "%g", l->depth[d]);
            snprintf(c[1], TABLE_CELL, "%g", l->width[w]);
            table_number(c[2], "%.4f", l->done[g] ? l->error[g] : NAN);
            table_number(c[3], "%.4f", l->done[g] ? l->error_stderr[g] : NAN);
            table_number(c[4], "%.4f", l->done[g] ? l->bias[g] : NAN);
            const char *row[5] = {c[0], c[1], c[2], c[3], c[4]};
            table_add_row(&t, row);
        }
    if (format == REPORT_CSV)
        fprintf(out, "# limit: relative Frobenius error of K_N against K^L\n");
    else
        fprintf(out, "\nGP limit: %lld random networks per depth and width against the NNGP "
                     "kernel on %lld test inputs (error: mean ||K_N - K^L||_F / ||K^L||_F, with "
                     "its standard error; bias: the same for the mean K_N; - : not measured):\n\n",
                l->samples, l->points);
    table_print(&t, out, format);
    table_free(&t);
}

void report_limit(h5file_t *f, FILE *out, report_format_t format)
{
    limit_data_t l;
    if (!limit_data_load(f, &l))
        return;
    print_errors(&l, out, format);
    const char *head[] = {"depth", "sigma_w2", "sigma_b2", "slope", NULL};
    table_t t;
    table_init(&t, head);
    for (size_t d = 0; d < l.nd; d++) {
        char c[4][TABLE_CELL];
        snprintf(c[0], TABLE_CELL, "%g", l.depth[d]);
        table_number(c[1], "%.4g", l.sigma_w2[d]);
        table_number(c[2], "%.4g", l.sigma_b2[d]);
        table_number(c[3], "%.3f", l.slope[d]);
        const char *row[4] = {c[0], c[1], c[2], c[3]};
        table_add_row(&t, row);
    }
    if (format == REPORT_CSV)
        fprintf(out, "# limit slope: log(error) against log(width)\n");
    else
        fprintf(out, "\nGP limit: fitted slope of log(error) against log(width) per depth "
                     "(N^-1/2 is -0.5):\n\n");
    table_print(&t, out, format);
    table_free(&t);
    limit_data_free(&l);
}
