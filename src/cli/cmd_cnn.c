/* cmd_cnn.c - `nnsweep cnn`: the job-file [cnn] section is parsed and validated already; the
 * training engine is not part of this version, and the command says so instead of pretending. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nn_error.h"

static const char cnn_usage[] =
    "usage: nnsweep cnn JOB.ini [--out FILE] [--resume]\n"
    "\n"
    "Data-parallel CNN training and variant sweeps. Not available in this version: the [cnn] and\n"
    "[variant NAME] sections of job files are validated, but no training runs yet.\n";

int cmd_cnn(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(cnn_usage, stdout);
            return NN_EXIT_OK;
        }
    fprintf(stderr, "nnsweep: error: CNN training is not available in this version\n");
    return NN_EXIT_RUNTIME;
}
