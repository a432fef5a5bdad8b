/* feat_impl.h - the feature nets of cnn.h (dreams): one image of any size through the layers
 * before the first dense one, in inference mode, and the input gradient of a sum of activation
 * norms. Written once for `real` and compiled twice like net_impl.h (whose alloc_zero it uses);
 * the includer also defines FEAT (the struct tag) and FEAT_T (its typedef). */

struct FEAT {
    cnn_arch_t arch;
    real *params, *buffers;     /* copies of the trained blocks' first arch.nparams / nbuffers */
    real *acts;                 /* every non-flatten layer's output, one after the other */
    real **out;                 /* per layer: its output (flatten: its input's) */
    int *idx;                   /* maxpool argmax, per maxpool layer */
    int **pool_idx;             /* per layer: its part of idx (maxpool only) */
    real *col;                  /* im2col workspace of the widest conv */
    real *dbuf[2];              /* ping-pong gradients, arch.max_out_size each */
    const real *x;              /* input of the last forward */
};

void F(cnn_feat_destroy)(FEAT_T **pf)
{
    if (!pf || !*pf)
        return;
    FEAT_T *f = *pf;
    free(f->params);
    free(f->buffers);
    free(f->acts);
    free(f->out);
    free(f->idx);
    free(f->pool_idx);
    free(f->col);
    free(f->dbuf[0]);
    free(f->dbuf[1]);
    cnn_arch_free(&f->arch);
    free(f);
    *pf = NULL;
}

int F(cnn_feat_create)(FEAT_T **pf, const char *spec, int c, int h, int w, int nlayers,
                       const real *params, size_t nparams, const real *buffers, size_t nbuffers)
{
    *pf = NULL;
    FEAT_T *f = calloc(1, sizeof *f);
    if (!f)
        return nn_fail(NN_ERR_NOMEM, "cnn: out of memory");
    int rc = cnn_arch_parse_upto(spec, c, h, w, nlayers, &f->arch);
    if (rc) {
        free(f);
        return rc;
    }
    const cnn_arch_t *A = &f->arch;
    size_t nacts = 0, nidx = 0, ncol = 1;
    for (int i = 0; i < A->nlayers && !rc; i++) {
        const cnn_layer_t *L = &A->layers[i];
        if (L->kind == CNN_DENSE)
            rc = nn_fail(NN_ERR_INPUT, "layer %d %s: a dense layer has no image to dream on: "
                         "choose a layer before the first dense one", L->pos, L->text);
        if (L->kind != CNN_FLATTEN)
            nacts += L->out_size;
        if (L->kind == CNN_MAXPOOL)
            nidx += L->out_size;
        if (L->kind == CNN_CONV && cnn_conv_col_size(L) > ncol)
            ncol = cnn_conv_col_size(L);
    }
    if (!rc && (A->nparams > nparams || A->nbuffers > nbuffers))
        rc = nn_fail(NN_ERR_INPUT, "layers: %zu parameters and %zu buffer values needed, the "
                     "model has %zu and %zu", A->nparams, A->nbuffers, nparams, nbuffers);
    if (rc) {
        F(cnn_feat_destroy)(&f);
        return rc;
    }
    f->params = alloc_zero(A->nparams, sizeof(real));
    f->buffers = alloc_zero(A->nbuffers, sizeof(real));
    f->acts = alloc_zero(nacts, sizeof(real));
    f->out = calloc((size_t)A->nlayers, sizeof *f->out);
    f->idx = alloc_zero(nidx, sizeof(int));
    f->pool_idx = calloc((size_t)A->nlayers, sizeof *f->pool_idx);
    f->col = alloc_zero(ncol, sizeof(real));
    f->dbuf[0] = alloc_zero(A->max_out_size, sizeof(real));
    f->dbuf[1] = alloc_zero(A->max_out_size, sizeof(real));
    if (!f->params || !f->buffers || !f->acts || !f->out || !f->idx || !f->pool_idx || !f->col
        || !f->dbuf[0] || !f->dbuf[1]) {
        F(cnn_feat_destroy)(&f);
        return nn_fail(NN_ERR_NOMEM, "cnn: out of memory for the activations of a %dx%d image",
                       h, w);
    }
    memcpy(f->params, params, A->nparams * sizeof *f->params);
    if (A->nbuffers)
        memcpy(f->buffers, buffers, A->nbuffers * sizeof *f->buffers);
    real *pa = f->acts;
    int *pi = f->idx;
    for (int i = 0; i < A->nlayers; i++) {
        const cnn_layer_t *L = &A->layers[i];
        if (L->kind == CNN_FLATTEN) {
            f->out[i] = i > 0 ? f->out[i - 1] : NULL;   /* NULL: the input itself */
            continue;
        }
        f->out[i] = pa;
        pa += L->out_size;
        if (L->kind == CNN_MAXPOOL) {
            f->pool_idx[i] = pi;
            pi += L->out_size;
        }
    }
    *pf = f;
    return 0;
}

const cnn_arch_t *F(cnn_feat_arch)(const FEAT_T *f) { return &f->arch; }

/* Layer i's input in the last forward. */
static const real *feat_in(const FEAT_T *f, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (f->out[j])
            return f->out[j];
    return f->x;
}

