/* test_kernel.c - the arc-cosine NNGP recursion against independent references: K^1 against a
 * quadrature of E[relu(u) relu(v)], K^1..K^3 against Monte-Carlo over random finite-width ReLU
 * networks, and the structural properties (symmetry, PSD, diagonal, degenerate inputs, threads). */
#include "testlib.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../src/nngp/lapack.h"
#include "kernel.h"
#include "nn_rng.h"

/* Row-major n x dim matrix of N(0,1) entries. */
static double *random_points(rng_t *r, int n, int dim)
{
    double *x = malloc((size_t)n * dim * sizeof *x);
    assert_non_null(x);
    for (int i = 0; i < n * dim; i++)
        x[i] = rng_normal(r);
    return x;
}

/* K^L(X, X) for every depth 0..lmax by the library (full-block kernel_step, not the sym one):
 * out[l] is n x n. Diagonals advance through kernel_diag_step. */
static double **kernel_depths(const double *x, int n, int dim, int lmax, double sw2, double sb2)
{
    double **out = calloc((size_t)lmax + 1, sizeof *out);
    double *d = malloc((size_t)n * sizeof *d);
    assert_non_null(out);
    assert_non_null(d);
    out[0] = malloc((size_t)n * n * sizeof **out);
    assert_non_null(out[0]);
    kernel_gram_sym(x, n, dim, out[0], n);
    kernel_layer0(out[0], n, n, n, sw2, sb2, out[0], n);
    for (int i = 0; i < n; i++)
        d[i] = out[0][i * n + i];
    for (int l = 1; l <= lmax; l++) {
        out[l] = malloc((size_t)n * n * sizeof **out);
        assert_non_null(out[l]);
        memcpy(out[l], out[l - 1], (size_t)n * n * sizeof **out);
        kernel_step(out[l], n, n, n, d, d, sw2, sb2);
        kernel_diag_step(d, n, sw2, sb2);
    }
    free(d);
    return out;
}

static void free_depths(double **k, int lmax)
{
    for (int l = 0; l <= lmax; l++)
        free(k[l]);
    free(k);
}

/* ---- K^1 against quadrature --------------------------------------------------------------- */

/* E[relu(mu + Z)] = phi(mu) + mu Phi(mu), Z ~ N(0,1). For mu < -3 the two terms cancel, so it is
 * written phi(x) T/(x + T), x = -mu, with T the tail 1/(x + 2/(x + 3/(x + ...))) of the Mills-ratio
 * continued fraction (100 terms: converged to 1e-16 for x >= 3). */
static double relu_mean_shifted(double mu)
{
    if (mu > -3.0)
        return exp(-0.5 * mu * mu) / sqrt(2.0 * M_PI) + mu * 0.5 * erfc(-mu / M_SQRT2);
    double x = -mu, t = 0.0;
    for (int k = 100; k >= 1; k--)
        t = k / (x + t);
    return exp(-0.5 * x * x) / sqrt(2.0 * M_PI) * t / (x + t);
}

/* Composite Simpson (n panels, even) on [z0, z1] of sqrt(a) z phi(z) E[relu(m z + beta Z)]. */
static double outer_simpson(double sa, double m, double beta, double z0, double z1, int n)
{
    double h = (z1 - z0) / n, sum = 0.0;
    for (int i = 0; i <= n; i++) {
        double z = z0 + i * h, mu = m * z;
        double inner = beta > 1e-300 ? beta * relu_mean_shifted(mu / beta) : (mu > 0.0 ? mu : 0.0);
        double f = sa * z * inner * exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
        sum += ((i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0)) * f;
    }
    return sum * h / 3.0;
}

/* E[relu(u) relu(v)] for (u, v) ~ N(0, [[a, c], [c, b]]), written after the Cholesky factor of
 * the 2x2 covariance: u = sqrt(a) z1, v = m z1 + beta z2, m = c/sqrt(a), beta^2 = b - c^2/a.
 * relu(u) is zero for z1 < 0; the inner Gaussian integral over z2 is the closed form
 * E[relu(m z1 + beta Z)] = beta E[relu(m z1/beta + Z)]; the outer one over z1 in (0, 12) (tail
 * < e^-72) is composite Simpson: 32000 panels, or 16000 on (0, zb) and 16000 on (zb, 12), where
 * zb = 40 beta/|m| is the layer in which the inner factor turns on (m > 0) or dies out below
 * e^-800 (m < 0: nearly opposite points, all the mass is in that thin layer). Each piece is
 * smooth: error ~ h^4, ~1e-14 relative (with 4x fewer panels the largest difference to the
 * library is 4e-12, with these 4e-14: the h^4 law). No arc-cosine formula is involved. */
