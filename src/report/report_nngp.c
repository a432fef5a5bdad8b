/* report_nngp.c - the text part of an NNGP report: per-depth best models under each selection
 * rule, the overall best, the uncertainty summary and the time per phase, read from the file. */
#include "report_nngp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "nn_error.h"
#include "table.h"

static const char *const rules[] = {"test_accuracy", "validation_accuracy", "log_marginal_likelihood"};

/* Reads a 1-D f64 dataset of known length n into a malloc'd array; NULL if absent or on error. */
static double *read_vec(h5file_t *f, const char *path, size_t n)
{
    double *v = malloc(n * sizeof *v);
    if (v && h5_read_f64(f, path, v, n) != NN_OK) {
        free(v);
        return NULL;
    }
    return v;
}

static int print_best_table(h5file_t *f, FILE *out, report_format_t format, const char *rule,
                            const double *depth, size_t nd)
{
    static const char *const cols[] = {"sigma_w2", "sigma_b2", "test_accuracy",
                                       "validation_accuracy", "log_marginal_likelihood", "noise_used"};
    double *v[6];
    char path[160], *rule_text = NULL;
    for (int c = 0; c < 6; c++) {
        snprintf(path, sizeof path, "/nngp/best/%s/%s", rule, cols[c]);
        v[c] = read_vec(f, path, nd);
    }
    snprintf(path, sizeof path, "/nngp/best/%s", rule);
    h5_read_attr_str(f, path, "rule", &rule_text);
    int have_valid = v[3] != NULL;
    for (size_t d = 0; have_valid && d < nd; d++)
        have_valid = !isnan(v[3][d]);
    table_t t;
    const char *head[] = {"depth", "sigma_w2", "sigma_b2", "test_acc", "valid_acc", "log_ml",
                          "noise", NULL};
    if (!have_valid) {   /* drop the validation column when the job has no validation split */
        head[4] = "log_ml";
        head[5] = "noise";
        head[6] = NULL;
    }
    table_init(&t, head);
    int st = NN_OK;
    for (size_t d = 0; d < nd && st == NN_OK && v[0] && v[1] && v[2] && v[4] && v[5]; d++) {
        char c[7][TABLE_CELL];
        snprintf(c[0], TABLE_CELL, "%g", depth[d]);
        table_number(c[1], "%.4g", v[0][d]);
        table_number(c[2], "%.4g", v[1][d]);
        table_number(c[3], "%.4f", v[2][d]);
        int k = 4;
        if (have_valid)
            table_number(c[k++], "%.4f", v[3][d]);
        table_number(c[k++], "%.2f", v[4][d]);
        table_number(c[k++], "%.1e", v[5][d]);
        const char *row[7] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
        st = table_add_row(&t, row);
    }
    if (format == REPORT_CSV)
        fprintf(out, "# best model per depth, rule: %s\n", rule_text ? rule_text : rule);
    else
        fprintf(out, "\nBest model per depth, selected by %s:\n\n", rule_text ? rule_text : rule);
    table_print(&t, out, format);
    table_free(&t);
    free(rule_text);
    for (int c = 0; c < 6; c++)
        free(v[c]);
    return st;
}

/* /nngp/final (search_train): each depth's selected model fitted on every training example,
 * beside its test accuracy in the search. */
