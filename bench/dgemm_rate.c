/* dgemm_rate.c - the dgemm rate of this machine with the OpenBLAS nnsweep links, on THREADS
 * threads: GFLOP/s of C = A B at n = N (default 4000), best of REPS (default 3).
 * Usage: dgemm_rate [THREADS [N [REPS]]]; prints "dgemm THREADS N SECONDS GFLOPS". */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, n = argc > 2 ? atoi(argv[2]) : 4000;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    openblas_set_num_threads(threads);
    size_t nn = (size_t)n * n;
    double *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    if (!a || !b || !c)
        return 1;
    for (size_t i = 0; i < nn; i++) {
        a[i] = (double)(i % 7) / 7;
        b[i] = (double)(i % 5) / 5;
        c[i] = 0.0;
    }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("dgemm %d %d %.4f %.2f\n", threads, n, best, 2.0 * n * n * (double)n / best * 1e-9);
    free(a);
    free(b);
    free(c);
    return 0;
}
