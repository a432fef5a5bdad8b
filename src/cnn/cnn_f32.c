/* cnn_f32.c - the float32 build of the layer kernels and the network (the production path):
 * layers_impl.h, net_impl.h and feat_impl.h with real = float. */
#include "cnn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef float real;
#define F(name) name
#define NET cnn_net
#define NET_T cnn_net_t
#define FEAT cnn_feat
#define FEAT_T cnn_feat_t
#define GEMM cblas_sgemm
#define R_EXP expf
#define R_TANH tanhf

#include "layers_impl.h"
#include "net_impl.h"
#include "feat_impl.h"