static double relu_moment_quadrature(double a, double b, double c)
{
    if (a <= 0.0 || b <= 0.0)
        return 0.0;
    double sa = sqrt(a), m = c / sa, beta2 = b - c * c / a;
    double beta = beta2 > 0.0 ? sqrt(beta2) : 0.0;
    const double zmax = 12.0;
    double zb = m != 0.0 ? 40.0 * beta / fabs(m) : zmax;
    if (zb >= zmax)
        return outer_simpson(sa, m, beta, 0.0, zmax, 32000);
    double s = outer_simpson(sa, m, beta, 0.0, zb, 16000);
    return m > 0.0 ? s + outer_simpson(sa, m, beta, zb, zmax, 16000) : s;
}

/* Tolerance 1e-12 relative to max(|K|, 1e-2 x the pair's scale sb2 + sw2 sqrt(ab)/2): the
 * quadrature is accurate to ~1e-14, the library (its own acos of -c, see test_step_against_libm;
 * sqrt((1-c)(1+c))) to ~1e-15 of the scale. Nearly opposite points have
 * K^1 - sb2 ~ (1-|c|)^(3/2) x scale (1e-11 of the scale here), which no float64 route gets to
 * 1e-12 relative: hence the floor. The inputs include nearly parallel, nearly opposite and
 * orthogonal pairs and one duplicated point. */
static void test_k1_against_quadrature(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 11);
    const int n = 8, dim = 5;
    double *x = random_points(&r, n, dim);
    for (int d = 0; d < dim; d++) {
        x[1 * dim + d] = x[0 * dim + d] + 1e-4 * x[1 * dim + d];   /* nearly parallel to 0 */
        x[2 * dim + d] = -0.9 * x[0 * dim + d] + 1e-3 * x[2 * dim + d]; /* nearly opposite */
        x[7 * dim + d] = x[3 * dim + d];                             /* duplicate of 3 */
    }
    const double vars[][2] = {{1.0, 0.0}, {2.0, 0.1}, {1.6, 0.5}};
    double worst = 0.0;
    for (size_t v = 0; v < sizeof vars / sizeof vars[0]; v++) {
        double sw2 = vars[v][0], sb2 = vars[v][1];
        double **k = kernel_depths(x, n, dim, 1, sw2, sb2);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double a = k[0][i * n + i], b = k[0][j * n + j], c = k[0][i * n + j];
                double ref = sb2 + sw2 * relu_moment_quadrature(a, b, c);
                double floor = 1e-2 * (sb2 + sw2 * sqrt(a * b) / 2);
                assert_rel_close(k[1][i * n + j], ref, 1e-12, floor);
                worst = fmax(worst, fabs(k[1][i * n + j] - ref) /
                                        fmax(fmax(fabs(ref), fabs(k[1][i * n + j])), floor));
            }
        free_depths(k, 1);
    }
    print_message("largest relative difference to the quadrature: %.3g\n", worst);
    free(x);
}

/* The step's arc-cosine function J(c) = sqrt(1 - c^2) + (pi - acos c) c, read off one row
 * (d1 = d2 = 1, sw2 = 2 pi, sb2 = 0, so K^1 = J(k)), against libm's acosl and sqrtl in long
 * double at 2 x 10^5 points of [-1, 1]: random ones, both sides of the |c| = 1/2 switch of the
 * library's acos, and the ends. Tolerance 4 ulp of pi (1.8e-15 absolute): J is O(1) except near
 * c = -1, where it is the difference of two O(sqrt(1 + c)) terms and an absolute bound is the
 * meaningful one. */
static void test_step_against_libm(void **state)
{
    (void)state;
    enum { N = 200000 };
    double *k = malloc(N * sizeof *k), *c = malloc(N * sizeof *c), *ones = malloc(N * sizeof *ones);
    const double special[] = {-1.0, -1.0 + 1e-15, -1.0 + 1e-9, -0.75, -0.5 - 1e-16, -0.5,
                              -0.5 + 1e-16, -1e-300, 0.0, 1e-300, 1e-8, 0.5 - 1e-16, 0.5,
                              0.5 + 1e-16, 0.75, 1.0 - 1e-9, 1.0 - 1e-15, 1.0};
    int ns = (int)(sizeof special / sizeof *special);
    rng_t r;
    rng_seed(&r, 5);
    for (int j = 0; j < N; j++) {
        c[j] = j < ns ? special[j] : 2.0 * rng_uniform(&r) - 1.0;
        k[j] = c[j];
        ones[j] = 1.0;
    }
    kernel_step(k, N, 1, N, ones, ones, 2.0 * M_PI, 0.0);
    double worst = 0.0, worst_c = 0.0;
    for (int j = 0; j < N; j++) {
        long double cl = c[j];
        long double ref = sqrtl((1.0L - cl) * (1.0L + cl)) + (acosl(-1.0L) - acosl(cl)) * cl;
        double err = fabs((double)((long double)k[j] - ref));
        if (err > worst) {
            worst = err;
            worst_c = c[j];
        }
    }
    print_message("largest |J - J_libm| %.3g (%.2f ulp of pi) at c = %.17g\n", worst,
                  worst / (M_PI * 0x1p-52), worst_c);
    if (!(worst <= 4.0 * M_PI * 0x1p-52))
        fail_msg("J(c) off by %.3g at c = %.17g", worst, worst_c);
    free(k);
    free(c);
    free(ones);
}

