/* cnn_output.c - a CNN job's results file: provenance, the data used, and one group per finished
 * run under /cnn/<run name>/ (per-epoch curves, confusion matrix, accuracy under input noise, the
 * trained weights), each dimension with a scale in the run's group (epoch, classes, ...: xarray
 * coordinates). Rewritten whole and atomically after every run; read back for --resume
 * (finished runs only: a run in progress lives in its checkpoint file, cnn_checkpoint.c). */
#include "cnn_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "nn_error.h"
#include "nn_timer.h"
#include "par.h"
#include "provenance.h"
#include "sweep_common.h"

static const char *const curve_units[CNN_NCURVES] = {
    "mean cross-entropy over the epoch's batches (running average while training)",
    "fraction correct over the epoch's batches (running average while training)",
    "mean cross-entropy on the test split after the epoch",
    "fraction of test examples classified correctly after the epoch",
    "learning rate used during the epoch",
    "wall seconds of the epoch (training and test evaluation)",
    "training images per second (training loop only, whole group)"};

static int write_provenance(h5file_t *f, const cnn_state_t *s, const char *state_name)
{
    char end[32] = "", grid[32];
    if (strcmp(state_name, "running") != 0)
        provenance_now(end, sizeof end);
    snprintf(grid, sizeof grid, "%dx1", s->group_size);
    provenance_t p = {.command_line = s->command_line, .job_path = s->job->path,
                      .job_text = s->job->text, .mpi_size = par_size(),
                      .group_size = s->group_size, .process_grid = grid,
                      .hostnames = s->hostnames, .start_time = s->start_time, .end_time = end,
                      .state = state_name};
    int st = provenance_write(f, &p);
    if (!st) st = h5_write_attr_str(f, "/", "experiment", "cnn");
    if (!st) st = h5_write_attr_double(f, "/", "wall_seconds", timer_now() - s->t_start);
    return st;
}

static int write_data(h5file_t *f, const dataset_t *ds)
{
    size_t nc = (size_t)ds->spec.nclasses, ntr = (size_t)ds->train.n, nte = (size_t)ds->test.n;
    int st = h5_write_attr_str(f, "/data", "dataset", ds->name);
    if (!st) st = h5_write_attr_int(f, "/data", "shuffle_seed", ds->spec.shuffle_seed);
    if (!st) st = h5_write_i32(f, "/data/classes", 1, &nc, ds->spec.classes);
    if (!st) st = h5_make_scale(f, "/data/classes", NULL);
    if (!st) st = h5_write_i32(f, "/data/train_index", 1, &ntr, ds->train.source_index);
    if (!st) st = h5_write_i32(f, "/data/test_index", 1, &nte, ds->test.source_index);
    if (!st) st = h5_write_i32(f, "/data/test_label", 1, &nte, ds->test.label);
    /* dimensions train and test: positions in the split */
    if (!st) st = h5_write_range_scale(f, "/data/train", ntr, 0);
    if (!st) st = h5_write_range_scale(f, "/data/test", nte, 0);
    if (!st) st = h5_attach_scale(f, "/data/train_index", 0, "/data/train");
    if (!st) st = h5_attach_scale(f, "/data/test_index", 0, "/data/test");
    if (!st) st = h5_attach_scale(f, "/data/test_label", 0, "/data/test");
    return st;
}

/* The dimensions of run group g (the group opened alone with xarray has them as coordinates):
 * epoch 1..E; true_class and predicted_class, the class numbers of /data/classes; noise_level,
 * the a of noise_accuracy; parameter and buffer (no values), the axes of weights and bn_buffers. */
static int write_run_dims(h5file_t *f, const cnn_state_t *s, const cnn_run_t *r, const char *g)
{
    char p[192];
    size_t nc = (size_t)s->ds->spec.nclasses, n3 = CNN_NOISE_LEVELS;
    snprintf(p, sizeof p, "%s/epoch", g);
    int st = h5_write_range_scale(f, p, (size_t)r->epochs, 1);
    for (int k = 0; k < 2 && !st; k++) {
        snprintf(p, sizeof p, "%s/%s", g, k ? "predicted_class" : "true_class");
        st = h5_write_i32(f, p, 1, &nc, s->ds->spec.classes);
        if (!st) st = h5_make_scale(f, p, NULL);
    }
    snprintf(p, sizeof p, "%s/noise_level", g);
    if (!st) st = h5_write_scale(f, p, n3, cnn_noise_levels, NULL);
    snprintf(p, sizeof p, "%s/parameter", g);
    if (!st) st = h5_write_dimension(f, p, r->nparams);
    snprintf(p, sizeof p, "%s/buffer", g);
    if (!st && r->nbuffers > 0) st = h5_write_dimension(f, p, r->nbuffers);
    return st;
}

