/* bench_nngp.c - the NNGP sweep benchmark through the nngp API: Fashion-MNIST T-shirt (0) vs
 * Shirt (6), the first 1000 train / 1000 test examples of those classes in file order, pixels/255,
 * depths 1..10, a 4 x 4 (sigma_w^2, sigma_b^2) grid. Prints seconds per phase, the total, and the
 * best test accuracy per depth; bench/nngp_torch.py runs the same sweep in PyTorch.
 * Reads the IDX files itself (zlib) so it does not depend on the dataset module.
 * Usage: bench_nngp [DATA_DIR] [NTRAIN NTEST]   (threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nn_error.h"
#include "nn_timer.h"
#include "nngp.h"

enum { NDEPTH = 10, NSW = 4, NSB = 4, DIM = 784 };
static const double SW2[NSW] = {0.5, 2.0, 3.5, 5.0};              /* linspace(0.5, 5, 4) */
static const double SB2[NSB] = {0.0, 2.0 / 3.0, 4.0 / 3.0, 2.0};  /* linspace(0, 2, 4) */
static const double NOISE = 1e-10, NOISE_MAX = 1e-1;

static int read_gz(const char *path, unsigned char **buf, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return nn_fail(NN_ERR_INPUT, "%s: cannot open", path);
    size_t cap = 1 << 20, n = 0;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                gzclose(f);
                return nn_fail(NN_ERR_NOMEM, "%s: out of memory", path);
            }
            b = nb;
        }
        int got = gzread(f, b + n, (unsigned)(cap - n));
        if (got < 0) {
            free(b);
            gzclose(f);
            return nn_fail(NN_ERR_INPUT, "%s: gzip error", path);
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    gzclose(f);
    *buf = b;
    *len = n;
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The first `want` examples of classes 0 and 6 in file order: x (want x 784, /255), label 0/1. */
static int load_split(const char *dir, const char *prefix, int want, double *x, int *label)
{
    char pi[512], pl[512];
    snprintf(pi, sizeof pi, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(pl, sizeof pl, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    unsigned char *img, *lab;
    size_t ni, nl;
    if (read_gz(pi, &img, &ni))
        return -1;
    if (read_gz(pl, &lab, &nl)) {
        free(img);
        return -1;
    }
    int count = (int)be32(lab + 4), got = 0;
    if (ni < 16 || nl < 8 || be32(img) != 2051 || be32(lab) != 2049 || be32(img + 8) != 28) {
        free(img);
        free(lab);
        return nn_fail(NN_ERR_INPUT, "%s: not an IDX image/label pair", pi);
    }
    for (int i = 0; i < count && got < want; i++) {
        int c = lab[8 + i];
        if (c != 0 && c != 6)
            continue;
        for (int d = 0; d < DIM; d++)
            x[(size_t)got * DIM + d] = img[16 + (size_t)i * DIM + d] / 255.0;
        label[got++] = c == 6;
    }
    free(img);
    free(lab);
    if (got < want)
        return nn_fail(NN_ERR_INPUT, "%s: only %d examples of classes 0, 6", pi, got);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    int ntrain = argc > 3 ? atoi(argv[2]) : 1000, ntest = argc > 3 ? atoi(argv[3]) : 1000;
    double *xtr = malloc(sizeof(double) * ntrain * DIM);
    double *xte = malloc(sizeof(double) * ntest * DIM);
    double *ytr = malloc(sizeof(double) * ntrain);
    int *ltr = malloc(sizeof(int) * ntrain), *lte = malloc(sizeof(int) * ntest);
    if (load_split(dir, "train", ntrain, xtr, ltr) || load_split(dir, "t10k", ntest, xte, lte)) {
        fprintf(stderr, "bench_nngp: %s\n", nn_errmsg());
        return 2;
    }
    for (int i = 0; i < ntrain; i++)
        ytr[i] = ltr[i] ? 0.5 : -0.5;
    int depths[NDEPTH];
    for (int i = 0; i < NDEPTH; i++)
        depths[i] = i + 1;
    nngp_problem_t p = {.dim = DIM, .ntargets = 1, .ntrain = ntrain, .ntest = ntest, .nvalid = 0,
                        .x_train = xtr, .y_train = ytr, .x_test = xte, .test_label = lte,
                        .depths = depths, .ndepth = NDEPTH, .noise = NOISE,
                        .noise_max = NOISE_MAX};

    double t0 = timer_now();
    nngp_work_t *w = nngp_work_create(&p);
    if (!w) {
        fprintf(stderr, "bench_nngp: %s\n", nn_errmsg());
        return 1;
    }
    double acc[NSW][NSB][NDEPTH], lml[NSW][NSB][NDEPTH], noise[NSW][NSB][NDEPTH];
    double vacc[NDEPTH], phase[NNGP_NPHASES] = {0};
    int status[NSW][NSB][NDEPTH], info[NDEPTH], nfailed = 0, nretry = 0;
    phase[NNGP_PHASE_GRAM] = nngp_work_gram_seconds(w);
    for (int a = 0; a < NSW; a++)
        for (int b = 0; b < NSB; b++) {
            nngp_result_t r = {acc[a][b], vacc, lml[a][b], noise[a][b], status[a][b], info, {0}};
            if (nngp_item_run(w, SW2[a], SB2[b], &r)) {
                fprintf(stderr, "bench_nngp: %s\n", nn_errmsg());
                return 1;
            }
            for (int ph = 0; ph < NNGP_NPHASES; ph++)
                phase[ph] += r.seconds[ph];
            for (int k = 0; k < NDEPTH; k++) {
                nfailed += status[a][b][k] != NNGP_OK;
                nretry += noise[a][b][k] != NOISE;
            }
        }
    /* the reported model per depth: best test accuracy (first on ties, sw2-major order), with
     * its predictive variance, as the sweep does for its report */
    double *mean = malloc(sizeof(double) * ntest), *var = malloc(sizeof(double) * ntest);
    int best[NDEPTH][2];
    for (int k = 0; k < NDEPTH; k++) {
        best[k][0] = best[k][1] = -1;
        for (int a = 0; a < NSW; a++)
            for (int b = 0; b < NSB; b++)
                if (status[a][b][k] == NNGP_OK &&
                    (best[k][0] < 0 || acc[a][b][k] > acc[best[k][0]][best[k][1]][k])) {
                    best[k][0] = a;
                    best[k][1] = b;
                }
    }
    double tv = timer_now();
    for (int k = 0; k < NDEPTH; k++) {
        double s2;
        int inf;
        if (best[k][0] >= 0 && nngp_posterior(w, k + 1, SW2[best[k][0]], SB2[best[k][1]], mean, var,
                                               NULL, &s2, &inf)) {
            fprintf(stderr, "bench_nngp: %s\n", nn_errmsg());
            return 1;
        }
    }
    phase[NNGP_PHASE_VARIANCE] = timer_now() - tv;
    double total = timer_now() - t0;

    printf("nngp-bench C: %d train, %d test, depths 1..%d, %d x %d grid, threads OMP=%s "
           "OPENBLAS=%s\n", ntrain, ntest, NDEPTH, NSW, NSB,
           getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "unset",
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "unset");
    for (int ph = 0; ph < NNGP_NPHASES; ph++)
        printf("phase %-14s %8.3f s\n", nngp_phase_names[ph], phase[ph]);
    printf("failed depths %d, depths that needed a larger s2 %d\n", nfailed, nretry);
    for (int k = 0; k < NDEPTH; k++)
        if (best[k][0] >= 0)
            printf("depth %2d best_acc %.4f sw2 %.4g sb2 %.4g lml %.10g\n", k + 1,
                   acc[best[k][0]][best[k][1]][k], SW2[best[k][0]], SB2[best[k][1]],
                   lml[best[k][0]][best[k][1]][k]);
        else
            printf("depth %2d best_acc nan\n", k + 1);
    printf("total_seconds %.3f\n", total);
    nngp_work_destroy(&w);
    free(mean);
    free(var);
    free(xtr);
    free(xte);
    free(ytr);
    free(ltr);
    free(lte);
    return 0;
}
