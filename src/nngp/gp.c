/* gp.c - GP regression on one process: Cholesky of K + s2 I with a x10 jitter retry, solves,
 * posterior mean, variance, covariance and log marginal likelihood (BLAS, float64). The factor
 * and the whitening solve are chol.c's, on row-major lower triangles: K + s2 I = L L^T. */
#include "gp.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "chol.h"
#include "nn_error.h"

int gp_factor(const double *k, int ldk, int n, double noise, double noise_max, gp_factor_t *f)
{
    f->n = n;
    f->attempts = 0;
    f->info = 0;
    f->noise_used = noise;
    if (n <= 0)
        return 0;
    double mean_diag = 0.0;
    for (int i = 0; i < n; i++)
        mean_diag += k[(size_t)i * ldk + i];
    mean_diag /= n;
    double s2 = noise;
    for (;;) {
        /* L <- lower triangle of K + s2 I (the upper triangle of f->l is left unspecified) */
        for (int i = 0; i < n; i++) {
            memcpy(f->l + (size_t)i * n, k + (size_t)i * ldk, (size_t)(i + 1) * sizeof *k);
            f->l[(size_t)i * n + i] += s2;
        }
        int info = chol_lower(f->l, n, n);
        f->attempts++;
        f->info = info;
        f->noise_used = s2;
        if (info == 0)
            return 0;
        if (info < 0)
            return nn_fail(NN_ERR_RUNTIME, "Cholesky: LAPACK illegal argument %d (n = %d)",
                           -info, n);
        double next = s2 > 0.0 ? 10.0 * s2 : 1e-12 * (mean_diag > 0.0 ? mean_diag : 1.0);
        if (!(next <= noise_max * (1.0 + 1e-9)))   /* 1e-6 x 10 x 10 x 10 may round above 1e-3 */
            break;
        s2 = next;
    }
    return nn_fail(NN_ERR_NOT_PD,
                   "Cholesky of K + s2 I failed (n = %d): leading minor %d not positive definite, "
                   "LAPACK info %d, at s2 = %.3g after %d attempts (noise %.3g, noise_max %.3g)",
                   n, f->info, f->info, f->noise_used, f->attempts, noise, noise_max);
}

void gp_solve(const gp_factor_t *f, const double *y, int nrhs, double *alpha)
{
    int n = f->n;
    if (n <= 0 || nrhs <= 0)
        return;
    if (alpha != y)
        memmove(alpha, y, (size_t)n * nrhs * sizeof *y);
    /* alpha = L^-T L^-1 Y: the two triangular solves of dpotrs, done on the row-major n x nrhs
     * block directly (dpotrs wants the column-major one); dtrsv for one column, five times
     * faster than dtrsm with one right-hand side at n = 1000 */
    if (nrhs == 1) {
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, n, f->l, n, alpha, 1);
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, n, f->l, n, alpha, 1);
        return;
    }
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, nrhs, 1.0,
                f->l, n, alpha, nrhs);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, n, nrhs, 1.0,
                f->l, n, alpha, nrhs);
}

void gp_mean(const double *ks, int m, int n, const double *alpha, int nrhs, double *mean)
{
    if (m <= 0 || nrhs <= 0)
        return;
    if (n <= 0) {
        memset(mean, 0, (size_t)m * nrhs * sizeof *mean);
        return;
    }
    if (nrhs == 1)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, m, n, 1.0, ks, n, alpha, 1, 0.0, mean, 1);
    else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, nrhs, n, 1.0, ks, n, alpha, nrhs,
                    0.0, mean, nrhs);
}

/* W = Ks L^-T (m x n row-major, into work): row i of W is (L^-1 ks_i)^T. */
static void whiten(const gp_factor_t *f, const double *ks, int m, double *work)
{
    int n = f->n;
    memcpy(work, ks, (size_t)m * n * sizeof *ks);
    chol_solve_right_trans(f->l, n, n, work, m, n);
}

void gp_variance(const gp_factor_t *f, const double *ks, int m, const double *kss, double *var,
                 double *work)
{
    int n = f->n;
    if (m <= 0)
        return;
    if (n > 0)
        whiten(f, ks, m, work);
    /* var_i = kss_i - |L^-1 ks_i|^2 */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < m; i++) {
        const double *wi = work + (size_t)i * n;
        double s = 0.0;
        for (int j = 0; j < n; j++)
            s += wi[j] * wi[j];
        var[i] = kss[i] - s;
    }
}

void gp_covariance(const gp_factor_t *f, const double *ks, int m, const double *kss_full,
                   double *cov, double *work)
{
    int n = f->n;
    if (m <= 0)
        return;
    if (cov != kss_full)
        memcpy(cov, kss_full, (size_t)m * m * sizeof *cov);
    if (n <= 0)
        return;
    whiten(f, ks, m, work);
    /* cov = Kss - W W^T (lower triangle by syrk, then mirrored) */
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, m, n, -1.0, work, n, 1.0, cov, m);
    for (int i = 0; i < m; i++)
        for (int j = i + 1; j < m; j++)
            cov[(size_t)i * m + j] = cov[(size_t)j * m + i];
}

double gp_log_marginal(const gp_factor_t *f, const double *y, const double *alpha, int nrhs)
{
    int n = f->n;
    /* log p(Y|X) = sum_c [-1/2 y_c^T alpha_c] - nrhs (sum_i log L_ii + n/2 log 2 pi),
     * since log det(K + s2 I) = 2 sum_i log L_ii */
    double fit = 0.0, logdet = 0.0;
    for (size_t i = 0; i < (size_t)n * nrhs; i++)
        fit += y[i] * alpha[i];
    for (int i = 0; i < n; i++)
        logdet += log(f->l[(size_t)i * n + i]);
    return -0.5 * fit - nrhs * (logdet + 0.5 * n * log(2.0 * M_PI));
}
