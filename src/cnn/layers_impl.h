/* layers_impl.h - the layer kernels of cnn.h, written once for a scalar type `real` and
 * compiled twice: cnn_f32.c (float, the production path) and cnn_f64.c (double, for the
 * finite-difference gradient checks). Not a public header: the includer defines real, F(name)
 * (the exported name with its suffix) and GEMM (cblas_sgemm or cblas_dgemm).
 * Convolution is im2col per image + one GEMM; no allocation, no MPI, no files. */

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Sums in LANES independent accumulators, so the compiler can vectorize them without
 * reassociating (no -ffast-math); the lanes are then added in double. Each lane sees n/LANES
 * values (n <= a few thousand here), so float lanes lose nothing that matters. */
enum { LANES = 16 };

/* sum v */
static double sum_lanes(const real *v, size_t n)
{
    real a[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            a[l] += v[j + l];
    double s = 0;
    for (; j < n; j++)
        s += v[j];
    for (int l = 0; l < LANES; l++)
        s += a[l];
    return s;
}

/* s1 += sum (x - k), s2 += sum (x - k)^2 */
static void sum2_lanes(const real *x, real k, size_t n, double *s1, double *s2)
{
    real a[LANES] = {0}, b[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) {
            const real d = x[j + l] - k;
            a[l] += d;
            b[l] += d * d;
        }
    double t1 = 0, t2 = 0;
    for (; j < n; j++) {
        const double d = (double)x[j] - k;
        t1 += d;
        t2 += d * d;
    }
    for (int l = 0; l < LANES; l++)
        t1 += a[l], t2 += b[l];
    *s1 += t1;
    *s2 += t2;
}

/* s1 += sum g, s2 += sum g (x - mu) is */
static void sum_gx_lanes(const real *g, const real *x, real mu, real is, size_t n, double *s1,
                         double *s2)
{
    real a[LANES] = {0}, b[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) {
            a[l] += g[j + l];
            b[l] += g[j + l] * ((x[j + l] - mu) * is);
        }
    double t1 = 0, t2 = 0;
    for (; j < n; j++) {
        t1 += g[j];
        t2 += (double)g[j] * ((x[j] - mu) * is);
    }
    for (int l = 0; l < LANES; l++)
        t1 += a[l], t2 += b[l];
    *s1 += t1;
    *s2 += t2;
}

/* ---------------------------------------------------------------------------------------------
 * Convolution. */

/* "Same" convolutions (stride 1, K = 2P + 1, so OH = H and OW = W): row (c,ki,kj) of col is
 * plane c shifted by d = (ki - P) W + (kj - P) values, col[q] = x[c HW + q + d], except in the
 * output rows outside [oa, ob) and the columns outside [lo, hi) of the others, which are 0.
 * Hence one contiguous copy per row of col from its first to its last valid entry (the entries
 * in between that wrap around a row edge are then zeroed): no per-row calls on small images. */
static int conv_is_same(int H, int W, int K, int S, int P, int OH, int OW)
{
    return S == 1 && K == 2 * P + 1 && OH == H && OW == W;
}

/* Valid output rows [*oa, *ob) and columns [*lo, *hi) of row (ki, kj) of a same convolution. */
static void same_range(int H, int W, int P, int ki, int kj, int *oa, int *ob, int *lo, int *hi)
{
    *oa = P - ki > 0 ? P - ki : 0;
    *ob = H + P - ki < H ? H + P - ki : H;
    *lo = P - kj > 0 ? P - kj : 0;
    *hi = W + P - kj < W ? W + P - kj : W;
}

/* Zeroes the entries of row (H x W values) in rows [oa, ob) outside columns [lo, hi): the ones a
 * contiguous pass over a same convolution's row of col wraps around the image edge. */
static void zero_wrapped(real *row, int W, int oa, int ob, int lo, int hi)
{
    for (int oh = oa; oh < ob; oh++) {
        for (int ow = 0; ow < lo; ow++)
            row[(size_t)oh * W + ow] = 0;
        for (int ow = hi; ow < W; ow++)
            row[(size_t)oh * W + ow] = 0;
    }
}

/* im2col (x != NULL: col = rows of x) or col2im (dx != NULL: dx += rows of col, whose wrapped
 * entries are zeroed first, so that they add 0 to the pixel they wrap onto) of a same
 * convolution, row by row of col in one contiguous pass over [q0, q1). */
static void same_rows(const real *x, real *dx, int C, int H, int W, int K, int P, real *col)
{
    const size_t HW = (size_t)H * W;
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < K; ki++)
            for (int kj = 0; kj < K; kj++) {
                real *row = col + ((size_t)(c * K + ki) * K + kj) * HW;
                int oa, ob, lo, hi;
                same_range(H, W, P, ki, kj, &oa, &ob, &lo, &hi);
                if (oa >= ob || lo >= hi) {   /* the kernel entry never meets the image */
                    if (x)
                        memset(row, 0, HW * sizeof *row);
                    continue;
                }
                const size_t q0 = (size_t)oa * W + lo, q1 = (size_t)(ob - 1) * W + hi;
                const size_t at = c * HW + q0 + (ptrdiff_t)(ki - P) * W + (kj - P);   /* of q0 */
                if (x) {
                    memset(row, 0, q0 * sizeof *row);
                    memcpy(row + q0, x + at, (q1 - q0) * sizeof *row);
                    memset(row + q1, 0, (HW - q1) * sizeof *row);
                }
                zero_wrapped(row, W, oa, ob, lo, hi);
                if (dx) {
                    real *d = dx + at;
                    const real *r = row + q0;
                    for (size_t q = 0; q < q1 - q0; q++)
                        d[q] += r[q];
                }
            }
}

