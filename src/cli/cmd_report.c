/* cmd_report.c - `nnsweep report FILE.h5 [--format text|markdown|csv]`. No MPI. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nn_error.h"
#include "nn_log.h"
#include "report.h"

static const char report_usage[] =
    "usage: nnsweep report FILE.h5 [--format text|markdown|csv]\n"
    "\n"
    "Prints the tables of a results file: for an NNGP sweep the best model per depth under each\n"
    "selection rule, the overall best, the most and least uncertain test examples and the time\n"
    "per phase. Works on incomplete files (state running or interrupted) and says so.\n";

int cmd_report(int argc, char **argv)
{
    const char *path = NULL;
    report_format_t format = REPORT_TEXT;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(report_usage, stdout);
            return NN_EXIT_OK;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            const char *f = argv[++i];
            if (!strcmp(f, "text"))
                format = REPORT_TEXT;
            else if (!strcmp(f, "markdown"))
                format = REPORT_MARKDOWN;
            else if (!strcmp(f, "csv"))
                format = REPORT_CSV;
            else {
                fprintf(stderr, "nnsweep report: unknown format '%s' (text, markdown, csv)\n", f);
                return NN_EXIT_INPUT;
            }
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "nnsweep report: unexpected argument '%s'\n\n%s", argv[i], report_usage);
            return NN_EXIT_INPUT;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "nnsweep report: missing FILE.h5\n\n%s", report_usage);
        return NN_EXIT_INPUT;
    }
    int st = report_print(path, stdout, format, NULL);
    if (st != NN_OK)
        log_error("%s", nn_errmsg());
    return nn_exit_status(st);
}
