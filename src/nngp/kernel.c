/* kernel.c - the arc-cosine (ReLU NNGP) kernel recursion on row-major blocks: Gram matrices by
 * BLAS, then one fused, vectorized (SLEEF acos), OpenMP-parallel pass per layer step.
 * Every entry is computed by the same vector code whatever its position, tile or thread count,
 * so results are bit-identical across OMP_NUM_THREADS (and across block shapes for the same
 * inputs). No allocation, no MPI, no files. */
#include "kernel.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#include <sleef.h>
#endif

/* One SIMD vector of doubles and the few operations the step needs, chosen at compile time from
 * the target (-march): AVX-512 or AVX2 with SLEEF's acos, else one double with libm's acos.
 * GCC's __m256d/__m512d take + - * directly. SLEEF's 3.5-ulp acos (u35) is used: on this
 * project's AMD EPYC it is 1.75x faster than the 1-ulp one and its error, ~1e-15 absolute on
 * pi - t, is below the rounding of the other terms. Measured per kernel_step entry, one core:
 * AVX-512 u35 1.2 ns, u10 2.2 ns, AVX2 u10 4.1 ns, libm scalar 8.7 ns. */
#if defined(__AVX512F__)
#define VLEN 8
typedef __m512d vd_t;
#define vd_load(p) _mm512_loadu_pd(p)
#define vd_store(p, v) _mm512_storeu_pd((p), (v))
#define vd_set1(x) _mm512_set1_pd(x)
#define vd_min(a, b) _mm512_min_pd((a), (b))
#define vd_max(a, b) _mm512_max_pd((a), (b))
#define vd_sqrt(a) _mm512_sqrt_pd(a)
#define vd_acos(a) Sleef_acosd8_u35avx512f(a)
#elif defined(__AVX2__)
#define VLEN 4
typedef __m256d vd_t;
#define vd_load(p) _mm256_loadu_pd(p)
#define vd_store(p, v) _mm256_storeu_pd((p), (v))
#define vd_set1(x) _mm256_set1_pd(x)
#define vd_min(a, b) _mm256_min_pd((a), (b))
#define vd_max(a, b) _mm256_max_pd((a), (b))
#define vd_sqrt(a) _mm256_sqrt_pd(a)
#define vd_acos(a) Sleef_acosd4_u35avx2(a)
#else
#define VLEN 1
typedef double vd_t;
#define vd_load(p) (*(p))
#define vd_store(p, v) (*(p) = (v))
#define vd_set1(x) (x)
#define vd_min(a, b) ((b) < (a) ? (b) : (a))
#define vd_max(a, b) ((b) > (a) ? (b) : (a))
#define vd_sqrt(a) sqrt(a)
#define vd_acos(a) acos(a)
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

/* The fused step for VLEN entries of one row:
 *   c = clamp(k / sqrt(d1 d2), -1, 1),  t = acos c,
 *   K^l = sb2 + sw2/(2 pi) sqrt(d1 d2) (sin t + (pi - t) cos t)        (the recursion of kernel.h)
 * with sin t = sqrt((1 - c)(1 + c)), cos t = c and pi - t = acos(-c), the one transcendental.
 * Written this way both terms keep full relative accuracy at c -> -1 (pi - t -> 0), and at
 * c -> 1 ((1 - c) is exact there). s1/inv1 are the row's roots, s2/inv2 the columns'. */
static inline vd_t step_vec(vd_t k, vd_t s1, vd_t inv1, vd_t s2, vd_t inv2, vd_t a, vd_t b)
{
    const vd_t one = vd_set1(1.0), mone = vd_set1(-1.0);
    vd_t c = k * (inv1 * inv2);         /* inv1 inv2 commutes: a symmetric K stays symmetric */
    c = vd_min(vd_max(c, mone), one);
    vd_t pi_minus_t = vd_acos(-c);
    vd_t sint = vd_sqrt((one - c) * (one + c));
    return b + a * (s1 * s2) * (sint + pi_minus_t * c);
}

/* Applies the step to k[0..n) of one row (n <= CB); s2c/inv2c hold the chunk's column roots,
 * zero-padded to a multiple of VLEN. A ragged tail goes through a padded copy so it is computed
 * by the very same vector code (bit-identical to a full vector). */
static void step_row_chunk(double *k, int n, double s1, double inv1, const double *s2c,
                           const double *inv2c, double a, double b)
{
    const vd_t vs1 = vd_set1(s1), vinv1 = vd_set1(inv1), va = vd_set1(a), vb = vd_set1(b);
    int j = 0;
    for (; j + VLEN <= n; j += VLEN)
        vd_store(k + j, step_vec(vd_load(k + j), vs1, vinv1, vd_load(s2c + j),
                                 vd_load(inv2c + j), va, vb));
    if (j < n) {
        double tmp[VLEN] = {0};
        memcpy(tmp, k + j, (size_t)(n - j) * sizeof *k);
        vd_store(tmp, step_vec(vd_load(tmp), vs1, vinv1, vd_load(s2c + j), vd_load(inv2c + j),
                               va, vb));
        memcpy(k + j, tmp, (size_t)(n - j) * sizeof *k);
    }
}

/* Rows [i0, i1) of the step; row i covers columns [0, min(ncol, i + 1)) when sym (the lower
 * triangle with its diagonal), else [0, ncol). */
static void step_tile_rows(double *k, int ldk, int i0, int i1, int ncol, int sym,
                           const double *d1, const double *d2, double a, double b)
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
            step_row_chunk(k + (size_t)i * ldk + j0, n, s1, inv1, s2c, inv2c, a, b);
        }
    }
}

void kernel_step(double *k, int ldk, int m1, int m2, const double *d1, const double *d2,
                 double sw2, double sb2)
{
    const double a = sw2 / (2.0 * M_PI);
    int nt = (m1 + RB - 1) / RB;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < nt; t++) {
        int i0 = t * RB, i1 = i0 + RB < m1 ? i0 + RB : m1;
        step_tile_rows(k, ldk, i0, i1, m2, 0, d1, d2, a, sb2);
    }
}

void kernel_step_lower(double *k, int ldk, int m, const double *d, double sw2, double sb2)
{
    const double a = sw2 / (2.0 * M_PI);
    int nt = (m + RB - 1) / RB;
    /* Row tiles grow in cost with i: hand them out last-first so the big ones start early. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = nt - 1; t >= 0; t--) {
        int i0 = t * RB, i1 = i0 + RB < m ? i0 + RB : m;
        step_tile_rows(k, ldk, i0, i1, m, 1, d, d, a, sb2);
        /* On the diagonal c = 1 and the step reduces to the diagonal recursion: use it exactly,
         * so K^l(x,x) here equals kernel_diag_step's value bit for bit. */
        for (int i = i0; i < i1; i++)
            k[(size_t)i * ldk + i] = diag_next(d[i], sw2, sb2);
    }
}

void kernel_step_sym(double *k, int ldk, int m, const double *d, double sw2, double sb2)
{
    kernel_step_lower(k, ldk, m, d, sw2, sb2);
    mirror_lower(k, ldk, m);
}

void kernel_diag_step(double *diag, int m, double sw2, double sb2)
{
    for (int i = 0; i < m; i++)
        diag[i] = diag_next(diag[i], sw2, sb2);
}
