/* chol.c - recursive Cholesky and right triangular solve on row-major lower triangles: each
 * level halves the order, so nearly all the flops land in one dgemm or dsyrk call per level;
 * leaves of order <= CHOL_LEAF are dpotrf (factor) or leaf_solve below (solve), in AVX-512
 * intrinsics where the target has them, else a portable loop (CHOL_PORTABLE forces it; the tests
 * run both). No pivoting, no scaling: LAPACK's recursive dpotrf in a different order. */
#include "chol.h"

#include <cblas.h>
#include <stdint.h>

#include "lapack.h"
#include "nn_threads.h"

/* Order at which the recursion stops. 32: a leaf's solve is O(m 32^2) of the O(m n^2) total,
 * and the dgemm calls of the levels above it still have k >= 32 (n = 1000 on one core of an AVX-512
 * machine, portable leaf: 8.4 ms at 32, 8.7 at 64 and 9.4 at 16, against 11.3 ms for dpotrf; the
 * AVX-512 leaf, 29 GFLOP/s against the portable one's 7, brings 32 to 8.5 ms with the factor's
 * own copy, 80% of it in dgemm's kernel). LEAF_ROWS: rows per vector in the portable leaf. */
enum { CHOL_LEAF = 32, LEAF_ROWS = 16 };
/* Rows of B per strip of a solve (a multiple of the leaves' 8 and LEAF_ROWS rows). Large enough
 * for dgemm to run at speed on a strip, small enough to share the 250-1000 rows of the solves of
 * an n = 500-2000 factorization among a few threads. */
enum { STRIP_ROWS = 128 };

#if defined(__AVX512F__) && !defined(CHOL_PORTABLE)
#include <immintrin.h>

/* Rows 0..7 of r[] (8 doubles each) transposed in place: r[j][q] <- r[q][j]. */
static inline void transpose8(__m512d r[8])
{
    static const int64_t lo2[8] __attribute__((aligned(64))) = {0, 1, 8, 9, 4, 5, 12, 13};
    static const int64_t hi2[8] __attribute__((aligned(64))) = {2, 3, 10, 11, 6, 7, 14, 15};
    static const int64_t lo4[8] __attribute__((aligned(64))) = {0, 1, 2, 3, 8, 9, 10, 11};
    static const int64_t hi4[8] __attribute__((aligned(64))) = {4, 5, 6, 7, 12, 13, 14, 15};
    const __m512i il2 = _mm512_load_si512(lo2), ih2 = _mm512_load_si512(hi2);
    const __m512i il4 = _mm512_load_si512(lo4), ih4 = _mm512_load_si512(hi4);
    __m512d t[8], u[8];
    for (int p = 0; p < 4; p++) {        /* t[2p]: even columns of rows 2p, 2p+1; t[2p+1]: odd */
        t[2 * p] = _mm512_unpacklo_pd(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_pd(r[2 * p], r[2 * p + 1]);
    }
    for (int h = 0; h < 2; h++)          /* u[4h + c]: columns c and c + 4 of rows 4h..4h+3 */
        for (int o = 0; o < 2; o++) {
            u[4 * h + o] = _mm512_permutex2var_pd(t[4 * h + o], il2, t[4 * h + 2 + o]);
            u[4 * h + 2 + o] = _mm512_permutex2var_pd(t[4 * h + o], ih2, t[4 * h + 2 + o]);
        }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_permutex2var_pd(u[c], il4, u[4 + c]);
        r[c + 4] = _mm512_permutex2var_pd(u[c], ih4, u[4 + c]);
    }
}

/* B <- B L^-T for a leaf (n <= CHOL_LEAF = 32): L padded to 32 x 32 with the identity, its
 * diagonal inverted once; then 8 rows of b at a time are loaded as 8 x 8 blocks, transposed so
 * that t[j] holds column j of the 8 rows, solved by forward substitution
 * x_j = (b_j - sum_{k<j} L_jk x_k) / L_jj entirely in the 32 vector registers, and transposed
 * back. Padding columns (j >= n) are zero and stay zero. */
