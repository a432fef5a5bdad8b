/* init.c - parameter initialization (Kaiming, Xavier, normal, uniform, and the NNGP prior with
 * random biases; otherwise biases 0, BN gamma 1 and beta 0) from per-layer random streams, so
 * every rank computes the same values without a broadcast and a layer's values do not depend on
 * the layers before it. */
#include "cnn.h"

#include <math.h>
#include <string.h>

#include "nn_error.h"

/* How one conv/dense layer is drawn: weights N(0, sd^2) when a = 0, else U(-a, a); biases
 * N(0, bias_sd^2) (drawn after the weights, from the same stream) or 0. */
typedef struct {
    double sd, a, bias_sd;
} layer_draw_t;

/* The weights' law of layer L under scheme s (from cnn_init_params) with fans by mode. */
typedef layer_draw_t (*draw_rule_t)(const cnn_layer_t *L, const void *how);

/* Fills every layer of arch: conv/dense by rule, BN gamma 1 and beta 0, buffers (may be NULL)
 * running mean 0 and running var 1. */
static void init_layers(const cnn_arch_t *arch, float *params, float *buffers, draw_rule_t rule,
                        const void *how, uint64_t seed)
{
    for (int i = 0; i < arch->nlayers; i++) {
        const cnn_layer_t *L = &arch->layers[i];
        float *w = params + L->w_off, *b = params + L->b_off;
        if (L->kind == CNN_BN) {
            for (size_t k = 0; k < L->nw; k++)
                w[k] = 1;
            memset(b, 0, L->nb * sizeof *b);
            if (buffers) {
                memset(buffers + L->buf_off, 0, L->nbuf / 2 * sizeof *buffers);
                for (size_t k = L->nbuf / 2; k < L->nbuf; k++)
                    buffers[L->buf_off + k] = 1;
            }
            continue;
        }
        if (L->kind != CNN_CONV && L->kind != CNN_DENSE)
            continue;
        const layer_draw_t d = rule(L, how);
        rng_t r;
        rng_seed_stream(&r, seed, CNN_INIT_STREAM, (uint64_t)i);
        for (size_t k = 0; k < L->nw; k++)
            w[k] = (float)(d.a > 0 ? d.a * (2 * rng_uniform(&r) - 1) : d.sd * rng_normal(&r));
        for (size_t k = 0; k < L->nb; k++)
            b[k] = d.bias_sd > 0 ? (float)(d.bias_sd * rng_normal(&r)) : 0.0f;
    }
}

typedef struct {
    enum { KN, KU, XN, XU, NORMAL, UNIFORM } s;
    int fan_out;
    double std;
} scheme_t;

static layer_draw_t scheme_rule(const cnn_layer_t *L, const void *how)
{
    const scheme_t *h = how;
    const double fan = h->fan_out ? L->fan_out : L->fan_in;
    const double fsum = (double)L->fan_in + L->fan_out;
    layer_draw_t d = {0, 0, 0};
    switch (h->s) {
    case KN: d.sd = sqrt(2.0 / fan); break;           // gain sqrt(2) / sqrt(fan)
    case KU: d.a = sqrt(6.0 / fan); break;            // gain sqrt(3 / fan)
    case XN: d.sd = sqrt(2.0 / fsum); break;
    case XU: d.a = sqrt(6.0 / fsum); break;
    case NORMAL: d.sd = h->std; break;
    case UNIFORM: d.a = h->std; break;
    }
    return d;
}

int cnn_init_params(const cnn_arch_t *arch, float *params, float *buffers, const char *scheme,
                    const char *mode, double std, uint64_t seed)
{
    static const char *const names[] = {"kaiming_normal", "kaiming_uniform", "xavier_normal",
                                        "xavier_uniform", "normal", "uniform"};
    scheme_t h = {.std = std};
    size_t k = 0;
    while (k < sizeof names / sizeof names[0] && strcmp(scheme, names[k]))
        k++;
    if (k == sizeof names / sizeof names[0])
        return nn_fail(NN_ERR_INPUT, "init '%s': expected kaiming_normal, kaiming_uniform, "
                       "xavier_normal, xavier_uniform, normal or uniform", scheme);
    h.s = (int)k;   /* names are listed in the enum's order */
    if (!strcmp(mode, "fan_in"))
        h.fan_out = 0;
    else if (!strcmp(mode, "fan_out"))
        h.fan_out = 1;
    else
        return nn_fail(NN_ERR_INPUT, "init_mode '%s': expected fan_in or fan_out", mode);
    init_layers(arch, params, buffers, scheme_rule, &h, seed);
    return 0;
}

/* The NNGP prior: weights N(0, sw2 / fan_in), biases N(0, sb2); how = {sw2, sb2}. */
static layer_draw_t nngp_rule(const cnn_layer_t *L, const void *how)
{
    const double *v = how;
    return (layer_draw_t){.sd = sqrt(v[0] / L->fan_in), .a = 0, .bias_sd = sqrt(v[1])};
}

int cnn_init_nngp(const cnn_arch_t *arch, float *params, float *buffers, double sw2, double sb2,
                  uint64_t seed)
{
    if (!(sw2 > 0) || !(sb2 >= 0))
        return nn_fail(NN_ERR_INPUT, "init nngp: sigma_w2 %g must be > 0 and sigma_b2 %g >= 0",
                       sw2, sb2);
    const double v[2] = {sw2, sb2};
    init_layers(arch, params, buffers, nngp_rule, v, seed);
    return 0;
}
