/* gp.h - Gaussian-process regression on one process (float64; chol.h, BLAS): Cholesky of K + s2 I
 * with a jitter retry, posterior mean, predictive variance, full covariance, log marginal
 * likelihood. Matrices are row-major (the symmetric ones are the same either way). */
#ifndef GP_H
#define GP_H

/* Factor of K + s2 I (lower Cholesky), with the s2 actually used. */
typedef struct {
    int n;
    double *l;             /* n x n row-major, ld n: lower triangle (j <= i) holds L with
                              K + s2 I = L L^T; the upper triangle is unspecified */
    double noise_used;     /* s2 that succeeded (or the last tried, on failure) */
    int info;              /* info of the last attempt, as LAPACK dpotrf's (0 on success) */
    int attempts;
} gp_factor_t;

/* Factors K + s2 I for k (n x n, leading dim ldk, only the lower triangle j <= i read), starting
 * at s2 = noise and multiplying by 10 after each failure while s2 <= noise_max (noise 0 starts the
 * retries at 1e-12 x mean diagonal; the cap is compared with a 1e-9 relative slack so that
 * 1e-6 x 10^3 counts as 1e-3). f->l must hold n*n doubles (allocated by the caller, reused
 * across grid points). Returns 0, or NN_ERR_NOT_PD with info and s2 recorded in f and the message
 * (NN_ERR_RUNTIME if LAPACK reports an illegal argument). */
int gp_factor(const double *k, int ldk, int n, double noise, double noise_max, gp_factor_t *f);

/* alpha = (K + s2 I)^-1 Y for nrhs right-hand sides; y and alpha n x nrhs row-major (may alias). */
void gp_solve(const gp_factor_t *f, const double *y, int nrhs, double *alpha);
/* mean = Ks alpha: Ks (m x n, row-major, row i = k(x*_i, X)), alpha (n x nrhs) -> mean (m x nrhs). */
void gp_mean(const double *ks, int m, int n, const double *alpha, int nrhs, double *mean);
/* Predictive variance var_i = kss_i - |L^-1 ks_i|^2 for m test points; kss the prior diagonal.
 * work holds n*m doubles. */
void gp_variance(const gp_factor_t *f, const double *ks, int m, const double *kss, double *var,
                 double *work);
/* Full posterior covariance Kss - Ks (K+s2I)^-1 Ks^T (m x m, row-major) into cov; kss_full is the
 * m x m prior; work n*m doubles. */
void gp_covariance(const gp_factor_t *f, const double *ks, int m, const double *kss_full,
                   double *cov, double *work);
/* log p(Y | X) summed over the nrhs target columns:
 *   sum_c [ -1/2 y_c^T alpha_c ] - nrhs * (sum log L_ii + n/2 log 2 pi). */
double gp_log_marginal(const gp_factor_t *f, const double *y, const double *alpha, int nrhs);

#endif