/* ---- K^1..K^3 against Monte-Carlo over finite networks --------------------------------- */

/* Standard normals by Marsaglia's polar method (both values used): the weight matrices need
 * ~10^7 draws per network, and this is several times cheaper than rng_normal. */
typedef struct {
    rng_t r;
    double spare;
    int has_spare;
} normal_gen_t;

static double fast_normal(normal_gen_t *g)
{
    if (g->has_spare) {
        g->has_spare = 0;
        return g->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * rng_uniform(&g->r) - 1.0;
        v = 2.0 * rng_uniform(&g->r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    g->spare = v * f;
    g->has_spare = 1;
    return u * f;
}

/* One random network of the given width with L = lmax hidden layers and a readout of `width`
 * units, applied to p inputs (x: p x dim). Weights of layer l are N(0, sw2 / N_{l-1}), biases
 * N(0, sb2). est[(l-1) p^2 + a p + b] (l = 1..lmax) receives the empirical second moment over
 * the units of preactivation layer l+1, (1/width) sum_k h_k(x_a) h_k(x_b); its expectation
 * tends to K^l(x_a, x_b) as width grows (the units are exchangeable; their mean is 0).
 * h and act are width x p scratch buffers, wbuf width x max(width, dim). */
static void network_moments(normal_gen_t *g, const double *x, int p, int dim, int width,
                            int lmax, double sw2, double sb2, double *est, double *h,
                            double *act, double *wbuf)
{
    int fan_in = dim;
    const double *in = x;          /* first layer input, p x dim (row-major, a row per input) */
    for (int layer = 1; layer <= lmax + 1; layer++) {
        double sd = sqrt(sw2 / fan_in), sdb = sqrt(sb2);
        for (size_t i = 0; i < (size_t)width * fan_in; i++)
            wbuf[i] = sd * fast_normal(g);
        /* h (width x p) = W (width x fan_in) in^T + b 1^T */
        for (int k = 0; k < width; k++) {
            double bk = sdb * fast_normal(g);
            for (int a = 0; a < p; a++)
                h[k * p + a] = bk;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, width, p, fan_in, 1.0, wbuf, fan_in,
                    in, fan_in, 1.0, h, p);
        if (layer >= 2) {          /* preactivation layer l+1 estimates K^l, l = layer - 1 */
            double *e = est + (size_t)(layer - 2) * p * p;
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++) {
                    double s = 0.0;
                    for (int k = 0; k < width; k++)
                        s += h[k * p + a] * h[k * p + b];
                    e[a * p + b] = s / width;
                }
        }
        /* act (p x width) = relu(h)^T, the next layer's input */
        for (int k = 0; k < width; k++)
            for (int a = 0; a < p; a++)
                act[a * width + k] = h[k * p + a] > 0.0 ? h[k * p + a] : 0.0;
        in = act;
        fan_in = width;
    }
}

/* Runs nnet networks of one width; mean[l][a][b] and standard error of the mean. */
static void monte_carlo(const double *x, int p, int dim, int width, int lmax, double sw2,
                        double sb2, int nnet, uint64_t seed, double *mean, double *se)
{
    size_t ne = (size_t)lmax * p * p;
    size_t wmax = (size_t)width * (width > dim ? width : dim);
    double *est = malloc(ne * sizeof *est), *sum2 = calloc(ne, sizeof *sum2);
    double *h = malloc((size_t)width * p * sizeof *h);
    double *act = malloc((size_t)width * p * sizeof *act);
    double *wbuf = malloc(wmax * sizeof *wbuf);
    assert_true(est && sum2 && h && act && wbuf);
    normal_gen_t g = {.has_spare = 0};
    rng_seed(&g.r, seed);
    memset(mean, 0, ne * sizeof *mean);
    for (int s = 0; s < nnet; s++) {
        network_moments(&g, x, p, dim, width, lmax, sw2, sb2, est, h, act, wbuf);
        for (size_t e = 0; e < ne; e++) {
            mean[e] += est[e];
            sum2[e] += est[e] * est[e];
        }
    }
    for (size_t e = 0; e < ne; e++) {
        mean[e] /= nnet;
        double var = (sum2[e] / nnet - mean[e] * mean[e]) * nnet / (nnet - 1.0);
        se[e] = sqrt(var > 0.0 ? var / nnet : 0.0);
    }
    free(est);
    free(sum2);
    free(h);
    free(act);
    free(wbuf);
}

/* Width 2048, 24 networks: every entry of K^1, K^2, K^3 for 4 inputs lies within 5 standard
 * errors of the Monte-Carlo mean plus 0.5% of the kernel scale (the finite-width bias is
 * O(1/width) ~ 1e-3 relative; 5 SE makes a chance failure ~1e-6 per entry). And the error shrinks
 * with width: the mean relative error at width 2048 is below half of that at width 64 (same
 * number of networks; expected ratio ~ sqrt(64/2048) ~ 0.18 for the noise, less for the bias). */
static void test_kernel_against_monte_carlo(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 5);
    const int p = 4, dim = 6, lmax = 3, nnet = 24;
    const double sw2 = 1.8, sb2 = 0.2;
    double *x = random_points(&r, p, dim);
    for (int d = 0; d < dim; d++)
        x[1 * dim + d] = 0.8 * x[0 * dim + d] + 0.3 * x[1 * dim + d];   /* correlated pair */
    double **k = kernel_depths(x, p, dim, lmax, sw2, sb2);
    size_t ne = (size_t)lmax * p * p;
    double mean[3 * 16], se[3 * 16], err[2] = {0, 0}, zmax = 0.0;
    const int widths[2] = {64, 2048};
    for (int w = 0; w < 2; w++) {
        monte_carlo(x, p, dim, widths[w], lmax, sw2, sb2, nnet, 1000 + w, mean, se);
        for (size_t e = 0; e < ne; e++) {
            int l = (int)(e / (p * p)) + 1, ab = (int)(e % (p * p));
            int a = ab / p, b = ab % p;
            double kl = k[l][a * p + b];
            double scale = sqrt(k[l][a * p + a] * k[l][b * p + b]);
            err[w] += fabs(mean[e] - kl) / scale / ne;
            if (widths[w] == 2048) {
                zmax = fmax(zmax, fabs(mean[e] - kl) / se[e]);
                if (!(fabs(mean[e] - kl) <= 5.0 * se[e] + 5e-3 * scale))
                    fail_msg("K^%d(x%d, x%d) = %.6g, Monte-Carlo %.6g +- %.2g (width %d)", l, a,
                             b, kl, mean[e], se[e], widths[w]);
            }
        }
    }
    print_message("mean relative error: width 64 %.4g, width 2048 %.4g; largest |error|/SE at "
                  "width 2048: %.2f\n", err[0], err[1], zmax);
    assert_true(err[1] < 0.5 * err[0]);
    free_depths(k, lmax);
    free(x);
}

