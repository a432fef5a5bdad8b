/* test_limit.c - the GP limit measured (limit.h): the mean empirical kernel of many random
 * networks against K^L (Monte-Carlo, which also fixes the depth convention: K^{L-1} and K^{L+1}
 * are far off), the error shrinking like N^-1/2 with width, the
 * relative Frobenius error and the log-log slope on exact data, and reproducibility of a network
 * from its stream. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "limit.h"
#include "nn_rng.h"

enum { P = 6, DIM = 12 };

/* P points of dimension DIM, uniform in [0, 1) like scaled pixels, with one repeated and one
 * zero, so that the kernel has equal rows and a point whose K^0 is sb2 alone. */
static void make_points(double *x)
{
    rng_t r;
    rng_seed(&r, 11);
    for (int i = 0; i < P * DIM; i++)
        x[i] = rng_uniform(&r);
    memcpy(x + 4 * DIM, x, DIM * sizeof *x);
    memset(x + 5 * DIM, 0, DIM * sizeof *x);
}

static double *alloc_doubles(size_t n)
{
    double *v = malloc(n * sizeof *v);
    assert_non_null(v);
    return v;
}

/* The mean of K_N over S networks of width N against K^L, entry by entry. Depth 1: f^(1) is
 * exactly Gaussian with covariance K^0, so E[K_N] = K^1 at any width and the tolerance is 5
 * standard errors of the Monte-Carlo mean (each entry's sample standard deviation / sqrt(S)).
 * Deeper, E[K_N] differs from K^L by O(1/N) (the inputs of layer 2 are not Gaussian at finite
 * width): 5 standard errors plus 4 / N relative. The neighbours K^{L-1} and K^{L+1} must miss
 * by more than 10 standard errors somewhere: the depth convention is L hidden layers -> K^L. */
static void check_mean_kernel(int depth, int width, int samples, double sw2, double sb2)
{
    double x[P * DIM], diag[P], k[3][P * P], kn[P * P], sum[P * P] = {0}, sum2[P * P] = {0};
    make_points(x);
    for (int j = 0; j < 3; j++)   /* K^{L-1}, K^L, K^{L+1} */
        limit_nngp_kernel(x, P, DIM, depth - 1 + j, sw2, sb2, k[j], diag);
    double *work = alloc_doubles(limit_work_doubles(P, DIM, width));
    for (int s = 0; s < samples; s++) {
        rng_t r;
        rng_seed_stream(&r, 99, (uint64_t)depth, (uint64_t)s);
        limit_empirical_kernel(x, P, DIM, depth, width, sw2, sb2, &r, work, kn);
        for (int i = 0; i < P * P; i++) {
            sum[i] += kn[i];
            sum2[i] += kn[i] * kn[i];
        }
    }
    double worst = 0, miss[2] = {0, 0};
    for (int i = 0; i < P * P; i++) {
        double mean = sum[i] / samples;
        double se = sqrt(fmax(sum2[i] / samples - mean * mean, 0) / (samples - 1)) + 1e-300;
        double tol = 5 * se + (depth > 1 ? 4.0 / width * fabs(k[1][i]) : 0);
        if (fabs(mean - k[1][i]) > tol)
            fail_msg("depth %d width %d entry %d: mean K_N %.6g, K^L %.6g, tolerance %.3g", depth,
                     width, i, mean, k[1][i], tol);
        worst = fmax(worst, fabs(mean - k[1][i]) / se);
        miss[0] = fmax(miss[0], fabs(mean - k[0][i]) / se);
        miss[1] = fmax(miss[1], fabs(mean - k[2][i]) / se);
    }
    print_message("depth %d width %d, %d networks: largest |mean K_N - K^L| %.2f se; K^%d and "
                  "K^%d miss by %.0f and %.0f se\n", depth, width, samples, worst, depth - 1,
                  depth + 1, miss[0], miss[1]);
    if (!(miss[0] > 10 && miss[1] > 10))
        fail_msg("the neighbouring depths are not told apart (%.1f, %.1f se)", miss[0], miss[1]);
    free(work);
}

