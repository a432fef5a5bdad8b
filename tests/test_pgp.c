/* test_pgp.c - the ScaLAPACK NNGP item (pgp) against the serial LAPACK one (nngp), an independent
 * implementation of the same mathematics (dense syrk/dpotrf/dtrsm on whole matrices vs. GEMM on
 * block-cyclic tiles, pdpotrf, pdpotrs, pdtrsm, pdsyrk). nnsweep-test: mpi
 * Every grid the rank count allows is tried (1 rank: 1x1; 2: 1x1 twice side by side, 1x2, 2x1;
 * 4: also 2x2, 1x4, 4x1), each group of a grid on its own variance pair, with small blocks so
 * the cyclic wrap and ragged last blocks are exercised, in the three storage modes. Also: the
 * jitter retry and failures are recorded as the serial path records them, bad input is refused,
 * the memory estimates, and the acceptance size n = 2000 on Fashion-MNIST.
 * Tolerance: both paths round differently (other summation orders in GEMM and Cholesky), so
 * results agree to about cond(K + s2 I) x 1e-16; the kernels here (noise 1e-6 on the small
 * problems, whose blob kernels are close to singular; the job default 1e-10 at n = 2000) keep
 * that near 1e-11 (the last test prints the largest differences seen), and 1e-9 is the issue's
 * bound. Accuracies and statuses must be identical, the noise used equal up to the rounding of
 * the mean diagonal it is scaled by. */
#include "testlib.h"

#include <mpi.h>

#include "dataset.h"
#include "nn_error.h"
#include "nn_rng.h"
#include "nngp.h"
#include "nngp_check.h"
#include "par.h"
#include "pgp.h"

#define RTOL 1e-9

/* Largest differences seen, reported by the last test (relative as in check_*), and those of
 * the latest comparison. */
static struct {
    double lml, mean, var, cov;
} maxdiff, lastdiff;
/* The largest self-check residuals of the posteriors compared (pgp_posterior_check). */
static nngp_check_t maxcheck;

/* ---- problems ---- */

/* Gaussian blobs as in test_nngp.c: class c around a random direction of length 1.2, unit noise;
 * targets -0.5/+0.5 (binary) or one-hot - 1/k. Same data on every rank (same seed). */
typedef struct {
    int dim, nclass, ntrain, ntest, nvalid, ntargets;
    double *x_train, *y_train, *x_test, *x_valid;
    int *train_label, *test_label, *valid_label;
} blobs_t;

static void blob_points(rng_t *r, const double *centers, int nclass, int dim, int n, double *x,
                        int *label)
{
    for (int i = 0; i < n; i++) {
        int c = (int)rng_below(r, (uint64_t)nclass);
        label[i] = c;
        for (int d = 0; d < dim; d++)
            x[(size_t)i * dim + d] = centers[c * dim + d] + rng_normal(r);
    }
}

