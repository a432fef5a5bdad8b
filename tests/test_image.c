/* test_image.c - image module: PNG round trips (exact at 8 bits), PNGs of every colour type
 * written here by a small independent encoder (zlib + CRC, no cairo) read back and converted
 * (grey <-> RGB, luma, alpha on black, palette, 16 bit), bad files (missing, not PNG, truncated)
 * giving NN_ERR_INPUT with the path, the bytes for drawing, and the bilinear resize against
 * closed forms (it reproduces functions linear in the clamped source coordinate exactly). */
#include "testlib.h"

#include <unistd.h>
#include <zlib.h>

#include "image.h"
#include "nn_error.h"

static char tmpdir[256];

static const char *tmp_path(char *buf, size_t n, const char *name)
{
    if (!tmpdir[0])
        test_tmpdir(tmpdir, sizeof tmpdir);
    snprintf(buf, n, "%s/%s", tmpdir, name);
    return buf;
}

/* ---------- an independent PNG encoder ---------- */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void chunk(FILE *f, const char *type, const unsigned char *body, uint32_t n)
{
    unsigned char head[8];
    put32(head, n);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (n)
        crc = crc32(crc, body, n);
    unsigned char tail[4];
    put32(tail, (uint32_t)crc);
    assert_int_equal(fwrite(head, 1, 8, f), 8);
    if (n)
        assert_int_equal(fwrite(body, 1, n, f), n);
    assert_int_equal(fwrite(tail, 1, 4, f), 4);
}

/* Writes a PNG of w x h pixels, colour type ctype, bit depth depth; rows holds the raw scanlines
 * (bytes per row rowlen, no filter byte: filter 0 is added here); plte/nplte a palette. */
static void write_raw_png(const char *path, int w, int h, int depth, int ctype,
                          const unsigned char *rows, size_t rowlen, const unsigned char *plte,
                          int nplte)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_int_equal(fwrite(sig, 1, 8, f), 8);
    unsigned char ihdr[13];
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = (unsigned char)depth;
    ihdr[9] = (unsigned char)ctype;
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    chunk(f, "IHDR", ihdr, 13);
    if (plte)
        chunk(f, "PLTE", plte, (uint32_t)(3 * nplte));
    size_t rawlen = (size_t)h * (rowlen + 1);
    unsigned char *raw = malloc(rawlen);
    assert_non_null(raw);
    for (int i = 0; i < h; i++) {
        raw[i * (rowlen + 1)] = 0;
        memcpy(raw + i * (rowlen + 1) + 1, rows + i * rowlen, rowlen);
    }
    uLongf zlen = compressBound((uLong)rawlen);
    unsigned char *z = malloc(zlen);
    assert_non_null(z);
    assert_int_equal(compress(z, &zlen, raw, (uLong)rawlen), Z_OK);
    chunk(f, "IDAT", z, (uint32_t)zlen);
    chunk(f, "IEND", NULL, 0);
    assert_int_equal(fclose(f), 0);
    free(raw);
    free(z);
}

static unsigned char byte_at(int i, int j, int k)
{
    return (unsigned char)((i * 53 + j * 29 + k * 97 + 7) & 255);
}

/* ---------- tests ---------- */

/* Values k/255 survive write -> read exactly, in RGB and in grey. */
static void test_roundtrip_exact(void **state)
{
    (void)state;
    char path[512];
    for (int c = 1; c <= 3; c += 2) {
        image_t im = {.h = 7, .w = 5, .c = c}, back;
        im.v = malloc(sizeof(float) * 7 * 5 * c);
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 5; j++)
                for (int k = 0; k < c; k++)
                    im.v[(i * 5 + j) * c + k] = byte_at(i, j, k) / 255.0f;
        tmp_path(path, sizeof path, c == 1 ? "grey.png" : "rgb.png");
        assert_int_equal(image_write_png(path, &im), NN_OK);
        assert_int_equal(image_read_png(path, c, &back), NN_OK);
        assert_int_equal(back.h, 7);
        assert_int_equal(back.w, 5);
        assert_int_equal(back.c, c);
        for (int n = 0; n < 7 * 5 * c; n++)
            if (back.v[n] != im.v[n])
                fail_msg("channels %d: value %d: wrote %.9g, read %.9g", c, n, im.v[n], back.v[n]);
        image_free(&back);
        image_free(&im);
        assert_null(im.v);
    }
}

