/* table.h - private to the report module: a small table of strings printed as aligned text,
 * markdown or CSV. */
#ifndef REPORT_TABLE_H
#define REPORT_TABLE_H

#include <stdio.h>

#include "report.h"

#define TABLE_MAX_COLS 16
#define TABLE_CELL 48

typedef struct {
    int ncols, nrows, cap;
    char head[TABLE_MAX_COLS][TABLE_CELL];
    char (*cells)[TABLE_MAX_COLS][TABLE_CELL];
} table_t;

/* Starts a table with the given column headings (NULL-terminated list). */
void table_init(table_t *t, const char *const *headings);
/* Appends a row; each cell printf-formatted from the list of strings given. Returns 0 or NN_ERR_NOMEM. */
int table_add_row(table_t *t, const char *const *cells);
void table_print(const table_t *t, FILE *out, report_format_t format);
void table_free(table_t *t);
/* A number as a cell: v with the printf format spec (one double), or "-" when v is NaN. */
void table_number(char *cell, const char *spec, double v);

#endif
