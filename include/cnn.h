/* cnn.h - the numerical core of CNN training: layer spec parsing and shape inference, layer
 * kernels (forward/backward pairs), a network with its parameters in one contiguous block and
 * its gradients in another of the same layout, initialization, optimizers, learning-rate
 * schedules and data augmentation. Plain arrays only: no MPI, no files. Data-parallel code
 * allreduces cnn_grads() and averages or broadcasts cnn_buffers(); synchronized batch norm goes
 * through a caller-supplied sum callback (cnn_reducer_t), so this module never sees MPI.
 *
 * Layout: activations are row-major (B,C,H,W) float32, like PyTorch's NCHW; a flat activation of
 * n values per example is (B,n) and is described as the shape (n,1,1) with out_flat set.
 * Precision: float32 is the production path. The kernels and the network are compiled a second
 * time in double with the suffix _f64 (cnn_conv_forward_f64, cnn_net_f64_t, ...), from the same
 * source, so that gradients can be checked by finite differences in double. */
#ifndef CNN_H
#define CNN_H

#include <stddef.h>
#include <stdint.h>

#include "nn_rng.h"

/* ---------------------------------------------------------------------------------------------
 * Architecture: the layers string parsed into layers with shapes and parameter offsets. */

typedef enum {
    CNN_CONV,       /* conv(C,K[,stride=S][,pad=P])  weight (C,in_c,K,K), bias (C) */
    CNN_MAXPOOL,    /* maxpool(K[,stride=S])         stride defaults to K */
    CNN_AVGPOOL,    /* avgpool(K[,stride=S])         stride defaults to K; no padding */
    CNN_RELU,       /* relu */
    CNN_TANH,       /* tanh */
    CNN_BN,         /* bn: per channel over (B,H,W) on images, per feature over B on flat input;
                       gamma (C), beta (C); buffers running mean (C), running var (C) */
    CNN_DROPOUT,    /* dropout(p), 0 <= p < 1, inverted (kept values scaled by 1/(1-p)) */
    CNN_FLATTEN,    /* flatten: (C,H,W) -> (C*H*W) */
    CNN_DENSE       /* dense(N)                      weight (N,in), bias (N): out = x W^T + b */
} cnn_kind_t;

#define CNN_TEXT_MAX 48
#define CNN_BN_MOMENTUM 0.1   /* running = (1 - m) running + m batch (PyTorch convention) */
#define CNN_BN_EPS 1e-5

typedef struct {
    cnn_kind_t kind;
    int pos;                    /* 1-based position in the layers string */
    char text[CNN_TEXT_MAX];    /* the token as written (truncated), for messages */
    int n;                      /* conv: output channels; dense: units */
    int k, stride, pad;         /* conv and pools: kernel/window, stride, zero padding (conv) */
    double p;                   /* dropout probability */
    int in_c, in_h, in_w;       /* input shape per example; flat input of n values is (n,1,1) */
    int out_c, out_h, out_w;    /* output shape per example */
    int in_flat, out_flat;
    size_t in_size, out_size;   /* values per example */
    size_t w_off, nw;           /* parameters: conv/dense weight, bn gamma (nw = 0: none) */
    size_t b_off, nb;           /* conv/dense bias, bn beta */
    size_t buf_off, nbuf;       /* bn buffers: running mean at buf_off, running var after it */
    int fan_in, fan_out;        /* conv: in_c K K, C K K; dense: in, N (PyTorch's definitions) */
} cnn_layer_t;

typedef struct {
    cnn_layer_t *layers;        /* owned */
    int nlayers;
    int in_c, in_h, in_w;       /* input image shape */
    size_t nparams;             /* floats in the parameter (and gradient) block */
    size_t nbuffers;            /* floats in the buffer block (bn running statistics) */
    size_t max_out_size;        /* largest layer input or output, values per example */
} cnn_arch_t;

