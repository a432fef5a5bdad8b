/* chol.c - recursive Cholesky and right triangular solve on row-major lower triangles: each
 * level halves the order, so nearly all the flops land in one dgemm or dsyrk call per level;
 * leaves of order <= CHOL_LEAF are dpotrf (factor) or leaf_solve below (solve). No pivoting, no
 * scaling: the same arithmetic as LAPACK's recursive dpotrf, in a different order. */
#include "chol.h"

#include <cblas.h>

#include "lapack.h"

/* Order at which the recursion stops. 32: a leaf's solve is O(m 32^2) of the O(m n^2) total,
 * and the dgemm calls of the levels above it still have k >= 32 (n = 1000 on one core of an AVX-512
 * machine: 8.4 ms at 32, 8.7 at 64 and 9.4 at 16, against 11.3 ms for dpotrf). */
enum { CHOL_LEAF = 32, LEAF_ROWS = 16 };

/* B <- B L^-T for a leaf (n <= CHOL_LEAF): LEAF_ROWS rows of b at a time, transposed into t so
 * that the forward substitution x_j = (b_j - sum_{k<j} L_jk x_k) / L_jj runs down LEAF_ROWS
 * rows in one vector operation. */
static void leaf_solve(const double *restrict l, int n, int ldl, double *restrict b, int m,
                       int ldb)
{
#pragma omp parallel for schedule(static) if (m >= 16 * LEAF_ROWS)
    for (int i0 = 0; i0 < m; i0 += LEAF_ROWS) {
        double t[CHOL_LEAF][LEAF_ROWS] __attribute__((aligned(64)));
        int rows = m - i0 < LEAF_ROWS ? m - i0 : LEAF_ROWS;
        for (int q = 0; q < LEAF_ROWS; q++) {
            const double *bq = b + (size_t)(i0 + (q < rows ? q : 0)) * ldb;
            for (int j = 0; j < n; j++)
                t[j][q] = bq[j];   /* lanes past the last row repeat row i0, and are not stored */
        }
        for (int j = 0; j < n; j++) {
            double d = l[(size_t)j * ldl + j];
#pragma omp simd
            for (int q = 0; q < LEAF_ROWS; q++)
                t[j][q] /= d;
            for (int k = j + 1; k < n; k++) {
                double c = l[(size_t)k * ldl + j];
#pragma omp simd
                for (int q = 0; q < LEAF_ROWS; q++)
                    t[k][q] -= c * t[j][q];
            }
        }
        for (int q = 0; q < rows; q++) {
            double *bq = b + (size_t)(i0 + q) * ldb;
            for (int j = 0; j < n; j++)
                bq[j] = t[j][q];
        }
    }
}

/* With L = [L11 0; L21 L22] and B = [B1 B2] split at n1 columns: X1 = B1 L11^-T, then
 * X2 = (B2 - X1 L21^T) L22^-T. */
void chol_solve_right_trans(const double *l, int n, int ldl, double *b, int m, int ldb)
{
    if (n <= 0 || m <= 0)
        return;
    if (n <= CHOL_LEAF) {
        leaf_solve(l, n, ldl, b, m, ldb);
        return;
    }
    int n1 = n / 2, n2 = n - n1;
    const double *l21 = l + (size_t)n1 * ldl, *l22 = l21 + n1;
    chol_solve_right_trans(l, n1, ldl, b, m, ldb);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n2, n1, -1.0, b, ldb, l21, ldl, 1.0,
                b + n1, ldb);
    chol_solve_right_trans(l22, n2, ldl, b + n1, m, ldb);
}

/* With A = [A11 .; A21 A22] split at n1: L11 = chol(A11), L21 = A21 L11^-T,
 * L22 = chol(A22 - L21 L21^T). */
int chol_lower(double *a, int n, int lda)
{
    if (n <= CHOL_LEAF) {
        /* the row-major lower triangle is LAPACK's column-major upper one: A = U^T U, U = L^T */
        int info = 0;
        if (n > 0)
            dpotrf_("U", &n, a, &lda, &info, 1);
        return info;
    }
    int n1 = n / 2, n2 = n - n1;
    double *a21 = a + (size_t)n1 * lda, *a22 = a21 + n1;
    int info = chol_lower(a, n1, lda);
    if (info)
        return info;
    chol_solve_right_trans(a, n1, lda, a21, n2, lda);
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, n2, n1, -1.0, a21, lda, 1.0, a22, lda);
    info = chol_lower(a22, n2, lda);
    return info > 0 ? info + n1 : info;
}
