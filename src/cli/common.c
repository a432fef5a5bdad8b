/* common.c - steps the computing subcommands share: loading the job and the data on rank 0 and
 * broadcasting them, choosing threads per rank, and reporting an agreed error once. */
#include "cli.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn_error.h"
#include "nn_log.h"
#include "nn_signal.h"
#include "nn_threads.h"
#include "par.h"
#include "report.h"
#include "run_lock.h"

int cli_load_job(const char *path, job_t *job)
{
    memset(job, 0, sizeof *job);
    int st = par_rank() == 0 ? job_load(path, job) : NN_OK;
    st = par_agree(st);
    if (st != NN_OK)
        return st;
    char *text = par_rank() == 0 ? job->text : NULL;
    st = par_bcast_text(&text, 0);
    if (st == NN_OK && par_rank() != 0) {
        st = job_parse(text, path, job);   /* valid: rank 0 accepted the same text */
        free(text);
    }
    return par_agree(st);
}

int cli_load_data(const job_t *job, dataset_t *ds)
{
    memset(ds, 0, sizeof *ds);
    int st = par_rank() == 0 ? dataset_load(&job->data, ds) : NN_OK;
    st = par_agree(st);
    if (st == NN_OK)
        st = par_agree(par_bcast_dataset(ds, 0));
    return st;
}

int cli_set_threads(int threads_to_blas)
{
    unsigned char mask[THREADS_MASK_BYTES];
    threads_mask_key(mask);
    int sharing = par_node_count_same(mask, sizeof mask);
    threads_layout_t l = threads_choose(threads_mask_cores(), sharing,
                                        getenv("SLURM_CPUS_PER_TASK"), getenv("OMP_NUM_THREADS"));
    l.threads_to_blas = threads_to_blas;
    l.ranks = par_size();
    l.ranks_on_node = par_node_size();
    threads_set_layout(&l);
    omp_set_num_threads(l.threads);
    /* Items side by side each get one BLAS thread, so every item is computed by the same
     * sequence of operations whatever the number of ranks and threads; the scheduler gives a
     * lone item the rank's threads (par_schedule). */
    threads_set_blas(threads_to_blas ? l.threads : 1);
    char text[512];
    threads_describe(&l, text, sizeof text);
    if (par_rank() == 0)
        log_info("layout: %s", text);
    return l.threads;
}

char *cli_command_line(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int cli_report_error(int status)
{
    if (status != NN_OK && par_rank() == 0) {
        if (status == NN_ERR_INTERRUPTED)
            log_warn("%s; checkpoint written, run again with --resume (exit status %d)",
                     nn_errmsg(), NN_EXIT_RESUME);
        else
            log_error("%s", nn_errmsg());
    }
    return nn_exit_status(status);
}

/* STEPS of --bench: a whole decimal number 1..10^9; else prints why and returns -1. */
static long long parse_steps(const cli_experiment_t *e, const char *text)
{
    char *end;
    errno = 0;
    long long v = text ? strtoll(text, &end, 10) : 0;
    if (!text || !*text || *end || errno || v < 1 || v > 1000000000LL) {
        fprintf(stderr, "nnsweep %s: --bench STEPS: '%s' is not a number of steps (1 to "
                "1000000000)\n\n%s", e->name, text ? text : "", e->usage);
        return -1;
    }
    return v;
}

/* The options of a computing command. */
typedef struct {
    const char *job_path, *out_path;
    int resume, restart, quiet, strict;
    long long bench;
} run_args_t;

/* Returns -1 to go on, else an exit status. */
static int parse_run_args(const cli_experiment_t *e, int argc, char **argv, run_args_t *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(e->usage, stdout);
            return NN_EXIT_OK;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            a->out_path = argv[++i];
        } else if (!strcmp(argv[i], "--resume") && e->can_resume) {
            a->resume = 1;
        } else if (!strcmp(argv[i], "--restart") && e->can_resume) {
            a->restart = 1;
        } else if (!strcmp(argv[i], "--bench") && e->can_bench) {
            if ((a->bench = parse_steps(e, i + 1 < argc ? argv[++i] : NULL)) < 0)
                return NN_EXIT_INPUT;
        } else if (!strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else if (!strcmp(argv[i], "--strict")) {
            a->strict = 1;
        } else if (argv[i][0] == '-' || a->job_path) {
            fprintf(stderr, "nnsweep %s: unexpected argument '%s'\n\n%s", e->name, argv[i], e->usage);
            return NN_EXIT_INPUT;
        } else {
            a->job_path = argv[i];
        }
    }
    if (!a->job_path) {
        fprintf(stderr, "nnsweep %s: missing JOB.ini\n\n%s", e->name, e->usage);
        return NN_EXIT_INPUT;
    }
    if (a->resume && a->restart) {
        fprintf(stderr, "nnsweep %s: --resume and --restart exclude each other: --resume continues "
                "FILE, --restart moves it aside and starts over\n\n%s", e->name, e->usage);
        return NN_EXIT_INPUT;
    }
    return -1;
}