/* col (C*K*K, OH*OW), row (c,ki,kj), column (oh,ow): x[c][oh*S - P + ki][ow*S - P + kj], 0 outside.
 * With stride 1 each row segment is one copy between two zero runs. */
static void im2col(const real *x, int C, int H, int W, int K, int S, int P, int OH, int OW,
                   real *col)
{
    if (conv_is_same(H, W, K, S, P, OH, OW)) {
        same_rows(x, NULL, C, H, W, K, P, col);
        return;
    }
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < K; ki++)
            for (int kj = 0; kj < K; kj++) {
                real *row = col + ((size_t)(c * K + ki) * K + kj) * OH * OW;
                /* valid ow: 0 <= ow*S - P + kj < W */
                int lo = P - kj > 0 ? (P - kj + S - 1) / S : 0;
                int hi = W + P - kj > 0 ? (W + P - kj + S - 1) / S : 0;
                if (hi > OW)
                    hi = OW;
                if (lo > hi)
                    lo = hi;
                for (int oh = 0; oh < OH; oh++) {
                    real *r = row + (size_t)oh * OW;
                    int ih = oh * S - P + ki;
                    if (ih < 0 || ih >= H) {
                        memset(r, 0, (size_t)OW * sizeof *r);
                        continue;
                    }
                    const real *xr = x + ((size_t)c * H + ih) * W + kj - P;
                    for (int ow = 0; ow < lo; ow++)
                        r[ow] = 0;
                    if (S == 1)
                        memcpy(r + lo, xr + lo, (size_t)(hi - lo) * sizeof *r);
                    else
                        for (int ow = lo; ow < hi; ow++)
                            r[ow] = xr[ow * S];
                    for (int ow = hi; ow < OW; ow++)
                        r[ow] = 0;
                }
            }
}

/* The adjoint of im2col: x[c][ih][iw] += col entries that were copied from it. x is not zeroed.
 * col is scratch: a same convolution zeroes its out-of-image entries (same_rows). */
