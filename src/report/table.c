/* table.c - aligned text, markdown and CSV (RFC 4180 quoting) output of a table of strings. */
#include "table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

void table_init(table_t *t, const char *const *headings)
{
    memset(t, 0, sizeof *t);
    while (headings[t->ncols] && t->ncols < TABLE_MAX_COLS) {
        snprintf(t->head[t->ncols], TABLE_CELL, "%s", headings[t->ncols]);
        t->ncols++;
    }
}

int table_add_row(table_t *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        void *p = realloc(t->cells, (size_t)cap * sizeof *t->cells);
        if (!p)
            return nn_fail(NN_ERR_NOMEM, "table of %d rows", cap);
        t->cells = p;
        t->cap = cap;
    }
    for (int c = 0; c < t->ncols; c++)
        snprintf(t->cells[t->nrows][c], TABLE_CELL, "%s", cells[c] ? cells[c] : "");
    t->nrows++;
    return NN_OK;
}

/* A CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break. */
static void print_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void print_row(const table_t *t, FILE *out, report_format_t format, const int *width,
                      char (*row)[TABLE_CELL])
{
    for (int c = 0; c < t->ncols; c++) {
        if (format == REPORT_CSV) {
            if (c)
                fputc(',', out);
            print_csv_field(out, row[c]);
        } else if (format == REPORT_MARKDOWN)
            fprintf(out, "| %-*s ", width[c], row[c]);
        else
            fprintf(out, "%s%*s", c ? "  " : "", width[c], row[c]);
    }
    fputs(format == REPORT_MARKDOWN ? "|\n" : "\n", out);
}

void table_print(const table_t *t, FILE *out, report_format_t format)
{
    int width[TABLE_MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        width[c] = (int)strlen(t->head[c]);
        for (int r = 0; r < t->nrows; r++)
            if ((int)strlen(t->cells[r][c]) > width[c])
                width[c] = (int)strlen(t->cells[r][c]);
    }
    print_row(t, out, format, width, (char (*)[TABLE_CELL])t->head);
    if (format == REPORT_MARKDOWN) {
        for (int c = 0; c < t->ncols; c++) {
            fputs("|", out);
            for (int k = 0; k < width[c] + 2; k++)
                fputc(k == width[c] + 1 ? ':' : '-', out);
        }
        fputs("|\n", out);
    }
    for (int r = 0; r < t->nrows; r++)
        print_row(t, out, format, width, t->cells[r]);
}

void table_free(table_t *t)
{
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void table_number(char *cell, const char *spec, double v)
{
    if (isnan(v))
        snprintf(cell, TABLE_CELL, "-");
    else
        snprintf(cell, TABLE_CELL, spec, v);
}
