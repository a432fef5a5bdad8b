/* test_cnn_net.c - cnn networks: layer-string parsing (shapes and parameter counts computed by
 * hand here, every error class naming its layer), whole-net gradients against central
 * differences in the double build (h = 1e-6, |g - fd| <= 1e-6 (1 + |g|)), the float build
 * against the double one, eval mode and chunked evaluation, synchronized batch norm over two
 * threads against one big batch, and a small training run that must learn and be bit-for-bit
 * reproducible. */
#include "testlib.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "nn_error.h"
#include "nn_rng.h"

/* The reference network of issue 6 (CIFAR-10, 32x32x3). */
static const char ref_spec[] = "conv(32,3,pad=1) bn relu maxpool(2) conv(64,3,pad=1) bn relu "
                               "maxpool(2) conv(128,3,pad=1) bn relu maxpool(2) flatten dense(256) "
                               "relu dropout(0.5) dense(10)";

/* ---------------------------------------------------------------------------------------------
 * Parsing. */

static void assert_shape(const cnn_layer_t *L, int c, int h, int w)
{
    if (L->out_c != c || L->out_h != h || L->out_w != w)
        fail_msg("layer %d %s: output (%d,%d,%d), expected (%d,%d,%d)", L->pos, L->text, L->out_c,
                 L->out_h, L->out_w, c, h, w);
}

static void test_parse_reference_net(void **state)
{
    (void)state;
    cnn_arch_t a;
    assert_int_equal(cnn_arch_parse(ref_spec, 3, 32, 32, &a), 0);
    assert_int_equal(a.nlayers, 17);
    const int want[17][3] = {{32, 32, 32}, {32, 32, 32}, {32, 32, 32}, {32, 16, 16},
                             {64, 16, 16}, {64, 16, 16}, {64, 16, 16}, {64, 8, 8},
                             {128, 8, 8},  {128, 8, 8},  {128, 8, 8},  {128, 4, 4},
                             {2048, 1, 1}, {256, 1, 1},  {256, 1, 1},  {256, 1, 1},
                             {10, 1, 1}};
    for (int i = 0; i < 17; i++)
        assert_shape(&a.layers[i], want[i][0], want[i][1], want[i][2]);
    assert_true(a.layers[12].out_flat && !a.layers[11].out_flat);
    /* by hand: conv 3*32*9 + 32 = 896, bn 2*32 = 64, conv 32*64*9 + 64 = 18496, bn 128,
     * conv 64*128*9 + 128 = 73856, bn 256, dense 2048*256 + 256 = 524544, dense 256*10 + 10 =
     * 2570: 620810 parameters; running mean + var: 2 (32 + 64 + 128) = 448 buffer values */
    assert_int_equal(a.nparams, 896 + 64 + 18496 + 128 + 73856 + 256 + 524544 + 2570);
    assert_int_equal(a.nparams, 620810);
    assert_int_equal(a.nbuffers, 448);
    assert_close(cnn_arch_mb(&a), (620810 + 448) * 4.0 / 1048576, 1e-12);   /* 2.37 MB */
    /* the blocks are contiguous, in layer order, weight then bias */
    size_t off = 0, boff = 0;
    for (int i = 0; i < a.nlayers; i++) {
        const cnn_layer_t *L = &a.layers[i];
        assert_int_equal(L->w_off, off);
        assert_int_equal(L->b_off, off + L->nw);
        off += L->nw + L->nb;
        assert_int_equal(L->buf_off, boff);
        boff += L->nbuf;
    }
    assert_int_equal(a.layers[13].fan_in, 2048);
    assert_int_equal(a.layers[4].fan_in, 288);
    assert_int_equal(a.layers[4].fan_out, 576);
    char buf[4096];
    int len = cnn_arch_summary(&a, buf, sizeof buf);
    assert_true(len > 0 && (size_t)len < sizeof buf);
    printf("%s", buf);
    assert_non_null(strstr(buf, "620810 parameters"));
    assert_non_null(strstr(buf, "dense(256)"));
    assert_non_null(strstr(buf, "(128,4,4)"));
    cnn_arch_free(&a);
    cnn_arch_free(&a);   /* harmless twice */
}

