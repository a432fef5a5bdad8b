/* nngp_state.h - private to the sweep module: everything an NNGP job has computed so far, held
 * on world rank 0, and the functions that write it to / read it from a results file. */
#ifndef NNGP_STATE_H
#define NNGP_STATE_H

#include "dataset.h"
#include "h5io.h"
#include "job.h"
#include "nngp.h"
#include "nngp_layout.h"
#include "sweep.h"

#define NNGP_MAX_DEPTHS 64

/* The reported model of each depth (the best by test accuracy) fitted on a training set, with its
 * posterior on the test set: the search's fits (/nngp/posterior, on the grid's training examples)
 * and, with [nngp] search_train, the fits on every training example (/nngp/final). */
typedef struct {
    int item[NNGP_MAX_DEPTHS];                  /* the grid item fitted, -1: none */
    double noise[NNGP_MAX_DEPTHS];              /* s2 the factorization used */
    int info[NNGP_MAX_DEPTHS];                  /* Cholesky info of its last attempt */
    double seconds[NNGP_MAX_DEPTHS];
    double phase_seconds[NNGP_MAX_DEPTHS][NNGP_NPHASES];   /* of the fit's (leader) rank */
    double log_marginal_likelihood[NNGP_MAX_DEPTHS], test_accuracy[NNGP_MAX_DEPTHS];
    unsigned char done[NNGP_MAX_DEPTHS];
    nngp_check_t check[NNGP_MAX_DEPTHS];        /* the fit's self-check (NaN: none) */
    double check_seconds[NNGP_MAX_DEPTHS];
    double *mean;                               /* [depth][ntest][ntargets] */
    double *variance;                           /* [depth][ntest] */
    double *covariance;                         /* [depth][ntest][ntest] when the job asks, else NULL */
} nngp_fits_t;

/* Grid arrays are [depth][sigma_w2][sigma_b2], flattened row-major; an item is one
 * (sigma_w2, sigma_b2) pair, numbered iw * nb + ib. */
typedef struct {
    const job_t *job;
    const dataset_t *ds;
    int ntk;                        /* the kernel regressed with: 0 the NNGP's K, 1 the NTK Theta */
    const char *group;              /* where its results go: "/nngp" or "/ntk" (same layout) */
    int nd, nw, nb, nitems;
    int ntrain_search;              /* training examples of the grid: all, or search_train */
    int *depths;
    double *test_accuracy, *validation_accuracy, *log_marginal_likelihood, *noise_used;
    int *status, *info;
    double *item_seconds;           /* [item][NNGP_NPHASES] */
    unsigned char *item_done;       /* [item] */
    double gram_seconds;
    nngp_layout_t layout;           /* solver, process grid, memory of the grid */
    int best[SELECT_NRULES][NNGP_MAX_DEPTHS];   /* per depth: chosen item, or -1 */
    nngp_fits_t post;               /* the reported models on the grid's training examples */
    int post_order[NNGP_MAX_DEPTHS];   /* posterior phases: the depth of posterior item k */
    /* Posteriors computed ahead, while the last grid items run (par_schedule's extra items), for
     * the best model of a depth among the items finished then: grid item, or -1. Their results
     * wait in post (not done) until the final selection confirms them; others are computed again
     * in the posterior phase. */
    int ahead_item[NNGP_MAX_DEPTHS], ahead_running[NNGP_MAX_DEPTHS];
    /* With search_train: the reported models fitted on every training example. */
    nngp_fits_t final;
    nngp_layout_t final_layout;
    double final_gram_seconds;
    struct limit_state *limit;      /* the [limit] stage (limit_stage.h), NULL without one */
    struct network_state *network;  /* the [network] stage (network_state.h), NULL without */
    /* provenance */
    const char *command_line;
    char *hostnames;
    char start_time[32];
    double t_start;
    double checkpoint_seconds;   /* rank 0's time writing the results file (the first state's) */
} nngp_state_t;

/* Allocates the tables of one kernel's state for job and ds (ntk: 0 the NNGP's K, 1 the NTK
 * Theta; stages: s also carries the [limit] and [network] stages, as the first kernel's does):
 * results NaN, nothing done. Returns 0, or NN_ERR_INPUT (too many depths) / NN_ERR_NOMEM; free
 * s with nngp_state_free in every case. Rank 0's tables (nngp_sweep.c), and what the results
 * fuzz harness resumes into. */
int nngp_state_alloc(nngp_state_t *s, const job_t *job, const dataset_t *ds, int ntk, int stages);
/* Frees everything nngp_state_alloc allocated (also after its failure) and zeroes s. */
void nngp_state_free(nngp_state_t *s);

/* The run's self-check over every fit done (/nngp/posterior and /nngp/final), at the job's
 * threshold: "FAILED" if a fit's check failed, else "PENDING" while a fit is still to be done,
 * else "PASSED". A fit without a factor (every grid point of its depth failed, or its own
 * factorization) has nothing to check and counts as passed. The largest residuals go to worst
 * (NaN-free maxima; 0 when nothing was checked), the number of fits checked to *nchecked. */
const char *nngp_self_check(const nngp_state_t *s, nngp_check_t *worst, int *nchecked);

/* The self-check over several kernels' states: "FAILED" if one's is, else "PENDING" if one's is,
 * else "PASSED"; worst and nchecked over all (nngp_self_check). */
const char *nngp_self_check_all(nngp_state_t *const *s, int n, nngp_check_t *worst,
                                int *nchecked);

/* Writes the whole state of a job, its n kernels' states (each under its group, same layout),
 * into f (from h5_create for path; new, or holding an earlier write, whose values are
 * overwritten) with root attribute state = state_name, and saves it to path atomically: a
 * "running" state in the background (path is the previous save until the disk has it), any
 * other state before this returns. */
int nngp_state_write(h5file_t *f, nngp_state_t *const *s, int n, const char *path,
                     const char *state_name);
/* Loads finished items (and final fits) from an earlier file at path into s (its group).
 * Returns 0 (also when the file or the group does not exist: nothing loaded), or NN_ERR_INPUT if
 * the file is not a results file of this same job. */
int nngp_state_resume(nngp_state_t *s, const char *path);

#endif
