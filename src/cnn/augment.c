/* augment.c - training-time augmentation of a batch: random crop of the zero-padded image and
 * horizontal flip, per image from an rng stream (see cnn.h for the order of draws). Writes a
 * separate output batch; never allocates. */
#include "cnn.h"

#include <string.h>

void cnn_augment(const float *x, float *out, int B, int C, int H, int W, int pad, int flip,
                 rng_t *rng)
{
    const size_t HW = (size_t)H * W, CHW = (size_t)C * HW;
    for (int ib = 0; ib < B; ib++) {
        const float *xb = x + ib * CHW;
        float *ob = out + ib * CHW;
        int oy = 0, ox = 0, f = 0;   // offsets into the padded image, flip
        if (pad > 0) {
            oy = (int)rng_below(rng, 2 * (uint64_t)pad + 1) - pad;
            ox = (int)rng_below(rng, 2 * (uint64_t)pad + 1) - pad;
        }
        if (flip)
            f = (int)rng_below(rng, 2);
        if (!oy && !ox && !f) {
            memcpy(ob, xb, CHW * sizeof *ob);
            continue;
        }
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++) {
                float *orow = ob + c * HW + (size_t)i * W;
                const int si = i + oy;
                if (si < 0 || si >= H) {
                    memset(orow, 0, (size_t)W * sizeof *orow);
                    continue;
                }
                const float *srow = xb + c * HW + (size_t)si * W;
                for (int j = 0; j < W; j++) {
                    const int sj = (f ? W - 1 - j : j) + ox;
                    orow[j] = sj >= 0 && sj < W ? srow[sj] : 0;
                }
            }
    }
}
