/* image.c - PNG in and out through cairo's image surfaces (ARGB32/RGB24, 0xAARRGGBB in native
 * order) and the bilinear resize of the dream's octaves. Converts between cairo's bytes and
 * float (H,W,C) in [0,1]; does no colour management (gamma and ICC chunks are ignored). */
#include "image.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

#define IMAGE_MAX_SIDE 32767   /* cairo's limit for an image surface */

static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* Checks that path can be opened and starts with the PNG signature, so that the usual faults get
 * their own messages before cairo (which reports all of them as a read error) sees the file. */
static int check_signature(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return nn_fail(NN_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
    unsigned char head[8];
    size_t got = fread(head, 1, sizeof head, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err)
        return nn_fail(NN_ERR_INPUT, "%s: cannot read: I/O error", path);
    if (got < sizeof head || memcmp(head, png_signature, sizeof head) != 0)
        return nn_fail(NN_ERR_INPUT, "%s: not a PNG file (%s)", path,
                       got < sizeof head ? "shorter than the 8-byte PNG signature"
                                         : "no PNG signature at its start");
    return NN_OK;
}

static void zero(image_t *im) { memset(im, 0, sizeof *im); }

static int alloc_image(image_t *im, int h, int w, int c)
{
    im->v = malloc((size_t)h * w * c * sizeof(float));
    if (!im->v)
        return nn_fail(NN_ERR_NOMEM, "image of %d x %d x %d", h, w, c);
    im->h = h;
    im->w = w;
    im->c = c;
    return NN_OK;
}

int image_read_png(const char *path, int channels, image_t *out)
{
    zero(out);
    if (channels != 1 && channels != 3)
        return nn_fail(NN_ERR_INPUT, "%s: %d channels asked for: 1 (grey) or 3 (RGB)", path,
                       channels);
    int st = check_signature(path);
    if (st)
        return st;
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    cairo_status_t cs = cairo_surface_status(s);
    if (cs != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        if (cs == CAIRO_STATUS_NO_MEMORY)
            return nn_fail(NN_ERR_NOMEM, "%s: decoding the PNG file", path);
        return nn_fail(NN_ERR_INPUT, "%s: truncated or damaged PNG file (cairo: %s)", path,
                       cairo_status_to_string(cs));
    }
    cairo_surface_flush(s);
    cairo_format_t fmt = cairo_image_surface_get_format(s);
    int h = cairo_image_surface_get_height(s), w = cairo_image_surface_get_width(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    if (fmt != CAIRO_FORMAT_ARGB32 && fmt != CAIRO_FORMAT_RGB24) {   /* cairo 1.16 gives these */
        cairo_surface_destroy(s);
        return nn_fail(NN_ERR_INPUT, "%s: PNG decoded to an unexpected pixel format %d", path,
                       (int)fmt);
    }
    st = h > 0 && w > 0 && data ? alloc_image(out, h, w, channels)
                                : nn_fail(NN_ERR_INPUT, "%s: empty PNG image", path);
    for (int i = 0; !st && i < h; i++) {
        const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)i * stride);
        float *o = out->v + (size_t)i * w * channels;
        for (int j = 0; j < w; j++) {
            /* ARGB32 is premultiplied: r, g, b are already the pixel composited on black. */
            unsigned r = row[j] >> 16 & 255, g = row[j] >> 8 & 255, b = row[j] & 255;
            if (channels == 3) {
                o[3 * j] = r / 255.0f;
                o[3 * j + 1] = g / 255.0f;
                o[3 * j + 2] = b / 255.0f;
            } else if (r == g && g == b) {
                o[j] = r / 255.0f;
            } else {
                o[j] = (float)((0.299 * r + 0.587 * g + 0.114 * b) / 255.0);
            }
        }
    }
    cairo_surface_destroy(s);
    if (st)
        image_free(out);
    return st;
}

/* round(255 v) of v clipped to [0,1]; NaN gives 0. */
static uint32_t to_byte(float v)
{
    if (!(v > 0))
        return 0;
    if (v >= 1)
        return 255;
    return (uint32_t)lrintf(255.0f * v);
}

