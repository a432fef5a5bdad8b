/* test_cnn.c - cnn layer kernels, optimizers, schedules, initialization and augmentation:
 *  - gradients of every layer (input and parameters) against central differences, in the double
 *    build of the kernels (cnn_*_f64): h = 1e-6, |analytic - fd| <= 1e-6 (1 + |analytic|)
 *    (rounding in the objective ~1e-14 / 2h ~ 1e-8, truncation h^2 ~ 1e-12; inputs kept at least
 *    1e-2 away from ReLU kinks and max-pool ties so the step never crosses one);
 *  - forward passes against independent references written here (direct convolution loops,
 *    two-pass batch-norm statistics, softmax cross-entropy from its definition, max-pool
 *    routing), in float with tolerances ~1e-5 relative (float rounding over <= 600 terms);
 *  - optimizer steps against the closed-form PyTorch updates computed here in double;
 *  - schedules at given epochs, init statistics, augmentation as shifted/flipped copies. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "nn_error.h"
#include "nn_rng.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers. */

static void fill_normal(double *v, size_t n, double scale, rng_t *r)
{
    for (size_t i = 0; i < n; i++)
        v[i] = scale * rng_normal(r);
}

/* One layer taken from a parsed spec: `which` is its 1-based position. */
static cnn_layer_t layer_of(const char *spec, int c, int h, int w, int which)
{
    cnn_arch_t a;
    int rc = cnn_arch_parse(spec, c, h, w, &a);
    if (rc)
        fail_msg("parse '%s': %s", spec, nn_errmsg());
    cnn_layer_t L = a.layers[which - 1];
    cnn_arch_free(&a);
    return L;
}

/* Everything one layer kernel needs, in double. */
typedef struct {
    cnn_layer_t L;
    int B;
    double *x, *w, *b, *out, *r;   /* input, params (weight/gamma, bias/beta), output, dL/dout */
    double *col, *mask, *rm, *rv, *mean, *invstd;
    int *idx;
    int *labels;
    uint64_t seed;                 /* dropout: the same mask at every evaluation */
} lctx_t;

static void lctx_init(lctx_t *c, cnn_layer_t L, int B, rng_t *r)
{
    memset(c, 0, sizeof *c);
    c->L = L;
    c->B = B;
    size_t nin = (size_t)B * L.in_size, nout = (size_t)B * L.out_size;
    c->x = calloc(nin, sizeof(double));
    c->out = calloc(nout, sizeof(double));
    c->r = calloc(nout, sizeof(double));
    c->w = calloc(L.nw + 1, sizeof(double));
    c->b = calloc(L.nb + 1, sizeof(double));
    c->col = calloc(L.kind == CNN_CONV ? cnn_conv_col_size(&L) : 1, sizeof(double));
    c->mask = calloc(nout, sizeof(double));
    c->idx = calloc(nout, sizeof(int));
    c->rm = calloc((size_t)L.in_c, sizeof(double));
    c->rv = calloc((size_t)L.in_c, sizeof(double));
    c->mean = calloc((size_t)L.in_c, sizeof(double));
    c->invstd = calloc((size_t)L.in_c, sizeof(double));
    fill_normal(c->x, nin, 1.0, r);
    fill_normal(c->w, L.nw, 0.5, r);
    fill_normal(c->b, L.nb, 0.5, r);
    fill_normal(c->r, nout, 1.0, r);
    c->seed = 99;
}

static void lctx_free(lctx_t *c)
{
    free(c->x);
    free(c->out);
    free(c->r);
    free(c->w);
    free(c->b);
    free(c->col);
    free(c->mask);
    free(c->idx);
    free(c->rm);
    free(c->rv);
    free(c->mean);
    free(c->invstd);
}

static void layer_forward(lctx_t *c)
{
    const cnn_layer_t *L = &c->L;
    const size_t n = (size_t)c->B * L->out_size;
    rng_t r;
    switch (L->kind) {
    case CNN_CONV: cnn_conv_forward_f64(L, c->B, c->x, c->w, c->b, c->out, c->col); break;
    case CNN_MAXPOOL: cnn_maxpool_forward_f64(L, c->B, c->x, c->out, c->idx); break;
    case CNN_AVGPOOL: cnn_avgpool_forward_f64(L, c->B, c->x, c->out); break;
    case CNN_RELU: cnn_relu_forward_f64(n, c->x, c->out); break;
    case CNN_TANH: cnn_tanh_forward_f64(n, c->x, c->out); break;
    case CNN_DENSE: cnn_dense_forward_f64(L, c->B, c->x, c->w, c->b, c->out); break;
    case CNN_DROPOUT:
        rng_seed(&r, c->seed);
        cnn_dropout_forward_f64(n, L->p, 1, c->x, c->out, c->mask, &r);
        break;
    case CNN_BN:
        cnn_bn_forward_f64(L, c->B, 1, c->x, c->w, c->b, c->rm, c->rv, c->mean, c->invstd, c->out,
                           NULL, NULL);
        break;
    case CNN_FLATTEN: memcpy(c->out, c->x, n * sizeof *c->out); break;
    }
}

/* The objective of the layer checks: sum(out * r). */
static double layer_objective(void *p)
{
    lctx_t *c = p;
    layer_forward(c);
    double s = 0;
    for (size_t i = 0; i < (size_t)c->B * c->L.out_size; i++)
        s += c->out[i] * c->r[i];
    return s;
}

/* Central differences of f with respect to every entry of v (n values) against g; fails if
 * |g - fd| > tol (1 + |g|) anywhere. Returns the largest scaled error. */