static blobs_t blobs_make(uint64_t seed, int nclass, int dim, int ntrain, int ntest, int nvalid)
{
    blobs_t b = {dim, nclass, ntrain, ntest, nvalid, nclass == 2 ? 1 : nclass,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    rng_t r;
    rng_seed(&r, seed);
    double *centers = malloc(sizeof(double) * nclass * dim);
    for (int c = 0; c < nclass; c++) {
        double nrm = 0.0;
        for (int d = 0; d < dim; d++) {
            centers[c * dim + d] = rng_normal(&r);
            nrm += centers[c * dim + d] * centers[c * dim + d];
        }
        for (int d = 0; d < dim; d++)
            centers[c * dim + d] *= 1.2 / sqrt(nrm);
    }
    b.x_train = malloc(sizeof(double) * ntrain * dim);
    b.x_test = malloc(sizeof(double) * ntest * dim);
    b.x_valid = malloc(sizeof(double) * (nvalid ? nvalid : 1) * dim);
    b.y_train = malloc(sizeof(double) * ntrain * b.ntargets);
    b.train_label = malloc(sizeof(int) * ntrain);
    b.test_label = malloc(sizeof(int) * ntest);
    b.valid_label = malloc(sizeof(int) * (nvalid ? nvalid : 1));
    blob_points(&r, centers, nclass, dim, ntrain, b.x_train, b.train_label);
    blob_points(&r, centers, nclass, dim, ntest, b.x_test, b.test_label);
    blob_points(&r, centers, nclass, dim, nvalid, b.x_valid, b.valid_label);
    for (int i = 0; i < ntrain; i++) {
        if (b.ntargets == 1)
            b.y_train[i] = b.train_label[i] == 1 ? 0.5 : -0.5;
        else
            for (int c = 0; c < b.ntargets; c++)
                b.y_train[i * b.ntargets + c] = (b.train_label[i] == c) - 1.0 / nclass;
    }
    free(centers);
    return b;
}

static void blobs_free(blobs_t *b)
{
    free(b->x_train);
    free(b->y_train);
    free(b->x_test);
    free(b->x_valid);
    free(b->train_label);
    free(b->test_label);
    free(b->valid_label);
}

static nngp_problem_t blobs_problem(const blobs_t *b, const int *depths, int ndepth, double noise,
                                    double noise_max)
{
    nngp_problem_t p = {.dim = b->dim, .ntargets = b->ntargets, .ntrain = b->ntrain,
                        .ntest = b->ntest, .nvalid = b->nvalid, .x_train = b->x_train,
                        .y_train = b->y_train, .x_test = b->x_test,
                        .x_valid = b->nvalid ? b->x_valid : NULL, .test_label = b->test_label,
                        .valid_label = b->nvalid ? b->valid_label : NULL, .depths = depths,
                        .ndepth = ndepth, .noise = noise, .noise_max = noise_max, .poll = NULL};
    return p;
}

/* ---- groups and grids ---- */

/* Every (P, Q) whose group size P Q <= 4 divides the world size. */
static int grid_shapes(int shapes[][2])
{
    int n = 0, size = par_size();
    for (int g = 1; g <= 4; g *= 2) {
        if (size % g)
            continue;
        for (int p = 1; p <= g; p *= 2) {
            shapes[n][0] = p;
            shapes[n][1] = g / p;
            n++;
        }
    }
    return n;
}

/* Groups of g consecutive world ranks; *color numbers the group. */
static par_comm_t *group_split(int g, int *color)
{
    *color = par_rank() / g;
    par_comm_t *c = par_comm_split(par_world(), *color, par_rank());
    assert_non_null(c);
    return c;
}

/* ---- the serial reference (computed on rank 0 of a communicator, broadcast) ---- */

typedef struct {
    double acc[8], vacc[8], lml[8], noise[8];
    int status[8], info[8];
} item_res_t;

static nngp_result_t as_result(item_res_t *r)
{
    nngp_result_t x = {r->acc, r->vacc, r->lml, r->noise, r->status, r->info, {0}};
    return x;
}

/* The serial results of one model (sw2, sb2): an item over the problem's depths, and the
 * posterior at post_depth (-1: none), with the covariance if with_cov. */
typedef struct {
    double sw2, sb2;
    item_res_t item;
    int post_depth, with_cov;
    int rc, info;
    double noise;
    double *mean, *var, *cov;
} ref_t;

static ref_t ref_compute(const nngp_problem_t *prob, double sw2, double sb2, int post_depth,
                         int with_cov, const par_comm_t *comm)
{
    ref_t ref = {.sw2 = sw2, .sb2 = sb2, .post_depth = post_depth, .with_cov = with_cov};
    size_t ns = (size_t)prob->ntest, nm = ns * prob->ntargets, nc = with_cov ? ns * ns : 1;
    ref.mean = malloc(nm * sizeof(double));
    ref.var = malloc(ns * sizeof(double));
    ref.cov = malloc(nc * sizeof(double));
    if (par_comm_rank(comm) == 0) {
        nngp_work_t *w = nngp_work_create(prob);
        assert_non_null(w);
        nngp_result_t r = as_result(&ref.item);
        assert_int_equal(nngp_item_run(w, sw2, sb2, &r), 0);
        if (post_depth >= 0)
            ref.rc = nngp_posterior(w, post_depth, sw2, sb2, ref.mean, ref.var,
                                    with_cov ? ref.cov : NULL, &ref.noise, &ref.info);
        nngp_work_destroy(&w);
    }
    int ints[2] = {ref.rc, ref.info};
    assert_int_equal(par_comm_bcast(comm, &ref.item, sizeof ref.item, 0), 0);
    assert_int_equal(par_comm_bcast(comm, ints, sizeof ints, 0), 0);
    ref.rc = ints[0];
    ref.info = ints[1];
    assert_int_equal(par_comm_bcast(comm, &ref.noise, sizeof ref.noise, 0), 0);
    assert_int_equal(par_comm_bcast(comm, ref.mean, nm * sizeof(double), 0), 0);
    assert_int_equal(par_comm_bcast(comm, ref.var, ns * sizeof(double), 0), 0);
    assert_int_equal(par_comm_bcast(comm, ref.cov, nc * sizeof(double), 0), 0);
    return ref;
}

static void ref_free(ref_t *ref)
{
    free(ref->mean);
    free(ref->var);
    free(ref->cov);
}

/* ---- the distributed side against the reference ---- */

/* Identical statuses, infos of successful depths and accuracies; the same noise used (s2 = noise
 * or 1e-12 x mean diagonal x 10^k with the same k: the mean diagonals differ by rounding only,
 * the serial Gram diagonal coming from dsyrk, this one from kernel_gram_diag); log marginal
 * likelihood to rtol. */
static void check_item(pgp_work_t *w, const nngp_problem_t *prob, const ref_t *ref, double rtol,
                       const char *label)
{
    item_res_t got;
    nngp_result_t r = as_result(&got);
    assert_int_equal(pgp_item_run(w, ref->sw2, ref->sb2, &r), 0);
    const item_res_t *e = &ref->item;
    for (int d = 0; d < prob->ndepth; d++) {
        if (got.status[d] != e->status[d] ||
            !(fabs(got.noise[d] - e->noise[d]) <= 1e-13 * e->noise[d]))
            fail_msg("%s depth %d: status %d noise %.17g info %d, serial status %d noise %.17g "
                     "info %d", label, prob->depths[d], got.status[d], got.noise[d],
                     got.info[d], e->status[d], e->noise[d], e->info[d]);
        if (e->status[d] != NNGP_OK) {
            assert_true(got.info[d] > 0 && isnan(got.lml[d]) && isnan(got.acc[d]));
            continue;
        }
        assert_int_equal(got.info[d], 0);
        if (got.acc[d] != e->acc[d] || (prob->nvalid > 0 && got.vacc[d] != e->vacc[d]))
            fail_msg("%s depth %d: accuracy %g / %g, serial %g / %g", label, prob->depths[d],
                     got.acc[d], got.vacc[d], e->acc[d], e->vacc[d]);
        if (prob->nvalid == 0)
            assert_true(isnan(got.vacc[d]));
        double rel = fabs(got.lml[d] - e->lml[d]) / fabs(e->lml[d]);
        if (!(rel <= rtol))
            fail_msg("%s depth %d: log marginal likelihood %.17g, serial %.17g: rel diff %.3g > "
                     "%.0e", label, prob->depths[d], got.lml[d], e->lml[d], rel, rtol);
        if (rtol == RTOL)
            maxdiff.lml = fmax(maxdiff.lml, rel);
        lastdiff.lml = fmax(lastdiff.lml, rel);
    }
}

/* max_i |a_i - b_i| / scale */
static double max_abs_diff(const double *a, const double *b, size_t n, double scale)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m / scale;
}