static void test_mean_kernel(void **state)
{
    (void)state;
    check_mean_kernel(1, 16, 4000, 1.6, 0.3);
    check_mean_kernel(2, 128, 1500, 2.0, 0.1);
    check_mean_kernel(3, 128, 1500, 1.2, 0.5);
}

/* Relative Frobenius error by hand: ||(3, 4) - 0|| / ||(3, 4)|| = 1, ||(3, 4) - (0, 4)|| = 3/5;
 * a zero reference gives NaN. */
static void test_rel_frobenius(void **state)
{
    (void)state;
    const double a[2] = {0, 4}, b[2] = {3, 4}, z[2] = {0, 0};
    assert_close(limit_rel_frobenius(z, b, 2), 1.0, 1e-15);
    assert_close(limit_rel_frobenius(a, b, 2), 0.6, 1e-15);
    assert_true(isnan(limit_rel_frobenius(a, z, 2)));
}

/* The slope of exact power laws y = c x^k (k = -1/2, 1, -2) to 1e-12 (rounding in the logs);
 * non-positive and NaN points are left out; fewer than two points, or one x, give NaN. */
static void test_slope(void **state)
{
    (void)state;
    const double x[5] = {16, 64, 256, 1024, 4096}, ks[3] = {-0.5, 1.0, -2.0};
    double y[5];
    for (int j = 0; j < 3; j++) {
        for (int i = 0; i < 5; i++)
            y[i] = 0.7 * pow(x[i], ks[j]);
        assert_close(limit_loglog_slope(x, y, 5), ks[j], 1e-12);
    }
    for (int i = 0; i < 5; i++)
        y[i] = 2.0 / sqrt(x[i]);
    y[1] = NAN;
    y[3] = 0.0;
    assert_close(limit_loglog_slope(x, y, 5), -0.5, 1e-12);
    y[0] = y[2] = NAN;
    assert_true(isnan(limit_loglog_slope(x, y, 5)));
    const double same[2] = {8, 8}, ys[2] = {1, 2};
    assert_true(isnan(limit_loglog_slope(same, ys, 2)));
}

/* limit_cell: the error falls with width with a log-log slope within 0.15 of -1/2 (10 networks
 * per width: the error's own relative spread is about 1/sqrt(10) per width, and the fit over
 * a 256-fold range of widths averages it down); the bias is below the error; the error's
 * standard error is positive and well below the error; the same seed gives the same cell bit
 * for bit (a network depends only on its stream). */
static void test_cell_width(void **state)
{
    (void)state;
    const int widths[4] = {16, 64, 256, 1024}, samples = 10;
    double x[P * DIM], diag[P], kref[P * P], w[4], err[4];
    make_points(x);
    limit_nngp_kernel(x, P, DIM, 2, 1.8, 0.2, kref, diag);
    double *work = alloc_doubles(limit_cell_work_doubles(P, DIM, 1024));
    for (int i = 0; i < 4; i++) {
        limit_cell_t c =
            limit_cell(x, P, DIM, 2, widths[i], 1.8, 0.2, samples, 5, kref, work, NULL);
        print_message("width %4d: error %.4f +- %.4f, bias %.4f\n", widths[i], c.error,
                      c.error_stderr, c.bias);
        assert_true(c.bias < c.error);
        assert_true(c.error_stderr > 0 && c.error_stderr < 0.5 * c.error);
        w[i] = widths[i];
        err[i] = c.error;
        if (i > 0)
            assert_true(err[i] < err[i - 1]);
        limit_cell_t again =
            limit_cell(x, P, DIM, 2, widths[i], 1.8, 0.2, samples, 5, kref, work, NULL);
        assert_memory_equal(&c, &again, sizeof c);
    }
    double slope = limit_loglog_slope(w, err, 4);
    print_message("slope %.3f\n", slope);
    assert_close(slope, -0.5, 0.15);
    free(work);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rel_frobenius),
        cmocka_unit_test(test_slope),
        cmocka_unit_test(test_mean_kernel),
        cmocka_unit_test(test_cell_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
