/* nn_threads.h - the cores a rank may use and who runs on them: OpenMP threads running work items
 * side by side, or the threads of an item that has the rank to itself (the row strips of its
 * solves; BLAS's own threads in a ScaLAPACK item and in the CNN's layers). The only module that
 * sets BLAS threads: an exported OPENBLAS_NUM_THREADS (or GOTO_/OMP_ variables read by OpenBLAS
 * at load) never decides them. Knows nothing of MPI: the caller counts the ranks. */
#ifndef NN_THREADS_H
#define NN_THREADS_H

#include <stddef.h>

typedef struct {
    int cores;              /* cores this rank may use */
    const char *cores_from; /* what said so: "affinity mask", "SLURM_CPUS_PER_TASK", ... */
    int threads;            /* threads of the rank: items side by side, or one item's threads */
    const char *threads_from;   /* "cores" or "OMP_NUM_THREADS" */
    int threads_to_blas;    /* 1: the threads go to BLAS inside one item at a time (the CNN) */
    int ranks, ranks_on_node;   /* MPI ranks in all and on this rank's node (set by the caller) */
} threads_layout_t;

/* Cores in this process's affinity mask (sched_getaffinity), or the online cores if it cannot
 * be read. Not collective. */
int threads_mask_cores(void);
/* The affinity mask as THREADS_MASK_BYTES bytes, for comparing with other ranks' (all zero if it
 * cannot be read). */
enum { THREADS_MASK_BYTES = 128 };
void threads_mask_key(unsigned char key[THREADS_MASK_BYTES]);

/* The layout of one rank. mask_cores: cores in its affinity mask; sharing: ranks on the node with
 * the same mask (>= 1; they split it); slurm_cpus: $SLURM_CPUS_PER_TASK or NULL (caps the cores:
 * under mpirun inside an allocation the mask may be the whole node); omp: $OMP_NUM_THREADS or
 * NULL (the user's threads per rank, which win over the cores). Pure: tested alone. */
threads_layout_t threads_choose(int mask_cores, int sharing, const char *slurm_cpus,
                                const char *omp);

/* The process's layout: set once at start-up, read by the scheduler and the results file. */
void threads_set_layout(const threads_layout_t *layout);
const threads_layout_t *threads_layout(void);

/* Sets the threads of every BLAS call that follows (n >= 1) and returns the previous count, to be
 * set back when the phase ends. Call only where no other thread is inside a BLAS call. */
int threads_set_blas(int n);
/* Threads an item may use for its own parallel steps (the row strips of its triangular solves):
 * 1 while items run side by side, the rank's threads for an item alone on its rank. Set by the
 * scheduler around such an item. */
void threads_set_item(int n);
int threads_item(void);
/* The BLAS library and its kernels, e.g. "OpenBLAS 0.3.21 ... (Haswell kernels)". */
const char *threads_blas_name(void);

/* One line describing the layout, for the log and the results file. */
void threads_describe(const threads_layout_t *l, char *buf, size_t len);

#endif