static double check_grad(const char *what, double (*f)(void *), void *ctx, double *v,
                         const double *g, size_t n, double tol)
{
    const double h = 1e-6;
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const double save = v[i];
        v[i] = save + h;
        const double fp = f(ctx);
        v[i] = save - h;
        const double fm = f(ctx);
        v[i] = save;
        const double fd = (fp - fm) / (2 * h);
        const double err = fabs(fd - g[i]) / (1 + fabs(g[i]));
        if (err > worst) {
            worst = err;
            at = i;
        }
    }
    printf("    %-34s %6zu entries, max |g - fd| / (1 + |g|) = %.2e\n", what, n, worst);
    if (!(worst <= tol))
        fail_msg("%s: entry %zu: analytic %.10g, error %.3g > %.3g", what, at, g[at], worst, tol);
    return worst;
}

#define GRAD_TOL 1e-6

/* Analytic gradients of sum(out * r) by the backward kernel, checked for x and the parameters. */
static void check_layer(const char *name, lctx_t *c)
{
    const cnn_layer_t *L = &c->L;
    const size_t nin = (size_t)c->B * L->in_size, nout = (size_t)c->B * L->out_size;
    double *dx = calloc(nin, sizeof *dx), *dw = calloc(L->nw + 1, sizeof *dw);
    double *db = calloc(L->nb + 1, sizeof *db);
    layer_forward(c);
    switch (L->kind) {
    case CNN_CONV:
        cnn_conv_backward_f64(L, c->B, c->x, c->w, c->r, dx, dw, db, c->col);
        break;
    case CNN_MAXPOOL: cnn_maxpool_backward_f64(L, c->B, c->r, c->idx, dx); break;
    case CNN_AVGPOOL: cnn_avgpool_backward_f64(L, c->B, c->r, dx); break;
    case CNN_RELU: cnn_relu_backward_f64(nout, c->out, c->r, dx); break;
    case CNN_TANH: cnn_tanh_backward_f64(nout, c->out, c->r, dx); break;
    case CNN_DENSE: cnn_dense_backward_f64(L, c->B, c->x, c->w, c->r, dx, dw, db); break;
    case CNN_DROPOUT: cnn_dropout_backward_f64(nout, c->mask, c->r, dx); break;
    case CNN_BN:
        cnn_bn_backward_f64(L, c->B, c->x, c->w, c->mean, c->invstd, c->r, dx, dw, db, NULL,
                            NULL);
        break;
    case CNN_FLATTEN: memcpy(dx, c->r, nin * sizeof *dx); break;
    }
    char what[96];
    printf("  %s\n", name);
    snprintf(what, sizeof what, "d/dx");
    check_grad(what, layer_objective, c, c->x, dx, nin, GRAD_TOL);
    if (L->nw) {
        check_grad(L->kind == CNN_BN ? "d/dgamma" : "d/dw", layer_objective, c, c->w, dw, L->nw,
                   GRAD_TOL);
        check_grad(L->kind == CNN_BN ? "d/dbeta" : "d/db", layer_objective, c, c->b, db, L->nb,
                   GRAD_TOL);
    }
    free(dx);
    free(dw);
    free(db);
}

/* ---------------------------------------------------------------------------------------------
 * Gradient checks, one test per layer type. */

static void test_grad_conv(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int c, h, w;
    } cases[] = {
        {"conv(4,3,pad=1)", 3, 7, 6},            /* same padding */
        {"conv(3,5,pad=2)", 2, 6, 5},            /* same padding 2: two wrapped columns */
        {"conv(2,5,pad=2)", 2, 2, 3},            /* same, image smaller than the kernel */
        {"conv(2,3,stride=2)", 2, 7, 7},         /* strided, no padding */
        {"conv(3,1)", 2, 4, 5},                  /* pointwise: the GEMM-only path */
        {"conv(2,5,stride=2,pad=2)", 3, 9, 8},   /* large kernel, stride and padding */
        {"conv(3,2,stride=3,pad=1)", 2, 8, 7},   /* stride > kernel: skipped pixels */
    };
    rng_t r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lctx_t c;
        lctx_init(&c, layer_of(cases[i].spec, cases[i].c, cases[i].h, cases[i].w, 1), 2, &r);
        char name[96];
        snprintf(name, sizeof name, "%s on (%d,%d,%d), B = 2", cases[i].spec, cases[i].c,
                 cases[i].h, cases[i].w);
        check_layer(name, &c);
        lctx_free(&c);
    }
}

/* Distinct inputs 0.01 apart (a shuffled ramp) keep the argmax fixed under a 1e-6 step. */
static void fill_distinct(double *x, size_t n, rng_t *r)
{
    int *perm = malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (int)i;
    rng_shuffle_int(r, perm, (int)n);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.01 * (perm[i] - (double)n / 2);
    free(perm);
}

static void test_grad_pool(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int c, h, w;
    } cases[] = {
        {"maxpool(2)", 2, 6, 6},
        {"maxpool(3,stride=2)", 2, 7, 8},   /* overlapping windows: routed gradients add */
        {"maxpool(2)", 1, 5, 5},            /* odd size: the last row/column is dropped */
        {"avgpool(2)", 2, 6, 6},
        {"avgpool(3,stride=2)", 2, 7, 8},
        {"avgpool(2,stride=3)", 1, 8, 8},
    };
    rng_t r;
    rng_seed(&r, 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lctx_t c;
        lctx_init(&c, layer_of(cases[i].spec, cases[i].c, cases[i].h, cases[i].w, 1), 3, &r);
        fill_distinct(c.x, (size_t)c.B * c.L.in_size, &r);
        char name[96];
        snprintf(name, sizeof name, "%s on (%d,%d,%d), B = 3", cases[i].spec, cases[i].c,
                 cases[i].h, cases[i].w);
        check_layer(name, &c);
        lctx_free(&c);
    }
}

