/* layout.c - the solver, process grid, storage mode and memory of an NNGP job (nngp_layout.h). */
#include "nngp_layout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_error.h"
#include "nn_units.h"
#include "nngp_check.h"
#include "pgp.h"

/* The replicated problem: points (float64) and targets of every split, labels and diagonals. */
static double data_bytes(const nngp_sizes_t *z)
{
    double n = (double)z->ntrain + z->ntest + z->nvalid;
    return 8.0 * n * (z->dim + z->ntargets + 4);
}

double nngp_lapack_bytes(const nngp_sizes_t *z, int threads, int covariance)
{
    double n = z->ntrain, mv = (double)z->ntest + z->nvalid, m = z->ntest;
    double gram = n * n + mv * n;                    /* shared by the threads */
    double per_thread = 2 * n * n + m * n;           /* kernel being stepped, factor, test block
                                                        (validation rows only ever in a tile) */
    if (z->ntk)   /* Theta's train and test blocks beside K's */
        per_thread += n * n + m * n;
    /* each thread's work object keeps the buffers of the posteriors it computes */
    double post = n * m + (covariance ? 2 * m * m : 0);   /* a reported model's posterior */
    return 8.0 * (gram + threads * (per_thread + post)) +
           threads * nngp_check_bytes(z->ntrain, z->ntargets) + data_bytes(z);
}

double nngp_scalapack_bytes(const nngp_sizes_t *z, int nprow, int npcol, int nb, int store,
                            int covariance)
{
    return (double)pgp_work_bytes(z->ntrain, z->ntest, z->nvalid, z->ntargets, nprow, npcol, nb,
                                  (pgp_store_t)store, z->ntk) +
           fmax((double)pgp_posterior_bytes(z->ntrain, z->ntest, nprow, npcol, nb, covariance),
                nngp_check_bytes(z->ntrain, z->ntargets)) +   /* one after the other */
           data_bytes(z);
}

int nngp_memory_per_rank(int ranks_on_node, double *bytes)
{
    const char *over = getenv("NNSWEEP_MEM_PER_RANK");
    if (over && *over) {
        double size = nn_parse_bytes(over);
        if (size <= 0)
            return nn_fail(NN_ERR_INPUT, "NNSWEEP_MEM_PER_RANK = '%s' is not a size (bytes, or "
                           "with a K/M/G/T suffix, e.g. 3500M or 180G)", over);
        *bytes = size;
        return NN_OK;
    }
    double node = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    const char *per_node = getenv("SLURM_MEM_PER_NODE"), *per_cpu = getenv("SLURM_MEM_PER_CPU");
    const char *cpus = getenv("SLURM_CPUS_ON_NODE");
    if (per_node && atof(per_node) > 0)   /* SLURM gives megabytes */
        node = atof(per_node) * 1024 * 1024;
    else if (per_cpu && atof(per_cpu) > 0 && cpus && atoi(cpus) > 0)
        node = atof(per_cpu) * 1024 * 1024 * atoi(cpus);
    *bytes = 0.85 * node / (ranks_on_node > 0 ? ranks_on_node : 1);
    return NN_OK;
}

const char *nngp_solver_name(solver_t s)
{
    return s == SOLVER_SCALAPACK ? "scalapack" : s == SOLVER_LAPACK ? "lapack" : "auto";
}

const char *nngp_store_name(int store)
{
    return store == PGP_STORE_GRAM ? "gram" : store == PGP_STORE_LAYER ? "layer"
           : store == PGP_STORE_FACTOR ? "factor" : "-";
}

/* The smallest group size whose automatic grid fits the factor store in budget (0: none up to
 * 2^20 ranks). */
static int smallest_group(const nngp_sizes_t *z, int nb, int cov, double budget)
{
    for (int g = 1; g <= (1 << 20); g *= 2) {
        int p, q;
        pgp_grid_shape(g, &p, &q);
        if (nngp_scalapack_bytes(z, p, q, nb, z->ntk ? PGP_STORE_LAYER : PGP_STORE_FACTOR,
                                 cov) <= budget)
            return g;
    }
    return 0;
}

