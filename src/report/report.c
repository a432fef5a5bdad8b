/* report.c - `nnsweep report`: recognises a results file by its root attributes, says what state
 * it is in, and hands over to the experiment's report and, with a directory, its figures. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "figures.h"
#include "h5io.h"
#include "nn_error.h"
#include "report_cnn.h"
#include "report_dream.h"
#include "report_limit.h"
#include "report_network.h"
#include "report_nngp.h"

/* The NTK's tables: report_nngp on /ntk. */
static int report_ntk(h5file_t *f, FILE *out, report_format_t format)
{
    int st;
    if (format != REPORT_CSV)
        fprintf(out, "\nThe neural tangent kernel (NTK, /ntk): the same tables for the infinitely "
                     "wide network trained by gradient descent (kernel regression with Theta; the "
                     "variances are those of a GP with kernel Theta)\n\n");
    else
        fprintf(out, "# kernel ntk\n");
    st = h5_set_alias(f, "/nngp", "/ntk");
    if (!st) st = report_nngp(f, out, format);
    h5_set_alias(f, NULL, NULL);
    return st;
}

/* The NNGP job's report of each kernel it computed: /nngp, then /ntk (the same layout, read
 * through the /nngp alias); then the stages after the searches ([limit], [network]). */
static int report_kernels(h5file_t *f, FILE *out, report_format_t format)
{
    int st = h5_exists(f, "/nngp", NULL) ? report_nngp(f, out, format) : NN_OK;
    if (!st && h5_exists(f, "/ntk", NULL))
        st = report_ntk(f, out, format);
    if (!st)
        report_limit(f, out, format);
    return st ? st : report_network(f, out, format);
}

int report_print(const char *path, FILE *out, report_format_t format, const char *png_dir)
{
    h5file_t *f = h5_open(path);
    if (!f)
        return NN_ERR_INPUT;
    char *program = NULL, *state = NULL, *experiment = NULL, *job = NULL;
    int st = h5_read_attr_str(f, "/", "program", &program);
    if (st || strcmp(program, "nnsweep") != 0 ||
        h5_read_attr_str(f, "/", "experiment", &experiment) != NN_OK) {
        st = nn_fail(NN_ERR_INPUT, "%s: not an nnsweep results file (no 'program' = 'nnsweep' "
                                   "and 'experiment' root attributes)", path);
        goto done;
    }
    h5_read_attr_str(f, "/", "state", &state);
    h5_read_attr_str(f, "/", "job_file", &job);
    if (format != REPORT_CSV) {
        fprintf(out, "%s: %s results of job %s, state %s\n", path, experiment, job ? job : "?",
                state ? state : "?");
        if (state && strcmp(state, "complete") != 0)
            fprintf(out, "This file is incomplete (%s): it holds what was finished so far%s.\n",
                     state, strcmp(state, "interrupted") == 0 ? "; continue it with --resume" : "");
    }
    if (strcmp(experiment, "nngp") == 0)
        st = report_kernels(f, out, format);
    else if (strcmp(experiment, "cnn") == 0)
        st = report_cnn(f, out, format);
    else if (strcmp(experiment, "dream") == 0)
        st = report_dream(f, out, format);
    else
        st = nn_fail(NN_ERR_INPUT, "%s: unknown experiment '%s'", path, experiment);
    if (st != NN_OK)
        nn_fail_context(st, "%s: ", path);
    else if (png_dir)
        st = report_figures(f, experiment, png_dir, out, format);
done:
    free(program);
    free(state);
    free(experiment);
    free(job);
    h5_close(&f);
    return st;
}
