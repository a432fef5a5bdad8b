/* cnn_checkpoint.c - the checkpoint file of one CNN run in progress, <results>.ckpt/<run>.h5:
 * position (epoch, batch, step), parameters, optimizer state, every rank's bn statistics and
 * partial epoch sums, the curves so far. Written whole and atomically (h5_create/h5_commit) by the
 * run's group leader; read back by it on --resume. No MPI: spreading the state over the group is
 * the driver's job (cnn_sweep.c). */
#include "cnn_state.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5io.h"
#include "nn_error.h"

char *cnn_ckpt_path(const char *out_path, const char *run)
{
    size_t len = strlen(out_path) + strlen(run) + 16;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s.ckpt/%s.h5", out_path, run);
    return p;
}

static char *ckpt_dir(const char *out_path)
{
    size_t len = strlen(out_path) + 8;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s.ckpt", out_path);
    return p;
}

void cnn_ckpt_remove(const char *out_path, const char *run)
{
    char *p = cnn_ckpt_path(out_path, run);
    if (!p)
        return;
    unlink(p);
    h5_remove_stale(p);
    free(p);
}

void cnn_ckpt_remove_dir(const char *out_path)
{
    char *d = ckpt_dir(out_path);
    if (d)
        rmdir(d);   /* fails, harmlessly, while a checkpoint is left in it */
    free(d);
}

/* Integer attributes of the root group, in this order in write and read: the first NPOSITION
 * are the position reached, the others the shape the checkpoint belongs to. */
#define NPOSITION 4
#define NINTS 9

static void position_fields(const cnn_ckpt_t *k, const char **names, long long *v)
{
    static const char *const n[NINTS] = {"epoch", "batch", "step", "optimizer_steps",
                                             "group_size", "epochs", "nparams", "nbuffers",
                                             "nstate"};
    long long x[NINTS] = {k->epoch, k->batch, k->step, k->optimizer_steps, k->group_size,
                              k->epochs, (long long)k->nparams, (long long)k->nbuffers,
                              (long long)k->nstate};
    memcpy(names, n, sizeof n);
    memcpy(v, x, sizeof x);
}

int cnn_ckpt_write(const char *path, const char *job_text, const char *run, const cnn_ckpt_t *k)
{
    h5file_t *f = h5_create(path);
    if (!f)
        return NN_ERR_RUNTIME;
    const char *names[NINTS];
    long long v[NINTS];
    position_fields(k, names, v);
    int st = h5_write_attr_str(f, "/", "experiment", "cnn checkpoint");
    if (!st) st = h5_write_attr_str(f, "/", "job_text", job_text);
    if (!st) st = h5_write_attr_str(f, "/", "run", run);
    for (int i = 0; i < NINTS && !st; i++)
        st = h5_write_attr_int(f, "/", names[i], v[i]);
    if (!st) st = h5_write_attr_double(f, "/", "run_seconds", k->run_seconds);
    if (!st) st = h5_write_attr_double(f, "/", "epoch_seconds", k->epoch_seconds);
    if (!st) st = h5_write_attr_double(f, "/", "checkpoint_seconds", k->checkpoint_seconds);
    size_t np = k->nparams, ns = k->nstate, E = (size_t)k->epochs;
    size_t bd[2] = {(size_t)k->group_size, k->nbuffers}, sd[2] = {(size_t)k->group_size, 2};
    if (!st) st = h5_write_f32(f, "/params", 1, &np, k->params);
    if (!st && ns) st = h5_write_f32(f, "/optimizer_state", 1, &ns, k->opt_state);
    if (!st && bd[1]) st = h5_write_f32(f, "/bn_buffers", 2, bd, k->buffers);
    if (!st) st = h5_write_f64(f, "/epoch_sums", 2, sd, k->sums);
    for (int c = 0; c < CNN_NCURVES && !st; c++) {
        char p[64];
        snprintf(p, sizeof p, "/curves/%s", cnn_curve_names[c]);
        st = h5_write_f64(f, p, 1, &E, k->curve[c]);
    }
    if (st) {
        h5_close(&f);
        return nn_fail_context(st, "writing checkpoint %s: ", path);
    }
    return h5_commit(&f);
}