static void test_grad_pointwise(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 3);
    lctx_t c;
    lctx_init(&c, layer_of("relu", 3, 4, 4, 1), 2, &r);
    for (size_t i = 0; i < (size_t)c.B * c.L.in_size; i++)   /* |x| >= 0.05: no kink crossed */
        c.x[i] = (c.x[i] >= 0 ? 1 : -1) * (0.05 + fabs(c.x[i]));
    check_layer("relu on (3,4,4), B = 2", &c);
    lctx_free(&c);

    lctx_init(&c, layer_of("tanh", 3, 4, 4, 1), 2, &r);
    check_layer("tanh on (3,4,4), B = 2", &c);
    lctx_free(&c);

    lctx_init(&c, layer_of("flatten", 3, 4, 4, 1), 2, &r);
    check_layer("flatten on (3,4,4), B = 2", &c);
    lctx_free(&c);
}

static void test_grad_dense(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 4);
    lctx_t c;
    lctx_init(&c, layer_of("flatten dense(5)", 3, 2, 2, 2), 4, &r);
    assert_int_equal(c.L.in_c, 12);
    check_layer("dense(5) on 12 inputs, B = 4", &c);
    lctx_free(&c);
    lctx_init(&c, layer_of("flatten dense(1)", 7, 1, 1, 2), 3, &r);
    check_layer("dense(1) on 7 inputs, B = 3", &c);
    lctx_free(&c);
}

static void test_grad_dropout(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 5);
    lctx_t c;
    lctx_init(&c, layer_of("dropout(0.3)", 4, 3, 3, 1), 3, &r);
    check_layer("dropout(0.3) on (4,3,3), B = 3, fixed mask", &c);
    /* the mask: values 0 or 1/(1-p), about 30% zeros */
    size_t n = (size_t)c.B * c.L.out_size, zeros = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(c.mask[i] == 0 || fabs(c.mask[i] - 1 / 0.7) < 1e-15);
        zeros += c.mask[i] == 0;
    }
    assert_in_range(zeros, n / 10, n / 2);
    lctx_free(&c);
}

static void test_grad_batchnorm(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 6);
    lctx_t c;
    lctx_init(&c, layer_of("bn", 3, 4, 5, 1), 3, &r);
    for (size_t i = 0; i < (size_t)c.B * c.L.in_size; i++)   /* off-centre, non-unit scale */
        c.x[i] = 2 * c.x[i] + 0.5;
    check_layer("bn (2-D) on (3,4,5), B = 3", &c);
    lctx_free(&c);
    lctx_init(&c, layer_of("flatten bn", 6, 1, 1, 2), 5, &r);
    assert_true(c.L.in_flat);
    check_layer("bn (1-D) on 6 features, B = 5", &c);
    lctx_free(&c);
}

typedef struct {
    int B, N;
    double *z, *p;
    int *y;
} lossctx_t;

static double ce_objective(void *p)
{
    lossctx_t *c = p;
    return cnn_softmax_ce_forward_f64(c->B, c->N, c->z, c->y, c->p);
}

static double bce_objective(void *p)
{
    lossctx_t *c = p;
    return cnn_bce_forward_f64(c->B, c->z, c->y, c->p);
}

static double mse_objective(void *p)
{
    lossctx_t *c = p;
    return cnn_mse_forward_f64(c->B, c->N, c->z, c->p);   /* targets in p */
}

static void test_grad_losses(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 7);
    enum { B = 5, N = 4 };
    double z[B * N], p[B * N], g[B * N];
    int y[B] = {0, 3, 1, 3, 2};
    fill_normal(z, B * N, 2.0, &r);
    lossctx_t c = {B, N, z, p, y};
    printf("  softmax cross-entropy, B = 5, N = 4\n");
    ce_objective(&c);
    cnn_softmax_ce_backward_f64(B, N, p, y, g);
    check_grad("d/dlogits", ce_objective, &c, z, g, B * N, GRAD_TOL);

    int yb[B] = {0, 1, 1, 0, 1};
    c.N = 1;
    c.y = yb;
    z[1] = 30;    /* saturated logits, both signs */
    z[2] = -30;
    printf("  binary cross-entropy with logits, B = 5\n");
    bce_objective(&c);
    cnn_bce_backward_f64(B, p, yb, g);
    check_grad("d/dlogit", bce_objective, &c, z, g, B, GRAD_TOL);

    /* squared loss against float targets (in p): the value against its closed form too */
    c.N = N;
    fill_normal(z, B * N, 2.0, &r);
    fill_normal(p, B * N, 0.5, &r);
    double want = 0;
    for (int i = 0; i < B * N; i++)
        want += 0.5 * (z[i] - p[i]) * (z[i] - p[i]) / B;
    printf("  squared loss (1/2 ||z - t||^2, mean over B = 5), N = 4\n");
    assert_rel_close(mse_objective(&c), want, 1e-14, 0);
    cnn_mse_backward_f64(B, N, z, p, g);
    check_grad("d/doutputs", mse_objective, &c, z, g, B * N, GRAD_TOL);
}

/* ---------------------------------------------------------------------------------------------
 * Forward passes against independent references (float kernels). */

/* out[b][o][i][j] = bias[o] + sum_{c,ki,kj} w[o][c][ki][kj] x[b][c][i S - P + ki][j S - P + kj] */
static void direct_conv(const cnn_layer_t *L, int B, const float *x, const float *w,
                        const float *bias, double *out)
{
    const int C = L->in_c, H = L->in_h, W = L->in_w, K = L->k, S = L->stride, P = L->pad;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < L->n; o++)
            for (int i = 0; i < L->out_h; i++)
                for (int j = 0; j < L->out_w; j++) {
                    double s = bias[o];
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < K; ki++)
                            for (int kj = 0; kj < K; kj++) {
                                int ih = i * S - P + ki, iw = j * S - P + kj;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                s += (double)w[((o * C + c) * K + ki) * K + kj]
                                     * x[((b * C + c) * H + ih) * W + iw];
                            }
                    out[((b * L->n + o) * L->out_h + i) * L->out_w + j] = s;
                }
}