static double max_abs(const double *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* The largest prior variance K^depth(x*, x*) over the test points (the diagonal recursion from
 * sb2 + sw2 |x|^2 / dim): the scale of posterior variances and covariances. */
static double prior_scale(const nngp_problem_t *prob, int depth, double sw2, double sb2)
{
    double prior = 0.0;
    for (int i = 0; i < prob->ntest; i++) {
        const double *x = prob->x_test + (size_t)i * prob->dim;
        double s = 0.0;
        for (int d = 0; d < prob->dim; d++)
            s += x[d] * x[d];
        double k = sb2 + sw2 * s / prob->dim;
        for (int l = 0; l < depth; l++)
            k = sb2 + 0.5 * sw2 * k;
        prior = fmax(prior, k);
    }
    return prior;
}

/* Posterior against nngp_posterior: mean to RTOL of its largest entry; variance and covariance
 * (kss - |v|^2 cancels) to RTOL of the largest prior variance; the same noise used and info;
 * the same predictions. */
static void check_posterior(pgp_work_t *w, const nngp_problem_t *prob, const ref_t *ref,
                            const char *label)
{
    int ns = prob->ntest, nr = prob->ntargets, depth = ref->post_depth;
    size_t nm = (size_t)ns * nr, nc = ref->with_cov ? (size_t)ns * ns : 1;
    double *mean = malloc(nm * sizeof *mean), *var = malloc(ns * sizeof *var);
    double *cov = malloc(nc * sizeof *cov), noise = -1;
    int info = -1;
    assert_int_equal(ref->rc, 0);
    assert_int_equal(pgp_posterior(w, depth, ref->sw2, ref->sb2, mean, var,
                                   ref->with_cov ? cov : NULL, &noise, &info), 0);
    assert_true(fabs(noise - ref->noise) <= 1e-13 * ref->noise);
    assert_int_equal(info, ref->info);
    double prior = prior_scale(prob, depth, ref->sw2, ref->sb2);
    double dm = max_abs_diff(mean, ref->mean, nm, max_abs(ref->mean, nm));
    double dv = max_abs_diff(var, ref->var, ns, prior);
    double dc = ref->with_cov ? max_abs_diff(cov, ref->cov, nc, prior) : 0.0;
    if (!(dm <= RTOL && dv <= RTOL && dc <= RTOL))
        fail_msg("%s posterior depth %d: mean %.3g var %.3g cov %.3g > %.0e", label, depth, dm,
                 dv, dc, RTOL);
    assert_true(nngp_accuracy(mean, ns, nr, prob->test_label) ==
                nngp_accuracy(ref->mean, ns, nr, prob->test_label));
    nngp_check_t c = {NAN, NAN};
    assert_int_equal(pgp_posterior_check(w, depth, ref->sw2, ref->sb2, noise, &c), 0);
    if (!nngp_check_passed(c, NNGP_CHECK_THRESHOLD_DEFAULT))
        fail_msg("%s self-check depth %d: solve %.3g, factor %.3g", label, depth, c.solve,
                 c.factor);
    maxcheck.solve = fmax(maxcheck.solve, c.solve);
    maxcheck.factor = fmax(maxcheck.factor, c.factor);
    maxdiff.mean = fmax(maxdiff.mean, dm);
    lastdiff.mean = fmax(lastdiff.mean, dm);
    maxdiff.var = fmax(maxdiff.var, dv);
    maxdiff.cov = fmax(maxdiff.cov, dc);
    free(mean);
    free(var);
    free(cov);
}

/* One work object on a p x q grid over comm: its item (and posterior, if the reference has one)
 * against the reference. */
static void compare_on_grid(const nngp_problem_t *prob, const par_comm_t *comm, int p, int q,
                            int nb, pgp_store_t store, const ref_t *ref, double rtol)
{
    char label[96];
    snprintf(label, sizeof label, "%dx%d grid, nb %d, store %d, (%g, %g)", p, q, nb, (int)store,
             ref->sw2, ref->sb2);
    pgp_grid_t *g = pgp_grid_create(comm, p, q, nb);
    assert_non_null(g);
    assert_int_equal(g->nprow, p);
    assert_int_equal(g->npcol, q);
    pgp_work_t *w = pgp_work_create(g, prob, store);
    assert_non_null(w);
    check_item(w, prob, ref, rtol, label);
    if (ref->post_depth >= 0)
        check_posterior(w, prob, ref, label);
    pgp_work_destroy(&w);
    pgp_grid_destroy(&g);
}

static const double pairs[4][2] = {{1.6, 0.1}, {2.5, 0.5}, {1.0, 0.0}, {3.0, 1.0}};

/* Items and posteriors (depth 3, with covariance) on every grid, block sizes 16 and 32 (300 =
 * 18 x 16 + 12 = 9 x 32 + 12), the three stores; group c of a layout runs variance pair c. */
static void items_on_every_grid(int nclass, uint64_t seed, int ntk)
{
    blobs_t b = blobs_make(seed, nclass, 20, 300, 100, 50);
    const int depths[] = {1, 2, 3, 4};
    nngp_problem_t prob = blobs_problem(&b, depths, 4, 1e-6, 0.1);
    prob.ntk = ntk;
    int shapes[8][2], ns = grid_shapes(shapes);
    for (int s = 0; s < ns; s++) {
        int color, p = shapes[s][0], q = shapes[s][1];
        par_comm_t *comm = group_split(p * q, &color);
        ref_t ref = ref_compute(&prob, pairs[color % 4][0], pairs[color % 4][1], 3, 1, comm);
        compare_on_grid(&prob, comm, p, q, 16, PGP_STORE_GRAM, &ref, RTOL);
        compare_on_grid(&prob, comm, p, q, 32, PGP_STORE_LAYER, &ref, RTOL);
        if (!ntk)   /* the NTK keeps K beside Theta: layer or gram */
            compare_on_grid(&prob, comm, p, q, 16, PGP_STORE_FACTOR, &ref, RTOL);
        ref_free(&ref);
        par_comm_free(&comm);
    }
    blobs_free(&b);
}

static void test_binary_items(void **state)
{
    (void)state;
    items_on_every_grid(2, 11, 0);
}

/* The NTK (Theta regressed with instead of K) on every grid, against the LAPACK path's NTK. */
static void test_ntk_items(void **state)
{
    (void)state;
    items_on_every_grid(3, 13, 1);
}

static void test_three_class_items(void **state)
{
    (void)state;
    items_on_every_grid(3, 12, 0);
}

/* The posterior at depth 0 (K^0 = sb2 + sw2 x.x'/20 has rank 21, so noise 1e-2 keeps
 * cond(K + s2 I) ~ 1e5) and an item whose only depth is 1, on every grid. */
static void test_depth0_posterior(void **state)
{
    (void)state;
    blobs_t b = blobs_make(21, 3, 20, 300, 100, 0);
    const int depths[] = {1};
    nngp_problem_t prob = blobs_problem(&b, depths, 1, 1e-2, 0.1);
    int shapes[8][2], ns = grid_shapes(shapes);
    for (int s = 0; s < ns; s++) {
        int color, p = shapes[s][0], q = shapes[s][1];
        par_comm_t *comm = group_split(p * q, &color);
        ref_t ref = ref_compute(&prob, pairs[color % 4][0], pairs[color % 4][1], 0, 1, comm);
        compare_on_grid(&prob, comm, p, q, 32, PGP_STORE_FACTOR, &ref, RTOL);
        compare_on_grid(&prob, comm, p, q, 16, PGP_STORE_GRAM, &ref, RTOL);
        ref_free(&ref);
        par_comm_free(&comm);
    }
    blobs_free(&b);
}

/* Duplicated training points (with their targets) and noise 0: the first attempt fails; the
 * retries from 1e-12 x mean diagonal succeed at the same s2 as on the serial path, with the same
 * status and accuracies. The log marginal likelihood holds log s2-sized pivots that rounding
 * perturbs by ~1e-3 relative (cond ~ 1e12), so it is compared to 1e-3 only. With noise_max 0
 * every depth fails on both (info > 0, NaN results), the item still returns 0, the message names
 * the grid point, and the posterior reports NN_ERR_NOT_PD. */
static void test_jitter_retry(void **state)
{
    (void)state;
    blobs_t b = blobs_make(33, 2, 5, 120, 30, 0);
    for (int i = 40; i < 120; i++) {   /* 40 distinct points, each three times */
        memcpy(b.x_train + (size_t)i * 5, b.x_train + (size_t)(i % 40) * 5, 5 * sizeof(double));
        b.y_train[i] = b.y_train[i % 40];
        b.train_label[i] = b.train_label[i % 40];
    }
    const int depths[] = {1, 2};
    int shapes[8][2], ns = grid_shapes(shapes);
    for (int s = 0; s < ns; s++) {
        int color, p = shapes[s][0], q = shapes[s][1];
        par_comm_t *comm = group_split(p * q, &color);
        nngp_problem_t prob = blobs_problem(&b, depths, 2, 0.0, 1e-2);
        ref_t ref = ref_compute(&prob, 2.0, 0.1, -1, 0, comm);
        for (int d = 0; d < 2; d++)
            assert_true(ref.item.status[d] == NNGP_OK && ref.item.noise[d] > 0.0);
        compare_on_grid(&prob, comm, p, q, 16, PGP_STORE_GRAM, &ref, 1e-3);
        compare_on_grid(&prob, comm, p, q, 16, PGP_STORE_FACTOR, &ref, 1e-3);
        ref_free(&ref);

        prob.noise_max = 0.0;
        pgp_grid_t *g = pgp_grid_create(comm, p, q, 16);
        pgp_work_t *w = pgp_work_create(g, &prob, PGP_STORE_LAYER);
        assert_non_null(w);
        item_res_t got;
        nngp_result_t r = as_result(&got);
        nn_error_clear();
        assert_int_equal(pgp_item_run(w, 2.0, 0.0, &r), 0);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(got.status[k], NNGP_FAILED);
            assert_true(got.info[k] > 0);
            assert_true(isnan(got.acc[k]) && isnan(got.lml[k]) && isnan(got.vacc[k]));
            assert_true(got.noise[k] == 0.0);
        }
        assert_non_null(strstr(nn_errmsg(), "NNGP depth 2, sigma_w^2 = 2, sigma_b^2 = 0"));
        double mean[30], var[30], s2 = -1;
        int info = 0;
        assert_int_equal(pgp_posterior(w, 1, 2.0, 0.0, mean, var, NULL, &s2, &info),
                         NN_ERR_NOT_PD);
        assert_true(info > 0 && s2 == 0.0);
        pgp_work_destroy(&w);
        pgp_grid_destroy(&g);
        par_comm_free(&comm);
    }
    blobs_free(&b);
}

