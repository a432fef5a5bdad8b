/* main.c - entry point: global options and dispatch to the subcommands. MPI is started only by
 * the subcommands that compute (nngp, cnn, dream). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nn_error.h"
#include "provenance.h"

static const char usage[] =
    "usage: nnsweep [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "NNGP and data-parallel CNN sweeps for HPC clusters; every result goes to one HDF5 file.\n"
    "\n"
    "commands:\n"
    "  nngp JOB.ini [--out FILE] [--resume]   NNGP sweep over depth x sigma_w2 x sigma_b2\n"
    "  cnn JOB.ini [--out FILE] [--resume] [--bench N]\n"
    "                                         data-parallel CNN training and variant sweeps\n"
    "  dream JOB.ini [--out FILE] [--resume]  DeepDream with a trained CNN or converted VGG\n"
    "  plan JOB.ini [--ranks N] [--mem-per-rank SIZE] [--results-file]\n"
    "                                         solver, memory per rank and time estimate, no computing\n"
    "  report FILE.h5 [--format F] [--png DIR] tables and figures from a results file\n"
    "\n"
    "Run a command with --help for its options. Launch the computing commands with\n"
    "  mpirun -np N nnsweep ...   or   srun nnsweep ...   (see slurm/*.sbatch)\n"
    "\n"
    "exit status: 0 success; 1 runtime failure; 2 bad input (job file, data, arguments);\n"
    "             3 self-check FAILED under --strict (results written);\n"
    "             75 interrupted by SIGTERM/SIGUSR1, checkpoint written: run again with --resume\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return NN_EXIT_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return NN_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("nnsweep %s (commit %s, %s)\n", provenance_version(), provenance_commit(),
               provenance_compiler());
        return NN_EXIT_OK;
    }
    struct { const char *name; int (*run)(int, char **); } commands[] = {
        {"nngp", cmd_nngp}, {"cnn", cmd_cnn}, {"plan", cmd_plan}, {"report", cmd_report},
        {"dream", cmd_dream}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "nnsweep: unknown command or option '%s'\n\n%s", cmd, usage);
    return NN_EXIT_INPUT;
}
