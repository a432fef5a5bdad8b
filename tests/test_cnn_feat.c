/* test_cnn_feat.c - feature nets (cnn.h, dreams): the input gradient of a sum of activation
 * norms against central differences in the double build (h = 1e-6, |g - fd| <= 1e-6 (1 + |g|)
 * per pixel) through every layer type a dream passes (conv same / strided / pointwise, max and
 * average pools, relu, tanh, bn in inference mode, dropout as the identity, flatten), on images
 * of sizes the net was not built for; the float build against the double one; the objective
 * against the norms computed here from the outputs; and the errors (a dense layer, an image too
 * small, too few parameters). */
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "nn_error.h"
#include "nn_rng.h"

/* Random parameters (N(0, 0.5^2)), bn running means N(0,1) and variances in [0.5, 2), in both
 * precisions (the float values are the double ones rounded). */
static void random_blocks(const cnn_arch_t *a, double *pd, float *pf, double *bd, float *bf,
                          rng_t *r)
{
    for (size_t i = 0; i < a->nparams; i++)
        pf[i] = (float)(0.5 * rng_normal(r)), pd[i] = pf[i];
    for (int l = 0; l < a->nlayers; l++) {
        const cnn_layer_t *L = &a->layers[l];
        for (int c = 0; c < L->in_c && L->kind == CNN_BN; c++) {
            bf[L->buf_off + c] = (float)rng_normal(r);
            bf[L->buf_off + L->in_c + c] = (float)(0.5 + 1.5 * rng_uniform(r));
        }
    }
    for (size_t i = 0; i < a->nbuffers; i++)
        bd[i] = bf[i];
}

/* Checks cnn_feat_norm_grad_f64 of spec on a (c,h,w) image with the layers sel (0-based)
 * against central differences, and the float build against it. */
static void check_feat_gradient(const char *spec, int c, int h, int w, const int *sel, int nsel)
{
    cnn_arch_t a;
    assert_int_equal(cnn_arch_parse(spec, c, h, w, &a), 0);
    const size_t n = (size_t)c * h * w;
    double *pd = malloc(a.nparams * sizeof *pd + 8), *bd = malloc(a.nbuffers * sizeof *bd + 8);
    float *pf = malloc(a.nparams * sizeof *pf + 4), *bf = malloc(a.nbuffers * sizeof *bf + 4);
    double *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *g2 = malloc(n * sizeof *g2);
    float *xf = malloc(n * sizeof *xf), *gf = malloc(n * sizeof *gf);
    rng_t r;
    rng_seed(&r, 11);
    random_blocks(&a, pd, pf, bd, bf, &r);
    for (size_t i = 0; i < n; i++)
        xf[i] = (float)rng_normal(&r), x[i] = xf[i];
    cnn_feat_f64_t *f = NULL;
    cnn_feat_t *ff = NULL;
    assert_int_equal(cnn_feat_create_f64(&f, spec, c, h, w, a.nlayers, pd, a.nparams, bd,
                                         a.nbuffers), 0);
    assert_int_equal(cnn_feat_create(&ff, spec, c, h, w, a.nlayers, pf, a.nparams, bf,
                                     a.nbuffers), 0);
    const double obj = cnn_feat_norm_grad_f64(f, x, sel, nsel, g);
    /* the objective is the sum of the norms of the outputs */
    double want = 0;
    for (int k = 0; k < nsel; k++) {
        size_t m;
        const double *o = cnn_feat_output_f64(f, sel[k], &m);
        double s = 0;
        for (size_t j = 0; j < m; j++)
            s += o[j] * o[j];
        want += sqrt(s);
    }
    assert_true(obj > 0);
    assert_true(fabs(obj - want) <= 1e-12 * want);
    const double hstep = 1e-6;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const double keep = x[i];
        x[i] = keep + hstep;
        const double up = cnn_feat_norm_grad_f64(f, x, sel, nsel, g2);
        x[i] = keep - hstep;
        const double down = cnn_feat_norm_grad_f64(f, x, sel, nsel, g2);
        x[i] = keep;
        const double fd = (up - down) / (2 * hstep), err = fabs(g[i] - fd) / (1 + fabs(g[i]));
        if (err > worst)
            worst = err;
        if (err > 1e-6)
            fail_msg("%s on (%d,%d,%d): d/dx[%zu] = %.10g, central difference %.10g", spec, c, h,
                     w, i, g[i], fd);
    }
    /* the float build follows the double one */
    const double objf = cnn_feat_norm_grad(ff, xf, sel, nsel, gf);
    assert_true(fabs(objf - obj) <= 1e-4 * obj);
    double gmax = 0, dmax = 0;
    for (size_t i = 0; i < n; i++) {
        gmax = fmax(gmax, fabs(g[i]));
        dmax = fmax(dmax, fabs(gf[i] - g[i]));
    }
    if (dmax > 1e-4 * gmax)
        fail_msg("%s: float gradient off by %g (max |g| %g)", spec, dmax, gmax);
    cnn_feat_destroy_f64(&f);
    cnn_feat_destroy(&ff);
    assert_null(f);
    cnn_arch_free(&a);
    free(pd), free(bd), free(pf), free(bf), free(x), free(g), free(g2), free(xf), free(gf);
}

