/* cmd_cnn.c - `nnsweep cnn JOB.ini [--out FILE] [--resume | --restart] [--strict] [--bench STEPS] [--quiet]`: parse the
 * options, start MPI, load and broadcast the job and data, train every run of the job or
 * benchmark the first (sweep_cnn). */

#include "cli.h"
#include "sweep.h"

static const char cnn_usage[] =
    "usage: nnsweep cnn JOB.ini [--out FILE] [--resume | --restart] [--strict] [--bench STEPS] [--quiet]\n"
    "\n"
    "Trains the CNN of a job file's [cnn] section, or one run per [variant NAME] section.\n"
    "Each run is trained data-parallel by a group of group_size MPI ranks (default: all ranks):\n"
    "identical replicas, every global batch split across the group, gradients summed over it.\n"
    "Runs are handed to groups dynamically (mpirun -np N / srun). The results file is rewritten\n"
    "after every finished run: /cnn/<run>/ holds the per-epoch curves, the confusion matrix, the\n"
    "accuracy under input noise and the trained weights.\n"
    "\n"
    "  --out FILE     results file (default: [output] file, else results/<job name>.h5)\n"
    "  --resume       keep the runs an earlier run of the same job finished in FILE and continue\n"
    "                 the others from their checkpoints; starts from the beginning when FILE does\n"
    "                 not exist (so job scripts can always pass it)\n"
    "  --restart      start over: an existing FILE (damaged, or from another job) is first\n"
    "                 renamed to FILE.old-<UTC time>, and the run says so\n"
    "  --strict       exit status 3 when the self-check FAILED (every rank of a group must end\n"
    "                 with the same weights, and the final losses must be finite)\n"
    "  --bench STEPS  benchmark instead: train the first run ([cnn], or the first variant) on all\n"
    "                 ranks for 2 warm-up + STEPS timed steps of the job's data (dataset =\n"
    "                 synthetic needs no files; see jobs/bench-cnn.ini); prints 'images/s: N'\n"
    "                 and writes no results file\n"
    "  --quiet        no progress output\n"
    "\n"
    "A run in progress is checkpointed after every epoch to FILE.ckpt/<run>.h5 (removed once the\n"
    "run is in FILE). SIGTERM or SIGUSR1 stops every run at its next training step, writes its\n"
    "checkpoint and FILE with state 'interrupted' and exits with status 75: run again with\n"
    "--resume, which gives the same weights bit for bit as an uninterrupted run.\n";

static int has_cnn(const job_t *job) { return job->cnn.enabled; }

int cmd_cnn(int argc, char **argv)
{
    /* One run per group at a time: the rank's cores go to BLAS inside the layers. */
    static const cli_experiment_t cnn = {.name = "cnn", .usage = cnn_usage, .can_resume = 1,
                                         .can_bench = 1,
                                         .threads_to_blas = 1, .has_section = has_cnn,
                                         .run = sweep_cnn};
    return cli_run_experiment(&cnn, argc, argv);
}