static void col2im(real *col, int C, int H, int W, int K, int S, int P, int OH, int OW, real *x)
{
    if (conv_is_same(H, W, K, S, P, OH, OW)) {
        same_rows(NULL, x, C, H, W, K, P, col);
        return;
    }
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < K; ki++)
            for (int kj = 0; kj < K; kj++) {
                const real *row = col + ((size_t)(c * K + ki) * K + kj) * OH * OW;
                int lo = P - kj > 0 ? (P - kj + S - 1) / S : 0;
                int hi = W + P - kj > 0 ? (W + P - kj + S - 1) / S : 0;
                if (hi > OW)
                    hi = OW;
                for (int oh = 0; oh < OH; oh++) {
                    int ih = oh * S - P + ki;
                    if (ih < 0 || ih >= H)
                        continue;
                    const real *r = row + (size_t)oh * OW;
                    real *xr = x + ((size_t)c * H + ih) * W + kj - P;
                    if (S == 1)
                        for (int ow = lo; ow < hi; ow++)
                            xr[ow] += r[ow];
                    else
                        for (int ow = lo; ow < hi; ow++)
                            xr[ow * S] += r[ow];
                }
            }
}

static int conv_is_pointwise(const cnn_layer_t *L)
{
    return L->k == 1 && L->stride == 1 && L->pad == 0;
}

/* out_b (n, OH*OW) = w (n, C*K*K) col_b (C*K*K, OH*OW) + b, per image b. */
void F(cnn_conv_forward)(const cnn_layer_t *L, int B, const real *x, const real *w, const real *b,
                         real *out, real *col)
{
    const int C = L->in_c, H = L->in_h, W = L->in_w, K = L->k, S = L->stride, P = L->pad;
    const int N = L->n, OH = L->out_h, OW = L->out_w, OHW = OH * OW, CKK = C * K * K;
    for (int ib = 0; ib < B; ib++) {
        const real *xb = x + (size_t)ib * L->in_size;
        real *ob = out + (size_t)ib * L->out_size;
        const real *cb = xb;
        if (!conv_is_pointwise(L)) {
            im2col(xb, C, H, W, K, S, P, OH, OW, col);
            cb = col;
        }
        for (int o = 0; o < N; o++) {   // out (n, OHW) starts as the bias
            real *r = ob + (size_t)o * OHW;
            for (int j = 0; j < OHW; j++)
                r[j] = b[o];
        }
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, OHW, CKK, 1, w, CKK, cb, OHW, 1, ob,
             OHW);
    }
}

/* dw += dout_b col_b^T, db += row sums of dout_b (both skipped when dw is NULL), dcol = w^T
 * dout_b then col2im into dx_b. */
void F(cnn_conv_backward)(const cnn_layer_t *L, int B, const real *x, const real *w,
                          const real *dout, real *dx, real *dw, real *db, real *col)
{
    const int C = L->in_c, H = L->in_h, W = L->in_w, K = L->k, S = L->stride, P = L->pad;
    const int N = L->n, OH = L->out_h, OW = L->out_w, OHW = OH * OW, CKK = C * K * K;
    const int pointwise = conv_is_pointwise(L);
    for (int ib = 0; ib < B; ib++) {
        const real *xb = x + (size_t)ib * L->in_size;
        const real *gb = dout + (size_t)ib * L->out_size;   // dout_b (n, OHW)
        const real *cb = xb;
        if (!pointwise && dw) {
            im2col(xb, C, H, W, K, S, P, OH, OW, col);
            cb = col;
        }
        if (dw) {   /* NULL: the input gradient only (dreams) */
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, CKK, OHW, 1, gb, OHW, cb, OHW, 1, dw,
                 CKK);
            for (int o = 0; o < N; o++)
                db[o] += (real)sum_lanes(gb + (size_t)o * OHW, (size_t)OHW);
        }
        if (!dx)
            continue;
        real *dxb = dx + (size_t)ib * L->in_size;
        if (pointwise) {
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, OHW, N, 1, w, CKK, gb, OHW, 0, dxb,
                 OHW);
        } else {
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, OHW, N, 1, w, CKK, gb, OHW, 0, col,
                 OHW);
            memset(dxb, 0, L->in_size * sizeof *dxb);
            col2im(col, C, H, W, K, S, P, OH, OW, dxb);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Pooling: windows K x K at stride S, all inside the image (output size floor((H-K)/S) + 1). */