/* The three stores compute every kernel entry by the same operations (the same GEMM shapes on
 * the same rows, the same recursion), so they give the same results on the same grid; the test
 * allows 1e-13 relative in case a BLAS rounds differently for another leading dimension. */
static void test_stores_agree(void **state)
{
    (void)state;
    blobs_t b = blobs_make(44, 3, 20, 300, 100, 50);
    const int depths[] = {1, 3};
    nngp_problem_t prob = blobs_problem(&b, depths, 2, 1e-6, 0.1);
    pgp_grid_t *g = pgp_grid_create(par_world(), 0, 0, 16);
    assert_non_null(g);
    item_res_t res[3];
    double mean[3][300], var[3][100];
    for (int s = 0; s < 3; s++) {
        pgp_work_t *w = pgp_work_create(g, &prob, (pgp_store_t)s);
        assert_non_null(w);
        nngp_result_t r = as_result(&res[s]);
        assert_int_equal(pgp_item_run(w, 2.0, 0.3, &r), 0);
        assert_int_equal(pgp_posterior(w, 2, 2.0, 0.3, mean[s], var[s], NULL, NULL, NULL), 0);
        pgp_work_destroy(&w);
    }
    int identical = 1;
    for (int s = 1; s < 3; s++) {
        for (int d = 0; d < 2; d++) {
            assert_true(res[s].status[d] == NNGP_OK && res[s].acc[d] == res[0].acc[d] &&
                        res[s].vacc[d] == res[0].vacc[d] && res[s].noise[d] == res[0].noise[d]);
            assert_rel_close(res[s].lml[d], res[0].lml[d], 1e-13, 0.0);
            identical &= res[s].lml[d] == res[0].lml[d];
        }
        for (int i = 0; i < 300; i++) {
            assert_rel_close(mean[s][i], mean[0][i], 1e-13, 1.0);
            identical &= mean[s][i] == mean[0][i];
        }
        for (int i = 0; i < 100; i++)
            identical &= var[s][i] == var[0][i];
    }
    print_message("stores GRAM, LAYER, FACTOR on %dx%d: %s\n", g->nprow, g->npcol,
                  identical ? "bit-identical" : "equal to 1e-13");
    pgp_grid_destroy(&g);
    blobs_free(&b);
}