static int print_final(h5file_t *f, FILE *out, report_format_t format, const double *depth,
                       size_t nd)
{
    static const char *const cols[] = {"/nngp/final/sigma_w2", "/nngp/final/sigma_b2",
                                       "/nngp/best/test_accuracy/test_accuracy",
                                       "/nngp/final/test_accuracy",
                                       "/nngp/final/log_marginal_likelihood",
                                       "/nngp/final/noise_used", "/nngp/final/seconds"};
    enum { NC = sizeof cols / sizeof cols[0] };
    double *v[NC];
    int have = 1;
    for (int c = 0; c < NC; c++)
        have &= (v[c] = read_vec(f, cols[c], nd)) != NULL;
    unsigned char *done = malloc(nd);
    have &= done && h5_read_u8(f, "/nngp/final/done", done, nd) == NN_OK;
    long long ntrain = 0, nsearch = 0;
    h5_read_attr_int(f, "/nngp/final", "ntrain", &ntrain);
    h5_read_attr_int(f, "/nngp", "ntrain", &nsearch);
    table_t t;
    const char *head[] = {"depth", "sigma_w2", "sigma_b2", "search_acc", "final_acc", "log_ml",
                          "noise", "seconds", NULL};
    table_init(&t, head);
    int st = NN_OK;
    for (size_t d = 0; d < nd && st == NN_OK && have; d++) {
        char c[NC + 1][TABLE_CELL];
        snprintf(c[0], TABLE_CELL, "%g", depth[d]);
        static const char *const spec[NC] = {"%.4g", "%.4g", "%.4f", "%.4f", "%.2f", "%.1e", "%.2f"};
        for (int k = 0; k < NC; k++)
            table_number(c[k + 1], spec[k], k >= 3 && !done[d] ? NAN : v[k][d]);
        const char *row[NC + 1] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
        st = table_add_row(&t, row);
    }
    if (have) {
        if (format == REPORT_CSV)
            fprintf(out, "# final fits on all %lld training examples\n", ntrain);
        else
            fprintf(out, "\nFinal fits on all %lld training examples of each depth's best model by "
                         "test accuracy in the search on %lld (search_acc; - : not fitted yet):\n\n",
                    ntrain, nsearch);
        table_print(&t, out, format);
    }
    table_free(&t);
    for (int c = 0; c < NC; c++)
        free(v[c]);
    free(done);
    return have ? st : nn_fail(NN_ERR_INPUT, "/nngp/final: arrays missing or unreadable");
}

static void print_overall_best(h5file_t *f, FILE *out, const double *depth, size_t nd)
{
    double *acc = read_vec(f, "/nngp/best/test_accuracy/test_accuracy", nd);
    double *sw = read_vec(f, "/nngp/best/test_accuracy/sigma_w2", nd);
    double *sb = read_vec(f, "/nngp/best/test_accuracy/sigma_b2", nd);
    if (acc && sw && sb) {
        size_t best = nd;
        for (size_t d = 0; d < nd; d++)
            if (!isnan(acc[d]) && (best == nd || acc[d] > acc[best]))
                best = d;
        if (best < nd)
            fprintf(out, "\nOverall best (test accuracy): depth %g, sigma_w2 %.4g, sigma_b2 %.4g, "
                         "test accuracy %.4f\n", depth[best], sw[best], sb[best], acc[best]);
    }
    free(acc);
    free(sw);
    free(sb);
}

static void print_uncertainty(h5file_t *f, FILE *out, report_format_t format, const double *depth,
                              size_t nd)
{
    if (!h5_exists(f, "/nngp/uncertainty/most_uncertain/variance", NULL))
        return;
    const char *head[] = {"depth", "which", "test_pos", "file_index", "label", "predicted",
                          "variance", NULL};
    table_t t;
    table_init(&t, head);
    const char *which[2] = {"most_uncertain", "least_uncertain"};
    for (int w = 0; w < 2; w++) {
        char path[160];
        int *pos = malloc(nd * 2 * sizeof(int)), *src = malloc(nd * 2 * sizeof(int));
        int *lab = malloc(nd * 2 * sizeof(int)), *pred = malloc(nd * 2 * sizeof(int));
        double *var = malloc(nd * 2 * sizeof(double));
        int ok = pos && src && lab && pred && var;
#define RD(kind, name, buf) (snprintf(path, sizeof path, "/nngp/uncertainty/%s/%s", which[w], name), \
                             ok = ok && h5_read_##kind(f, path, buf, nd * 2) == NN_OK)
        RD(i32, "test_position", pos);
        RD(i32, "source_index", src);
        RD(i32, "label", lab);
        RD(i32, "predicted", pred);
        RD(f64, "variance", var);
#undef RD
        for (size_t d = 0; ok && d < nd; d++)
            for (int j = 0; j < 2; j++) {
                size_t o = d * 2 + j;
                if (pos[o] < 0)
                    continue;
                char c[7][TABLE_CELL];
                snprintf(c[0], TABLE_CELL, "%g", depth[d]);
                snprintf(c[1], TABLE_CELL, "%s", w == 0 ? "most" : "least");
                snprintf(c[2], TABLE_CELL, "%d", pos[o]);
                snprintf(c[3], TABLE_CELL, "%d", src[o]);
                snprintf(c[4], TABLE_CELL, "%d", lab[o]);
                snprintf(c[5], TABLE_CELL, "%d", pred[o]);
                snprintf(c[6], TABLE_CELL, "%.4g", var[o]);
                const char *row[7] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
                table_add_row(&t, row);
            }
        free(pos); free(src); free(lab); free(pred); free(var);
    }
    if (format != REPORT_CSV)
        fprintf(out, "\nMost and least uncertain test examples (predictive variance of the best "
                     "model per depth; label/predicted are class positions):\n\n");
    else
        fprintf(out, "# uncertainty\n");
    table_print(&t, out, format);
    table_free(&t);
}

