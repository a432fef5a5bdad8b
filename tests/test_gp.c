/* test_gp.c - GP posterior against dense direct formulas (an inverse by Gauss-Jordan written
 * here, the determinant by LU), the jitter retry on singular kernels, and the not-PD failure
 * with its message. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#include "../src/nngp/lapack.h"
#include "gp.h"
#include "kernel.h"
#include "nn_error.h"
#include "nn_rng.h"

/* The NNGP kernel (depth 2) between all rows of z (n1 + n2 points): a realistic, smooth PD
 * kernel. out is (n1+n2)^2, row-major. */
static void nngp_kernel(const double *z, int npts, int dim, double *out)
{
    double *d = malloc((size_t)npts * sizeof *d);
    kernel_gram_sym(z, npts, dim, out, npts);
    kernel_layer0(out, npts, npts, npts, 1.6, 0.1, out, npts);
    for (int i = 0; i < npts; i++)
        d[i] = out[i * npts + i];
    for (int l = 0; l < 2; l++) {
        kernel_step_sym(out, npts, npts, d, 1.6, 0.1);
        kernel_diag_step(d, npts, 1.6, 0.1);
    }
    free(d);
}

/* Inverse of a dense n x n matrix by Gauss-Jordan elimination with partial pivoting
 * (independent of LAPACK). a is destroyed. */
static void gauss_jordan_inverse(double *a, int n, double *inv)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            inv[i * n + j] = i == j;
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int i = c + 1; i < n; i++)
            if (fabs(a[i * n + c]) > fabs(a[piv * n + c]))
                piv = i;
        for (int j = 0; j < n; j++) {
            double t = a[c * n + j];
            a[c * n + j] = a[piv * n + j];
            a[piv * n + j] = t;
            t = inv[c * n + j];
            inv[c * n + j] = inv[piv * n + j];
            inv[piv * n + j] = t;
        }
        double p = a[c * n + c];
        for (int j = 0; j < n; j++) {
            a[c * n + j] /= p;
            inv[c * n + j] /= p;
        }
        for (int i = 0; i < n; i++) {
            if (i == c)
                continue;
            double f = a[i * n + c];
            for (int j = 0; j < n; j++) {
                a[i * n + j] -= f * a[c * n + j];
                inv[i * n + j] -= f * inv[c * n + j];
            }
        }
    }
}

/* log |det A| by LU (dgetrf); a is destroyed. */
static double log_abs_det_lu(double *a, int n)
{
    int *ipiv = malloc((size_t)n * sizeof *ipiv), info;
    dgetrf_(&n, &n, a, &n, ipiv, &info);
    assert_int_equal(info, 0);
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += log(fabs(a[i * n + i]));
    free(ipiv);
    return s;
}

/* n = 30 training and m = 12 test points, 2 target columns, s2 = 1e-2. The reference forms
 * A^-1 (Gauss-Jordan) and computes mean = Ks A^-1 Y, cov = Kss - Ks A^-1 Ks^T, var = diag(cov),
 * LML = sum_c -1/2 y_c^T A^-1 y_c - nrhs (1/2 log det A + n/2 log 2 pi) with log det by LU.
 * cond(A) is ~1e4 here, so both routes agree to ~1e-12; tolerance 1e-9 relative (for the
 * variance, relative to the prior variance, since kss - q cancels). */