/* Parses a layers string such as "conv(32,3,pad=1) bn relu maxpool(2) flatten dense(10)" for
 * input images (c,h,w): tokens separated by spaces (spaces inside parentheses are allowed),
 * shapes inferred layer by layer, parameters laid out in layer order (weight then bias).
 * Returns 0, or NN_ERR_INPUT with a message naming the layer, e.g.
 * "layer 7 dense(10): expects a flat input, got (64,7,7): add flatten", or NN_ERR_NOMEM;
 * on error *arch holds nothing to free. */
int cnn_arch_parse(const char *spec, int c, int h, int w, cnn_arch_t *arch);
/* The same for the first nlayers layers only (nlayers <= 0: all), the rest left unread. */
int cnn_arch_parse_upto(const char *spec, int c, int h, int w, int nlayers, cnn_arch_t *arch);
void cnn_arch_free(cnn_arch_t *arch);
/* Model size in MB (2^20 bytes): parameters and buffers, float32. */
double cnn_arch_mb(const cnn_arch_t *arch);
/* Writes a table (one line per layer: position, text, output shape, parameters) into buf,
 * truncated to len; returns the length it needed (like snprintf). */
int cnn_arch_summary(const cnn_arch_t *arch, char *buf, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Kernels. Shapes come from the layer descriptor L (per example) and the batch size B.
 * Forward functions overwrite their outputs. Backward functions overwrite dx (which may be NULL
 * when the input gradient is not wanted) and ADD into the parameter gradients (dw, db,
 * dgamma, dbeta), so the caller zeroes the gradient block once per batch.
 *
 * cnn_conv_forward     x (B,in_c,in_h,in_w), w (n,in_c,k,k), b (n) -> out (B,n,out_h,out_w).
 *                      im2col per image then one GEMM; col holds cnn_conv_col_size(L) values.
 * cnn_conv_backward    dout -> dx (B,in_c,in_h,in_w), dw += , db += ; col as above.
 * cnn_maxpool_forward  x (B,C,H,W) -> out (B,C,OH,OW); idx (B,C,OH,OW) = position of the max
 *                      inside its input plane (first maximum on ties).
 * cnn_maxpool_backward dx = 0, then dx[plane + idx] += dout (routes to the argmax).
 * cnn_avgpool_*        mean over each K x K window; backward spreads dout/K^2.
 * cnn_relu_*, cnn_tanh_*  n values; backward uses the forward OUTPUT.
 * cnn_dense_forward    x (B,in), w (n,in), b (n) -> out (B,n) = x w^T + b (GEMM).
 * cnn_dense_backward   dx (B,in) = dout w, dw += dout^T x, db += sum_b dout.
 * cnn_dropout_forward  train: mask[i] = 0 with probability p else 1/(1-p), one rng_uniform draw
 *                      per value in order (none when p = 0); out = x mask. Eval (train = 0):
 *                      out = x, no draws, mask untouched.
 * cnn_dropout_backward dx = dout mask.
 * cnn_bn_forward       train: batch mean/variance per channel (biased, accumulated in double),
 *                      saved in mean/invstd (C); running mean/var updated with CNN_BN_MOMENTUM
 *                      and the unbiased variance (count/(count-1)); needs count > 1.
 *                      Eval: running statistics. out = gamma (x - mean) invstd + beta.
 *                      With red != NULL the sums are added over the group first (sync BN);
 *                      work then holds 2C+1 doubles (unused without red, may be NULL).
 * cnn_bn_backward      from the train-mode forward: dx, dgamma += sum dout xhat, dbeta += sum dout
 *                      (local sums; with red the dx terms use the group's sums, work as above).
 * cnn_softmax_ce_forward  logits (B,N), labels in [0,N) -> probs (B,N); returns the mean loss.
 * cnn_softmax_ce_backward dlogits = (probs - onehot(labels)) / B.
 * cnn_bce_forward      one logit per example, labels 0/1 -> probs = sigmoid; returns the mean
 *                      of max(z,0) - z y + log(1 + exp(-|z|)).
 * cnn_bce_backward     dlogits = (probs - y) / B.
 * cnn_mse_forward      outputs (B,N) against float targets (B,N); returns the mean over the
 *                      batch of 1/2 sum_j (z_bj - t_bj)^2 (the squared loss whose gradient flow
 *                      the NNGP/NTK regression on the same targets describes).
 * cnn_mse_backward     dout = (z - t) / B. */

/* Sums n doubles in place over a group of ranks (in the CNN driver: par_sum_doubles). */
typedef struct {
    void (*sum)(double *v, int n, void *ctx);
    void *ctx;
} cnn_reducer_t;

/* Values of the conv im2col workspace for one image: in_c k k out_h out_w. */
size_t cnn_conv_col_size(const cnn_layer_t *L);

#define CNN_DECLARE_KERNELS(real, sfx)                                                            \
    void cnn_conv_forward##sfx(const cnn_layer_t *L, int B, const real *x, const real *w,       \
                               const real *b, real *out, real *col);                            \
    void cnn_conv_backward##sfx(const cnn_layer_t *L, int B, const real *x, const real *w,      \
                                const real *dout, real *dx, real *dw, real *db, real *col);     \
    void cnn_maxpool_forward##sfx(const cnn_layer_t *L, int B, const real *x, real *out,        \
                                  int *idx);                                                    \
    void cnn_maxpool_backward##sfx(const cnn_layer_t *L, int B, const real *dout, const int *idx,\
                                   real *dx);                                                   \
    void cnn_avgpool_forward##sfx(const cnn_layer_t *L, int B, const real *x, real *out);       \
    void cnn_avgpool_backward##sfx(const cnn_layer_t *L, int B, const real *dout, real *dx);    \
    void cnn_relu_forward##sfx(size_t n, const real *x, real *out);                             \
    void cnn_relu_backward##sfx(size_t n, const real *out, const real *dout, real *dx);         \
    void cnn_tanh_forward##sfx(size_t n, const real *x, real *out);                             \
    void cnn_tanh_backward##sfx(size_t n, const real *out, const real *dout, real *dx);         \
    void cnn_dense_forward##sfx(const cnn_layer_t *L, int B, const real *x, const real *w,      \
                                const real *b, real *out);                                      \
    void cnn_dense_backward##sfx(const cnn_layer_t *L, int B, const real *x, const real *w,     \
                                 const real *dout, real *dx, real *dw, real *db);               \
    void cnn_dropout_forward##sfx(size_t n, double p, int train, const real *x, real *out,      \
                                  real *mask, rng_t *rng);                                      \
    void cnn_dropout_backward##sfx(size_t n, const real *mask, const real *dout, real *dx);     \
    void cnn_bn_forward##sfx(const cnn_layer_t *L, int B, int train, const real *x,             \
                             const real *gamma, const real *beta, real *run_mean,               \
                             real *run_var, real *mean, real *invstd, real *out,                \
                             const cnn_reducer_t *red, double *work);                           \
    void cnn_bn_backward##sfx(const cnn_layer_t *L, int B, const real *x, const real *gamma,    \
                              const real *mean, const real *invstd, const real *dout, real *dx, \
                              real *dgamma, real *dbeta, const cnn_reducer_t *red,              \
                              double *work);                                                    \
    double cnn_softmax_ce_forward##sfx(int B, int N, const real *logits, const int *labels,     \
                                       real *probs);                                            \
    void cnn_softmax_ce_backward##sfx(int B, int N, const real *probs, const int *labels,       \
                                      real *dlogits);                                           \
    double cnn_bce_forward##sfx(int B, const real *logits, const int *labels, real *probs);     \
    void cnn_bce_backward##sfx(int B, const real *probs, const int *labels, real *dlogits);    \
    double cnn_mse_forward##sfx(int B, int N, const real *out, const real *targets);            \
    void cnn_mse_backward##sfx(int B, int N, const real *out, const real *targets, real *dout);