/* 1 if run r passes the self-check (weights agreed or not checked, final losses finite). */
static int run_passes(const cnn_run_t *r)
{
    int E = r->epochs;
    return r->weights_agree != 0 && E > 0 && isfinite(r->curve[CNN_TRAIN_LOSS][E - 1]) &&
           isfinite(r->curve[CNN_TEST_LOSS][E - 1]);
}

/* Attaches the scales <g>/<dim0>, <g>/<dim1> (dim1 NULL: a 1-D array) to <g>/<name>. */
static int attach_run_dims(h5file_t *f, const char *g, const char *name, const char *dim0,
                           const char *dim1)
{
    char p[192], d0[192], d1[192];
    snprintf(p, sizeof p, "%s/%s", g, name);
    snprintf(d0, sizeof d0, "%s/%s", g, dim0);
    snprintf(d1, sizeof d1, "%s/%s", g, dim1 ? dim1 : "");
    const char *dims[2] = {d0, d1};
    return h5_attach_scales(f, p, dim1 ? 2 : 1, dims);
}

static int write_run(h5file_t *f, const cnn_state_t *s, const cnn_run_t *r)
{
    const cnn_spec_t *sp = r->spec;
    char g[128], p[192];
    snprintf(g, sizeof g, "/cnn/%s", sp->name);
    size_t E = (size_t)r->epochs, nc = (size_t)s->ds->spec.nclasses;
    int st = write_run_dims(f, s, r, g);
    for (int k = 0; k < CNN_NCURVES && !st; k++) {
        snprintf(p, sizeof p, "%s/%s", g, cnn_curve_names[k]);
        st = h5_write_f64(f, p, 1, &E, r->curve[k]);
        if (!st) st = h5_write_attr_str(f, p, "description", curve_units[k]);
        if (!st) st = attach_run_dims(f, g, cnn_curve_names[k], "epoch", NULL);
    }
    size_t cdims[2] = {nc, nc}, n3 = CNN_NOISE_LEVELS, npar = r->nparams, nbuf = r->nbuffers;
    snprintf(p, sizeof p, "%s/confusion_matrix", g);
    if (!st) st = h5_write_i32(f, p, 2, cdims, r->confusion);
    if (!st) st = h5_write_attr_str(f, p, "description", "test split after the last epoch: rows = "
                                    "true class position, columns = predicted (see /data/classes)");
    if (!st) st = attach_run_dims(f, g, "confusion_matrix", "true_class", "predicted_class");
    snprintf(p, sizeof p, "%s/noise_accuracy", g);
    if (!st) st = h5_write_f64(f, p, 1, &n3, r->noise_accuracy);
    if (!st) st = h5_write_attr_str(f, p, "noise_levels", "0.05, 0.01, 0.005");
    if (!st) st = h5_write_attr_str(f, p, "description", "test accuracy of the final model on "
                                    "image + a N(0,1) per pixel (after preprocessing), a = "
                                    "noise_levels");
    if (!st) st = attach_run_dims(f, g, "noise_accuracy", "noise_level", NULL);
    snprintf(p, sizeof p, "%s/weights", g);
    if (!st) st = h5_write_f32(f, p, 1, &npar, r->weights);
    if (!st) st = h5_write_attr_int(f, p, "nparams", (long long)r->nparams);
    if (!st) st = h5_write_attr_str(f, p, "layers", sp->layers);
    if (!st) st = h5_write_attr_str(f, p, "description", "flat float32 parameter block in layer "
                                    "order (weight then bias; bn gamma then beta)");
    if (!st) st = attach_run_dims(f, g, "weights", "parameter", NULL);
    if (!st && nbuf > 0) {
        snprintf(p, sizeof p, "%s/bn_buffers", g);
        st = h5_write_f32(f, p, 1, &nbuf, r->buffers);
        if (!st) st = h5_write_attr_str(f, p, "description", "bn running mean then running "
                                        "variance per bn layer, in layer order");
        if (!st) st = attach_run_dims(f, g, "bn_buffers", "buffer", NULL);
    }
    if (!st) st = h5_write_attr_str(f, g, "layers", sp->layers);
    if (!st) st = h5_write_attr_int(f, g, "nparams", (long long)r->nparams);
    if (!st) st = h5_write_attr_double(f, g, "model_mb", r->model_mb);
    if (!st) st = h5_write_attr_int(f, g, "epochs", sp->epochs);
    if (!st) st = h5_write_attr_int(f, g, "batch_size", sp->batch_size);
    if (!st) st = h5_write_attr_str(f, g, "optimizer", sp->optimizer);
    if (!st) st = h5_write_attr_double(f, g, "learning_rate", sp->learning_rate);
    if (!st) st = h5_write_attr_str(f, g, "schedule", sp->schedule);
    if (!st) st = h5_write_attr_int(f, g, "seed", sp->seed);
    if (!st) st = h5_write_attr_int(f, g, "sync_bn", sp->sync_bn);
    if (!st) st = h5_write_attr_int(f, g, "group_size", r->group_size);
    if (!st) st = h5_write_attr_double(f, g, "seconds", r->seconds);
    if (!st) st = h5_write_attr_double(f, g, "checkpoint_seconds", r->checkpoint_seconds);
    if (!st) st = h5_write_attr_double(f, g, "final_test_accuracy",
                                       E ? r->curve[CNN_TEST_ACC][E - 1] : 0.0);
    if (!st) st = h5_write_attr_int(f, g, "check_weights_agree", r->weights_agree);
    if (!st) st = h5_write_attr_str(f, g, "self_check", run_passes(r) ? "PASSED" : "FAILED");
    return st;
}

