/* check.c - the self-check's arithmetic (nngp_check.h): sampled kernel rows recomputed from the
 * points and the scaled residuals of a fit. What the solver holds (alpha, rows of L L^T) is
 * gathered by nngp.c and pgp.c; nothing here knows their storage. */
#include "nngp_check.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "nn_alloc.h"
#include "nn_error.h"

int nngp_check_rows(int n, int *rows)
{
    if (n <= NNGP_CHECK_ROWS) {
        for (int k = 0; k < n; k++)
            rows[k] = k;
        return n;
    }
    for (int k = 0; k < NNGP_CHECK_ROWS; k++)
        rows[k] = (int)((long long)k * (n - 1) / (NNGP_CHECK_ROWS - 1));
    return NNGP_CHECK_ROWS;
}

int nngp_check_kernel_rows(const nngp_problem_t *p, const int *rows, int nrows, int depth,
                           double sw2, double sb2, double s2, double *a)
{
    int n = p->ntrain, dim = p->dim;
    size_t rn = (size_t)nrows * n;
    double *xs = nn_alloc_doubles((size_t)nrows * dim), *ds = nn_alloc_doubles((size_t)nrows);
    double *dt = nn_alloc_doubles((size_t)n), *td = p->ntk ? nn_alloc_doubles((size_t)n) : NULL;
    double *k = p->ntk ? nn_alloc_doubles(rn) : a;   /* with the NTK, a gets Theta's rows */
    int rc = xs && ds && dt && k && (!p->ntk || td)
                 ? NN_OK
                 : nn_fail(NN_ERR_NOMEM, "self-check: out of memory (%d train points)", n);
    for (int r = 0; r < nrows && rc == NN_OK; r++)
        memcpy(xs + (size_t)r * dim, p->x_train + (size_t)rows[r] * dim, (size_t)dim * sizeof *xs);
    if (rc == NN_OK) {
        kernel_gram(xs, nrows, p->x_train, n, dim, k, n);
        kernel_gram_diag(p->x_train, n, dim, dt);
        kernel_layer0(k, n, nrows, n, sw2, sb2, k, n);
        kernel_layer0(dt, 1, n, 1, sw2, sb2, dt, 1);
        if (p->ntk) {   /* Theta^0 = K^0 */
            memcpy(a, k, rn * sizeof *a);
            memcpy(td, dt, (size_t)n * sizeof *td);
        }
        for (int l = 1; l <= depth; l++) {
            for (int r = 0; r < nrows; r++)
                ds[r] = dt[rows[r]];
            kernel_step_ntk(k, n, p->ntk ? a : NULL, n, nrows, n, ds, dt, sw2, sb2);
            kernel_diag_step(dt, n, sw2, sb2);
            if (p->ntk)
                kernel_ntk_diag_step(td, dt, n, sw2);
        }
        for (int r = 0; r < nrows; r++)
            a[(size_t)r * n + rows[r]] = (p->ntk ? td : dt)[rows[r]] + s2;
    }
    free(xs);
    free(ds);
    free(dt);
    free(td);
    if (k != a)
        free(k);
    return rc;
}

/* Largest absolute row sum of an m x n row-major block (leading dimension ld). */
static double norm_inf(const double *x, int m, int n, int ld)
{
    double best = 0.0;
    for (int i = 0; i < m; i++) {
        double s = 0.0;
        for (int j = 0; j < n; j++)
            s += fabs(x[(size_t)i * ld + j]);
        best = s > best || isnan(s) ? s : best;
    }
    return best;
}

/* max_k |x[k * stride]| over n values (NaN if any is NaN). */
static double max_abs(const double *x, int n, int stride)
{
    double best = 0.0;
    for (int k = 0; k < n; k++) {
        double v = fabs(x[(size_t)k * stride]);
        best = v > best || isnan(v) ? v : best;
    }
    return best;
}

nngp_check_t nngp_check_residuals(const nngp_problem_t *p, const int *rows, int nrows,
                                  const double *a, const double *llt, const double *alpha)
{
    int n = p->ntrain, nr = p->ntargets;
    nngp_check_t c = {NAN, NAN};
    double norm_a = norm_inf(a, nrows, n, n), eps = DBL_EPSILON;
    double *r = malloc((size_t)nrows * n * sizeof *r);
    if (!r)
        return c;
    /* factor: (L L^T)(S,:) - A(S,:), one sampled row at a time into r */
    for (int k = 0; k < nrows; k++)
        for (int j = 0; j < n; j++)
            r[(size_t)k * n + j] = llt[(size_t)j * nrows + k] - a[(size_t)k * n + j];
    c.factor = norm_inf(r, nrows, n, n) / (eps * norm_a * n);
    /* solve: A(S,:) alpha - y(S), target column by target column */
    for (int k = 0; k < nrows; k++)
        memcpy(r + (size_t)k * nr, p->y_train + (size_t)rows[k] * nr, (size_t)nr * sizeof *r);
    double norm_y[nr > 0 ? nr : 1];
    for (int t = 0; t < nr; t++)
        norm_y[t] = max_abs(r + t, nrows, nr);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nrows, nr, n, 1.0, a, n, alpha, nr,
                -1.0, r, nr);
    c.solve = 0.0;
    for (int t = 0; t < nr; t++) {
        double s = max_abs(r + t, nrows, nr) /
                   (eps * (norm_a * max_abs(alpha + t, n, nr) + norm_y[t]) * n);
        c.solve = s > c.solve || isnan(s) ? s : c.solve;
    }
    free(r);
    return c;
}

double nngp_check_bytes(int ntrain, int ntargets)
{
    return 8.0 * ntrain * (3.0 * NNGP_CHECK_ROWS + ntargets + 1);
}

int nngp_check_passed(nngp_check_t c, double threshold)
{
    return isfinite(c.solve) && isfinite(c.factor) && c.solve <= threshold &&
           c.factor <= threshold;
}
