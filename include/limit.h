/* limit.h - the GP limit measured: random finite-width ReLU networks drawn from the NNGP prior,
 * their empirical kernels K_N on a set of points, and how far those are from the NNGP kernel K^L.
 * A network of depth L and width N: f^(1) = W_1 x + b_1, f^(l+1) = W_{l+1} relu(f^(l)) + b_{l+1},
 * l < L, weights N(0, sw2 / fan_in), biases N(0, sb2); its kernel
 *   K_N(x, x') = sb2 + sw2 / N sum_j relu(f_j^(L)(x)) relu(f_j^(L)(x'))
 * tends to K^L of kernel.h (f^(1) has covariance K^0, f^(l+1) K^l) as N grows, with fluctuations
 * of order N^-1/2. Plain arrays, row-major; no MPI, no files. */
#ifndef LIMIT_H
#define LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "nn_rng.h"

/* Doubles of scratch limit_empirical_kernel needs for p points of dimension dim at width N. */
size_t limit_work_doubles(int p, int dim, int width);

/* K_N (p x p, both triangles, leading dimension p) of one network of `depth` hidden layers of
 * `width` units drawn from r, on the p points x (p x dim). Per layer the stream gives the N
 * biases, then W's rows in order, so a network depends only on r's state. work holds
 * limit_work_doubles(p, dim, width) doubles. */
void limit_empirical_kernel(const double *x, int p, int dim, int depth, int width, double sw2,
                            double sb2, rng_t *r, double *work, double *kn);

/* K^L (p x p, both triangles) of kernel.h on the points x (p x dim); diag: p doubles of scratch. */
void limit_nngp_kernel(const double *x, int p, int dim, int depth, double sw2, double sb2,
                       double *k, double *diag);

/* ||a - b||_F / ||b||_F over n values; NaN when b is zero. */
double limit_rel_frobenius(const double *a, const double *b, size_t n);

/* Slope of the least-squares line through (log x_i, log y_i) over the i with x_i > 0 and
 * finite y_i > 0; NaN with fewer than two such points (or all x equal). */
double limit_loglog_slope(const double *x, const double *y, int n);

/* One measurement: `samples` networks of one depth and width against K^L (kref, p x p). Network
 * s is drawn from rng_seed_stream(seed, depth << 32 | width, s). error: mean over the networks
 * of the relative Frobenius error of K_N; error_stderr: its standard error (sample standard
 * deviation / sqrt(samples)); bias: the relative Frobenius error of the mean of the K_N. work
 * holds limit_cell_work_doubles(p, dim, width) doubles. poll (may be NULL) is called after each
 * network, e.g. for a scheduler to answer requests. */
typedef struct {
    double error, error_stderr, bias;
} limit_cell_t;

size_t limit_cell_work_doubles(int p, int dim, int width);
limit_cell_t limit_cell(const double *x, int p, int dim, int depth, int width, double sw2,
                        double sb2, int samples, uint64_t seed, const double *kref, double *work,
                        void (*poll)(void));

#endif
