/* feat_probe.c - what tests/test_vgg.sh compares with PyTorch: a model file's feature net
 * (dream_model_load, cnn_feat_*) run on one raw image. Not a test itself (make test builds it and
 * the script runs it); it checks nothing, it only prints nnsweep's numbers.
 *
 * usage: feat_probe MODEL.h5 IMAGE.f32 H W LAYERS OUT.f32
 *   IMAGE.f32  float32 (C,H,W) in the network's input space (already normalised)
 *   LAYERS     comma-separated 0-based layer indices, e.g. 3,4,5,20
 *   OUT.f32    float32: each listed layer's activations after cnn_feat_forward, in the order
 *              given, then the input gradient (C,H,W) of cnn_feat_norm_grad over all of them
 *              as one set. Prints the objective and each layer's size.
 * Exit status 0, 2 bad input (message on stderr), 1 runtime failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "dream.h"
#include "nn_error.h"

#define MAX_SEL 64

/* Reads exactly n floats from path into a new array; NULL with a message otherwise. */
static float *read_f32(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "feat_probe: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    float *x = malloc(n * sizeof *x + 1);
    size_t got = x ? fread(x, sizeof *x, n, f) : 0;
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (!x || got != n || extra) {
        fprintf(stderr, "feat_probe: %s: expected exactly %zu float32 values\n", path, n);
        free(x);
        return NULL;
    }
    return x;
}

/* Parses "3,4,20" into sel (at most MAX_SEL); returns the count, or -1. */
static int parse_layers(const char *s, int *sel)
{
    int n = 0;
    while (*s && n < MAX_SEL) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || v < 0 || v > 100000 || (*end && *end != ','))
            return -1;
        sel[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return *s ? -1 : n;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: feat_probe MODEL.h5 IMAGE.f32 H W LAYERS OUT.f32\n");
        return 2;
    }
    int h = atoi(argv[3]), w = atoi(argv[4]), sel[MAX_SEL];
    int nsel = parse_layers(argv[5], sel);
    if (h <= 0 || w <= 0 || nsel <= 0) {
        fprintf(stderr, "feat_probe: bad H, W or LAYERS\n");
        return 2;
    }
    int deepest = 0;
    for (int i = 0; i < nsel; i++)
        deepest = sel[i] > deepest ? sel[i] : deepest;

    dream_model_t m;
    int rc = dream_model_load(argv[1], NULL, &m);
    if (rc) {
        fprintf(stderr, "feat_probe: %s\n", nn_errmsg());
        return nn_exit_status(rc);
    }
    size_t npix = (size_t)m.in_c * h * w;
    float *x = read_f32(argv[2], npix);
    float *dx = malloc(npix * sizeof *dx);
    cnn_feat_t *f = NULL;
    FILE *out = NULL;
    int status = 2;
    if (!x || !dx)
        goto done;
    rc = cnn_feat_create(&f, m.layers, m.in_c, h, w, deepest + 1, m.params, m.nparams, m.buffers,
                         m.nbuffers);
    if (rc) {
        fprintf(stderr, "feat_probe: %s\n", nn_errmsg());
        status = nn_exit_status(rc);
        goto done;
    }
    int nlayers = cnn_feat_arch(f)->nlayers;
    if (deepest >= nlayers) {
        fprintf(stderr, "feat_probe: layer %d: the model has %d layers (0..%d)\n", deepest,
                nlayers, nlayers - 1);
        goto done;
    }
    status = 1;
    if (!(out = fopen(argv[6], "wb"))) {
        fprintf(stderr, "feat_probe: %s: %s\n", argv[6], strerror(errno));
        goto done;
    }
    cnn_feat_forward(f, x);
    for (int i = 0; i < nsel; i++) {
        size_t n;
        const float *a = cnn_feat_output(f, sel[i], &n);
        printf("layer %d: %zu values\n", sel[i], n);
        if (fwrite(a, sizeof *a, n, out) != n)
            goto done;
    }
    double obj = cnn_feat_norm_grad(f, x, sel, nsel, dx);
    printf("objective %.9g\n", obj);
    if (fwrite(dx, sizeof *dx, npix, out) != npix)
        goto done;
    status = 0;
done:
    if (out && fclose(out) != 0)
        status = 1;
    if (status == 1 && out)
        fprintf(stderr, "feat_probe: %s: write failed\n", argv[6]);
    cnn_feat_destroy(&f);
    dream_model_free(&m);
    free(x);
    free(dx);
    return status;
}