/* The posterior of the model an item has just factored at its deepest depth reuses the item's
 * factor and solution (pgp_work_holds) and gives the bits of a posterior computed from nothing,
 * in every store; after another model's item, or at another depth, or after a posterior (whose
 * variance solve overwrites the test kernel), it is computed again, with the same bits.
 * Tolerance 0: the same operations either way. */
static void test_posterior_reuses_the_item(void **state)
{
    (void)state;
    blobs_t b = blobs_make(45, 3, 20, 300, 100, 50);
    const int depths[] = {1, 3};
    nngp_problem_t prob = blobs_problem(&b, depths, 2, 1e-6, 0.1);
    pgp_grid_t *g = pgp_grid_create(par_world(), 0, 0, 16);
    assert_non_null(g);
    for (int s = 0; s < 3; s++) {
        item_res_t res;
        double mean[4][300], var[4][100], s2[4];
        int info[4];
        pgp_work_t *fresh = pgp_work_create(g, &prob, (pgp_store_t)s);
        pgp_work_t *w = pgp_work_create(g, &prob, (pgp_store_t)s);
        assert_true(fresh && w);
        assert_false(pgp_work_holds(w, 3, 2.0, 0.3));
        assert_int_equal(pgp_posterior(fresh, 3, 2.0, 0.3, mean[0], var[0], NULL, &s2[0],
                                       &info[0]), 0);
        nngp_result_t r = as_result(&res);
        assert_int_equal(pgp_item_run(w, 2.0, 0.3, &r), 0);
        assert_true(pgp_work_holds(w, 3, 2.0, 0.3));
        assert_false(pgp_work_holds(w, 1, 2.0, 0.3) || pgp_work_holds(w, 3, 2.0, 0.4));
        assert_int_equal(pgp_posterior(w, 3, 2.0, 0.3, mean[1], var[1], NULL, &s2[1], &info[1]),
                         0);
        assert_int_equal(pgp_item_run(w, 1.0, 0.0, &r), 0);
        assert_false(pgp_work_holds(w, 3, 2.0, 0.3));
        assert_int_equal(pgp_posterior(w, 3, 2.0, 0.3, mean[2], var[2], NULL, &s2[2], &info[2]),
                         0);
        /* the variance's solve consumed the test kernel: a second posterior of the model builds
         * everything again, with the same bits */
        assert_false(pgp_work_holds(w, 3, 2.0, 0.3));
        assert_int_equal(pgp_posterior(w, 3, 2.0, 0.3, mean[3], var[3], NULL, &s2[3], &info[3]),
                         0);
        for (int k = 1; k < 4; k++) {
            assert_memory_equal(mean[k], mean[0], sizeof mean[0]);
            assert_memory_equal(var[k], var[0], sizeof var[0]);
            assert_true(s2[k] == s2[0] && info[k] == info[0]);
        }
        pgp_work_destroy(&w);
        pgp_work_destroy(&fresh);
    }
    pgp_grid_destroy(&g);
    blobs_free(&b);
}

