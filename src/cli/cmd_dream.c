/* cmd_dream.c - `nnsweep dream JOB.ini [--out FILE] [--resume | --restart] [--quiet]`: parse the
 * options, start MPI, load the job (and the data only for image = test:INDEX), dream every
 * (layer set, steps) pair of the [dream] section (sweep_dream), then the report and the PNGs. */

#include <string.h>

#include "cli.h"
#include "sweep.h"

static const char dream_usage[] =
    "usage: nnsweep dream JOB.ini [--out FILE] [--resume | --restart] [--quiet]\n"
    "\n"
    "Dreams with a trained network (DeepDream): gradient ascent on an image that maximises the\n"
    "sum of the L2 norms of a layer set's activations, each step's gradient divided by its mean\n"
    "absolute value. The job's [dream] section names the model (a CNN results file of\n"
    "`nnsweep cnn`, with run = NAME when it holds several, or a file converted by\n"
    "scripts/torchvision_to_nnsweep.py), the image (a PNG of any size, test:INDEX of the job's\n"
    "[data], or noise), the layer sets (layers = relu1, conv2, relu1+relu2: positions or names of\n"
    "the model's layer listing, before its first dense layer) and the step counts (steps = 10,\n"
    "50, 200), with learning_rate, octaves, octave_scale, jitter and seed. Every (set, steps)\n"
    "pair is a work item handed to the ranks (mpirun -np N / srun); with one octave a set's run\n"
    "records every smaller step count on its way. FILE holds /dream/<set>/steps_<N>/image and\n"
    "objective; the PNGs (every dream and the grid) go to FILE without .h5 + '-png/'.\n"
    "\n"
    "  --out FILE     results file (default: [output] file, else results/<job name>.h5)\n"
    "  --resume       keep the dreams an earlier run of the same job finished in FILE\n"
    "  --restart      start over: an existing FILE is first renamed to FILE.old-<UTC time>\n"
    "  --quiet        no progress output\n"
    "\n"
    "SIGTERM or SIGUSR1 stops after the dreams in progress, writes FILE with state\n"
    "'interrupted' and exits with status 75: run again with --resume.\n";

static int has_dream(const job_t *job) { return job->dream.enabled; }

static int dream_needs_data(const job_t *job)
{
    return strncmp(job->dream.image, "test:", 5) == 0;
}

int cmd_dream(int argc, char **argv)
{
    /* dreams side by side, one per thread: each computed the same way on any layout */
    static const cli_experiment_t dream = {.name = "dream", .usage = dream_usage,
                                           .can_resume = 1, .has_section = has_dream,
                                           .needs_data = dream_needs_data,
                                           .figures_beside = 1, .run = sweep_dream};
    return cli_run_experiment(&dream, argc, argv);
}
