/* dream_sweep.c - a dream job ([dream], `nnsweep dream`): gradient ascent on an image that
 * maximises the sum of the L2 norms of a layer set's activations (cnn_feat_norm_grad), for every
 * layer set and step count of the job, items handed out by par_schedule.
 *
 * One step at step t (1-based) of octave o: the image (pixel space [0,1]) rolled by a random
 * (dy, dx) in [-jitter, jitter]^2 (drawn from the stream (seed, set, o, t), so a dream does not
 * depend on which rank runs it), mapped to the net's input ((p - mean) / std), the objective
 * and its input gradient, the gradient rolled back and taken to pixel space (/ std), divided by
 * its mean absolute value, a step of learning_rate, clipped to [0,1]. Octaves (coarse to fine):
 * octave o runs on the image resized to the size / octave_scale^(octaves-1-o), and its result is
 * resized up for the next one.
 *
 * Items: with one octave, the dream of a set after N steps is the first N steps of a longer one,
 * so an item is a layer set, run to the largest step count and recorded at every count of the
 * list on its way (a list costs its largest entry); with octaves, a (set, steps) pair. The
 * results file holds every finished (set, steps) pair and is rewritten after every item. */
#include "sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cnn.h"
#include "dream.h"
#include "h5io.h"
#include "image.h"
#include "nn_error.h"
#include "nn_log.h"
#include "nn_rng.h"
#include "nn_timer.h"
#include "par.h"
#include "provenance.h"
#include "sweep_common.h"

#define DREAM_STREAM 0x6472656du   /* "drem": the jitter's random streams */

typedef struct {
    char name[DREAM_NAME_MAX];       /* canonical: layer names joined by + */
    int layer[DREAM_MAX_IN_SET];     /* 0-based indices */
    int n;
    int deepest;                     /* the largest of them: the feature net goes that far */
} layer_set_t;

typedef struct {
    const job_t *job;
    const char *out_path, *command_line;
    dream_model_t model;
    image_t input;                   /* pixel space (H,W,C) */
    char *layer_listing;             /* names of the dreamable layers, for messages */
    layer_set_t set[DREAM_MAX_SETS];
    int nsets, nsteps, octaves;
    int steps[64];                   /* ascending */
    size_t hwc, result_bytes;
    float *image;                    /* [set][k][hwc] of finished pairs */
    double *objective;               /* [set][k][steps[k] * octaves] */
    size_t *obj_off;                 /* offset of pair k within a set's objectives; [nsteps+1] */
    unsigned char *pair_done;        /* [set][k] */
    char start_time[32], *hostnames;
    double t_start;
} dream_state_t;

/* ---- setting up ---- */

/* The job's image in pixel space: a PNG, a test image of the data, or noise. */
static int load_image(dream_state_t *s, const dataset_t *ds)
{
    const dream_spec_t *d = &s->job->dream;
    const int C = s->model.in_c;
    if (strncmp(d->image, "test:", 5) == 0) {
        const int i = atoi(d->image + 5);
        if (ds->channels != C)
            return nn_fail(NN_ERR_INPUT, "%s: image %s has %d channels, the model %d",
                           s->job->path, d->image, ds->channels, C);
        image_t *im = &s->input;
        im->h = ds->rows, im->w = ds->cols, im->c = C;
        im->v = malloc((size_t)im->h * im->w * C * sizeof *im->v);
        if (!im->v)
            return nn_fail(NN_ERR_NOMEM, "out of memory for the image");
        const unsigned char *px = ds->test.pixels + (size_t)i * ds->dim;   /* (C,H,W) bytes */
        for (int c = 0; c < C; c++)
            for (int y = 0; y < im->h; y++)
                for (int x = 0; x < im->w; x++)
                    im->v[((size_t)y * im->w + x) * C + c] =
                        px[((size_t)c * im->h + y) * im->w + x] / 255.0f;
        return NN_OK;
    }
    if (strcmp(d->image, "noise") == 0) {   /* uniform in [0.4, 0.6]: grey with a little noise */
        image_t *im = &s->input;
        im->h = d->height ? d->height : s->model.arch.in_h;   /* the model's training size */
        im->w = d->width ? d->width : s->model.arch.in_w;
        im->c = C;
        im->v = malloc((size_t)im->h * im->w * C * sizeof *im->v);
        if (!im->v)
            return nn_fail(NN_ERR_NOMEM, "out of memory for the image");
        rng_t r;
        rng_seed_stream(&r, (uint64_t)d->seed, DREAM_STREAM, 0xffffffffu);
        for (size_t j = 0; j < (size_t)im->h * im->w * C; j++)
            im->v[j] = (float)(0.4 + 0.2 * rng_uniform(&r));
        return NN_OK;
    }
    int st = image_read_png(d->image, C, &s->input);
    if (st) {
        char why[1024];
        snprintf(why, sizeof why, "%s", nn_errmsg());
        return nn_fail(st, "%s:%d: image: %s", s->job->path, job_key_line(s->job, "dream",
                                                                              "image"), why);
    }
    return NN_OK;
}

