/* dream.h - what `nnsweep dream` dreams with: a model (the layers before the first dense layer of
 * a trained CNN, or a converted torchvision VGG), and the dream itself: gradient ascent on the
 * input image that maximises the L2 norms of chosen layers' activations. The numerical part (the
 * network on an image of any size, eval mode, and its input gradient) is cnn_feat_* in cnn.h;
 * images are float32 (H,W,C) in pixel space [0,1] (image.h); the model maps them to its input
 * space (p - mean[c]) / std[c]. No MPI here. */
#ifndef DREAM_H
#define DREAM_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"

#define DREAM_MAX_CHANNELS 4
#define DREAM_MAX_SETS 64      /* layer sets of a job */
#define DREAM_MAX_IN_SET 16    /* layers joined by + in one set */
#define DREAM_NAME_MAX 256

/* A model file (written by scripts/torchvision_to_nnsweep.py) is an HDF5 file with
 *   root attributes  program = "nnsweep", experiment = "model", arch (e.g. "vgg11_bn"),
 *                    layers (an nnsweep layers string: conv, bn, relu, maxpool, ...),
 *                    in_channels (int)
 *   /model/weights     float32 (nparams): the flat parameter block in nnsweep's layer order
 *                      (conv weight (n,in_c,k,k) then bias; bn gamma then beta)
 *   /model/bn_buffers  float32 (nbuffers): bn running mean then running var per bn layer (only
 *                      when the net has bn layers)
 *   /model/input_mean, /model/input_std  float64 (in_channels): pixel [0,1] -> input
 * A CNN results file of `nnsweep cnn` serves as a model too: /cnn/<run>/weights, bn_buffers and
 * layers; channels from its job's dataset; preprocess scale01 (mean 0, std 1). */
typedef struct {
    char *layers;                       /* the layers string as trained (owned) */
    int in_c;                           /* input channels */
    int train_h, train_w;               /* the image size it was trained on (0: unknown) */
    float *params, *buffers;            /* owned */
    size_t nparams, nbuffers;
    double mean[DREAM_MAX_CHANNELS], std[DREAM_MAX_CHANNELS];
    cnn_arch_t arch;                    /* the whole net on its training size (224 x 224 for
                                           a model file): the layer listing, owned */
    int nfeatures;                      /* layers before the first dense one (dreamable) */
    char source[DREAM_NAME_MAX];        /* "FILE" or "FILE run NAME", for messages and output */
} dream_model_t;

/* Reads a model from path: a model file, or a CNN results file (run names one of its runs; may
 * be NULL or "" when it holds one). Returns 0, or NN_ERR_INPUT with a message naming the file
 * (not a model, unknown run, sizes that do not match the layers, preprocess other than scale01)
 * or NN_ERR_NOMEM; *m holds nothing to free then. */
int dream_model_load(const char *path, const char *run, dream_model_t *m);
void dream_model_free(dream_model_t *m);

/* The name of layer i (0-based) of arch as the layer listing shows it: its kind and its
 * ordinal among layers of that kind, e.g. "conv1", "bn2", "relu3", "maxpool1", "avgpool1",
 * "tanh1", "dropout1", "flatten1", "dense1". Into buf (len bytes). */
void dream_layer_name(const cnn_arch_t *arch, int i, char *buf, size_t len);
/* The layer a user names: a position "3" (1-based, as in the layer listing) or a name as above.
 * Returns its index (0-based), or -1. */
int dream_layer_find(const cnn_arch_t *arch, const char *name);

#endif