static void test_conv_forward_direct(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int c, h, w;
    } cases[] = {
        {"conv(8,3,pad=1)", 3, 12, 10}, {"conv(5,3,stride=2)", 4, 9, 11},
        {"conv(6,1)", 5, 6, 7},         {"conv(4,5,stride=2,pad=2)", 3, 13, 12},
        {"conv(32,3,pad=1)", 16, 8, 8}, {"conv(2,4,stride=3,pad=3)", 2, 10, 9},
        {"conv(4,5,pad=2)", 2, 7, 6},   {"conv(3,5,pad=2)", 2, 2, 3},   /* same, image < kernel */
    };
    rng_t r;
    rng_seed(&r, 8);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        cnn_layer_t L = layer_of(cases[t].spec, cases[t].c, cases[t].h, cases[t].w, 1);
        const int B = 3;
        size_t nx = (size_t)B * L.in_size, no = (size_t)B * L.out_size;
        float *x = malloc(nx * sizeof *x), *w = malloc(L.nw * sizeof *w);
        float *b = malloc(L.nb * sizeof *b), *out = malloc(no * sizeof *out);
        float *col = malloc(cnn_conv_col_size(&L) * sizeof *col);
        double *ref = malloc(no * sizeof *ref);
        for (size_t i = 0; i < nx; i++)
            x[i] = (float)rng_normal(&r);
        for (size_t i = 0; i < L.nw; i++)
            w[i] = (float)rng_normal(&r);
        for (size_t i = 0; i < L.nb; i++)
            b[i] = (float)rng_normal(&r);
        cnn_conv_forward(&L, B, x, w, b, out, col);
        direct_conv(&L, B, x, w, b, ref);
        /* float sums of C K K unit-variance products: error ~ eps sqrt(CKK) * |terms| */
        double worst = 0, tol = 2e-6 * L.fan_in;
        for (size_t i = 0; i < no; i++)
            worst = fmax(worst, fabs(out[i] - ref[i]));
        printf("  %-26s on (%d,%d,%d): max |conv - direct| = %.2e (tol %.1e)\n", cases[t].spec,
               cases[t].c, cases[t].h, cases[t].w, worst, tol);
        assert_true(worst <= tol);
        free(x);
        free(w);
        free(b);
        free(out);
        free(col);
        free(ref);
    }
}

/* The float and double builds agree on a conv layer's forward and backward (the float path runs
 * in production; only the double one is checked by finite differences). */
static void test_conv_float_matches_double(void **state)
{
    (void)state;
    cnn_layer_t L = layer_of("conv(16,3,stride=2,pad=1)", 8, 12, 12, 1);
    const int B = 4;
    rng_t r;
    rng_seed(&r, 9);
    size_t nx = (size_t)B * L.in_size, no = (size_t)B * L.out_size;
    double *xd = malloc(nx * sizeof *xd), *wd = malloc(L.nw * sizeof *wd);
    double *bd = malloc(L.nb * sizeof *bd), *gd = malloc(no * sizeof *gd);
    double *od = malloc(no * sizeof *od), *dxd = malloc(nx * sizeof *dxd);
    double *dwd = calloc(L.nw, sizeof *dwd), *dbd = calloc(L.nb, sizeof *dbd);
    double *cold = malloc(cnn_conv_col_size(&L) * sizeof *cold);
    float *xf = malloc(nx * sizeof *xf), *wf = malloc(L.nw * sizeof *wf);
    float *bf = malloc(L.nb * sizeof *bf), *gf = malloc(no * sizeof *gf);
    float *of = malloc(no * sizeof *of), *dxf = malloc(nx * sizeof *dxf);
    float *dwf = calloc(L.nw, sizeof *dwf), *dbf = calloc(L.nb, sizeof *dbf);
    float *colf = malloc(cnn_conv_col_size(&L) * sizeof *colf);
    for (size_t i = 0; i < nx; i++)
        xf[i] = (float)rng_normal(&r), xd[i] = xf[i];
    for (size_t i = 0; i < L.nw; i++)
        wf[i] = (float)rng_normal(&r), wd[i] = wf[i];
    for (size_t i = 0; i < L.nb; i++)
        bf[i] = (float)rng_normal(&r), bd[i] = bf[i];
    for (size_t i = 0; i < no; i++)
        gf[i] = (float)rng_normal(&r), gd[i] = gf[i];
    cnn_conv_forward(&L, B, xf, wf, bf, of, colf);
    cnn_conv_forward_f64(&L, B, xd, wd, bd, od, cold);
    cnn_conv_backward(&L, B, xf, wf, gf, dxf, dwf, dbf, colf);
    cnn_conv_backward_f64(&L, B, xd, wd, gd, dxd, dwd, dbd, cold);
    double e_out = 0, e_dx = 0, e_dw = 0, e_db = 0;
    for (size_t i = 0; i < no; i++)
        e_out = fmax(e_out, fabs(of[i] - od[i]));
    for (size_t i = 0; i < nx; i++)
        e_dx = fmax(e_dx, fabs(dxf[i] - dxd[i]));
    for (size_t i = 0; i < L.nw; i++)
        e_dw = fmax(e_dw, fabs(dwf[i] - dwd[i]));
    for (size_t i = 0; i < L.nb; i++)
        e_db = fmax(e_db, fabs(dbf[i] - dbd[i]));
    printf("  float vs double: out %.2e, dx %.2e, dw %.2e, db %.2e\n", e_out, e_dx, e_dw, e_db);
    /* sums of 72 (forward), 144 (dx) and B*36 = 144 (dw, db) unit products in float */
    assert_true(e_out < 1e-4 && e_dx < 1e-4 && e_dw < 1e-4 && e_db < 1e-4);
    free(xd), free(wd), free(bd), free(gd), free(od), free(dxd), free(dwd), free(dbd), free(cold);
    free(xf), free(wf), free(bf), free(gf), free(of), free(dxf), free(dwf), free(dbf), free(colf);
}

/* Batch-norm statistics against a two-pass computation; running statistics after one step;
 * eval mode with the running statistics. */