/* The self-check on the grid of all ranks, for each store: the fit passes, with residuals of the
 * order of the LAPACK fit's (nngp_posterior_check on the same problem, both below 1); it fails
 * when a target of a sampled row changes after the fit (the weights no longer solve the system)
 * and when a training point moves (the factor is no longer that of the kernel). */
static void test_self_check(void **state)
{
    (void)state;
    blobs_t b = blobs_make(46, 3, 20, 300, 100, 50);
    const int depths[] = {3};
    nngp_problem_t prob = blobs_problem(&b, depths, 1, 1e-10, 0.1);
    double mean[300], var[100], s2;
    nngp_work_t *serial = nngp_work_create(&prob);
    assert_non_null(serial);
    assert_int_equal(nngp_posterior(serial, 3, 2.0, 0.3, mean, var, NULL, &s2, NULL), 0);
    nngp_check_t ref;
    assert_int_equal(nngp_posterior_check(serial, 3, 2.0, 0.3, s2, &ref), 0);
    nngp_work_destroy(&serial);
    assert_true(ref.solve < 1.0 && ref.factor < 1.0);
    pgp_grid_t *g = pgp_grid_create(par_world(), 0, 0, 16);
    assert_non_null(g);
    for (int s = 0; s < 3; s++) {
        pgp_work_t *w = pgp_work_create(g, &prob, (pgp_store_t)s);
        assert_non_null(w);
        assert_int_equal(pgp_posterior(w, 3, 2.0, 0.3, mean, var, NULL, &s2, NULL), 0);
        nngp_check_t c;
        assert_int_equal(pgp_posterior_check(w, 3, 2.0, 0.3, s2, &c), 0);
        print_message("store %d: solve %.3g, factor %.3g (LAPACK: %.3g, %.3g)\n", s, c.solve,
                      c.factor, ref.solve, ref.factor);
        assert_true(c.solve < 1.0 && c.factor < 1.0);
        b.y_train[3 * 299 + 1] += 1e-4;   /* the last row is always sampled */
        assert_int_equal(pgp_posterior_check(w, 3, 2.0, 0.3, s2, &c), 0);
        assert_true(c.solve > 1e3 && c.factor < 1.0);
        b.y_train[3 * 299 + 1] -= 1e-4;
        double x = b.x_train[20 * 150];
        b.x_train[20 * 150] += 1e-3;
        assert_int_equal(pgp_posterior_check(w, 3, 2.0, 0.3, s2, &c), 0);
        assert_true(c.factor > 1e3 && !nngp_check_passed(c, NNGP_CHECK_THRESHOLD_DEFAULT));
        b.x_train[20 * 150] = x;
        pgp_work_destroy(&w);
    }
    pgp_grid_destroy(&g);
    blobs_free(&b);
}