CNN_DECLARE_KERNELS(float, )
CNN_DECLARE_KERNELS(double, _f64)

/* ---------------------------------------------------------------------------------------------
 * Network: parameters, gradients, buffers and a workspace for up to max_batch examples, all
 * allocated by cnn_net_create; nothing is allocated by forward/backward.
 *
 * cnn_net_create      parses spec for images (c,h,w) and checks that the net ends in a flat
 *                     output of nclasses logits (softmax cross-entropy), or of one logit when
 *                     nclasses == 2 (binary cross-entropy with logits, labels 0/1). Parameters
 *                     are zero and BN buffers mean 0 / var 1 until cnn_init_params. Returns 0,
 *                     NN_ERR_INPUT (message names the layer) or NN_ERR_NOMEM; *net NULL then.
 * cnn_net_destroy     accepts NULL and sets *net = NULL.
 * cnn_forward         x (B,c,h,w), B <= max_batch -> logits (B,nout), owned by the net and valid
 *                     until the next forward. train = 1: batch statistics in BN (running stats
 *                     updated) and dropout masks drawn from rng (may be NULL without dropout);
 *                     train = 0: running statistics, no dropout. x must stay unchanged until the
 *                     backward pass. NULL (message set) if B is out of range, a train-mode BN
 *                     layer would see a single value per channel, or dropout has no rng.
 * cnn_loss            mean loss of the last forward against labels (class positions).
 * cnn_loss_backward   the same, and overwrites the gradient block with d(mean loss)/d(params).
 *                     Needs a train-mode forward. Returns NAN (message set) on a bad label.
 * cnn_predict         eval-mode forward of n examples in chunks of max_batch; pred[i] is the
 *                     argmax (or logit > 0 for one output).
 * cnn_evaluate        the same with the summed loss and the number of correct predictions.
 * cnn_mse_loss        the squared loss (cnn_mse_forward) of the last forward against float
 *                     targets (B,nout) instead of labels: regression on the NNGP's targets.
 * cnn_mse_loss_backward  the same, and overwrites the gradient block as cnn_loss_backward does.
 * cnn_evaluate_mse    eval-mode forward of n examples in chunks: the summed squared loss against
 *                     targets (n,nout), the number of correct predictions against labels (argmax,
 *                     or output > 0 for one output, as cnn_predict), and with outputs != NULL
 *                     the outputs (n,nout). Returns 0 or NN_ERR_RUNTIME.
 * cnn_set_reducer     BN in train mode then uses the group's statistics (sync BN); NULL: local.
 *                     Every rank of the group must call forward/backward together (the reducer
 *                     is collective) and start from the same buffers: the sums are shifted by
 *                     the running mean, which then stays equal on all ranks.
 * cnn_params/grads/buffers and their counts: the flat blocks, owned by the net. */