static void test_posterior_against_dense_formulas(void **state)
{
    (void)state;
    enum { N = 30, M = 12, DIM = 4, R = 2 };
    const int n = N, m = M, nrhs = R, np = N + M;
    const double s2 = 1e-2;
    rng_t r;
    rng_seed(&r, 21);
    double z[(N + M) * DIM];
    for (int i = 0; i < np * DIM; i++)
        z[i] = rng_normal(&r);
    double *kall = malloc((size_t)np * np * sizeof *kall);
    nngp_kernel(z, np, DIM, kall);
    /* blocks: K (n x n), Ks (m x n, test rows vs train columns), Kss (m x m) */
    double *k = malloc(sizeof(double) * N * N), ks[M * N], kss[M * M], kssd[M];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            k[i * n + j] = kall[i * np + j];
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++)
            ks[i * n + j] = kall[(n + i) * np + j];
        for (int j = 0; j < m; j++)
            kss[i * m + j] = kall[(n + i) * np + n + j];
        kssd[i] = kss[i * m + i];
    }
    double y[N * R];
    for (int i = 0; i < n * nrhs; i++)
        y[i] = rng_normal(&r);

    /* library */
    gp_factor_t f = {.l = malloc(sizeof(double) * N * N)};
    assert_int_equal(gp_factor(k, n, n, s2, 1.0, &f), 0);
    assert_int_equal(f.attempts, 1);
    assert_true(f.noise_used == s2);
    double alpha[N * R], mean[M * R], var[M], cov[M * M], work[N * M];
    gp_solve(&f, y, nrhs, alpha);
    gp_mean(ks, m, n, alpha, nrhs, mean);
    gp_variance(&f, ks, m, kssd, var, work);
    gp_covariance(&f, ks, m, kss, cov, work);
    double lml = gp_log_marginal(&f, y, alpha, nrhs);
    double alias[N * R];                      /* gp_solve in place gives the same */
    memcpy(alias, y, sizeof alias);
    gp_solve(&f, alias, nrhs, alias);
    assert_memory_equal(alias, alpha, sizeof alias);

    /* reference */
    double *a = malloc(sizeof(double) * N * N), *ainv = malloc(sizeof(double) * N * N);
    memcpy(a, k, sizeof(double) * N * N);
    for (int i = 0; i < n; i++)
        a[i * n + i] += s2;
    double *a2 = malloc(sizeof(double) * N * N);
    memcpy(a2, a, sizeof(double) * N * N);
    gauss_jordan_inverse(a2, n, ainv);
    double logdet = log_abs_det_lu(a, n);
    double ref_alpha[N * R] = {0};
    for (int i = 0; i < n; i++)
        for (int c = 0; c < nrhs; c++)
            for (int j = 0; j < n; j++)
                ref_alpha[i * nrhs + c] += ainv[i * n + j] * y[j * nrhs + c];
    double ref_lml = 0.0;
    for (int i = 0; i < n * nrhs; i++)
        ref_lml += -0.5 * y[i] * ref_alpha[i];
    ref_lml -= nrhs * (0.5 * logdet + 0.5 * n * log(2.0 * M_PI));
    for (int i = 0; i < n * nrhs; i++)
        assert_rel_close(alpha[i], ref_alpha[i], 1e-9, 1e-6);
    assert_rel_close(lml, ref_lml, 1e-9, 0.0);
    for (int i = 0; i < m; i++) {
        for (int c = 0; c < nrhs; c++) {
            double s = 0.0;
            for (int j = 0; j < n; j++)
                s += ks[i * n + j] * ref_alpha[j * nrhs + c];
            assert_rel_close(mean[i * nrhs + c], s, 1e-9, 1e-6);
        }
        for (int j = 0; j < m; j++) {
            double q = 0.0;                     /* ks_i^T A^-1 ks_j */
            for (int p = 0; p < n; p++)
                for (int t = 0; t < n; t++)
                    q += ks[i * n + p] * ainv[p * n + t] * ks[j * n + t];
            double ref = kss[i * m + j] - q;
            double scale = sqrt(kssd[i] * kssd[j]);
            assert_rel_close(cov[i * m + j], ref, 1e-9, scale);
            assert_true(cov[i * m + j] == cov[j * m + i]);
            if (i == j)
                assert_rel_close(var[i], ref, 1e-9, scale);
        }
        assert_true(var[i] > 0.0);
    }
    free(a);
    free(a2);
    free(ainv);
    free(k);
    free(kall);
    free(f.l);
}

/* Duplicated training points (10 distinct points, each twice): K is exactly singular, so the
 * factorization at noise 0 fails; the retry starts at 1e-12 x mean diagonal and succeeds at a
 * larger s2 that is recorded, and the factor reproduces K + s2 I (relative 1e-12 of the
 * diagonal scale: a backward-stable Cholesky). */