static void test_parse_shapes(void **state)
{
    (void)state;
    cnn_arch_t a;
    /* the job file's default net on 28x28x1: conv 1*32*9 + 32 = 320, conv 32*64*9 + 64 = 18496,
     * dense 64*7*7*128 + 128 = 401536, dense 128*10 + 10 = 1290 */
    assert_int_equal(cnn_arch_parse("conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu "
                                    "maxpool(2) flatten dense(128) relu dense(10)", 1, 28, 28, &a),
                     0);
    assert_int_equal(a.nparams, 320 + 18496 + 401536 + 1290);
    assert_shape(&a.layers[5], 64, 7, 7);
    cnn_arch_free(&a);
    /* strides, padding, overlapping pools, non-square input; spaces inside parentheses and
     * several kinds of white space between tokens */
    assert_int_equal(cnn_arch_parse(" conv( 8 , 5 , stride = 2 , pad = 1 )\tmaxpool(3,stride=2)\n"
                                    "avgpool(2,stride=1) tanh flatten bn dropout(0) dense(3)  ",
                                    3, 32, 30, &a),
                     0);
    assert_int_equal(a.nlayers, 8);
    assert_shape(&a.layers[0], 8, 15, 14);   /* (32+2-5)/2+1, (30+2-5)/2+1 */
    assert_shape(&a.layers[1], 8, 7, 6);     /* (15-3)/2+1, (14-3)/2+1 */
    assert_shape(&a.layers[2], 8, 6, 5);
    assert_shape(&a.layers[4], 240, 1, 1);
    assert_int_equal(a.layers[5].nw, 240);   /* 1-D bn: one gamma per feature */
    assert_int_equal(a.layers[7].nw, 720);
    assert_int_equal(a.nparams, 8 * 3 * 25 + 8 + 480 + 720 + 3);
    assert_string_equal(a.layers[0].text, "conv( 8 , 5 , stride = 2 , pad = 1 )");
    assert_int_equal(a.layers[0].pos, 1);
    assert_int_equal(a.layers[7].pos, 8);
    cnn_arch_free(&a);
}

