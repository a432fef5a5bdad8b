/* dataset_checks.c - contract checks shared by the dataset-reader harnesses (dataset_checks.h). */
#include "dataset_checks.h"

#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "nn_error.h"

void fuzz_check_read_failure(int rc, const rawdata_t *raw, const char *const *paths, int n)
{
    FUZZ_CHECK(rc == NN_ERR_INPUT || rc == NN_ERR_NOMEM, "reader status");
    const char *msg = nn_errmsg();
    int named = 0;
    for (int i = 0; i < n && !named; i++)
        named = strstr(msg, paths[i]) != NULL;
    FUZZ_CHECK(named, "the message names a file");
    FUZZ_CHECK(raw->n == (int)0xA5A5A5A5, "*out untouched on error");
}

void fuzz_check_dataset_load(data_spec_t *spec, const char *file, int dim)
{
    snprintf(spec->path, sizeof spec->path, "%.*s", (int)(strrchr(file, '/') - file), file);
    dataset_t ds;
    int rc = dataset_load(spec, &ds);
    if (rc != 0) {
        FUZZ_CHECK(rc == NN_ERR_INPUT || rc == NN_ERR_NOMEM, "dataset_load status");
        return;
    }
    FUZZ_CHECK(ds.train.n == spec->train && ds.test.n == spec->test, "split sizes");
    FUZZ_CHECK(dim == 0 || ds.dim == dim, "features");
    dataset_free(&ds);
}