static void test_batchnorm_statistics(void **state)
{
    (void)state;
    cnn_layer_t L = layer_of("bn", 3, 5, 4, 1);
    const int B = 6, C = 3, HW = 20;
    const size_t n = (size_t)B * C * HW;
    rng_t r;
    rng_seed(&r, 10);
    float *x = malloc(n * sizeof *x), *out = malloc(n * sizeof *out);
    float gamma[3] = {1.5f, 0.5f, -1}, beta[3] = {0.1f, -0.2f, 0.3f};
    float rm[3] = {0.2f, 0, 0}, rv[3] = {1, 2, 1}, mean[3], invstd[3];
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(3 + 2 * rng_normal(&r));
    cnn_bn_forward(&L, B, 1, x, gamma, beta, rm, rv, mean, invstd, out, NULL, NULL);
    const double m = B * HW;
    const double rm0[3] = {0.2, 0, 0}, rv0[3] = {1, 2, 1};
    for (int c = 0; c < C; c++) {
        double mu = 0, var = 0;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++)
                mu += x[(b * C + c) * HW + j];
        mu /= m;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++)
                var += pow(x[(b * C + c) * HW + j] - mu, 2);
        var /= m;   /* biased, used to normalize */
        assert_rel_close(mean[c], mu, 1e-6, 1);
        assert_rel_close(invstd[c], 1 / sqrt(var + CNN_BN_EPS), 1e-6, 0);
        assert_rel_close(rm[c], 0.9 * rm0[c] + 0.1 * mu, 1e-6, 1);
        assert_rel_close(rv[c], 0.9 * rv0[c] + 0.1 * var * m / (m - 1), 1e-6, 1);   /* unbiased */
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++) {
                size_t i = (size_t)(b * C + c) * HW + j;
                assert_close(out[i], gamma[c] * (x[i] - mu) / sqrt(var + CNN_BN_EPS) + beta[c],
                             1e-5);
            }
    }
    /* eval: running statistics, nothing updated */
    float rm1[3], rv1[3];
    memcpy(rm1, rm, sizeof rm);
    memcpy(rv1, rv, sizeof rv);
    cnn_bn_forward(&L, B, 0, x, gamma, beta, rm, rv, mean, invstd, out, NULL, NULL);
    assert_memory_equal(rm, rm1, sizeof rm);
    assert_memory_equal(rv, rv1, sizeof rv);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i / HW % C);
        assert_close(out[i], gamma[c] * (x[i] - rm[c]) / sqrt(rv[c] + CNN_BN_EPS) + beta[c], 1e-5);
    }
    free(x);
    free(out);
}

/* loss = -mean_b log(exp(z_b,y) / sum_j exp(z_bj)), computed from the definition in double;
 * a shift of the logits by 1000 must not change it (stable log-sum-exp). */
static void test_softmax_ce_forward(void **state)
{
    (void)state;
    enum { B = 4, N = 5 };
    float z[B * N], zs[B * N], p[B * N];
    int y[B] = {2, 0, 4, 1};
    rng_t r;
    rng_seed(&r, 11);
    double ref = 0;
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int j = 0; j < N; j++) {
            z[b * N + j] = (float)(3 * rng_normal(&r));
            zs[b * N + j] = z[b * N + j] + 1000;
            s += exp(z[b * N + j]);
        }
        ref -= log(exp(z[b * N + y[b]]) / s);
    }
    ref /= B;
    double loss = cnn_softmax_ce_forward(B, N, z, y, p);
    assert_rel_close(loss, ref, 1e-6, 1e-6);
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int j = 0; j < N; j++)
            s += p[b * N + j];
        assert_close(s, 1, 1e-6);
    }
    /* the shifted logits lose float precision (ulp(1000) = 6e-5), hence the tolerance */
    assert_rel_close(cnn_softmax_ce_forward(B, N, zs, y, p), ref, 1e-3, 1e-6);
    /* BCE from its definition: -y log s(z) - (1-y) log(1 - s(z)) */
    float zb[3] = {0.7f, -2.5f, 4}, pb[3];
    int yb[3] = {1, 0, 0};
    double bref = 0;
    for (int b = 0; b < 3; b++) {
        double s = 1 / (1 + exp(-zb[b]));
        bref -= yb[b] ? log(s) : log(1 - s);
    }
    assert_rel_close(cnn_bce_forward(3, zb, yb, pb), bref / 3, 1e-6, 1e-6);
}

/* Max pooling: the maximum of each window, its position, and backward routing to it alone. */
static void test_maxpool_routing(void **state)
{
    (void)state;
    cnn_layer_t L = layer_of("maxpool(2)", 1, 4, 4, 1);
    const float x[16] = {1, 5, 2, 0,    /* windows: {1,5,3,4} {2,0,8,1} */
                         3, 4, 8, 1,    /*          {9,2,6,6} {7,3,0,2} */
                         9, 2, 7, 3,
                         6, 6, 0, 2};
    float out[4], dout[4] = {10, 20, 30, 40}, dx[16];
    int idx[4];
    cnn_maxpool_forward(&L, 1, x, out, idx);
    const float want[4] = {5, 8, 9, 7};
    const int want_idx[4] = {1, 6, 8, 10};
    for (int i = 0; i < 4; i++) {
        assert_true(out[i] == want[i]);
        assert_int_equal(idx[i], want_idx[i]);
    }
    cnn_maxpool_backward(&L, 1, dout, idx, dx);
    for (int i = 0; i < 16; i++) {
        float w = 0;
        for (int k = 0; k < 4; k++)
            if (want_idx[k] == i)
                w = dout[k];
        assert_true(dx[i] == w);
    }
    /* ties go to the first position in the window; a second plane is indexed inside itself */
    cnn_layer_t L2 = layer_of("maxpool(2)", 2, 2, 2, 1);
    const float t[8] = {3, 3, 3, 3, 1, 2, 2, 0};
    cnn_maxpool_forward(&L2, 1, t, out, idx);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_true(out[1] == 2);

    /* 2x2 windows at stride 2 take an unrolled path: against a direct scan of each window in
     * row order (first maximum kept), on 2 images of 3 planes of 7x10 (the odd last row is
     * dropped) holding values 0..2, so most windows have ties. */
    cnn_layer_t L3 = layer_of("maxpool(2)", 3, 7, 10, 1);
    enum { NB = 2, NX = NB * 3 * 7 * 10, NO = NB * 3 * 3 * 5 };
    float xs[NX], os[NO];
    int is[NO];
    rng_t r;
    rng_seed(&r, 11);
    for (int i = 0; i < NX; i++)
        xs[i] = (float)rng_below(&r, 3);
    cnn_maxpool_forward(&L3, NB, xs, os, is);
    for (int pl = 0; pl < NB * 3; pl++)
        for (int oh = 0; oh < 3; oh++)
            for (int ow = 0; ow < 5; ow++) {
                int best = 2 * oh * 10 + 2 * ow;
                for (int k = 0; k < 4; k++) {
                    int at = (2 * oh + k / 2) * 10 + 2 * ow + k % 2;
                    if (xs[pl * 70 + at] > xs[pl * 70 + best])
                        best = at;
                }
                const int o = pl * 15 + oh * 5 + ow;
                assert_int_equal(is[o], best);
                assert_true(os[o] == xs[pl * 70 + best]);
            }
}

