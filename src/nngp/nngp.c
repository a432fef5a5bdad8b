/* nngp.c - one NNGP work item: the kernel recursion run once for a (sw2, sb2) pair, with a GP fit
 * (factor, solve, mean, accuracy, log marginal likelihood) at every requested depth on the way:
 * first the train block through every layer, then the test (and validation) rows tile by tile
 * through every layer while in cache. Gram matrices and every buffer are made once in
 * nngp_work_create; items allocate nothing. The predictive variance is left to nngp_posterior
 * (reported models only). */
#include "nngp.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"
#include "nngp_check.h"
#include "kernel.h"
#include "nn_alloc.h"
#include "nn_error.h"
#include "nn_timer.h"

const char *const nngp_phase_names[NNGP_NPHASES] = {"gram", "recursion", "factorization", "solve",
                                                    "variance"};

/* Rows per tile of the test and validation blocks: a tile (256 KiB at 1000 train points) stays
 * in cache through every layer. */
enum { ROW_TILE = 32 };

/* Names: suffix _t train, _s test (x*), _v validation; _tt, _st, _vt a block of those rows against
 * the train columns. g = Gram matrix x.x'/N0, gd = its diagonal; k = the kernel K^l of the current
 * layer, kd = the kernel's diagonals of every layer; th, td = the same for the NTK Theta (only
 * with p.ntk, which then regresses with Theta: the f_ names point to the kernel regressed with);
 * nt, ns, nv = ntrain, ntest, nvalid; nr = ntargets; _d = one per requested depth. */
struct nngp_work {
    nngp_problem_t p;
    /* Gram matrices x.x'/N0, fixed for the job (row-major; rows of the first set, columns train) */
    double *g_tt, *g_st, *g_vt;       /* ntrain^2, ntest x ntrain, nvalid x ntrain */
    double *gd_t, *gd_s, *gd_v;       /* diagonals |x|^2/N0 */
    /* the recursion's current layer of the train block (only its lower triangle: the
     * factorization reads no more) and, for nngp_posterior, of the test block; items step the
     * test and validation rows in `tile` */
    double *k_tt, *k_st;
    double *lfac;                     /* ntrain^2: the factor of K^L + s2 I (own copy) */
    double *alpha;                    /* ntrain x ntargets */
    /* nngp_item_run: the diagonals of every layer 0..lmax, and per requested depth the weights
     * alpha, the means and the log marginal likelihood (ok: the factorization succeeded) */
    int lmax;
    double *kd_t, *kd_s, *kd_v;       /* (lmax + 1) x ntrain, x ntest, x nvalid */
    double *th_tt, *th_st, *th_tile;  /* p.ntk: Theta's train block, test block, tile */
    double *td_t, *td_s, *td_v;       /* p.ntk: Theta's diagonals of every layer */
    double *f_tt, *f_st, *f_tile;     /* the kernel regressed with: k_* or th_* */
    double *fd_t, *fd_s;              /* and its diagonals: kd_* or td_* */
    double *alpha_d;                  /* ndepth x ntrain x ntargets */
    double *mean_d_s, *mean_d_v;      /* ndepth x ntest x ntargets, ndepth x nvalid x ntargets */
    double *lml_d;                    /* ndepth */
    double *tile;                     /* ROW_TILE x ntrain: the test or validation rows in work */
    unsigned char *ok_d;              /* ndepth */
    double *post_work, *post_kss;     /* nngp_posterior's ntrain x ntest and ntest^2, made at its
                                         first call */
    double *post_tss;                 /* p.ntk: Theta's ntest^2 for the covariance */
    /* Where nngp_posterior left k_tt, k_st and the train and test diagonals: at layer
     * post_layer of (post_sw2, post_sb2) when post_valid (an item's pass clears it), so the
     * next posterior of that pair at that depth or deeper goes on from there. */
    int post_valid, post_layer;
    double post_sw2, post_sb2;
    double post_lml;                  /* nngp_posterior_log_marginal */
    double post_seconds[NNGP_NPHASES];   /* nngp_posterior_seconds */
    double gram_seconds;
    int borrows_gram;                 /* a clone: the Gram arrays belong to the original */
};


/* Every array of a work object with its length in doubles: one table, which the allocation and
 * the release both read. The Gram arrays come first (a clone borrows them); lengths 0 mark the
 * arrays nngp_posterior makes at its first call. t has WORK_ARRAYS entries. */
