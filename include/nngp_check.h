/* nngp_check.h - the self-check of a fitted model (HPL's scaled residuals): rows of K + s2 I
 * computed again from the points, independently of the solver's storage, against the solver's
 * weights alpha and its factor L. For the sampled rows S (NNGP_CHECK_ROWS, evenly spaced, first
 * and last included; every row when n is smaller), A = K^L + s2 I, n = ntrain, eps = DBL_EPSILON:
 *   solve  = max over targets c of ||A(S,:) alpha_c - y_c(S)||_oo / (eps (||A(S,:)||_oo ||alpha_c||_oo
 *            + ||y_c(S)||_oo) n)
 *   factor = ||(L L^T)(S,:) - A(S,:)||_oo / (eps ||A(S,:)||_oo n)
 * A backward-stable Cholesky keeps both of order 1; a check passes when both are finite and at
 * most the threshold (HPL's 16 by default). The solvers gather what they hold (nngp.c, pgp.c);
 * this module only computes: plain arrays, no MPI, no files. */
#ifndef NNGP_CHECK_H
#define NNGP_CHECK_H

#include "nngp.h"

#define NNGP_CHECK_THRESHOLD_DEFAULT 16.0
enum { NNGP_CHECK_ROWS = 64 };

/* The rows to check of an n-row training set into rows (NNGP_CHECK_ROWS entries at most,
 * ascending); returns how many. */
int nngp_check_rows(int n, int *rows);

/* a (nrows x ntrain, row-major) = rows `rows` of K^depth + s2 I (Theta^depth + s2 I when p->ntk)
 * of problem p for (sw2, sb2), computed from the points alone (Gram, layer 0, depth steps of kernel.h; the diagonal entries by
 * the diagonal recursion, as the solvers set them). Returns 0 or NN_ERR_NOMEM. */
int nngp_check_kernel_rows(const nngp_problem_t *p, const int *rows, int nrows, int depth,
                           double sw2, double sb2, double s2, double *a);

/* The scaled residuals above from a (nngp_check_kernel_rows), llt (ntrain x nrows, row-major:
 * column k = row rows[k] of L L^T, by symmetry (L L^T)(:, rows[k])), the weights alpha and the
 * targets y (ntrain x ntargets, row-major). */
nngp_check_t nngp_check_residuals(const nngp_problem_t *p, const int *rows, int nrows,
                                  const double *a, const double *llt, const double *alpha);

/* Bytes a self-check allocates for the call, at most, in either solver (sampled kernel rows, the
 * product L Ls^T and its work arrays, the gathered weights): the plan counts them. */
double nngp_check_bytes(int ntrain, int ntargets);

/* 1 if both residuals are finite and at most threshold. */
int nngp_check_passed(nngp_check_t c, double threshold);

#endif
