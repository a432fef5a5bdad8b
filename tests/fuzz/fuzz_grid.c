/* fuzz_grid.c - libFuzzer harness: grid specifications ("1:8", "1:20:2", "linspace(0.5, 5, 7)",
 * "logspace(-2, 1, 4)", "0, 0.25, 1.5"), the values of [nngp] depth, sigma_w2, sigma_b2 and of
 * the other grid keys. The input is the spec's text (cut at the first NUL, as job files are).
 * Contract: grid_parse returns 0 with 1..100000 finite values, or NN_ERR_INPUT / NN_ERR_NOMEM
 * with a terminated reason and an empty grid; nothing crashes or leaks. */
#include "fuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "nn_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    grid_t g;
    char why[160];
    memset(why, 'x', sizeof why);
    int rc = grid_parse(text, &g, why, sizeof why);
    FUZZ_CHECK(memchr(why, 0, sizeof why) != NULL, "the reason is terminated");
    if (rc != 0) {
        FUZZ_CHECK(rc == NN_ERR_INPUT || rc == NN_ERR_NOMEM, "grid_parse status");
        FUZZ_CHECK(why[0] != '\0', "a refused grid says why");
        FUZZ_CHECK(g.v == NULL && g.n == 0, "a refused grid is empty");
    } else {
        FUZZ_CHECK(g.n >= 1 && g.n <= 100000 && g.v, "1..100000 values");
        for (int i = 0; i < g.n; i++)
            FUZZ_CHECK(isfinite(g.v[i]), "finite values");
    }
    grid_free(&g);
    free(text);
    return 0;
}