static void print_timing(h5file_t *f, FILE *out, report_format_t format)
{
    int rank;
    size_t dims[H5IO_MAX_RANK];
    if (h5_dims(f, "/nngp/timing/phase_seconds", &rank, dims) != NN_OK || rank != 1)
        return;
    static const char *const names[] = {"gram", "recursion", "factorization", "solve", "variance"};
    double *sec = read_vec(f, "/nngp/timing/phase_seconds", dims[0]);
    if (!sec)
        return;
    double total = 0;
    for (size_t p = 0; p < dims[0]; p++)
        total += sec[p];
    const char *head[] = {"phase", "seconds", "share", NULL};
    table_t t;
    table_init(&t, head);
    for (size_t p = 0; p < dims[0] && p < 5; p++) {
        char c[3][TABLE_CELL];
        snprintf(c[0], TABLE_CELL, "%s", names[p]);
        snprintf(c[1], TABLE_CELL, "%.3f", sec[p]);
        snprintf(c[2], TABLE_CELL, "%.1f%%", total > 0 ? 100 * sec[p] / total : 0.0);
        const char *row[3] = {c[0], c[1], c[2]};
        table_add_row(&t, row);
    }
    if (format != REPORT_CSV)
        fprintf(out, "\nTime per phase (summed over ranks; the gram phase once per rank):\n\n");
    else
        fprintf(out, "# time per phase\n");
    table_print(&t, out, format);
    table_free(&t);
    free(sec);
}

/* Rows of the self-check table for the fits under /nngp/check/<fits> into t. */
static void add_check_rows(h5file_t *f, table_t *t, const char *fits, const double *depth,
                           size_t nd)
{
    char path[3][96];
    static const char *const names[3] = {"solve_residual", "factor_residual", "passed"};
    for (int k = 0; k < 3; k++)
        snprintf(path[k], sizeof path[k], "/nngp/check/%s/%s", fits, names[k]);
    double *solve = read_vec(f, path[0], nd), *factor = read_vec(f, path[1], nd);
    int *passed = malloc(nd * sizeof *passed);
    if (solve && factor && passed && h5_read_i32(f, path[2], passed, nd) == NN_OK)
        for (size_t d = 0; d < nd; d++) {
            char c[5][TABLE_CELL];
            snprintf(c[0], TABLE_CELL, "%g", depth[d]);
            snprintf(c[1], TABLE_CELL, "%s", fits);
            table_number(c[2], "%.2g", solve[d]);
            table_number(c[3], "%.2g", factor[d]);
            snprintf(c[4], TABLE_CELL, "%s", passed[d] < 0 ? "-" : passed[d] ? "PASSED" : "FAILED");
            const char *row[5] = {c[0], c[1], c[2], c[3], c[4]};
            table_add_row(t, row);
        }
    free(solve);
    free(factor);
    free(passed);
}

/* The self-check of every fit (/nngp/check) of the kernel named kernel ("K", "Theta") and the
 * run's verdict; nothing for a file written before nnsweep checked its fits. */
