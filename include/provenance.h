/* provenance.h - how a result was produced: program version, git commit, compiler and flags,
 * command line, job text, MPI layout, hosts, SLURM job id, times and state, written as root
 * attributes of a results file. Collecting hostnames needs MPI and is the driver's job. */
#ifndef PROVENANCE_H
#define PROVENANCE_H

#include "h5io.h"

typedef struct {
    const char *command_line;    /* argv joined by spaces */
    const char *job_path;
    const char *job_text;        /* the job file's full text */
    int mpi_size;
    int group_size;
    const char *process_grid;    /* e.g. "1x1", "2x2" */
    const char *hostnames;       /* distinct hosts, comma-separated */
    const char *start_time;      /* ISO 8601 UTC */
    const char *end_time;        /* ISO 8601 UTC, or "" while running */
    const char *state;           /* "running", "complete" or "interrupted" */
} provenance_t;

const char *provenance_version(void);   /* "0.1.0" */
const char *provenance_commit(void);    /* git commit at build time, "-dirty" if modified */
const char *provenance_compiler(void);  /* compiler name and version */
const char *provenance_cflags(void);    /* optimisation and user flags */

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes); returns buf. */
char *provenance_now(char *buf, size_t len);

/* Writes every field as a root attribute (names: program, version, git_commit, compiler,
 * cflags, hdf5_version, command_line, job_file, job_text, mpi_size, group_size, process_grid,
 * hostnames, slurm_job_id (from $SLURM_JOB_ID, "" if unset), start_time, end_time, state), and
 * rank 0's thread layout (threads_per_rank, cores_per_rank, thread_layout, blas; nn_threads.h).
 * NULL strings are written as "". Returns 0 or error. */
int provenance_write(h5file_t *f, const provenance_t *p);

#endif
