/* report_dream.c - reads a dream results file (settings, layer sets, step counts, the objective
 * of each computed pair) and prints its table: per (layer set, steps) the objective before the
 * first and before the last step, and their ratio. The images are figures_dream.c's. */
#include "report_dream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "table.h"

/* A string attribute of /dream, malloc'd; "" when absent. NULL only when out of memory. */
static char *attr_str(h5file_t *f, const char *name)
{
    char *s = NULL;
    if (h5_read_attr_str(f, "/dream", name, &s) != NN_OK) {
        nn_error_clear();
        s = strdup("");
    }
    return s;
}

static long long attr_int(h5file_t *f, const char *name)
{
    long long v = -1;
    if (h5_read_attr_int(f, "/dream", name, &v) != NN_OK)
        nn_error_clear();
    return v;
}

static double attr_double(h5file_t *f, const char *name)
{
    double v = NAN;
    if (h5_read_attr_double(f, "/dream", name, &v) != NN_OK)
        nn_error_clear();
    return v;
}

const char *dream_results_group(const dream_results_t *d, int s, int k, char *buf, size_t n)
{
    snprintf(buf, n, "/dream/%s/steps_%d", d->sets[s], d->steps[k]);
    return buf;
}

/* The objective of a computed pair: its first and last values. NN_ERR_NOMEM or 0 (a missing or
 * unreadable objective leaves NaN). */
static int load_pair(h5file_t *f, const char *g, dream_pair_t *p)
{
    char path[600];
    int rank;
    size_t dims[H5IO_MAX_RANK];
    p->first = p->last = NAN;
    snprintf(path, sizeof path, "%s/image", g);
    p->done = h5_exists(f, g, NULL) && h5_exists(f, path, NULL);
    snprintf(path, sizeof path, "%s/objective", g);
    if (!p->done || !h5_exists(f, path, NULL) || h5_dims(f, path, &rank, dims) != NN_OK ||
        rank != 1 || dims[0] == 0 || dims[0] > DREAM_RESULTS_MAX_VALUES) {
        nn_error_clear();
        return NN_OK;
    }
    double *v = malloc(dims[0] * sizeof *v);
    if (!v)
        return nn_fail(NN_ERR_NOMEM, "%s: %zu values", path, dims[0]);
    if (h5_read_f64(f, path, v, dims[0]) == NN_OK) {
        p->first = v[0];
        p->last = v[dims[0] - 1];
    }
    nn_error_clear();
    free(v);
    return NN_OK;
}

int dream_results_load(h5file_t *f, dream_results_t *d)
{
    memset(d, 0, sizeof *d);
    int rank, st = NN_OK;
    size_t dims[H5IO_MAX_RANK];
    if (h5_read_strings(f, "/dream/layer_sets", &d->sets, &d->nsets) != NN_OK)
        return nn_fail(NN_ERR_INPUT, "/dream/layer_sets is missing or unreadable");
    if (!h5_exists(f, "/dream/steps", NULL) || h5_dims(f, "/dream/steps", &rank, dims) != NN_OK ||
        rank != 1) {
        dream_results_free(d);
        return nn_fail(NN_ERR_INPUT, "/dream/steps is missing or not a list of step counts");
    }
    if (d->nsets > DREAM_RESULTS_MAX_LIST || dims[0] > DREAM_RESULTS_MAX_LIST) {
        int nsets = d->nsets;
        dream_results_free(d);
        return nn_fail(NN_ERR_INPUT, "/dream: %d layer sets and %zu step counts: at most %d "
                       "each", nsets, dims[0], DREAM_RESULTS_MAX_LIST);
    }
    d->nsteps = (int)dims[0];
    d->steps = malloc((dims[0] ? dims[0] : 1) * sizeof(int));
    d->pair = calloc((size_t)(d->nsets * d->nsteps > 0 ? d->nsets * d->nsteps : 1),
                     sizeof *d->pair);
    d->model = attr_str(f, "model");
    d->run = attr_str(f, "run");
    d->image = attr_str(f, "image");
    if (!d->steps || !d->pair || !d->model || !d->run || !d->image)
        st = nn_fail(NN_ERR_NOMEM, "the dream's %d x %d results", d->nsets, d->nsteps);
    if (!st && d->nsteps && h5_read_i32(f, "/dream/steps", d->steps, dims[0]) != NN_OK)
        st = nn_fail(NN_ERR_INPUT, "/dream/steps is unreadable");
    d->learning_rate = attr_double(f, "learning_rate");
    d->octave_scale = attr_double(f, "octave_scale");
    d->octaves = attr_int(f, "octaves");
    d->jitter = attr_int(f, "jitter");
    d->seed = attr_int(f, "seed");
    if (h5_exists(f, "/dream/input", NULL) && h5_dims(f, "/dream/input", &rank, dims) == NN_OK &&
        rank == 3) {
        d->h = (int)dims[0];
        d->w = (int)dims[1];
        d->c = (int)dims[2];
    }
    nn_error_clear();
    for (int s = 0; !st && s < d->nsets; s++)
        for (int k = 0; !st && k < d->nsteps; k++) {
            char g[512];
            dream_pair_t *p = &d->pair[s * d->nsteps + k];
            st = load_pair(f, dream_results_group(d, s, k, g, sizeof g), p);
            d->ndone += p->done;
        }
    if (st)
        dream_results_free(d);
    return st;
}

