/* par.c - MPI start-up, communicators and their collectives, broadcasts, failure agreement,
 * hosts and the SLURM launch check. With par_schedule.c (the scheduler) the only code that calls
 * MPI; everything else holds a communicator as a par_comm_t handle. */
#include "par.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "nn_log.h"

/* The one BLACS routine that takes an MPI communicator (BLACS C interface; the other BLACS,
 * PBLAS and ScaLAPACK prototypes are in src/nngp/scalapack.h). */
int Csys2blacs_handle(MPI_Comm comm);

struct par_comm {
    MPI_Comm comm;
};

static const struct par_comm world = {MPI_COMM_WORLD};   /* par_world() */

/* ---- communicators ---- */

const par_comm_t *par_world(void) { return &world; }

int par_comm_rank(const par_comm_t *c)
{
    int r;
    MPI_Comm_rank(c->comm, &r);
    return r;
}

int par_comm_size(const par_comm_t *c)
{
    int s;
    MPI_Comm_size(c->comm, &s);
    return s;
}

/* A handle for comm, a new communicator; NULL (comm released) when out of memory. */
static par_comm_t *comm_wrap(MPI_Comm comm)
{
    par_comm_t *c = malloc(sizeof *c);
    if (!c) {
        MPI_Comm_free(&comm);
        nn_fail(NN_ERR_NOMEM, "out of memory for a communicator");
        return NULL;
    }
    c->comm = comm;
    return c;
}

par_comm_t *par_comm_dup(const par_comm_t *c)
{
    MPI_Comm comm;
    MPI_Comm_dup(c->comm, &comm);
    return comm_wrap(comm);
}

par_comm_t *par_comm_split(const par_comm_t *c, int color, int key)
{
    MPI_Comm comm;
    MPI_Comm_split(c->comm, color, key, &comm);
    return comm_wrap(comm);
}

void par_comm_free(par_comm_t **c)
{
    if (!c || !*c)
        return;
    MPI_Comm_free(&(*c)->comm);
    free(*c);
    *c = NULL;
}

void par_barrier(const par_comm_t *c) { MPI_Barrier(c->comm); }

/* v[0..n) in place, element by element over c: one MPI_Allreduce per INT_MAX elements (MPI counts
 * are int), so any array below that takes exactly one call, n = 0 included. */
static void allreduce(const par_comm_t *c, void *v, size_t n, MPI_Datatype type, size_t size,
                      MPI_Op op)
{
    char *p = v;
    do {
        int count = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        MPI_Allreduce(MPI_IN_PLACE, p, count, type, op, c->comm);
        p += (size_t)count * size;
        n -= (size_t)count;
    } while (n > 0);
}

void par_sum_doubles(const par_comm_t *c, double *v, size_t n)
{
    allreduce(c, v, n, MPI_DOUBLE, sizeof *v, MPI_SUM);
}

void par_sum_floats(const par_comm_t *c, float *v, size_t n)
{
    allreduce(c, v, n, MPI_FLOAT, sizeof *v, MPI_SUM);
}

void par_sum_ints(const par_comm_t *c, int *v, size_t n)
{
    allreduce(c, v, n, MPI_INT, sizeof *v, MPI_SUM);
}

void par_min_ints(const par_comm_t *c, int *v, size_t n)
{
    allreduce(c, v, n, MPI_INT, sizeof *v, MPI_MIN);
}

void par_max_ints(const par_comm_t *c, int *v, size_t n)
{
    allreduce(c, v, n, MPI_INT, sizeof *v, MPI_MAX);
}

int par_comm_bcast(const par_comm_t *c, void *buf, size_t bytes, int root)
{
    char *p = buf;
    while (bytes > 0) {   /* MPI counts are int: send in chunks below INT_MAX */
        int chunk = bytes > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)bytes;
        if (MPI_Bcast(p, chunk, MPI_BYTE, root, c->comm) != MPI_SUCCESS)
            return nn_fail(NN_ERR_RUNTIME, "MPI_Bcast of %d bytes failed", chunk);
        p += chunk;
        bytes -= (size_t)chunk;
    }
    return NN_OK;
}

int par_gather(const par_comm_t *c, const void *mine, void *all, size_t bytes, int root)
{
    if (bytes > (size_t)INT_MAX ||
        MPI_Gather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, root, c->comm) !=
            MPI_SUCCESS)
        return nn_fail(NN_ERR_RUNTIME, "MPI_Gather of %zu bytes per rank failed", bytes);
    return NN_OK;
}

int par_scatter(const par_comm_t *c, const void *all, void *mine, size_t bytes, int root)
{
    if (bytes > (size_t)INT_MAX ||
        MPI_Scatter(all, (int)bytes, MPI_BYTE, mine, (int)bytes, MPI_BYTE, root, c->comm) !=
            MPI_SUCCESS)
        return nn_fail(NN_ERR_RUNTIME, "MPI_Scatter of %zu bytes per rank failed", bytes);
    return NN_OK;
}

int par_blacs_handle(const par_comm_t *c) { return Csys2blacs_handle(c->comm); }

/* ---- start-up and all ranks ---- */

int par_init(int *argc, char ***argv)
{
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return nn_fail(NN_ERR_RUNTIME, "MPI_Init_thread failed");
    log_set_rank(par_rank(), par_size());
    return NN_OK;
}

void par_finalize(void) { MPI_Finalize(); }

