/* cmd_plan.c - `nnsweep plan JOB.ini [--ranks N]`: what a job will do before it runs: work items,
 * how the ranks share them, memory per rank and an estimated time from a short calibration of
 * the kernel step and the Cholesky factorization on this machine. No MPI, no data read. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gp.h"
#include "kernel.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_rng.h"
#include "nn_timer.h"

static const char plan_usage[] =
    "usage: nnsweep plan JOB.ini [--ranks N] [--threads T]\n"
    "\n"
    "Prints the work items of a job, how N ranks (default $SLURM_NTASKS, else 1) in groups of\n"
    "group_size, with T threads each (default $SLURM_CPUS_PER_TASK, else this machine's cores\n"
    "divided among the ranks), share them, the memory each rank needs, and an estimated wall\n"
    "time. The time comes from timing a kernel step and a Cholesky factorization on this\n"
    "machine for a second, one thread each as the program runs them,\n"
    "so run it on a compute node for numbers that hold there. Reads no data.\n";

typedef struct {
    double step_seconds_per_entry;   /* one layer step of the recursion, per kernel entry */
    double factor_flops_per_second;  /* dpotrf at n = 1000 */
} calibration_t;

/* Times a kernel step on a 500 x 500 block and a factorization at n = 1000, on one thread with
 * single-threaded BLAS, as the sweep computes every item. */
static int calibrate(calibration_t *c)
{
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
    const int m = 500, n = 1000;
    double *k = malloc((size_t)n * n * sizeof *k), *d = malloc((size_t)n * sizeof *d);
    gp_factor_t f = {.l = malloc((size_t)n * n * sizeof(double))};
    if (!k || !d || !f.l) {
        free(k); free(d); free(f.l);
        return nn_fail(NN_ERR_NOMEM, "calibration buffers");
    }
    rng_t r;
    rng_seed(&r, 1);
    double *x = malloc((size_t)n * 20 * sizeof *x);
    for (int i = 0; x && i < n * 20; i++)
        x[i] = rng_normal(&r);
    kernel_gram_sym(x, n, 20, k, n);   /* a positive-definite Gram matrix */
    kernel_gram_diag(x, n, 20, d);
    free(x);
    int reps = 0;
    double t0 = timer_now();
    do {
        kernel_step(k, n, m, m, d, d, 1.5, 0.1);
        reps++;
    } while (timer_now() - t0 < 0.3);
    c->step_seconds_per_entry = (timer_now() - t0) / ((double)reps * m * m);
    kernel_gram_sym(k, 0, 0, k, n);  /* no-op guard against the optimizer removing the loop */
    for (int i = 0; i < n; i++)
        d[i] = 1.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            k[(size_t)i * n + j] = i == j ? 2.0 : 1.0 / (1.0 + abs(i - j));
    reps = 0;
    t0 = timer_now();
    do {
        gp_factor(k, n, n, 0.0, 1.0, &f);
        reps++;
    } while (timer_now() - t0 < 0.3);
    c->factor_flops_per_second = reps * ((double)n * n * n / 3.0) / (timer_now() - t0);
    free(k); free(d); free(f.l);
    return NN_OK;
}

static const char *human_bytes(double b, char *buf, size_t len)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", b, unit[u]);
    return buf;
}

static const char *human_seconds(double s, char *buf, size_t len)
{
    if (s < 120)
        snprintf(buf, len, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, len, "%.1f min", s / 60);
    else
        snprintf(buf, len, "%.1f h", s / 3600);
    return buf;
}

