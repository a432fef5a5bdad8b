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

/* Grid arrays are [depth][sigma_w2][sigma_b2], flattened row-major; an item is one
 * (sigma_w2, sigma_b2) pair, numbered iw * nb + ib. */
typedef struct {
    const job_t *job;
    const dataset_t *ds;
    int nd, nw, nb, nitems;
    int *depths;
    double *test_accuracy, *validation_accuracy, *log_marginal_likelihood, *noise_used;
    int *status, *info;
    double *item_seconds;           /* [item][NNGP_NPHASES] */
    unsigned char *item_done;       /* [item] */
    double gram_seconds;
    nngp_layout_t layout;           /* solver, process grid, memory */
    int best[SELECT_NRULES][64];    /* per depth: chosen item, or -1 */
    /* Posterior of the best-by-test-accuracy model of each depth (the reported models). */
    double *post_mean;              /* [depth][ntest][ntargets] */
    double *post_variance;          /* [depth][ntest] */
    double *post_covariance;        /* [depth][ntest][ntest] when the job asks, else NULL */
    double *post_noise;             /* [depth] */
    double *post_seconds;           /* [depth] */
    int *post_info;                 /* [depth] */
    unsigned char *post_done;       /* [depth] */
    int post_order[64];             /* posterior phase: the depth of posterior item k */
    /* Posteriors computed ahead, while the last grid items run (par_schedule's extra items), for
     * the best model of a depth among the items finished then: grid item, or -1. Their mean
     * and variance wait in post_mean and post_variance, the rest here, until the final selection
     * confirms them (post_done); others are computed again in the posterior phase. */
    int ahead_item[64], ahead_running[64], ahead_info[64];
    double ahead_noise[64], ahead_seconds[64];
    /* provenance */
    const char *command_line;
    char *hostnames;
    char start_time[32];
    double t_start;
} nngp_state_t;

#define NNGP_MAX_DEPTHS 64

/* Writes the whole state into f (from h5_create_image for path; new, or holding an earlier
 * write, whose values are overwritten) with root attribute state = state_name, and saves it to
 * path atomically: a "running" state in the background (path is the previous save until the
 * disk has it), any other state before this returns. */
int nngp_state_write(h5file_t *f, const nngp_state_t *s, const char *path, const char *state_name);
/* Loads finished items (and posteriors) from an earlier file at path into s. Returns 0 (also when
 * the file does not exist: nothing loaded), or NN_ERR_INPUT if the file is not a results file of
 * this same job. */
int nngp_state_resume(nngp_state_t *s, const char *path);

#endif