/* Writing clips to [0,1] and rounds to the nearest byte; a 2-channel image is written as its
 * first channel in grey. */
static void test_write_clips_and_rounds(void **state)
{
    (void)state;
    float v[8] = {-0.5f, 0.9f, 1.7f, 0.2f, 0.5f / 255 + 1e-4f, 0.3f, NAN, 0.0f};
    image_t im = {.h = 1, .w = 4, .c = 2, .v = v}, back;
    char path[512];
    tmp_path(path, sizeof path, "clip.png");
    assert_int_equal(image_write_png(path, &im), NN_OK);
    assert_int_equal(image_read_png(path, 3, &back), NN_OK);
    const float want[4] = {0, 1, 1.0f / 255, 0};
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < 3; k++)
            assert_close(back.v[j * 3 + k], want[j], 1e-7);
    image_free(&back);
}

/* 8-bit grey, read as grey (exact) and as RGB (replicated); an RGB image read as grey is its
 * luma. */
static void test_grey_and_rgb_conversion(void **state)
{
    (void)state;
    char path[512];
    enum { W = 6, H = 4 };
    unsigned char grey[H * W], rgb[H * W * 3];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            grey[i * W + j] = byte_at(i, j, 0);
            for (int k = 0; k < 3; k++)
                rgb[(i * W + j) * 3 + k] = byte_at(i, j, k);
        }
    image_t a, b;
    write_raw_png(tmp_path(path, sizeof path, "g8.png"), W, H, 8, 0, grey, W, NULL, 0);
    assert_int_equal(image_read_png(path, 1, &a), NN_OK);
    assert_int_equal(image_read_png(path, 3, &b), NN_OK);
    assert_int_equal(a.c, 1);
    assert_int_equal(b.c, 3);
    for (int n = 0; n < H * W; n++) {
        assert_true(a.v[n] == grey[n] / 255.0f);
        for (int k = 0; k < 3; k++)
            assert_true(b.v[n * 3 + k] == grey[n] / 255.0f);
    }
    image_free(&a);
    image_free(&b);

    write_raw_png(tmp_path(path, sizeof path, "rgb8.png"), W, H, 8, 2, rgb, W * 3, NULL, 0);
    assert_int_equal(image_read_png(path, 1, &a), NN_OK);
    assert_int_equal(image_read_png(path, 3, &b), NN_OK);
    for (int n = 0; n < H * W; n++) {
        const unsigned char *p = rgb + n * 3;
        assert_close(a.v[n], (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255, 1e-6);
        for (int k = 0; k < 3; k++)
            assert_true(b.v[n * 3 + k] == p[k] / 255.0f);
    }
    image_free(&a);
    image_free(&b);
}

/* RGBA and grey+alpha: opaque pixels as they are, transparent ones black, partly transparent
 * ones composited on black: alpha x / 255, to the nearest byte (tolerance half a byte step plus
 * float rounding). */
static void test_alpha_on_black(void **state)
{
    (void)state;
    char path[512];
    enum { W = 5, H = 3 };
    static const unsigned char alpha[W] = {255, 0, 128, 200, 1};
    unsigned char rgba[H * W * 4], ga[H * W * 2];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            for (int k = 0; k < 3; k++)
                rgba[(i * W + j) * 4 + k] = byte_at(i, j, k);
            rgba[(i * W + j) * 4 + 3] = alpha[j];
            ga[(i * W + j) * 2] = byte_at(i, j, 0);
            ga[(i * W + j) * 2 + 1] = alpha[j];
        }
    image_t im;
    write_raw_png(tmp_path(path, sizeof path, "rgba.png"), W, H, 8, 6, rgba, W * 4, NULL, 0);
    assert_int_equal(image_read_png(path, 3, &im), NN_OK);
    for (int n = 0; n < H * W; n++)
        for (int k = 0; k < 3; k++) {
            double a = rgba[n * 4 + 3], x = rgba[n * 4 + k];
            if (a == 255)
                assert_true(im.v[n * 3 + k] == (float)x / 255.0f);
            else
                assert_close(im.v[n * 3 + k], a * x / 255 / 255, 0.5 / 255 + 1e-6);
        }
    image_free(&im);
    write_raw_png(tmp_path(path, sizeof path, "ga.png"), W, H, 8, 4, ga, W * 2, NULL, 0);
    assert_int_equal(image_read_png(path, 1, &im), NN_OK);
    for (int n = 0; n < H * W; n++)
        assert_close(im.v[n], (double)ga[n * 2 + 1] * ga[n * 2] / 255 / 255, 0.5 / 255 + 1e-6);
    image_free(&im);
}

