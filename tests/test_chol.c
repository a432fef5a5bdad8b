/* test_chol.c - the recursive Cholesky and right triangular solve against LAPACK's dpotrf and
 * BLAS's dtrsm (separate implementations), and against their defining residuals, at orders that
 * hit a leaf alone, a leaf boundary (32, 33) and several levels of recursion, with leading
 * dimensions larger than the order; the not-positive-definite minor matches dpotrf's info; the
 * same bits on 1, 2 and 3 threads. */
#include "testlib.h"

#include <cblas.h>

#include "../src/nngp/lapack.h"
#include "chol.h"
#include "nn_threads.h"
#include "nn_rng.h"

/* A = G G^T / n + I (n x n row-major, leading dimension lda; condition number below ~5):
 * every entry of the factor is O(1), so absolute tolerances read as relative ones. */
static double *random_spd(int n, int lda, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    double *g = malloc((size_t)n * n * sizeof *g), *a = malloc((size_t)n * lda * sizeof *a);
    for (int i = 0; i < n * n; i++)
        g[i] = rng_normal(&r);
    for (int i = 0; i < n * lda; i++)
        a[i] = 7.0;   /* the padding and the strict upper triangle must come back as they were */
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++)
                s += g[i * n + k] * g[j * n + k];
            a[(size_t)i * lda + j] = s / n + (i == j);
        }
    free(g);
    return a;
}

static const int orders[] = {1, 2, 31, 32, 33, 65, 100, 257, 700};

/* L against dpotrf's (tolerance 1e-12: both are backward stable, the forward error is
 * O(cond(A) u) with cond(A) < 5), L L^T against A (1e-13), untouched upper triangle. */
static void test_factor_matches_lapack(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof orders / sizeof *orders; t++) {
        int n = orders[t], lda = n + 3;
        double *a = random_spd(n, lda, 11 + t), *l = malloc((size_t)n * lda * sizeof *l);
        double *ref = malloc((size_t)n * lda * sizeof *ref);
        memcpy(l, a, (size_t)n * lda * sizeof *a);
        memcpy(ref, a, (size_t)n * lda * sizeof *a);
        assert_int_equal(chol_lower(l, n, lda), 0);
        int info = 0;
        dpotrf_("U", &n, ref, &lda, &info, 1);   /* row-major lower = column-major upper */
        assert_int_equal(info, 0);
        double dmax = 0.0, rmax = 0.0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < lda; j++) {
                size_t ij = (size_t)i * lda + j;
                if (j > i) {
                    assert_true(l[ij] == 7.0);
                    continue;
                }
                dmax = fmax(dmax, fabs(l[ij] - ref[ij]));
                double s = 0.0;
                for (int k = 0; k <= j; k++)
                    s += l[(size_t)i * lda + k] * l[(size_t)j * lda + k];
                rmax = fmax(rmax, fabs(s - a[ij]));
            }
        print_message("n = %3d: max |L - L_lapack| %.2e, max |L L^T - A| %.2e\n", n, dmax, rmax);
        assert_true(dmax <= 1e-12);
        assert_true(rmax <= 1e-13);
        free(a);
        free(l);
        free(ref);
    }
}

/* A diagonal entry made negative at row k makes the leading minor of order k + 1 the first
 * that is not positive definite (the Schur complement there is at most a_kk < 0): the same info
 * as dpotrf, in the first leaf, in a later leaf and past the first split. */
static void test_not_pd_info_matches_lapack(void **state)
{
    (void)state;
    int n = 100, rows[] = {0, 5, 40, 70, 99};
    for (size_t t = 0; t < sizeof rows / sizeof *rows; t++) {
        double *a = random_spd(n, n, 5), *ref = malloc((size_t)n * n * sizeof *ref);
        a[(size_t)rows[t] * n + rows[t]] = -1.0;
        memcpy(ref, a, (size_t)n * n * sizeof *a);
        int info = 0;
        dpotrf_("U", &n, ref, &n, &info, 1);
        assert_int_equal(info, rows[t] + 1);
        assert_int_equal(chol_lower(a, n, n), info);
        free(a);
        free(ref);
    }
}

/* X = B L^-T against dtrsm (tolerance 1e-12: L from random_spd has cond < 3) and X L^T against
 * B (1e-12), for row counts around the leaf's 16-row groups and orders around the leaf size;
 * the padding of b is left alone. */
