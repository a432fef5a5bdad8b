/* kernel.c - the arc-cosine (ReLU NNGP) kernel recursion on row-major blocks: Gram matrices by
 * BLAS, then one fused, vectorized, OpenMP-parallel pass per layer step (acos by our own
 * polynomial, inlined).
 * Every entry is computed by the same vector code whatever its position, tile or thread count,
 * so results are bit-identical across OMP_NUM_THREADS (and across block shapes for the same
 * inputs). No allocation, no MPI, no files. */
#include "kernel.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

/* One SIMD vector of doubles and the few operations the step needs, chosen at compile time from
 * the target (-march): AVX-512, AVX2 with FMA, else one double. GCC's __m256d/__m512d take
 * + - * directly (never contracted into FMAs under -std=c11: vd_fma says where one is wanted).
 * The acos is acos_neg below, inlined: per kernel_step entry on one core of an AVX-512 AMD EPYC,
 * 1.6 ns, against 2.2 ns with SLEEF 3.5's 3.5-ulp vector acos (a library call) used before; its
 * error is at most 1.2 ulp of pi (test_kernel), SLEEF's 1.1. */
#if defined(__AVX512F__)
#define VLEN 8
typedef __m512d vd_t;
#define vd_load(p) _mm512_loadu_pd(p)
#define vd_store(p, v) _mm512_storeu_pd((p), (v))
#define vd_set1(x) _mm512_set1_pd(x)
#define vd_min(a, b) _mm512_min_pd((a), (b))
#define vd_max(a, b) _mm512_max_pd((a), (b))
#define vd_sqrt(a) _mm512_sqrt_pd(a)
#define vd_abs(a) _mm512_abs_pd(a)
#define vd_fma(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define vd_lt_select(a, b, x, y)                                                                  \
    _mm512_mask_blend_pd(_mm512_cmp_pd_mask((a), (b), _CMP_LT_OQ), (y), (x))
#elif defined(__AVX2__) && defined(__FMA__)
#define VLEN 4
typedef __m256d vd_t;
#define vd_load(p) _mm256_loadu_pd(p)
#define vd_store(p, v) _mm256_storeu_pd((p), (v))
#define vd_set1(x) _mm256_set1_pd(x)
#define vd_min(a, b) _mm256_min_pd((a), (b))
#define vd_max(a, b) _mm256_max_pd((a), (b))
#define vd_sqrt(a) _mm256_sqrt_pd(a)
#define vd_abs(a) _mm256_andnot_pd(_mm256_set1_pd(-0.0), (a))
#define vd_fma(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define vd_lt_select(a, b, x, y) _mm256_blendv_pd((y), (x), _mm256_cmp_pd((a), (b), _CMP_LT_OQ))
#else
#define VLEN 1
typedef double vd_t;
#define vd_load(p) (*(p))
#define vd_store(p, v) (*(p) = (v))
#define vd_set1(x) (x)
#define vd_min(a, b) ((b) < (a) ? (b) : (a))
#define vd_max(a, b) ((b) > (a) ? (b) : (a))
#define vd_sqrt(a) sqrt(a)
#define vd_abs(a) fabs(a)
#define vd_fma(a, b, c) fma((a), (b), (c))
#define vd_lt_select(a, b, x, y) ((a) < (b) ? (x) : (y))
#endif

/* Tiles: RB rows share the column data of a CB-wide chunk (square roots of the column diagonal),
 * so the per-column preparation costs 1/RB of an entry. CB is a multiple of VLEN. */
enum { RB = 32, CB = 256 };

void kernel_gram(const double *x1, int m1, const double *x2, int m2, int dim, double *g, int ldg)
{
    if (m1 <= 0 || m2 <= 0)
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m1, m2, dim, 1.0 / dim, x1, dim, x2, dim,
                0.0, g, ldg);
}

/* Copies the lower triangle (j < i) of a row-major m x m block onto the upper one, in tiles so
 * both the reads and the writes stay in cache. */
static void mirror_lower(double *k, int ldk, int m)
{
    enum { T = 64 };
    int nt = (m + T - 1) / T;
#pragma omp parallel for schedule(dynamic, 1)
    for (int bi = 0; bi < nt; bi++)
        for (int bj = bi; bj < nt; bj++) {          /* tile (bi, bj) of the upper triangle */
            int i1 = bi * T + T < m ? bi * T + T : m;
            int j1 = bj * T + T < m ? bj * T + T : m;
            for (int i = bi * T; i < i1; i++)
                for (int j = (bj == bi ? i + 1 : bj * T); j < j1; j++)
                    k[(size_t)i * ldk + j] = k[(size_t)j * ldk + i];
        }
}