static void leaf_solve(const double *restrict l, int n, int ldl, double *restrict b, int m,
                       int ldb)
{
    double lp[CHOL_LEAF][CHOL_LEAF] __attribute__((aligned(64)));
    for (int j = 0; j < CHOL_LEAF; j++)
        for (int k = 0; k < CHOL_LEAF; k++)
            lp[j][k] = j < n && k < n ? (k == j ? 1.0 / l[(size_t)j * ldl + j]
                                               : l[(size_t)j * ldl + k])
                                      : (k == j);
    __mmask8 mask[CHOL_LEAF / 8];   /* the columns of b in each 8-column block */
    for (int c = 0; c < CHOL_LEAF; c += 8)
        mask[c / 8] = (__mmask8)((1u << (n - c < 0 ? 0 : n - c < 8 ? n - c : 8)) - 1);
    for (int i0 = 0; i0 < m; i0 += 8) {
        int rows = m - i0 < 8 ? m - i0 : 8;
        __m512d t[CHOL_LEAF];
        for (int c = 0; c < CHOL_LEAF; c += 8) {
            for (int q = 0; q < 8; q++)
                t[c + q] = q < rows ? _mm512_maskz_loadu_pd(mask[c / 8],
                                                            b + (size_t)(i0 + q) * ldb + c)
                                    : _mm512_setzero_pd();
            transpose8(t + c);
        }
#pragma GCC unroll 32
        for (int j = 0; j < CHOL_LEAF; j++) {
            t[j] = _mm512_mul_pd(t[j], _mm512_set1_pd(lp[j][j]));
#pragma GCC unroll 32
            for (int k = j + 1; k < CHOL_LEAF; k++)
                t[k] = _mm512_fnmadd_pd(_mm512_set1_pd(lp[k][j]), t[j], t[k]);
        }
        for (int c = 0; c < CHOL_LEAF; c += 8) {
            transpose8(t + c);
            for (int q = 0; q < rows; q++)
                _mm512_mask_storeu_pd(b + (size_t)(i0 + q) * ldb + c, mask[c / 8], t[c + q]);
        }
    }
}
#else
/* B <- B L^-T for a leaf (n <= CHOL_LEAF): LEAF_ROWS rows of b at a time, transposed into t so
 * that the forward substitution x_j = (b_j - sum_{k<j} L_jk x_k) / L_jj runs down LEAF_ROWS
 * rows in one vector operation. */
static void leaf_solve(const double *restrict l, int n, int ldl, double *restrict b, int m,
                       int ldb)
{
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
#endif

/* With L = [L11 0; L21 L22] and B = [B1 B2] split at n1 columns: X1 = B1 L11^-T, then
 * X2 = (B2 - X1 L21^T) L22^-T. */
static void solve_rows(const double *l, int n, int ldl, double *b, int m, int ldb)
{
    if (n <= CHOL_LEAF) {
        leaf_solve(l, n, ldl, b, m, ldb);
        return;
    }
    int n1 = n / 2, n2 = n - n1;
    const double *l21 = l + (size_t)n1 * ldl, *l22 = l21 + n1;
    solve_rows(l, n1, ldl, b, m, ldb);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n2, n1, -1.0, b, ldb, l21, ldl, 1.0,
                b + n1, ldb);
    solve_rows(l22, n2, ldl, b + n1, m, ldb);
}

/* The rows of B are independent: they are solved in strips of STRIP_ROWS, always the same strips
 * with the same calls whatever the thread count, so the bits never depend on it (the strips are
 * shared among threads_item() threads; dgemm stays single-threaded inside each). */
void chol_solve_right_trans(const double *l, int n, int ldl, double *b, int m, int ldb)
{
    if (n <= 0 || m <= 0)
        return;
    int strips = (m + STRIP_ROWS - 1) / STRIP_ROWS, threads = threads_item();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1 && strips > 1)
    for (int s = 0; s < strips; s++) {
        int r0 = s * STRIP_ROWS, rows = m - r0 < STRIP_ROWS ? m - r0 : STRIP_ROWS;
        solve_rows(l, n, ldl, b + (size_t)r0 * ldb, rows, ldb);
    }
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