typedef struct {
    double **a;
    size_t n;
} work_array_t;
enum { GRAM_ARRAYS = 6, WORK_ARRAYS = 27 };

static void work_arrays(nngp_work_t *w, work_array_t *t)
{
    const nngp_problem_t *p = &w->p;
    size_t nt = (size_t)p->ntrain, ns = (size_t)p->ntest, nv = (size_t)p->nvalid;
    size_t nr = (size_t)p->ntargets;
    size_t layers = (size_t)w->lmax + 1, nd = (size_t)(p->ndepth > 0 ? p->ndepth : 1);
    size_t ntk = p->ntk ? 1 : 0;   /* Theta's arrays exist only with the NTK */
    const work_array_t all[WORK_ARRAYS] = {
        {&w->g_tt, nt * nt}, {&w->g_st, ns * nt}, {&w->g_vt, nv * nt},
        {&w->gd_t, nt}, {&w->gd_s, ns}, {&w->gd_v, nv},
        {&w->k_tt, nt * nt}, {&w->k_st, ns * nt}, {&w->lfac, nt * nt}, {&w->alpha, nt * nr},
        {&w->kd_t, layers * nt}, {&w->kd_s, layers * ns}, {&w->kd_v, layers * nv},
        {&w->alpha_d, nd * nt * nr}, {&w->mean_d_s, nd * ns * nr}, {&w->mean_d_v, nd * nv * nr},
        {&w->lml_d, nd}, {&w->tile, ROW_TILE * nt},
        {&w->th_tt, ntk * nt * nt}, {&w->th_st, ntk * ns * nt}, {&w->th_tile, ntk * ROW_TILE * nt},
        {&w->td_t, ntk * layers * nt}, {&w->td_s, ntk * layers * ns}, {&w->td_v, ntk * layers * nv},
        {&w->post_work, 0}, {&w->post_kss, 0}, {&w->post_tss, 0}};
    memcpy(t, all, sizeof all);
}

/* Allocates the per-item buffers (and, unless borrowed, the Gram arrays) of w. */
static int alloc_buffers(nngp_work_t *w)
{
    const nngp_problem_t *p = &w->p;
    size_t nt = (size_t)p->ntrain, ns = (size_t)p->ntest, nv = (size_t)p->nvalid;
    w->lmax = 0;
    for (int k = 0; k < p->ndepth; k++)
        w->lmax = p->depths[k] > w->lmax ? p->depths[k] : w->lmax;
    work_array_t t[WORK_ARRAYS];
    int fail = 0;
    work_arrays(w, t);
    for (int k = w->borrows_gram ? GRAM_ARRAYS : 0; k < WORK_ARRAYS; k++)
        if (t[k].n > 0)
            *t[k].a = nn_alloc_doubles_or_flag(t[k].n, &fail);
    if (!(w->ok_d = calloc((size_t)(p->ndepth > 0 ? p->ndepth : 1), 1)))
        fail = 1;
    w->f_tt = p->ntk ? w->th_tt : w->k_tt;
    w->f_st = p->ntk ? w->th_st : w->k_st;
    w->f_tile = p->ntk ? w->th_tile : w->tile;
    w->fd_t = p->ntk ? w->td_t : w->kd_t;
    w->fd_s = p->ntk ? w->td_s : w->kd_s;
    if (fail)
        return nn_fail(NN_ERR_NOMEM, "nngp: out of memory for the kernel buffers (%zu train, %zu "
                       "test, %zu validation points: %.3g GB)", nt, ns, nv,
                       ((w->borrows_gram ? 2.0 : 3.0) * nt * nt + (double)nt * ns +
                        (w->borrows_gram ? 0.0 : (double)nt * (ns + nv))) * 8e-9);
    return NN_OK;
}

nngp_work_t *nngp_work_alloc(const nngp_problem_t *p)
{
    nngp_work_t *w = calloc(1, sizeof *w);
    if (!w) {
        nn_fail(NN_ERR_NOMEM, "nngp: out of memory for the work object");
        return NULL;
    }
    w->p = *p;
    if (alloc_buffers(w) != NN_OK)
        nngp_work_destroy(&w);
    return w;
}

/* Row blocks of the stacked [train; test; validation] Gram rows. The blocks are fixed, so each
 * is computed by the same BLAS call whichever process computes it: the matrices are bit-identical
 * however many processes share the work. A train block holds only the columns up to its last row
 * (the lower triangle, all that the recursion reads). */