/* Each error class: status NN_ERR_INPUT and a message naming the layer and what is wrong. */
static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int c, h, w;
        const char *msg;
    } cases[] = {
        {"conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu maxpool(2) dense(10)", 1, 28, 28,
         "layer 7 dense(10): expects a flat input, got (64,7,7): add flatten"},
        {"maxpool(2) maxpool(2) maxpool(2)", 1, 4, 4,
         "layer 3 maxpool(2): input 1x1 is smaller than the window (2x2)"},
        {"avgpool(5)", 2, 4, 6, "layer 1 avgpool(5): input 4x6 is smaller than the window (5x5)"},
        {"relu conv(4,5)", 1, 3, 3, "layer 2 conv(4,5): input 3x3 is smaller than the kernel (5x5)"},
        {"conv(4,7,pad=1)", 1, 3, 3,
         "layer 1 conv(4,7,pad=1): input 3x3 (padded to 5x5) is smaller than the 7x7 kernel"},
        {"flatten dense(16) conv(8,3)", 1, 4, 4,
         "layer 3 conv(8,3): expects an image input (C,H,W), got a flat input of 16 values"},
        {"flatten maxpool(2)", 1, 4, 4, "layer 2 maxpool(2): expects an image input"},
        {"relu conv2d(3)", 1, 4, 4, "layer 2 conv2d(3): unknown layer"},
        {"conv(32)", 1, 4, 4, "layer 1 conv(32): expects conv(C,K[,stride=S][,pad=P])"},
        {"conv(32,3,padding=1)", 1, 4, 4, "layer 1 conv(32,3,padding=1): unknown option 'padding'"},
        {"maxpool(2,pad=1)", 1, 4, 4, "layer 1 maxpool(2,pad=1): unknown option 'pad'"},
        {"conv(0,3)", 1, 4, 4, "layer 1 conv(0,3): output channels must be"},
        {"conv(4,3,stride=0)", 1, 4, 4, "layer 1 conv(4,3,stride=0): stride must be"},
        {"conv(4,3,pad=-1)", 1, 4, 4, "layer 1 conv(4,3,pad=-1): pad must be"},
        {"conv(4,x)", 1, 4, 4, "layer 1 conv(4,x): kernel size must be"},
        {"flatten dropout(1.5)", 1, 4, 4, "layer 2 dropout(1.5): the probability must be"},
        {"flatten dropout", 1, 4, 4, "layer 2 dropout: expects dropout(p)"},
        {"relu(2)", 1, 4, 4, "layer 1 relu(2): takes no arguments"},
        {"flatten dense(10", 1, 4, 4, "layer 2 dense(10: missing ')'"},
        {"flatten dense(4,)", 1, 4, 4, "layer 2 dense(4,): cannot read the arguments"},
        {"relu,bn", 1, 4, 4, "layer 1 relu,bn: cannot read this token"},
        {"   ", 1, 4, 4, "layers: no layers given"},
        {"relu", 0, 4, 4, "input shape (0,4,4)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cnn_arch_t a;
        nn_error_clear();
        int rc = cnn_arch_parse(cases[i].spec, cases[i].c, cases[i].h, cases[i].w, &a);
        if (rc != NN_ERR_INPUT || !strstr(nn_errmsg(), cases[i].msg))
            fail_msg("'%s': status %d, message \"%s\", expected \"%s\"", cases[i].spec, rc,
                     nn_errmsg(), cases[i].msg);
        assert_null(a.layers);
    }
    /* the net's end must match the classes */
    cnn_net_t *net = (cnn_net_t *)1;
    assert_int_equal(cnn_net_create(&net, "flatten dense(5)", 1, 4, 4, 10, 8), NN_ERR_INPUT);
    assert_null(net);
    assert_string_equal(nn_errmsg(), "layer 2 dense(5): the net ends with 5 outputs but the data "
                                     "has 10 classes: end with dense(10)");
    assert_int_equal(cnn_net_create(&net, "flatten dense(3)", 1, 4, 4, 2, 8), NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "end with dense(2) or dense(1)"));
    assert_int_equal(cnn_net_create(&net, "conv(10,4)", 1, 4, 4, 10, 8), NN_ERR_INPUT);
    assert_string_equal(nn_errmsg(), "layer 1 conv(10,4): the net must end with a flat output of "
                                     "10 logits: add flatten and dense(10)");
    assert_int_equal(cnn_net_create(&net, "flatten dense(1)", 1, 4, 4, 3, 8), NN_ERR_INPUT);
    assert_int_equal(cnn_net_create(&net, "flatten dense(2)", 1, 4, 4, 2, 0), NN_ERR_INPUT);
    assert_int_equal(cnn_net_create(&net, "flatten dense(2)", 1, 4, 4, 2, 1), 0);
    assert_int_equal(cnn_net_nout(net), 2);
    cnn_net_destroy(&net);
    assert_null(net);
    cnn_net_destroy(&net);
    cnn_net_destroy(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Whole-net gradients in double. */

typedef struct {
    cnn_net_f64_t *net;
    const double *x;
    const int *y;
    int B;
    uint64_t seed;   /* dropout stream, reseeded per evaluation: a fixed mask */
} netctx_t;

static double net_objective(netctx_t *c)
{
    rng_t r;
    rng_seed_stream(&r, c->seed, 0, 0);
    if (!cnn_forward_f64(c->net, c->x, c->B, 1, &r))
        fail_msg("forward: %s", nn_errmsg());
    return cnn_loss_f64(c->net, c->y);
}

/* Float parameters from cnn_init_params (kaiming_normal) with every bias, gamma and beta then
 * moved off its initial value, copied to both nets. */
static void init_pair(const cnn_arch_t *a, float *pf, double *pd, rng_t *r)
{
    cnn_init_params(a, pf, NULL, "kaiming_normal", "fan_in", 0, 3);
    for (int i = 0; i < a->nlayers; i++) {
        const cnn_layer_t *L = &a->layers[i];
        for (size_t k = 0; k < L->nb; k++)
            pf[L->b_off + k] += (float)(0.2 * rng_normal(r));
        if (L->kind == CNN_BN)
            for (size_t k = 0; k < L->nw; k++)
                pf[L->w_off + k] += (float)(0.3 * rng_normal(r));
    }
    for (size_t i = 0; i < a->nparams; i++)
        pd[i] = pf[i];
}

static void check_net_gradient(const char *spec, int c, int h, int w, int nclasses, int B)
{
    cnn_net_f64_t *net;
    cnn_net_t *netf;
    assert_int_equal(cnn_net_create_f64(&net, spec, c, h, w, nclasses, B), 0);
    assert_int_equal(cnn_net_create(&netf, spec, c, h, w, nclasses, B), 0);
    const cnn_arch_t *a = cnn_net_arch_f64(net);
    const size_t np = cnn_nparams_f64(net), nx = (size_t)B * c * h * w;
    rng_t r;
    rng_seed(&r, 17);
    init_pair(a, cnn_params(netf), cnn_params_f64(net), &r);
    double *x = malloc(nx * sizeof *x);
    float *xf = malloc(nx * sizeof *xf);
    int *y = malloc((size_t)B * sizeof *y);
    for (size_t i = 0; i < nx; i++)
        x[i] = xf[i] = (float)rng_normal(&r);
    for (int i = 0; i < B; i++)
        y[i] = (int)rng_below(&r, (uint64_t)nclasses);
    netctx_t ctx = {net, x, y, B, 5};
    net_objective(&ctx);
    double loss = cnn_loss_backward_f64(net, y);
    double *g = malloc(np * sizeof *g);
    memcpy(g, cnn_grads_f64(net), np * sizeof *g);

    /* central differences over every parameter, h = 1e-6 */
    double *p = cnn_params_f64(net), worst = 0, gnorm = 0;
    size_t at = 0;
    for (size_t i = 0; i < np; i++) {
        const double save = p[i];
        p[i] = save + 1e-6;
        const double fp = net_objective(&ctx);
        p[i] = save - 1e-6;
        const double fm = net_objective(&ctx);
        p[i] = save;
        const double fd = (fp - fm) / 2e-6, err = fabs(fd - g[i]) / (1 + fabs(g[i]));
        gnorm = fmax(gnorm, fabs(g[i]));
        if (err > worst)
            worst = err, at = i;
    }
    printf("  %s on (%d,%d,%d), B = %d: loss %.4f, %zu parameters, max |g| %.3g, "
           "max |g - fd| / (1 + |g|) = %.2e\n", spec, c, h, w, B, loss, np, gnorm, worst);
    if (!(worst <= 1e-6))
        fail_msg("parameter %zu: analytic %.10g, error %.3g", at, g[at], worst);
    assert_true(gnorm > 1e-2);   /* the check is not vacuous */

    /* the float net on the same parameters and data: logits, loss and gradients within float
     * rounding (scaled by the largest entry: 1e-4) */
    rng_t rf;
    rng_seed_stream(&rf, 5, 0, 0);
    assert_non_null(cnn_forward(netf, xf, B, 1, &rf));
    double lossf = cnn_loss_backward(netf, y);
    assert_rel_close(lossf, loss, 1e-4, 1e-3);
    const float *gf = cnn_grads(netf);
    double gerr = 0, dot = 0, n1 = 0, n2 = 0;
    for (size_t i = 0; i < np; i++) {
        gerr = fmax(gerr, fabs(gf[i] - g[i]));
        dot += gf[i] * g[i], n1 += (double)gf[i] * gf[i], n2 += g[i] * g[i];
    }
    printf("    float build: |loss diff| %.2e, max |g32 - g64| / max |g| = %.2e, cosine %.9f\n",
           fabs(lossf - loss), gerr / gnorm, dot / sqrt(n1 * n2));
    assert_true(gerr / gnorm < 1e-4);
    free(g);
    free(x);
    free(xf);
    free(y);
    cnn_net_destroy_f64(&net);
    cnn_net_destroy(&netf);
}

static void test_net_gradient_softmax(void **state)
{
    (void)state;
    check_net_gradient("conv(4,3,pad=1) bn relu maxpool(2) conv(6,3,pad=1) relu avgpool(2) "
                       "flatten dense(8) dropout(0.5) dense(3)", 2, 8, 8, 3, 4);
}

static void test_net_gradient_bce(void **state)
{
    (void)state;
    check_net_gradient("conv(3,3,stride=2,pad=1) tanh maxpool(2,stride=1) flatten bn dense(5) "
                       "tanh dense(1)", 1, 7, 7, 2, 6);
}

/* The squared loss through a fully connected ReLU net from the NNGP prior (the network stage's
 * net): d(mean loss)/d(params) of the double net against central differences (h = 1e-6, error
 * scaled by 1 + |g| at most 1e-6: the truncation error is O(h^2) times third derivatives of
 * order 1, the rounding error eps/h ~ 1e-10); the float net within 1e-4 of the double one
 * relative to the largest gradient; eval-mode outputs and losses of cnn_evaluate_mse equal a
 * train-mode forward's (no BN or dropout) and the summed loss equals B times the mean. */
static double mse_objective(cnn_net_f64_t *net, const double *x, const double *t, int B)
{
    if (!cnn_forward_f64(net, x, B, 1, NULL))
        fail_msg("forward: %s", nn_errmsg());
    return cnn_mse_loss_f64(net, t);
}

static void test_net_gradient_mse(void **state)
{
    (void)state;
    enum { B = 5, C = 2, H = 3, W = 2, NT = 3, NX = B * C * H * W };
    const char *spec = "flatten dense(7) relu dense(6) relu dense(3)";
    cnn_net_f64_t *net;
    cnn_net_t *netf;
    assert_int_equal(cnn_net_create_f64(&net, spec, C, H, W, NT, B), 0);
    assert_int_equal(cnn_net_create(&netf, spec, C, H, W, NT, B), 0);
    const size_t np = cnn_nparams_f64(net);
    float *pf = cnn_params(netf);
    assert_int_equal(cnn_init_nngp(cnn_net_arch(netf), pf, NULL, 2.0, 0.2, 4), 0);
    double *p = cnn_params_f64(net), x[NX], t[B * NT], *g = malloc(np * sizeof *g);
    float xf[NX], tf[B * NT], out[B * NT];
    for (size_t i = 0; i < np; i++)
        p[i] = pf[i];
    rng_t r;
    rng_seed(&r, 23);
    for (int i = 0; i < NX; i++)
        x[i] = xf[i] = (float)rng_normal(&r);
    for (int i = 0; i < B * NT; i++)
        t[i] = tf[i] = (float)(rng_normal(&r) * 0.5);
    mse_objective(net, x, t, B);
    double loss = cnn_mse_loss_backward_f64(net, t);
    memcpy(g, cnn_grads_f64(net), np * sizeof *g);
    double worst = 0, gnorm = 0;
    for (size_t i = 0; i < np; i++) {
        const double save = p[i];
        p[i] = save + 1e-6;
        const double fp = mse_objective(net, x, t, B);
        p[i] = save - 1e-6;
        const double fm = mse_objective(net, x, t, B);
        p[i] = save;
        worst = fmax(worst, fabs((fp - fm) / 2e-6 - g[i]) / (1 + fabs(g[i])));
        gnorm = fmax(gnorm, fabs(g[i]));
    }
    printf("  %s, squared loss, B = %d: loss %.4f, %zu parameters, max |g| %.3g, "
           "max |g - fd| / (1 + |g|) = %.2e\n", spec, B, loss, np, gnorm, worst);
    assert_true(worst <= 1e-6);
    assert_true(gnorm > 1e-2);

    assert_non_null(cnn_forward(netf, xf, B, 1, NULL));
    assert_rel_close(cnn_mse_loss_backward(netf, tf), loss, 1e-5, 1e-6);
    double gerr = 0;
    for (size_t i = 0; i < np; i++)
        gerr = fmax(gerr, fabs(cnn_grads(netf)[i] - g[i]));
    printf("    float build: max |g32 - g64| / max |g| = %.2e\n", gerr / gnorm);
    assert_true(gerr / gnorm < 1e-4);

    /* chunked evaluation (chunks of 5 over 5) against the training forward */
    const float *z = cnn_forward(netf, xf, B, 1, NULL);
    float ztrain[B * NT];
    memcpy(ztrain, z, sizeof ztrain);
    double lsum;
    int correct, labels[B] = {0, 1, 2, 2, 1}, want = 0;
    assert_int_equal(cnn_evaluate_mse(netf, xf, tf, labels, B, &lsum, &correct, out), 0);
    assert_memory_equal(out, ztrain, sizeof out);
    for (int b = 0; b < B; b++) {
        int best = 0;
        for (int k = 1; k < NT; k++)
            best = out[b * NT + k] > out[b * NT + best] ? k : best;
        want += best == labels[b];
    }
    assert_int_equal(correct, want);
    assert_rel_close(lsum, B * loss, 1e-5, 1e-6);
    /* backward after an eval-mode forward is refused */
    assert_true(isnan(cnn_mse_loss_backward(netf, tf)));
    assert_non_null(strstr(nn_errmsg(), "eval mode"));
    free(g);
    cnn_net_destroy_f64(&net);
    cnn_net_destroy(&netf);
}

/* ---------------------------------------------------------------------------------------------
 * Modes, chunked evaluation, errors. */

static void test_eval_mode_and_chunks(void **state)
{
    (void)state;
    const char *spec = "conv(4,3,pad=1) bn relu maxpool(2) flatten dense(6) dropout(0.5) dense(3)";
    cnn_net_t *big, *small;
    assert_int_equal(cnn_net_create(&big, spec, 2, 6, 6, 3, 10), 0);
    assert_int_equal(cnn_net_create(&small, spec, 2, 6, 6, 3, 4), 0);
    const cnn_arch_t *a = cnn_net_arch(big);
    assert_int_equal(cnn_init_params(a, cnn_params(big), cnn_buffers(big), "kaiming_uniform",
                                     "fan_in", 0, 7), 0);
    enum { N = 10 };
    float x[N * 72];
    int y[N];
    rng_t r;
    rng_seed(&r, 21);
    for (int i = 0; i < N * 72; i++)
        x[i] = (float)rng_normal(&r);
    for (int i = 0; i < N; i++)
        y[i] = i % 3;
    /* a few train steps move the running statistics away from (0, 1) */
    for (int s = 0; s < 3; s++)
        assert_non_null(cnn_forward(big, x, N, 1, &r));
    memcpy(cnn_params(small), cnn_params(big), cnn_nparams(big) * sizeof(float));
    memcpy(cnn_buffers(small), cnn_buffers(big), cnn_nbuffers(big) * sizeof(float));
    assert_true(cnn_buffers(big)[0] != 0);

    /* eval: deterministic without an rng (no dropout), independent of the batch split */
    const float *z = cnn_forward(big, x, N, 0, NULL);
    assert_non_null(z);
    float zcopy[N * 3];
    memcpy(zcopy, z, sizeof zcopy);
    double loss_all = cnn_loss(big, y);
    int pred_big[N], pred_small[N], correct;
    double loss_sum;
    assert_int_equal(cnn_predict(big, x, N, pred_big), 0);
    assert_int_equal(cnn_predict(small, x, N, pred_small), 0);   /* chunks 4, 4, 2 */
    assert_memory_equal(pred_big, pred_small, sizeof pred_big);
    int want_correct = 0;
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int j = 1; j < 3; j++)
            if (zcopy[i * 3 + j] > zcopy[i * 3 + best])
                best = j;
        assert_int_equal(pred_big[i], best);
        want_correct += best == y[i];
    }
    assert_int_equal(cnn_evaluate(small, x, y, N, &loss_sum, &correct), 0);
    assert_int_equal(correct, want_correct);
    assert_rel_close(loss_sum / N, loss_all, 1e-5, 0);
    /* per-image eval outputs do not depend on the other images of the batch */
    const float *z1 = cnn_forward(small, x + 72, 1, 0, NULL);
    for (int j = 0; j < 3; j++)
        assert_close(z1[j], zcopy[3 + j], 1e-5);
    /* train mode differs (batch statistics, dropout) */
    z = cnn_forward(big, x, N, 1, &r);
    double diff = 0;
    for (int i = 0; i < N * 3; i++)
        diff = fmax(diff, fabs(z[i] - zcopy[i]));
    assert_true(diff > 1e-3);

    /* errors */
    assert_null(cnn_forward(small, x, 5, 0, NULL));
    assert_non_null(strstr(nn_errmsg(), "batch of 5 outside 1..4"));
    assert_null(cnn_forward(small, x, 4, 1, NULL));
    assert_non_null(strstr(nn_errmsg(), "layer 7 dropout(0.5): training needs a random stream"));
    assert_non_null(cnn_forward(small, x, 4, 0, NULL));
    assert_true(isnan(cnn_loss_backward(small, y)));
    assert_non_null(strstr(nn_errmsg(), "eval mode"));
    int bad[4] = {0, 1, 3, 0};
    assert_non_null(cnn_forward(small, x, 4, 1, &r));
    assert_true(isnan(cnn_loss(small, bad)));
    assert_string_equal(nn_errmsg(), "cnn_loss: label 3 of example 2 is outside 0..2");
    cnn_net_destroy(&big);
    cnn_net_destroy(&small);

    /* 1-D batch norm cannot train on one example */
    cnn_net_t *net;
    assert_int_equal(cnn_net_create(&net, "flatten bn dense(2)", 1, 2, 2, 2, 4), 0);
    assert_null(cnn_forward(net, x, 1, 1, NULL));
    assert_string_equal(nn_errmsg(), "layer 2 bn: training needs more than one value per channel "
                                     "(batch of 1, 1x1)");
    assert_non_null(cnn_forward(net, x, 1, 0, NULL));
    cnn_net_destroy(&net);
}