/* Splits the layers key into sets of layers the model has before its first dense layer. */
static int parse_sets(dream_state_t *s)
{
    const job_t *job = s->job;
    const int line = job_key_line(job, "dream", "layers");
    const cnn_arch_t *a = &s->model.arch;   /* the whole net: layers past the first dense too */
    int st = NN_OK;
    const size_t cap = 64 + 16 * (size_t)s->model.nfeatures;
    s->layer_listing = malloc(cap);
    if (!s->layer_listing)
        return nn_fail(NN_ERR_NOMEM, "out of memory");
    s->layer_listing[0] = '\0';
    for (int i = 0; i < s->model.nfeatures; i++) {
        char nm[32];
        dream_layer_name(a, i, nm, sizeof nm);
        snprintf(s->layer_listing + strlen(s->layer_listing), cap - strlen(s->layer_listing),
                 "%s%d %s", i ? ", " : "", i + 1, nm);
    }
    char text[sizeof job->dream.layers];
    snprintf(text, sizeof text, "%s", job->dream.layers);
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok && !st;
         tok = strtok_r(NULL, ",", &save)) {
        if (s->nsets == DREAM_MAX_SETS) {
            st = nn_fail(NN_ERR_INPUT, "%s:%d: layers: more than %d layer sets", job->path, line,
                         DREAM_MAX_SETS);
            break;
        }
        layer_set_t *set = &s->set[s->nsets++];
        for (char *save2 = NULL, *nm = strtok_r(tok, "+", &save2); nm && !st;
             nm = strtok_r(NULL, "+", &save2)) {
            while (*nm == ' ' || *nm == '\t')
                nm++;
            for (char *e = nm + strlen(nm); e > nm && (e[-1] == ' ' || e[-1] == '\t');)
                *--e = '\0';
            const int i = dream_layer_find(a, nm);
            if (i < 0)
                st = nn_fail(NN_ERR_INPUT, "%s:%d: layers: unknown layer '%s' (the model's "
                             "layers before its first dense one: %s)", job->path, line, nm,
                             s->layer_listing);
            else if (i >= s->model.nfeatures)
                st = nn_fail(NN_ERR_INPUT, "%s:%d: layers: '%s' (layer %d %s) comes after the "
                             "first dense layer: dreams need an image-shaped layer (%s)",
                             job->path, line, nm, i + 1, a->layers[i].text, s->layer_listing);
            else if (set->n == DREAM_MAX_IN_SET)
                st = nn_fail(NN_ERR_INPUT, "%s:%d: layers: more than %d layers in one set",
                             job->path, line, DREAM_MAX_IN_SET);
            if (st)
                break;
            char own[32];
            dream_layer_name(a, i, own, sizeof own);
            snprintf(set->name + strlen(set->name), sizeof set->name - strlen(set->name), "%s%s",
                     set->n ? "+" : "", own);
            set->layer[set->n++] = i;
            if (i > set->deepest)
                set->deepest = i;
        }
        if (!st && set->n == 0)
            st = nn_fail(NN_ERR_INPUT, "%s:%d: layers: an empty layer set", job->path, line);
    }
    return st;
}

/* The size of octave o (0 = the coarsest) of the job's image. */
static void octave_size(const dream_state_t *s, int o, int *h, int *w)
{
    const double f = pow(s->job->dream.octave_scale, s->octaves - 1 - o);
    *h = (int)lround(s->input.h / f);
    *w = (int)lround(s->input.w / f);
    *h = *h < 1 ? 1 : *h;
    *w = *w < 1 ? 1 : *w;
}

/* Every layer set's layers take the coarsest octave's image (windows fit), so no item fails
 * half-way for want of pixels. */