/* The common 2x2 window at stride 2 without branches (so it vectorizes): the larger of each
 * row pair, then of the two rows, each comparison strict, which is the first maximum in the scan
 * order of the general loop below. */
static void maxpool2(const real *x, size_t planes, int H, int W, int OH, int OW, real *out,
                     int *idx)
{
    for (size_t pl = 0; pl < planes; pl++) {
        const real *xp = x + pl * H * W;
        real *op = out + pl * OH * OW;
        int *ip = idx + pl * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            const real *r0 = xp + 2 * oh * W, *r1 = r0 + W;
            const int at0 = 2 * oh * W;
            for (int ow = 0; ow < OW; ow++) {
                const int j = 2 * ow;
                const real a = r0[j], b = r0[j + 1], c = r1[j], d = r1[j + 1];
                const int g0 = b > a, g1 = d > c;   // 0/1 flags: index arithmetic, no jumps
                const real m0 = g0 ? b : a, m1 = g1 ? d : c;
                const int g = m1 > m0;
                op[oh * OW + ow] = g ? m1 : m0;
                ip[oh * OW + ow] = at0 + j + g * (W + g1) + (1 - g) * g0;
            }
        }
    }
}

void F(cnn_maxpool_forward)(const cnn_layer_t *L, int B, const real *x, real *out, int *idx)
{
    const int H = L->in_h, W = L->in_w, K = L->k, S = L->stride, OH = L->out_h, OW = L->out_w;
    const size_t planes = (size_t)B * L->in_c;
    if (K == 2 && S == 2) {
        maxpool2(x, planes, H, W, OH, OW, out, idx);
        return;
    }
    for (size_t pl = 0; pl < planes; pl++) {
        const real *xp = x + pl * H * W;
        real *op = out + pl * OH * OW;
        int *ip = idx + pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int best = oh * S * W + ow * S;
                real m = xp[best];
                for (int ki = 0; ki < K; ki++)
                    for (int kj = 0; kj < K; kj++) {
                        int at = (oh * S + ki) * W + ow * S + kj;
                        if (xp[at] > m) {
                            m = xp[at];
                            best = at;
                        }
                    }
                op[oh * OW + ow] = m;
                ip[oh * OW + ow] = best;
            }
    }
}

void F(cnn_maxpool_backward)(const cnn_layer_t *L, int B, const real *dout, const int *idx,
                             real *dx)
{
    const size_t HW = (size_t)L->in_h * L->in_w, OHW = (size_t)L->out_h * L->out_w;
    const size_t planes = (size_t)B * L->in_c;
    memset(dx, 0, planes * HW * sizeof *dx);
    for (size_t pl = 0; pl < planes; pl++)
        for (size_t j = 0; j < OHW; j++)
            dx[pl * HW + idx[pl * OHW + j]] += dout[pl * OHW + j];
}

void F(cnn_avgpool_forward)(const cnn_layer_t *L, int B, const real *x, real *out)
{
    const int H = L->in_h, W = L->in_w, K = L->k, S = L->stride, OH = L->out_h, OW = L->out_w;
    const real scale = (real)1 / (real)(K * K);
    const size_t planes = (size_t)B * L->in_c;
    for (size_t pl = 0; pl < planes; pl++) {
        const real *xp = x + pl * H * W;
        real *op = out + pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                real s = 0;
                for (int ki = 0; ki < K; ki++)
                    for (int kj = 0; kj < K; kj++)
                        s += xp[(oh * S + ki) * W + ow * S + kj];
                op[oh * OW + ow] = s * scale;
            }
    }
}

