/* cnn_f32.c - the float32 build of the layer kernels and the network (the production path):
 * layers_impl.h and net_impl.h with real = float. */
#include "cnn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef float real;
#define F(name) name
#define NET cnn_net
#define NET_T cnn_net_t
#define GEMM cblas_sgemm
#define R_EXP expf
#define R_TANH tanhf

#include "layers_impl.h"
#include "net_impl.h"
