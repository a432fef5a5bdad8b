/* network_state.h - private to the sweep module: the [network] stage of an NNGP job (trained
 * fully connected ReLU networks of each depth's selected model against their GP): what world
 * rank 0 keeps of the finished runs (network_sweep.c), the /network group of the results file
 * and its resume (network_output.c). A run is one (depth, width, seed), numbered
 * (d * nwidths + w) * nseeds + k. */
#ifndef NETWORK_STATE_H
#define NETWORK_STATE_H

#include "h5io.h"
#include "nngp_state.h"

/* Per-epoch curves of a run, in this order. */
enum { NET_TRAIN_LOSS, NET_TRAIN_ACC, NET_TEST_LOSS, NET_TEST_ACC, NET_NCURVES };
extern const char *const network_curve_names[NET_NCURVES];

/* A run's status (/network/status). */
enum { NET_PENDING, NET_TRAINED, NET_DIVERGED, NET_NO_MODEL };

typedef struct network_state {
    int nd, nw, ns, epochs;        /* depths (as /nngp), widths, seeds, epochs */
    int ntest, ntargets;
    int group_size;                /* ranks per run, resolved */
    double sigma_w2[NNGP_MAX_DEPTHS], sigma_b2[NNGP_MAX_DEPTHS];   /* the prior each depth's runs
                                      start from (its selected model); NaN: none */
    unsigned char *done;           /* [run] */
    int *status;                   /* [run]: NET_* below */
    double *test_accuracy;         /* [run]: after the last epoch */
    double *seconds;               /* [run] */
    int *weights_agree;            /* [run]: the group's ranks ended with the same parameters */
    double *curve;                 /* [NET_NCURVES][run][epoch] */
    double *prediction;            /* [run][test][target]: the outputs on the test split */
} network_state_t;

/* s->network for a job with [network] (NULL without). Returns 0 or NN_ERR_NOMEM. */
int network_state_create(nngp_state_t *s);
/* Accepts s->network NULL; sets it NULL. */
void network_state_free(nngp_state_t *s);

/* The GP fits the networks are compared with: the fits on every training example (the final
 * fits with search_train, else the search's posteriors). */
const nngp_fits_t *network_gp_fits(const nngp_state_t *s);

/* The stage, collective over every rank, after the NNGP's fits (s->best known on every rank):
 * every run not done is trained by a group of ranks (par_schedule items) with the CNN trainer
 * (cnn_train.h): layers "flatten dense(N) relu" x depth then dense(ntargets), init nngp with the
 * depth's selected (sigma_w2, sigma_b2), the squared loss against the GP's targets. Rank 0 records
 * every finished run and calls save(save_ctx) to rewrite the results file. A run resumed from an
 * earlier file counts only when its depth's model is the one selected now. Returns 0,
 * NN_ERR_INTERRUPTED (finished runs recorded) or an agreed error. */
int network_stage(nngp_state_t *s, const char *out_path, int (*save)(void *ctx), void *save_ctx);

/* /network in f (rank 0; nothing without [network]): see the README's "Output file". */
int network_state_write(h5file_t *f, const nngp_state_t *s);
/* The finished runs of an earlier file (nothing without [network] or without /network). */
int network_state_read(h5file_t *f, nngp_state_t *s);

#endif