/* ---------------------------------------------------------------------------------------------
 * Optimizers against PyTorch's update rules written out here in double, over three steps with
 * different gradients (weight decay on). Float state: tolerance 1e-6 relative. */

typedef struct {
    double p, buf, sum, m, v;
} ref_state_t;

static void ref_step(cnn_opt_kind_t k, ref_state_t *s, double g, int t, double lr, double mu,
                     double b1, double b2, double eps, double wd)
{
    g += wd * s->p;
    switch (k) {
    case CNN_SGD: s->p -= lr * g; break;
    case CNN_MOMENTUM:
        s->buf = t == 1 ? g : mu * s->buf + g;
        s->p -= lr * s->buf;
        break;
    case CNN_NESTEROV:
        s->buf = t == 1 ? g : mu * s->buf + g;
        s->p -= lr * (g + mu * s->buf);
        break;
    case CNN_ADAGRAD:
        s->sum += g * g;
        s->p -= lr * g / (sqrt(s->sum) + eps);
        break;
    case CNN_ADAM: {
        s->m = b1 * s->m + (1 - b1) * g;
        s->v = b2 * s->v + (1 - b2) * g * g;
        double mhat = s->m / (1 - pow(b1, t)), vhat = s->v / (1 - pow(b2, t));
        s->p -= lr * mhat / (sqrt(vhat) + eps);
        break;
    }
    }
}

static void test_optimizers_closed_form(void **state)
{
    (void)state;
    const char *names[] = {"sgd", "momentum", "nesterov", "adagrad", "adam"};
    enum { N = 7 };
    const double lr = 0.05, mu = 0.9, b1 = 0.8, b2 = 0.95, eps = 1e-3, wd = 0.01;
    for (int k = 0; k < 5; k++) {
        cnn_opt_kind_t kind;
        assert_int_equal(cnn_optim_kind(names[k], &kind), 0);
        cnn_optim_t *o = cnn_optim_create(kind, N, mu, b1, b2, eps, wd);
        assert_non_null(o);
        float p[N], g[N];
        ref_state_t s[N];
        memset(s, 0, sizeof s);
        for (int i = 0; i < N; i++)
            p[i] = (float)(0.5 - 0.25 * i), s[i].p = p[i];
        double worst = 0;
        for (int t = 1; t <= 3; t++) {
            for (int i = 0; i < N; i++) {
                g[i] = (float)(0.3 * (i - 3) + 0.1 * t * (i % 2 ? 1 : -1));
                ref_step(kind, &s[i], g[i], t, lr, mu, b1, b2, eps, wd);
            }
            cnn_optim_step(o, p, g, lr);
            for (int i = 0; i < N; i++) {
                worst = fmax(worst, fabs(p[i] - s[i].p));
                assert_rel_close(p[i], s[i].p, 1e-6, 1e-2);
            }
        }
        assert_int_equal(o->t, 3);
        printf("  %-9s 3 steps: max |p - closed form| = %.2e\n", names[k], worst);
        cnn_optim_destroy(&o);
        assert_null(o);
    }
    /* one step by hand: sgd p = 1, g = 0.5, wd = 0.1, lr = 0.2 -> 1 - 0.2 (0.5 + 0.1) = 0.88;
     * adam first step moves by lr sign(g) (up to eps): 1 - 0.2 = 0.8, to a few float ulp of the
     * moments (1 - 0.9f is not 0.1) */
    cnn_optim_t *o = cnn_optim_create(CNN_SGD, 1, 0, 0, 0, 0, 0.1);
    float p = 1, g = 0.5f;
    cnn_optim_step(o, &p, &g, 0.2);
    assert_close(p, 0.88, 1e-7);
    cnn_optim_destroy(&o);
    o = cnn_optim_create(CNN_ADAM, 1, 0, 0.9, 0.999, 1e-8, 0);
    p = 1;
    cnn_optim_step(o, &p, &g, 0.2);
    assert_close(p, 0.8, 1e-5);
    cnn_optim_destroy(&o);
    cnn_optim_destroy(NULL);
    cnn_opt_kind_t kind;
    assert_int_equal(cnn_optim_kind("rmsprop", &kind), NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "rmsprop"));
}

