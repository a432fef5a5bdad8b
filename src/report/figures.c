/* figures.c - `nnsweep report --png DIR`: reads what every results file has (data set, classes,
 * sizes, state), hands over to the experiment's figures, and lists the files written. Figures of
 * a new experiment go in figures_<experiment>.c and are called from report_figures. */
#include "figures.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "report_network.h"

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                              "Ankle boot"};
static const char *const cifar_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                            "dog", "frog", "horse", "ship", "truck"};

const char *fig_class_name(const fig_ctx_t *c, int pos, char *buf, size_t n)
{
    if (pos < 0 || pos >= c->nclasses) {
        snprintf(buf, n, "position %d", pos);
        return buf;
    }
    int k = c->classes[pos];
    if (k >= 0 && k < 10 && !strcmp(c->dataset, "fashion-mnist"))
        snprintf(buf, n, "%s", fashion_names[k]);
    else if (k >= 0 && k < 10 && !strcmp(c->dataset, "cifar10"))
        snprintf(buf, n, "%s", cifar_names[k]);
    else if (!strcmp(c->dataset, "mnist"))
        snprintf(buf, n, "digit %d", k);
    else
        snprintf(buf, n, "class %d", k);
    return buf;
}

static size_t examples(h5file_t *f, const char *path)
{
    int rank;
    size_t dims[H5IO_MAX_RANK];
    return h5_exists(f, path, NULL) && h5_dims(f, path, &rank, dims) == NN_OK && rank == 1 ? dims[0]
                                                                                        : 0;
}

/* Fills dataset, classes, state and the about line. */
static void read_context(fig_ctx_t *c)
{
    char *s = NULL;
    if (h5_read_attr_str(c->f, "/data", "dataset", &s) == NN_OK)
        snprintf(c->dataset, sizeof c->dataset, "%s", s);
    free(s);
    s = NULL;
    if (h5_read_attr_str(c->f, "/", "state", &s) == NN_OK)
        snprintf(c->state, sizeof c->state, "%s", s);
    free(s);
    s = NULL;
    size_t k = examples(c->f, "/data/classes");
    if (k > 0 && k <= FIG_MAX_CLASSES && h5_read_i32(c->f, "/data/classes", c->classes, k) == NN_OK)
        c->nclasses = (int)k;

    const char *name = !strcmp(c->dataset, "fashion-mnist") ? "Fashion-MNIST"
                     : !strcmp(c->dataset, "mnist")         ? "MNIST"
                     : !strcmp(c->dataset, "cifar10")       ? "CIFAR-10"
                     : c->dataset[0]                        ? c->dataset : "unknown data set";
    char classes[160] = "", a[48], b[48];
    if (c->nclasses == 2)
        snprintf(classes, sizeof classes, "%s vs %s", fig_class_name(c, 0, a, sizeof a),
                 fig_class_name(c, 1, b, sizeof b));
    else if (c->nclasses >= 3 && c->nclasses <= 4)
        for (int i = 0; i < c->nclasses; i++) {
            size_t len = strlen(classes);
            snprintf(classes + len, sizeof classes - len, "%s%s", i ? ", " : "",
                     fig_class_name(c, i, a, sizeof a));
        }
    else
        snprintf(classes, sizeof classes, "%d classes", c->nclasses);
    size_t ntrain = examples(c->f, "/data/train_label"), ntest = examples(c->f, "/data/test_label");
    if (ntrain == 0)   /* a CNN file stores the training indices only */
        ntrain = examples(c->f, "/data/train_index");
    size_t nvalid = examples(c->f, "/data/validation_label");
    char valid[48] = "";
    if (nvalid)
        snprintf(valid, sizeof valid, " / %zu validation", nvalid);
    h5_read_attr_str(c->f, "/", "job_file", &s);
    snprintf(c->about, sizeof c->about, "%s, %s; %zu train%s / %zu test images; job %s", name,
             classes, ntrain, valid, ntest, s ? s : "?");
    free(s);
}

double fig_header(const fig_ctx_t *c, plot_t *p, const char *title, const char *note)
{
    plot_text(p, 20, 14, 19, PLOT_LEFT | PLOT_TOP | PLOT_BOLD, PLOT_BLACK, "%s", title);
    char about[sizeof c->about + 4];
    snprintf(about, sizeof about, "%s", c->about);
    size_t len = strlen(about);
    while (len > 10 && plot_text_width(p, 13, 0, about) > plot_width(p) - 40) {
        do   /* cut whole UTF-8 characters */
            len--;
        while (len > 0 && ((unsigned char)about[len] & 0xc0) == 0x80);
        memcpy(about + len, "...", 4);
    }
    plot_text(p, 20, 44, 13, PLOT_LEFT | PLOT_TOP, PLOT_GREY, "%s", about);
    if (note && note[0]) {
        plot_text(p, 20, 64, 13, PLOT_LEFT | PLOT_TOP | PLOT_BOLD, PLOT_RED, "%s", note);
        return 86;
    }
    return 66;
}

