/* test_nngp.c - the whole NNGP item pipeline (work object, recursion over depths, factor, solve,
 * accuracy, log marginal likelihood, posterior) against a separate numpy implementation,
 * tests/ref/nngp_reference.py, run with /usr/bin/python3 on the same data; and a grid point whose
 * factorization fails at every depth without stopping the item. */
#include "testlib.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "nn_rng.h"
#include "nngp.h"
#include "nngp_check.h"

#define PYTHON "/usr/bin/python3"

/* A classification problem from Gaussian blobs: class c has mean 1.2 * e_c-ish direction
 * (random unit vectors, fixed by the seed) and unit noise in every dimension, so classes overlap
 * and accuracies are informative (not all 1). Targets: binary -0.5/+0.5, else one-hot - 1/k. */
typedef struct {
    int dim, nclass, ntrain, ntest, nvalid;
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
    blobs_t b = {dim, nclass, ntrain, ntest, nvalid, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
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
    int ntargets = nclass == 2 ? 1 : nclass;
    b.x_train = malloc(sizeof(double) * ntrain * dim);
    b.x_test = malloc(sizeof(double) * ntest * dim);
    b.x_valid = malloc(sizeof(double) * (nvalid ? nvalid : 1) * dim);
    b.y_train = malloc(sizeof(double) * ntrain * ntargets);
    b.train_label = malloc(sizeof(int) * ntrain);
    b.test_label = malloc(sizeof(int) * ntest);
    b.valid_label = malloc(sizeof(int) * (nvalid ? nvalid : 1));
    blob_points(&r, centers, nclass, dim, ntrain, b.x_train, b.train_label);
    blob_points(&r, centers, nclass, dim, ntest, b.x_test, b.test_label);
    blob_points(&r, centers, nclass, dim, nvalid, b.x_valid, b.valid_label);
    for (int i = 0; i < ntrain; i++) {
        if (ntargets == 1)
            b.y_train[i] = b.train_label[i] == 1 ? 0.5 : -0.5;
        else
            for (int c = 0; c < ntargets; c++)
                b.y_train[i * ntargets + c] = (b.train_label[i] == c) - 1.0 / nclass;
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

static void write_raw(const char *dir, const char *name, const void *p, size_t bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_true(fwrite(p, 1, bytes, f) == bytes || bytes == 0);
    fclose(f);
}

static void read_raw(const char *dir, const char *name, void *p, size_t bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("reference output %s missing", path);
    assert_true(fread(p, 1, bytes, f) == bytes);
    fclose(f);
}

/* tests/ref/nngp_reference.py, located next to this source file. */
static void reference_script(char *buf, size_t len)
{
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    int dirlen = slash ? (int)(slash - src) : 1;
    snprintf(buf, len, "%.*s/ref/nngp_reference.py", dirlen, slash ? src : ".");
}

static void remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct {
    const double *sw2, *sb2;
    int nsw, nsb;
    const int *depths;
    int ndepth;
    double noise, noise_max;
    int post_depth;
    double post_sw2, post_sb2;
    int ntk;                 /* regress with the NTK Theta */
} grid_t;

/* Writes the problem for the reference script and runs it. */
static void run_reference(const char *dir, const blobs_t *b, const grid_t *g)
{
    int ntargets = b->nclass == 2 ? 1 : b->nclass;
    char path[512];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%d %d %d %d %d\n%.17g %.17g\ndepths", b->ntrain, b->ntest, b->nvalid, b->dim,
            ntargets, g->noise, g->noise_max);
    for (int i = 0; i < g->ndepth; i++)
        fprintf(f, " %d", g->depths[i]);
    fprintf(f, "\nsw2");
    for (int i = 0; i < g->nsw; i++)
        fprintf(f, " %.17g", g->sw2[i]);
    fprintf(f, "\nsb2");
    for (int i = 0; i < g->nsb; i++)
        fprintf(f, " %.17g", g->sb2[i]);
    fprintf(f, "\nposterior %d %.17g %.17g\n", g->post_depth, g->post_sw2, g->post_sb2);
    if (g->ntk)
        fprintf(f, "kernel ntk\n");
    fclose(f);
    write_raw(dir, "x_train.bin", b->x_train, sizeof(double) * b->ntrain * b->dim);
    write_raw(dir, "y_train.bin", b->y_train, sizeof(double) * b->ntrain * ntargets);
    write_raw(dir, "x_test.bin", b->x_test, sizeof(double) * b->ntest * b->dim);
    write_raw(dir, "x_valid.bin", b->x_valid, sizeof(double) * b->nvalid * b->dim);
    write_raw(dir, "test_label.bin", b->test_label, sizeof(int) * b->ntest);
    write_raw(dir, "valid_label.bin", b->valid_label, sizeof(int) * b->nvalid);
    char script[512], cmd[1200];
    reference_script(script, sizeof script);
    snprintf(cmd, sizeof cmd, PYTHON " '%s' '%s' > '%s/ref.log' 2>&1", script, dir, dir);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s/ref.log'", dir);
        if (system(cmd)) {}
        fail_msg("reference %s failed (status %d); needs " PYTHON " with numpy", script, rc);
    }
}

/* Runs the grid through nngp_item_run and compares every (sw2, sb2, depth) with the reference:
 * identical test and validation accuracies (signs/argmaxes of means that agree to ~1e-12, so
 * only a mean within ~1e-12 of a decision boundary could differ), the same s2, and log
 * marginal likelihoods within 1e-8 relative (cond(K + s2 I) <~ 1e5 here, so the two float64
 * routes - Cholesky vs LU solve and slogdet - differ by ~1e-11). Then the posterior of one model:
 * mean and variance within 1e-9 relative (variance relative to the prior variance, since it is a
 * difference), covariance likewise, against numpy's dense formulas. */
static void compare_with_reference(const blobs_t *b, const grid_t *g)
{
    int ntargets = b->nclass == 2 ? 1 : b->nclass;
    char dir[256];
    test_tmpdir(dir, sizeof dir);
    run_reference(dir, b, g);

    nngp_problem_t p = {
        .dim = b->dim, .ntargets = ntargets, .ntrain = b->ntrain, .ntest = b->ntest,
        .nvalid = b->nvalid, .x_train = b->x_train, .y_train = b->y_train, .x_test = b->x_test,
        .x_valid = b->x_valid, .test_label = b->test_label, .valid_label = b->valid_label,
        .depths = g->depths, .ndepth = g->ndepth, .noise = g->noise, .noise_max = g->noise_max,
        .ntk = g->ntk};
    nngp_work_t *w = nngp_work_create(&p);
    assert_non_null(w);
    assert_true(nngp_work_gram_seconds(w) >= 0.0);
    int nd = g->ndepth;
    double acc[16], vacc[16], lml[16], noise[16];
    int status[16], info[16];
    nngp_result_t r = {acc, vacc, lml, noise, status, info, {0}};

    char path[512];
    snprintf(path, sizeof path, "%s/results.txt", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int compared = 0;
    double worst_lml = 0.0;
    for (int a = 0; a < g->nsw; a++)
        for (int c = 0; c < g->nsb; c++) {
            assert_int_equal(nngp_item_run(w, g->sw2[a], g->sb2[c], &r), 0);
            for (int ph = 0; ph < NNGP_NPHASES; ph++)
                assert_true(r.seconds[ph] >= 0.0);
            assert_true(r.seconds[NNGP_PHASE_GRAM] == 0.0 && r.seconds[NNGP_PHASE_VARIANCE] == 0.0);
            for (int k = 0; k < nd; k++) {
                double rsw, rsb, racc, rvacc, rlml, rnoise;
                int rdepth, rstatus;
                assert_int_equal(fscanf(f, "%lf %lf %d %d %lf %lf %lf %lf", &rsw, &rsb, &rdepth,
                                        &rstatus, &racc, &rvacc, &rlml, &rnoise), 8);
                assert_true(rsw == g->sw2[a] && rsb == g->sb2[c] && rdepth == g->depths[k]);
                assert_int_equal(status[k], rstatus);
                assert_int_equal(status[k], NNGP_OK);
                assert_int_equal(info[k], 0);
                assert_rel_close(noise[k], rnoise, 1e-15, 0.0);
                if (acc[k] != racc)
                    fail_msg("sw2 %g sb2 %g depth %d: test accuracy %.6f, numpy %.6f", rsw, rsb,
                             rdepth, acc[k], racc);
                if (b->nvalid > 0) {
                    if (vacc[k] != rvacc)
                        fail_msg("sw2 %g sb2 %g depth %d: validation accuracy %.6f, numpy %.6f",
                                 rsw, rsb, rdepth, vacc[k], rvacc);
                } else {
                    assert_true(isnan(vacc[k]) && isnan(rvacc));
                }
                assert_rel_close(lml[k], rlml, 1e-8, 0.0);
                worst_lml = fmax(worst_lml, fabs(lml[k] - rlml) / fabs(rlml));
                compared++;
            }
        }
    fclose(f);
    assert_int_equal(compared, g->nsw * g->nsb * nd);
    print_message("%d classes: %d grid points x depths compared; accuracies %.4f..%.4f at the "
                  "first point; largest LML relative difference %.3g\n", b->nclass, compared,
                  acc[0], acc[nd - 1], worst_lml);

    /* posterior of one model */
    int ns = b->ntest;
    double *mean = malloc(sizeof(double) * ns * ntargets), *var = malloc(sizeof(double) * ns);
    double *cov = malloc(sizeof(double) * ns * ns), *var2 = malloc(sizeof(double) * ns);
    double *rmean = malloc(sizeof(double) * ns * ntargets), *rvar = malloc(sizeof(double) * ns);
    double *rcov = malloc(sizeof(double) * ns * ns), noise_used, noise2;
    int pinfo;
    assert_int_equal(nngp_posterior(w, g->post_depth, g->post_sw2, g->post_sb2, mean, var, cov,
                                    &noise_used, &pinfo), 0);
    assert_int_equal(pinfo, 0);
    /* without the covariance: same mean and variance bits (the test-test kernel is separate) */
    double *mean2 = malloc(sizeof(double) * ns * ntargets);
    assert_int_equal(nngp_posterior(w, g->post_depth, g->post_sw2, g->post_sb2, mean2, var2, NULL,
                                    &noise2, NULL), 0);
    assert_memory_equal(mean, mean2, sizeof(double) * ns * ntargets);
    assert_memory_equal(var, var2, sizeof(double) * ns);
    /* going on from an earlier posterior of the same model (depth 1, then post_depth) and after
     * an item and another model have used the buffers: the same bits as from layer 0 */
    assert_int_equal(nngp_posterior(w, 1, g->post_sw2, g->post_sb2, mean2, var2, NULL, NULL,
                                    NULL), 0);
    assert_int_equal(nngp_posterior(w, g->post_depth, g->post_sw2, g->post_sb2, mean2, var2, NULL,
                                    NULL, NULL), 0);
    assert_memory_equal(mean, mean2, sizeof(double) * ns * ntargets);
    assert_memory_equal(var, var2, sizeof(double) * ns);
    assert_int_equal(nngp_posterior(w, 1, g->post_sw2 + 0.5, g->post_sb2, mean2, var2, NULL, NULL,
                                    NULL), 0);
    assert_int_equal(nngp_posterior(w, g->post_depth, g->post_sw2, g->post_sb2, mean2, var2, NULL,
                                    NULL, NULL), 0);
    assert_memory_equal(var, var2, sizeof(double) * ns);
    assert_int_equal(nngp_posterior(w, 1, g->post_sw2, g->post_sb2, mean2, var2, NULL, NULL,
                                    NULL), 0);
    assert_int_equal(nngp_item_run(w, g->sw2[0], g->sb2[0], &r), 0);
    assert_int_equal(nngp_posterior(w, g->post_depth, g->post_sw2, g->post_sb2, mean2, var2, NULL,
                                    NULL, NULL), 0);
    assert_memory_equal(mean, mean2, sizeof(double) * ns * ntargets);
    assert_memory_equal(var, var2, sizeof(double) * ns);
    read_raw(dir, "posterior_mean.bin", rmean, sizeof(double) * ns * ntargets);
    read_raw(dir, "posterior_var.bin", rvar, sizeof(double) * ns);
    read_raw(dir, "posterior_cov.bin", rcov, sizeof(double) * ns * ns);
    for (int i = 0; i < ns * ntargets; i++)
        assert_rel_close(mean[i], rmean[i], 1e-9, 1e-3);
    for (int i = 0; i < ns; i++) {
        assert_true(var[i] > 0.0);
        assert_rel_close(var[i], rvar[i], 1e-9, 1.0);   /* prior variances are O(1) here */
        assert_rel_close(cov[i * ns + i], var[i], 1e-12, 1.0);
        for (int j = 0; j < ns; j++)
            assert_rel_close(cov[i * ns + j], rcov[i * ns + j], 1e-9, 1.0);
    }
    free(mean);
    free(mean2);
    free(var);
    free(var2);
    free(cov);
    free(rmean);
    free(rvar);
    free(rcov);
    nngp_work_destroy(&w);
    assert_null(w);
    nngp_work_destroy(&w);   /* accepts NULL */
    remove_dir(dir);
}

/* Binary: 120 train / 80 test / 40 validation points in 20 dims, 2 x 2 variances, depths 1..5;
 * regressed with K, or with the NTK Theta (ntk). */
static void binary_case(int ntk)
{
    blobs_t b = blobs_make(31, 2, 20, 120, 80, 40);
    const double sw2[] = {1.0, 2.5}, sb2[] = {0.0, 0.3};
    const int depths[] = {1, 2, 3, 4, 5};
    grid_t g = {sw2, sb2, 2, 2, depths, 5, 1e-3, 1e-1, 3, 2.5, 0.3, ntk};
    compare_with_reference(&b, &g);
    blobs_free(&b);
}

/* Three classes (argmax of 3 targets), no validation set, depths 1, 3, 5 (a sparse list). */
static void three_class_case(int ntk)
{
    blobs_t b = blobs_make(32, 3, 20, 120, 80, 0);
    const double sw2[] = {1.5, 2.0}, sb2[] = {0.05, 0.5};
    const int depths[] = {1, 3, 5};
    grid_t g = {sw2, sb2, 2, 2, depths, 3, 1e-3, 1e-1, 2, 1.5, 0.05, ntk};
    compare_with_reference(&b, &g);
    blobs_free(&b);
}

static void test_binary_against_numpy(void **state)
{
    (void)state;
    binary_case(0);
}

static void test_three_class_against_numpy(void **state)
{
    (void)state;
    three_class_case(0);
}

/* The same two problems regressed with the NTK Theta (kernel.h): items and posterior against the
 * reference's Theta recursion (numpy arccos on full matrices) and its solves, same tolerances. The
 * posterior variance is that of a GP with kernel Theta. */
static void test_binary_ntk_against_numpy(void **state)
{
    (void)state;
    binary_case(1);
}

static void test_three_class_ntk_against_numpy(void **state)
{
    (void)state;
    three_class_case(1);
}

/* Duplicated training points with noise 0 and no room to retry (noise_max 0): every depth is
 * recorded NNGP_FAILED with info > 0 and NaN results, the item still returns 0, and the message
 * names the grid point; nngp_posterior returns NN_ERR_NOT_PD. */
static void test_failed_depths_are_recorded(void **state)
{
    (void)state;
    blobs_t b = blobs_make(33, 2, 5, 20, 10, 0);
    memcpy(b.x_train + 10 * 5, b.x_train, sizeof(double) * 10 * 5);
    const int depths[] = {1, 2};
    nngp_problem_t p = {
        .dim = 5, .ntargets = 1, .ntrain = 20, .ntest = 10, .nvalid = 0, .x_train = b.x_train,
        .y_train = b.y_train, .x_test = b.x_test, .x_valid = NULL, .test_label = b.test_label,
        .valid_label = NULL, .depths = depths, .ndepth = 2, .noise = 0.0, .noise_max = 0.0};
    nngp_work_t *w = nngp_work_create(&p);
    assert_non_null(w);
    double acc[2], vacc[2], lml[2], noise[2];
    int status[2], info[2];
    nngp_result_t r = {acc, vacc, lml, noise, status, info, {0}};
    nn_error_clear();
    assert_int_equal(nngp_item_run(w, 2.0, 0.0, &r), 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(status[k], NNGP_FAILED);
        assert_true(info[k] > 0);
        assert_true(isnan(acc[k]) && isnan(lml[k]) && isnan(vacc[k]));
        assert_true(noise[k] == 0.0);
    }
    print_message("message: %s\n", nn_errmsg());
    assert_non_null(strstr(nn_errmsg(), "NNGP depth 2, sigma_w^2 = 2, sigma_b^2 = 0"));
    double mean[10], var[10], s2;
    int pinfo;
    assert_int_equal(nngp_posterior(w, 1, 2.0, 0.0, mean, var, NULL, &s2, &pinfo), NN_ERR_NOT_PD);
    assert_true(pinfo > 0);
    nngp_work_destroy(&w);
    blobs_free(&b);
}

/* nngp_accuracy: sign rule (0 counts as class 1), argmax with ties to the first class. */
static void test_accuracy_rules(void **state)
{
    (void)state;
    const double pred1[4] = {-0.1, 0.0, 0.3, -2.0};
    const int lab1[4] = {0, 1, 0, 0};
    assert_close(nngp_accuracy(pred1, 4, 1, lab1), 0.75, 0.0);
    const double pred3[6] = {0.1, 0.5, 0.5, /* tie: class 1 */ 2.0, -1.0, 0.0};
    const int lab3[2] = {1, 0};
    assert_close(nngp_accuracy(pred3, 2, 3, lab3), 1.0, 0.0);
    assert_string_equal(nngp_phase_names[NNGP_PHASE_FACTOR], "factorization");
}

/* Bad depth lists are refused with NN_ERR_INPUT and a message naming the entry. */
static void test_bad_depths_refused(void **state)
{
    (void)state;
    blobs_t b = blobs_make(34, 2, 4, 10, 5, 0);
    const int depths[] = {2, 2};
    nngp_problem_t p = {
        .dim = 4, .ntargets = 1, .ntrain = 10, .ntest = 5, .x_train = b.x_train,
        .y_train = b.y_train, .x_test = b.x_test, .test_label = b.test_label, .depths = depths,
        .ndepth = 2, .noise = 1e-3, .noise_max = 1e-1};
    nngp_work_t *w = nngp_work_create(&p);
    assert_non_null(w);
    double acc[2], lml[2], noise[2];
    int status[2], info[2];
    nngp_result_t r = {acc, NULL, lml, noise, status, info, {0}};
    assert_int_equal(nngp_item_run(w, 1.0, 0.1, &r), NN_ERR_INPUT);
    assert_string_equal(nn_errmsg(), "nngp: depths must be ascending and >= 1 (depth[1] = 2)");
    double mean[5], var[5];
    assert_int_equal(nngp_posterior(w, -1, 1.0, 0.1, mean, var, NULL, NULL, NULL), NN_ERR_INPUT);
    nngp_work_destroy(&w);
    blobs_free(&b);
}

/* The self-check (nngp_check.h). The residual formulas against values worked by hand on a 2 x 2
 * system; then a real fit (150 points, 64 sampled rows, noise 1e-10: a nearly singular kernel)
 * passes with residuals of order 1, and fails when the weights no longer solve the system (a
 * target changed after the fit), when the factor is not that of the kernel (a point moved after
 * the fit), and when the model checked is not the one fitted. */
static void test_self_check(void **state)
{
    (void)state;
    /* A = [[2, 1], [1, 2]], y = (1, 0), alpha = (0.75, -0.5) (residual (0, -0.25), exactly);
     * L L^T off by 2 eps at (1, 1): solve = 0.25 / (eps (3 x 0.75 + 1) 2), factor = 1/3 */
    double y2[2] = {1.0, 0.0}, a2[4] = {2.0, 1.0, 1.0, 2.0}, alpha2[2] = {0.75, -0.5};
    double llt2[4] = {2.0, 1.0, 1.0, 2.0 + 2 * DBL_EPSILON};   /* column k = row k of L L^T */
    int rows2[2] = {0, 1};
    nngp_problem_t p2 = {.dim = 1, .ntargets = 1, .ntrain = 2, .y_train = y2};
    nngp_check_t c2 = nngp_check_residuals(&p2, rows2, 2, a2, llt2, alpha2);
    assert_close(c2.solve, 0.25 / (DBL_EPSILON * 3.25 * 2), 1e-12);
    assert_close(c2.factor, 1.0 / 3.0, 1e-12);
    assert_false(nngp_check_passed(c2, 16.0));
    nngp_check_t good = {1.0, 0.5};
    assert_true(nngp_check_passed(good, 16.0) && !nngp_check_passed(good, 0.9));
    nngp_check_t bad = {NAN, 0.0};
    assert_false(nngp_check_passed(bad, 16.0));

    int rows[NNGP_CHECK_ROWS];
    assert_int_equal(nngp_check_rows(150, rows), NNGP_CHECK_ROWS);
    assert_int_equal(rows[0], 0);
    assert_int_equal(rows[NNGP_CHECK_ROWS - 1], 149);
    blobs_t b = blobs_make(35, 3, 6, 150, 20, 0);
    const int depths[] = {1, 3};
    nngp_problem_t p = {
        .dim = 6, .ntargets = 3, .ntrain = 150, .ntest = 20, .x_train = b.x_train,
        .y_train = b.y_train, .x_test = b.x_test, .test_label = b.test_label, .depths = depths,
        .ndepth = 2, .noise = 1e-10, .noise_max = 1e-2};
    nngp_work_t *w = nngp_work_create(&p);
    assert_non_null(w);
    double mean[60], var[20], s2;
    assert_int_equal(nngp_posterior(w, 3, 1.5, 0.2, mean, var, NULL, &s2, NULL), 0);
    nngp_check_t c;
    assert_int_equal(nngp_posterior_check(w, 3, 1.5, 0.2, s2, &c), 0);
    print_message("fit: solve %.3g, factor %.3g (s2 %g)\n", c.solve, c.factor, s2);
    assert_true(nngp_check_passed(c, NNGP_CHECK_THRESHOLD_DEFAULT));
    assert_true(c.solve > 0.0 && c.factor > 0.0);

    b.y_train[3 * 73] += 1e-4;   /* a sampled row: 31 * 149 / 63 = 73 */
    assert_int_equal(nngp_posterior_check(w, 3, 1.5, 0.2, s2, &c), 0);
    print_message("target changed: solve %.3g, factor %.3g\n", c.solve, c.factor);
    assert_true(c.solve > 1e3 && c.factor <= NNGP_CHECK_THRESHOLD_DEFAULT);
    b.y_train[3 * 73] -= 1e-4;

    double x_saved = b.x_train[6 * 100];
    b.x_train[6 * 100] += 1e-3;
    assert_int_equal(nngp_posterior_check(w, 3, 1.5, 0.2, s2, &c), 0);
    print_message("point moved: solve %.3g, factor %.3g\n", c.solve, c.factor);
    assert_true(c.factor > 1e3 && !nngp_check_passed(c, NNGP_CHECK_THRESHOLD_DEFAULT));
    b.x_train[6 * 100] = x_saved;

    assert_int_equal(nngp_posterior_check(w, 3, 1.6, 0.2, s2, &c), 0);
    assert_false(nngp_check_passed(c, NNGP_CHECK_THRESHOLD_DEFAULT));
    nngp_work_destroy(&w);
    blobs_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_against_numpy),
        cmocka_unit_test(test_three_class_against_numpy),
        cmocka_unit_test(test_binary_ntk_against_numpy),
        cmocka_unit_test(test_three_class_ntk_against_numpy),
        cmocka_unit_test(test_failed_depths_are_recorded),
        cmocka_unit_test(test_accuracy_rules),
        cmocka_unit_test(test_bad_depths_refused),
        cmocka_unit_test(test_self_check),
    };
    return cmocka_run_group_tests_name("nngp", tests, NULL, NULL);
}
