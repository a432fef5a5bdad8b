/* net_impl.h - the network of cnn.h (workspace, forward through the layer list, loss, backward
 * into the flat gradient block), written once for `real` and compiled twice like
 * layers_impl.h; the includer also defines NET (the struct tag) and NET_T (its typedef).
 * All memory is allocated in create; forward and backward only use it. */

#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

/* Per-layer views into the workspace. */
typedef struct {
    const real *in;       /* input of the last forward (the net input, or the previous output) */
    real *out;            /* output (B, out_size); flatten aliases its input and owns none */
    real *mask;           /* dropout: 0 or 1/(1-p) per value */
    int *idx;             /* maxpool: argmax inside the input plane */
    real *mean, *invstd;  /* bn: batch statistics of the last train-mode forward */
} lws_t;

struct NET {
    cnn_arch_t arch;
    int nclasses, nout, max_batch;
    int batch, train;              /* of the last forward; batch 0 = none yet */
    real *params, *grads;          /* nparams each, same layout */
    real *buffers;                 /* nbuffers: bn running mean and var */
    real *acts, *masks, *bnsave, *col, *probs, *dbuf[2];
    int *idx;
    double *bnwork;                /* 2 C + 1 for the widest bn layer (sync BN sums) */
    lws_t *ws;
    cnn_reducer_t red;
    int has_red;
};

