/* cnn_results.c - reads the runs of a CNN results file for the report: /cnn/runs and run_done,
 * and per run its curves, confusion matrix, noise accuracy and attributes; the settings come from
 * the job text stored in the file (parsed by the job module, so every [cnn] key is known).
 * Reads only; a missing piece is left empty, never an error. */
#include "cnn_results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

const char *const cnn_result_curve_names[CR_NCURVES] = {
    "train_loss", "train_accuracy", "test_loss", "test_accuracy", "learning_rate", "seconds",
    "images_per_second"};
const double cnn_result_noise_levels[CR_NOISE_LEVELS] = {0.05, 0.01, 0.005};

/* Reads the 1-D dataset path into a malloc'd array; NULL when absent or unreadable. */
static double *read_curve(h5file_t *f, const char *path, size_t *n)
{
    int rank;
    size_t dims[H5IO_MAX_RANK];
    *n = 0;
    if (!h5_exists(f, path, NULL) || h5_dims(f, path, &rank, dims) != NN_OK || rank != 1 ||
        dims[0] == 0)
        return NULL;
    double *v = malloc(dims[0] * sizeof *v);
    if (v && h5_read_f64(f, path, v, dims[0]) != NN_OK) {
        free(v);
        return NULL;
    }
    *n = v ? dims[0] : 0;
    return v;
}

/* Fills one run from /cnn/<name>/. Returns 0 or NN_ERR_NOMEM. */
static int load_run(h5file_t *f, cnn_result_t *r)
{
    char g[128], p[192];
    snprintf(g, sizeof g, "/cnn/%s", r->name);
    r->nparams = -1;
    r->model_mb = r->seconds = NAN;
    for (int k = 0; k < CR_NOISE_LEVELS; k++)
        r->noise[k] = NAN;
    if (!h5_exists(f, g, NULL))
        return NN_OK;
    /* The curves share one length: the shortest, should a file ever disagree. */
    for (int k = 0; k < CR_NCURVES; k++) {
        size_t n;
        snprintf(p, sizeof p, "%s/%s", g, cnn_result_curve_names[k]);
        r->curve[k] = read_curve(f, p, &n);
        if (r->curve[k] && (r->epochs == 0 || (int)n < r->epochs))
            r->epochs = (int)n;
    }
    snprintf(p, sizeof p, "%s/noise_accuracy", g);
    size_t n;
    double *noise = read_curve(f, p, &n);
    for (size_t k = 0; noise && k < n && k < CR_NOISE_LEVELS; k++)
        r->noise[k] = noise[k];
    free(noise);
    snprintf(p, sizeof p, "%s/confusion_matrix", g);
    int rank;
    size_t dims[H5IO_MAX_RANK];
    if (h5_exists(f, p, NULL) && h5_dims(f, p, &rank, dims) == NN_OK && rank == 2 &&
        dims[0] == dims[1] && dims[0] > 0 && dims[0] <= 1024) {
        r->confusion = malloc(dims[0] * dims[0] * sizeof(int));
        if (!r->confusion)
            return nn_fail(NN_ERR_NOMEM, "%s: confusion matrix", p);
        if (h5_read_i32(f, p, r->confusion, dims[0] * dims[0]) == NN_OK) {
            r->nclasses = (int)dims[0];
        } else {
            free(r->confusion);
            r->confusion = NULL;
        }
    }
    h5_read_attr_int(f, g, "nparams", &r->nparams);
    h5_read_attr_double(f, g, "model_mb", &r->model_mb);
    h5_read_attr_double(f, g, "seconds", &r->seconds);
    return NN_OK;
}

/* Parses /job_text and points every run at its spec: the variant of the same name, or the [cnn]
 * section itself for a job without variants. */
static void load_settings(h5file_t *f, cnn_results_t *r)
{
    char *text = NULL, *name = NULL;
    if (h5_read_attr_str(f, "/", "job_text", &text) != NN_OK) {
        snprintf(r->job_error, sizeof r->job_error, "the file holds no job text");
        return;
    }
    h5_read_attr_str(f, "/", "job_file", &name);
    if (job_parse(text, name ? name : "job_text", &r->job) == NN_OK) {
        r->have_job = 1;
        const cnn_job_t *cj = &r->job.cnn;
        for (int i = 0; i < r->n; i++) {
            if (cj->nvariants == 0 && !strcmp(r->run[i].name, cj->base.name))
                r->run[i].spec = &cj->base;
            for (int v = 0; v < cj->nvariants; v++)
                if (!strcmp(r->run[i].name, cj->variants[v].name))
                    r->run[i].spec = &cj->variants[v];
        }
    } else {
        snprintf(r->job_error, sizeof r->job_error, "the stored job text does not parse: %s",
                 nn_errmsg());
        nn_error_clear();
    }
    free(text);
    free(name);
}

int cnn_results_load(h5file_t *f, cnn_results_t *r)
{
    memset(r, 0, sizeof *r);
    char **names = NULL;
    int n = 0;
    if (h5_read_strings(f, "/cnn/runs", &names, &n) != NN_OK)
        return nn_fail(NN_ERR_INPUT, "/cnn/runs is missing or unreadable");
    r->run = calloc((size_t)(n > 0 ? n : 1), sizeof *r->run);
    unsigned char *done = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!r->run || !done) {
        free(done);
        free(r->run);
        r->run = NULL;
        h5_free_names(names, n);
        return nn_fail(NN_ERR_NOMEM, "%d CNN runs", n);
    }
    r->n = n;
    if (h5_read_u8(f, "/cnn/run_done", done, (size_t)n) != NN_OK)
        memset(done, 0, (size_t)n);
    int st = NN_OK;
    for (int i = 0; i < n; i++) {
        r->run[i].name = names[i];   /* taken over: freed with the run */
        names[i] = NULL;
        r->run[i].done = done[i] != 0;
        r->ndone += r->run[i].done;
        if (!st)
            st = load_run(f, &r->run[i]);
    }
    free(done);
    h5_free_names(names, n);
    if (st) {
        cnn_results_free(r);
        return st;
    }
    load_settings(f, r);
    return NN_OK;
}

void cnn_results_free(cnn_results_t *r)
{
    for (int i = 0; r->run && i < r->n; i++) {
        free(r->run[i].name);
        for (int k = 0; k < CR_NCURVES; k++)
            free(r->run[i].curve[k]);
        free(r->run[i].confusion);
    }
    free(r->run);
    job_free(&r->job);
    memset(r, 0, sizeof *r);
}

double cnn_result_last(const cnn_result_t *r, int curve)
{
    return r->epochs > 0 && r->curve[curve] ? r->curve[curve][r->epochs - 1] : NAN;
}

double cnn_result_max(const cnn_result_t *r, int curve, int *epoch)
{
    double best = NAN;
    *epoch = 0;
    for (int e = 0; r->curve[curve] && e < r->epochs; e++)
        if (isnan(best) || r->curve[curve][e] > best) {
            best = r->curve[curve][e];
            *epoch = e + 1;
        }
    return best;
}

double cnn_result_mean(const cnn_result_t *r, int curve)
{
    if (r->epochs == 0 || !r->curve[curve])
        return NAN;
    double sum = 0;
    for (int e = 0; e < r->epochs; e++)
        sum += r->curve[curve][e];
    return sum / r->epochs;
}