void F(cnn_feat_forward)(FEAT_T *f, const real *x)
{
    const cnn_arch_t *A = &f->arch;
    const real *P = f->params;
    f->x = x;
    for (int i = 0; i < A->nlayers; i++) {
        const cnn_layer_t *L = &A->layers[i];
        const real *in = feat_in(f, i);
        real *out = f->out[i];
        switch (L->kind) {
        case CNN_CONV:
            F(cnn_conv_forward)(L, 1, in, P + L->w_off, P + L->b_off, out, f->col);
            break;
        case CNN_MAXPOOL:
            F(cnn_maxpool_forward)(L, 1, in, out, f->pool_idx[i]);
            break;
        case CNN_AVGPOOL:
            F(cnn_avgpool_forward)(L, 1, in, out);
            break;
        case CNN_RELU:
            F(cnn_relu_forward)(L->out_size, in, out);
            break;
        case CNN_TANH:
            F(cnn_tanh_forward)(L->out_size, in, out);
            break;
        case CNN_BN: {
            real *run = f->buffers + L->buf_off;   /* running mean (C), running var (C) */
            F(cnn_bn_forward)(L, 1, 0, in, P + L->w_off, P + L->b_off, run, run + L->in_c, NULL,
                              NULL, out, NULL, NULL);
            break;
        }
        case CNN_DROPOUT:   /* inference: the identity */
            memcpy(out, in, L->out_size * sizeof *out);
            break;
        case CNN_FLATTEN:
        case CNN_DENSE:   /* refused by create */
            break;
        }
    }
}

const real *F(cnn_feat_output)(const FEAT_T *f, int i, size_t *n)
{
    if (i < 0 || i >= f->arch.nlayers) {
        *n = 0;
        return NULL;
    }
    *n = f->arch.layers[i].out_size;
    return f->out[i] ? f->out[i] : f->x;
}

/* dx (layer i's input) from d (its output) in inference mode; dx and d do not alias. */
static void feat_backward_layer(const FEAT_T *f, int i, const real *d, real *dx)
{
    const cnn_layer_t *L = &f->arch.layers[i];
    const real *P = f->params;
    switch (L->kind) {
    case CNN_CONV:
        F(cnn_conv_backward)(L, 1, feat_in(f, i), P + L->w_off, d, dx, NULL, NULL, f->col);
        break;
    case CNN_MAXPOOL:
        F(cnn_maxpool_backward)(L, 1, d, f->pool_idx[i], dx);
        break;
    case CNN_AVGPOOL:
        F(cnn_avgpool_backward)(L, 1, d, dx);
        break;
    case CNN_RELU:
        F(cnn_relu_backward)(L->out_size, f->out[i], d, dx);
        break;
    case CNN_TANH:
        F(cnn_tanh_backward)(L->out_size, f->out[i], d, dx);
        break;
    case CNN_BN: {   /* out = gamma (x - mean) / sqrt(var + eps) + beta, running statistics */
        const real *var = f->buffers + L->buf_off + L->in_c, *gamma = P + L->w_off;
        const size_t HW = (size_t)L->in_h * L->in_w;
        for (int c = 0; c < L->in_c; c++) {
            const real k = (real)(gamma[c] / sqrt((double)var[c] + CNN_BN_EPS));
            for (size_t j = 0; j < HW; j++)
                dx[c * HW + j] = k * d[c * HW + j];
        }
        break;
    }
    case CNN_DROPOUT:
    case CNN_FLATTEN:
    case CNN_DENSE:
        memcpy(dx, d, L->in_size * sizeof *dx);
        break;
    }
}

double F(cnn_feat_norm_grad)(FEAT_T *f, const real *x, const int *sel, int nsel, real *dx)
{
    const cnn_arch_t *A = &f->arch;
    F(cnn_feat_forward)(f, x);
    int deepest = -1;
    for (int k = 0; k < nsel; k++)
        if (sel[k] > deepest)
            deepest = sel[k];
    const size_t nin = (size_t)A->in_c * A->in_h * A->in_w;
    memset(dx, 0, nin * sizeof *dx);
    if (deepest < 0)
        return 0;
    real *d = f->dbuf[0], *other = f->dbuf[1];
    memset(d, 0, A->layers[deepest].out_size * sizeof *d);
    double objective = 0;
    for (int i = deepest; i >= 0; i--) {
        for (int k = 0; k < nsel; k++) {
            if (sel[k] != i)
                continue;
            size_t n;
            const real *a = F(cnn_feat_output)(f, i, &n);
            double s = 0;
            for (size_t j = 0; j < n; j++)
                s += (double)a[j] * a[j];
            if (s > 0) {   /* d ||a|| / da = a / ||a|| */
                const double norm = sqrt(s);
                objective += norm;
                for (size_t j = 0; j < n; j++)
                    d[j] += (real)(a[j] / norm);
            }
        }
        if (A->layers[i].kind == CNN_FLATTEN && i > 0)
            continue;   /* same values, same layout */
        real *to = i > 0 ? other : dx;
        feat_backward_layer(f, i, d, to);
        other = d;
        d = to;
    }
    return objective;
}