enum { GRAM_BLOCK_ROWS = 128 };

typedef struct {
    const double *x;   /* the block's first point */
    double *g;         /* its first Gram row (leading dimension ntrain) */
    int rows, cols;
} gram_block_t;

/* Block k of w's Gram rows into *b; 0 when there is no block k. */
static int gram_block(const nngp_work_t *w, int k, gram_block_t *b)
{
    const nngp_problem_t *p = &w->p;
    const double *x[3] = {p->x_train, p->x_test, p->x_valid};
    double *g[3] = {w->g_tt, w->g_st, w->g_vt};
    int n[3] = {p->ntrain, p->ntest, p->nvalid};
    for (int set = 0; set < 3; set++) {
        int blocks = (n[set] + GRAM_BLOCK_ROWS - 1) / GRAM_BLOCK_ROWS;
        if (k >= blocks) {
            k -= blocks;
            continue;
        }
        int r0 = k * GRAM_BLOCK_ROWS, r1 = r0 + GRAM_BLOCK_ROWS < n[set] ? r0 + GRAM_BLOCK_ROWS : n[set];
        *b = (gram_block_t){.x = x[set] + (size_t)r0 * p->dim, .g = g[set] + (size_t)r0 * p->ntrain,
                            .rows = r1 - r0, .cols = set == 0 ? r1 : p->ntrain};
        return 1;
    }
    return 0;
}

void nngp_work_gram(nngp_work_t *w, const nngp_gram_split_t *split)
{
    const nngp_problem_t *p = &w->p;
    int part = split ? split->part : 0, nparts = split ? split->nparts : 1;
    double t0 = timer_now();
    gram_block_t b;
    int blocks = 0;
    while (gram_block(w, blocks, &b))
        blocks++;
    /* this part's blocks on the calling process's OpenMP threads, one dgemm each (the same
     * calls whatever the threads and parts, so the same bits) */
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = part; k < blocks; k += nparts) {
        gram_block_t mine = {0};
        gram_block(w, k, &mine);
        kernel_gram(mine.x, mine.rows, p->x_train, mine.cols, p->dim, mine.g, p->ntrain);
    }
    for (int k = 0; nparts > 1 && gram_block(w, k, &b); k++)
        split->share(b.g, (size_t)b.rows * p->ntrain * sizeof(double), k % nparts, split->ctx);
    /* the train diagonal is taken from the Gram matrix itself, so K(x,x) and the diagonal
     * recursion start from the same bits */
    for (size_t i = 0; i < (size_t)p->ntrain; i++)
        w->gd_t[i] = w->g_tt[i * p->ntrain + i];
    kernel_gram_diag(p->x_test, p->ntest, p->dim, w->gd_s);
    if (p->nvalid > 0)
        kernel_gram_diag(p->x_valid, p->nvalid, p->dim, w->gd_v);
    w->gram_seconds = timer_now() - t0;
}

nngp_work_t *nngp_work_create(const nngp_problem_t *p)
{
    nngp_work_t *w = nngp_work_alloc(p);
    if (w)
        nngp_work_gram(w, NULL);
    return w;
}

nngp_work_t *nngp_work_clone(const nngp_work_t *original)
{
    nngp_work_t *w = calloc(1, sizeof *w);
    if (!w) {
        nn_fail(NN_ERR_NOMEM, "nngp: out of memory for the work object");
        return NULL;
    }
    w->p = original->p;
    w->borrows_gram = 1;
    work_array_t mine[WORK_ARRAYS], theirs[WORK_ARRAYS];
    work_arrays(w, mine);
    work_arrays((nngp_work_t *)original, theirs);   /* reads, never writes, original */
    for (int k = 0; k < GRAM_ARRAYS; k++)
        *mine[k].a = *theirs[k].a;
    if (alloc_buffers(w) != NN_OK)
        nngp_work_destroy(&w);
    return w;
}

void nngp_work_destroy(nngp_work_t **pw)
{
    if (!pw || !*pw)
        return;
    nngp_work_t *w = *pw;
    work_array_t t[WORK_ARRAYS];
    work_arrays(w, t);
    for (int k = w->borrows_gram ? GRAM_ARRAYS : 0; k < WORK_ARRAYS; k++)
        free(*t[k].a);
    free(w->ok_d);
    free(w);
    *pw = NULL;
}

