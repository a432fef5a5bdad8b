/* optim.c - optimizers on the flat parameter block (PyTorch's update rules, see cnn.h) and
 * learning-rate schedules. The state is one contiguous block so a checkpoint is one array and t.
 * Updates are elementwise in float with double scalars; no allocation after create. */
#include "cnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

int cnn_optim_kind(const char *name, cnn_opt_kind_t *kind)
{
    static const struct {
        const char *name;
        cnn_opt_kind_t kind;
    } names[] = {{"sgd", CNN_SGD}, {"momentum", CNN_MOMENTUM}, {"nesterov", CNN_NESTEROV},
                 {"adagrad", CNN_ADAGRAD}, {"adam", CNN_ADAM}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name && !strcmp(name, names[i].name)) {
            *kind = names[i].kind;
            return 0;
        }
    return nn_fail(NN_ERR_INPUT, "optimizer '%s': expected sgd, momentum, nesterov, adagrad or adam",
                   name ? name : "");
}

cnn_optim_t *cnn_optim_create(cnn_opt_kind_t kind, size_t n, double momentum, double beta1,
                              double beta2, double eps, double weight_decay)
{
    cnn_optim_t *o = calloc(1, sizeof *o);
    if (!o) {
        nn_fail(NN_ERR_NOMEM, "optimizer: out of memory");
        return NULL;
    }
    o->kind = kind;
    o->n = n;
    o->momentum = momentum;
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->weight_decay = weight_decay;
    o->nstate = kind == CNN_SGD ? 0 : kind == CNN_ADAM ? 2 * n : n;
    if (o->nstate) {
        o->state = calloc(o->nstate, sizeof *o->state);
        if (!o->state) {
            nn_fail(NN_ERR_NOMEM, "optimizer: out of memory for %zu state values", o->nstate);
            free(o);
            return NULL;
        }
    }
    return o;
}

void cnn_optim_destroy(cnn_optim_t **opt)
{
    if (!opt || !*opt)
        return;
    free((*opt)->state);
    free(*opt);
    *opt = NULL;
}

void cnn_optim_step(cnn_optim_t *o, float *p, const float *grads, double lr)
{
    const size_t n = o->n;
    const float wd = (float)o->weight_decay, flr = (float)lr, mu = (float)o->momentum;
    const float eps = (float)o->eps;
    o->t++;
    switch (o->kind) {
    case CNN_SGD:
        for (size_t i = 0; i < n; i++)
            p[i] -= flr * (grads[i] + wd * p[i]);
        break;
    case CNN_MOMENTUM:
    case CNN_NESTEROV: {
        float *buf = o->state;
        const int nesterov = o->kind == CNN_NESTEROV;
        for (size_t i = 0; i < n; i++) {
            const float g = grads[i] + wd * p[i];
            buf[i] = o->t == 1 ? g : mu * buf[i] + g;
            p[i] -= flr * (nesterov ? g + mu * buf[i] : buf[i]);
        }
        break;
    }
    case CNN_ADAGRAD: {
        float *sum = o->state;
        for (size_t i = 0; i < n; i++) {
            const float g = grads[i] + wd * p[i];
            sum[i] += g * g;
            p[i] -= flr * g / (sqrtf(sum[i]) + eps);
        }
        break;
    }
    case CNN_ADAM: {
        float *m = o->state, *v = o->state + n;
        const float b1 = (float)o->beta1, b2 = (float)o->beta2;
        const double bc1 = 1 - pow(o->beta1, (double)o->t), bc2 = 1 - pow(o->beta2, (double)o->t);
        const float step = (float)(lr / bc1), rsq = (float)(1 / sqrt(bc2));
        for (size_t i = 0; i < n; i++) {
            const float g = grads[i] + wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            p[i] -= step * m[i] / (sqrtf(v[i]) * rsq + eps);
        }
        break;
    }
    }
}

int cnn_sched_kind(const char *name, cnn_sched_kind_t *kind)
{
    if (name && !strcmp(name, "none"))
        *kind = CNN_SCHED_NONE;
    else if (name && !strcmp(name, "step"))
        *kind = CNN_SCHED_STEP;
    else if (name && !strcmp(name, "cosine"))
        *kind = CNN_SCHED_COSINE;
    else
        return nn_fail(NN_ERR_INPUT, "schedule '%s': expected none, step or cosine",
                       name ? name : "");
    return 0;
}

double cnn_lr_at(cnn_sched_kind_t kind, double base, int epoch, int epochs, int step_epochs,
                 double gamma)
{
    switch (kind) {
    case CNN_SCHED_STEP:
        return step_epochs > 0 ? base * pow(gamma, epoch / step_epochs) : base;
    case CNN_SCHED_COSINE:
        return epochs > 0 ? base * 0.5 * (1 + cos(M_PI * epoch / epochs)) : base;
    case CNN_SCHED_NONE:
        break;
    }
    return base;
}