/* ---- structural properties --------------------------------------------------------------- */

/* K(X, X) is exactly symmetric (the step multiplies by inv_i inv_j, which commutes) and positive
 * semi-definite: its smallest eigenvalue (dsyev) is >= -1e-12 x trace/n at every depth 1..6
 * (a PSD matrix computed in float64 can only go negative by rounding, ~n eps scale), and the
 * Cholesky of K + 1e-10 x (trace/n) I succeeds. */
static void test_symmetric_psd(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 7);
    const int n = 40, dim = 3, lmax = 6;
    double *x = random_points(&r, n, dim);
    double **k = kernel_depths(x, n, dim, lmax, 1.7, 0.05);
    double *a = malloc((size_t)n * n * sizeof *a), w[40];
    int lwork = 10 * n;
    double *work = malloc((size_t)lwork * sizeof *work);
    for (int l = 1; l <= lmax; l++) {
        double tr = 0.0;
        for (int i = 0; i < n; i++) {
            tr += k[l][i * n + i];
            for (int j = 0; j < n; j++)
                assert_true(k[l][i * n + j] == k[l][j * n + i]);
        }
        double scale = tr / n;
        memcpy(a, k[l], (size_t)n * n * sizeof *a);
        int info;
        dsyev_("N", "L", &n, a, &n, w, work, &lwork, &info, 1, 1);
        assert_int_equal(info, 0);
        if (w[0] < -1e-12 * scale)
            fail_msg("depth %d: min eigenvalue %.3g < -1e-12 x %.3g", l, w[0], scale);
        memcpy(a, k[l], (size_t)n * n * sizeof *a);
        for (int i = 0; i < n; i++)
            a[i * n + i] += 1e-10 * scale;
        dpotrf_("L", &n, a, &n, &info, 1);
        assert_int_equal(info, 0);
    }
    free(a);
    free(work);
    free_depths(k, lmax);
    free(x);
}

/* The diagonal recursion K^l(x,x) = sb2 + sw2/2 K^{l-1}(x,x) equals the diagonal of the full
 * step (c = 1 there, acos = 0): relative 1e-14 (one rounding of the correlation near 1 perturbs
 * the step by ~(1 - c) ~ 1e-16). The test diagonal starts from kernel_gram_diag, the block from
 * dgemm, so this also checks those two agree. */
static void test_diag_recursion_matches_full(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 8);
    const int n = 17, dim = 9, lmax = 8;
    const double sw2 = 2.3, sb2 = 0.3;
    double *x = random_points(&r, n, dim);
    double *g = malloc((size_t)n * n * sizeof *g), d[17];
    kernel_gram(x, n, x, n, dim, g, n);
    kernel_gram_diag(x, n, dim, d);
    kernel_layer0(g, n, n, n, sw2, sb2, g, n);
    kernel_layer0(d, 1, n, 1, sw2, sb2, d, 1);
    for (int l = 1; l <= lmax; l++) {
        kernel_step(g, n, n, n, d, d, sw2, sb2);
        kernel_diag_step(d, n, sw2, sb2);
        for (int i = 0; i < n; i++)
            assert_rel_close(g[i * n + i], d[i], 1e-14, 0.0);
    }
    free(g);
    free(x);
}