void fig_axis_label_x(plot_t *p, double x, double y, const char *text)
{
    plot_text(p, x, y, 14, PLOT_CENTER | PLOT_TOP, PLOT_BLACK, "%s", text);
}

void fig_axis_label_y(plot_t *p, double x, double y, const char *text)
{
    plot_text(p, x, y, 14, PLOT_CENTER | PLOT_TOP | PLOT_UP, PLOT_BLACK, "%s", text);
}

void fig_value_range(double *lo, double *hi, double pad, int clip100)
{
    double d = pad * (*hi - *lo);
    *lo -= d;
    *hi += d;
    plot_nice_range(lo, hi, 6);
    *lo = fmax(*lo, 0);
    if (clip100)
        *hi = fmin(*hi, 100);
}

static void list_heading(fig_ctx_t *c)
{
    if (c->listed++ > 0)
        return;
    if (c->format == REPORT_MARKDOWN)
        fprintf(c->out, "\nFigures in `%s`:\n\n", c->dir);
    else if (c->format == REPORT_TEXT)
        fprintf(c->out, "\nFigures in %s:\n", c->dir);
}

const char *fig_kernel_name(const fig_ctx_t *c) { return c->ntk ? "NTK" : "NNGP"; }

const char *fig_path(const fig_ctx_t *c, const char *name, char *buf, size_t n)
{
    size_t len = strlen(c->dir);
    snprintf(buf, n, "%s%s%s", c->dir, len && c->dir[len - 1] == '/' ? "" : "/", name);
    return buf;
}

void fig_list(fig_ctx_t *c, const char *name, const char *path, const char *what)
{
    list_heading(c);
    if (c->format == REPORT_MARKDOWN)
        fprintf(c->out, "- `%s`: %s\n", name, what);
    else if (c->format == REPORT_CSV)
        fprintf(c->out, "# figure: %s: %s\n", path, what);
    else
        fprintf(c->out, "  %-28s %s\n", name, what);
}

int fig_save(fig_ctx_t *c, plot_t *p, const char *name, const char *what)
{
    char path[4096], renamed[256];
    if (c->ntk && strncmp(name, "nngp-", 5) == 0) {   /* the NTK's figures beside the NNGP's */
        snprintf(renamed, sizeof renamed, "ntk-%s", name + 5);
        name = renamed;
    }
    int st = plot_save(p, fig_path(c, name, path, sizeof path));
    if (st == NN_OK)
        fig_list(c, name, path, what);
    return st;
}

void fig_skip(fig_ctx_t *c, const char *name, const char *why)
{
    list_heading(c);
    if (c->format == REPORT_MARKDOWN)
        fprintf(c->out, "- `%s`: not drawn: %s\n", name, why);
    else if (c->format == REPORT_CSV)
        fprintf(c->out, "# figure not drawn: %s: %s\n", name, why);
    else
        fprintf(c->out, "  %-28s not drawn: %s\n", name, why);
}

int report_figures(h5file_t *f, const char *experiment, const char *dir, FILE *out,
                   report_format_t format)
{
    fig_ctx_t c = {.f = f, .dir = dir, .out = out, .format = format};
    read_context(&c);
    int st = NN_OK;
    if (!strcmp(experiment, "nngp")) {
        if (h5_exists(f, "/nngp", NULL))
            st = figures_nngp(&c);
        if (!st && h5_exists(f, "/ntk", NULL)) {   /* the same figures of the /ntk group */
            c.ntk = 1;
            st = h5_set_alias(f, "/nngp", "/ntk");
            if (!st) st = figures_nngp(&c);
            h5_set_alias(f, NULL, NULL);
            c.ntk = 0;
        }
        char note[120] = "";   /* the stages after the searches */
        if (c.state[0] && strcmp(c.state, "complete") != 0)
            snprintf(note, sizeof note, "Incomplete file (state %s): only what is finished is "
                     "shown.", c.state);
        if (!st) st = figures_limit(&c, note);
        if (!st) st = figures_network(&c, note);
    }
    else if (!strcmp(experiment, "cnn"))
        st = figures_cnn(&c);
    else if (!strcmp(experiment, "dream"))
        st = figures_dream(&c);
    else
        fig_skip(&c, "*", "no figures for this experiment yet");
    plot_release_caches();
    return st;
}