double nngp_work_gram_seconds(const nngp_work_t *w) { return w ? w->gram_seconds : 0.0; }

double nngp_accuracy(const double *pred, int n, int ntargets, const int *label)
{
    if (n <= 0)
        return NAN;
    int correct = 0;
    for (int i = 0; i < n; i++) {
        const double *pi = pred + (size_t)i * ntargets;
        int cls;
        if (ntargets == 1) {
            cls = pi[0] >= 0.0 ? 1 : 0;
        } else {
            cls = 0;                                   /* argmax, first one on ties */
            for (int c = 1; c < ntargets; c++)
                if (pi[c] > pi[cls])
                    cls = c;
        }
        correct += cls == label[i];
    }
    return (double)correct / n;
}

int nngp_item_begin(const nngp_problem_t *p, nngp_result_t *r)
{
    for (int ph = 0; ph < NNGP_NPHASES; ph++)
        r->seconds[ph] = 0.0;
    if (p->ndepth <= 0)
        return 0;
    for (int k = 0; k < p->ndepth; k++)
        if (p->depths[k] < 1 || (k > 0 && p->depths[k] <= p->depths[k - 1]))
            return nn_fail(NN_ERR_INPUT, "nngp: depths must be ascending and >= 1 (depth[%d] = %d)",
                           k, p->depths[k]);
    return 1;
}

void nngp_result_failed(nngp_result_t *r, int di)
{
    r->status[di] = NNGP_FAILED;
    r->test_accuracy[di] = NAN;
    if (r->valid_accuracy)
        r->valid_accuracy[di] = NAN;
    r->log_marginal_likelihood[di] = NAN;
}

void nngp_result_ok(nngp_result_t *r, int di, const nngp_problem_t *p, const double *mean_test,
                    const double *mean_valid, double lml)
{
    r->test_accuracy[di] = nngp_accuracy(mean_test, p->ntest, p->ntargets, p->test_label);
    if (r->valid_accuracy)
        r->valid_accuracy[di] = p->nvalid > 0 ? nngp_accuracy(mean_valid, p->nvalid, p->ntargets,
                                                              p->valid_label)
                                              : NAN;
    r->log_marginal_likelihood[di] = lml;
    r->status[di] = NNGP_OK;
}

/* The diagonals at layer 0 (train, test, and validation when with_valid) into kd_*[0], and
 * Theta's (td_*[0] = kd_*[0]) with the NTK. */
static void diagonals_layer0(nngp_work_t *w, double sw2, double sb2, int with_valid)
{
    const nngp_problem_t *p = &w->p;
    kernel_layer0(w->gd_t, 1, p->ntrain, 1, sw2, sb2, w->kd_t, 1);
    kernel_layer0(w->gd_s, 1, p->ntest, 1, sw2, sb2, w->kd_s, 1);
    if (with_valid && p->nvalid > 0)
        kernel_layer0(w->gd_v, 1, p->nvalid, 1, sw2, sb2, w->kd_v, 1);
    if (p->ntk) {
        memcpy(w->td_t, w->kd_t, (size_t)p->ntrain * sizeof *w->td_t);
        memcpy(w->td_s, w->kd_s, (size_t)p->ntest * sizeof *w->td_s);
        if (with_valid && p->nvalid > 0)
            memcpy(w->td_v, w->kd_v, (size_t)p->nvalid * sizeof *w->td_v);
    }
}

/* Layer 0 of the train block's lower triangle: K^0 and, with the NTK, Theta^0 = K^0. */
static void train_layer0(nngp_work_t *w, double sw2, double sb2)
{
    int nt = w->p.ntrain;
    kernel_layer0_lower(w->g_tt, nt, nt, sw2, sb2, w->k_tt, nt);
    if (w->p.ntk)
        kernel_layer0_lower(w->g_tt, nt, nt, sw2, sb2, w->th_tt, nt);
}

/* One layer l-1 -> l of the train block (lower triangle) and of the diagonals (dg_*[l] from
 * dg_*[l-1]; validation when with_valid). */