static void print_check(h5file_t *f, FILE *out, report_format_t format, const double *depth,
                        size_t nd, const char *kernel)
{
    char *verdict = NULL;
    double threshold = NAN;
    long long rows = 0;
    if (h5_read_attr_str(f, "/nngp/check", "result", &verdict) != NN_OK)
        return;
    h5_read_attr_double(f, "/nngp/check", "threshold", &threshold);
    h5_read_attr_int(f, "/nngp/check/posterior", "rows_checked", &rows);
    const char *head[] = {"depth", "fit", "solve", "factor", "check", NULL};
    table_t t;
    table_init(&t, head);
    add_check_rows(f, &t, "posterior", depth, nd);
    if (h5_exists(f, "/nngp/check/final", NULL))
        add_check_rows(f, &t, "final", depth, nd);
    if (format != REPORT_CSV)
        fprintf(out, "\nSelf-check of every fit (scaled residuals of the solve and of the "
                     "factorization on %lld rows of %s + s2 I recomputed from the points; "
                     "threshold %g):\n\n", rows, kernel, threshold);
    else
        fprintf(out, "# self-check\n");
    table_print(&t, out, format);
    if (format != REPORT_CSV)
        fprintf(out, "\nSelf-check: %s\n", verdict);
    table_free(&t);
    free(verdict);
}

int report_nngp(h5file_t *f, FILE *out, report_format_t format)
{
    int rank;
    size_t dims[H5IO_MAX_RANK], nw[H5IO_MAX_RANK], nb[H5IO_MAX_RANK];
    int st = h5_dims(f, "/nngp/depth", &rank, dims);
    if (!st) st = h5_dims(f, "/nngp/sigma_w2", &rank, nw);
    if (!st) st = h5_dims(f, "/nngp/sigma_b2", &rank, nb);
    if (st)
        return st;
    size_t nd = dims[0], items = nw[0] * nb[0];
    double *depth = read_vec(f, "/nngp/depth", nd);
    unsigned char *done = malloc(items);
    if (!depth || !done || h5_read_u8(f, "/nngp/item_done", done, items) != NN_OK) {
        free(depth);
        free(done);
        return nn_fail(NN_ERR_INPUT, "NNGP arrays are missing or unreadable");
    }
    size_t ndone = 0;
    for (size_t i = 0; i < items; i++)
        ndone += done[i];
    long long ntrain = 0, ntest = 0, nvalid = 0;
    h5_read_attr_int(f, "/nngp", "ntrain", &ntrain);
    h5_read_attr_int(f, "/nngp", "ntest", &ntest);
    h5_read_attr_int(f, "/nngp", "nvalidation", &nvalid);
    char *kernel = NULL;
    int ntk = h5_read_attr_str(f, "/nngp", "kernel", &kernel) == NN_OK && !strcmp(kernel, "ntk");
    free(kernel);
    if (format != REPORT_CSV)
        fprintf(out, "%s sweep: %lld train%s / %lld test%s; grid %zu depths x %zu sigma_w2 x %zu "
                     "sigma_b2; %zu of %zu (sigma_w2, sigma_b2) items done\n",
                ntk ? "NTK" : "NNGP", ntrain,
                h5_exists(f, "/nngp/final", NULL) ? " (a search; final fits below)" : "",
                ntest, nvalid ? " (+ validation)" : "", nd, nw[0], nb[0], ndone, items);
    if (ndone < items && format != REPORT_CSV)
        fprintf(out, "The best models below are chosen among the finished items only.\n");
    for (int r = 0; r < 3 && st == NN_OK; r++) {
        char path[96];
        snprintf(path, sizeof path, "/nngp/best/%s", rules[r]);
        if (h5_exists(f, path, NULL))
            st = print_best_table(f, out, format, rules[r], depth, nd);
    }
    if (st == NN_OK && h5_exists(f, "/nngp/final/done", NULL))
        st = print_final(f, out, format, depth, nd);
    if (format != REPORT_CSV)
        print_overall_best(f, out, depth, nd);
    print_uncertainty(f, out, format, depth, nd);
    print_timing(f, out, format);
    print_check(f, out, format, depth, nd, ntk ? "Theta" : "K");
    free(depth);
    free(done);
    return st;
}