static void test_gradient_conv_relu_maxpool(void **state)
{
    (void)state;
    /* same conv (the contiguous im2col path), then max pool at odd sizes; both layers' norms */
    check_feat_gradient("conv(3,3,pad=1) relu maxpool(2)", 2, 9, 11, (int[]){1, 2}, 2);
    /* strided conv without padding, a 3-window pool at stride 2 */
    check_feat_gradient("conv(4,3,stride=2) relu maxpool(3,stride=2)", 1, 13, 12, (int[]){2}, 1);
}

static void test_gradient_pointwise_avgpool_tanh(void **state)
{
    (void)state;
    check_feat_gradient("conv(3,1) tanh avgpool(2) conv(2,3,pad=1)", 2, 8, 10, (int[]){1, 3}, 2);
}

static void test_gradient_bn_dropout_flatten(void **state)
{
    (void)state;
    /* bn with running statistics, dropout as the identity, flatten: the norm of the flattened
     * output and of a layer before it, joined */
    check_feat_gradient("conv(3,3,pad=1) bn relu dropout(0.5) conv(2,3) bn flatten", 3, 7, 9,
                        (int[]){2, 6}, 2);
    /* a layer chosen twice counts twice; the first layer alone */
    check_feat_gradient("bn tanh", 2, 5, 6, (int[]){0, 0, 1}, 3);
}

static void test_any_size_same_parameters(void **state)
{
    (void)state;
    /* a net trained on 28x28 with its dense head: the layers before dense take a 64x48 image and
     * the trained parameter block as it is */
    const char *spec = "conv(4,3,pad=1) bn relu maxpool(2) flatten dense(10)";
    cnn_arch_t a;
    assert_int_equal(cnn_arch_parse(spec, 1, 28, 28, &a), 0);
    float *p = calloc(a.nparams, sizeof *p), *b = calloc(a.nbuffers, sizeof *b);
    cnn_feat_t *f = NULL;
    assert_int_equal(cnn_feat_create(&f, spec, 1, 64, 48, 4, p, a.nparams, b, a.nbuffers), 0);
    const cnn_arch_t *fa = cnn_feat_arch(f);
    assert_int_equal(fa->nlayers, 4);
    assert_int_equal(fa->layers[3].out_h, 32);
    assert_int_equal(fa->layers[3].out_w, 24);
    cnn_feat_destroy(&f);
    /* the dense layer itself cannot be dreamed on */
    assert_int_equal(cnn_feat_create(&f, spec, 1, 64, 48, 6, p, a.nparams, b, a.nbuffers),
                     NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "layer 6 dense(10)"));
    assert_null(f);
    /* an image smaller than a window */
    assert_int_equal(cnn_feat_create(&f, "conv(2,5)", 1, 3, 8, 1, p, a.nparams, b, a.nbuffers),
                     NN_ERR_INPUT);
    assert_null(f);
    /* a parameter block too short for the layers */
    assert_int_equal(cnn_feat_create(&f, spec, 1, 64, 48, 4, p, 10, b, a.nbuffers),
                     NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "parameters"));
    free(p), free(b);
    cnn_arch_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_conv_relu_maxpool),
        cmocka_unit_test(test_gradient_pointwise_avgpool_tanh),
        cmocka_unit_test(test_gradient_bn_dropout_flatten),
        cmocka_unit_test(test_any_size_same_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
