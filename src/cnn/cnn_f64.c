/* cnn_f64.c - the double build of the layer kernels and the network, for finite-difference
 * gradient checks: layers_impl.h, net_impl.h and feat_impl.h with real = double and the suffix _f64. */
#include "cnn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef double real;
#define F(name) name##_f64
#define NET cnn_net_f64
#define NET_T cnn_net_f64_t
#define FEAT cnn_feat_f64
#define FEAT_T cnn_feat_f64_t
#define GEMM cblas_dgemm
#define R_EXP exp
#define R_TANH tanh

#include "layers_impl.h"
#include "net_impl.h"
#include "feat_impl.h"
