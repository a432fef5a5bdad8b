/* cmd_nngp.c - `nnsweep nngp JOB.ini [--out FILE] [--resume | --restart] [--strict]`: the NNGP sweep through the shared
 * driver (cli_run_experiment); the sweep itself is sweep_nngp. */

#include "cli.h"
#include "sweep.h"

static const char nngp_usage[] =
    "usage: nnsweep nngp JOB.ini [--out FILE] [--resume | --restart] [--strict] [--quiet]\n"
    "\n"
    "Runs the NNGP sweep of a job file: for every (sigma_w2, sigma_b2) pair the kernel recursion\n"
    "gives every depth in one pass; each depth is one Cholesky factorization. MPI ranks share the\n"
    "grid (mpirun -np N / srun). The results file is rewritten after every finished item.\n"
    "\n"
    "  --out FILE   results file (default: [output] file, else results/<job name>.h5)\n"
    "  --resume     skip the items an earlier run of the same job finished in FILE; starts from\n"
    "               the beginning when FILE does not exist (so job scripts can always pass it)\n"
    "  --restart    start over: an existing FILE (damaged, or from another job) is first\n"
    "               renamed to FILE.old-<UTC time>, and the run says so\n"
    "  --strict     exit status 3 when the self-check FAILED: every reported fit is checked by\n"
    "               scaled residuals of its solve and factorization (/nngp/check; without\n"
    "               --strict a FAILED check is a warning)\n"
    "  --quiet      no progress output\n"
    "\n"
    "SIGTERM or SIGUSR1 stops the sweep at the next item boundary, writes the file with state\n"
    "'interrupted' and exits with status 75: run again with --resume.\n";

static int has_nngp(const job_t *job) { return job->nngp.enabled; }

int cmd_nngp(int argc, char **argv)
{
    static const cli_experiment_t nngp = {.name = "nngp", .usage = nngp_usage, .can_resume = 1,
                                          .threads_to_blas = 0, .has_section = has_nngp,
                                          .run = sweep_nngp};
    return cli_run_experiment(&nngp, argc, argv);
}