static int check_octave_sizes(const dream_state_t *s)
{
    int deepest = 0, h, w;
    for (int i = 0; i < s->nsets; i++)
        if (s->set[i].deepest > deepest)
            deepest = s->set[i].deepest;
    octave_size(s, 0, &h, &w);
    cnn_arch_t a;
    int st = cnn_arch_parse_upto(s->model.layers, s->model.in_c, h, w, deepest + 1, &a);
    if (st) {
        char why[1024];
        snprintf(why, sizeof why, "%s", nn_errmsg());
        return nn_fail(st, "%s: the image (%dx%d%s) is too small for the layers dreamed on: %s",
                       s->job->path, h, w, s->octaves > 1 ? ", its coarsest octave" : "", why);
    }
    cnn_arch_free(&a);
    return NN_OK;
}

static int setup(dream_state_t *s, const dataset_t *ds)
{
    const dream_spec_t *d = &s->job->dream;
    s->octaves = d->octaves;
    int st = dream_model_load(d->model, d->run, &s->model);
    if (!st) st = load_image(s, ds);
    if (!st) st = parse_sets(s);
    if (st)
        return st;
    s->nsteps = d->steps.n < 64 ? d->steps.n : 64;
    for (int k = 0; k < s->nsteps; k++)
        s->steps[k] = (int)d->steps.v[k];
    st = check_octave_sizes(s);
    if (st)
        return st;
    s->hwc = (size_t)s->input.h * s->input.w * s->input.c;
    s->obj_off = calloc((size_t)s->nsteps + 1, sizeof *s->obj_off);
    if (!s->obj_off)
        return nn_fail(NN_ERR_NOMEM, "out of memory");
    for (int k = 0; k < s->nsteps; k++)
        s->obj_off[k + 1] = s->obj_off[k] + (size_t)s->steps[k] * s->octaves;
    const size_t npairs = (size_t)s->nsets * s->nsteps;
    s->image = calloc(npairs * s->hwc, sizeof *s->image);
    s->objective = calloc((size_t)s->nsets * s->obj_off[s->nsteps], sizeof *s->objective);
    s->pair_done = calloc(npairs, 1);
    s->result_bytes = s->nsteps * s->hwc * sizeof(float) + s->obj_off[s->nsteps] * sizeof(double);
    if (!s->image || !s->objective || !s->pair_done)
        return nn_fail(NN_ERR_NOMEM, "out of memory for %zu dreams of %dx%dx%d", npairs,
                       s->input.h, s->input.w, s->input.c);
    return NN_OK;
}

/* ---- items ---- */

static int nitems(const dream_state_t *s)
{
    return s->octaves == 1 ? s->nsets : s->nsets * s->nsteps;
}

/* The set and the step counts [*k0, *k1] item covers. */
static void item_pairs(const dream_state_t *s, int item, int *set, int *k0, int *k1)
{
    if (s->octaves == 1) {
        *set = item, *k0 = 0, *k1 = s->nsteps - 1;
    } else {
        *set = item / s->nsteps;
        *k0 = *k1 = item % s->nsteps;
    }
}

/* out (C,H,W) net input = (x rolled by (dy,dx) - mean) / std, x (H,W,C) pixels. */
static void to_input(const dream_state_t *s, const image_t *x, int dy, int dx, float *out)
{
    const int H = x->h, W = x->w, C = x->c;
    for (int y = 0; y < H; y++) {
        const int sy = ((y - dy) % H + H) % H;
        for (int xx = 0; xx < W; xx++) {
            const int sx = ((xx - dx) % W + W) % W;
            const float *p = x->v + ((size_t)sy * W + sx) * C;
            for (int c = 0; c < C; c++)
                out[((size_t)c * H + y) * W + xx] =
                    (float)((p[c] - s->model.mean[c]) / s->model.std[c]);
        }
    }
}

/* One ascent step on x from the input gradient g (C,H,W) of the rolled image. */
static void ascend(const dream_state_t *s, image_t *x, const float *g, int dy, int dx)
{
    const int H = x->h, W = x->w, C = x->c;
    const size_t n = (size_t)C * H * W;
    /* mean |g| in pixel space: g / std per channel */
    double msum = 0;
    for (int c = 0; c < C; c++)
        for (size_t j = 0; j < (size_t)H * W; j++)
            msum += fabs(g[c * (size_t)H * W + j]) / s->model.std[c];
    if (!(msum > 0))
        return;   /* nothing to climb (every chosen activation is zero) */
    const double step = s->job->dream.learning_rate * (double)n / msum;
    for (int y = 0; y < H; y++) {
        const int ry = ((y + dy) % H + H) % H;   /* where pixel y went in the rolled image */
        for (int xx = 0; xx < W; xx++) {
            const int rx = ((xx + dx) % W + W) % W;
            float *p = x->v + ((size_t)y * W + xx) * C;
            for (int c = 0; c < C; c++) {
                const double gp = g[((size_t)c * H + ry) * W + rx] / s->model.std[c];
                const double v = p[c] + step * gp;
                p[c] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
            }
        }
    }
}