/* ---------------------------------------------------------------------------------------------
 * Synchronized batch norm: two threads, each with its own net and half of the batch, summing
 * through a reducer, reproduce one net on the whole batch (outputs, running statistics, and the
 * average of the two gradient blocks). Tolerance 1e-5 relative: float, different sum orders. */

typedef struct {
    double v[2][512];
} omp_sum_t;

static void omp_sum(double *v, int n, void *ctx)
{
    omp_sum_t *s = ctx;
    int t = omp_get_thread_num();
    memcpy(s->v[t], v, (size_t)n * sizeof *v);
#pragma omp barrier
    for (int i = 0; i < n; i++)
        v[i] = s->v[0][i] + s->v[1][i];
#pragma omp barrier
}

static void test_sync_batchnorm(void **state)
{
    (void)state;
    const char *spec = "conv(5,3,pad=1) bn relu avgpool(2) flatten dense(7) bn tanh dense(3)";
    enum { B = 8, IN = 2 * 6 * 6 };
    cnn_net_t *full, *half[2];
    assert_int_equal(cnn_net_create(&full, spec, 2, 6, 6, 3, B), 0);
    const cnn_arch_t *a = cnn_net_arch(full);
    cnn_init_params(a, cnn_params(full), cnn_buffers(full), "xavier_normal", "fan_in", 0, 2);
    float x[B * IN];
    int y[B];
    rng_t r;
    rng_seed(&r, 31);
    for (int i = 0; i < B * IN; i++)
        x[i] = (float)(1 + rng_normal(&r));
    for (int i = 0; i < B; i++)
        y[i] = (int)rng_below(&r, 3);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(cnn_net_create(&half[k], spec, 2, 6, 6, 3, B / 2), 0);
        memcpy(cnn_params(half[k]), cnn_params(full), a->nparams * sizeof(float));
        memcpy(cnn_buffers(half[k]), cnn_buffers(full), a->nbuffers * sizeof(float));
    }
    const float *zf = cnn_forward(full, x, B, 1, NULL);
    float zfull[B * 3];
    memcpy(zfull, zf, sizeof zfull);
    double lfull = cnn_loss_backward(full, y);

    omp_sum_t shared;
    cnn_reducer_t red = {omp_sum, &shared};
    float zhalf[B * 3];
    double lhalf[2];
    int nthreads = 0;
