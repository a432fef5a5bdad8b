/* cmd_plan.c - `nnsweep plan JOB.ini [--ranks N]`: what a job will do before it runs: work items,
 * how the ranks share them, memory per rank and an estimated time from a short calibration of
 * the kernel step and the Cholesky factorization on this machine. No MPI, no data read. */
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
#include "nn_threads.h"
#include "nn_timer.h"
#include "nn_units.h"
#include "nngp_layout.h"

static const char plan_usage[] =
    "usage: nnsweep plan JOB.ini [--ranks N] [--threads T] [--mem-per-rank SIZE]\n"
    "       nnsweep plan JOB.ini --results-file\n"
    "\n"
    "Prints the work items of a job, how N ranks (default $SLURM_NTASKS, else 1) in groups of\n"
    "group_size, with T threads each (default $SLURM_CPUS_PER_TASK, else this machine's cores\n"
    "divided among the ranks), share them, the memory each rank needs, and an estimated wall\n"
    "time. The time comes from timing a kernel step and a Cholesky factorization on this\n"
    "machine for a second, one thread each as the program runs them,\n"
    "so run it on a compute node for numbers that hold there. Reads no data.\n"
    "\n"
    "The memory a rank may use is SIZE (e.g. 3500M, 180G), else $NNSWEEP_MEM_PER_RANK, else 85%\n"
    "of the node's memory ($SLURM_MEM_PER_NODE, or this machine's) divided by the ranks on a node\n"
    "($SLURM_NTASKS_PER_NODE, else min(N, cores)). solver = auto picks LAPACK or ScaLAPACK from it\n"
    "as the run will; a job that cannot fit exits with status 2 and says what would.\n"
    "\n"
    "--results-file prints only the results file a run of the job writes without --out (its\n"
    "[output] file, else results/<job file name>.h5), for scripts; it times nothing.\n";

typedef struct {
    double step_seconds_per_entry;   /* one layer step of the recursion, per kernel entry */
    double factor_flops_per_second;  /* gp_factor (chol_lower) at n = 1000 */
} calibration_t;

/* Times a kernel step on a 500 x 500 block and a factorization at n = 1000, on one thread with
 * single-threaded BLAS, as the sweep computes every item. */