/* kernel_step_sym equals kernel_step on the full block: bit for bit off the diagonal (same
 * vector code per entry, whatever the column position or tile), 1e-15 relative on it (sym sets
 * it by the diagonal recursion exactly). Sizes not multiples of the vector length or tile. */
static void test_step_sym_equals_full(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 9);
    const int n = 301, dim = 4, ld = 303, lmax = 4;
    const double sw2 = 1.4, sb2 = 0.2;
    double *x = random_points(&r, n, dim);
    double *ks = malloc((size_t)n * ld * sizeof *ks), *kf = malloc((size_t)n * ld * sizeof *kf);
    double *d = malloc((size_t)n * sizeof *d);
    kernel_gram_sym(x, n, dim, ks, ld);
    kernel_layer0(ks, ld, n, n, sw2, sb2, ks, ld);
    memcpy(kf, ks, (size_t)n * ld * sizeof *ks);
    for (int i = 0; i < n; i++)
        d[i] = ks[i * ld + i];
    for (int l = 1; l <= lmax; l++) {
        kernel_step_sym(ks, ld, n, d, sw2, sb2);
        kernel_step(kf, ld, n, n, d, d, sw2, sb2);
        kernel_diag_step(d, n, sw2, sb2);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                if (i == j)
                    assert_rel_close(ks[i * ld + j], kf[i * ld + j], 1e-15, 0.0);
                else if (ks[i * ld + j] != kf[i * ld + j])
                    fail_msg("depth %d entry (%d,%d): sym %.17g, full %.17g", l, i, j,
                             ks[i * ld + j], kf[i * ld + j]);
            }
        memcpy(kf, ks, (size_t)n * ld * sizeof *ks);   /* continue from the same K */
    }
    free(ks);
    free(kf);
    free(d);
    free(x);
}

/* The lower-triangle variants (layer 0 and the step without the mirror) give the lower triangle
 * of kernel_layer0 / kernel_step_sym bit for bit at every depth, and leave the upper triangle
 * as it was (a marker value here). */
static void test_lower_variants(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 11);
    const int n = 157, dim = 5, ld = 160, lmax = 3;
    const double sw2 = 1.9, sb2 = 0.05, marker = -12345.0;
    double *x = random_points(&r, n, dim);
    double *g = malloc((size_t)n * ld * sizeof *g), *ks = malloc((size_t)n * ld * sizeof *ks);
    double *kl = malloc((size_t)n * ld * sizeof *kl), *d = malloc((size_t)n * sizeof *d);
    kernel_gram_sym(x, n, dim, g, ld);
    kernel_layer0(g, ld, n, n, sw2, sb2, ks, ld);
    for (size_t e = 0; e < (size_t)n * ld; e++)
        kl[e] = marker;
    kernel_layer0_lower(g, ld, n, sw2, sb2, kl, ld);
    for (int i = 0; i < n; i++)
        d[i] = ks[i * ld + i];
    for (int l = 0; l <= lmax; l++) {
        if (l > 0) {
            kernel_step_sym(ks, ld, n, d, sw2, sb2);
            kernel_step_lower(kl, ld, n, d, sw2, sb2);
            kernel_diag_step(d, n, sw2, sb2);
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double want = j <= i ? ks[i * ld + j] : marker;
                if (kl[i * ld + j] != want)
                    fail_msg("depth %d entry (%d,%d): lower variant %.17g, expected %.17g", l, i, j,
                             kl[i * ld + j], want);
            }
    }
    free(g);
    free(ks);
    free(kl);
    free(d);
    free(x);
}

/* Degenerate inputs give finite values: duplicated points (correlation exactly 1, off-diagonal
 * = diagonal within 1e-14), a zero vector (with sb2 = 0 its row is exactly 0 at every depth;
 * with sb2 > 0 it is finite and sb2 at layer 0), and depth 100 at sw2 = 1, 2, 3 (the diagonal
 * shrinks as 2^-100, stays, or grows as 1.5^100) with every correlation in [-1, 1 + 1e-12]. */
static void test_degenerate_inputs_finite(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 10);
    const int n = 6, dim = 3, lmax = 100;
    double *x = random_points(&r, n, dim);
    for (int d = 0; d < dim; d++) {
        x[1 * dim + d] = x[0 * dim + d];   /* duplicate */
        x[5 * dim + d] = 0.0;              /* zero vector */
    }
    const double vars[][2] = {{1.0, 0.0}, {2.0, 0.0}, {3.0, 0.0}, {2.0, 0.1}, {0.5, 1.0}};
    for (size_t v = 0; v < sizeof vars / sizeof vars[0]; v++) {
        double sw2 = vars[v][0], sb2 = vars[v][1];
        double **k = kernel_depths(x, n, dim, lmax, sw2, sb2);
        for (int l = 0; l <= lmax; l++) {
            const double *kl = k[l];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    double kij = kl[i * n + j];
                    if (!isfinite(kij))
                        fail_msg("sw2 %g sb2 %g depth %d (%d,%d) = %g", sw2, sb2, l, i, j, kij);
                    double norm = sqrt(kl[i * n + i] * kl[j * n + j]);
                    assert_true(fabs(kij) <= norm * (1.0 + 1e-12));
                    if (sb2 == 0.0 && (i == 5 || j == 5))
                        assert_true(kij == 0.0);
                }
            assert_rel_close(kl[0 * n + 1], kl[0 * n + 0], 1e-14, 0.0);
            if (sb2 > 0.0 && l == 0)
                assert_true(kl[5 * n + 2] == sb2);
        }
        free_depths(k, lmax);
    }
    free(x);
}

