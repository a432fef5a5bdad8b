/* report_cnn.c - the text part of a CNN report: one row per training run (variant) with its
 * final metrics, parameters, time and throughput, which doubles as the variants comparison. */
#include "report_cnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "nn_error.h"
#include "table.h"

/* Last value of a 1-D curve /cnn/<run>/<name>, and its mean (for throughput); NaN if absent. */
static double curve_last(h5file_t *f, const char *run, const char *name, double *mean)
{
    char path[160];
    snprintf(path, sizeof path, "/cnn/%s/%s", run, name);
    int rank;
    size_t dims[H5IO_MAX_RANK];
    *mean = NAN;
    if (h5_dims(f, path, &rank, dims) != NN_OK || rank != 1 || dims[0] == 0)
        return NAN;
    double *v = malloc(dims[0] * sizeof *v);
    double last = NAN;
    if (v && h5_read_f64(f, path, v, dims[0]) == NN_OK) {
        double sum = 0;
        for (size_t i = 0; i < dims[0]; i++)
            sum += v[i];
        *mean = sum / (double)dims[0];
        last = v[dims[0] - 1];
    }
    free(v);
    return last;
}

int report_cnn(h5file_t *f, FILE *out, report_format_t format)
{
    char **runs = NULL;
    int nruns = 0;
    if (h5_read_strings(f, "/cnn/runs", &runs, &nruns) != NN_OK)
        return nn_fail(NN_ERR_INPUT, "/cnn/runs is missing or unreadable");
    unsigned char *done = calloc((size_t)(nruns > 0 ? nruns : 1), 1);
    if (done)
        h5_read_u8(f, "/cnn/run_done", done, (size_t)nruns);
    const char *head[] = {"run", "epochs", "train_loss", "train_acc", "test_loss", "test_acc",
                          "noise_acc(0.05)", "params", "MB", "seconds", "images/s", NULL};
    table_t t;
    table_init(&t, head);
    int ndone = 0;
    for (int i = 0; i < nruns; i++) {
        char c[11][TABLE_CELL], g[96];
        double mean, ips_mean = NAN, noise[3] = {NAN, NAN, NAN}, mb = NAN, sec = NAN;
        long long nparams = 0, epochs = 0;
        snprintf(g, sizeof g, "/cnn/%s", runs[i]);
        snprintf(c[0], TABLE_CELL, "%s", runs[i]);
        if (!done || !done[i]) {
            for (int k = 1; k < 11; k++)
                snprintf(c[k], TABLE_CELL, "-");
            snprintf(c[1], TABLE_CELL, "not run yet");
        } else {
            ndone++;
            h5_read_attr_int(f, g, "epochs", &epochs);
            h5_read_attr_int(f, g, "nparams", &nparams);
            h5_read_attr_double(f, g, "model_mb", &mb);
            h5_read_attr_double(f, g, "seconds", &sec);
            char np[160];
            snprintf(np, sizeof np, "%s/noise_accuracy", g);
            h5_read_f64(f, np, noise, 3);
            snprintf(c[1], TABLE_CELL, "%lld", epochs);
            snprintf(c[2], TABLE_CELL, "%.4f", curve_last(f, runs[i], "train_loss", &mean));
            snprintf(c[3], TABLE_CELL, "%.4f", curve_last(f, runs[i], "train_accuracy", &mean));
            snprintf(c[4], TABLE_CELL, "%.4f", curve_last(f, runs[i], "test_loss", &mean));
            snprintf(c[5], TABLE_CELL, "%.4f", curve_last(f, runs[i], "test_accuracy", &mean));
            snprintf(c[6], TABLE_CELL, "%.4f", noise[0]);
            snprintf(c[7], TABLE_CELL, "%lld", nparams);
            snprintf(c[8], TABLE_CELL, "%.2f", mb);
            snprintf(c[9], TABLE_CELL, "%.1f", sec);
            curve_last(f, runs[i], "images_per_second", &ips_mean);
            snprintf(c[10], TABLE_CELL, "%.0f", ips_mean);
        }
        const char *row[11];
        for (int k = 0; k < 11; k++)
            row[k] = c[k];
        table_add_row(&t, row);
    }
    if (format != REPORT_CSV)
        fprintf(out, "CNN training: %d of %d run(s) done; final-epoch metrics per run (accuracy "
                     "as a fraction; noise_acc: test accuracy with image + 0.05 N(0,1);\n"
                     "images/s: mean over epochs):\n\n", ndone, nruns);
    else
        fprintf(out, "# cnn runs\n");
    table_print(&t, out, format);
    table_free(&t);
    free(done);
    h5_free_names(runs, nruns);
    return NN_OK;
}
