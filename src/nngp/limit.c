/* limit.c - finite random ReLU networks against their NNGP limit (limit.h): the forward pass of a
 * network drawn from the prior (BLAS dgemm per block of units, weights drawn block by block so a
 * wide layer never holds its whole matrix), its empirical kernel (dsyrk), K^L by kernel.h, and
 * the error measures. Does not schedule, store or draw anything but the networks. */
#include "limit.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernel.h"

/* Units whose weights are drawn and applied at a time. */
#define LIMIT_BLOCK 128

static int max_int(int a, int b) { return a > b ? a : b; }

/* n draws of N(0, sd^2) from r into out. */
static void normals(rng_t *r, double *out, size_t n, double sd)
{
    for (size_t i = 0; i < n; i++)
        out[i] = sd * rng_normal(r);
}

size_t limit_work_doubles(int p, int dim, int width)
{
    int rows = width < LIMIT_BLOCK ? width : LIMIT_BLOCK;
    return 2 * (size_t)p * width + (size_t)rows * max_int(dim, width);
}

/* out (p x width) = relu(in W^T + b) for in (p x fan_in) and a layer drawn from r: the width
 * biases N(0, sb2), then W (width x fan_in) row by row, N(0, sw2 / fan_in). wb: scratch of
 * LIMIT_BLOCK x fan_in doubles (fewer rows when width is smaller). */
static void layer_forward(const double *in, int p, int fan_in, int width, double sw2, double sb2,
                          rng_t *r, double *wb, double *out)
{
    normals(r, out, (size_t)width, sqrt(sb2));   /* the biases, in out's first row */
    for (int a = 1; a < p; a++)
        memcpy(out + (size_t)a * width, out, (size_t)width * sizeof *out);
    double sd = sqrt(sw2 / fan_in);
    for (int j0 = 0; j0 < width; j0 += LIMIT_BLOCK) {
        int nb = width - j0 < LIMIT_BLOCK ? width - j0 : LIMIT_BLOCK;
        for (int j = 0; j < nb; j++)
            normals(r, wb + (size_t)j * fan_in, (size_t)fan_in, sd);
        /* out[:, j0:j0+nb] += in (p x fan_in) wb^T (fan_in x nb) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p, nb, fan_in, 1.0, in, fan_in, wb,
                    fan_in, 1.0, out + j0, width);
    }
    for (size_t i = 0; i < (size_t)p * width; i++)
        out[i] = out[i] > 0.0 ? out[i] : 0.0;
}

/* Copies the lower triangle of the p x p matrix k onto the upper one. */
static void mirror_lower(double *k, int p)
{
    for (int i = 0; i < p; i++)
        for (int j = 0; j < i; j++)
            k[(size_t)j * p + i] = k[(size_t)i * p + j];
}

void limit_empirical_kernel(const double *x, int p, int dim, int depth, int width, double sw2,
                            double sb2, rng_t *r, double *work, double *kn)
{
    double *act[2] = {work, work + (size_t)p * width};
    double *wb = act[1] + (size_t)p * width;
    const double *in = x;
    int fan_in = dim;
    for (int l = 0; l < depth; l++) {   /* act[l % 2] = relu(f^(l+1)) */
        layer_forward(in, p, fan_in, width, sw2, sb2, r, wb, act[l % 2]);
        in = act[l % 2];
        fan_in = width;
    }
    /* K_N = sb2 + sw2 / N relu(f^(L)) relu(f^(L))^T */
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, p, width, sw2 / width, in, width, 0.0,
                kn, p);
    for (int i = 0; i < p; i++)
        for (int j = 0; j <= i; j++)
            kn[(size_t)i * p + j] += sb2;
    mirror_lower(kn, p);
}

void limit_nngp_kernel(const double *x, int p, int dim, int depth, double sw2, double sb2,
                       double *k, double *diag)
{
    kernel_gram_sym(x, p, dim, k, p);
    kernel_layer0(k, p, p, p, sw2, sb2, k, p);   /* K^0 = sb2 + sw2 x.x' / N0 */
    for (int i = 0; i < p; i++)
        diag[i] = k[(size_t)i * p + i];
    for (int l = 1; l <= depth; l++) {
        kernel_step_sym(k, p, p, diag, sw2, sb2);
        kernel_diag_step(diag, p, sw2, sb2);
    }
}

double limit_rel_frobenius(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0.0 ? sqrt(num / den) : NAN;
}

double limit_loglog_slope(const double *x, const double *y, int n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!(x[i] > 0) || !(y[i] > 0) || isinf(y[i]))
            continue;
        double lx = log(x[i]), ly = log(y[i]);
        sx += lx;
        sy += ly;
        sxx += lx * lx;
        sxy += lx * ly;
        m++;
    }
    double den = m * sxx - sx * sx;
    return m >= 2 && den > 0 ? (m * sxy - sx * sy) / den : NAN;
}

size_t limit_cell_work_doubles(int p, int dim, int width)
{
    return 2 * (size_t)p * p + limit_work_doubles(p, dim, width);
}

limit_cell_t limit_cell(const double *x, int p, int dim, int depth, int width, double sw2,
                        double sb2, int samples, uint64_t seed, const double *kref, double *work,
                        void (*poll)(void))
{
    size_t pp = (size_t)p * p;
    double *kn = work, *ksum = work + pp, *net = ksum + pp;
    double mean = 0.0, m2 = 0.0;   /* Welford's running mean and sum of squared deviations */
    memset(ksum, 0, pp * sizeof *ksum);
    for (int s = 0; s < samples; s++) {
        rng_t r;
        rng_seed_stream(&r, seed, (uint64_t)depth << 32 | (uint64_t)width, (uint64_t)s);
        limit_empirical_kernel(x, p, dim, depth, width, sw2, sb2, &r, net, kn);
        double e = limit_rel_frobenius(kn, kref, pp), delta = e - mean;
        mean += delta / (s + 1);
        m2 += delta * (e - mean);
        for (size_t i = 0; i < pp; i++)
            ksum[i] += kn[i];
        if (poll)
            poll();
    }
    for (size_t i = 0; i < pp; i++)
        ksum[i] /= samples;
    limit_cell_t c = {.error = mean, .bias = limit_rel_frobenius(ksum, kref, pp),
                      .error_stderr = samples > 1 ? sqrt(m2 / (samples - 1) / samples) : NAN};
    return c;
}
