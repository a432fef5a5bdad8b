/* chol.h - Cholesky factorization and the triangular solve that follows it, for row-major lower
 * triangles, by recursion onto dgemm and dsyrk (float64). The small triangular solves at the
 * leaves of the recursion are a vectorized loop of our own: OpenBLAS 0.3.21's dtrsm kernel for
 * AVX-512 cores runs them at a third of dgemm's rate, which made dpotrf 30% slower than its
 * dgemm allows (n = 1000). The triangular solves share their rows, in fixed strips, among
 * threads_item() threads (nn_threads.h: more than one only for an item alone on its rank), with
 * the same bits whatever that number; BLAS is called single-threaded, dsyrk serially. */
#ifndef CHOL_H
#define CHOL_H

/* Factors the symmetric positive definite a (n x n, row-major, leading dimension lda; only the
 * lower triangle j <= i is read) in place into L with A = L L^T (lower triangle; the strict upper
 * triangle is not touched). Returns 0, or k > 0 when the leading minor of order k is not positive
 * definite (LAPACK dpotrf's info; the factorization stopped there and a is partly overwritten),
 * or a negative LAPACK info for an illegal argument. */
int chol_lower(double *a, int n, int lda);

/* B <- B L^-T: b is m x n (row-major, leading dimension ldb), l the n x n lower factor (row-major,
 * leading dimension ldl, strict upper triangle not read). Row i of the result is the solution x
 * of L x = b_i. */
void chol_solve_right_trans(const double *l, int n, int ldl, double *b, int m, int ldb);

#endif
