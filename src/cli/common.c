/* common.c - steps the computing subcommands share: loading the job and the data on rank 0 and
 * broadcasting them, choosing threads per rank, and reporting an agreed error once. */
#include "cli.h"

#include <cblas.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_error.h"
#include "nn_log.h"
#include "par.h"

int cli_load_job(const char *path, job_t *job)
{
    memset(job, 0, sizeof *job);
    int st = par_rank() == 0 ? job_load(path, job) : NN_OK;
    st = par_agree(st);
    if (st != NN_OK)
        return st;
    char *text = par_rank() == 0 ? job->text : NULL;
    st = par_bcast_text(&text, 0);
    if (st == NN_OK && par_rank() != 0) {
        st = job_parse(text, path, job);   /* valid: rank 0 accepted the same text */
        free(text);
    }
    return par_agree(st);
}

int cli_load_data(const job_t *job, dataset_t *ds)
{
    memset(ds, 0, sizeof *ds);
    int st = par_rank() == 0 ? dataset_load(&job->data, ds) : NN_OK;
    st = par_agree(st);
    if (st == NN_OK)
        st = par_agree(par_bcast_dataset(ds, 0));
    return st;
}

int cli_set_threads(void)
{
    MPI_Comm node;
    int local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = (int)(cores / local);
    if (threads < 1)
        threads = 1;
    const char *omp = getenv("OMP_NUM_THREADS"), *blas = getenv("OPENBLAS_NUM_THREADS");
    if (omp && *omp)
        threads = atoi(omp) > 0 ? atoi(omp) : 1;
    else
        omp_set_num_threads(threads);
    /* BLAS stays single-threaded: threads run whole items instead, so every item is computed by
     * the same sequence of operations whatever the number of ranks and threads, and results are
     * bit-identical at any scale. */
    if (!(blas && *blas))
        openblas_set_num_threads(1);
    return threads;
}

char *cli_command_line(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int cli_report_error(int status)
{
    if (status != NN_OK && par_rank() == 0) {
        if (status == NN_ERR_INTERRUPTED)
            log_warn("%s; checkpoint written, run again with --resume (exit status %d)",
                     nn_errmsg(), NN_EXIT_RESUME);
        else
            log_error("%s", nn_errmsg());
    }
    return nn_exit_status(status);
}