/* The random roll before step t of octave o: (0, 0) without jitter. */
static void jitter_offsets(const dream_state_t *s, int set, int o, int t, int *dy, int *dx)
{
    const dream_spec_t *d = &s->job->dream;
    *dy = *dx = 0;
    if (d->jitter == 0)
        return;
    rng_t r;
    rng_seed_stream(&r, (uint64_t)d->seed, DREAM_STREAM,
                    ((uint64_t)set << 40) | ((uint64_t)o << 32) | (uint64_t)t);
    *dy = (int)rng_below(&r, 2 * (uint64_t)d->jitter + 1) - d->jitter;
    *dx = (int)rng_below(&r, 2 * (uint64_t)d->jitter + 1) - d->jitter;
}

/* Octave o of set's dream on x (its size): steps[k1] steps, each step's objective recorded for
 * every pair k0..k1 that includes it (objs at obj_off[k] - obj_off[k0], then o steps[k] + t - 1)
 * and, with one octave, the image after steps[k] steps into images (k - k0). */
static int dream_octave(const dream_state_t *s, int set, int o, image_t *x, int k0, int k1,
                        float *images, double *objs)
{
    const layer_set_t *ls = &s->set[set];
    const int N = s->steps[k1], O = s->octaves, C = x->c;
    cnn_feat_t *net = NULL;   /* the sizes were checked by check_octave_sizes */
    int st = cnn_feat_create(&net, s->model.layers, C, x->h, x->w, ls->deepest + 1,
                             s->model.params, s->model.nparams, s->model.buffers,
                             s->model.nbuffers);
    const size_t n = (size_t)C * x->h * x->w;
    float *in = malloc(n * sizeof *in), *g = malloc(n * sizeof *g);
    if (!st && (!in || !g))
        st = nn_fail(NN_ERR_NOMEM, "out of memory for a %dx%d octave", x->h, x->w);
    for (int t = 1; t <= N && !st; t++) {
        int dy, dx;
        jitter_offsets(s, set, o, t, &dy, &dx);
        to_input(s, x, dy, dx, in);
        const double obj = cnn_feat_norm_grad(net, in, ls->layer, ls->n, g);
        for (int k = k0; k <= k1; k++)
            if (O > 1 || t <= s->steps[k])
                objs[s->obj_off[k] - s->obj_off[k0] + (size_t)o * s->steps[k] + t - 1] = obj;
        ascend(s, x, g, dy, dx);
        for (int k = k0; k <= k1 && O == 1; k++)
            if (t == s->steps[k])
                memcpy(images + (size_t)(k - k0) * s->hwc, x->v, s->hwc * sizeof *x->v);
        par_poll();
    }
    cnn_feat_destroy(&net);
    free(in);
    free(g);
    return st;
}

/* The dream of set through its octaves (coarse to fine, each resized from the last), recording
 * pairs k0..k1 as dream_octave says; with octaves, the final image is pair k0's (= k1). */
static int dream(const dream_state_t *s, int set, int k0, int k1, float *images, double *objs)
{
    image_t x = {0};
    int st = NN_OK;
    for (int o = 0; o < s->octaves && !st; o++) {
        int h, w;
        octave_size(s, o, &h, &w);
        image_t next;
        st = image_resize(o == 0 ? &s->input : &x, h, w, &next);
        if (st)
            break;
        image_free(&x);
        x = next;
        st = dream_octave(s, set, o, &x, k0, k1, images, objs);
    }
    if (!st && s->octaves > 1)
        memcpy(images, x.v, s->hwc * sizeof *x.v);
    image_free(&x);
    return st;
}

/* The result record of an item: images of pairs k0..k1, then their objectives. */
static int run_item(int item, int slot, void *result, void *ctx)
{
    (void)slot;
    const dream_state_t *s = ctx;
    int set, k0, k1;
    item_pairs(s, item, &set, &k0, &k1);
    float *images = result;
    double *objs = (double *)((char *)result + s->nsteps * s->hwc * sizeof(float));
    return dream(s, set, k0, k1, images, objs);
}

/* ---- the results file ---- */