/* Depths not ascending, a negative posterior depth and a grid that does not fit are refused
 * on every rank with a message. */
static void test_bad_input(void **state)
{
    (void)state;
    blobs_t b = blobs_make(5, 2, 4, 40, 10, 0);
    const int depths[] = {2, 2};
    nngp_problem_t prob = blobs_problem(&b, depths, 2, 1e-6, 0.1);
    int p, q;
    pgp_grid_shape(par_size(), &p, &q);
    pgp_grid_t *g = pgp_grid_create(par_world(), 0, 0, 8);
    assert_non_null(g);
    assert_int_equal(g->nprow, p);
    assert_int_equal(g->npcol, q);
    pgp_work_t *w = pgp_work_create(g, &prob, PGP_STORE_GRAM);
    assert_non_null(w);
    item_res_t got;
    nngp_result_t r = as_result(&got);
    assert_int_equal(pgp_item_run(w, 1.0, 0.0, &r), NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "ascending"));
    double mean[10], var[10];
    assert_int_equal(pgp_posterior(w, -1, 1.0, 0.0, mean, var, NULL, NULL, NULL), NN_ERR_INPUT);
    pgp_work_destroy(&w);
    pgp_work_destroy(&w);   /* accepts NULL */
    pgp_grid_destroy(&g);
    pgp_grid_destroy(&g);

    nn_error_clear();
    assert_null(pgp_grid_create(par_world(), 3, par_size(), 0));
    assert_non_null(strstr(nn_errmsg(), "does not fit a group of"));
    blobs_free(&b);

    int s1, t1;
    pgp_grid_shape(12, &s1, &t1);
    assert_true(s1 == 3 && t1 == 4);
    pgp_grid_shape(7, &s1, &t1);
    assert_true(s1 == 1 && t1 == 7);
    pgp_grid_shape(16, &s1, &t1);
    assert_true(s1 == 4 && t1 == 4);
}

/* The estimates: at n = 16000 on 2 ranks PGP_STORE_FACTOR keeps each rank near half the full
 * kernel (n^2 x 8 bytes), LAYER near 3/4, GRAM a little above the full kernel (plus the test
 * kernels); pgp_store_choose picks the biggest that fits. */
static void test_memory_estimates(void **state)
{
    (void)state;
    const int n = 16000, nt = 1000;
    double full = 8.0 * n * n;
    double f = (double)pgp_work_bytes(n, nt, 0, 1, 1, 2, 0, PGP_STORE_FACTOR, 0);
    double l = (double)pgp_work_bytes(n, nt, 0, 1, 1, 2, 0, PGP_STORE_LAYER, 0);
    double gr = (double)pgp_work_bytes(n, nt, 0, 1, 1, 2, 0, PGP_STORE_GRAM, 0);
    print_message("n = %d on 1x2 (test %d): full kernel %.2f GB; per rank FACTOR %.2f GB, "
                  "LAYER %.2f GB, GRAM %.2f GB; posterior +%.2f GB\n", n, nt, full * 1e-9,
                  f * 1e-9, l * 1e-9, gr * 1e-9,
                  pgp_posterior_bytes(n, nt, 1, 2, 0, 0) * 1e-9);
    /* per rank of 2: the lower half of the factor's array (the only part ever resident), plus
     * one packed lower half per kept layer */
    assert_true(f < 0.32 * full && f > 0.25 * full);
    assert_true(l < 0.57 * full && l > 0.5 * full);
    assert_true(gr < 0.86 * full && gr > 0.75 * full);
    double f4 = (double)pgp_work_bytes(n, nt, 0, 1, 2, 2, 0, PGP_STORE_FACTOR, 0);
    assert_true(f4 < 0.2 * full);
    size_t post = pgp_posterior_bytes(n, nt, 1, 2, 0, 0);
    assert_int_equal(pgp_store_choose(n, nt, 0, 1, 1, 2, 0, 0, (size_t)gr + post, 0), PGP_STORE_GRAM);
    assert_int_equal(pgp_store_choose(n, nt, 0, 1, 1, 2, 0, 0, (size_t)gr + post - 1, 0),
                     PGP_STORE_LAYER);
    assert_int_equal(pgp_store_choose(n, nt, 0, 1, 1, 2, 0, 0, (size_t)f + post, 0),
                     PGP_STORE_FACTOR);
    assert_int_equal(pgp_store_choose(n, nt, 0, 1, 1, 2, 0, 0, (size_t)f, 0), -1);
}

/* The acceptance size: n = 2000 Fashion-MNIST (T-shirt/top vs Shirt, and all ten classes),
 * 500 test points, depths 2 and 5, default noise 1e-10, the default block size, on the grids
 * 1x1, 1x2 and 2x2 that the rank count allows: log marginal likelihood and posterior mean to
 * 1e-9, identical accuracies and predictions. The serial references (two variance pairs) are computed once on
 * rank 0. Random data stand in when the dataset is not installed. */