void F(cnn_avgpool_backward)(const cnn_layer_t *L, int B, const real *dout, real *dx)
{
    const int H = L->in_h, W = L->in_w, K = L->k, S = L->stride, OH = L->out_h, OW = L->out_w;
    const real scale = (real)1 / (real)(K * K);
    const size_t planes = (size_t)B * L->in_c;
    memset(dx, 0, planes * H * W * sizeof *dx);
    for (size_t pl = 0; pl < planes; pl++) {
        real *xp = dx + pl * H * W;
        const real *gp = dout + pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                real g = gp[oh * OW + ow] * scale;
                for (int ki = 0; ki < K; ki++)
                    for (int kj = 0; kj < K; kj++)
                        xp[(oh * S + ki) * W + ow * S + kj] += g;
            }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Pointwise. */

void F(cnn_relu_forward)(size_t n, const real *x, real *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] > 0 ? x[i] : 0;
}

void F(cnn_relu_backward)(size_t n, const real *out, const real *dout, real *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = out[i] > 0 ? dout[i] : 0;
}

void F(cnn_tanh_forward)(size_t n, const real *x, real *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = R_TANH(x[i]);
}

/* d tanh(x)/dx = 1 - tanh(x)^2 */
void F(cnn_tanh_backward)(size_t n, const real *out, const real *dout, real *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dout[i] * (1 - out[i] * out[i]);
}

void F(cnn_dropout_forward)(size_t n, double p, int train, const real *x, real *out, real *mask,
                            rng_t *rng)
{
    if (!train) {
        if (out != x)
            memcpy(out, x, n * sizeof *out);
        return;
    }
    const real keep = (real)(1.0 / (1.0 - p));
    for (size_t i = 0; i < n; i++) {
        mask[i] = p > 0 && rng_uniform(rng) < p ? 0 : keep;
        out[i] = x[i] * mask[i];
    }
}

void F(cnn_dropout_backward)(size_t n, const real *mask, const real *dout, real *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dout[i] * mask[i];
}

/* ---------------------------------------------------------------------------------------------
 * Dense: out (B,n) = x (B,in) w^T + b. */

void F(cnn_dense_forward)(const cnn_layer_t *L, int B, const real *x, const real *w,
                          const real *b, real *out)
{
    const int IN = L->in_c, N = L->n;
    for (int ib = 0; ib < B; ib++)
        memcpy(out + (size_t)ib * N, b, (size_t)N * sizeof *out);
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, N, IN, 1, x, IN, w, IN, 1, out, N);
}

void F(cnn_dense_backward)(const cnn_layer_t *L, int B, const real *x, const real *w,
                           const real *dout, real *dx, real *dw, real *db)
{
    const int IN = L->in_c, N = L->n;
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, N, IN, B, 1, dout, N, x, IN, 1, dw, IN);
    for (int ib = 0; ib < B; ib++)
        for (int o = 0; o < N; o++)
            db[o] += dout[(size_t)ib * N + o];
    if (dx)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, IN, N, 1, dout, N, w, IN, 0, dx, IN);
}

/* ---------------------------------------------------------------------------------------------
 * Batch norm over M = B*H*W values per channel c (M = B on flat input, where H = W = 1):
 *   mean = sum x / M, var = sum x^2 / M - mean^2 (biased), xhat = (x - mean) / sqrt(var + eps)
 *   out = gamma xhat + beta
 *   dx = gamma / sqrt(var + eps) (dout - sum(dout)/M - xhat sum(dout xhat)/M)
 * The sums are taken of x - k with k = the running mean (d = sum (x-k) / M, mean = k + d,
 * var = sum (x-k)^2 / M - d^2), so that the subtraction does not cancel when |mean| >> sd;
 * under sync BN every rank holds the same running mean, hence the same shift. Per-plane
 * partial sums in lanes, totals in double; with a reducer they are added over the group. */

/* Batch statistics of channel c from its sums: saved mean/invstd, running estimates updated
 * (unbiased variance var M/(M-1) for the running one, as PyTorch). */
