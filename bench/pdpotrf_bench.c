/* pdpotrf_bench.c - the numbers behind the ScaLAPACK speed and memory acceptance (bench/pdpotrf.sh
 * runs it): dgemm rate of the ranks running at once, pdpotrf on a grid, LAPACK dpotrf on one
 * rank (threaded through OPENBLAS_NUM_THREADS), and the peak memory of a pgp work item.
 *   pdpotrf_bench dgemm N [REPS]              every rank times C += A B (N x N) at the same time
 *   pdpotrf_bench pdpotrf N NB P Q [REPS]     pdpotrf("L") of an N x N SPD matrix on a P x Q grid
 *   pdpotrf_bench dpotrf N [REPS]             dpotrf("L") of the same matrix on one rank
 *   pdpotrf_bench item N M STORE [NB]         one pgp item (depth 1) on random 784-dim points,
 *                                             N train, M test; peak resident memory per rank
 * Each line of output is "key value ..." for the script to read. Best of REPS. */
#include <cblas.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lapack.h"
#include "nn_rng.h"
#include "pgp.h"
#include "scalapack.h"

/* A symmetric matrix with uniform entries in [-1/2, 1/2) off the diagonal and n on it (so it is
 * diagonally dominant, hence positive definite): entry (i, j) from a hash of (min, max). */
static double entry(long i, long j)
{
    if (i == j)
        return (double)0x7fffffff;   /* replaced by the caller */
    uint64_t a = (uint64_t)(i < j ? i : j), b = (uint64_t)(i < j ? j : i);
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (double)(h >> 11) * 0x1.0p-53 - 0.5;
}

static double value(long i, long j, long n) { return i == j ? (double)n : entry(i, j); }

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static int rank_of(MPI_Comm c)
{
    int r;
    MPI_Comm_rank(c, &r);
    return r;
}

/* Every rank multiplies at once; the aggregate rate is the sum of the ranks' rates. */
static void bench_dgemm(int n, int reps)
{
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n);
    double *c = calloc((size_t)n * n, sizeof(double));
    for (long i = 0; i < (long)n * n; i++) {
        a[i] = entry(i / n, i % n + 1);
        b[i] = entry(i % n, i / n + 7);
    }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 1.0, c,
                    n);
        double t = MPI_Wtime() - t0;
        best = t < best ? t : best;
    }
    double rate = 2.0 * n * n * (double)n / best * 1e-9, sum = 0.0;
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Reduce(&rate, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank_of(MPI_COMM_WORLD) == 0)
        printf("dgemm n %d ranks %d seconds %.3f gflops_per_rank %.2f gflops %.2f\n", n, size,
               best, rate, sum);
    free(a);
    free(b);
    free(c);
}

