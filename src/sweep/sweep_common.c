/* sweep_common.c - the resume check both drivers make: an earlier results file is continued only
 * when the same job file wrote it. Reading the results themselves is each driver's business. */
#include "sweep_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_error.h"
#include "nn_log.h"

int sweep_resume_open(const char *path, const char *experiment, const char *job_text,
                      h5file_t **f)
{
    *f = NULL;
    if (access(path, F_OK) != 0)
        return NN_OK;   /* nothing to resume: start from the beginning */
    h5file_t *h = h5_open(path);
    if (!h) {
        char why[1024];   /* nn_fail must not read the message it overwrites */
        snprintf(why, sizeof why, "%s", nn_errmsg());
        return nn_fail(NN_ERR_INPUT, "%s; it is left as it is: --restart moves it aside and "
                       "starts over", why);
    }
    char *text = NULL, *kind = NULL;
    int st = h5_read_attr_str(h, "/", "job_text", &text);
    if (!st) st = h5_read_attr_str(h, "/", "experiment", &kind);
    if (st)
        st = nn_fail(NN_ERR_INPUT, "%s: cannot resume: not an nnsweep results file", path);
    else if (strcmp(kind, experiment) != 0 || strcmp(text, job_text) != 0)
        st = nn_fail(NN_ERR_INPUT,
                     "%s: cannot resume: the file was written by a different job file; "
                     "use the same job file, or another --out / [output] file",
                     path);
    free(text);
    free(kind);
    if (st)
        h5_close(&h);
    *f = h;
    return st;
}

int sweep_check_verdict(const char *verdict, const char *what, int strict)
{
    if (strcmp(verdict, "FAILED") != 0) {
        log_info("self-check %s: %s", verdict, what);
        return NN_OK;
    }
    int st = nn_fail(NN_ERR_CHECK, "self-check FAILED: %s", what);
    if (strict)
        return st;
    log_warn("%s", nn_errmsg());
    return NN_OK;
}
