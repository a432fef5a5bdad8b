/* init.c - parameter initialization (Kaiming, Xavier, normal, uniform; biases 0, BN gamma 1 and
 * beta 0) from per-layer random streams, so every rank computes the same values without a
 * broadcast and a layer's values do not depend on the layers before it. */
#include "cnn.h"

#include <math.h>
#include <string.h>

#include "nn_error.h"

int cnn_init_params(const cnn_arch_t *arch, float *params, float *buffers, const char *scheme,
                    const char *mode, double std, uint64_t seed)
{
    enum { KN, KU, XN, XU, NORMAL, UNIFORM } s;
    if (!strcmp(scheme, "kaiming_normal"))
        s = KN;
    else if (!strcmp(scheme, "kaiming_uniform"))
        s = KU;
    else if (!strcmp(scheme, "xavier_normal"))
        s = XN;
    else if (!strcmp(scheme, "xavier_uniform"))
        s = XU;
    else if (!strcmp(scheme, "normal"))
        s = NORMAL;
    else if (!strcmp(scheme, "uniform"))
        s = UNIFORM;
    else
        return nn_fail(NN_ERR_INPUT, "init '%s': expected kaiming_normal, kaiming_uniform, "
                       "xavier_normal, xavier_uniform, normal or uniform", scheme);
    int fan_out;
    if (!strcmp(mode, "fan_in"))
        fan_out = 0;
    else if (!strcmp(mode, "fan_out"))
        fan_out = 1;
    else
        return nn_fail(NN_ERR_INPUT, "init_mode '%s': expected fan_in or fan_out", mode);

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
        const double fan = fan_out ? L->fan_out : L->fan_in;
        const double fsum = (double)L->fan_in + L->fan_out;
        double sd = 0, a = 0;   // normal std, or uniform bound
        switch (s) {
        case KN: sd = sqrt(2.0 / fan); break;           // gain sqrt(2) / sqrt(fan)
        case KU: a = sqrt(6.0 / fan); break;            // gain sqrt(3 / fan)
        case XN: sd = sqrt(2.0 / fsum); break;
        case XU: a = sqrt(6.0 / fsum); break;
        case NORMAL: sd = std; break;
        case UNIFORM: a = std; break;
        }
        rng_t r;
        rng_seed_stream(&r, seed, CNN_INIT_STREAM, (uint64_t)i);
        for (size_t k = 0; k < L->nw; k++)
            w[k] = (float)(a > 0 ? a * (2 * rng_uniform(&r) - 1) : sd * rng_normal(&r));
        memset(b, 0, L->nb * sizeof *b);
    }
    return 0;
}
