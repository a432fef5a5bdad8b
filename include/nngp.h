/* nngp.h - one NNGP work item: a (sigma_w^2, sigma_b^2) pair evaluated at every requested depth in
 * one pass of the recursion (one factorization per depth), and the posterior of a chosen model.
 * Works on plain arrays handed in by the caller; no MPI, no files. The Gram matrices are computed
 * once per job in nngp_work_create and reused by every item. */
#ifndef NNGP_H
#define NNGP_H

#include <stddef.h>

/* Phases timed per item (seconds), in this order in the output file. */
enum { NNGP_PHASE_GRAM, NNGP_PHASE_RECURSION, NNGP_PHASE_FACTOR, NNGP_PHASE_SOLVE,
       NNGP_PHASE_VARIANCE, NNGP_NPHASES };
extern const char *const nngp_phase_names[NNGP_NPHASES];

/* Status of one grid point. */
enum { NNGP_PENDING = 0, NNGP_OK = 1, NNGP_FAILED = 2 };

/* The problem, borrowed from the caller (arrays must outlive the work object).
 * x*: row-major n x dim; y_train: ntrain x ntargets; labels are class positions 0..k-1.
 * ntargets == 1: binary, predict sign (>= 0 -> class 1); ntargets > 1: argmax. */
typedef struct {
    int dim, ntargets;
    int ntrain, ntest, nvalid;            /* nvalid may be 0 */
    const double *x_train, *y_train;
    const double *x_test, *x_valid;
    const int *test_label, *valid_label;
    const int *depths;                    /* ascending, >= 1 */
    int ndepth;
    double noise, noise_max;
    int ntk;                              /* 1: regress with the neural tangent kernel Theta
                                             (kernel.h) instead of the NNGP kernel K */
    void (*poll)(void);                   /* called once per layer so a scheduler can answer
                                             messages while an item runs; may be NULL */
} nngp_problem_t;

/* Results of one item, per depth (arrays of ndepth, owned by the caller). */
typedef struct {
    double *test_accuracy;
    double *valid_accuracy;               /* NaN when nvalid == 0 (may be NULL then) */
    double *log_marginal_likelihood;
    double *noise_used;
    int *status;                          /* NNGP_OK or NNGP_FAILED */
    int *info;                            /* LAPACK info of the last factorization attempt */
    double seconds[NNGP_NPHASES];         /* summed over depths; GRAM is 0 (paid once per job) */
} nngp_result_t;

typedef struct nngp_work nngp_work_t;

/* Allocates every buffer an item needs (about 3 ntrain^2 + ntrain (2 ntest + nvalid) doubles:
 * Gram matrices, the current layer, and the factor's own copy) and computes the Gram matrices.
 * Returns NULL on allocation failure (message set). */
nngp_work_t *nngp_work_create(const nngp_problem_t *p);
/* nngp_work_create in two steps, for processes that compute the Gram matrices together: the
 * buffers (NULL on failure), then the Gram matrices. */
nngp_work_t *nngp_work_alloc(const nngp_problem_t *p);
/* How processes share the Gram matrices: this one is `part` of `nparts`, computes every
 * nparts-th row block, and share(buf, bytes, owner, ctx) must make buf, computed by part owner,
 * the same on every part (a broadcast; called for every block in the same order by all parts). */
typedef struct {
    int part, nparts;
    void (*share)(void *buf, size_t bytes, int owner, void *ctx);
    void *ctx;
} nngp_gram_split_t;
/* Computes the Gram matrices of w, alone (split NULL) or with the other parts, its blocks shared
 * among the OpenMP threads of the caller; the result is
 * bit-identical either way. Allocates nothing, so it cannot fail. */
void nngp_work_gram(nngp_work_t *w, const nngp_gram_split_t *split);
/* A second work object for another thread: it shares (borrows) the Gram matrices of original,
 * which must outlive it, and has its own buffers. Returns NULL on allocation failure. */
nngp_work_t *nngp_work_clone(const nngp_work_t *original);
/* Frees a work object (a clone before its original); accepts NULL and sets *w = NULL. */
void nngp_work_destroy(nngp_work_t **w);
/* Seconds spent computing the Gram matrices in nngp_work_create. */
double nngp_work_gram_seconds(const nngp_work_t *w);

/* Evaluates one (sw2, sb2) pair at every depth of the problem. A depth whose factorization fails
 * after the jitter retries is recorded as NNGP_FAILED with its info; the others go on.
 * Returns 0 (even if some depths failed), NN_ERR_INPUT if the depths are not ascending and >= 1,
 * or another negative status on a runtime error. */
int nngp_item_run(nngp_work_t *w, double sw2, double sb2, nngp_result_t *r);

/* Posterior of one model (depth, sw2, sb2) on the test set: mean (ntest x ntargets), predictive
 * variance (ntest), optionally the full covariance (ntest x ntest, NULL to skip), s2 used and info
 * (either may be NULL). depth is 0 up to the problem's deepest depth. Reuses the work buffers (an
 * item's results are not kept); the first call adds ntrain x ntest doubles to w (+ ntest^2 with
 * cov), kept for later calls. Returns 0, NN_ERR_INPUT (depth), NN_ERR_NOT_PD or NN_ERR_NOMEM. */
int nngp_posterior(nngp_work_t *w, int depth, double sw2, double sb2, double *mean, double *var,
                   double *cov, double *noise_used, int *info);

/* The log marginal likelihood of the model of the last nngp_posterior that returned 0. */
double nngp_posterior_log_marginal(const nngp_work_t *w);
/* Seconds per phase (nngp_phase_names; gram 0) of the last nngp_posterior. */
void nngp_posterior_seconds(const nngp_work_t *w, double seconds[NNGP_NPHASES]);

/* The self-check of a fit: scaled residuals of the solve and of the factorization on sampled
 * rows of K + s2 I recomputed from the points (definitions in nngp_check.h); NaN: not computed. */
typedef struct {
    double solve, factor;
} nngp_check_t;
/* The self-check of the model (depth, sw2, sb2, s2 = its noise_used) of the last nngp_posterior,
 * which must have returned 0 (its factor and weights are read). Allocates 2 NNGP_CHECK_ROWS x
 * ntrain doubles for the call (nngp_check.h). Returns 0 or NN_ERR_NOMEM. */
int nngp_posterior_check(const nngp_work_t *w, int depth, double sw2, double sb2, double s2,
                         nngp_check_t *check);

/* The start of an item in either solver: clears r's seconds and checks p's depths. Returns 1
 * (depths to run), 0 (no depths: nothing to do) or NN_ERR_INPUT naming the first depth that is
 * not ascending and >= 1 (message set). */
int nngp_item_begin(const nngp_problem_t *p, nngp_result_t *r);
/* Records depth di of r as failed (factorization not positive definite): accuracies and log
 * marginal likelihood NaN, status NNGP_FAILED. noise_used and info are the caller's. */
void nngp_result_failed(nngp_result_t *r, int di);
/* Records depth di of r as computed: accuracies from the posterior means on the test and (when
 * p->nvalid > 0) validation sets, the log marginal likelihood, status NNGP_OK. */
void nngp_result_ok(nngp_result_t *r, int di, const nngp_problem_t *p, const double *mean_test,
                    const double *mean_valid, double lml);

/* Fraction of rows whose prediction (sign or argmax of pred, n x ntargets) equals label. */
double nngp_accuracy(const double *pred, int n, int ntargets, const int *label);

#endif