#pragma omp parallel num_threads(2)
    {
        int t = omp_get_thread_num();
#pragma omp single
        nthreads = omp_get_num_threads();
        if (nthreads == 2) {
            cnn_set_reducer(half[t], &red);
            const float *z = cnn_forward(half[t], x + (size_t)t * (B / 2) * IN, B / 2, 1, NULL);
            memcpy(zhalf + t * (B / 2) * 3, z, (B / 2) * 3 * sizeof *z);
            lhalf[t] = cnn_loss_backward(half[t], y + t * (B / 2));
        }
    }
    if (nthreads != 2)
        skip();
    for (int i = 0; i < B * 3; i++)
        assert_close(zhalf[i], zfull[i], 1e-5);
    assert_rel_close((lhalf[0] + lhalf[1]) / 2, lfull, 1e-5, 0);
    const float *g0 = cnn_grads(half[0]), *g1 = cnn_grads(half[1]), *g = cnn_grads(full);
    double gmax = 0, err = 0;
    for (size_t i = 0; i < a->nparams; i++) {
        gmax = fmax(gmax, fabs(g[i]));
        err = fmax(err, fabs((g0[i] + g1[i]) / 2 - g[i]));
    }
    printf("  sync BN over 2 threads: max |mean of halves - full| / max |g| = %.2e\n",
           err / gmax);
    assert_true(err / gmax < 1e-5);
    for (size_t i = 0; i < a->nbuffers; i++) {
        assert_rel_close(cnn_buffers(half[0])[i], cnn_buffers(full)[i], 1e-5, 1e-3);
        assert_true(cnn_buffers(half[0])[i] == cnn_buffers(half[1])[i]);
    }
    /* without the reducer the halves use their own statistics and differ */
    cnn_set_reducer(half[0], NULL);
    const float *z = cnn_forward(half[0], x, B / 2, 1, NULL);
    double d = 0;
    for (int i = 0; i < (B / 2) * 3; i++)
        d = fmax(d, fabs(z[i] - zfull[i]));
    assert_true(d > 1e-3);
    cnn_net_destroy(&full);
    cnn_net_destroy(&half[0]);
    cnn_net_destroy(&half[1]);
}

