/* report_cnn.c - the text part of a CNN report: final metrics per run, accuracy under input noise
 * with size and speed per run, and the variants compared (only the settings that differ between
 * the runs, with their test accuracy). Unfinished runs are listed as such. No figures here. */
#include "report_cnn.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_results.h"
#include "nn_error.h"
#include "table.h"

/* What the epochs column says: the count, and whether the run is unfinished. */
static void epochs_cell(const cnn_result_t *r, char *buf)
{
    if (r->done)
        snprintf(buf, TABLE_CELL, "%d", r->epochs);
    else if (r->epochs > 0)
        snprintf(buf, TABLE_CELL, "%d (not finished)", r->epochs);
    else
        snprintf(buf, TABLE_CELL, "not finished");
}

/* Appends the row of cells c[0..n-1]. Returns 0 or NN_ERR_NOMEM. */
static int add_cells(table_t *t, char (*c)[TABLE_CELL], int n)
{
    const char *row[TABLE_MAX_COLS];
    for (int j = 0; j < n && j < TABLE_MAX_COLS; j++)
        row[j] = c[j];
    return table_add_row(t, row);
}

/* Prints t under its heading (a "# csv" comment line in CSV, the text otherwise) and frees it. */
static void print_table(table_t *t, FILE *out, report_format_t format, const char *csv,
                        const char *text)
{
    if (format == REPORT_CSV)
        fprintf(out, "# %s\n", csv);
    else
        fprintf(out, "\n%s\n\n", text);
    table_print(t, out, format);
    table_free(t);
}

static int print_final_metrics(const cnn_results_t *r, FILE *out, report_format_t format)
{
    const char *head[] = {"run", "epochs", "train_loss", "train_acc", "test_loss", "test_acc",
                          "best_test_acc", "best_epoch", NULL};
    table_t t;
    table_init(&t, head);
    int st = NN_OK;
    for (int i = 0; i < r->n && !st; i++) {
        const cnn_result_t *u = &r->run[i];
        char c[8][TABLE_CELL];
        int best_epoch;
        snprintf(c[0], TABLE_CELL, "%s", u->name);
        epochs_cell(u, c[1]);
        table_number(c[2], "%.4f", cnn_result_last(u, CR_TRAIN_LOSS));
        table_number(c[3], "%.4f", cnn_result_last(u, CR_TRAIN_ACC));
        table_number(c[4], "%.4f", cnn_result_last(u, CR_TEST_LOSS));
        table_number(c[5], "%.4f", cnn_result_last(u, CR_TEST_ACC));
        table_number(c[6], "%.4f", cnn_result_max(u, CR_TEST_ACC, &best_epoch));
        table_number(c[7], "%.0f", best_epoch > 0 ? (double)best_epoch : NAN);
        st = add_cells(&t, c, 8);
    }
    print_table(&t, out, format, "cnn final metrics per run",
                "Final metrics per run (after the last epoch; accuracy as a fraction; train: running "
                "average over the\nepoch's batches; best_test_acc: highest test accuracy of any epoch, "
                "reached at best_epoch):");
    return st;
}

static int print_noise_and_cost(const cnn_results_t *r, FILE *out, report_format_t format)
{
    const char *head[] = {"run", "noise_acc(0.05)", "noise_acc(0.01)", "noise_acc(0.005)",
                          "params", "MB", "seconds", "images/s", NULL};
    table_t t;
    table_init(&t, head);
    int st = NN_OK;
    for (int i = 0; i < r->n && !st; i++) {
        const cnn_result_t *u = &r->run[i];
        char c[8][TABLE_CELL];
        snprintf(c[0], TABLE_CELL, "%s", u->name);
        for (int k = 0; k < CR_NOISE_LEVELS; k++)
            table_number(c[1 + k], "%.4f", u->noise[k]);
        table_number(c[4], "%.0f", u->nparams >= 0 ? (double)u->nparams : NAN);
        table_number(c[5], "%.2f", u->model_mb);
        table_number(c[6], "%.1f", u->seconds);
        table_number(c[7], "%.0f", cnn_result_mean(u, CR_IMAGES_PER_SECOND));
        st = add_cells(&t, c, 8);
    }
    print_table(&t, out, format, "cnn noise accuracy, size and speed per run",
                "Test accuracy with noise added to every image (image + a N(0,1) per pixel, a = 0.05, "
                "0.01, 0.005),\nparameters, model size, training seconds and images/s (mean over "
                "epochs) per run:");
    return st;
}

