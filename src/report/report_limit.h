/* report_limit.h - private to the report module: the [limit] stage of an NNGP file (/limit) read
 * once for the report's table (report_limit.c) and its figure (figures_limit.c). */
#ifndef REPORT_LIMIT_H
#define REPORT_LIMIT_H

#include <stdio.h>

#include "h5io.h"
#include "report.h"

/* /limit's arrays; [depth][width] ones row-major. All owned; limit_data_free releases them. */
typedef struct {
    size_t nd, nw;
    double *depth, *width;                     /* [nd], [nw] */
    double *error, *error_stderr, *bias;       /* [nd][nw], NaN where not measured */
    unsigned char *done;                       /* [nd][nw] */
    double *sigma_w2, *sigma_b2, *slope;       /* [nd] */
    long long samples, points;
} limit_data_t;

/* Reads /limit of f into l. Returns 1, or 0 when the file has no /limit or it is unreadable (l
 * then holds nothing to free). */
int limit_data_load(h5file_t *f, limit_data_t *l);
void limit_data_free(limit_data_t *l);

/* Prints the /limit tables (error per depth and width, slope per depth); nothing without
 * /limit. */
void report_limit(h5file_t *f, FILE *out, report_format_t format);

#endif
