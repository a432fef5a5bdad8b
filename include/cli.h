/* cli.h - the subcommands of the nnsweep program and the steps they share. Each cmd_ function
 * takes the arguments after the subcommand name and returns an exit status (nn_error.h). */
#ifndef CLI_H
#define CLI_H

#include "dataset.h"
#include "job.h"
#include "sweep.h"

int cmd_nngp(int argc, char **argv);
int cmd_cnn(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dream(int argc, char **argv);

/* Collective: rank 0 reads and validates the job file, the text is broadcast and parsed on the
 * other ranks. Returns 0 or the agreed error. */
int cli_load_job(const char *path, job_t *job);
/* Collective: rank 0 reads the data, every rank receives a copy. Returns 0 or the agreed error. */
int cli_load_data(const job_t *job, dataset_t *ds);
/* Chooses the rank's threads from the cores it may use (affinity mask shared by the node's ranks,
 * SLURM_CPUS_PER_TASK; OMP_NUM_THREADS wins) and sets OpenMP to them and BLAS to one thread, or to
 * them all when threads_to_blas; logs the layout (nn_threads.h). Collective. Returns the count. */
int cli_set_threads(int threads_to_blas);
/* mkdir -p dir, which must then be a writable directory. Returns 0, or -1 with the reason in
 * why ("cannot create directory 'P': ...", "not a directory", "directory not writable: ..."). */
int cli_make_dir(const char *dir, char *why, size_t len);
/* argv joined by spaces, malloc'd. */
char *cli_command_line(int argc, char **argv);
/* Prints the agreed error on rank 0 and returns its exit status. */
int cli_report_error(int status);

/* A computing command: `nnsweep NAME JOB.ini [--out FILE] [--resume] [--bench STEPS] [--quiet]`. */
typedef struct {
    const char *name;                        /* command and job section: "nngp", "cnn" */
    const char *usage;                       /* --help text */
    int can_resume;                          /* accepts --resume */
    int can_bench;                           /* accepts --bench STEPS (sweep_options_t) */
    int threads_to_blas;                     /* the rank's threads go to BLAS (one item at a
                                                time) rather than to items side by side */
    int (*has_section)(const job_t *job);
    int (*needs_data)(const job_t *job);     /* optional: 0 when the run reads no dataset */
    int figures_beside;                      /* the report also draws its figures into FILE
                                                without .h5 + "-png/" */
    int (*run)(const job_t *job, const dataset_t *ds, const sweep_options_t *opt);
} cli_experiment_t;

/* The whole life of a computing command: options, MPI, the job and data loaded on rank 0 and
 * broadcast, threads, the run, the report table, one error message. Returns an exit status. */
int cli_run_experiment(const cli_experiment_t *e, int argc, char **argv);

#endif