static void bn_stats(int c, double s1, double s2, double M, real *mean, real *invstd,
                     real *run_mean, real *run_var)
{
    const double d = s1 / M, mu = run_mean[c] + d;
    double var = s2 / M - d * d;
    if (var < 0)
        var = 0;
    mean[c] = (real)mu;
    invstd[c] = (real)(1.0 / sqrt(var + CNN_BN_EPS));
    run_mean[c] = (real)((1 - CNN_BN_MOMENTUM) * run_mean[c] + CNN_BN_MOMENTUM * mu);
    run_var[c] = (real)((1 - CNN_BN_MOMENTUM) * run_var[c] + CNN_BN_MOMENTUM * var * M / (M - 1));
}

void F(cnn_bn_forward)(const cnn_layer_t *L, int B, int train, const real *x, const real *gamma,
                       const real *beta, real *run_mean, real *run_var, real *mean, real *invstd,
                       real *out, const cnn_reducer_t *red, double *work)
{
    const int C = L->in_c;
    const size_t HW = (size_t)L->in_h * L->in_w, CHW = (size_t)C * HW;
    if (train) {
        double M = (double)B * (double)HW;
        for (int c = 0; c < C; c++) {
            double s1 = 0, s2 = 0;   // sum (x - k), sum (x - k)^2
            for (int ib = 0; ib < B; ib++)
                sum2_lanes(x + ib * CHW + c * HW, run_mean[c], HW, &s1, &s2);
            if (red) {
                work[c] = s1;
                work[C + c] = s2;
            } else {
                bn_stats(c, s1, s2, M, mean, invstd, run_mean, run_var);
            }
        }
        if (red) {   // work = [sum x (C), sum x^2 (C), M] summed over the group
            work[2 * C] = M;
            red->sum(work, 2 * C + 1, red->ctx);
            for (int c = 0; c < C; c++)
                bn_stats(c, work[c], work[C + c], work[2 * C], mean, invstd, run_mean, run_var);
        }
    }
    for (int c = 0; c < C; c++) {
        real mu, is;
        if (train) {
            mu = mean[c];
            is = invstd[c];
        } else {
            mu = run_mean[c];
            is = (real)(1.0 / sqrt((double)run_var[c] + CNN_BN_EPS));
        }
        const real a = gamma[c] * is, bb = beta[c] - a * mu;   // out = a x + bb
        for (int ib = 0; ib < B; ib++) {
            const real *xp = x + ib * CHW + c * HW;
            real *op = out + ib * CHW + c * HW;
            for (size_t j = 0; j < HW; j++)
                op[j] = a * xp[j] + bb;
        }
    }
}

/* dx of channel c from the (group) sums s1 = sum dout, s2 = sum dout xhat over M values. */
static void bn_dx(const cnn_layer_t *L, int B, int c, double s1, double s2, double M,
                  const real *x, const real *gamma, const real *mean, const real *invstd,
                  const real *dout, real *dx)
{
    const size_t HW = (size_t)L->in_h * L->in_w, CHW = (size_t)L->in_c * HW;
    const real mu = mean[c], is = invstd[c];
    const real k = gamma[c] * is, m1 = (real)(s1 / M), m2 = (real)(s2 / M);
    for (int ib = 0; ib < B; ib++) {
        const real *xp = x + ib * CHW + c * HW, *gp = dout + ib * CHW + c * HW;
        real *dp = dx + ib * CHW + c * HW;
        for (size_t j = 0; j < HW; j++)
            dp[j] = k * (gp[j] - m1 - (xp[j] - mu) * is * m2);
    }
}