static void pair_group(const dream_state_t *s, int set, int k, char *buf, size_t len)
{
    snprintf(buf, len, "/dream/%s/steps_%d", s->set[set].name, s->steps[k]);
}

static int write_pair(h5file_t *f, const dream_state_t *s, int set, int k)
{
    char g[DREAM_NAME_MAX + 64], p[DREAM_NAME_MAX + 96];
    pair_group(s, set, k, g, sizeof g);
    const size_t dims[3] = {(size_t)s->input.h, (size_t)s->input.w, (size_t)s->input.c};
    const size_t nobj = s->obj_off[k + 1] - s->obj_off[k];
    snprintf(p, sizeof p, "%s/image", g);
    int st = h5_write_f32(f, p, 3, dims, s->image + ((size_t)set * s->nsteps + k) * s->hwc);
    if (!st) st = h5_write_attr_str(f, p, "description", "the dream, (height, width, channels) "
                                    "in pixel space [0, 1]");
    snprintf(p, sizeof p, "%s/objective", g);
    if (!st) st = h5_write_f64(f, p, 1, &nobj, s->objective + (size_t)set * s->obj_off[s->nsteps] +
                                                   s->obj_off[k]);
    if (!st) st = h5_write_attr_str(f, p, "description", "sum of the L2 norms of the set's "
                                    "activations before each step (octaves one after the other)");
    if (!st) st = h5_write_attr_str(f, g, "layer_set", s->set[set].name);
    if (!st) st = h5_write_attr_int(f, g, "steps", s->steps[k]);
    return st;
}

static int write_file(const dream_state_t *s, const char *path, const char *state_name)
{
    h5file_t *f = h5_create(path);
    if (!f)
        return NN_ERR_RUNTIME;
    const dream_spec_t *d = &s->job->dream;
    char end[32] = "";
    if (strcmp(state_name, "running") != 0)
        provenance_now(end, sizeof end);
    provenance_t p = {.command_line = s->command_line, .job_path = s->job->path,
                      .job_text = s->job->text, .mpi_size = par_size(), .group_size = 1,
                      .process_grid = "1x1", .hostnames = s->hostnames,
                      .start_time = s->start_time, .end_time = end, .state = state_name};
    int st = provenance_write(f, &p);
    if (!st) st = h5_write_attr_str(f, "/", "experiment", "dream");
    if (!st) st = h5_write_attr_double(f, "/", "wall_seconds", timer_now() - s->t_start);
    if (!st) st = h5_write_attr_str(f, "/dream", "model", d->model);
    if (!st) st = h5_write_attr_str(f, "/dream", "run", d->run);
    if (!st) st = h5_write_attr_str(f, "/dream", "image", d->image);
    if (!st) st = h5_write_attr_double(f, "/dream", "learning_rate", d->learning_rate);
    if (!st) st = h5_write_attr_int(f, "/dream", "octaves", d->octaves);
    if (!st) st = h5_write_attr_double(f, "/dream", "octave_scale", d->octave_scale);
    if (!st) st = h5_write_attr_int(f, "/dream", "jitter", d->jitter);
    if (!st) st = h5_write_attr_int(f, "/dream", "seed", d->seed);
    if (!st) st = h5_write_attr_str(f, "/dream", "model_layers", s->model.layers);
    if (!st) st = h5_write_attr_str(f, "/dream", "layer_listing", s->layer_listing);
    const size_t dims[3] = {(size_t)s->input.h, (size_t)s->input.w, (size_t)s->input.c};
    if (!st) st = h5_write_f32(f, "/dream/input", 3, dims, s->input.v);
    const char *names[DREAM_MAX_SETS];
    for (int i = 0; i < s->nsets; i++)
        names[i] = s->set[i].name;
    size_t ns = (size_t)s->nsets, nk = (size_t)s->nsteps;
    if (!st) st = h5_write_strings(f, "/dream/layer_sets", ns, names);
    if (!st) st = h5_write_i32(f, "/dream/steps", 1, &nk, s->steps);
    for (int i = 0; i < s->nsets && !st; i++)
        for (int k = 0; k < s->nsteps && !st; k++)
            if (s->pair_done[(size_t)i * s->nsteps + k])
                st = write_pair(f, s, i, k);
    if (st) {
        h5_close(&f);
        return st;
    }
    return h5_commit(&f);
}