/* The same blocks with 1 and 2 OpenMP threads are bit-identical (elementwise work per row, no
 * reductions across threads). Sizes make the row tiles split unevenly. */
static void test_thread_count_independence(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 12);
    const int n = 203, m = 77, dim = 5;
    const double sw2 = 1.9, sb2 = 0.15;
    double *x = random_points(&r, n, dim), *y = random_points(&r, m, dim);
    double *res[2][2];
    double *dres[2];
    int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        double *kt = malloc((size_t)n * n * sizeof *kt), *kst = malloc((size_t)m * n * sizeof *kst);
        double *dt = malloc((size_t)n * sizeof *dt), *ds = malloc((size_t)m * sizeof *ds);
        kernel_gram_sym(x, n, dim, kt, n);
        kernel_gram(y, m, x, n, dim, kst, n);
        kernel_gram_diag(x, n, dim, dt);
        kernel_gram_diag(y, m, dim, ds);
        kernel_layer0(kt, n, n, n, sw2, sb2, kt, n);
        kernel_layer0(kst, n, m, n, sw2, sb2, kst, n);
        kernel_layer0(dt, 1, n, 1, sw2, sb2, dt, 1);
        kernel_layer0(ds, 1, m, 1, sw2, sb2, ds, 1);
        for (int l = 1; l <= 5; l++) {
            kernel_step_sym(kt, n, n, dt, sw2, sb2);
            kernel_step(kst, n, m, n, ds, dt, sw2, sb2);
            kernel_diag_step(dt, n, sw2, sb2);
            kernel_diag_step(ds, m, sw2, sb2);
        }
        res[t][0] = kt;
        res[t][1] = kst;
        dres[t] = ds;
        free(dt);
    }
    omp_set_num_threads(saved);
    assert_memory_equal(res[0][0], res[1][0], (size_t)n * n * sizeof(double));
    assert_memory_equal(res[0][1], res[1][1], (size_t)m * n * sizeof(double));
    assert_memory_equal(dres[0], dres[1], (size_t)m * sizeof(double));
    for (int t = 0; t < 2; t++) {
        free(res[t][0]);
        free(res[t][1]);
        free(dres[t]);
    }
    free(x);
    free(y);
}

/* ---- the NTK ---------------------------------------------------------------------------------- */

/* Theta by the library (kernel_step_ntk on full blocks, lower and sym variants) against a scalar
 * long-double recursion written from the definition with acosl: Theta^0 = K^0, Theta^l = K^l +
 * sw2 (pi - t)/(2 pi) Theta^{l-1}. Tolerance 1e-13 relative to the largest diagonal (the acos
 * polynomial's 1.2 ulp of pi, compounded over 6 layers); the diagonal recursion
 * (kernel_ntk_diag_step) to 1e-14; the lower and sym variants equal the full block off the diagonal
 * bit for bit. On the full block's diagonal (a point with itself) the rounded correlation 1 - eps
 * gives an angle ~ sqrt(2 eps) instead of 0, to which Theta (unlike K) is sensitive at first
 * order: 1e-7 there; the lower and sym variants set the diagonal by its exact recursion. */