int nngp_layout_choose(const nngp_spec_t *spec, const nngp_sizes_t *z, int threads, double budget,
                       nngp_layout_t *out)
{
    char b1[32], b2[32];
    memset(out, 0, sizeof *out);
    out->budget = budget;
    out->group_size = spec->group_size;
    int cov = spec->covariance, g = spec->group_size;
    double lapack = nngp_lapack_bytes(z, threads, cov);
    solver_t s = spec->solver;
    if (s == SOLVER_AUTO)
        s = g == 1 && lapack <= budget ? SOLVER_LAPACK : SOLVER_SCALAPACK;
    out->solver = s;
    if (s == SOLVER_LAPACK) {
        out->nprow = out->npcol = 1;
        out->store = -1;
        out->bytes = lapack;
        if (g != 1)
            return nn_fail(NN_ERR_INPUT, "[nngp] solver = lapack computes an item on one rank: "
                           "group_size must be 1 (it is %d); use solver = scalapack or auto", g);
        if (lapack > budget)
            return nn_fail(NN_ERR_INPUT, "[nngp] solver = lapack needs %s per rank with %d thread(s) "
                           "(%d training points), more than the %s a rank may use; use solver = "
                           "auto or scalapack%s", nn_bytes_text(lapack, b1, sizeof b1), threads,
                           z->ntrain, nn_bytes_text(budget, b2, sizeof b2),
                           threads > 1 ? ", or fewer threads" : "");
        return NN_OK;
    }
    out->nb = spec->block_size > 0 ? spec->block_size : PGP_NB_DEFAULT;
    int p = spec->grid_p, q = spec->grid_q;
    if (p <= 0 && q <= 0)
        pgp_grid_shape(g, &p, &q);
    if (p * q != g)
        return nn_fail(NN_ERR_INPUT, "[nngp] grid %dx%d does not have group_size = %d ranks", p, q, g);
    out->nprow = p;
    out->npcol = q;
    out->store = pgp_store_choose(z->ntrain, z->ntest, z->nvalid, z->ntargets, p, q, out->nb, cov,
                                  (size_t)(budget > data_bytes(z) ? budget - data_bytes(z) : 0),
                                  z->ntk);
    /* a job that builds one kernel (one variance pair, one depth) has nothing to keep (but the
     * NTK's step needs K beside Theta) */
    int least = z->ntk ? PGP_STORE_LAYER : PGP_STORE_FACTOR;
    if (out->store > least && spec->sigma_w2.n * spec->sigma_b2.n == 1 && spec->depth.n == 1)
        out->store = least;
    out->bytes = nngp_scalapack_bytes(z, p, q, out->nb, out->store < 0 ? least : out->store, cov);
    if (out->store < 0) {
        int need = smallest_group(z, out->nb, cov, budget);
        char hint[128] = "";
        if (need > 0)
            snprintf(hint, sizeof hint, ": use group_size >= %d (ranks on more nodes)", need);
        else if (data_bytes(z) > budget)
            snprintf(hint, sizeof hint, ": the data alone, which every rank holds, take %s",
                     nn_bytes_text(data_bytes(z), b1, sizeof b1));
        char b3[32];
        return nn_fail(NN_ERR_INPUT, "[nngp] %d training points need %s per rank on a %dx%d "
                       "ScaLAPACK grid, more than the %s a rank may use%s", z->ntrain,
                       nn_bytes_text(out->bytes, b3, sizeof b3), p, q,
                       nn_bytes_text(budget, b2, sizeof b2), hint);
    }
    return NN_OK;
}

int nngp_layout_choose_search(const nngp_spec_t *spec, const nngp_sizes_t *z, int threads,
                              double budget, nngp_layout_t *out)
{
    nngp_spec_t single = *spec;
    single.solver = SOLVER_AUTO;
    single.group_size = 1;
    if (nngp_layout_choose(&single, z, threads, budget, out) == NN_OK &&
        out->solver == SOLVER_LAPACK)
        return NN_OK;
    return nngp_layout_choose(spec, z, threads, budget, out);
}

int nngp_layout_choose_fits(const nngp_spec_t *spec, const nngp_sizes_t *z, int threads,
                            double budget, int nfits, nngp_layout_t *out)
{
    nngp_spec_t fits = *spec;   /* nfits kernels, one per fit, as a grid of nfits pairs */
    double one = 1.0;
    fits.depth = (grid_t){&one, 1};
    fits.sigma_b2 = (grid_t){&one, 1};
    fits.sigma_w2.n = nfits;
    return nngp_layout_choose(&fits, z, threads, budget, out);
}