/* A palette image and a 16-bit grey image (values v * 257, so that any reduction to 8 bits
 * gives v). */
static void test_palette_and_16bit(void **state)
{
    (void)state;
    char path[512];
    enum { W = 4, H = 3 };
    static const unsigned char plte[4 * 3] = {255, 0, 0, 0, 128, 0, 10, 20, 30, 250, 250, 250};
    unsigned char idx[H * W], g16[H * W * 2];
    for (int n = 0; n < H * W; n++) {
        idx[n] = (unsigned char)(n % 4);
        g16[2 * n] = g16[2 * n + 1] = byte_at(n, 0, 1);
    }
    image_t im;
    write_raw_png(tmp_path(path, sizeof path, "plte.png"), W, H, 8, 3, idx, W, plte, 4);
    assert_int_equal(image_read_png(path, 3, &im), NN_OK);
    for (int n = 0; n < H * W; n++)
        for (int k = 0; k < 3; k++)
            assert_true(im.v[n * 3 + k] == plte[idx[n] * 3 + k] / 255.0f);
    image_free(&im);
    write_raw_png(tmp_path(path, sizeof path, "g16.png"), W, H, 16, 0, g16, W * 2, NULL, 0);
    assert_int_equal(image_read_png(path, 1, &im), NN_OK);
    for (int n = 0; n < H * W; n++)
        assert_true(im.v[n] == g16[2 * n] / 255.0f);
    image_free(&im);
}

/* Fails unless the last message names path and contains what. */
static void assert_message(const char *path, const char *what)
{
    const char *m = nn_errmsg();
    if (!strstr(m, path) || !strstr(m, what))
        fail_msg("message '%s' should name '%s' and say '%s'", m, path, what);
}