/* ---------------------------------------------------------------------------------------------
 * Training smoke test: three classes of 8x8 images (a horizontal bar, a vertical bar, a
 * diagonal, each at a random place, plus N(0, 0.3^2) noise). The net must take the loss from
 * ~ln 3 to below a fifth of its first value within 120 steps of batch 16, classify held-out
 * images at >= 90%, and two runs with the same seeds must end with bit-identical weights. */

enum { IMG = 64 };

static void make_images(float *x, int *y, int n, int nclasses, rng_t *r)
{
    for (int i = 0; i < n; i++) {
        float *im = x + (size_t)i * IMG;
        int k = (int)rng_below(r, (uint64_t)nclasses), at = 1 + (int)rng_below(r, 6);
        for (int p = 0; p < IMG; p++)
            im[p] = (float)(0.3 * rng_normal(r));
        for (int j = 0; j < 8; j++) {
            if (k == 0)
                im[at * 8 + j] += 1;
            else if (k == 1)
                im[j * 8 + at] += 1;
            else
                im[j * 8 + (j + at) % 8] += 1;
        }
        y[i] = k;
    }
}

typedef struct {
    double first_loss, last_loss;   /* last: mean over the final 10 steps */
    double accuracy;
} train_result_t;

static train_result_t train_small(const char *spec, const char *opt, double lr, int nclasses,
                                  float *weights_out)
{
    enum { B = 16, STEPS = 120, NTEST = 300 };
    cnn_net_t *net;
    if (cnn_net_create(&net, spec, 1, 8, 8, nclasses, B))
        fail_msg("%s", nn_errmsg());
    const cnn_arch_t *a = cnn_net_arch(net);
    cnn_init_params(a, cnn_params(net), cnn_buffers(net), "kaiming_normal", "fan_in", 0, 42);
    cnn_opt_kind_t kind;
    assert_int_equal(cnn_optim_kind(opt, &kind), 0);
    cnn_optim_t *o = cnn_optim_create(kind, a->nparams, 0.9, 0.9, 0.999, 1e-8, 1e-4);
    float x[B * IMG], xa[B * IMG];
    int y[B];
    train_result_t res = {0, 0, 0};
    rng_t data, drop;
    rng_seed_stream(&data, 42, 0, 1);
    for (int step = 0; step < STEPS; step++) {
        make_images(x, y, B, nclasses, &data);
        rng_seed_stream(&drop, 42, 0, (uint64_t)step);   /* (seed, rank, step) */
        cnn_augment(x, xa, B, 1, 8, 8, 0, 1, &drop);
        assert_non_null(cnn_forward(net, xa, B, 1, &drop));
        double loss = cnn_loss_backward(net, y);
        cnn_optim_step(o, cnn_params(net), cnn_grads(net), lr);
        if (step == 0)
            res.first_loss = loss;
        if (step >= STEPS - 10)
            res.last_loss += loss / 10;
    }
    float *xt = malloc(sizeof(float) * NTEST * IMG);
    int yt[NTEST], correct;
    double loss_sum;
    rng_seed_stream(&data, 42, 0, 2);
    make_images(xt, yt, NTEST, nclasses, &data);
    assert_int_equal(cnn_evaluate(net, xt, yt, NTEST, &loss_sum, &correct), 0);
    res.accuracy = (double)correct / NTEST;
    memcpy(weights_out, cnn_params(net), a->nparams * sizeof(float));
    free(xt);
    cnn_optim_destroy(&o);
    cnn_net_destroy(&net);
    return res;
}