/* --restart: renames an existing results file at path to "<path>.old-<UTC time>" (never over
 * another file) and says so. Returns NN_OK, also when there is nothing to move. */
static int move_aside(const char *path)
{
    if (access(path, F_OK) != 0)
        return NN_OK;
    char stamp[32], *aside = malloc(strlen(path) + 48);
    if (!aside)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory", path);
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&now));
    int st = NN_OK;
    for (int k = 0;; k++) {
        sprintf(aside, k ? "%s.old-%s-%d" : "%s.old-%s", path, stamp, k);
        if (access(aside, F_OK) != 0)
            break;
    }
    if (rename(path, aside) != 0)
        st = nn_fail(NN_ERR_RUNTIME, "%s: --restart cannot move it aside to %s: %s", path, aside,
                     strerror(errno));
    else
        log_warn("--restart: the earlier %s is now %s; starting from the beginning", path, aside);
    free(aside);
    return st;
}

int cli_make_dir(const char *dir, char *why, size_t len)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path || !path[0]) {
        snprintf(why, len, "bad directory name");
        return -1;
    }
    for (char *c = path + 1;; c++) {
        if (*c != '/' && *c != 0)
            continue;
        char keep = *c;
        *c = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            snprintf(why, len, "cannot create directory '%s': %s", path, strerror(errno));
            return -1;
        }
        *c = keep;
        if (!keep)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, len, "not a directory");
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(why, len, "directory not writable: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* FILE without .h5 + "-png" into dir, created if missing ("" when it cannot be). */
static void figures_dir_beside(const char *out, char *dir, size_t len)
{
    size_t n = strlen(out);
    if (n > 3 && strcmp(out + n - 3, ".h5") == 0)
        n -= 3;
    snprintf(dir, len, "%.*s-png", (int)n, out);
    char why[4200];
    if (cli_make_dir(dir, why, sizeof why) != 0) {
        log_warn("%s: %s: no figures", dir, why);
        dir[0] = '\0';
    }
}

int cli_run_experiment(const cli_experiment_t *e, int argc, char **argv)
{
    run_args_t a;
    int exit_status = parse_run_args(e, argc, argv, &a);
    if (exit_status >= 0)
        return exit_status;
    char *cmdline = cli_command_line(argc + 2, argv - 2);   /* argv[-2..-1]: program, command */
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
    if (st == NN_OK && !e->has_section(&job))
        st = nn_fail(NN_ERR_INPUT, "%s: no [%s] section: nothing to run", a.job_path, e->name);
    const char *out = a.out_path ? a.out_path : job.output.file;
    run_lock_t *lock = NULL;   /* rank 0's: one run per results file (run_lock.h) */
    if (st == NN_OK && !a.bench)
        st = par_agree(par_rank() == 0 ? run_lock_acquire(out, &lock) : NN_OK);
    if (st == NN_OK && a.restart)   /* only once the file is ours (the lock) */
        st = par_agree(par_rank() == 0 ? move_aside(out) : NN_OK);
    int threads = 1;
    if (st == NN_OK) {
        threads = cli_set_threads(e->threads_to_blas);
        if (!e->needs_data || e->needs_data(&job))
            st = cli_load_data(&job, &ds);
    }
    if (st == NN_OK) {
        sweep_options_t opt = {.out_path = out, .command_line = cmdline, .resume = a.resume,
                               .threads = e->threads_to_blas ? 1 : threads,
                               .strict = a.strict, .bench_steps = a.bench};
        st = e->run(&job, &ds, &opt);
    }
    run_lock_release(&lock);
    if ((st == NN_OK || st == NN_ERR_CHECK) && par_rank() == 0 && !a.bench) {
        log_info("results written to %s", out);
        char figdir[DATASET_PATH_MAX + 8] = "";
        if (e->figures_beside)
            figures_dir_beside(out, figdir, sizeof figdir);
        if (report_print(out, stdout, REPORT_TEXT, figdir[0] ? figdir : NULL) != NN_OK)
            log_error("%s", nn_errmsg());   /* the results are safe: not a failed run */
    }
    exit_status = cli_report_error(st);
    free(cmdline);
    dataset_free(&ds);
    job_free(&job);
    par_finalize();
    return exit_status;
}