const char *cnn_self_check(const cnn_state_t *s, int *nchecked)
{
    int failed = 0, pending = 0;
    *nchecked = 0;
    for (int i = 0; i < s->nruns; i++) {
        pending |= !s->runs[i].done;
        if (s->runs[i].done) {
            failed |= !run_passes(&s->runs[i]);
            ++*nchecked;
        }
    }
    return failed ? "FAILED" : pending ? "PENDING" : "PASSED";
}

int cnn_state_write(const cnn_state_t *s, const char *path, const char *state_name)
{
    h5file_t *f = h5_create(path);
    if (!f)
        return NN_ERR_RUNTIME;
    int st = write_provenance(f, s, state_name);
    if (!st) st = write_data(f, s->ds);
    const char *names[JOB_MAX_VARIANTS];
    unsigned char done[JOB_MAX_VARIANTS];
    for (int i = 0; i < s->nruns; i++) {
        names[i] = s->runs[i].spec->name;
        done[i] = (unsigned char)s->runs[i].done;
    }
    size_t n = (size_t)s->nruns;
    if (!st) st = h5_write_strings(f, "/cnn/runs", n, names);
    if (!st) st = h5_write_u8(f, "/cnn/run_done", 1, &n, done);
    if (!st) st = h5_make_scale(f, "/cnn/runs", NULL);   /* run_done's dimension, by name */
    if (!st) st = h5_attach_scale(f, "/cnn/run_done", 0, "/cnn/runs");
    for (int i = 0; i < s->nruns && !st; i++)
        if (s->runs[i].done)
            st = write_run(f, s, &s->runs[i]);
    int nchecked;
    if (!st) st = h5_write_attr_str(f, "/", "self_check", cnn_self_check(s, &nchecked));
    if (!st) st = h5_write_attr_str(f, "/cnn", "self_check_description", "a run passes when "
                                    "every rank of its group ended with the same parameters bit "
                                    "for bit (check_weights_agree; the gradient allreduce agreed) "
                                    "and its final training and test losses are finite");
    if (st) {
        h5_close(&f);
        return st;
    }
    return h5_commit(&f);
}

/* ---- resume ---- */