void kernel_gram_sym(const double *x, int m, int dim, double *g, int ldg)
{
    if (m <= 0)
        return;
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, m, dim, 1.0 / dim, x, dim, 0.0, g, ldg);
    mirror_lower(g, ldg, m);
}

void kernel_gram_diag(const double *x, int m, int dim, double *diag)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < m; i++) {
        const double *xi = x + (size_t)i * dim;
        double s = 0.0;                              /* sequential per row: thread-independent */
        for (int d = 0; d < dim; d++)
            s += xi[d] * xi[d];
        diag[i] = s / dim;
    }
}

void kernel_layer0(const double *g, int ldg, int m1, int m2, double sw2, double sb2, double *out,
                   int ldo)
{
    /* K^0 = sb2 + sw2 x.x'/N0 = sb2 + sw2 G */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < m1; i++) {
        const double *gi = g + (size_t)i * ldg;
        double *oi = out + (size_t)i * ldo;
        for (int j = 0; j < m2; j++)
            oi[j] = sb2 + sw2 * gi[j];
    }
}

void kernel_layer0_lower(const double *g, int ldg, int m, double sw2, double sb2, double *out,
                         int ldo)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < m; i++) {
        const double *gi = g + (size_t)i * ldg;
        double *oi = out + (size_t)i * ldo;
        for (int j = 0; j <= i; j++)
            oi[j] = sb2 + sw2 * gi[j];
    }
}

/* The diagonal recursion K^l(x,x) = sb2 + sw2/2 K^{l-1}(x,x); one expression shared by
 * kernel_diag_step and the diagonal of kernel_step_sym so both give the same bits. */
static inline double diag_next(double d, double sw2, double sb2) { return sb2 + 0.5 * sw2 * d; }
/* The NTK's diagonal recursion Theta^l(x,x) = K^l(x,x) + sw2/2 Theta^{l-1}(x,x) (t = 0). */
static inline double ntk_diag_next(double k_new, double th, double sw2)
{
    return k_new + 0.5 * sw2 * th;
}

/* sqrt(d) and 1/sqrt(d) of a previous-layer diagonal; a zero (or denormal) diagonal gives 0 for
 * both, which makes the correlation 0 and the norm 0, hence K^l = sb2 exactly. */
static inline void diag_roots(double d, double *s, double *inv)
{
    if (d >= DBL_MIN) {
        *s = sqrt(d);
        *inv = 1.0 / *s;
    } else {
        *s = 0.0;
        *inv = 0.0;
    }
}

/* asin(x) = x + x z P(z), z = x^2, on 0 <= x <= 1/2: P is the degree-11 least-squares fit of
 * (asin(sqrt z) - sqrt z) / z^1.5 on 400 Chebyshev nodes of [0, 1/4] in 50-digit arithmetic
 * (scripts/fit_asin.py); the relative error of x + x z P(z) is 5.5e-17 before rounding. */
static const double asin_poly[12] = {
    0.16666666666666646,   0.07500000000021978,  0.04464285710146497,  0.030381947490254527,
    0.022372043664706378,  0.017355334434132383, 0.013928781847841392, 0.011882032645784928,
    0.0077714397645414456, 0.016129764409156828, -0.010908304349000406, 0.028285381520428275};

/* pi - acos(c) = acos(-c) for c in [-1, 1]. With u = |c|: below 1/2, pi/2 + sign(c) asin(u);
 * above, acos(u) = 2 asin(r), r = sqrt((1 - u)/2), so pi - 2 asin(r) for c > 0 and 2 asin(r)
 * for c < 0 (full relative accuracy as c -> -1, where the result goes to 0). */