void dream_results_free(dream_results_t *d)
{
    free(d->model);
    free(d->run);
    free(d->image);
    h5_free_names(d->sets, d->nsets);
    free(d->steps);
    free(d->pair);
    memset(d, 0, sizeof *d);
}

/* The settings above the table (comment lines in CSV). */
static void print_settings(const dream_results_t *d, FILE *out, report_format_t format)
{
    const char *pre = format == REPORT_CSV ? "# " : "";
    fprintf(out, "%sDeepDream: model %s%s%s, from image %s (%d x %d, %d channel%s)\n", pre,
            d->model[0] ? d->model : "?", d->run[0] ? " run " : "", d->run,
            d->image[0] ? d->image : "?", d->h, d->w, d->c, d->c == 1 ? "" : "s");
    fprintf(out, "%slearning rate %g, %lld octave(s) of scale %g, jitter %lld px, seed %lld\n",
            pre, d->learning_rate, d->octaves, d->octave_scale, d->jitter, d->seed);
    fprintf(out, "%s%d of %d (layer set, steps) pairs computed\n", pre, d->ndone,
            d->nsets * d->nsteps);
}

int report_dream(h5file_t *f, FILE *out, report_format_t format)
{
    dream_results_t d;
    int st = dream_results_load(f, &d);
    if (st)
        return st;
    if (format != REPORT_CSV)
        fputc('\n', out);
    print_settings(&d, out, format);
    const char *head[] = {"layer_set", "steps", "objective_first", "objective_last", "ratio",
                          NULL};
    table_t t;
    table_init(&t, head);
    for (int s = 0; !st && s < d.nsets; s++)
        for (int k = 0; !st && k < d.nsteps; k++) {
            const dream_pair_t *p = &d.pair[s * d.nsteps + k];
            char c[5][TABLE_CELL];
            snprintf(c[0], TABLE_CELL, "%s", d.sets[s]);
            snprintf(c[1], TABLE_CELL, "%d", d.steps[k]);
            if (p->done) {
                table_number(c[2], "%.6g", p->first);
                table_number(c[3], "%.6g", p->last);
                table_number(c[4], "%.4f", p->first != 0 ? p->last / p->first : NAN);
            } else {
                snprintf(c[2], TABLE_CELL, "not computed");
                snprintf(c[3], TABLE_CELL, "-");
                snprintf(c[4], TABLE_CELL, "-");
            }
            const char *row[5] = {c[0], c[1], c[2], c[3], c[4]};
            st = table_add_row(&t, row);
        }
    if (format == REPORT_CSV)
        fprintf(out, "# objective per layer set and steps\n");
    else
        fprintf(out, "\nThe objective (the L2 norms of the set's activations that the dream "
                     "maximises) before the first and before the last step\n\n");
    if (!st)
        table_print(&t, out, format);
    table_free(&t);
    dream_results_free(&d);
    return st;
}