static void test_bad_files(void **state)
{
    (void)state;
    char path[512], good[512];
    image_t im = {.h = 1};
    assert_int_equal(image_read_png(tmp_path(path, sizeof path, "missing.png"), 3, &im),
                     NN_ERR_INPUT);
    assert_message(path, "cannot read");
    assert_null(im.v);
    assert_int_equal(im.h, 0);

    FILE *f = fopen(tmp_path(path, sizeof path, "text.png"), "w");
    assert_non_null(f);
    fputs("P5 this is not a PNG file at all\n", f);
    fclose(f);
    assert_int_equal(image_read_png(path, 1, &im), NN_ERR_INPUT);
    assert_message(path, "not a PNG file");

    f = fopen(tmp_path(path, sizeof path, "empty.png"), "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(image_read_png(path, 1, &im), NN_ERR_INPUT);
    assert_message(path, "not a PNG file");

    /* A valid PNG cut in the middle of its image data, and one cut after its signature. */
    enum { W = 64, H = 64 };
    unsigned char *rgb = malloc(W * H * 3);
    for (int n = 0; n < W * H * 3; n++)
        rgb[n] = (unsigned char)((n * 2654435761u) >> 24);   /* incompressible */
    write_raw_png(tmp_path(good, sizeof good, "whole.png"), W, H, 8, 2, rgb, W * 3, NULL, 0);
    free(rgb);
    f = fopen(good, "rb");
    assert_non_null(f);
    unsigned char buf[W * H * 3 + 4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(len > 1000);
    size_t cuts[2] = {len / 2, 12};
    for (int c = 0; c < 2; c++) {
        f = fopen(tmp_path(path, sizeof path, c ? "cut12.png" : "half.png"), "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, cuts[c], f), cuts[c]);
        fclose(f);
        assert_int_equal(image_read_png(path, 3, &im), NN_ERR_INPUT);
        assert_message(path, "truncated");
        assert_null(im.v);
    }
    assert_int_equal(image_read_png(good, 2, &im), NN_ERR_INPUT);
    assert_message(good, "channels");
    assert_int_equal(image_read_png(good, 3, &im), NN_OK);
    image_free(&im);
    image_free(&im);   /* twice: harmless */
    image_free(NULL);

    image_t empty = {0};
    assert_int_equal(image_write_png(tmp_path(path, sizeof path, "none.png"), &empty),
                     NN_ERR_INPUT);
    float one = 0.5f;
    image_t px = {.h = 1, .w = 1, .c = 1, .v = &one};
    assert_int_equal(image_write_png("/proc/nnsweep-no/x.png", &px), NN_ERR_RUNTIME);
    assert_message("/proc/nnsweep-no/x.png", "cannot write");
}

/* image_to_chw8: channel-major planes of round(255 v) clipped; 3 channels as R, G, B, any other
 * count its first channel. */
static void test_to_chw8(void **state)
{
    (void)state;
    float v[2 * 3 * 3];
    for (int n = 0; n < 18; n++)
        v[n] = (float)(n * 37 % 19) / 16.0f - 0.1f;   /* some below 0 and above 1 */
    unsigned char chw[19];
    for (int c = 1; c <= 3; c++) {
        image_t im = {.h = 2, .w = 3, .c = c, .v = v};
        memset(chw, 7, sizeof chw);
        image_to_chw8(&im, chw);
        int nd = c == 3 ? 3 : 1;
        for (int d = 0; d < nd; d++)
            for (int q = 0; q < 6; q++) {
                float x = fminf(1, fmaxf(0, v[q * c + d]));
                assert_int_equal(chw[d * 6 + q], (int)lrintf(255.0f * x));   /* as written */
            }
        if (nd == 1)
            assert_int_equal(chw[6], 7);   /* one plane only */
    }
}

/* Identity: every value unchanged. Constant: stays constant. */
static void test_resize_identity_and_constant(void **state)
{
    (void)state;
    image_t in = {.h = 5, .w = 7, .c = 3}, out;
    in.v = malloc(sizeof(float) * 5 * 7 * 3);
    for (int n = 0; n < 5 * 7 * 3; n++)
        in.v[n] = byte_at(n, 1, 2) / 255.0f;
    assert_int_equal(image_resize(&in, 5, 7, &out), NN_OK);
    for (int n = 0; n < 5 * 7 * 3; n++)
        assert_true(out.v[n] == in.v[n]);
    image_free(&out);
    for (int n = 0; n < 5 * 7 * 3; n++)
        in.v[n] = 0.375f;
    static const int sizes[4][2] = {{1, 1}, {3, 11}, {10, 14}, {2, 7}};
    for (int s = 0; s < 4; s++) {
        assert_int_equal(image_resize(&in, sizes[s][0], sizes[s][1], &out), NN_OK);
        assert_int_equal(out.h, sizes[s][0]);
        assert_int_equal(out.w, sizes[s][1]);
        assert_int_equal(out.c, 3);
        for (int n = 0; n < out.h * out.w * 3; n++)
            assert_close(out.v[n], 0.375, 1e-7);
        image_free(&out);
    }
    assert_int_equal(image_resize(&in, 0, 3, &out), NN_ERR_INPUT);
    assert_null(out.v);
    image_free(&in);
}

/* The source coordinate of output i (align_corners = False), clamped to [0, n_in - 1]: a
 * bilinear resize reproduces f = a + b y + c x exactly as f(src_y, src_x). */
static double src_coord(int i, int n_in, int n_out)
{
    double s = (i + 0.5) * n_in / n_out - 0.5;
    return fmin(fmax(s, 0), n_in - 1);
}

/* Linear ramps f = 1 + 0.5 y - 0.25 x (channel 0) and 2 y + x (channel 1) up and down, at whole
 * and fractional ratios; and PyTorch's documented result for [[0,1],[2,3]] to 4x4. Tolerance
 * 1e-5: float arithmetic on values below 40. */
static void test_resize_ramps(void **state)
{
    (void)state;
    static const int cases[][4] = {{4, 6, 8, 12}, {8, 12, 4, 6}, {5, 5, 3, 9}, {7, 3, 2, 10},
                                   {3, 4, 1, 1}, {6, 9, 13, 4}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int ih = cases[t][0], iw = cases[t][1], oh = cases[t][2], ow = cases[t][3];
        image_t in = {.h = ih, .w = iw, .c = 2}, out;
        in.v = malloc(sizeof(float) * ih * iw * 2);
        for (int i = 0; i < ih; i++)
            for (int j = 0; j < iw; j++) {
                in.v[(i * iw + j) * 2] = 1 + 0.5f * i - 0.25f * j;
                in.v[(i * iw + j) * 2 + 1] = 2.0f * i + j;
            }
        assert_int_equal(image_resize(&in, oh, ow, &out), NN_OK);
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                double y = src_coord(i, ih, oh), x = src_coord(j, iw, ow);
                assert_close(out.v[(i * ow + j) * 2], 1 + 0.5 * y - 0.25 * x, 1e-5);
                assert_close(out.v[(i * ow + j) * 2 + 1], 2 * y + x, 1e-5);
            }
        image_free(&in);
        image_free(&out);
    }
    float v[4] = {0, 1, 2, 3};
    image_t in = {.h = 2, .w = 2, .c = 1, .v = v}, out;
    static const float torch[16] = {0.0f, 0.25f, 0.75f, 1.0f, 0.5f, 0.75f, 1.25f, 1.5f,
                                    1.5f, 1.75f, 2.25f, 2.5f, 2.0f, 2.25f, 2.75f, 3.0f};
    assert_int_equal(image_resize(&in, 4, 4, &out), NN_OK);
    for (int n = 0; n < 16; n++)
        assert_close(out.v[n], torch[n], 1e-6);
    image_free(&out);
}

/* A non-linear image: each output is the bilinear formula evaluated here in double from the four
 * neighbours (index arithmetic written out independently). */
static void test_resize_checkerboard(void **state)
{
    (void)state;
    enum { IH = 4, IW = 5, OH = 7, OW = 3 };
    image_t in = {.h = IH, .w = IW, .c = 1}, out;
    in.v = malloc(sizeof(float) * IH * IW);
    for (int n = 0; n < IH * IW; n++)
        in.v[n] = (float)((n / IW + n % IW) % 2) + 0.1f * (float)(n % 3);
    assert_int_equal(image_resize(&in, OH, OW, &out), NN_OK);
    for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++) {
            double y = fmax((i + 0.5) * IH / OH - 0.5, 0), x = fmax((j + 0.5) * IW / OW - 0.5, 0);
            int y0 = (int)floor(y), x0 = (int)floor(x);
            int y1 = y0 + 1 < IH ? y0 + 1 : IH - 1, x1 = x0 + 1 < IW ? x0 + 1 : IW - 1;
            double dy = y - y0, dx = x - x0;
            double want = (1 - dy) * ((1 - dx) * in.v[y0 * IW + x0] + dx * in.v[y0 * IW + x1]) +
                          dy * ((1 - dx) * in.v[y1 * IW + x0] + dx * in.v[y1 * IW + x1]);
            assert_close(out.v[i * OW + j], want, 1e-6);
        }
    image_free(&in);
    image_free(&out);
}

static int cleanup(void **state)
{
    (void)state;
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_exact),
        cmocka_unit_test(test_write_clips_and_rounds),
        cmocka_unit_test(test_grey_and_rgb_conversion),
        cmocka_unit_test(test_alpha_on_black),
        cmocka_unit_test(test_palette_and_16bit),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_to_chw8),
        cmocka_unit_test(test_resize_identity_and_constant),
        cmocka_unit_test(test_resize_ramps),
        cmocka_unit_test(test_resize_checkerboard),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