typedef struct cnn_net cnn_net_t;
typedef struct cnn_net_f64 cnn_net_f64_t;

#define CNN_DECLARE_NET(real, sfx)                                                                \
    int cnn_net_create##sfx(cnn_net##sfx##_t **net, const char *spec, int c, int h, int w,      \
                            int nclasses, int max_batch);                                       \
    void cnn_net_destroy##sfx(cnn_net##sfx##_t **net);                                          \
    const cnn_arch_t *cnn_net_arch##sfx(const cnn_net##sfx##_t *net);                           \
    int cnn_net_nout##sfx(const cnn_net##sfx##_t *net);                                         \
    const real *cnn_forward##sfx(cnn_net##sfx##_t *net, const real *x, int B, int train,        \
                                 rng_t *rng);                                                   \
    double cnn_loss##sfx(cnn_net##sfx##_t *net, const int *labels);                             \
    double cnn_loss_backward##sfx(cnn_net##sfx##_t *net, const int *labels);                    \
    int cnn_predict##sfx(cnn_net##sfx##_t *net, const real *x, int n, int *pred);               \
    int cnn_evaluate##sfx(cnn_net##sfx##_t *net, const real *x, const int *labels, int n,       \
                          double *loss_sum, int *correct);                                      \
    double cnn_mse_loss##sfx(cnn_net##sfx##_t *net, const real *targets);                       \
    double cnn_mse_loss_backward##sfx(cnn_net##sfx##_t *net, const real *targets);              \
    int cnn_evaluate_mse##sfx(cnn_net##sfx##_t *net, const real *x, const real *targets,        \
                              const int *labels, int n, double *loss_sum, int *correct,         \
                              real *outputs);                                                   \
    void cnn_set_reducer##sfx(cnn_net##sfx##_t *net, const cnn_reducer_t *red);                 \
    real *cnn_params##sfx(cnn_net##sfx##_t *net);                                               \
    real *cnn_grads##sfx(cnn_net##sfx##_t *net);                                                \
    real *cnn_buffers##sfx(cnn_net##sfx##_t *net);                                              \
    size_t cnn_nparams##sfx(const cnn_net##sfx##_t *net);                                       \
    size_t cnn_nbuffers##sfx(const cnn_net##sfx##_t *net);