static void test_acceptance_n2000(void **state)
{
    (void)state;
    for (int binary = 1; binary >= 0; binary--) {
        dataset_t ds;
        memset(&ds, 0, sizeof ds);
        int loaded = 0;
        if (par_rank() == 0) {
            data_spec_t spec = {.kind = DATASET_FASHION_MNIST, .path = "", .nclasses = 0,
                                .train = 2000, .validation = 0, .test = 500,
                                .preprocess = PREPROCESS_SCALE01, .shuffle_seed = -1};
            if (binary) {
                spec.classes[0] = 0;
                spec.classes[1] = 6;
                spec.nclasses = 2;
            } else {
                for (int c = 0; c < 10; c++)
                    spec.classes[c] = c;
                spec.nclasses = 10;
            }
            loaded = dataset_load(&spec, &ds) == 0;
        }
        MPI_Bcast(&loaded, 1, MPI_INT, 0, MPI_COMM_WORLD);
        blobs_t b = {0};
        nngp_problem_t prob;
        const int depths[] = {2, 5};
        if (loaded) {
            assert_int_equal(par_bcast_dataset(&ds, 0), 0);
            prob = (nngp_problem_t){.dim = ds.dim, .ntargets = ds.ntargets,
                                    .ntrain = ds.train.n, .ntest = ds.test.n, .nvalid = 0,
                                    .x_train = ds.train.x, .y_train = ds.train.y,
                                    .x_test = ds.test.x, .test_label = ds.test.label,
                                    .depths = depths, .ndepth = 2, .noise = 1e-10,
                                    .noise_max = 0.1};
        } else {
            print_message("Fashion-MNIST not found: random blobs instead\n");
            b = blobs_make(77, binary ? 2 : 10, 784, 2000, 500, 0);
            prob = blobs_problem(&b, depths, 2, 1e-10, 0.1);
        }
        ref_t ref[2];
        for (int k = 0; k < 2; k++)
            ref[k] = ref_compute(&prob, pairs[k][0], pairs[k][1], 5, 0, par_world());
        static const int acc_shapes[3][2] = {{1, 1}, {1, 2}, {2, 2}};
        for (int s = 0; s < 3; s++) {
            int p = acc_shapes[s][0], q = acc_shapes[s][1], color;
            if (par_size() % (p * q))
                continue;
            par_comm_t *comm = group_split(p * q, &color);
            memset(&lastdiff, 0, sizeof lastdiff);
            compare_on_grid(&prob, comm, p, q, 0, PGP_STORE_GRAM, &ref[color % 2], RTOL);
            par_comm_free(&comm);
            double d[2] = {lastdiff.lml, lastdiff.mean}, all[2];
            MPI_Allreduce(d, all, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            print_message("n = 2000, %s, %dx%d grid(s): max relative difference log marginal "
                          "likelihood %.2e, posterior mean %.2e\n",
                          binary ? "binary" : "10 classes", p, q, all[0], all[1]);
        }
        ref_free(&ref[0]);
        ref_free(&ref[1]);
        if (loaded)
            dataset_free(&ds);
        else
            blobs_free(&b);
    }
}

/* Prints the largest differences seen on any rank (run last). */
static void test_report_differences(void **state)
{
    (void)state;
    double mine[4] = {maxdiff.lml, maxdiff.mean, maxdiff.var, maxdiff.cov}, all[4];
    MPI_Allreduce(mine, all, 4, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    print_message("max relative differences pgp vs nngp over %d rank(s): log marginal "
                  "likelihood %.2e, posterior mean %.2e, variance %.2e, covariance %.2e "
                  "(tolerance %.0e)\n", par_size(), all[0], all[1], all[2], all[3], RTOL);
    for (int i = 0; i < 4; i++)
        assert_true(all[i] <= RTOL);
    double check[2] = {maxcheck.solve, maxcheck.factor};
    MPI_Allreduce(MPI_IN_PLACE, check, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    print_message("largest self-check residuals of those posteriors: solve %.2e, factor %.2e "
                  "(threshold %g)\n", check[0], check[1], NNGP_CHECK_THRESHOLD_DEFAULT);
}

static double t_start;

static int start_clock(void **state)
{
    (void)state;
    t_start = MPI_Wtime();
    return 0;
}

static int print_clock(void **state)
{
    (void)state;
    print_message("(%.1f s)\n", MPI_Wtime() - t_start);
    return 0;
}

#define TIMED(f) cmocka_unit_test_setup_teardown(f, start_clock, print_clock)

int main(int argc, char **argv)
{
    par_init(&argc, &argv);
    test_quiet_unless(par_rank() == 0);
    const struct CMUnitTest tests[] = {
        TIMED(test_binary_items),
        TIMED(test_three_class_items),
        TIMED(test_ntk_items),
        TIMED(test_depth0_posterior),
        TIMED(test_jitter_retry),
        TIMED(test_stores_agree),
        TIMED(test_posterior_reuses_the_item),
        TIMED(test_self_check),
        TIMED(test_bad_input),
        TIMED(test_memory_estimates),
        TIMED(test_acceptance_n2000),
        TIMED(test_report_differences),
    };
    int failed = cmocka_run_group_tests_name("pgp", tests, NULL, NULL);
    par_finalize();
    return failed;
}
