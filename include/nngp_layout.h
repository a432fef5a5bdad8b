/* nngp_layout.h - how an NNGP job is laid out on the machine: which solver computes a work item
 * (LAPACK on one rank, or ScaLAPACK on a group of ranks), the ScaLAPACK process grid, block size
 * and storage mode, and the memory a computing rank needs against what it may use. Pure
 * arithmetic shared by the sweep and `nnsweep plan`, so both always agree. */
#ifndef NNGP_LAYOUT_H
#define NNGP_LAYOUT_H

#include "job.h"

/* Sizes of the problem: points of each split, features per point, regression targets. */
typedef struct {
    int ntrain, ntest, nvalid, dim, ntargets;
    int ntk;                /* the NTK's arrays beside the NNGP kernel's (nngp_problem_t.ntk) */
} nngp_sizes_t;

typedef struct {
    solver_t solver;        /* SOLVER_LAPACK or SOLVER_SCALAPACK, never SOLVER_AUTO */
    int group_size;         /* ranks per work item */
    int nprow, npcol, nb;   /* ScaLAPACK grid and block size (1, 1, 0 with LAPACK) */
    int store;              /* pgp_store_t with ScaLAPACK, -1 with LAPACK */
    double bytes;           /* estimated peak per computing rank, data included */
    double budget;          /* bytes a rank may use */
} nngp_layout_t;

/* Bytes of a LAPACK-path rank running `threads` items at once: the Gram blocks, per thread the
 * kernels being stepped, the factor and the solves, and the replicated data. */
double nngp_lapack_bytes(const nngp_sizes_t *z, int threads, int covariance);
/* Bytes of a rank of a nprow x npcol ScaLAPACK grid with this store (pgp_work_bytes plus a
 * reported model's posterior plus the replicated data). */
double nngp_scalapack_bytes(const nngp_sizes_t *z, int nprow, int npcol, int nb, int store,
                            int covariance);

/* Memory a rank may use, into *bytes: 85% of the node's memory (SLURM_MEM_PER_NODE or
 * SLURM_MEM_PER_CPU x SLURM_CPUS_ON_NODE when set under SLURM, else the physical memory) divided
 * by the ranks on the node; NNSWEEP_MEM_PER_RANK (bytes, or with a K/M/G/T suffix) overrides.
 * Returns 0, or NN_ERR_INPUT when NNSWEEP_MEM_PER_RANK is set but not a size (message names it;
 * *bytes untouched). Not collective. */
int nngp_memory_per_rank(int ranks_on_node, double *bytes);

/* Chooses the layout of job spec for sizes z, `threads` items at a time per LAPACK rank, within
 * budget bytes per rank: solver = lapack or scalapack as asked; auto takes LAPACK when
 * group_size is 1 and an item fits, else ScaLAPACK on the group. The ScaLAPACK grid is the job's
 * (or pgp_grid_shape) and the store the fastest that fits; a job that builds a single kernel (one
 * variance pair, one depth) keeps nothing: PGP_STORE_FACTOR, the kernel built straight into the
 * factor's array, the least memory and the least time. Returns 0, or NN_ERR_INPUT with a
 * message saying what would fit (a larger group_size, fewer threads) when nothing does. */
int nngp_layout_choose(const nngp_spec_t *spec, const nngp_sizes_t *z, int threads, double budget,
                       nngp_layout_t *out);

/* The layout of a search's grid ([nngp] search_train, sizes z of the search): LAPACK items on
 * single ranks when one fits (whatever the job's solver and group_size, which are for the fits
 * on every example), else nngp_layout_choose's. */
int nngp_layout_choose_search(const nngp_spec_t *spec, const nngp_sizes_t *z, int threads,
                              double budget, nngp_layout_t *out);

/* The layout of the final fits of a search (nfits models, one kernel each): nngp_layout_choose's
 * for a job of nfits kernels. */
int nngp_layout_choose_fits(const nngp_spec_t *spec, const nngp_sizes_t *z, int threads,
                            double budget, int nfits, nngp_layout_t *out);

/* "lapack" or "scalapack"; the store's name ("gram", "layer", "factor", or "-"). */
const char *nngp_solver_name(solver_t s);
const char *nngp_store_name(int store);

#endif