static int calibrate(calibration_t *c)
{
    omp_set_num_threads(1);
    threads_set_blas(1);
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

/* A reported model's posterior on n train and m test points (seconds, a group's ranks sharing
 * it ideally): the recursion to depth over the lower triangle and the test block, the
 * factorization and the triangular solve with the m test columns. */
static double posterior_seconds(double n, double m, int depth, double share,
                                const calibration_t *cal)
{
    double entries = n * (n + 1) / 2 + m * n;
    return (depth * entries * cal->step_seconds_per_entry +
            (n * n * n / 3.0 + n * n * m) / cal->factor_flops_per_second) / share;
}

/* The solver line and the memory line of a layout. */
static void print_layout(const nngp_layout_t *lay, double budget, int ntrain)
{
    char b1[32], b2[32], b3[32];
    printf("  solver: %s", nngp_solver_name(lay->solver));
    if (lay->solver == SOLVER_SCALAPACK)
        printf(", %dx%d process grid per group, block size %d, store %s", lay->nprow, lay->npcol,
               lay->nb, nngp_store_name(lay->store));
    printf("\n  memory per computing rank: %s of %s it may use (kernel %d x %d in float64: %s)\n",
           nn_bytes_text(lay->bytes, b1, sizeof b1), nn_bytes_text(budget, b3, sizeof b3),
           ntrain, ntrain, nn_bytes_text(8.0 * ntrain * (double)ntrain, b2, sizeof b2));
}

/* The final stage of a search_train job: each depth's selected model fitted on every training
 * example, one fit per group (or thread) at a time. Adds its wall time to *wall (and one
 * thread's to *alone). Returns NN_ERR_INPUT (message set) when a fit cannot fit a rank. */
static int plan_final(const job_t *job, const nngp_sizes_t *z, int ranks, int threads,
                      double budget, const calibration_t *cal, double *wall, double *alone)
{
    const nngp_spec_t *p = &job->nngp;
    int nfits = p->depth.n;
    nngp_layout_t lay;
    if (threads > nfits)
        threads = nfits;
    int fits = nngp_layout_choose_fits(p, z, threads, budget, nfits, &lay) == NN_OK;
    printf("final fits: each depth's selected model on all %d training examples, %d fit(s), one "
           "per %s at a time\n", z->ntrain, nfits,
           lay.solver == SOLVER_SCALAPACK ? "group" : "thread");
    print_layout(&lay, budget, z->ntrain);
    if (!fits)
        return nn_fail_context(NN_ERR_INPUT, "%s: the final fits: ", job->path);
    if (lay.solver == SOLVER_SCALAPACK)
        threads = 1;
    double share = lay.group_size;
    int workers = ranks / lay.group_size * threads, per_worker = (nfits + workers - 1) / workers;
    double t_fit = 0.0, t_all = 0.0;
    for (int d = 0; d < nfits; d++) {
        double t = posterior_seconds(z->ntrain, z->ntest, (int)p->depth.v[d], share, cal);
        t_fit = fmax(t_fit, t);
        t_all += t;
    }
    char b1[32], b2[32];
    printf("  estimated time per fit: %s (the deepest); final stage %s\n",
           nn_seconds_text(t_fit, b1, sizeof b1),
           nn_seconds_text(per_worker * t_fit, b2, sizeof b2));
    *wall += per_worker * t_fit;
    *alone += share * t_all;
    return NN_OK;
}

/* Prints the plan of the [nngp] part: the grid (on the first search_train examples when set) and
 * then the final fits; returns NN_ERR_INPUT (message set) when an item cannot fit the memory of
 * a rank. */
static int plan_nngp(const job_t *job, int ranks, int threads, double budget,
                     const calibration_t *cal)
{
    const nngp_spec_t *p = &job->nngp;
    const data_spec_t *ds = &job->data;
    int search = p->search_train > 0;
    double n = search ? p->search_train : ds->train, m = ds->test, v = ds->validation;
    double dim = ds->kind == DATASET_CIFAR10 ? 3072
               : ds->kind == DATASET_SYNTHETIC ? (double)ds->channels * ds->height * ds->width : 784;
    double k = ds->nclasses == 2 ? 1 : ds->nclasses;
    int items = p->sigma_w2.n * p->sigma_b2.n, threads_final = threads;
    int workers;   /* items computed at the same time */
    int lmax = (int)p->depth.v[p->depth.n - 1];
    nngp_sizes_t z = {.ntrain = (int)n, .ntest = ds->test, .nvalid = ds->validation,
                      .dim = (int)dim, .ntargets = (int)k,
                      .ntk = (p->kernels & KERNEL_NTK) != 0};
    nngp_layout_t lay;
    int fits = (search ? nngp_layout_choose_search(p, &z, threads, budget, &lay)
                       : nngp_layout_choose(p, &z, threads, budget, &lay)) == NN_OK;
    if (!fits)
        nn_fail_context(NN_ERR_INPUT, "%s: ", job->path);
    if (lay.solver == SOLVER_SCALAPACK)
        threads = 1;   /* the group's ranks work on one item together */
    int groups = ranks / lay.group_size;
    workers = groups * threads;
    /* Time per item: Lmax layer steps over the lower triangle and the test/validation blocks,
     * one factorization and solve per depth. */
    double entries = n * (n + 1) / 2 + (m + v) * n;
    double rate = cal->factor_flops_per_second;
    double t_recursion = lmax * entries * cal->step_seconds_per_entry;
    double t_factor = p->depth.n * (n * n * n / 3.0) / rate;
    double t_solve = p->depth.n * (4 * n * n * k + 2 * (m + v) * n * k) / rate;
    /* ScaLAPACK: a group's ranks share an item; counted as ideal scaling (pdpotrf ran at 0.92
     * of the dgemm rate on 2 ranks, README "The distributed solver") */
    double share = lay.solver == SOLVER_SCALAPACK ? lay.group_size : 1;
    double t_item = (t_recursion + t_factor + t_solve) / share;
    double t_post = posterior_seconds(n, m, lmax, share, cal);
    /* A group's posterior of the model and depth it factored last needs only the triangular
     * solve (pgp_work_holds): in a one-item ScaLAPACK job, the deepest depth's. */
    int reused = lay.solver == SOLVER_SCALAPACK && items == 1;
    double t_post_reused = (n * n * m / rate) / share;
    double t_saved = reused ? t_post - t_post_reused : 0.0;
    int per_worker = (items + workers - 1) / workers;
    int posts_per_worker = (p->depth.n + workers - 1) / workers;
    double t_total = per_worker * t_item + posts_per_worker * t_post - t_saved;
    double t_alone = share * (items * t_item + p->depth.n * t_post - t_saved);
    char b1[32], b2[32], b3[32];
    printf("NNGP sweep of %s\n", job->path);
    printf("  data: %s, classes %d, %d train / %d validation / %d test, %g features\n",
           dataset_kind_name(ds->kind), ds->nclasses, ds->train, ds->validation, ds->test, dim);
    if (search)
        printf("search: the grid and its best models on the first %d of the %d training "
               "examples\n", p->search_train, ds->train);
    printf("  grid: %d depths (max %d) x %d sigma_w2 x %d sigma_b2 = %d items (one per variance "
           "pair; each gives every depth)%s\n", p->depth.n, lmax, p->sigma_w2.n, p->sigma_b2.n,
           items, p->kernels == (KERNEL_NNGP | KERNEL_NTK)
                      ? ", for each kernel (nngp, ntk): the times below are per kernel"
                      : p->kernels == KERNEL_NTK ? ", with the NTK" : "");
    printf("  ranks: %d in %d group(s) of %d, %d thread(s) each: %d items at a time, handed out "
           "dynamically, about %d per thread\n", ranks, groups, lay.group_size, threads, workers,
           per_worker);
    print_layout(&lay, budget, (int)n);
    if (!fits)
        return NN_ERR_INPUT;
    printf("  calibration on this machine: kernel step %.2f ns/entry, Cholesky %.1f GFLOP/s\n",
           1e9 * cal->step_seconds_per_entry, rate / 1e9);
    printf("  estimated time per item: %s (recursion %.0f%%, factorization %.0f%%, solves %.0f%%); "
           "per reported model's posterior: %s",
           nn_seconds_text(t_item, b1, sizeof b1), 100 * t_recursion / share / t_item,
           100 * t_factor / share / t_item, 100 * t_solve / share / t_item,
           nn_seconds_text(t_post, b3, sizeof b3));
    if (reused)
        printf(" (%s at depth %d, which reuses the item's factor)",
               nn_seconds_text(t_post_reused, b3, sizeof b3), lmax);
    printf("\n");
    if (search) {
        printf("  search stage: %s\n", nn_seconds_text(t_total, b2, sizeof b2));
        z.ntrain = ds->train;
        if (plan_final(job, &z, ranks, threads_final, budget, cal, &t_total, &t_alone) != NN_OK)
            return NN_ERR_INPUT;
        share = fmax(share, (double)job->nngp.group_size);
    }
    if (share > 1)
        printf("  (ScaLAPACK times assume ideal scaling over a group's ranks and no network; "
               "bench/nngp_cost_model.py adds communication)\n");
    printf("  estimated wall time: %s on %d rank(s) x %d thread(s); one thread alone: %s\n",
           nn_seconds_text(t_total, b2, sizeof b2), ranks, threads,
           nn_seconds_text(t_alone, b3, sizeof b3));
    return NN_OK;
}

/* The items of a [dream] section (dream_sweep.c): a layer set each with one octave (recording
 * every step count on its way), a (set, steps) pair each with octaves. The layer names are
 * checked against the model by `nnsweep dream`, not here (plan reads no model). */
static void plan_dream(const job_t *job, int ranks, int threads)
{
    const dream_spec_t *d = &job->dream;
    int nsets = 1, steps_max = 0;
    long long steps_sum = 0;
    for (const char *c = d->layers; *c; c++)
        nsets += *c == ',';
    for (int k = 0; k < d->steps.n; k++) {
        steps_sum += (long long)d->steps.v[k];
        if (d->steps.v[k] > steps_max)
            steps_max = (int)d->steps.v[k];
    }
    const int items = d->octaves == 1 ? nsets : nsets * d->steps.n;
    printf("Dream of %s: model %s, image %s\n", job->path, d->model, d->image);
    printf("  %d layer set(s) x %d step count(s), %d octave(s): %d item(s) (%s)\n", nsets,
           d->steps.n, d->octaves, items, d->octaves == 1 ? "one per layer set, run to the "
           "largest step count, recording the others on the way" : "one per (set, steps) pair");
    printf("  ranks: %d, %d thread(s) each: %d item(s) at a time; %lld gradient steps in all\n",
           ranks, threads, ranks * threads,
           (d->octaves == 1 ? (long long)steps_max : steps_sum) * d->octaves * nsets);
}

/* --results-file: prints the results file of job `path` (job_load's default applied). Returns
 * the exit status. */
static int plan_results_file(const char *path)
{
    job_t job;
    memset(&job, 0, sizeof job);
    int st = job_load(path, &job);
    if (st == NN_OK)
        printf("%s\n", job.output.file);
    else
        log_error("%s", nn_errmsg());
    job_free(&job);
    return nn_exit_status(st);
}

int cmd_plan(int argc, char **argv)
{
    const char *path = NULL;
    const char *env_ranks = getenv("SLURM_NTASKS"), *env_cpus = getenv("SLURM_CPUS_PER_TASK");
    int ranks = env_ranks ? atoi(env_ranks) : 1, threads = env_cpus ? atoi(env_cpus) : 0;
    double mem = 0;
    int results_file_only = 0;
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
        } else if (!strcmp(argv[i], "--mem-per-rank") && i + 1 < argc) {
            mem = nn_parse_bytes(argv[++i]);
            if (mem <= 0) {
                fprintf(stderr, "nnsweep plan: --mem-per-rank needs a size such as 3500M or 180G, "
                        "got '%s'\n", argv[i]);
                return NN_EXIT_INPUT;
            }
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 4096) {
                fprintf(stderr, "nnsweep plan: --threads needs a positive integer, got '%s'\n", argv[i]);
                return NN_EXIT_INPUT;
            }
            threads = (int)t;
        } else if (!strcmp(argv[i], "--results-file")) {
            results_file_only = 1;
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
    if (results_file_only)
        return plan_results_file(path);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)   /* as nnsweep itself: the cores of this machine shared by the ranks */
        threads = ranks >= cores ? 1 : (int)(cores / ranks);
    const char *per_node = getenv("SLURM_NTASKS_PER_NODE");
    int on_node = per_node && atoi(per_node) > 0 ? atoi(per_node) : ranks < cores ? ranks : (int)cores;
    int st = mem > 0 ? NN_OK : nngp_memory_per_rank(on_node, &mem);
    job_t job;
    memset(&job, 0, sizeof job);
    if (st == NN_OK)
        st = job_load(path, &job);
    if (st == NN_OK && job.nngp.enabled && ranks % job.nngp.group_size != 0)
        st = nn_fail(NN_ERR_INPUT, "%s: %d ranks cannot form groups of group_size = %d", path,
                     ranks, job.nngp.group_size);
    calibration_t cal = {0, 0};
    if (st == NN_OK)
        st = calibrate(&cal);
    if (st == NN_OK) {
        if (job.nngp.enabled)
            st = plan_nngp(&job, ranks, threads, mem, &cal);
        if (st == NN_OK && job.cnn.enabled)
            printf("CNN part of %s: %d training run(s) (variants), each data-parallel over a group "
                   "of ranks; no time estimate (run `nnsweep cnn --bench`)\n", path,
                   job.cnn.nvariants ? job.cnn.nvariants : 1);
        if (st == NN_OK && job.dream.enabled)
            plan_dream(&job, ranks, threads);
        if (!job.nngp.enabled && !job.cnn.enabled && !job.dream.enabled)
            printf("%s has no [nngp], [cnn] or [dream] section: nothing to run\n", path);
    }
    if (st != NN_OK)
        log_error("%s", nn_errmsg());
    job_free(&job);
    return nn_exit_status(st);
}