/* Allocates the arrays of run r for E epochs and nc classes, as record_item does. */
int cnn_run_alloc(cnn_run_t *r, int E, int nc)
{
    r->epochs = E;
    r->curve[0] = malloc((size_t)CNN_NCURVES * (E > 0 ? E : 1) * sizeof(double));
    r->confusion = malloc((size_t)nc * nc * sizeof(int));
    r->weights = malloc((r->nparams + r->nbuffers + 1) * sizeof(float));
    if (!r->curve[0] || !r->confusion || !r->weights)
        return nn_fail(NN_ERR_NOMEM, "cannot store the results of run %s", r->spec->name);
    for (int k = 1; k < CNN_NCURVES; k++)
        r->curve[k] = r->curve[0] + (size_t)k * E;
    r->buffers = r->weights + r->nparams;
    return NN_OK;
}

/* Reads the finished run r (group g = "/cnn/<name>") back. */
static int read_run(h5file_t *f, const cnn_state_t *s, cnn_run_t *r)
{
    char g[128], p[192];
    snprintf(g, sizeof g, "/cnn/%s", r->spec->name);
    long long np = 0, gs = 0;
    int nc = s->ds->spec.nclasses, rank = 0, st;
    size_t dims[H5IO_MAX_RANK] = {0}, nbuf = 0;
    snprintf(p, sizeof p, "%s/bn_buffers", g);
    if (h5_exists(f, p, NULL) && (st = h5_dims(f, p, &rank, dims)) != NN_OK)
        return st;
    nbuf = dims[0];
    st = h5_read_attr_int(f, g, "nparams", &np);
    if (!st) st = h5_read_attr_int(f, g, "group_size", &gs);
    if (!st) st = h5_read_attr_double(f, g, "model_mb", &r->model_mb);
    if (!st) st = h5_read_attr_double(f, g, "seconds", &r->seconds);
    if (!st) st = h5_read_attr_double(f, g, "checkpoint_seconds", &r->checkpoint_seconds);
    if (st)
        return st;
    long long agree = -1;
    if (h5_exists(f, g, "check_weights_agree"))
        h5_read_attr_int(f, g, "check_weights_agree", &agree);
    r->weights_agree = (int)agree;
    r->nparams = (size_t)np;
    r->nbuffers = nbuf;
    r->group_size = (int)gs;
    snprintf(p, sizeof p, "%s/%s", g, cnn_curve_names[0]);
    if ((st = h5_dims(f, p, &rank, dims)) != NN_OK || (st = cnn_run_alloc(r, (int)dims[0], nc)))
        return st;
    for (int k = 0; k < CNN_NCURVES && !st; k++) {
        snprintf(p, sizeof p, "%s/%s", g, cnn_curve_names[k]);
        st = h5_read_f64(f, p, r->curve[k], (size_t)r->epochs);
    }
    snprintf(p, sizeof p, "%s/confusion_matrix", g);
    if (!st) st = h5_read_i32(f, p, r->confusion, (size_t)nc * nc);
    snprintf(p, sizeof p, "%s/noise_accuracy", g);
    if (!st) st = h5_read_f64(f, p, r->noise_accuracy, CNN_NOISE_LEVELS);
    snprintf(p, sizeof p, "%s/weights", g);
    if (!st) st = h5_read_f32(f, p, r->weights, r->nparams);
    snprintf(p, sizeof p, "%s/bn_buffers", g);
    if (!st && nbuf) st = h5_read_f32(f, p, r->buffers, nbuf);
    if (!st)
        r->done = 1;
    return st;
}

int cnn_state_resume(cnn_state_t *s, const char *path)
{
    h5file_t *f = NULL;
    int st = sweep_resume_open(path, "cnn", s->job->text, &f);
    if (st || !f)
        return st;
    unsigned char done[JOB_MAX_VARIANTS];
    st = h5_read_u8(f, "/cnn/run_done", done, (size_t)s->nruns);
    for (int i = 0; i < s->nruns && !st; i++)   /* same job text: the same runs in order */
        if (done[i])
            st = read_run(f, s, &s->runs[i]);
    h5_close(&f);
    if (st)
        return nn_fail_context(NN_ERR_INPUT, "%s: cannot resume: ", path);
    return NN_OK;
}
