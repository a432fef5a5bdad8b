/* limit_stage.h - private to the sweep module: the [limit] stage of an NNGP job (limit_sweep.c:
 * random finite networks against K^L, one work item per depth and width) and its group /limit of
 * the results file (limit_output.c). The numerics are limit.h's. */
#ifndef LIMIT_STAGE_H
#define LIMIT_STAGE_H

#include "h5io.h"
#include "nngp_state.h"

/* What the stage has measured, on world rank 0 (every rank holds the sizes and variances).
 * Arrays [depth][width] are row-major over the job's depths and [limit] widths. */
typedef struct limit_state {
    int nd, nw;
    int *widths;                            /* [nw] */
    double sigma_w2[NNGP_MAX_DEPTHS];       /* each depth's variances (NaN: no model) */
    double sigma_b2[NNGP_MAX_DEPTHS];
    double *error, *error_stderr, *bias;    /* [nd][nw], NaN until measured */
    double *seconds;                        /* [nd][nw] of the item */
    unsigned char *done;                    /* [nd][nw] */
} limit_state_t;

/* s->limit for a job with [limit] (NULL without one). Returns 0 or NN_ERR_NOMEM. */
int limit_state_alloc(nngp_state_t *s);
/* Frees s->limit; accepts a state without one. */
void limit_state_free(nngp_state_t *s);

/* The stage, collective over all ranks, after the search's selection (s->best known on every
 * rank): every (depth, width) not done with the variances in force now, as items of par_schedule
 * on groups of one rank with `slots` threads each; rank 0 records each result and calls
 * checkpoint(ctx). Returns 0, NN_ERR_INTERRUPTED or an error agreed by all ranks. */
int limit_stage_run(nngp_state_t *s, int slots, int (*checkpoint)(void *ctx), void *ctx);

/* Writes /limit (nothing without [limit]); scales and descriptions only when the group is new.
 * Returns 0 or the h5io error. */
int limit_state_write(h5file_t *f, const nngp_state_t *s);
/* Loads an earlier run's /limit into s->limit (nothing without [limit] or without /limit in f).
 * Returns 0 or NN_ERR_INPUT. */
int limit_state_resume(h5file_t *f, nngp_state_t *s);

#endif