static void train_step(nngp_work_t *w, int l, double sw2, double sb2, int with_valid)
{
    const nngp_problem_t *p = &w->p;
    int nt = p->ntrain;
    kernel_step_ntk_lower(w->k_tt, nt, w->th_tt, nt, nt, w->kd_t + (size_t)(l - 1) * nt,
                          p->ntk ? w->td_t + (size_t)(l - 1) * nt : NULL, sw2, sb2);
    struct { double *d, *t; int n; } diag[3] = {{w->kd_t, w->td_t, nt},
                                                {w->kd_s, w->td_s, p->ntest},
                                                {w->kd_v, w->td_v, with_valid ? p->nvalid : 0}};
    for (int k = 0; k < 3; k++) {
        size_t n = (size_t)diag[k].n, prev = (size_t)(l - 1) * n;
        if (n == 0)
            continue;   /* no validation split: its arrays are NULL */
        memcpy(diag[k].d + prev + n, diag[k].d + prev, n * sizeof(double));
        kernel_diag_step(diag[k].d + prev + n, diag[k].n, sw2, sb2);
        if (p->ntk) {   /* Theta^l(x,x) from K^l(x,x) and Theta^{l-1}(x,x) */
            memcpy(diag[k].t + prev + n, diag[k].t + prev, n * sizeof(double));
            kernel_ntk_diag_step(diag[k].t + prev + n, diag[k].d + prev + n, diag[k].n, sw2);
        }
    }
}

/* Factors the current kernel of the train block (K, or Theta with the NTK) + s2 I into w->lfac;
 * on failure adds the grid point to the message. */
static int factor_current(nngp_work_t *w, int depth, double sw2, double sb2, gp_factor_t *f)
{
    f->l = w->lfac;
    int rc = gp_factor(w->f_tt, w->p.ntrain, w->p.ntrain, w->p.noise, w->p.noise_max, f);
    if (rc)
        nn_fail_context(rc, "NNGP depth %d, sigma_w^2 = %g, sigma_b^2 = %g: ", depth, sw2, sb2);
    return rc;
}

/* nngp_item_run's first pass: the train block through every layer (its diagonals kept per
 * layer, with those of the test and validation points), and at each requested depth the
 * factorization, the weights alpha and the log marginal likelihood. */
static int train_pass(nngp_work_t *w, double sw2, double sb2, nngp_result_t *r)
{
    const nngp_problem_t *p = &w->p;
    int nt = p->ntrain, nr = p->ntargets;
    double t0 = timer_now();
    w->post_valid = 0;   /* k_tt and the diagonals are this item's from here */
    train_layer0(w, sw2, sb2);
    diagonals_layer0(w, sw2, sb2, 1);
    r->seconds[NNGP_PHASE_RECURSION] += timer_now() - t0;
    int di = 0;
    for (int l = 1; l <= w->lmax && di < p->ndepth; l++) {
        if (p->poll)
            p->poll();
        t0 = timer_now();
        train_step(w, l, sw2, sb2, 1);
        r->seconds[NNGP_PHASE_RECURSION] += timer_now() - t0;
        if (l != p->depths[di])
            continue;

        t0 = timer_now();
        gp_factor_t f;
        int rc = factor_current(w, l, sw2, sb2, &f);
        r->seconds[NNGP_PHASE_FACTOR] += timer_now() - t0;
        r->noise_used[di] = f.noise_used;
        r->info[di] = f.info;
        w->ok_d[di] = rc == 0;
        if (rc == NN_ERR_NOT_PD) {
            nngp_result_failed(r, di++);
            continue;
        }
        if (rc)
            return rc;
        t0 = timer_now();
        double *alpha = w->alpha_d + (size_t)di * nt * nr;
        gp_solve(&f, p->y_train, nr, alpha);
        w->lml_d[di] = gp_log_marginal(&f, p->y_train, alpha, nr);
        r->seconds[NNGP_PHASE_SOLVE] += timer_now() - t0;
        di++;
    }
    return 0;
}

/* The second pass over a test or validation block (m points: Gram g, diagonals of every layer
 * kd), from layer `first` to layer `last`: tile by tile, each tile through every layer while it
 * is in cache; with mean_d (and first 0), its rows of the posterior mean at every requested depth
 * that factored (times into seconds, which may be NULL). The block is in k, which holds layer
 * `first` unless first is 0 (then it starts from g) and ends at layer `last`; with k NULL it is
 * only ever in w->tile. With the NTK, th (or w->th_tile when th is NULL) holds Theta's block
 * alongside, and the means come from it. */