/* ---- the variants compared ---- */

#define MAX_TOKENS 96
#define MAX_SETTINGS (TABLE_MAX_COLS - 4)

/* Splits a layers string at blanks into at most MAX_TOKENS tokens (pointers into buf). */
static int tokens(const char *s, char *buf, size_t n, char **tok)
{
    snprintf(buf, n, "%s", s);
    int k = 0;
    for (char *c = strtok(buf, " \t"); c && k < MAX_TOKENS; c = strtok(NULL, " \t"))
        tok[k++] = c;
    return k;
}

/* The layers s as a change of ref: the layer tokens removed ("-bn") and added ("+dropout(0.3)")
 * by a longest-common-subsequence match of the token lists, repeats counted ("-bn x2"); "same"
 * when nothing changed. */
static void layers_change(const char *ref, const char *s, char *out, size_t n)
{
    char ba[4096], bb[4096], *a[MAX_TOKENS], *b[MAX_TOKENS];
    int na = tokens(ref, ba, sizeof ba, a), nb = tokens(s, bb, sizeof bb, b);
    static short lcs[MAX_TOKENS + 1][MAX_TOKENS + 1];   /* lcs[i][j]: of a[i..], b[j..] */
    for (int i = na; i >= 0; i--)
        for (int j = nb; j >= 0; j--)
            lcs[i][j] = (short)(i == na || j == nb ? 0
                              : !strcmp(a[i], b[j]) ? lcs[i + 1][j + 1] + 1
                              : lcs[i + 1][j] > lcs[i][j + 1] ? lcs[i + 1][j] : lcs[i][j + 1]);
    /* Changes in order of appearance, each distinct change once with its count. */
    const char *what[2 * MAX_TOKENS];
    char sign[2 * MAX_TOKENS];
    int count[2 * MAX_TOKENS], nch = 0;
    for (int i = 0, j = 0; i < na || j < nb;) {
        char sg;
        const char *w;
        if (i < na && j < nb && !strcmp(a[i], b[j])) {
            i++, j++;
            continue;
        } else if (j < nb && (i == na || lcs[i][j + 1] >= lcs[i + 1][j])) {
            sg = '+', w = b[j++];
        } else {
            sg = '-', w = a[i++];
        }
        int k = 0;
        while (k < nch && !(sign[k] == sg && !strcmp(what[k], w)))
            k++;
        if (k == nch) {
            sign[nch] = sg, what[nch] = w, count[nch++] = 0;
        }
        count[k]++;
    }
    snprintf(out, n, "%s", nch ? "" : "same");
    for (int k = 0; k < nch; k++) {
        size_t len = strlen(out);
        char times[16] = "";
        if (count[k] > 1)
            snprintf(times, sizeof times, " x%d", count[k]);
        snprintf(out + len, n - len, "%s%c%s%s", k ? " " : "", sign[k], what[k], times);
    }
}

/* The settings (job keys) whose values are not the same for every run that has settings. */
static int differing_settings(const cnn_results_t *r, const char **key, int max)
{
    int nkeys = 0;
    char v0[1100], v[1100];
    for (int k = 0; nkeys < max; k++) {
        const char *name = NULL;
        int differs = 0, first = -1;
        for (int i = 0; i < r->n; i++) {
            if (!r->run[i].spec)
                continue;
            name = job_cnn_setting(r->run[i].spec, k, first < 0 ? v0 : v, sizeof v);
            if (!name)
                break;
            if (first < 0)
                first = i;
            else
                differs |= strcmp(v0, v) != 0;
        }
        if (first >= 0 && !name)
            break;
        if (first < 0 && !job_cnn_setting(&r->job.cnn.base, k, v, sizeof v))
            break;
        if (differs)
            key[nkeys++] = name;
    }
    return nkeys;
}

