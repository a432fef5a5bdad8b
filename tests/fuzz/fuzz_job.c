/* fuzz_job.c - libFuzzer harness: job files. The input is the whole file; job_load reads it
 * (NUL bytes, long lines, sections, keys, grids, cross-key checks) and, for a job it accepts,
 * every CNN layers string is parsed for the dataset's image shape as `nnsweep plan` and
 * `nnsweep cnn` do.
 * Contract: job_load returns 0 or NN_ERR_INPUT / NN_ERR_NOMEM with a message naming the file;
 * an accepted job has non-empty grids of finite values within their bounds and its strings
 * terminated; cnn_arch_parse returns 0 or an error with a message; nothing crashes or leaks. */
#include "fuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "job.h"
#include "nn_error.h"

static void check_grid(const grid_t *g, int integral, double lo)
{
    FUZZ_CHECK(g->n >= 1 && g->v, "an accepted grid has values");
    for (int i = 0; i < g->n; i++) {
        FUZZ_CHECK(isfinite(g->v[i]) && g->v[i] >= lo, "grid values are finite and in bounds");
        FUZZ_CHECK(!integral || g->v[i] == floor(g->v[i]), "integer grids hold integers");
    }
}

static void parse_layers(const cnn_spec_t *s, const data_spec_t *d)
{
    FUZZ_CHECK(memchr(s->layers, 0, sizeof s->layers) && memchr(s->name, 0, sizeof s->name),
               "strings of a cnn spec are terminated");
    int c = 1, h = 28, w = 28;
    if (d->kind == DATASET_CIFAR10)
        c = 3, h = w = 32;
    else if (d->kind == DATASET_SYNTHETIC)
        c = d->channels, h = d->height, w = d->width;
    cnn_arch_t arch;
    int rc = cnn_arch_parse(s->layers, c, h, w, &arch);
    if (rc != 0) {
        FUZZ_CHECK(rc == NN_ERR_INPUT || rc == NN_ERR_NOMEM, "cnn_arch_parse status");
        FUZZ_CHECK(nn_errmsg()[0] != '\0', "cnn_arch_parse names the fault");
        return;
    }
    char summary[4096];
    cnn_arch_summary(&arch, summary, sizeof summary);
    FUZZ_CHECK(arch.nlayers >= 1 && cnn_arch_mb(&arch) >= 0, "an accepted network has layers");
    cnn_arch_free(&arch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *path = fuzz_file("job.ini", data, size);
    job_t job;
    nn_error_clear();
    int rc = job_load(path, &job);
    if (rc != 0) {
        FUZZ_CHECK(rc == NN_ERR_INPUT || rc == NN_ERR_NOMEM, "job_load status");
        FUZZ_CHECK(strncmp(nn_errmsg(), path, strlen(path)) == 0, "the message names the file");
        FUZZ_CHECK(job.text == NULL && job.lines == NULL, "a refused job holds nothing");
        return 0;
    }
    FUZZ_CHECK(job.text && strlen(job.text) == size, "the job keeps its whole text");
    check_grid(&job.nngp.depth, 1, 1);
    check_grid(&job.nngp.sigma_w2, 0, 0);
    check_grid(&job.nngp.sigma_b2, 0, 0);
    FUZZ_CHECK(job.data.nclasses >= 2 && job.data.nclasses <= DATASET_MAX_CLASSES,
               "2..10 classes");
    FUZZ_CHECK(memchr(job.output.file, 0, sizeof job.output.file) != NULL,
               "the output path is terminated");
    if (job.limit.enabled)
        check_grid(&job.limit.widths, 1, 1);
    if (job.network.enabled) {
        check_grid(&job.network.widths, 1, 1);
        check_grid(&job.network.seeds, 1, -INFINITY);
    }
    FUZZ_CHECK(job.cnn.nvariants >= 0 && job.cnn.nvariants <= JOB_MAX_VARIANTS, "variants");
    if (job.cnn.enabled) {
        parse_layers(&job.cnn.base, &job.data);
        for (int v = 0; v < job.cnn.nvariants; v++) {
            parse_layers(&job.cnn.variants[v], &job.data);
            char value[256];
            for (int k = 0; job_cnn_setting(&job.cnn.variants[v], k, value, sizeof value); k++)
                FUZZ_CHECK(memchr(value, 0, sizeof value) != NULL, "settings are terminated");
        }
    }
    job_free(&job);
    return 0;
}