static void block_pass(nngp_work_t *w, const double *g, const double *kd, int m, double *k,
                       double *th, int first, int last, double *mean_d, double sw2, double sb2,
                       double *seconds)
{
    const nngp_problem_t *p = &w->p;
    int nt = p->ntrain, nr = p->ntargets;
    for (int i0 = 0; i0 < m; i0 += ROW_TILE) {
        if (p->poll)
            p->poll();
        int rows = i0 + ROW_TILE < m ? ROW_TILE : m - i0;
        double *tile = k ? k + (size_t)i0 * nt : w->tile, t0 = timer_now(), solve = 0.0;
        double *ttile = !p->ntk ? NULL : th ? th + (size_t)i0 * nt : w->th_tile;
        if (first == 0)
            kernel_layer0(g + (size_t)i0 * nt, nt, rows, nt, sw2, sb2, tile, nt);
        if (first == 0 && ttile)   /* Theta^0 = K^0 */
            kernel_layer0(g + (size_t)i0 * nt, nt, rows, nt, sw2, sb2, ttile, nt);
        for (int l = first + 1, di = 0; l <= last; l++) {
            kernel_step_ntk(tile, nt, ttile, nt, rows, nt, kd + (size_t)(l - 1) * m + i0,
                            w->kd_t + (size_t)(l - 1) * nt, sw2, sb2);
            if (!mean_d || di >= p->ndepth || l != p->depths[di])
                continue;
            if (w->ok_d[di]) {
                double t1 = timer_now();
                gp_mean(ttile ? ttile : tile, rows, nt, w->alpha_d + (size_t)di * nt * nr, nr,
                        mean_d + ((size_t)di * m + i0) * nr);
                solve += timer_now() - t1;
            }
            di++;
        }
        if (seconds) {
            seconds[NNGP_PHASE_RECURSION] += timer_now() - t0 - solve;
            seconds[NNGP_PHASE_SOLVE] += solve;
        }
    }
}

int nngp_item_run(nngp_work_t *w, double sw2, double sb2, nngp_result_t *r)
{
    const nngp_problem_t *p = &w->p;
    int rc = nngp_item_begin(p, r);
    if (rc <= 0)
        return rc;
    rc = train_pass(w, sw2, sb2, r);
    if (rc)
        return rc;
    int ns = p->ntest, nv = p->nvalid, nr = p->ntargets;
    block_pass(w, w->g_st, w->kd_s, ns, NULL, NULL, 0, w->lmax, w->mean_d_s, sw2, sb2,
               r->seconds);
    if (nv > 0)
        block_pass(w, w->g_vt, w->kd_v, nv, NULL, NULL, 0, w->lmax, w->mean_d_v, sw2, sb2,
                   r->seconds);
    for (int di = 0; di < p->ndepth; di++)
        if (w->ok_d[di])
            nngp_result_ok(r, di, p, w->mean_d_s + (size_t)di * ns * nr,
                           w->mean_d_v + (size_t)di * nv * nr, w->lml_d[di]);
    return 0;
}