static void test_ntk_against_scalar_reference(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 21);
    enum { N = 13, DIM = 7, LMAX = 6 };
    const double sw2 = 1.9, sb2 = 0.2;
    double *x = random_points(&r, N, DIM);
    double k[N * N], th[N * N], kl[N * N], thl[N * N], ks[N * N], ths[N * N], d[N], td[N];
    long double rk[N][N], rth[N][N];
    kernel_gram(x, N, x, N, DIM, k, N);
    kernel_gram_diag(x, N, DIM, d);
    kernel_layer0(k, N, N, N, sw2, sb2, k, N);
    kernel_layer0(d, 1, N, 1, sw2, sb2, d, 1);
    memcpy(th, k, sizeof k);
    memcpy(kl, k, sizeof k);
    memcpy(thl, k, sizeof k);
    memcpy(ks, k, sizeof k);
    memcpy(ths, k, sizeof k);
    memcpy(td, d, sizeof d);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            long double dot = 0;
            for (int q = 0; q < DIM; q++)
                dot += (long double)x[i * DIM + q] * x[j * DIM + q];
            rk[i][j] = rth[i][j] = sb2 + sw2 * dot / DIM;
        }
    double worst = 0.0;
    for (int l = 1; l <= LMAX; l++) {
        long double nk[N][N];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                long double n = sqrtl(rk[i][i] * rk[j][j]), c = rk[i][j] / n;
                c = c > 1 ? 1 : c < -1 ? -1 : c;
                long double t = acosl(c);
                nk[i][j] = sb2 + sw2 / (2 * M_PI) * n * (sinl(t) + (M_PI - t) * c);
                rth[i][j] = nk[i][j] + sw2 * (M_PI - t) / (2 * M_PI) * rth[i][j];
            }
        memcpy(rk, nk, sizeof nk);
        kernel_step_ntk_lower(kl, N, thl, N, N, d, td, sw2, sb2);
        kernel_step_ntk_sym(ks, N, ths, N, N, d, td, sw2, sb2);
        kernel_step_ntk(k, N, th, N, N, N, d, d, sw2, sb2);
        kernel_diag_step(d, N, sw2, sb2);
        kernel_ntk_diag_step(td, d, N, sw2);
        double scale = 0.0;
        for (int i = 0; i < N; i++)
            scale = fmax(scale, (double)rth[i][i]);
        for (int i = 0; i < N; i++) {
            assert_rel_close(td[i], (double)rth[i][i], 1e-14, 0.0);
            assert_rel_close(thl[i * N + i], td[i], 0.0, 0.0);
            for (int j = 0; j < N; j++) {
                double e = fabs(th[i * N + j] - (double)rth[i][j]) / scale;
                worst = i == j ? worst : fmax(worst, e);
                if (e > (i == j ? 1e-7 : 1e-13))
                    fail_msg("depth %d (%d, %d): Theta %.17g, reference %.17Lg", l, i, j,
                             th[i * N + j], rth[i][j]);
                if (j < i && (thl[i * N + j] != th[i * N + j] || kl[i * N + j] != k[i * N + j]))
                    fail_msg("depth %d (%d, %d): lower variant differs from the full block", l,
                             i, j);
                if (j != i && ths[i * N + j] != th[(i > j ? i : j) * N + (i > j ? j : i)])
                    fail_msg("depth %d (%d, %d): sym variant differs", l, i, j);
            }
        }
    }
    print_message("Theta vs long-double reference: largest error %.2e of the diagonal\n", worst);
    free(x);
}

/* The empirical NTK of one random network in the NTK parameterization with L hidden ReLU layers
 * of `width` units and one output: h_l = sqrt(sw2/n_{l-1}) W_l a_{l-1} + sqrt(sb2) b_l with
 * W, b ~ N(0, 1), a_0 = x, a_l = relu(h_l), f = h_{L+1}. The gradient of f with respect to every
 * weight and bias, summed over parameters, is computed layer by layer without forming it:
 *   Theta_N(x, x') = sum_l (g_l(x) . g_l(x')) (sw2/n_{l-1} a_{l-1}(x) . a_{l-1}(x') + sb2),
 * with g_l = df/dh_l (g_{L+1} = 1, g_l = relu'(h_l) * sqrt(sw2/n_l) W_{l+1}^T g_{l+1}). Its limit
 * as width grows is Theta^L (Jacot et al. 2018). out: p x p. */
static void empirical_ntk(normal_gen_t *g, const double *x, int p, int dim, int width, int L,
                          double sw2, double sb2, double *out)
{
    int nl = L + 1;
    int n[nl + 1];
    n[0] = dim;
    for (int l = 1; l <= L; l++)
        n[l] = width;
    n[nl] = 1;
    double *w[nl + 1], *h[nl + 1], *a[nl + 1], *gr[nl + 1];
    a[0] = (double *)x;   /* p x n_l row-major activations; h, gr likewise */
    for (int l = 1; l <= nl; l++) {
        w[l] = malloc((size_t)n[l] * n[l - 1] * sizeof(double));
        h[l] = malloc((size_t)p * n[l] * sizeof(double));
        a[l] = malloc((size_t)p * n[l] * sizeof(double));
        gr[l] = malloc((size_t)p * n[l] * sizeof(double));
        assert_true(w[l] && h[l] && a[l] && gr[l]);
        for (size_t i = 0; i < (size_t)n[l] * n[l - 1]; i++)
            w[l][i] = fast_normal(g);
        double sd = sqrt(sw2 / n[l - 1]), sdb = sqrt(sb2);
        for (int k = 0; k < n[l]; k++) {
            double b = sdb * fast_normal(g);
            for (int q = 0; q < p; q++)
                h[l][q * n[l] + k] = b;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p, n[l], n[l - 1], sd, a[l - 1],
                    n[l - 1], w[l], n[l - 1], 1.0, h[l], n[l]);
        for (size_t i = 0; i < (size_t)p * n[l]; i++)
            a[l][i] = h[l][i] > 0.0 ? h[l][i] : 0.0;
    }
    for (int q = 0; q < p; q++)
        gr[nl][q] = 1.0;
    for (int l = nl - 1; l >= 1; l--) {   /* gr_l = relu'(h_l) * sqrt(sw2/n_l) gr_{l+1} W_{l+1} */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, n[l], n[l + 1],
                    sqrt(sw2 / n[l]), gr[l + 1], n[l + 1], w[l + 1], n[l], 0.0, gr[l], n[l]);
        for (size_t i = 0; i < (size_t)p * n[l]; i++)
            gr[l][i] = h[l][i] > 0.0 ? gr[l][i] : 0.0;
    }
    memset(out, 0, (size_t)p * p * sizeof *out);
    for (int l = 1; l <= nl; l++)
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++) {
                double gg = cblas_ddot(n[l], gr[l] + (size_t)i * n[l], 1, gr[l] + (size_t)j * n[l], 1);
                double aa = cblas_ddot(n[l - 1], a[l - 1] + (size_t)i * n[l - 1], 1,
                                       a[l - 1] + (size_t)j * n[l - 1], 1);
                out[i * p + j] += gg * (sw2 / n[l - 1] * aa + sb2);
            }
    for (int l = 1; l <= nl; l++) {
        free(w[l]);
        free(h[l]);
        free(a[l]);
        free(gr[l]);
    }
}

