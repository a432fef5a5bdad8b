/* image.h - images as float32 (H,W,C) in [0,1] for `nnsweep dream` and the report: reading any
 * PNG (through cairo, which decodes grey, grey+alpha, RGB, RGBA, palette, 8 and 16 bit), writing
 * 8-bit PNG, and bilinear resizing (the octaves of a dream). No network, no files other than the
 * PNG named. */
#ifndef IMAGE_H
#define IMAGE_H

/* An image of h rows, w columns and c channels, row-major (H,W,C): v[(i * w + j) * c + k].
 * Values in [0,1]. Owns v (free with image_free). */
typedef struct {
    int h, w, c;
    float *v;
} image_t;

/* Reads the PNG file path into *out with `channels` channels (1 or 3): 1 is the luma
 * 0.299 R + 0.587 G + 0.114 B (exactly the grey value when R = G = B), 3 is RGB (a grey PNG
 * replicated). Transparent pixels are composited on black: cairo hands over premultiplied ARGB,
 * whose colour values are that composite as they are (alpha a and colour x give a x). 16-bit
 * PNGs are reduced to 8 bits by cairo; values are byte / 255. Returns 0, NN_ERR_INPUT with a
 * message naming path and the fault ("cannot read: ...", "not a PNG file", "truncated or damaged
 * PNG file", channels not 1 or 3) or NN_ERR_NOMEM; *out is zeroed on failure. */
int image_read_png(const char *path, int channels, image_t *out);
/* Writes im as an 8-bit RGB PNG: 3 channels as RGB, any other count its first channel as grey
 * (R = G = B). Values clipped to [0,1] and rounded: byte = round(255 v) (NaN is 0). Returns 0,
 * NN_ERR_INPUT (empty or too large image, over 32767 a side), or NN_ERR_RUNTIME naming path when
 * it cannot be written. */
int image_write_png(const char *path, const image_t *im);
/* The image as bytes round(255 v), clipped as image_write_png does, channel-major for drawing:
 * chw holds 3 planes (R, G, B) when im has 3 channels, else 1 plane of the first channel (the
 * same choice as image_write_png); h w bytes each. */
void image_to_chw8(const image_t *im, unsigned char *chw);
/* Bilinear resize of in to h x w (same channels) into *out, newly allocated, which must not be
 * in. The convention of PyTorch's F.interpolate(mode='bilinear', align_corners=False) (no
 * antialiasing): output pixel i samples the input at s = (i + 0.5) in_h / h - 0.5, clamped below
 * at 0, between rows floor(s) and min(floor(s) + 1, in_h - 1) with weights 1 - (s - floor s) and
 * s - floor s; likewise the columns. Returns 0, NN_ERR_INPUT (sizes below 1) or NN_ERR_NOMEM;
 * *out is zeroed on failure. */
int image_resize(const image_t *in, int h, int w, image_t *out);
/* Frees v and zeroes *im; accepts NULL and an already zeroed image. */
void image_free(image_t *im);

#endif
