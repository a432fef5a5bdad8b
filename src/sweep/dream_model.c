/* dream_model.c - the models `nnsweep dream` dreams with (dream.h): a converted model file or a
 * run of a CNN results file, read into a layers string, its parameter and buffer blocks and the
 * map from pixels to the net's input; and the names of layers as the layer listing shows them. */
#include "dream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "job.h"
#include "nn_error.h"

static const char *const kind_names[] = {
    [CNN_CONV] = "conv", [CNN_MAXPOOL] = "maxpool", [CNN_AVGPOOL] = "avgpool",
    [CNN_RELU] = "relu", [CNN_TANH] = "tanh", [CNN_BN] = "bn", [CNN_DROPOUT] = "dropout",
    [CNN_FLATTEN] = "flatten", [CNN_DENSE] = "dense"};

void dream_layer_name(const cnn_arch_t *arch, int i, char *buf, size_t len)
{
    int ordinal = 0;
    for (int j = 0; j <= i; j++)
        ordinal += arch->layers[j].kind == arch->layers[i].kind;
    snprintf(buf, len, "%s%d", kind_names[arch->layers[i].kind], ordinal);
}

int dream_layer_find(const cnn_arch_t *arch, const char *name)
{
    char *end;
    long pos = strtol(name, &end, 10);
    if (end != name && *end == '\0')
        return pos >= 1 && pos <= arch->nlayers ? (int)pos - 1 : -1;
    for (int i = 0; i < arch->nlayers; i++) {
        char own[32];
        dream_layer_name(arch, i, own, sizeof own);
        if (strcmp(own, name) == 0)
            return i;
    }
    return -1;
}

void dream_model_free(dream_model_t *m)
{
    free(m->layers);
    free(m->params);
    free(m->buffers);
    cnn_arch_free(&m->arch);
    memset(m, 0, sizeof *m);
}

/* Reads the float32 dataset at path (any length) into a malloc'd block. */
static int read_block(h5file_t *f, const char *path, float **out, size_t *n)
{
    int rank;
    size_t dims[H5IO_MAX_RANK];
    int st = h5_dims(f, path, &rank, dims);
    if (st)
        return st;
    *n = 1;
    for (int d = 0; d < rank; d++)
        *n *= dims[d];
    *out = malloc(*n * sizeof **out + sizeof **out);
    if (!*out)
        return nn_fail(NN_ERR_NOMEM, "out of memory for %zu values of %s", *n, path);
    return h5_read_f32(f, path, *out, *n);
}

/* A model file of scripts/torchvision_to_nnsweep.py. */
static int load_model_file(h5file_t *f, const char *path, dream_model_t *m)
{
    long long in_c = 0;
    int st = h5_read_attr_str(f, "/", "layers", &m->layers);
    if (!st) st = h5_read_attr_int(f, "/", "in_channels", &in_c);
    if (!st && (in_c < 1 || in_c > DREAM_MAX_CHANNELS))
        st = nn_fail(NN_ERR_INPUT, "%s: in_channels %lld: a dream image has 1 to %d channels",
                     path, in_c, DREAM_MAX_CHANNELS);
    if (st)
        return st;
    m->in_c = (int)in_c;
    st = read_block(f, "/model/weights", &m->params, &m->nparams);
    if (!st && h5_exists(f, "/model/bn_buffers", NULL))
        st = read_block(f, "/model/bn_buffers", &m->buffers, &m->nbuffers);
    if (!st) st = h5_read_f64(f, "/model/input_mean", m->mean, (size_t)m->in_c);
    if (!st) st = h5_read_f64(f, "/model/input_std", m->std, (size_t)m->in_c);
    for (int c = 0; c < m->in_c && !st; c++)
        if (!(m->std[c] > 0))
            st = nn_fail(NN_ERR_INPUT, "%s: /model/input_std[%d] = %g: must be positive", path,
                         c, m->std[c]);
    snprintf(m->source, sizeof m->source, "%s", path);
    return st;
}

/* Run `run` (or the only one) of a CNN results file. */
static int load_cnn_run(h5file_t *f, const char *path, const char *run, dream_model_t *m)
{
    char *text = NULL, **runs = NULL;
    int nruns = 0;
    int st = h5_read_attr_str(f, "/", "job_text", &text);
    if (!st) st = h5_read_strings(f, "/cnn/runs", &runs, &nruns);
    if (st) {
        free(text);
        return st;
    }
    const char *pick = NULL;
    char names[DREAM_NAME_MAX] = "";
    for (int i = 0; i < nruns; i++) {
        if (run && *run ? strcmp(runs[i], run) == 0 : nruns == 1)
            pick = runs[i];
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                 runs[i]);
    }
    char g[DREAM_NAME_MAX + 64];
    if (!pick)
        st = nn_fail(NN_ERR_INPUT, "%s: %s (its runs: %s): set run = NAME in [dream]", path,
                     run && *run ? "no such run" : "it holds several runs", names);
    job_t job;
    memset(&job, 0, sizeof job);
    if (!st) st = job_parse(text, path, &job);
    if (!st && job.data.preprocess != PREPROCESS_SCALE01)
        st = nn_fail(NN_ERR_INPUT, "%s: the model was trained with preprocess other than "
                     "scale01: a dream image maps to its input only under scale01", path);
    if (!st) {
        snprintf(g, sizeof g, "/cnn/%s/weights", pick);
        if (!h5_exists(f, g, NULL))
            st = nn_fail(NN_ERR_INPUT, "%s: run %s has no trained weights yet (unfinished run)",
                         path, pick);
    }
    if (!st) st = h5_read_attr_str(f, g, "layers", &m->layers);
    if (!st) st = read_block(f, g, &m->params, &m->nparams);
    snprintf(g, sizeof g, "/cnn/%s/bn_buffers", pick ? pick : "");
    if (!st && h5_exists(f, g, NULL))
        st = read_block(f, g, &m->buffers, &m->nbuffers);
    if (!st) {
        dataset_spec_shape(&job.data, &m->in_c, &m->train_h, &m->train_w);
        if (m->in_c > DREAM_MAX_CHANNELS)
            st = nn_fail(NN_ERR_INPUT, "%s: %d input channels: a dream image has 1 to %d", path,
                         m->in_c, DREAM_MAX_CHANNELS);
        for (int c = 0; c < DREAM_MAX_CHANNELS; c++)
            m->mean[c] = 0, m->std[c] = 1;
        snprintf(m->source, sizeof m->source, "%s run %s", path, pick);
    }
    job_free(&job);
    h5_free_names(runs, nruns);
    free(text);
    return st;
}