static void test_jitter_retry_on_duplicates(void **state)
{
    (void)state;
    enum { ND = 10, N = 20, DIM = 3 };
    rng_t r;
    rng_seed(&r, 22);
    double z[N * DIM];
    for (int i = 0; i < ND * DIM; i++)
        z[i] = rng_normal(&r);
    memcpy(z + ND * DIM, z, sizeof(double) * ND * DIM);
    double k[N * N], l[N * N];
    nngp_kernel(z, N, DIM, k);
    gp_factor_t f = {.l = l};
    int rc = gp_factor(k, N, N, 0.0, 1e-2, &f);
    assert_int_equal(rc, 0);
    assert_int_equal(f.info, 0);
    assert_true(f.attempts >= 2);
    double mean_diag = 0.0;
    for (int i = 0; i < N; i++)
        mean_diag += k[i * N + i] / N;
    assert_true(f.noise_used >= 1e-12 * mean_diag * 0.999 && f.noise_used <= 1e-2);
    assert_rel_close(f.noise_used, 1e-12 * mean_diag * pow(10.0, f.attempts - 2), 1e-12, 0.0);
    print_message("duplicates: s2 = %.3g after %d attempts\n", f.noise_used, f.attempts);
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0.0;
            for (int p = 0; p <= j; p++)
                s += l[i * N + p] * l[j * N + p];
            assert_close(s, k[i * N + j] + (i == j ? f.noise_used : 0.0), 1e-12 * mean_diag);
        }
}

/* An exactly known case: K = Q diag(lambda) Q^T with smallest eigenvalue -3e-8 (a kernel made
 * indefinite by rounding). Starting at s2 = 1e-12 the attempts are 1e-12, ..., 1e-8 (fail: min
 * eigenvalue of K + 1e-8 I is -2e-8, far beyond rounding ~1e-14) and 1e-7 (succeeds, 7e-8). */
static void test_jitter_retry_records_noise(void **state)
{
    (void)state;
    enum { N = 12 };
    rng_t r;
    rng_seed(&r, 23);
    double q[N * N], k[N * N] = {0}, l[N * N];
    for (int i = 0; i < N * N; i++)
        q[i] = rng_normal(&r);
    /* orthonormalise the rows of q (modified Gram-Schmidt) */
    for (int i = 0; i < N; i++) {
        for (int p = 0; p < i; p++) {
            double d = 0.0;
            for (int j = 0; j < N; j++)
                d += q[i * N + j] * q[p * N + j];
            for (int j = 0; j < N; j++)
                q[i * N + j] -= d * q[p * N + j];
        }
        double nrm = 0.0;
        for (int j = 0; j < N; j++)
            nrm += q[i * N + j] * q[i * N + j];
        for (int j = 0; j < N; j++)
            q[i * N + j] /= sqrt(nrm);
    }
    for (int p = 0; p < N; p++) {
        double lam = p == 0 ? -3e-8 : 0.5 + p;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                k[i * N + j] += lam * q[p * N + i] * q[p * N + j];
    }
    gp_factor_t f = {.l = l};
    assert_int_equal(gp_factor(k, N, N, 1e-12, 1e-3, &f), 0);
    assert_int_equal(f.attempts, 6);
    assert_rel_close(f.noise_used, 1e-7, 1e-12, 0.0);
    assert_int_equal(f.info, 0);
}

/* A matrix with eigenvalue -1 stays indefinite up to the cap 1e-3: NN_ERR_NOT_PD, info > 0
 * recorded in f and named in the message together with the last s2 tried. */
static void test_not_pd_reports_info(void **state)
{
    (void)state;
    double k[9] = {2, 0, 0,
                   0, 1, 0,
                   0, 0, -1};
    double l[9];
    gp_factor_t f = {.l = l};
    nn_error_clear();
    int rc = gp_factor(k, 3, 3, 1e-6, 1e-3, &f);
    assert_int_equal(rc, NN_ERR_NOT_PD);
    assert_int_equal(f.info, 3);
    assert_int_equal(f.attempts, 4);                  /* 1e-6, 1e-5, 1e-4, 1e-3 */
    assert_rel_close(f.noise_used, 1e-3, 1e-12, 0.0);
    char want[64];
    snprintf(want, sizeof want, "LAPACK info %d", f.info);
    const char *msg = nn_errmsg();
    print_message("message: %s\n", msg);
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, "s2 = 0.001"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posterior_against_dense_formulas),
        cmocka_unit_test(test_jitter_retry_on_duplicates),
        cmocka_unit_test(test_jitter_retry_records_noise),
        cmocka_unit_test(test_not_pd_reports_info),
    };
    return cmocka_run_group_tests_name("gp", tests, NULL, NULL);
}
