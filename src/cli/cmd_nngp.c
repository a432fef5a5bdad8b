/* cmd_nngp.c - `nnsweep nngp JOB.ini [--out FILE] [--resume]`: parse the options, start MPI,
 * load and broadcast the job and data, run the sweep, print the per-depth table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_signal.h"
#include "par.h"
#include "report.h"
#include "sweep.h"

static const char nngp_usage[] =
    "usage: nnsweep nngp JOB.ini [--out FILE] [--resume] [--quiet]\n"
    "\n"
    "Runs the NNGP sweep of a job file: for every (sigma_w2, sigma_b2) pair the kernel recursion\n"
    "gives every depth in one pass; each depth is one Cholesky factorization. MPI ranks share the\n"
    "grid (mpirun -np N / srun). The results file is rewritten after every finished item.\n"
    "\n"
    "  --out FILE   results file (default: [output] file, else results/<job name>.h5)\n"
    "  --resume     skip the items an earlier run of the same job finished in FILE; starts from\n"
    "               the beginning when FILE does not exist (so job scripts can always pass it)\n"
    "  --quiet      no progress output\n"
    "\n"
    "SIGTERM or SIGUSR1 stops the sweep at the next item boundary, writes the file with state\n"
    "'interrupted' and exits with status 75: run again with --resume.\n";

typedef struct {
    const char *job_path, *out_path;
    int resume, quiet;
} nngp_args_t;

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, nngp_args_t *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(nngp_usage, stdout);
            return NN_EXIT_OK;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            a->out_path = argv[++i];
        } else if (!strcmp(argv[i], "--resume")) {
            a->resume = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else if (argv[i][0] == '-' || a->job_path) {
            fprintf(stderr, "nnsweep nngp: unexpected argument '%s'\n\n%s", argv[i], nngp_usage);
            return NN_EXIT_INPUT;
        } else {
            a->job_path = argv[i];
        }
    }
    if (!a->job_path) {
        fprintf(stderr, "nnsweep nngp: missing JOB.ini\n\n%s", nngp_usage);
        return NN_EXIT_INPUT;
    }
    return -1;
}

int cmd_nngp(int argc, char **argv)
{
    nngp_args_t a;
    int exit_status = parse_args(argc, argv, &a);
    if (exit_status >= 0)
        return exit_status;
    char *cmdline = cli_command_line(argc + 2, argv - 2);   /* argv[-2..-1]: program, "nngp" */
    int st = par_init(&argc, &argv);
    if (st != NN_OK) {
        log_error("%s", nn_errmsg());
        free(cmdline);
        return NN_EXIT_RUNTIME;
    }
    log_set_quiet(a.quiet);
    job_t job;
    dataset_t ds;
    memset(&job, 0, sizeof job);
    memset(&ds, 0, sizeof ds);
    st = par_agree(par_check_slurm());
    if (st == NN_OK)
        st = par_agree(signal_install());
    if (st == NN_OK)
        st = cli_load_job(a.job_path, &job);
    if (st == NN_OK && !job.nngp.enabled)
        st = nn_fail(NN_ERR_INPUT, "%s: no [nngp] section: nothing to sweep", a.job_path);
    int threads = 1;
    if (st == NN_OK) {
        threads = cli_set_threads();
        log_info("%d MPI rank(s) x %d thread(s)", par_size(), threads);
        st = cli_load_data(&job, &ds);
    }
    const char *out = a.out_path ? a.out_path : job.output.file;
    if (st == NN_OK) {
        sweep_options_t opt = {.out_path = out, .command_line = cmdline, .resume = a.resume,
                               .threads = threads};
        st = sweep_nngp(&job, &ds, &opt);
    }
    if (st == NN_OK && par_rank() == 0) {
        log_info("results written to %s", out);
        st = report_print(out, stdout, REPORT_TEXT, NULL);
        if (st != NN_OK)
            log_error("%s", nn_errmsg());
        st = NN_OK;   /* the results are safe; a report problem does not fail the run */
    }
    exit_status = cli_report_error(st);
    free(cmdline);
    dataset_free(&ds);
    job_free(&job);
    par_finalize();
    return exit_status;
}
