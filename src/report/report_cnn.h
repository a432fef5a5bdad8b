/* report_cnn.h - private to the report module: the CNN part of a report. */
#ifndef REPORT_CNN_H
#define REPORT_CNN_H

#include <stdio.h>

#include "h5io.h"
#include "report.h"

/* Prints the CNN tables of an open results file: final metrics per run, noise accuracy with size
 * and speed per run, and (two runs or more) the variants compared. Returns 0, NN_ERR_INPUT when
 * /cnn/runs is missing, or NN_ERR_NOMEM. */
int report_cnn(h5file_t *f, FILE *out, report_format_t format);

#endif
