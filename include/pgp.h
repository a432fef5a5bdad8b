/* pgp.h - the NNGP work item on a group of ranks with ScaLAPACK (float64): the same computation
 * and results as nngp.h, with the train kernel never held whole by any rank.
 * A group of P x Q ranks forms a BLACS grid; every kernel matrix lives in the 2-D block-cyclic
 * layout (square nb x nb blocks, first block on process (0, 0), column-major local arrays). Each
 * rank computes only its own tiles: their Gram entries by local GEMM on the rows they need, then
 * the elementwise recursion of kernel.h with replicated diagonals. pdpotrf factors K + s2 I (with
 * the jitter retry of gp_factor), pdpotrs solves for every target at once, pdgemm gives the test
 * means, a triangular solve the predictive variance (pdtrsm, or on a one-row grid panels of the
 * factor broadcast to every rank), the log determinant comes from the distributed diagonal.
 * The problem's arrays (points, targets, labels) are small and replicated on every rank.
 * Every pgp_ function taking a grid or a work object is collective over the grid's communicator:
 * all its ranks call it with the same arguments, and get the same return value and the same
 * (replicated) results. No files, no job parsing. */
#ifndef PGP_H
#define PGP_H

#include <stddef.h>

#include "nngp.h"
#include "par.h"

/* Block size used when 0 is asked for: within 10% of the best pdpotrf rate on both 2-rank grid
 * shapes (bench/pdpotrf.sh; the measurements are in README "Speed of the factorization"). */
#define PGP_NB_DEFAULT 128
/* The PBLAS logical block size pgp.c sets for the whole process (PBLAS's own default is 32). */
#define PGP_PBLAS_KB 256

/* A BLACS process grid over a communicator. */
typedef struct {
    par_comm_t *comm;     /* the grid's own duplicate of the communicator it was made from */
    int rank, size;       /* in comm */
    int sys;              /* BLACS system handle of comm */
    int ctx;              /* BLACS context */
    int nprow, npcol;     /* P x Q, rank r at (r / Q, r % Q) */
    int myrow, mycol;
    int nb;               /* block size (rows and columns) */
} pgp_grid_t;

/* The automatic shape of a grid of size ranks: P x Q = size, P <= Q, P as large as possible
 * (as square as possible). With 2 ranks 1x2 factors faster than 2x1 (README, as above). */
void pgp_grid_shape(int size, int *p, int *q);

/* Forms a p x q grid over (a duplicate of) comm, with block size nb (<= 0: PGP_NB_DEFAULT).
 * p = q = 0: pgp_grid_shape; one of them 0: the other from the size of comm; p q must equal the
 * size of comm. Collective over comm; the grid does not depend on comm staying alive. Returns
 * NULL with a message on every rank on failure (NN_ERR_INPUT for a shape that does not fit). */
pgp_grid_t *pgp_grid_create(const par_comm_t *comm, int p, int q, int nb);
/* Releases the BLACS context and the communicator; accepts NULL and sets *g = NULL.
 * Collective over the grid. */
void pgp_grid_destroy(pgp_grid_t **g);

/* What a work object keeps between items, trading memory for recomputation (n = ntrain, P the
 * ranks of the grid; sizes per rank, doubles):
 *   PGP_STORE_GRAM    Gram tiles (lower half) + current layer (lower half) + factor: ~2 n^2/P;
 *                     an item costs the recursion and the factorizations.
 *   PGP_STORE_LAYER   current layer (lower half) + factor: ~1.5 n^2/P; each item also recomputes
 *                     the Gram tiles once (n^2 dim / P flops, ~3 dim / (n L) of L factorizations).
 *   PGP_STORE_FACTOR  the factor's array only: ~n^2/P; each depth d rebuilds its kernel from the
 *                     points (Gram + layer 0 + d steps) straight into the factor's array.
 * Test and validation kernels (n x m/P each) are kept in all three, and their Gram tiles too
 * with PGP_STORE_GRAM. Every store computes each entry by the same operations: the results are
 * the same (bit-identical with this project's OpenBLAS; tests/test_pgp.c allows 1e-13).
 * With the NTK (p->ntk) Theta's lower tiles, test and validation tiles are kept beside K's
 * (~0.5 n^2/P more), and the store is LAYER or GRAM: Theta's step needs K's previous layer. */
typedef enum { PGP_STORE_FACTOR = 0, PGP_STORE_LAYER = 1, PGP_STORE_GRAM = 2 } pgp_store_t;

typedef struct pgp_work pgp_work_t;

/* Allocates the local tiles of every kernel matrix of the problem over grid g (borrowed; so is
 * every array of p, which must be the same on every rank and outlive the work object) and, with
 * PGP_STORE_GRAM, computes the Gram tiles. Returns NULL on every rank if any rank runs out of
 * memory (message set), or with NN_ERR_INPUT for the NTK with PGP_STORE_FACTOR. */