/* Value of the job key of that name in run u, as the table shows it. */
static void setting_cell(const cnn_result_t *u, const cnn_result_t *ref, const char *key,
                         char *buf)
{
    char v[1100];
    const char *name;
    if (!u->spec) {
        snprintf(buf, TABLE_CELL, "?");
        return;
    }
    for (int k = 0; (name = job_cnn_setting(u->spec, k, v, sizeof v)); k++)
        if (!strcmp(name, key))
            break;
    if (!strcmp(key, "layers")) {
        if (u == ref)
            snprintf(buf, TABLE_CELL, "reference");
        else if (ref)
            layers_change(ref->spec->layers, u->spec->layers, buf, TABLE_CELL);
        else
            snprintf(buf, TABLE_CELL, "%.*s", TABLE_CELL - 1, v);
    } else {
        snprintf(buf, TABLE_CELL, "%.*s", TABLE_CELL - 1, name ? v : "?");
    }
}

static int print_comparison(const cnn_results_t *r, FILE *out, report_format_t format)
{
    const char *key[MAX_SETTINGS];
    int nkeys = r->have_job ? differing_settings(r, key, MAX_SETTINGS) : 0;
    const char *head[TABLE_MAX_COLS + 1];
    int nc = 0;
    head[nc++] = "run";
    for (int k = 0; k < nkeys; k++)
        head[nc++] = key[k];
    head[nc++] = "test_acc";
    head[nc++] = "vs_best";
    head[nc++] = "vs_first";
    head[nc] = NULL;
    double best = NAN, first = cnn_result_last(&r->run[0], CR_TEST_ACC);
    for (int i = 0; i < r->n; i++) {
        double a = cnn_result_last(&r->run[i], CR_TEST_ACC);
        if (r->run[i].done && !isnan(a) && (isnan(best) || a > best))
            best = a;
    }
    if (!r->run[0].done)
        first = NAN;
    const cnn_result_t *ref = r->run[0].spec ? &r->run[0] : NULL;

    table_t t;
    table_init(&t, head);
    int st = NN_OK;
    for (int i = 0; i < r->n && !st; i++) {
        const cnn_result_t *u = &r->run[i];
        char c[TABLE_MAX_COLS][TABLE_CELL];
        int k = 0;
        snprintf(c[k++], TABLE_CELL, "%s", u->name);
        for (int s = 0; s < nkeys; s++)
            setting_cell(u, ref, key[s], c[k++]);
        double a = u->done ? cnn_result_last(u, CR_TEST_ACC) : NAN;
        if (u->done)
            table_number(c[k++], "%.4f", a);
        else
            snprintf(c[k++], TABLE_CELL, "not finished");
        table_number(c[k++], "%+.4f", a - best);
        table_number(c[k++], "%+.4f", a - first);
        st = add_cells(&t, c, k);
    }
    char text[512];
    snprintf(text, sizeof text, "Variants compared: %s,\nthe final test accuracy, and its "
             "difference to the best run (vs_best) and to the first run, %s (vs_first):",
             !r->have_job ? "settings unknown"
             : nkeys ? "the settings that differ between the runs (job keys)"
                     : "no setting differs between the runs",
             r->run[0].name);
    print_table(&t, out, format, "cnn variants compared", text);
    const char *pre = format == REPORT_CSV ? "# " : "\n";
    for (int s = 0; s < nkeys; s++)
        if (!strcmp(key[s], "layers") && ref)
            fprintf(out, "%slayers: tokens removed (-) and added (+) relative to %s, whose layers "
                         "are: %s\n", pre, ref->name, ref->spec->layers);
    if (!r->have_job)
        fprintf(out, "%ssettings not compared: %s\n", pre, r->job_error);
    return st;
}

int report_cnn(h5file_t *f, FILE *out, report_format_t format)
{
    cnn_results_t r;
    int st = cnn_results_load(f, &r);
    if (st)
        return st;
    if (format != REPORT_CSV)
        fprintf(out, "CNN training: %d of %d run(s) finished.\n", r.ndone, r.n);
    if (r.n > 0) {
        st = print_final_metrics(&r, out, format);
        if (!st)
            st = print_noise_and_cost(&r, out, format);
        if (!st && r.n > 1)
            st = print_comparison(&r, out, format);
    }
    cnn_results_free(&r);
    return st;
}