static void plan_nngp(const job_t *job, int ranks, int threads, const calibration_t *cal)
{
    const nngp_spec_t *p = &job->nngp;
    const data_spec_t *ds = &job->data;
    double n = ds->train, m = ds->test, v = ds->validation;
    double dim = ds->kind == DATASET_CIFAR10 ? 3072
               : ds->kind == DATASET_SYNTHETIC ? (double)ds->channels * ds->height * ds->width : 784;
    double k = ds->nclasses == 2 ? 1 : ds->nclasses;
    int items = p->sigma_w2.n * p->sigma_b2.n, groups = ranks / p->group_size;
    int workers = groups * threads;   /* items computed at the same time */
    int lmax = (int)p->depth.v[p->depth.n - 1];
    /* Memory of a computing rank (LAPACK path): the Gram blocks once, then per thread the kernel
     * being stepped and the factor, plus the data and targets. */
    double bytes = 8.0 * (n * n + (m + v) * n + threads * (2 * n * n + (m + v) * n) +
                          (n + m + v) * (dim + k) + 4 * (n + m + v));
    /* Time per item: Lmax layer steps over the lower triangle and the test/validation blocks,
     * one factorization and solve per depth. A reported model's posterior: the recursion to its
     * depth, a factorization and the triangular solve with the m test columns. */
    double entries = n * (n + 1) / 2 + (m + v) * n;
    double rate = cal->factor_flops_per_second;
    double t_recursion = lmax * entries * cal->step_seconds_per_entry;
    double t_factor = p->depth.n * (n * n * n / 3.0) / rate;
    double t_solve = p->depth.n * (4 * n * n * k + 2 * (m + v) * n * k) / rate;
    double t_item = t_recursion + t_factor + t_solve;
    double t_post = t_recursion / 2 + (n * n * n / 3.0 + n * n * m) / rate;
    int per_worker = (items + workers - 1) / workers;
    int posts_per_worker = (p->depth.n + workers - 1) / workers;
    double t_total = per_worker * t_item + posts_per_worker * t_post;
    char b1[32], b2[32], b3[32];
    printf("NNGP sweep of %s\n", job->path);
    printf("  data: %s, classes %d, %d train / %d validation / %d test, %g features\n",
           dataset_kind_name(ds->kind), ds->nclasses, ds->train, ds->validation, ds->test, dim);
    printf("  grid: %d depths (max %d) x %d sigma_w2 x %d sigma_b2 = %d items (one per variance "
           "pair; each gives every depth)\n", p->depth.n, lmax, p->sigma_w2.n, p->sigma_b2.n, items);
    printf("  ranks: %d in %d group(s) of %d, %d thread(s) each: %d items at a time, handed out "
           "dynamically, about %d per thread\n", ranks, groups, p->group_size, threads, workers,
           per_worker);
    printf("  memory per computing rank: %s (kernel %d x %d in float64: %s)\n",
           human_bytes(bytes, b1, sizeof b1), ds->train, ds->train,
           human_bytes(8.0 * n * n, b2, sizeof b2));
    printf("  calibration on this machine: kernel step %.2f ns/entry, dpotrf %.1f GFLOP/s\n",
           1e9 * cal->step_seconds_per_entry, rate / 1e9);
    printf("  estimated time per item: %s (recursion %.0f%%, factorization %.0f%%, solves %.0f%%); "
           "per reported model's posterior: %s\n",
           human_seconds(t_item, b1, sizeof b1), 100 * t_recursion / t_item,
           100 * t_factor / t_item, 100 * t_solve / t_item, human_seconds(t_post, b3, sizeof b3));
    printf("  estimated wall time: %s on %d rank(s) x %d thread(s); one thread alone: %s\n",
           human_seconds(t_total, b2, sizeof b2), ranks, threads,
           human_seconds(items * t_item + p->depth.n * t_post, b3, sizeof b3));
}

int cmd_plan(int argc, char **argv)
{
    const char *path = NULL;
    const char *env_ranks = getenv("SLURM_NTASKS"), *env_cpus = getenv("SLURM_CPUS_PER_TASK");
    int ranks = env_ranks ? atoi(env_ranks) : 1, threads = env_cpus ? atoi(env_cpus) : 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(plan_usage, stdout);
            return NN_EXIT_OK;
        } else if (!strcmp(argv[i], "--ranks") && i + 1 < argc) {
            char *end;
            long r = strtol(argv[++i], &end, 10);
            if (*end || r < 1 || r > 1000000) {
                fprintf(stderr, "nnsweep plan: --ranks needs a positive integer, got '%s'\n", argv[i]);
                return NN_EXIT_INPUT;
            }
            ranks = (int)r;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 4096) {
                fprintf(stderr, "nnsweep plan: --threads needs a positive integer, got '%s'\n", argv[i]);
                return NN_EXIT_INPUT;
            }
            threads = (int)t;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "nnsweep plan: unexpected argument '%s'\n\n%s", argv[i], plan_usage);
            return NN_EXIT_INPUT;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "nnsweep plan: missing JOB.ini\n\n%s", plan_usage);
        return NN_EXIT_INPUT;
    }
    if (threads < 1) {   /* as nnsweep itself: the cores of this machine shared by the ranks */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = ranks >= cores ? 1 : (int)(cores / ranks);
    }
    job_t job;
    int st = job_load(path, &job);
    if (st == NN_OK && job.nngp.enabled && ranks % job.nngp.group_size != 0)
        st = nn_fail(NN_ERR_INPUT, "%s: %d ranks cannot form groups of group_size = %d", path,
                     ranks, job.nngp.group_size);
    calibration_t cal = {0, 0};
    if (st == NN_OK)
        st = calibrate(&cal);
    if (st == NN_OK) {
        if (job.nngp.enabled)
            plan_nngp(&job, ranks, threads, &cal);
        if (job.cnn.enabled)
            printf("CNN part of %s: %d run(s); training is not available in this version\n", path,
                   job.cnn.nvariants ? job.cnn.nvariants : 1);
        if (!job.nngp.enabled && !job.cnn.enabled)
            printf("%s has neither an [nngp] nor a [cnn] section: nothing to run\n", path);
    }
    if (st != NN_OK)
        log_error("%s", nn_errmsg());
    job_free(&job);
    return nn_exit_status(st);
}