CNN_DECLARE_NET(float, )
CNN_DECLARE_NET(double, _f64)

/* ---------------------------------------------------------------------------------------------
 * Feature nets (dreams, dream.h): the first nlayers layers of a layers string, none of them
 * dense, for ONE image of any height and width, in inference mode: conv, pools, relu, tanh, bn
 * with its running statistics, dropout as the identity, flatten. The parameters before the first
 * dense layer have the same layout at any image size, so a trained net's blocks serve as they
 * are (only their first arch.nparams / nbuffers values are read).
 *
 * cnn_feat_create     parses spec for (c,h,w) up to nlayers layers (cnn_arch_parse_upto) and
 *                     copies params (nparams available) and buffers. NN_ERR_INPUT (message names
 *                     the layer: a dense layer, an image too small for a window, too few
 *                     parameters) or NN_ERR_NOMEM; *f NULL then.
 * cnn_feat_forward    x (c,h,w) -> every layer's output, kept until the next forward.
 * cnn_feat_output     layer i's output of the last forward (values: *n); flatten: its input's;
 *                     NULL and *n = 0 for i outside 0..nlayers-1.
 * cnn_feat_norm_grad  forward, then objective = sum over sel (layer indices in 0..nlayers-1;
 *                     one given twice counts twice) of the L2 norm ||a_i||_2 of the layer's output, and dx (c,h,w) =
 *                     d objective / dx by backpropagation through every layer. Returns the
 *                     objective (a layer whose output is all zero adds 0 and no gradient). */
typedef struct cnn_feat cnn_feat_t;
typedef struct cnn_feat_f64 cnn_feat_f64_t;

#define CNN_DECLARE_FEAT(real, sfx)                                                               \
    int cnn_feat_create##sfx(cnn_feat##sfx##_t **f, const char *spec, int c, int h, int w,      \
                             int nlayers, const real *params, size_t nparams,                   \
                             const real *buffers, size_t nbuffers);                             \
    void cnn_feat_destroy##sfx(cnn_feat##sfx##_t **f);                                          \
    const cnn_arch_t *cnn_feat_arch##sfx(const cnn_feat##sfx##_t *f);                           \
    void cnn_feat_forward##sfx(cnn_feat##sfx##_t *f, const real *x);                            \
    const real *cnn_feat_output##sfx(const cnn_feat##sfx##_t *f, int i, size_t *n);             \
    double cnn_feat_norm_grad##sfx(cnn_feat##sfx##_t *f, const real *x, const int *sel,         \
                                   int nsel, real *dx);

CNN_DECLARE_FEAT(float, )
CNN_DECLARE_FEAT(double, _f64)

/* ---------------------------------------------------------------------------------------------
 * Initialization (float blocks; a double net can be filled by converting these). */

/* Fills the parameter block of arch: conv/dense weights by scheme, biases 0, BN gamma 1 and
 * beta 0; buffers (may be NULL) running mean 0, running var 1. Schemes:
 *   kaiming_normal  N(0, 2/fan)           kaiming_uniform U(-a, a), a = sqrt(6/fan)
 *   xavier_normal   N(0, 2/(fi+fo))       xavier_uniform  U(-a, a), a = sqrt(6/(fi+fo))
 *   normal          N(0, std^2)           uniform         U(-std, std)
 * with fan = fan_in or fan_out by mode (Kaiming: gain sqrt(2) for ReLU). Layer i draws from
 * rng_seed_stream(seed, CNN_INIT_STREAM, i), so every rank gets the same values.
 * Returns 0, or NN_ERR_INPUT for an unknown scheme or mode. */
#define CNN_INIT_STREAM 0x696e6974u
int cnn_init_params(const cnn_arch_t *arch, float *params, float *buffers, const char *scheme,
                    const char *mode, double std, uint64_t seed);