static inline vd_t acos_neg(vd_t c)
{
    const vd_t half = vd_set1(0.5), zero = vd_set1(0.0);
    vd_t u = vd_abs(c);
    vd_t z = vd_lt_select(u, half, u * u, (vd_set1(1.0) - u) * half);
    vd_t x = vd_lt_select(u, half, u, vd_sqrt(z));
    vd_t p = vd_set1(asin_poly[11]);
    for (int k = 10; k >= 0; k--)
        p = vd_fma(p, z, vd_set1(asin_poly[k]));
    vd_t a = vd_fma(x * z, p, x);   /* asin(x) */
    vd_t small = vd_set1(M_PI_2) + vd_lt_select(c, zero, zero - a, a);
    vd_t large = vd_lt_select(c, zero, a + a, vd_set1(M_PI) - (a + a));
    return vd_lt_select(u, half, small, large);
}

/* The fused step for VLEN entries of one row:
 *   c = clamp(k / sqrt(d1 d2), -1, 1),  t = acos c,
 *   K^l = sb2 + sw2/(2 pi) sqrt(d1 d2) (sin t + (pi - t) cos t)        (the recursion of kernel.h)
 * with sin t = sqrt((1 - c)(1 + c)), cos t = c and pi - t = acos(-c), the one transcendental.
 * Written this way both terms keep full relative accuracy at c -> -1 (pi - t -> 0), and at
 * c -> 1 ((1 - c) is exact there). s1/inv1 are the row's roots, s2/inv2 the columns'. */
static inline vd_t step_vec(vd_t k, vd_t s1, vd_t inv1, vd_t s2, vd_t inv2, vd_t a, vd_t b,
                            vd_t *pi_minus_t_out)
{
    const vd_t one = vd_set1(1.0), mone = vd_set1(-1.0);
    vd_t c = k * (inv1 * inv2);         /* inv1 inv2 commutes: a symmetric K stays symmetric */
    c = vd_min(vd_max(c, mone), one);
    vd_t pi_minus_t = acos_neg(c);
    vd_t sint = vd_sqrt((one - c) * (one + c));
    *pi_minus_t_out = pi_minus_t;
    return b + a * (s1 * s2) * (sint + pi_minus_t * c);
}

/* The NTK's step on VLEN entries (Jacot et al.; neural-tangents' parameterization):
 *   Theta^l = K^l + sw2 (pi - t)/(2 pi) Theta^{l-1} = K^l + a (pi - t) Theta^{l-1},
 * (pi - t)/(2 pi) = E[relu'(u) relu'(v)] for the angle t of K^{l-1} (from step_vec). */
static inline vd_t ntk_vec(vd_t k_new, vd_t pi_minus_t, vd_t th, vd_t a)
{
    return k_new + a * pi_minus_t * th;
}

/* Applies the step to k[0..n) of one row (n <= CB); s2c/inv2c hold the chunk's column roots,
 * zero-padded to a multiple of VLEN. A ragged tail goes through a padded copy so it is computed
 * by the very same vector code (bit-identical to a full vector). */
static void step_row_chunk(double *k, double *th, int n, double s1, double inv1,
                           const double *s2c, const double *inv2c, double a, double b)
{
    const vd_t vs1 = vd_set1(s1), vinv1 = vd_set1(inv1), va = vd_set1(a), vb = vd_set1(b);
    vd_t pmt;
    int j = 0;
    for (; j + VLEN <= n; j += VLEN) {
        vd_t kn = step_vec(vd_load(k + j), vs1, vinv1, vd_load(s2c + j), vd_load(inv2c + j), va,
                           vb, &pmt);
        vd_store(k + j, kn);
        if (th)
            vd_store(th + j, ntk_vec(kn, pmt, vd_load(th + j), va));
    }
    if (j < n) {
        double tmp[VLEN] = {0}, ttmp[VLEN] = {0};
        memcpy(tmp, k + j, (size_t)(n - j) * sizeof *k);
        vd_t kn = step_vec(vd_load(tmp), vs1, vinv1, vd_load(s2c + j), vd_load(inv2c + j), va,
                           vb, &pmt);
        vd_store(tmp, kn);
        memcpy(k + j, tmp, (size_t)(n - j) * sizeof *k);
        if (th) {
            memcpy(ttmp, th + j, (size_t)(n - j) * sizeof *th);
            vd_store(ttmp, ntk_vec(kn, pmt, vd_load(ttmp), va));
            memcpy(th + j, ttmp, (size_t)(n - j) * sizeof *th);
        }
    }
}

/* Rows [i0, i1) of the step; row i covers columns [0, min(ncol, i + 1)) when sym (the lower
 * triangle with its diagonal), else [0, ncol). With th (leading dimension ldt) the NTK too. */