void image_to_chw8(const image_t *im, unsigned char *chw)
{
    const size_t plane = (size_t)im->h * im->w;
    const int nd = im->c == 3 ? 3 : 1;
    for (size_t q = 0; q < plane; q++)
        for (int d = 0; d < nd; d++)
            chw[d * plane + q] = (unsigned char)to_byte(im->v[q * im->c + d]);
}

int image_write_png(const char *path, const image_t *im)
{
    if (!im || !im->v || im->h < 1 || im->w < 1 || im->c < 1)
        return nn_fail(NN_ERR_INPUT, "%s: no image to write", path);
    if (im->h > IMAGE_MAX_SIDE || im->w > IMAGE_MAX_SIDE)
        return nn_fail(NN_ERR_INPUT, "%s: image of %d x %d pixels: at most %d a side", path,
                       im->h, im->w, IMAGE_MAX_SIDE);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, im->w, im->h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return nn_fail(NN_ERR_NOMEM, "%s: image of %d x %d pixels", path, im->h, im->w);
    }
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int i = 0; i < im->h; i++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)i * stride);
        const float *p = im->v + (size_t)i * im->w * im->c;
        for (int j = 0; j < im->w; j++, p += im->c) {
            uint32_t r = to_byte(p[0]), g = r, b = r;
            if (im->c == 3) {
                g = to_byte(p[1]);
                b = to_byte(p[2]);
            }
            row[j] = r << 16 | g << 8 | b;   /* RGB24: 0x00RRGGBB */
        }
    }
    cairo_surface_mark_dirty(s);
    cairo_status_t cs = cairo_surface_write_to_png(s, path);
    cairo_surface_destroy(s);
    if (cs != CAIRO_STATUS_SUCCESS)
        return nn_fail(NN_ERR_RUNTIME, "%s: cannot write the PNG file: %s", path,
                       cs == CAIRO_STATUS_WRITE_ERROR ? strerror(errno)
                                                      : cairo_status_to_string(cs));
    return NN_OK;
}

/* Source index and weight of output position i along an axis of n_in inputs and n_out outputs
 * (align_corners = False): s = (i + 0.5) n_in / n_out - 0.5, clamped below at 0. */
static void source_pos(int i, int n_in, int n_out, int *i0, int *i1, float *t)
{
    double s = (i + 0.5) * ((double)n_in / n_out) - 0.5;
    if (s < 0)
        s = 0;
    int k = (int)s;
    if (k > n_in - 1)
        k = n_in - 1;
    *i0 = k;
    *i1 = k + 1 < n_in ? k + 1 : n_in - 1;
    *t = (float)(s - k);
}

int image_resize(const image_t *in, int h, int w, image_t *out)
{
    zero(out);
    if (!in || !in->v || in->h < 1 || in->w < 1 || in->c < 1 || h < 1 || w < 1)
        return nn_fail(NN_ERR_INPUT, "image_resize: %d x %d x %d to %d x %d: sizes must be >= 1",
                       in ? in->h : 0, in ? in->w : 0, in ? in->c : 0, h, w);
    int st = alloc_image(out, h, w, in->c);
    if (st)
        return st;
    const int c = in->c;
    for (int i = 0; i < h; i++) {
        int y0, y1;
        float ty;
        source_pos(i, in->h, h, &y0, &y1, &ty);
        const float *r0 = in->v + (size_t)y0 * in->w * c, *r1 = in->v + (size_t)y1 * in->w * c;
        float *o = out->v + (size_t)i * w * c;
        for (int j = 0; j < w; j++) {
            int x0, x1;
            float tx;
            source_pos(j, in->w, w, &x0, &x1, &tx);
            for (int k = 0; k < c; k++) {
                float top = (1 - tx) * r0[x0 * c + k] + tx * r0[x1 * c + k];
                float bot = (1 - tx) * r1[x0 * c + k] + tx * r1[x1 * c + k];
                o[j * c + k] = (1 - ty) * top + ty * bot;
            }
        }
    }
    return NN_OK;
}

void image_free(image_t *im)
{
    if (!im)
        return;
    free(im->v);
    zero(im);
}
