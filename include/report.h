/* report.h - tables (and figures) from a results file alone: what `nnsweep report` prints and
 * what `nnsweep nngp` shows at the end. Reads through h5io; never needs the job or the data. */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

typedef enum { REPORT_TEXT, REPORT_MARKDOWN, REPORT_CSV } report_format_t;

/* Prints the report of the results file at path to out. png_dir, when not NULL, also receives the
 * figures. Returns 0, or NN_ERR_INPUT when path is missing or not an nnsweep results file. */
int report_print(const char *path, FILE *out, report_format_t format, const char *png_dir);

#endif
