/* cmd_report.c - `nnsweep report FILE.h5 [--format text|markdown|csv] [--png DIR]`. No MPI.
 * Creates the figure directory (and its parents) before reading anything. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nn_error.h"
#include "nn_log.h"
#include "report.h"

static const char report_usage[] =
    "usage: nnsweep report FILE.h5 [--format text|markdown|csv] [--png DIR]\n"
    "\n"
    "Prints the tables of a results file: for an NNGP sweep the best model per depth under each\n"
    "selection rule, the overall best, the most and least uncertain test examples and the time\n"
    "per phase; for CNN training the final metrics of each run, its accuracy under input noise,\n"
    "size and speed, and the settings that differ between the variants with their accuracy.\n"
    "Works on incomplete files (state running or interrupted) and says so.\n"
    "\n"
    "  --format F   text (aligned columns, the default), markdown or csv\n"
    "  --png DIR    also write the figures as PNG files into DIR (created if missing):\n"
    "               nngp-accuracy-depth.png     test accuracy against depth, per selection rule\n"
    "               nngp-accuracy-heatmaps.png  accuracy over (sigma_w2, sigma_b2), per depth\n"
    "               nngp-uncertain-examples.png the most and least uncertain test images\n"
    "               nngp-time-per-phase.png     seconds per phase\n"
    "               cnn-loss-curves.png         loss against epoch, per run (train and test)\n"
    "               cnn-accuracy-curves.png     accuracy against epoch, per run\n"
    "               cnn-confusion-RUN.png       confusion matrix of each finished run\n"
    "               cnn-noise-accuracy.png      test accuracy with and without input noise\n"
    "\n"
    "Exit status: 0 ok; 2 FILE.h5 missing or not an nnsweep results file, or DIR not writable.\n";

int cmd_report(int argc, char **argv)
{
    const char *path = NULL, *png_dir = NULL;
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
        } else if (!strcmp(argv[i], "--png") && i + 1 < argc) {
            png_dir = argv[++i];
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
    char why[4200];
    if (png_dir && cli_make_dir(png_dir, why, sizeof why) != 0) {
        fprintf(stderr, "nnsweep report: --png %s: %s\n", png_dir, why);
        return NN_EXIT_INPUT;
    }
    int st = report_print(path, stdout, format, png_dir);
    if (st != NN_OK)
        log_error("%s", nn_errmsg());
    return nn_exit_status(st);
}