/* The NNGP prior (scheme "nngp" of a run, cnn_spec_t init_sigma_w2/init_sigma_b2): conv/dense
 * weights N(0, sw2 / fan_in), biases N(0, sb2), so that a fully connected ReLU net's first
 * pre-activations have covariance K^0 = sb2 + sw2 x.x'/N0 (kernel.h) and its readout after L
 * hidden layers K^L as the width grows; BN and buffers as cnn_init_params. Layer i draws its
 * weights, then its biases, from rng_seed_stream(seed, CNN_INIT_STREAM, i). Returns 0, or
 * NN_ERR_INPUT when sw2 <= 0 or sb2 < 0. */
int cnn_init_nngp(const cnn_arch_t *arch, float *params, float *buffers, double sw2, double sb2,
                  uint64_t seed);

/* ---------------------------------------------------------------------------------------------
 * Optimizers on the flat blocks (PyTorch's formulations). g = grad + weight_decay * param
 * (L2 added to the gradient, on every parameter), then
 *   sgd       p -= lr g
 *   momentum  buf = mu buf + g (buf = g at the first step); p -= lr buf
 *   nesterov  buf as momentum; p -= lr (g + mu buf)
 *   adagrad   sum += g^2; p -= lr g / (sqrt(sum) + eps)
 *   adam      m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *             p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps)       (t = 1, 2, ...) */
typedef enum { CNN_SGD, CNN_MOMENTUM, CNN_NESTEROV, CNN_ADAGRAD, CNN_ADAM } cnn_opt_kind_t;

typedef struct {
    cnn_opt_kind_t kind;
    size_t n;                   /* parameters */
    double momentum, beta1, beta2, eps, weight_decay;
    long long t;                /* steps taken */
    float *state;               /* nstate floats, owned: [buf] | [sum] | [m, v] | none (sgd) */
    size_t nstate;              /* 0, n or 2n: what a checkpoint saves, with t */
} cnn_optim_t;

/* "sgd", "momentum", "nesterov", "adagrad", "adam" -> kind; NN_ERR_INPUT otherwise. */
int cnn_optim_kind(const char *name, cnn_opt_kind_t *kind);
/* State zeroed, t = 0. NULL (message set) when out of memory. */
cnn_optim_t *cnn_optim_create(cnn_opt_kind_t kind, size_t n, double momentum, double beta1,
                              double beta2, double eps, double weight_decay);
void cnn_optim_destroy(cnn_optim_t **opt);
/* One step on params (n floats) with grads (n floats) at learning rate lr. */
void cnn_optim_step(cnn_optim_t *opt, float *params, const float *grads, double lr);

/* Learning-rate schedules, evaluated per epoch (epoch = 0, 1, ..., epochs - 1):
 *   none    base
 *   step    base gamma^floor(epoch / step_epochs)
 *   cosine  base (1 + cos(pi epoch / epochs)) / 2        (PyTorch CosineAnnealingLR, eta_min 0) */
typedef enum { CNN_SCHED_NONE, CNN_SCHED_STEP, CNN_SCHED_COSINE } cnn_sched_kind_t;
int cnn_sched_kind(const char *name, cnn_sched_kind_t *kind);
double cnn_lr_at(cnn_sched_kind_t kind, double base, int epoch, int epochs, int step_epochs,
                 double gamma);

/* ---------------------------------------------------------------------------------------------
 * Augmentation: x (B,C,H,W) -> out (same shape, must not alias x). Per image, in this order of
 * draws from rng: with pad > 0 a random crop of the zero-padded image (offsets oy, ox uniform in
 * [0, 2 pad], each one rng_below draw), then with flip a horizontal flip with probability 1/2
 * (one rng_below(2) draw): out[c][i][j] = x[c][i + oy - pad][j' + ox - pad], j' = W-1-j when
 * flipped, 0 outside the image. pad = 0 and flip = 0 copy x. */
void cnn_augment(const float *x, float *out, int B, int C, int H, int W, int pad, int flip,
                 rng_t *rng);

#endif