/* Every parameter and buffer value finite, every bn running variance >= 0 (a file edited by
 * hand could hold anything; the net would then dream in NaN). */
static int check_values(const cnn_arch_t *a, const dream_model_t *m, const char *path)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (!isfinite(m->params[i]))
            return nn_fail(NN_ERR_INPUT, "%s: parameter %zu is %g: not a number", path, i,
                           (double)m->params[i]);
    for (size_t i = 0; i < m->nbuffers; i++)
        if (!isfinite(m->buffers[i]))
            return nn_fail(NN_ERR_INPUT, "%s: bn buffer value %zu is %g: not a number", path, i,
                           (double)m->buffers[i]);
    for (int l = 0; l < a->nlayers; l++) {
        const cnn_layer_t *L = &a->layers[l];
        for (int c = 0; L->kind == CNN_BN && c < L->in_c; c++)
            if (m->buffers[L->buf_off + L->in_c + c] < 0)
                return nn_fail(NN_ERR_INPUT, "%s: layer %d %s: running variance %g of channel %d "
                               "is negative", path, L->pos, L->text,
                               (double)m->buffers[L->buf_off + L->in_c + c], c);
    }
    return NN_OK;
}

/* Frees m and names path in the recorded message (a layers string's error names only the
 * layer). Returns st. */
static int model_fail(dream_model_t *m, const char *path, int st)
{
    char why[1024];   /* nn_fail must not read the message it overwrites */
    snprintf(why, sizeof why, "%s", nn_errmsg());
    dream_model_free(m);
    return nn_fail(st, "%s: %s", path, why);
}

int dream_model_load(const char *path, const char *run, dream_model_t *m)
{
    memset(m, 0, sizeof *m);
    h5file_t *f = h5_open(path);
    if (!f)
        return NN_ERR_INPUT;   /* h5_open's message names the file and what is wrong */
    char *experiment = NULL;
    int st = h5_read_attr_str(f, "/", "experiment", &experiment);
    if (st)
        st = nn_fail(NN_ERR_INPUT, "%s: not an nnsweep model (no 'experiment' root attribute): "
                     "give a CNN results file or a file of scripts/torchvision_to_nnsweep.py",
                     path);
    else if (strcmp(experiment, "model") == 0)
        st = load_model_file(f, path, m);
    else if (strcmp(experiment, "cnn") == 0)
        st = load_cnn_run(f, path, run, m);
    else
        st = nn_fail(NN_ERR_INPUT, "%s: a %s results file is not a model: give a CNN results "
                     "file or a file of scripts/torchvision_to_nnsweep.py", path, experiment);
    free(experiment);
    h5_close(&f);
    if (!st) {   /* the layers before the first dense one, on the training size (or 224) */
        st = cnn_arch_parse(m->layers, m->in_c, m->train_h ? m->train_h : 224,
                            m->train_w ? m->train_w : 224, &m->arch);
        if (st)
            return model_fail(m, path, st);
        const cnn_arch_t a = m->arch;
        size_t need_p = 0, need_b = 0;   /* what the layers before the first dense one use */
        for (int i = 0; i < a.nlayers && a.layers[i].kind != CNN_DENSE; i++) {
            const cnn_layer_t *L = &a.layers[i];
            m->nfeatures = i + 1;
            need_p = L->nb ? L->b_off + L->nb : L->nw ? L->w_off + L->nw : need_p;
            need_b = L->nbuf ? L->buf_off + L->nbuf : need_b;
        }
        /* a CNN run's blocks are the whole net's; a model file's need only hold the features
         * (its layers may name a head whose size depends on the image it was trained on) */
        if (m->train_h ? a.nparams != m->nparams || a.nbuffers != m->nbuffers
                       : need_p > m->nparams || need_b > m->nbuffers)
            st = nn_fail(NN_ERR_INPUT, "%s: the layers need %zu parameters and %zu buffer "
                         "values, the file has %zu and %zu", path,
                         m->train_h ? a.nparams : need_p, m->train_h ? a.nbuffers : need_b,
                         m->nparams, m->nbuffers);
        else if (m->nfeatures == 0)
            st = nn_fail(NN_ERR_INPUT, "%s: the net starts with a dense layer: nothing to dream "
                         "on", path);
        else
            st = check_values(&a, m, path);
    }
    if (st)
        dream_model_free(m);
    return st;
}