pgp_work_t *pgp_work_create(const pgp_grid_t *g, const nngp_problem_t *p, pgp_store_t store);
/* Frees a work object; accepts NULL and sets *w = NULL. Not collective. */
void pgp_work_destroy(pgp_work_t **w);
/* Seconds this rank spent on Gram tiles in pgp_work_create (0 unless PGP_STORE_GRAM). */
double pgp_work_gram_seconds(const pgp_work_t *w);

/* nngp_item_run on the grid: one (sw2, sb2) pair at every depth of the problem, one pass of the
 * recursion over the local tiles, one pdpotrf per depth (x10 jitter retry up to noise_max, exactly
 * as gp_factor: noise 0 starts at 1e-12 x mean diagonal), one pdpotrs for all targets. Fills r on
 * every rank (identical values); a depth that stays not positive definite is NNGP_FAILED with
 * pdpotrf's info and the grid point in the message. r->seconds are this rank's; GRAM counts Gram
 * tiles recomputed by the item (PGP_STORE_LAYER / PGP_STORE_FACTOR). Returns 0 (even if some
 * depths failed), NN_ERR_INPUT for depths not ascending and >= 1, or another negative status. */
int pgp_item_run(pgp_work_t *w, double sw2, double sb2, nngp_result_t *r);

/* nngp_posterior on the grid: mean (ntest x ntargets, row-major), predictive variance (ntest) and
 * optionally the covariance (ntest x ntest, row-major; NULL on every rank to skip) of the model
 * (depth >= 0, sw2, sb2), on every rank; noise_used and info may be NULL. The variance is
 * kss - colsum((L^-1 K_ts)^2), solved in place of w's test kernel; the covariance
 * Kss - V^T V with pdsyrk. Allocates for the call ntest doubles, a n x nb panel on a one-row grid
 * (+ ntest^2 / P with cov). Returns 0, NN_ERR_NOT_PD (mean, var
 * and cov untouched), NN_ERR_NOMEM (on every rank) or NN_ERR_INPUT. */
int pgp_posterior(pgp_work_t *w, int depth, double sw2, double sb2, double *mean, double *var,
                  double *cov, double *noise_used, int *info);

/* The log marginal likelihood of the model of the last pgp_posterior that returned 0 (every
 * rank; it is computed by that call). Not collective. */
double pgp_posterior_log_marginal(const pgp_work_t *w);
/* This rank's seconds per phase (nngp_phase_names) of that pgp_posterior. Not collective. */
void pgp_posterior_seconds(const pgp_work_t *w, double seconds[NNGP_NPHASES]);

/* nngp_posterior_check on the grid: the self-check of the model (depth, sw2, sb2, s2 = its
 * noise_used) of the last pgp_posterior, which must have returned 0 (its factor and weights are
 * read, not changed). The factor's sampled rows are gathered and multiplied by pdtrmm; every rank
 * gets the same residuals. Allocates at most nngp_check_bytes per rank for the call (about
 * 3 NNGP_CHECK_ROWS + ntargets doubles per training point). Returns 0 or NN_ERR_NOMEM (on every
 * rank). */
int pgp_posterior_check(const pgp_work_t *w, int depth, double sw2, double sb2, double s2,
                        nngp_check_t *check);

/* 1 if w holds the factor, solution and test kernel of the model (depth, sw2, sb2), left by the
 * pgp_item_run or pgp_posterior that factored it last: a pgp_posterior of that model without
 * covariance then builds neither its kernel nor its factor again (same results, bit for bit).
 * Not collective. */
int pgp_work_holds(const pgp_work_t *w, int depth, double sw2, double sb2);

/* Bytes of local tiles the busiest rank of a nprow x npcol grid with block size nb holds: for a
 * work object (pgp_work_bytes), and in addition during pgp_posterior (pgp_posterior_bytes; cov:
 * the covariance is asked for, whose ntest^2 output array is the caller's and not counted).
 * Replicated problem arrays (the caller's) are not counted; the small replicated vectors are.
 * The factor's array counts as its lower blocks, the part that is ever resident. ntk: with the
 * NTK's arrays. */
size_t pgp_work_bytes(int ntrain, int ntest, int nvalid, int ntargets, int nprow, int npcol,
                      int nb, pgp_store_t store, int ntk);
size_t pgp_posterior_bytes(int ntrain, int ntest, int nprow, int npcol, int nb, int cov);
/* The most memory-hungry (fastest) store whose work object plus posterior fits in budget bytes
 * per rank, or -1 if even PGP_STORE_FACTOR (PGP_STORE_LAYER with the NTK) does not fit. */
int pgp_store_choose(int ntrain, int ntest, int nvalid, int ntargets, int nprow, int npcol, int nb,
                     int cov, size_t budget, int ntk);

#endif