static void bench_pdpotrf(int n, int nb, int p, int q, int reps)
{
    pgp_grid_t *g = pgp_grid_create(par_world(), p, q, nb);
    if (!g) {
        fprintf(stderr, "pdpotrf_bench: no %d x %d grid\n", p, q);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int zero = 0, one = 1, info = 0;
    int locr = numroc_(&n, &nb, &g->myrow, &zero, &g->nprow);
    int locc = numroc_(&n, &nb, &g->mycol, &zero, &g->npcol);
    int lld = locr > 1 ? locr : 1, desc[9];
    descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &g->ctx, &lld, &info);
    double *a = malloc(sizeof(double) * lld * (locc > 0 ? locc : 1));
    if (!a) {
        fprintf(stderr, "pdpotrf_bench: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        for (int j = 0; j < locc; j++) {
            long gj = ((long)(j / nb) * g->npcol + g->mycol) * nb + j % nb;
            for (int i = 0; i < locr; i++) {
                long gi = ((long)(i / nb) * g->nprow + g->myrow) * nb + i % nb;
                a[(size_t)j * lld + i] = value(gi, gj, n);
            }
        }
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        pdpotrf_("L", &n, a, &one, &one, desc, &info, 1);
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime() - t0;
        best = t < best ? t : best;
        if (info != 0) {
            fprintf(stderr, "pdpotrf_bench: pdpotrf info %d\n", info);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    if (g->rank == 0)
        printf("pdpotrf n %d nb %d grid %dx%d seconds %.3f gflops %.2f\n", n, nb, p, q, best,
               (double)n * n * (double)n / 3.0 / best * 1e-9);
    free(a);
    pgp_grid_destroy(&g);
}

static void bench_dpotrf(int n, int reps)
{
    double *a = malloc(sizeof(double) * n * n);
    if (!a) {
        fprintf(stderr, "pdpotrf_bench: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        for (long j = 0; j < n; j++)
            for (long i = 0; i < n; i++)
                a[j * n + i] = value(i, j, n);
        int info = 0;
        double t0 = MPI_Wtime();
        dpotrf_("L", &n, a, &n, &info, 1);
        double t = MPI_Wtime() - t0;
        best = t < best ? t : best;
        if (info != 0) {
            fprintf(stderr, "pdpotrf_bench: dpotrf info %d\n", info);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    printf("dpotrf n %d seconds %.3f gflops %.2f\n", n, best,
           (double)n * n * (double)n / 3.0 / best * 1e-9);
    free(a);
}

/* One pgp item on random points in [0, 1)^784 (Fashion-MNIST-like scale), depth 1; prints each
 * rank's peak resident memory next to the estimate and the full kernel's size. */
static void bench_item(int n, int m, int store, int nb)
{
    const int dim = 784;
    rng_t r;
    rng_seed(&r, 5);
    double *x = malloc(sizeof(double) * n * dim), *xs = malloc(sizeof(double) * m * dim);
    double *y = malloc(sizeof(double) * n);
    int *label = calloc((size_t)m, sizeof(int));
    for (long i = 0; i < (long)n * dim; i++)
        x[i] = rng_uniform(&r);
    for (long i = 0; i < (long)m * dim; i++)
        xs[i] = rng_uniform(&r);
    for (int i = 0; i < n; i++)
        y[i] = rng_uniform(&r) < 0.5 ? -0.5 : 0.5;
    const int depths[] = {1};
    nngp_problem_t p = {.dim = dim, .ntargets = 1, .ntrain = n, .ntest = m, .x_train = x,
                        .y_train = y, .x_test = xs, .test_label = label, .depths = depths,
                        .ndepth = 1, .noise = 1e-10, .noise_max = 0.1};
    long base = peak_rss_kb();
    pgp_grid_t *g = pgp_grid_create(par_world(), 0, 0, nb);
    pgp_work_t *w = g ? pgp_work_create(g, &p, (pgp_store_t)store) : NULL;
    if (!w) {
        fprintf(stderr, "pdpotrf_bench: no work object\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double acc, vacc, lml, noise;
    int status, info;
    nngp_result_t res = {&acc, &vacc, &lml, &noise, &status, &info, {0}};
    double t0 = MPI_Wtime();
    int rc = pgp_item_run(w, 1.6, 0.1, &res);
    double t = MPI_Wtime() - t0;
    long peak = peak_rss_kb(), most = 0;
    MPI_Reduce(&peak, &most, 1, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);   /* the grid is all ranks */
    if (g->rank == 0)
        printf("item n %d test %d grid %dx%d nb %d store %d rc %d status %d seconds %.2f "
               "factor_seconds %.2f peak_rss_gb %.3f before_gb %.3f estimate_gb %.3f "
               "full_kernel_gb %.3f\n", n, m, g->nprow, g->npcol, g->nb, store, rc, status, t,
               res.seconds[NNGP_PHASE_FACTOR], most * 1024e-9, base * 1024e-9,
               pgp_work_bytes(n, m, 0, 1, g->nprow, g->npcol, g->nb, (pgp_store_t)store) * 1e-9,
               8e-9 * n * (double)n);
    pgp_work_destroy(&w);
    pgp_grid_destroy(&g);
    free(x);
    free(xs);
    free(y);
    free(label);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const char *mode = argc > 1 ? argv[1] : "";
    int a2 = argc > 2 ? atoi(argv[2]) : 0;
    if (!strcmp(mode, "dgemm") && argc >= 3)
        bench_dgemm(a2, argc > 3 ? atoi(argv[3]) : 3);
    else if (!strcmp(mode, "pdpotrf") && argc >= 6)
        bench_pdpotrf(a2, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
                      argc > 6 ? atoi(argv[6]) : 1);
    else if (!strcmp(mode, "dpotrf") && argc >= 3)
        bench_dpotrf(a2, argc > 3 ? atoi(argv[3]) : 1);
    else if (!strcmp(mode, "item") && argc >= 5)
        bench_item(a2, atoi(argv[3]), atoi(argv[4]), argc > 5 ? atoi(argv[5]) : 0);
    else {
        if (rank_of(MPI_COMM_WORLD) == 0)
            fprintf(stderr, "usage: pdpotrf_bench dgemm N [REPS] | pdpotrf N NB P Q [REPS] | "
                            "dpotrf N [REPS] | item N M STORE [NB]\n");
        MPI_Finalize();
        return 2;
    }
    MPI_Finalize();
    return 0;
}