static int record_item(int item, const void *result, void *ctx)
{
    dream_state_t *s = ctx;
    int set, k0, k1;
    item_pairs(s, item, &set, &k0, &k1);
    const float *images = result;
    const double *objs = (const double *)((const char *)result +
                                          s->nsteps * s->hwc * sizeof(float));
    for (int k = k0; k <= k1; k++) {
        memcpy(s->image + ((size_t)set * s->nsteps + k) * s->hwc,
               images + (size_t)(k - k0) * s->hwc, s->hwc * sizeof *images);
        memcpy(s->objective + (size_t)set * s->obj_off[s->nsteps] + s->obj_off[k],
               objs + s->obj_off[k] - s->obj_off[k0],
               (s->obj_off[k + 1] - s->obj_off[k]) * sizeof *objs);
        s->pair_done[(size_t)set * s->nsteps + k] = 1;
    }
    return write_file(s, s->out_path, "running");
}

/* --resume: the pairs an earlier run of the same job finished (their groups in the file). */
static int resume(dream_state_t *s)
{
    h5file_t *f = NULL;
    int st = sweep_resume_open(s->out_path, "dream", s->job->text, &f);
    for (int i = 0; i < s->nsets && f && !st; i++)
        for (int k = 0; k < s->nsteps && !st; k++) {
            char g[DREAM_NAME_MAX + 64], p[DREAM_NAME_MAX + 96];
            pair_group(s, i, k, g, sizeof g);
            snprintf(p, sizeof p, "%s/objective", g);
            if (!h5_exists(f, p, NULL))
                continue;
            st = h5_read_f64(f, p, s->objective + (size_t)i * s->obj_off[s->nsteps] +
                                       s->obj_off[k], s->obj_off[k + 1] - s->obj_off[k]);
            snprintf(p, sizeof p, "%s/image", g);
            if (!st) st = h5_read_f32(f, p, s->image + ((size_t)i * s->nsteps + k) * s->hwc,
                                      s->hwc);
            if (!st)
                s->pair_done[(size_t)i * s->nsteps + k] = 1;
        }
    h5_close(&f);
    return st;
}

static void free_state(dream_state_t *s)
{
    dream_model_free(&s->model);
    image_free(&s->input);
    free(s->layer_listing);
    free(s->image);
    free(s->objective);
    free(s->obj_off);
    free(s->pair_done);
    free(s->hostnames);
}

int sweep_dream(const job_t *job, const dataset_t *ds, const sweep_options_t *opt)
{
    dream_state_t s;
    memset(&s, 0, sizeof s);
    s.job = job;
    s.out_path = opt->out_path;
    s.command_line = opt->command_line;
    s.hostnames = par_hostnames();
    s.t_start = timer_now();
    provenance_now(s.start_time, sizeof s.start_time);
    int st = par_agree(setup(&s, ds));
    if (st == NN_OK && opt->resume && par_rank() == 0)
        st = resume(&s);
    if (st == NN_OK && par_rank() == 0)
        st = write_file(&s, s.out_path, "running");
    st = par_agree(st);
    const int n = st == NN_OK ? nitems(&s) : 0;
    unsigned char *done = calloc((size_t)n + 1, 1);
    if (st == NN_OK && !done)
        st = nn_fail(NN_ERR_NOMEM, "out of memory");
    st = par_agree(st);
    int ndone = 0;
    if (st == NN_OK) {
        for (int item = 0; item < n; item++) {
            int set, k0, k1;
            item_pairs(&s, item, &set, &k0, &k1);
            done[item] = 1;
            for (int k = k0; k <= k1; k++)
                done[item] &= s.pair_done[(size_t)set * s.nsteps + k];
        }
        par_bcast(done, (size_t)n, 0);
        for (int item = 0; item < n; item++)
            ndone += done[item];
        log_info("dream: %d layer set(s) x %d step count(s) on a %dx%dx%d image (%s), %d "
                 "item(s) on %d rank(s)%s", s.nsets, s.nsteps, s.input.h, s.input.w, s.input.c,
                 job->dream.image, n, par_size(), ndone ? " (resumed)" : "");
        par_schedule_t sched = {.nitems = n, .done = done, .result_bytes = s.result_bytes,
                                .group_size = 1, .slots = opt->threads, .run = run_item,
                                .record = record_item, .ctx = &s, .label = "dreams"};
        st = par_schedule(&sched);
    }
    if (par_rank() == 0 && (st == NN_OK || st == NN_ERR_INTERRUPTED)) {
        int wst = write_file(&s, s.out_path, st == NN_OK ? "complete" : "interrupted");
        if (wst != NN_OK)
            st = wst;
    }
    st = par_agree(st);
    free(done);
    free_state(&s);
    return st;
}