static void step_tile_rows(double *k, int ldk, double *th, int ldt, int i0, int i1, int ncol,
                           int sym, const double *d1, const double *d2, double a, double b)
{
    double s2c[CB], inv2c[CB];
    int jend = sym ? (i1 < ncol ? i1 : ncol) : ncol;
    for (int j0 = 0; j0 < jend; j0 += CB) {
        int nb = jend - j0 < CB ? jend - j0 : CB;
        for (int j = 0; j < nb; j++)
            diag_roots(d2[j0 + j], &s2c[j], &inv2c[j]);
        for (int j = nb; j < CB && j % VLEN; j++)
            s2c[j] = inv2c[j] = 0.0;
        for (int i = i0; i < i1; i++) {
            int n = sym ? (i + 1 - j0 < nb ? i + 1 - j0 : nb) : nb;
            if (n <= 0)
                continue;
            double s1, inv1;
            diag_roots(d1[i], &s1, &inv1);
            step_row_chunk(k + (size_t)i * ldk + j0, th ? th + (size_t)i * ldt + j0 : NULL, n,
                           s1, inv1, s2c, inv2c, a, b);
        }
    }
}

void kernel_step(double *k, int ldk, int m1, int m2, const double *d1, const double *d2,
                 double sw2, double sb2)
{
    kernel_step_ntk(k, ldk, NULL, 0, m1, m2, d1, d2, sw2, sb2);
}

void kernel_step_ntk(double *k, int ldk, double *th, int ldt, int m1, int m2, const double *d1,
                     const double *d2, double sw2, double sb2)
{
    const double a = sw2 / (2.0 * M_PI);
    int nt = (m1 + RB - 1) / RB;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < nt; t++) {
        int i0 = t * RB, i1 = i0 + RB < m1 ? i0 + RB : m1;
        step_tile_rows(k, ldk, th, ldt, i0, i1, m2, 0, d1, d2, a, sb2);
    }
}

void kernel_step_lower(double *k, int ldk, int m, const double *d, double sw2, double sb2)
{
    kernel_step_ntk_lower(k, ldk, NULL, 0, m, d, NULL, sw2, sb2);
}

void kernel_step_ntk_lower(double *k, int ldk, double *th, int ldt, int m, const double *d,
                           const double *td, double sw2, double sb2)
{
    const double a = sw2 / (2.0 * M_PI);
    int nt = (m + RB - 1) / RB;
    /* Row tiles grow in cost with i: hand them out last-first so the big ones start early. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = nt - 1; t >= 0; t--) {
        int i0 = t * RB, i1 = i0 + RB < m ? i0 + RB : m;
        step_tile_rows(k, ldk, th, ldt, i0, i1, m, 1, d, d, a, sb2);
        /* On the diagonal c = 1 and the step reduces to the diagonal recursion: use it exactly,
         * so K^l(x,x) here equals kernel_diag_step's value bit for bit (and Theta's diagonal
         * kernel_ntk_diag_step's). */
        for (int i = i0; i < i1; i++) {
            k[(size_t)i * ldk + i] = diag_next(d[i], sw2, sb2);
            if (th)
                th[(size_t)i * ldt + i] = ntk_diag_next(k[(size_t)i * ldk + i], td[i], sw2);
        }
    }
}

void kernel_step_sym(double *k, int ldk, int m, const double *d, double sw2, double sb2)
{
    kernel_step_ntk_sym(k, ldk, NULL, 0, m, d, NULL, sw2, sb2);
}

void kernel_step_ntk_sym(double *k, int ldk, double *th, int ldt, int m, const double *d,
                         const double *td, double sw2, double sb2)
{
    kernel_step_ntk_lower(k, ldk, th, ldt, m, d, td, sw2, sb2);
    mirror_lower(k, ldk, m);
    if (th)
        mirror_lower(th, ldt, m);
}

void kernel_diag_step(double *diag, int m, double sw2, double sb2)
{
    for (int i = 0; i < m; i++)
        diag[i] = diag_next(diag[i], sw2, sb2);
}

void kernel_ntk_diag_step(double *tdiag, const double *kdiag, int m, double sw2)
{
    for (int i = 0; i < m; i++)
        tdiag[i] = ntk_diag_next(kdiag[i], tdiag[i], sw2);
}