void F(cnn_bn_backward)(const cnn_layer_t *L, int B, const real *x, const real *gamma,
                        const real *mean, const real *invstd, const real *dout, real *dx,
                        real *dgamma, real *dbeta, const cnn_reducer_t *red, double *work)
{
    const int C = L->in_c;
    const size_t HW = (size_t)L->in_h * L->in_w, CHW = (size_t)C * HW;
    const double M = (double)B * (double)HW;
    for (int c = 0; c < C; c++) {
        double s1 = 0, s2 = 0;   // sum dout, sum dout xhat
        const real mu = mean[c], is = invstd[c];
        for (int ib = 0; ib < B; ib++)
            sum_gx_lanes(dout + ib * CHW + c * HW, x + ib * CHW + c * HW, mu, is, HW, &s1, &s2);
        dbeta[c] += (real)s1;
        dgamma[c] += (real)s2;
        if (red) {
            work[c] = s1;
            work[C + c] = s2;
        } else if (dx) {
            bn_dx(L, B, c, s1, s2, M, x, gamma, mean, invstd, dout, dx);
        }
    }
    if (red) {   // every rank of the group takes part, even without dx
        work[2 * C] = M;
        red->sum(work, 2 * C + 1, red->ctx);
        if (dx)
            for (int c = 0; c < C; c++)
                bn_dx(L, B, c, work[c], work[C + c], work[2 * C], x, gamma, mean, invstd, dout,
                      dx);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Losses, mean over the batch. */

/* loss_b = log sum_j exp(z_bj - m) + m - z_b,y  (m = max_j z_bj) */
double F(cnn_softmax_ce_forward)(int B, int N, const real *logits, const int *labels,
                                 real *probs)
{
    double loss = 0;
    for (int ib = 0; ib < B; ib++) {
        const real *z = logits + (size_t)ib * N;
        real *p = probs + (size_t)ib * N;
        real m = z[0];
        for (int j = 1; j < N; j++)
            if (z[j] > m)
                m = z[j];
        double s = 0;
        for (int j = 0; j < N; j++) {
            p[j] = R_EXP(z[j] - m);
            s += p[j];
        }
        const real inv = (real)(1.0 / s);
        for (int j = 0; j < N; j++)
            p[j] *= inv;
        loss += log(s) + m - z[labels[ib]];
    }
    return loss / B;
}

void F(cnn_softmax_ce_backward)(int B, int N, const real *probs, const int *labels,
                                real *dlogits)
{
    const real inv = (real)(1.0 / B);
    for (int ib = 0; ib < B; ib++) {
        for (int j = 0; j < N; j++)
            dlogits[(size_t)ib * N + j] = probs[(size_t)ib * N + j] * inv;
        dlogits[(size_t)ib * N + labels[ib]] -= inv;
    }
}

/* loss_b = max(z,0) - z y + log(1 + exp(-|z|)), p = sigmoid(z) */
double F(cnn_bce_forward)(int B, const real *logits, const int *labels, real *probs)
{
    double loss = 0;
    for (int ib = 0; ib < B; ib++) {
        const double z = logits[ib];
        const double e = exp(-fabs(z));
        probs[ib] = (real)(z >= 0 ? 1 / (1 + e) : e / (1 + e));
        loss += (z > 0 ? z : 0) - z * (labels[ib] != 0) + log1p(e);
    }
    return loss / B;
}

void F(cnn_bce_backward)(int B, const real *probs, const int *labels, real *dlogits)
{
    const real inv = (real)(1.0 / B);
    for (int ib = 0; ib < B; ib++)
        dlogits[ib] = (probs[ib] - (real)(labels[ib] != 0)) * inv;
}

/* loss_b = 1/2 sum_j (z_bj - t_bj)^2, accumulated in double */
double F(cnn_mse_forward)(int B, int N, const real *out, const real *targets)
{
    double loss = 0;
    for (size_t i = 0; i < (size_t)B * N; i++) {
        const double e = (double)out[i] - targets[i];
        loss += 0.5 * e * e;
    }
    return loss / B;
}

void F(cnn_mse_backward)(int B, int N, const real *out, const real *targets, real *dout)
{
    const real inv = (real)(1.0 / B);
    for (size_t i = 0; i < (size_t)B * N; i++)
        dout[i] = (out[i] - targets[i]) * inv;
}