int nngp_posterior(nngp_work_t *w, int depth, double sw2, double sb2, double *mean, double *var,
                   double *cov, double *noise_used, int *info)
{
    const nngp_problem_t *p = &w->p;
    int nt = p->ntrain, ns = p->ntest;
    if (depth < 0 || depth > w->lmax)
        return nn_fail(NN_ERR_INPUT, "nngp_posterior: depth %d outside 0..%d (the problem's "
                       "deepest)", depth, w->lmax);
    int fail = 0;
    if (!w->post_work)
        w->post_work = nn_alloc_doubles_or_flag((size_t)nt * ns, &fail);
    if (cov && !w->post_kss)
        w->post_kss = nn_alloc_doubles_or_flag((size_t)ns * ns, &fail);
    if (cov && p->ntk && !w->post_tss)
        w->post_tss = nn_alloc_doubles_or_flag((size_t)ns * ns, &fail);
    if (fail)
        return nn_fail(NN_ERR_NOMEM, "nngp_posterior: out of memory (%d train, %d test points)",
                       nt, ns);
    double *work = w->post_work, *k_ss = cov ? w->post_kss : NULL;
    double *t_ss = cov && p->ntk ? w->post_tss : NULL;
    double *seconds = w->post_seconds, t0 = timer_now();
    memset(seconds, 0, sizeof w->post_seconds);
    /* the test-test prior, only when the full covariance is asked for */
    if (cov) {
        kernel_gram_sym(p->x_test, ns, p->dim, k_ss, ns);
        kernel_layer0(k_ss, ns, ns, ns, sw2, sb2, k_ss, ns);
        if (t_ss)
            memcpy(t_ss, k_ss, (size_t)ns * ns * sizeof *t_ss);   /* Theta^0 = K^0 */
    }
    /* go on from an earlier posterior of this pair (not with cov: k_ss starts at layer 0) */
    int from = !cov && w->post_valid && w->post_sw2 == sw2 && w->post_sb2 == sb2 &&
               w->post_layer <= depth ? w->post_layer : 0;
    if (from == 0) {
        train_layer0(w, sw2, sb2);
        diagonals_layer0(w, sw2, sb2, 0);
    }
    for (int l = from + 1; l <= depth; l++) {
        if (p->poll)
            p->poll();
        if (cov)
            kernel_step_ntk_sym(k_ss, ns, t_ss, ns, ns, w->kd_s + (size_t)(l - 1) * ns,
                                t_ss ? w->td_s + (size_t)(l - 1) * ns : NULL, sw2, sb2);
        train_step(w, l, sw2, sb2, 0);
    }
    block_pass(w, w->g_st, w->kd_s, ns, w->k_st, w->th_st, from, depth, NULL, sw2, sb2, NULL);
    w->post_valid = 1;
    w->post_sw2 = sw2;
    w->post_sb2 = sb2;
    w->post_layer = depth;
    seconds[NNGP_PHASE_RECURSION] = timer_now() - t0;
    gp_factor_t f;
    t0 = timer_now();
    int rc = factor_current(w, depth, sw2, sb2, &f);
    seconds[NNGP_PHASE_FACTOR] = timer_now() - t0;
    if (noise_used)
        *noise_used = f.noise_used;
    if (info)
        *info = f.info;
    if (rc == 0) {
        t0 = timer_now();
        gp_solve(&f, p->y_train, p->ntargets, w->alpha);
        w->post_lml = gp_log_marginal(&f, p->y_train, w->alpha, p->ntargets);
        gp_mean(w->f_st, ns, nt, w->alpha, p->ntargets, mean);
        seconds[NNGP_PHASE_SOLVE] = timer_now() - t0;
        t0 = timer_now();
        /* prior diagonal K^L(x*, x*) (Theta^L(x*, x*) with the NTK) */
        gp_variance(&f, w->f_st, ns, w->fd_s + (size_t)depth * ns, var, work);
        if (cov)
            gp_covariance(&f, w->f_st, ns, t_ss ? t_ss : k_ss, cov, work);
        seconds[NNGP_PHASE_VARIANCE] = timer_now() - t0;
    }
    return rc;
}

double nngp_posterior_log_marginal(const nngp_work_t *w) { return w->post_lml; }

void nngp_posterior_seconds(const nngp_work_t *w, double seconds[NNGP_NPHASES])
{
    memcpy(seconds, w->post_seconds, sizeof w->post_seconds);
}

int nngp_posterior_check(const nngp_work_t *w, int depth, double sw2, double sb2, double s2,
                         nngp_check_t *check)
{
    const nngp_problem_t *p = &w->p;
    int n = p->ntrain, rows[NNGP_CHECK_ROWS], nrows = nngp_check_rows(n, rows);
    double *a = nn_alloc_doubles((size_t)nrows * n), *llt = nn_alloc_doubles((size_t)n * nrows);
    int rc = a && llt ? NN_OK : nn_fail(NN_ERR_NOMEM, "self-check: out of memory (%d train "
                                        "points)", n);
    if (rc == NN_OK)
        rc = nngp_check_kernel_rows(p, rows, nrows, depth, sw2, sb2, s2, a);
    if (rc == NN_OK) {
        /* llt = L Ls^T, Ls the sampled rows of L (zero right of the diagonal) */
        for (int j = 0; j < n; j++)
            for (int k = 0; k < nrows; k++)
                llt[(size_t)j * nrows + k] = j <= rows[k] ? w->lfac[(size_t)rows[k] * n + j] : 0.0;
        cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, nrows,
                    1.0, w->lfac, n, llt, nrows);
        *check = nngp_check_residuals(p, rows, nrows, a, llt, w->alpha);
    }
    free(a);
    free(llt);
    return rc;
}