static void test_lr_schedules(void **state)
{
    (void)state;
    cnn_sched_kind_t k;
    assert_int_equal(cnn_sched_kind("none", &k), 0);
    assert_close(cnn_lr_at(k, 0.1, 7, 10, 3, 0.5), 0.1, 0);
    assert_int_equal(cnn_sched_kind("step", &k), 0);
    const double want_step[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125};
    for (int e = 0; e < 10; e++)
        assert_close(cnn_lr_at(k, 0.1, e, 10, 3, 0.5), want_step[e], 1e-15);
    assert_int_equal(cnn_sched_kind("cosine", &k), 0);
    assert_close(cnn_lr_at(k, 0.1, 0, 10, 3, 0.5), 0.1, 1e-15);
    assert_close(cnn_lr_at(k, 0.1, 5, 10, 3, 0.5), 0.05, 1e-15);
    assert_close(cnn_lr_at(k, 0.1, 2, 8, 3, 0.5), 0.1 * (1 + sqrt(0.5)) / 2, 1e-15);
    assert_close(cnn_lr_at(k, 0.1, 10, 10, 3, 0.5), 0, 1e-15);
    assert_int_equal(cnn_sched_kind("exp", &k), NN_ERR_INPUT);
}

/* ---------------------------------------------------------------------------------------------
 * Initialization: sample moments of a 18432-weight layer against the scheme (the sample sd of n
 * normals has relative sd 1/sqrt(2n) = 0.5%: tolerance 3%); uniform bounds hold exactly. */

static void test_init_schemes(void **state)
{
    (void)state;
    cnn_arch_t a;
    assert_int_equal(cnn_arch_parse("conv(64,3) bn relu flatten dense(10)", 32, 6, 6, &a), 0);
    const cnn_layer_t *cv = &a.layers[0], *bn = &a.layers[1], *fc = &a.layers[4];
    assert_int_equal(cv->fan_in, 288);
    assert_int_equal(cv->fan_out, 576);
    float *p = malloc(a.nparams * sizeof *p), *buf = malloc(a.nbuffers * sizeof *buf);
    static const struct {
        const char *scheme, *mode;
        double sd;   /* expected sd of the conv weights */
    } cases[] = {
        {"kaiming_normal", "fan_in", 0.08333333333333333},     /* sqrt(2/288) */
        {"kaiming_normal", "fan_out", 0.058925565098878960},   /* sqrt(2/576) */
        {"kaiming_uniform", "fan_in", 0.08333333333333333},    /* a = sqrt(6/288), sd a/sqrt3 */
        {"xavier_normal", "fan_in", 0.048112522432468816},     /* sqrt(2/864) */
        {"xavier_uniform", "fan_out", 0.048112522432468816},
        {"normal", "fan_in", 0.02},
        {"uniform", "fan_in", 0.02 / 1.7320508075688772},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        memset(p, 0x7f, a.nparams * sizeof *p);
        assert_int_equal(cnn_init_params(&a, p, buf, cases[t].scheme, cases[t].mode, 0.02, 5), 0);
        double s = 0, s2 = 0, amax = 0;
        for (size_t i = 0; i < cv->nw; i++) {
            s += p[cv->w_off + i];
            s2 += (double)p[cv->w_off + i] * p[cv->w_off + i];
            amax = fmax(amax, fabs(p[cv->w_off + i]));
        }
        double mean = s / cv->nw, sd = sqrt(s2 / cv->nw - mean * mean);
        printf("  %-16s %-8s sd %.5f (want %.5f), mean %+.1e, max |w| %.4f\n", cases[t].scheme,
               cases[t].mode, sd, cases[t].sd, mean, amax);
        assert_rel_close(sd, cases[t].sd, 0.03, 0);
        assert_true(fabs(mean) < 4 * cases[t].sd / sqrt((double)cv->nw));
        if (strstr(cases[t].scheme, "uniform"))
            assert_true(amax <= cases[t].sd * sqrt(3.0) * (1 + 1e-6));
        for (size_t i = 0; i < cv->nb; i++)
            assert_true(p[cv->b_off + i] == 0);
        for (size_t i = 0; i < fc->nb; i++)
            assert_true(p[fc->b_off + i] == 0);
        for (size_t i = 0; i < bn->nw; i++)
            assert_true(p[bn->w_off + i] == 1 && p[bn->b_off + i] == 0);
        for (size_t i = 0; i < 64; i++)
            assert_true(buf[bn->buf_off + i] == 0 && buf[bn->buf_off + 64 + i] == 1);
    }
    /* reproducible from the seed; another seed gives other values */
    float *q = malloc(a.nparams * sizeof *q);
    cnn_init_params(&a, p, NULL, "kaiming_normal", "fan_in", 0, 9);
    cnn_init_params(&a, q, NULL, "kaiming_normal", "fan_in", 0, 9);
    assert_memory_equal(p, q, a.nparams * sizeof *p);
    cnn_init_params(&a, q, NULL, "kaiming_normal", "fan_in", 0, 10);
    assert_true(memcmp(p, q, cv->nw * sizeof *p) != 0);
    assert_int_equal(cnn_init_params(&a, p, NULL, "he", "fan_in", 0, 1), NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "'he'"));
    assert_int_equal(cnn_init_params(&a, p, NULL, "normal", "fan_avg", 0, 1), NN_ERR_INPUT);
    free(p);
    free(q);
    free(buf);
    cnn_arch_free(&a);
}

/* The NNGP prior on "flatten dense(512) relu dense(300)" over 400 inputs: weights of the two
 * layers N(0, sw2 / fan_in) with fan_in 400 and 512, biases N(0, sb2). Sample sd of n normals
 * has relative sd 1/sqrt(2n): 0.16% for the 204800 weights (tolerance 1%), 3.1% for the 512
 * biases and 4.1% for 300 (tolerance 15%); means within 4 standard errors. */
static void check_moments(const float *v, size_t n, double sd, const char *what)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
        s2 += (double)v[i] * v[i];
    }
    double mean = s / n, got = sqrt(s2 / n - mean * mean);
    printf("  nngp %-14s n %6zu: sd %.5f (want %.5f), mean %+.1e\n", what, n, got, sd, mean);
    assert_rel_close(got, sd, n > 10000 ? 0.01 : 0.15, 0);
    assert_true(fabs(mean) < 4 * sd / sqrt((double)n));
}

