/* cmd_cnn.c - `nnsweep cnn JOB.ini [--out FILE] [--quiet]`: parse the options, start MPI, load
 * and broadcast the job and data, train every run of the job (sweep_cnn). Resuming a stopped job
 * and benchmarking are not part of this version. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_signal.h"
#include "par.h"
#include "sweep.h"

static const char cnn_usage[] =
    "usage: nnsweep cnn JOB.ini [--out FILE] [--quiet]\n"
    "\n"
    "Trains the CNN of a job file's [cnn] section, or one run per [variant NAME] section.\n"
    "Each run is trained data-parallel by a group of group_size MPI ranks (default: all ranks):\n"
    "identical replicas, every global batch split across the group, gradients summed over it.\n"
    "Runs are handed to groups dynamically (mpirun -np N / srun). The results file is rewritten\n"
    "after every finished run: /cnn/<run>/ holds the per-epoch curves, the confusion matrix, the\n"
    "accuracy under input noise and the trained weights.\n"
    "\n"
    "  --out FILE   results file (default: [output] file, else results/<job name>.h5)\n"
    "  --quiet      no progress output\n"
    "\n"
    "A run stopped midway is not resumed: SIGTERM/SIGUSR1 stop the job between runs (the file\n"
    "keeps every finished run, state 'interrupted', exit status 75).\n";

typedef struct {
    const char *job_path, *out_path;
    int quiet;
} cnn_args_t;

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, cnn_args_t *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(cnn_usage, stdout);
            return NN_EXIT_OK;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            a->out_path = argv[++i];
        } else if (!strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else if (argv[i][0] == '-' || a->job_path) {
            fprintf(stderr, "nnsweep cnn: unexpected argument '%s'\n\n%s", argv[i], cnn_usage);
            return NN_EXIT_INPUT;
        } else {
            a->job_path = argv[i];
        }
    }
    if (!a->job_path) {
        fprintf(stderr, "nnsweep cnn: missing JOB.ini\n\n%s", cnn_usage);
        return NN_EXIT_INPUT;
    }
    return -1;
}

int cmd_cnn(int argc, char **argv)
{
    cnn_args_t a;
    int exit_status = parse_args(argc, argv, &a);
    if (exit_status >= 0)
        return exit_status;
    char *cmdline = cli_command_line(argc + 2, argv - 2);   /* argv[-2..-1]: program, "cnn" */
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
    if (st == NN_OK && !job.cnn.enabled)
        st = nn_fail(NN_ERR_INPUT, "%s: no [cnn] section: nothing to train", a.job_path);
    if (st == NN_OK) {
        /* One run per group at a time: the rank's cores go to BLAS inside the layers. */
        int threads = cli_set_threads();
        const char *blas = getenv("OPENBLAS_NUM_THREADS");
        if (!(blas && *blas))
            openblas_set_num_threads(threads);
        log_info("%d MPI rank(s) x %d thread(s)", par_size(), threads);
        st = cli_load_data(&job, &ds);
    }
    const char *out = a.out_path ? a.out_path : job.output.file;
    if (st == NN_OK) {
        sweep_options_t opt = {.out_path = out, .command_line = cmdline, .resume = 0,
                               .threads = 1};
        st = sweep_cnn(&job, &ds, &opt);
    }
    if (st == NN_OK && par_rank() == 0)
        log_info("results written to %s", out);
    exit_status = cli_report_error(st);
    free(cmdline);
    dataset_free(&ds);
    job_free(&job);
    par_finalize();
    return exit_status;
}