/* n values, 64-byte aligned, zeroed; NULL on failure. */
static void *alloc_zero(size_t n, size_t size)
{
    size_t bytes = n * size;
    bytes = (bytes + 63) / 64 * 64;
    if (bytes == 0)
        bytes = 64;
    void *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void F(cnn_net_destroy)(NET_T **pnet)
{
    if (!pnet || !*pnet)
        return;
    NET_T *net = *pnet;
    free(net->params);
    free(net->grads);
    free(net->buffers);
    free(net->acts);
    free(net->masks);
    free(net->bnsave);
    free(net->col);
    free(net->probs);
    free(net->dbuf[0]);
    free(net->dbuf[1]);
    free(net->idx);
    free(net->bnwork);
    free(net->ws);
    cnn_arch_free(&net->arch);
    free(net);
    *pnet = NULL;
}

int F(cnn_net_create)(NET_T **out, const char *spec, int c, int h, int w, int nclasses,
                      int max_batch)
{
    *out = NULL;
    if (nclasses < 2)
        return nn_fail(NN_ERR_INPUT, "cnn: %d classes: a classifier needs at least 2", nclasses);
    if (max_batch < 1)
        return nn_fail(NN_ERR_INPUT, "cnn: batch size %d: must be at least 1", max_batch);
    NET_T *net = calloc(1, sizeof *net);
    if (!net)
        return nn_fail(NN_ERR_NOMEM, "cnn: out of memory");
    int rc = cnn_arch_parse(spec, c, h, w, &net->arch);
    if (rc) {
        free(net);
        return rc;
    }
    const cnn_arch_t *A = &net->arch;
    const cnn_layer_t *last = &A->layers[A->nlayers - 1];
    if (!last->out_flat) {
        rc = nn_fail(NN_ERR_INPUT, "layer %d %s: the net must end with a flat output of %d logits: "
                     "add flatten and dense(%d)", last->pos, last->text, nclasses, nclasses);
    } else if (last->out_size != (size_t)nclasses && !(last->out_size == 1 && nclasses == 2)) {
        rc = nn_fail(NN_ERR_INPUT, "layer %d %s: the net ends with %zu outputs but the data has %d "
                     "classes: end with dense(%d)%s", last->pos, last->text, last->out_size,
                     nclasses, nclasses, nclasses == 2 ? " or dense(1)" : "");
    }
    if (rc) {
        F(cnn_net_destroy)(&net);
        return rc;
    }
    net->nclasses = nclasses;
    net->nout = (int)last->out_size;
    net->max_batch = max_batch;

    const size_t Bm = (size_t)max_batch;
    size_t nacts = 0, nmasks = 0, nidx = 0, nbn = 0, ncol = 1, maxc = 0;
    for (int i = 0; i < A->nlayers; i++) {
        const cnn_layer_t *L = &A->layers[i];
        if (L->kind != CNN_FLATTEN)
            nacts += Bm * L->out_size;
        if (L->kind == CNN_DROPOUT)
            nmasks += Bm * L->out_size;
        if (L->kind == CNN_MAXPOOL)
            nidx += Bm * L->out_size;
        if (L->kind == CNN_BN) {
            nbn += 2 * (size_t)L->in_c;
            if ((size_t)L->in_c > maxc)
                maxc = (size_t)L->in_c;
        }
        if (L->kind == CNN_CONV && cnn_conv_col_size(L) > ncol)
            ncol = cnn_conv_col_size(L);
    }
    net->params = alloc_zero(A->nparams, sizeof(real));
    net->grads = alloc_zero(A->nparams, sizeof(real));
    net->buffers = alloc_zero(A->nbuffers, sizeof(real));
    net->acts = alloc_zero(nacts, sizeof(real));
    net->masks = alloc_zero(nmasks, sizeof(real));
    net->bnsave = alloc_zero(nbn, sizeof(real));
    net->col = alloc_zero(ncol, sizeof(real));
    net->probs = alloc_zero(Bm * (size_t)net->nout, sizeof(real));
    net->dbuf[0] = alloc_zero(Bm * A->max_out_size, sizeof(real));
    net->dbuf[1] = alloc_zero(Bm * A->max_out_size, sizeof(real));
    net->idx = alloc_zero(nidx, sizeof(int));
    net->bnwork = alloc_zero(2 * maxc + 1, sizeof(double));
    net->ws = calloc((size_t)A->nlayers, sizeof *net->ws);
    if (!net->params || !net->grads || !net->buffers || !net->acts || !net->masks
        || !net->bnsave || !net->col || !net->probs || !net->dbuf[0] || !net->dbuf[1]
        || !net->idx || !net->bnwork || !net->ws) {
        F(cnn_net_destroy)(&net);
        return nn_fail(NN_ERR_NOMEM, "cnn: out of memory for a net of %zu parameters at batch %d",
                       A->nparams, max_batch);
    }
    real *pa = net->acts, *pm = net->masks, *ps = net->bnsave;
    int *pi = net->idx;
    for (int i = 0; i < A->nlayers; i++) {
        const cnn_layer_t *L = &A->layers[i];
        lws_t *ws = &net->ws[i];
        if (L->kind != CNN_FLATTEN) {
            ws->out = pa;
            pa += Bm * L->out_size;
        }
        if (L->kind == CNN_DROPOUT) {
            ws->mask = pm;
            pm += Bm * L->out_size;
        }
        if (L->kind == CNN_MAXPOOL) {
            ws->idx = pi;
            pi += Bm * L->out_size;
        }
        if (L->kind == CNN_BN) {
            ws->mean = ps;
            ws->invstd = ps + L->in_c;
            ps += 2 * (size_t)L->in_c;
            for (int k = 0; k < L->in_c; k++)   // running var starts at 1
                net->buffers[L->buf_off + L->in_c + k] = 1;
        }
    }
    *out = net;
    return 0;
}

const cnn_arch_t *F(cnn_net_arch)(const NET_T *net) { return &net->arch; }
int F(cnn_net_nout)(const NET_T *net) { return net->nout; }
real *F(cnn_params)(NET_T *net) { return net->params; }
real *F(cnn_grads)(NET_T *net) { return net->grads; }
real *F(cnn_buffers)(NET_T *net) { return net->buffers; }
size_t F(cnn_nparams)(const NET_T *net) { return net->arch.nparams; }
size_t F(cnn_nbuffers)(const NET_T *net) { return net->arch.nbuffers; }

void F(cnn_set_reducer)(NET_T *net, const cnn_reducer_t *red)
{
    net->has_red = red != NULL;
    if (red)
        net->red = *red;
}

/* logits (B,nout) of x (B,c,h,w), layer by layer; each layer reads its input (ws.in) and writes
 * ws.out, except flatten, whose output is its input. */
const real *F(cnn_forward)(NET_T *net, const real *x, int B, int train, rng_t *rng)
{
    const cnn_arch_t *A = &net->arch;
    net->batch = 0;
    if (B < 1 || B > net->max_batch) {
        nn_fail(NN_ERR_RUNTIME, "cnn_forward: batch of %d outside 1..%d", B, net->max_batch);
        return NULL;
    }
    for (int i = 0; i < A->nlayers && train; i++) {
        const cnn_layer_t *L = &A->layers[i];
        if (L->kind == CNN_BN && !net->has_red && (size_t)B * L->in_h * L->in_w < 2) {
            nn_fail(NN_ERR_RUNTIME, "layer %d %s: training needs more than one value per channel "
                    "(batch of %d, %dx%d)", L->pos, L->text, B, L->in_h, L->in_w);
            return NULL;
        }
        if (L->kind == CNN_DROPOUT && L->p > 0 && !rng) {
            nn_fail(NN_ERR_RUNTIME, "layer %d %s: training needs a random stream", L->pos,
                    L->text);
            return NULL;
        }
    }
    const cnn_reducer_t *red = net->has_red ? &net->red : NULL;
    const real *in = x;
    real *P = net->params;
    for (int i = 0; i < A->nlayers; i++) {
        const cnn_layer_t *L = &A->layers[i];
        lws_t *ws = &net->ws[i];
        real *out = ws->out;
        const size_t n = (size_t)B * L->out_size;
        ws->in = in;
        switch (L->kind) {
        case CNN_CONV:   // out (B,n,OH,OW)
            F(cnn_conv_forward)(L, B, in, P + L->w_off, P + L->b_off, out, net->col);
            break;
        case CNN_MAXPOOL:   // out (B,C,OH,OW)
            F(cnn_maxpool_forward)(L, B, in, out, ws->idx);
            break;
        case CNN_AVGPOOL:
            F(cnn_avgpool_forward)(L, B, in, out);
            break;
        case CNN_RELU:
            F(cnn_relu_forward)(n, in, out);
            break;
        case CNN_TANH:
            F(cnn_tanh_forward)(n, in, out);
            break;
        case CNN_BN: {
            real *run = net->buffers + L->buf_off;   // running mean (C), running var (C)
            F(cnn_bn_forward)(L, B, train, in, P + L->w_off, P + L->b_off, run, run + L->in_c,
                              ws->mean, ws->invstd, out, red, net->bnwork);
            break;
        }
        case CNN_DROPOUT:
            F(cnn_dropout_forward)(n, L->p, train, in, out, ws->mask, rng);
            break;
        case CNN_FLATTEN:   // (B,C,H,W) and (B,C*H*W) are the same memory
            continue;
        case CNN_DENSE:   // out (B,n)
            F(cnn_dense_forward)(L, B, in, P + L->w_off, P + L->b_off, out);
            break;
        }
        in = out;
    }
    net->batch = B;
    net->train = train;
    return in;
}

static const real *logits_of(const NET_T *net)
{
    const cnn_arch_t *A = &net->arch;
    for (int i = A->nlayers - 1; i >= 0; i--)
        if (A->layers[i].kind != CNN_FLATTEN)
            return net->ws[i].out;
    return net->ws[0].in;   // only flatten layers: the logits are the input itself
}

double F(cnn_loss)(NET_T *net, const int *labels)
{
    const int B = net->batch, nl = net->nout == 1 ? 2 : net->nout;
    if (B == 0) {
        nn_fail(NN_ERR_RUNTIME, "cnn_loss: no forward pass to take the loss of");
        return NAN;
    }
    for (int ib = 0; ib < B; ib++)
        if (labels[ib] < 0 || labels[ib] >= nl) {
            nn_fail(NN_ERR_INPUT, "cnn_loss: label %d of example %d is outside 0..%d", labels[ib],
                    ib, nl - 1);
            return NAN;
        }
    if (net->nout == 1)
        return F(cnn_bce_forward)(B, logits_of(net), labels, net->probs);
    return F(cnn_softmax_ce_forward)(B, net->nout, logits_of(net), labels, net->probs);
}

/* NaN (message set) unless the last forward was in train mode: backward needs its caches. */
static double backward_ready(const NET_T *net, const char *who)
{
    if (net->batch && !net->train) {
        nn_fail(NN_ERR_RUNTIME, "%s: the last forward was in eval mode", who);
        return NAN;
    }
    return 0;
}

/* Backward from dlogits (in dbuf[0]) to the parameters, through ping-pong gradient buffers:
 * layer i reads dout from one and writes dx into the other; the first layer computes no dx.
 * Overwrites the gradient block. */
static void backward_layers(NET_T *net)
{
    const cnn_arch_t *A = &net->arch;
    const int B = net->batch;
    const cnn_reducer_t *red = net->has_red ? &net->red : NULL;
    real *P = net->params, *G = net->grads;
    real *d = net->dbuf[0], *other = net->dbuf[1];
    memset(G, 0, A->nparams * sizeof *G);
    for (int i = A->nlayers - 1; i >= 0; i--) {
        const cnn_layer_t *L = &A->layers[i];
        const lws_t *ws = &net->ws[i];
        real *dx = i > 0 ? other : NULL;
        const size_t n = (size_t)B * L->in_size;
        switch (L->kind) {
        case CNN_CONV:
            F(cnn_conv_backward)(L, B, ws->in, P + L->w_off, d, dx, G + L->w_off, G + L->b_off,
                                 net->col);
            break;
        case CNN_MAXPOOL:
            if (dx)
                F(cnn_maxpool_backward)(L, B, d, ws->idx, dx);
            break;
        case CNN_AVGPOOL:
            if (dx)
                F(cnn_avgpool_backward)(L, B, d, dx);
            break;
        case CNN_RELU:
            if (dx)
                F(cnn_relu_backward)(n, ws->out, d, dx);
            break;
        case CNN_TANH:
            if (dx)
                F(cnn_tanh_backward)(n, ws->out, d, dx);
            break;
        case CNN_BN:
            F(cnn_bn_backward)(L, B, ws->in, P + L->w_off, ws->mean, ws->invstd, d, dx,
                               G + L->w_off, G + L->b_off, red, net->bnwork);
            break;
        case CNN_DROPOUT:
            if (dx)
                F(cnn_dropout_backward)(n, ws->mask, d, dx);
            break;
        case CNN_FLATTEN:
            continue;
        case CNN_DENSE:
            F(cnn_dense_backward)(L, B, ws->in, P + L->w_off, d, dx, G + L->w_off, G + L->b_off);
            break;
        }
        if (dx) {
            other = d;
            d = dx;
        }
    }
}

double F(cnn_loss_backward)(NET_T *net, const int *labels)
{
    double loss = backward_ready(net, "cnn_loss_backward");
    if (!isnan(loss))
        loss = F(cnn_loss)(net, labels);
    if (isnan(loss))
        return loss;
    if (net->nout == 1)
        F(cnn_bce_backward)(net->batch, net->probs, labels, net->dbuf[0]);
    else
        F(cnn_softmax_ce_backward)(net->batch, net->nout, net->probs, labels, net->dbuf[0]);
    backward_layers(net);
    return loss;
}

double F(cnn_mse_loss)(NET_T *net, const real *targets)
{
    if (net->batch == 0) {
        nn_fail(NN_ERR_RUNTIME, "cnn_mse_loss: no forward pass to take the loss of");
        return NAN;
    }
    return F(cnn_mse_forward)(net->batch, net->nout, logits_of(net), targets);
}

double F(cnn_mse_loss_backward)(NET_T *net, const real *targets)
{
    double loss = backward_ready(net, "cnn_mse_loss_backward");
    if (!isnan(loss))
        loss = F(cnn_mse_loss)(net, targets);
    if (isnan(loss))
        return loss;
    F(cnn_mse_backward)(net->batch, net->nout, logits_of(net), targets, net->dbuf[0]);
    backward_layers(net);
    return loss;
}

/* Eval-mode forward over n examples in chunks of max_batch; per chunk pred, the loss (against
 * targets (n,nout) when given, else labels), the correct predictions against labels, and the
 * outputs (n,nout); every output argument may be NULL. */
typedef struct {
    const int *labels;
    const real *targets;
    int *pred;
    double *loss_sum;
    int *correct;
    real *outputs;
} eval_out_t;

static int eval_chunks(NET_T *net, const real *x, int n, const eval_out_t *o)
{
    const size_t in_size = (size_t)net->arch.in_c * net->arch.in_h * net->arch.in_w;
    const int nout = net->nout;
    if (o->loss_sum)
        *o->loss_sum = 0;
    if (o->correct)
        *o->correct = 0;
    for (int start = 0; start < n; start += net->max_batch) {
        const int B = n - start < net->max_batch ? n - start : net->max_batch;
        const real *z = F(cnn_forward)(net, x + (size_t)start * in_size, B, 0, NULL);
        if (!z)
            return NN_ERR_RUNTIME;
        if (o->outputs)
            memcpy(o->outputs + (size_t)start * nout, z, (size_t)B * nout * sizeof *z);
        if (o->loss_sum) {
            double l = o->targets ? F(cnn_mse_loss)(net, o->targets + (size_t)start * nout)
                                  : F(cnn_loss)(net, o->labels + start);
            if (isnan(l))
                return NN_ERR_INPUT;
            *o->loss_sum += l * B;
        }
        for (int ib = 0; ib < B; ib++) {
            const real *zb = z + (size_t)ib * nout;
            int best = 0;
            if (nout == 1)
                best = zb[0] > 0;
            else
                for (int j = 1; j < nout; j++)
                    if (zb[j] > zb[best])
                        best = j;
            if (o->pred)
                o->pred[start + ib] = best;
            if (o->correct)
                *o->correct += best == o->labels[start + ib];
        }
    }
    return 0;
}

int F(cnn_predict)(NET_T *net, const real *x, int n, int *pred)
{
    return eval_chunks(net, x, n, &(eval_out_t){.pred = pred});
}

int F(cnn_evaluate)(NET_T *net, const real *x, const int *labels, int n, double *loss_sum,
                    int *correct)
{
    return eval_chunks(net, x, n, &(eval_out_t){.labels = labels, .loss_sum = loss_sum,
                                                .correct = correct});
}

int F(cnn_evaluate_mse)(NET_T *net, const real *x, const real *targets, const int *labels, int n,
                        double *loss_sum, int *correct, real *outputs)
{
    return eval_chunks(net, x, n, &(eval_out_t){.labels = labels, .targets = targets,
                                                .loss_sum = loss_sum, .correct = correct,
                                                .outputs = outputs});
}
