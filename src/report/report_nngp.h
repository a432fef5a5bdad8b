/* report_nngp.h - private to the report module: the NNGP part of a report. */
#ifndef REPORT_NNGP_H
#define REPORT_NNGP_H

#include <stdio.h>

#include "h5io.h"
#include "report.h"

/* Prints the NNGP tables of an open results file. Returns 0 or NN_ERR_INPUT. */
int report_nngp(h5file_t *f, FILE *out, report_format_t format);

#endif