static void test_solve_matches_dtrsm(void **state)
{
    (void)state;
    const int ms[] = {1, 15, 16, 17, 300}, ns[] = {1, 32, 33, 100};
    rng_t r;
    rng_seed(&r, 99);
    for (size_t tn = 0; tn < sizeof ns / sizeof *ns; tn++) {
        int n = ns[tn], ldl = n + 1;
        double *l = random_spd(n, ldl, 3 + tn);
        assert_int_equal(chol_lower(l, n, ldl), 0);
        for (size_t tm = 0; tm < sizeof ms / sizeof *ms; tm++) {
            int m = ms[tm], ldb = n + 5;
            size_t bytes = (size_t)m * ldb * sizeof(double);
            double *b = malloc(bytes), *x = malloc(bytes), *ref = malloc(bytes);
            for (int i = 0; i < m * ldb; i++)
                b[i] = rng_normal(&r);
            memcpy(x, b, bytes);
            memcpy(ref, b, bytes);
            chol_solve_right_trans(l, n, ldl, x, m, ldb);
            cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, m, n, 1.0,
                        l, ldl, ref, ldb);
            double dmax = 0.0, rmax = 0.0;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < ldb; j++) {
                    size_t ij = (size_t)i * ldb + j;
                    if (j >= n) {
                        assert_true(x[ij] == b[ij]);
                        continue;
                    }
                    dmax = fmax(dmax, fabs(x[ij] - ref[ij]));
                    double s = 0.0;   /* (X L^T)_ij = sum_k x_ik L_jk */
                    for (int k = 0; k <= j; k++)
                        s += x[(size_t)i * ldb + k] * l[(size_t)j * ldl + k];
                    rmax = fmax(rmax, fabs(s - b[ij]));
                }
            if (dmax > 1e-12 || rmax > 1e-12)
                fail_msg("m = %d, n = %d: max |X - X_dtrsm| %.2e, max |X L^T - B| %.2e", m, n,
                         dmax, rmax);
            free(b);
            free(x);
            free(ref);
        }
        free(l);
    }
}

/* The row strips of a solve shared among 1, 2 and 3 threads (an item alone on its rank), and the
 * factorization whose solves they are: the same bits as on one thread (tolerance 0: results must
 * not depend on the layout), at row counts around the strip size. */
static void test_threads_give_the_same_bits(void **state)
{
    (void)state;
    const int ms[] = {127, 128, 129, 700}, n = 300, ldl = n + 3;
    double *l = random_spd(n, ldl, 11);
    double *a2 = malloc((size_t)n * ldl * sizeof *a2);
    memcpy(a2, l, (size_t)n * ldl * sizeof *a2);
    assert_int_equal(chol_lower(l, n, ldl), 0);
    threads_set_item(2);
    assert_int_equal(chol_lower(a2, n, ldl), 0);
    threads_set_item(1);
    assert_memory_equal(l, a2, (size_t)n * ldl * sizeof *a2);
    rng_t r;
    rng_seed(&r, 5);
    for (size_t tm = 0; tm < sizeof ms / sizeof *ms; tm++) {
        int m = ms[tm];
        size_t bytes = (size_t)m * n * sizeof(double);
        double *b = malloc(bytes), *x = malloc(bytes);
        for (int i = 0; i < m * n; i++)
            b[i] = rng_normal(&r);
        memcpy(x, b, bytes);
        chol_solve_right_trans(l, n, ldl, b, m, n);
        for (int t = 2; t <= 3; t++) {
            double *y = malloc(bytes);
            memcpy(y, x, bytes);
            threads_set_item(t);
            chol_solve_right_trans(l, n, ldl, y, m, n);
            threads_set_item(1);
            if (memcmp(y, b, bytes))
                fail_msg("m = %d: the solve on %d threads differs from one thread", m, t);
            free(y);
        }
        free(b);
        free(x);
    }
    free(a2);
    free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factor_matches_lapack),
        cmocka_unit_test(test_not_pd_info_matches_lapack),
        cmocka_unit_test(test_solve_matches_dtrsm),
        cmocka_unit_test(test_threads_give_the_same_bits),
    };
    return cmocka_run_group_tests_name("chol", tests, NULL, NULL);
}