/* CNN_CKPT_MISMATCH when the file's tags or sizes differ from k's, with the reason. */
static int check_match(h5file_t *f, const char *path, const char *job_text, const char *run,
                       cnn_ckpt_t *k)
{
    char *text = NULL, *name = NULL;
    int st = h5_read_attr_str(f, "/", "job_text", &text);
    if (!st) st = h5_read_attr_str(f, "/", "run", &name);
    if (st)
        st = nn_fail(CNN_CKPT_MISMATCH, "%s is not a checkpoint", path);
    else if (strcmp(text, job_text) != 0 || strcmp(name, run) != 0)
        st = nn_fail(CNN_CKPT_MISMATCH, "%s was written by another job file or run", path);
    free(text);
    free(name);
    const char *names[NINTS];
    long long want[NINTS];
    position_fields(k, names, want);
    for (int i = NPOSITION; i < NINTS && !st; i++) {   /* group_size and the sizes */
        long long got = 0;
        st = h5_read_attr_int(f, "/", names[i], &got);
        if (st)
            st = nn_fail(CNN_CKPT_MISMATCH, "%s: no %s", path, names[i]);
        else if (got != want[i])
            st = nn_fail(CNN_CKPT_MISMATCH, "%s was written with %s %lld, this run has %lld",
                         path, names[i], got, want[i]);
    }
    return st;
}

int cnn_ckpt_read(const char *path, const char *job_text, const char *run, cnn_ckpt_t *k)
{
    if (access(path, F_OK) != 0)
        return CNN_CKPT_NONE;
    h5file_t *f = h5_open(path);
    if (!f)
        return nn_fail_context(CNN_CKPT_MISMATCH, "unreadable checkpoint: ");
    int st = check_match(f, path, job_text, run, k);
    const char *names[NINTS];
    long long v[NINTS];
    position_fields(k, names, v);
    for (int i = 0; i < NPOSITION && !st; i++)
        st = h5_read_attr_int(f, "/", names[i], &v[i]);
    /* the trainer indexes the curves with the epoch and the shuffle with the batch */
    if (!st && (v[0] < 0 || v[0] > k->epochs || v[1] < 0 || v[1] > INT_MAX || v[2] < 0 ||
                v[3] < 0))
        st = nn_fail(NN_ERR_INPUT, "%s: position epoch %lld, batch %lld, step %lld, optimizer "
                     "step %lld is not inside a run of %d epochs", path, v[0], v[1], v[2], v[3],
                     k->epochs);
    if (!st) {
        k->epoch = (int)v[0];
        k->batch = (int)v[1];
        k->step = v[2];
        k->optimizer_steps = v[3];
    }
    if (!st) st = h5_read_attr_double(f, "/", "run_seconds", &k->run_seconds);
    if (!st) st = h5_read_attr_double(f, "/", "epoch_seconds", &k->epoch_seconds);
    if (!st) st = h5_read_attr_double(f, "/", "checkpoint_seconds", &k->checkpoint_seconds);
    size_t g = (size_t)k->group_size;
    if (!st) st = h5_read_f32(f, "/params", k->params, k->nparams);
    if (!st && k->nstate) st = h5_read_f32(f, "/optimizer_state", k->opt_state, k->nstate);
    if (!st && k->nbuffers) st = h5_read_f32(f, "/bn_buffers", k->buffers, g * k->nbuffers);
    if (!st) st = h5_read_f64(f, "/epoch_sums", k->sums, g * 2);
    for (int c = 0; c < CNN_NCURVES && !st; c++) {
        char p[64];
        snprintf(p, sizeof p, "/curves/%s", cnn_curve_names[c]);
        st = h5_read_f64(f, p, k->curve[c], (size_t)k->epochs);
    }
    h5_close(&f);
    if (st < 0)
        return nn_fail_context(NN_ERR_INPUT, "reading checkpoint %s: ", path);
    return st;
}