int par_rank(void)
{
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int par_size(void)
{
    int s;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

void par_abort(int exit_status)
{
    MPI_Abort(MPI_COMM_WORLD, exit_status);
    abort();   /* not reached */
}

int par_agree(int status)
{
    int rank = par_rank(), size = par_size();
    int mine = status != NN_OK ? rank : size, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size)
        return NN_OK;
    int agreed = status;
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", nn_errmsg());
    MPI_Bcast(&agreed, 1, MPI_INT, first, MPI_COMM_WORLD);
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
    if (rank != first)
        nn_fail(agreed, "%s", msg);
    return agreed;
}

int par_max_int(int x)
{
    par_max_ints(&world, &x, 1);
    return x;
}

double par_min_double(double x)
{
    double m;
    MPI_Allreduce(&x, &m, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    return m;
}

int par_node_size(void)
{
    MPI_Comm node;
    int n;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &n);
    MPI_Comm_free(&node);
    return n;
}

int par_node_count_same(const void *key, size_t bytes)
{
    MPI_Comm node;
    int n, same = 1;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &n);
    unsigned char *all = malloc((size_t)n * bytes);
    if (all && MPI_Allgather(key, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, node) ==
                   MPI_SUCCESS) {
        same = 0;
        for (int r = 0; r < n; r++)
            same += memcmp(all + (size_t)r * bytes, key, bytes) == 0;
    }
    free(all);
    MPI_Comm_free(&node);
    return same;
}

int par_bcast(void *buf, size_t bytes, int root)
{
    return par_comm_bcast(&world, buf, bytes, root);
}

int par_bcast_text(char **text, int root)
{
    long long len = par_rank() == root ? (long long)strlen(*text) : 0;
    MPI_Bcast(&len, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD);
    if (par_rank() != root) {
        *text = malloc((size_t)len + 1);
        if (!*text)
            return nn_fail(NN_ERR_NOMEM, "cannot allocate %lld bytes for a broadcast", len + 1);
    }
    return par_bcast(*text, (size_t)len + 1, root);
}

/* One split of a dataset from root (the others allocate its arrays). Returns 0 or an error. */
static int bcast_split(split_t *s, int dim, int ntargets, int root)
{
    size_t n = (size_t)s->n;
    if (par_rank() != root && split_alloc(s, s->n, dim, ntargets) != NN_OK)
        return NN_ERR_NOMEM;
    int st = NN_OK;
    if (!st) st = par_bcast(s->x, n * (size_t)dim * sizeof *s->x, root);
    if (!st) st = par_bcast(s->y, n * (size_t)ntargets * sizeof *s->y, root);
    if (!st) st = par_bcast(s->label, n * sizeof *s->label, root);
    if (!st) st = par_bcast(s->source_index, n * sizeof *s->source_index, root);
    if (!st) st = par_bcast(s->pixels, n * (size_t)dim, root);
    return st;
}

int par_bcast_dataset(dataset_t *ds, int root)
{
    /* The struct itself carries the sizes; its pointers are meaningless on other ranks. */
    dataset_t header = *ds;
    int st = par_bcast(&header, sizeof header, root);
    if (st)
        return st;
    if (par_rank() != root) {
        memset(ds, 0, sizeof *ds);
        *ds = header;
        split_t *splits[3] = {&ds->train, &ds->validation, &ds->test};
        for (int i = 0; i < 3; i++) {
            int n = splits[i]->n;
            memset(splits[i], 0, sizeof *splits[i]);
            splits[i]->n = n;
        }
    }
    st = bcast_split(&ds->train, ds->dim, ds->ntargets, root);
    if (!st) st = bcast_split(&ds->validation, ds->dim, ds->ntargets, root);
    if (!st) st = bcast_split(&ds->test, ds->dim, ds->ntargets, root);
    return st;
}

char *par_hostnames(void)
{
    int size = par_size(), len;
    char mine[MPI_MAX_PROCESSOR_NAME];
    memset(mine, 0, sizeof mine);
    MPI_Get_processor_name(mine, &len);
    char *all = calloc((size_t)size, MPI_MAX_PROCESSOR_NAME);
    char *out = calloc((size_t)size, MPI_MAX_PROCESSOR_NAME + 1);
    if (!all || !out) {
        free(all);
        free(out);
        return NULL;
    }
    MPI_Allgather(mine, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                  MPI_COMM_WORLD);
    for (int r = 0; r < size; r++) {
        const char *name = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        int seen = 0;
        for (int q = 0; q < r && !seen; q++)
            seen = strcmp(name, all + (size_t)q * MPI_MAX_PROCESSOR_NAME) == 0;
        if (!seen) {
            if (*out)
                strcat(out, ",");
            strcat(out, name);
        }
    }
    free(all);
    return out;
}

int par_check_slurm(void)
{
    /* Only a process started by srun (a job step) is checked: inside the batch script, mpirun
     * starts its ranks through its own daemons and marks them with OMPI_COMM_WORLD_SIZE. */
    if (!getenv("SLURM_JOB_ID") || !getenv("SLURM_STEP_ID") || getenv("OMPI_COMM_WORLD_SIZE"))
        return NN_OK;
    const char *ntasks = getenv("SLURM_STEP_NUM_TASKS");
    if (!ntasks)
        ntasks = getenv("SLURM_NTASKS");
    int expected = ntasks ? atoi(ntasks) : 0;
    if (expected > 0 && expected != par_size())
        return nn_fail(NN_ERR_INPUT,
                       "running under SLURM with SLURM_NTASKS=%d but MPI_COMM_WORLD has %d rank(s): "
                       "the launcher started independent single ranks (use srun --mpi=pmix, or "
                       "mpirun inside the allocation)",
                       expected, par_size());
    return NN_OK;
}