static void test_init_nngp(void **state)
{
    (void)state;
    cnn_arch_t a;
    assert_int_equal(cnn_arch_parse("flatten dense(512) relu dense(300)", 4, 10, 10, &a), 0);
    const cnn_layer_t *l1 = &a.layers[1], *l2 = &a.layers[3];
    float *p = malloc(a.nparams * sizeof *p), *q = malloc(a.nparams * sizeof *q);
    const double sw2 = 1.7, sb2 = 0.3;
    assert_int_equal(cnn_init_nngp(&a, p, NULL, sw2, sb2, 11), 0);
    check_moments(p + l1->w_off, l1->nw, sqrt(sw2 / 400), "weights 1");
    check_moments(p + l2->w_off, l2->nw, sqrt(sw2 / 512), "weights 2");
    check_moments(p + l1->b_off, l1->nb, sqrt(sb2), "biases 1");
    check_moments(p + l2->b_off, l2->nb, sqrt(sb2), "biases 2");
    assert_int_equal(cnn_init_nngp(&a, q, NULL, sw2, sb2, 11), 0);   /* reproducible */
    assert_memory_equal(p, q, a.nparams * sizeof *p);
    assert_int_equal(cnn_init_nngp(&a, q, NULL, sw2, 0, 11), 0);     /* sb2 = 0: zero biases */
    assert_memory_equal(p + l1->w_off, q + l1->w_off, l1->nw * sizeof *p);
    for (size_t i = 0; i < l2->nb; i++)
        assert_true(q[l2->b_off + i] == 0);
    assert_int_equal(cnn_init_nngp(&a, q, NULL, 0, 1, 1), NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "sigma_w2"));
    assert_int_equal(cnn_init_nngp(&a, q, NULL, 1, -1, 1), NN_ERR_INPUT);
    free(p);
    free(q);
    cnn_arch_free(&a);
}

/* ---------------------------------------------------------------------------------------------
 * Augmentation: every output image is the input shifted by some (dy, dx) in [-pad, pad]^2 with
 * zero fill, possibly mirrored; over 2000 images every shift and both flips occur, about equally. */

static int matches(const float *in, const float *out, int C, int H, int W, int dy, int dx, int f)
{
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                int si = i + dy, sj = (f ? W - 1 - j : j) + dx;
                float want = si >= 0 && si < H && sj >= 0 && sj < W ? in[(c * H + si) * W + sj] : 0;
                if (out[(c * H + i) * W + j] != want)
                    return 0;
            }
    return 1;
}

static void test_augment(void **state)
{
    (void)state;
    enum { B = 2000, C = 2, H = 5, W = 6, PAD = 2 };
    float *x = malloc(sizeof(float) * B * C * H * W), *out = malloc(sizeof(float) * B * C * H * W);
    for (int i = 0; i < B * C * H * W; i++)
        x[i] = 1 + (float)(i % 997);   /* nonzero, distinct within an image */
    rng_t r;
    rng_seed_stream(&r, 1, 0, 0);
    cnn_augment(x, out, B, C, H, W, PAD, 1, &r);
    int count[2 * PAD + 1][2 * PAD + 1][2];
    memset(count, 0, sizeof count);
    for (int b = 0; b < B; b++) {
        const float *xi = x + (size_t)b * C * H * W, *oi = out + (size_t)b * C * H * W;
        int found = 0;
        for (int dy = -PAD; dy <= PAD && !found; dy++)
            for (int dx = -PAD; dx <= PAD && !found; dx++)
                for (int f = 0; f < 2 && !found; f++)
                    if (matches(xi, oi, C, H, W, dy, dx, f)) {
                        count[dy + PAD][dx + PAD][f]++;
                        found = 1;
                    }
        if (!found)
            fail_msg("image %d is not a shifted/flipped copy of its input", b);
    }
    /* 50 cells, 40 expected each (sd ~6.3) */
    for (int i = 0; i < 2 * PAD + 1; i++)
        for (int j = 0; j < 2 * PAD + 1; j++)
            for (int f = 0; f < 2; f++)
                assert_in_range(count[i][j][f], 10, 80);
    /* pad 0, no flip: a copy; the same stream gives the same batch */
    cnn_augment(x, out, 3, C, H, W, 0, 0, &r);
    assert_memory_equal(x, out, sizeof(float) * 3 * C * H * W);
    float *o2 = malloc(sizeof(float) * 10 * C * H * W);
    rng_seed_stream(&r, 4, 1, 7);
    cnn_augment(x, out, 10, C, H, W, PAD, 1, &r);
    rng_seed_stream(&r, 4, 1, 7);
    cnn_augment(x, o2, 10, C, H, W, PAD, 1, &r);
    assert_memory_equal(out, o2, sizeof(float) * 10 * C * H * W);
    free(o2);
    free(x);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_conv),
        cmocka_unit_test(test_grad_pool),
        cmocka_unit_test(test_grad_pointwise),
        cmocka_unit_test(test_grad_dense),
        cmocka_unit_test(test_grad_dropout),
        cmocka_unit_test(test_grad_batchnorm),
        cmocka_unit_test(test_grad_losses),
        cmocka_unit_test(test_conv_forward_direct),
        cmocka_unit_test(test_conv_float_matches_double),
        cmocka_unit_test(test_batchnorm_statistics),
        cmocka_unit_test(test_softmax_ce_forward),
        cmocka_unit_test(test_maxpool_routing),
        cmocka_unit_test(test_optimizers_closed_form),
        cmocka_unit_test(test_lr_schedules),
        cmocka_unit_test(test_init_schemes),
        cmocka_unit_test(test_init_nngp),
        cmocka_unit_test(test_augment),
    };
    return cmocka_run_group_tests_name("cnn", tests, NULL, NULL);
}
