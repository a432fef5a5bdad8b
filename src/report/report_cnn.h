/* report_cnn.h - private to the report module: the CNN part of a report. */
#ifndef REPORT_CNN_H
#define REPORT_CNN_H

#include <stdio.h>

#include "h5io.h"
#include "report.h"

/* Prints the per-run table of an open CNN results file. Returns 0 or NN_ERR_INPUT. */
int report_cnn(h5file_t *f, FILE *out, report_format_t format);

#endif