static void check_training(const char *spec, const char *opt, double lr, int nclasses)
{
    cnn_arch_t a;
    assert_int_equal(cnn_arch_parse(spec, 1, 8, 8, &a), 0);
    float *w1 = malloc(a.nparams * sizeof *w1), *w2 = malloc(a.nparams * sizeof *w2);
    train_result_t r1 = train_small(spec, opt, lr, nclasses, w1);
    train_result_t r2 = train_small(spec, opt, lr, nclasses, w2);
    printf("  %s, %s lr %g: loss %.4f -> %.4f (last 10 steps), held-out accuracy %.3f\n", spec,
           opt, lr, r1.first_loss, r1.last_loss, r1.accuracy);
    assert_true(r1.last_loss < r1.first_loss / 5);
    assert_true(r1.accuracy >= 0.9);
    assert_memory_equal(w1, w2, a.nparams * sizeof *w1);   /* bit-identical */
    assert_true(r1.last_loss == r2.last_loss);
    free(w1);
    free(w2);
    cnn_arch_free(&a);
}

static void test_training_softmax(void **state)
{
    (void)state;
    check_training("conv(8,3,pad=1) bn relu maxpool(2) flatten dropout(0.2) dense(3)", "momentum",
                   0.05, 3);
}

static void test_training_bce(void **state)
{
    (void)state;
    check_training("conv(4,3) tanh avgpool(2) flatten dense(1)", "adam", 0.03, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reference_net),
        cmocka_unit_test(test_parse_shapes),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_net_gradient_softmax),
        cmocka_unit_test(test_net_gradient_bce),
        cmocka_unit_test(test_net_gradient_mse),
        cmocka_unit_test(test_eval_mode_and_chunks),
        cmocka_unit_test(test_sync_batchnorm),
        cmocka_unit_test(test_training_softmax),
        cmocka_unit_test(test_training_bce),
    };
    return cmocka_run_group_tests_name("cnn_net", tests, NULL, NULL);
}