/* Theta^2 against the empirical NTK of random networks of 2 hidden layers (4 inputs in 16 dims):
 * the mean relative error (Frobenius, over 4 networks per width) shrinks with width, as
 * N^-1/2: at width 4096 it is below half of that at 256 (expected ratio 0.25) and below 5%; and
 * the mean over the 4 networks at 4096 is within 5 standard errors (+1% for the O(1/N) bias) of
 * Theta entry by entry. */
static void test_ntk_against_monte_carlo(void **state)
{
    (void)state;
    enum { P = 4, DIM = 16, L = 2, NNET = 4 };
    const double sw2 = 1.8, sb2 = 0.2;
    rng_t r;
    rng_seed(&r, 33);
    double *x = random_points(&r, P, DIM);
    double k[P * P], th[P * P], d[P], td[P];
    kernel_gram(x, P, x, P, DIM, k, P);
    kernel_gram_diag(x, P, DIM, d);
    kernel_layer0(k, P, P, P, sw2, sb2, k, P);
    kernel_layer0(d, 1, P, 1, sw2, sb2, d, 1);
    memcpy(th, k, sizeof k);
    memcpy(td, d, sizeof d);
    for (int l = 1; l <= L; l++) {
        kernel_step_ntk_sym(k, P, th, P, P, d, td, sw2, sb2);
        kernel_diag_step(d, P, sw2, sb2);
        kernel_ntk_diag_step(td, d, P, sw2);
    }
    double norm = cblas_dnrm2(P * P, th, 1);
    const int widths[3] = {256, 1024, 4096};
    double err[3], mean[P * P], sq[P * P];
    normal_gen_t g = {.has_spare = 0};
    rng_seed(&g.r, 34);
    for (int wi = 0; wi < 3; wi++) {
        err[wi] = 0.0;
        memset(mean, 0, sizeof mean);
        memset(sq, 0, sizeof sq);
        for (int s = 0; s < NNET; s++) {
            double emp[P * P], e2 = 0.0;
            empirical_ntk(&g, x, P, DIM, widths[wi], L, sw2, sb2, emp);
            for (int i = 0; i < P * P; i++) {
                e2 += (emp[i] - th[i]) * (emp[i] - th[i]);
                mean[i] += emp[i] / NNET;
                sq[i] += emp[i] * emp[i] / NNET;
            }
            err[wi] += sqrt(e2) / norm / NNET;
        }
        print_message("width %4d: mean relative error of the empirical NTK %.4f\n", widths[wi],
                      err[wi]);
    }
    assert_true(err[2] < 0.5 * err[0]);
    assert_true(err[1] < err[0] && err[2] < err[1]);
    assert_true(err[2] < 0.05);
    for (int i = 0; i < P * P; i++) {
        double se = sqrt(fmax(sq[i] - mean[i] * mean[i], 0.0) / (NNET - 1));
        if (fabs(mean[i] - th[i]) > 5 * se + 0.01 * norm / P)
            fail_msg("entry %d: Monte-Carlo %.5f +- %.5f, Theta %.5f", i, mean[i], se, th[i]);
    }
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k1_against_quadrature),
        cmocka_unit_test(test_step_against_libm),
        cmocka_unit_test(test_kernel_against_monte_carlo),
        cmocka_unit_test(test_symmetric_psd),
        cmocka_unit_test(test_diag_recursion_matches_full),
        cmocka_unit_test(test_step_sym_equals_full),
        cmocka_unit_test(test_lower_variants),
        cmocka_unit_test(test_degenerate_inputs_finite),
        cmocka_unit_test(test_thread_count_independence),
        cmocka_unit_test(test_ntk_against_scalar_reference),
        cmocka_unit_test(test_ntk_against_monte_carlo),
    };
    return cmocka_run_group_tests_name("kernel", tests, NULL, NULL);
}
