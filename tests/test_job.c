/* test_job.c - config module: grid specs (values and every rejected form), a full job with every
 * section and two variants (fields, defaults, overrides, key lines), defaults and the output stem,
 * and one case per error class checking the status and the "file:line: key" in the message. */
#include "testlib.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "nn_error.h"

/* ---- grids ---------------------------------------------------------------------------------- */

static void expect_grid(const char *spec, const double *want, int n)
{
    grid_t g;
    char why[256];
    int rc = grid_parse(spec, &g, why, sizeof why);
    if (rc != 0)
        fail_msg("grid_parse(\"%s\") failed: %s", spec, why);
    if (g.n != n)
        fail_msg("grid_parse(\"%s\"): %d values, want %d", spec, g.n, n);
    for (int i = 0; i < n; i++)
        assert_close(g.v[i], want[i], 0.0);   /* these specs produce exactly representable values */
    grid_free(&g);
    assert_null(g.v);
    assert_int_equal(g.n, 0);
}

static void test_grid_forms(void **state)
{
    (void)state;
    const double r10[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    expect_grid("1:10", r10, 10);
    expect_grid("  1 : 10  ", r10, 10);
    const double odd[] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19};
    expect_grid("1:20:2", odd, 10);
    expect_grid("1:19:2", odd, 10);
    const double neg[] = {-2, -1, 0, 1, 2};
    expect_grid("-2:2", neg, 5);
    const double three[] = {3};
    expect_grid("3:3", three, 1);
    expect_grid("3", three, 1);
    const double lin[] = {0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5};
    expect_grid("linspace(0.5, 5, 10)", lin, 10);
    expect_grid(" linspace ( 0.5,5 ,10 ) ", lin, 10);
    const double one[] = {1};
    expect_grid("linspace(1, 2, 1)", one, 1);
    const double quarter[] = {0, 0.25, 0.5, 0.75, 1};
    expect_grid("linspace(0, 1, 5)", quarter, 5);
    const double down[] = {2, 1, 0};
    expect_grid("linspace(2, 0, 3)", down, 3);
    const double list[] = {0, 0.25, 1.5};
    expect_grid("0, 0.25, 1.5", list, 3);
    expect_grid("0,0.25,1.5", list, 3);
    const double sci[] = {1e-3, 2.5e2, -4};
    expect_grid("1e-3, 2.5E2 , -4", sci, 3);

    /* logspace: 10^x through pow(), whose error is below 1 ulp: compare to 2 ulp */
    grid_t g;
    char why[256];
    assert_int_equal(grid_parse("logspace(-2, 2, 5)", &g, why, sizeof why), 0);
    assert_int_equal(g.n, 5);
    const double lg[] = {0.01, 0.1, 1, 10, 100};
    for (int i = 0; i < 5; i++)
        assert_rel_close(g.v[i], lg[i], 4.5e-16, 0.0);
    grid_free(&g);
    assert_int_equal(grid_parse("logspace(1, 1, 1)", &g, why, sizeof why), 0);
    assert_int_equal(g.n, 1);
    assert_close(g.v[0], 10.0, 0.0);
    grid_free(&g);
    grid_free(&g);   /* twice is harmless */

    /* the limit: 100000 values pass, 100001 do not */
    assert_int_equal(grid_parse("1:100000", &g, why, sizeof why), 0);
    assert_int_equal(g.n, 100000);
    assert_close(g.v[99999], 100000.0, 0.0);
    grid_free(&g);
}

static void test_grid_errors(void **state)
{
    (void)state;
    static const struct { const char *spec, *want; } cases[] = {
        {"", "empty value"},
        {"   ", "empty value"},
        {"1:x", "'x' is not an integer"},
        {"x:3", "'x' is not an integer"},
        {"0.5:2", "ranges take integers"},
        {"1:2:3:4", "expected start:stop"},
        {"1:", "empty value"},
        {"5:1", "empty range 5:1"},
        {"1:10:0", "step 0 must be > 0"},
        {"1:10:-1", "step -1 must be > 0"},
        {"1:100001", "too many values"},
        {"1:10 junk", "'10 junk' is not an integer"},
        {"linspace(1,2)", "expected linspace(a, b, n)"},
        {"linspace(1,2,3,4)", "too many arguments"},
        {"linspace 1,2,3", "expected linspace(a, b, n)"},
        {"linspace(1,2,3", "expected linspace(a, b, n)"},
        {"linspace(0, 1, 3) x", "unexpected 'x'"},
        {"linspace(0, 1, 0)", "n = 0 must be >= 1"},
        {"linspace(0, 1, -2)", "n = -2 must be >= 1"},
        {"linspace(0, 1, 2.5)", "count n: '2.5' is not an integer"},
        {"linspace(0, 1, 100001)", "too many values"},
        {"linspace(a, 1, 3)", "'a' is not a number"},
        {"linspace(nan, 1, 3)", "not a finite number"},
        {"logspace(0, 400, 2)", "out of range"},
        {"logspace(0, 1)", "expected logspace(a, b, n)"},
        {"1,,2", "empty element 2"},
        {"1,2,", "empty element 3"},
        {",1", "empty element 1"},
        {"1 2", "'1 2' is not a number"},
        {"abc", "'abc' is not a number"},
        {"nan", "'nan' is not a finite number"},
        {"1, inf", "'inf' is not a finite number"},
        {"-infinity", "not a finite number"},
        {"1e999", "not a finite number"},
        {"1e-400", "out of range"},
        {"0.5x", "'0.5x' is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        grid_t g = {(double *)&g, 99};   /* garbage in: must come back empty */
        char why[256];
        int rc = grid_parse(cases[i].spec, &g, why, sizeof why);
        if (rc != NN_ERR_INPUT)
            fail_msg("grid_parse(\"%s\") returned %d, want NN_ERR_INPUT", cases[i].spec, rc);
        if (g.v != NULL || g.n != 0)
            fail_msg("grid_parse(\"%s\") left values after an error", cases[i].spec);
        if (!strstr(why, cases[i].want))
            fail_msg("grid_parse(\"%s\"): reason \"%s\" lacks \"%s\"", cases[i].spec, why,
                     cases[i].want);
    }
}

/* ---- a full job ----------------------------------------------------------------------------- */

static const char full_job[] =
    "; sweep and training job used by test_job.c\n"        /* 1 */
    "[variant fast]\n"                                      /* 2: before [cnn], on purpose */
    "learning_rate = 0.1\n"                                 /* 3 */
    "epochs = 3   ; an inline comment\n"                    /* 4 */
    "\n"                                                    /* 5 */
    "[data]\n"                                              /* 6 */
    "dataset = mnist\n"                                     /* 7 */
    "path = /data/mnist\n"                                  /* 8 */
    "classes = 0, 6\n"                                      /* 9 */
    "train = 500\n"                                         /* 10 */
    "test = 200\n"                                          /* 11 */
    "validation = 100\n"                                    /* 12 */
    "preprocess = standardize\n"                            /* 13 */
    "shuffle_seed = 42\n"                                   /* 14 */
    "\n"                                                    /* 15 */
    "[nngp]\n"                                              /* 16 */
    "depth = 3, 1, 2\n"                                     /* 17 */
    "sigma_w2 = 0.5, 1.0,\n"                                /* 18 */
    "    1.5, 2.0   ; a continuation line\n"                /* 19 */
    "sigma_b2 = logspace(-2, 0, 3)\n"                       /* 20 */
    "noise = 1e-8\n"                                        /* 21 */
    "noise_max = 1e-2\n"                                    /* 22 */
    "solver = scalapack\n"                                  /* 23 */
    "group_size = 4\n"                                      /* 24 */
    "block_size = 64\n"                                     /* 25 */
    "grid = 2x2\n"                                          /* 26 */
    "covariance = yes\n"                                    /* 27 */
    "\n"                                                    /* 28 */
    "[cnn]\n"                                               /* 29 */
    "layers = conv(16,3,pad=1) relu maxpool(2)\n"           /* 30 */
    "\tflatten dense(10)\n"                                 /* 31 */
    "epochs = 5\n"                                          /* 32 */
    "batch_size = 32\n"                                     /* 33 */
    "optimizer = adam\n"                                    /* 34 */
    "learning_rate = 0.001\n"                               /* 35 */
    "momentum = 0.5\n"                                      /* 36 */
    "beta1 = 0.8\n"                                         /* 37 */
    "beta2 = 0.99\n"                                        /* 38 */
    "eps = 1e-7\n"                                          /* 39 */
    "weight_decay = 5e-4\n"                                 /* 40 */
    "schedule = step\n"                                     /* 41 */
    "step_epochs = 2\n"                                     /* 42 */
    "step_gamma = 0.5\n"                                    /* 43 */
    "init = xavier_uniform\n"                               /* 44 */
    "init_mode = fan_out\n"                                 /* 45 */
    "init_std = 0.02\n"                                     /* 46 */
    "augment_crop = 4\n"                                    /* 47 */
    "augment_flip = true\n"                                 /* 48 */
    "sync_bn = on\n"                                        /* 49 */
    "seed = 7\n"                                            /* 50 */
    "group_size = 2\n"                                      /* 51 */
    "\n"                                                    /* 52 */
    "[variant wide.v2]\n"                                   /* 53 */
    "  layers = conv(64,3,pad=1) relu flatten dense(10)\n"  /* 54: indented, but first in section */
    "optimizer = sgd\n"                                     /* 55 */
    "\n"                                                    /* 56 */
    "[output]\n"                                            /* 57 */
    "file = out/test.h5\n";                                 /* 58 */

static void test_full_job(void **state)
{
    (void)state;
    job_t job;
    int rc = job_parse(full_job, "jobs/full.ini", &job);
    if (rc != 0)
        fail_msg("job_parse: %s", nn_errmsg());
    assert_string_equal(job.path, "jobs/full.ini");
    assert_string_equal(job.text, full_job);

    const data_spec_t *d = &job.data;
    assert_int_equal(d->kind, DATASET_MNIST);
    assert_string_equal(d->path, "/data/mnist");
    assert_int_equal(d->nclasses, 2);
    assert_int_equal(d->classes[0], 0);
    assert_int_equal(d->classes[1], 6);
    assert_int_equal(d->train, 500);
    assert_int_equal(d->test, 200);
    assert_int_equal(d->validation, 100);
    assert_int_equal(d->preprocess, PREPROCESS_STANDARDIZE);
    assert_true(d->shuffle_seed == 42);

    const nngp_spec_t *n = &job.nngp;
    assert_int_equal(n->enabled, 1);
    assert_int_equal(n->depth.n, 3);   /* sorted ascending */
    for (int i = 0; i < 3; i++)
        assert_close(n->depth.v[i], i + 1.0, 0.0);
    assert_int_equal(n->sigma_w2.n, 4);   /* two lines joined */
    for (int i = 0; i < 4; i++)
        assert_close(n->sigma_w2.v[i], 0.5 * (i + 1), 0.0);
    assert_int_equal(n->sigma_b2.n, 3);
    assert_rel_close(n->sigma_b2.v[0], 0.01, 4.5e-16, 0.0);
    assert_rel_close(n->sigma_b2.v[1], 0.1, 4.5e-16, 0.0);
    assert_close(n->sigma_b2.v[2], 1.0, 0.0);
    assert_close(n->noise, 1e-8, 0.0);
    assert_close(n->noise_max, 1e-2, 0.0);
    assert_int_equal(n->solver, SOLVER_SCALAPACK);
    assert_int_equal(n->group_size, 4);
    assert_int_equal(n->block_size, 64);
    assert_int_equal(n->grid_p, 2);
    assert_int_equal(n->grid_q, 2);
    assert_int_equal(n->covariance, 1);

    const cnn_spec_t *b = &job.cnn.base;
    assert_int_equal(job.cnn.enabled, 1);
    assert_string_equal(b->name, "base");
    assert_string_equal(b->layers, "conv(16,3,pad=1) relu maxpool(2) flatten dense(10)");
    assert_int_equal(b->epochs, 5);
    assert_int_equal(b->batch_size, 32);
    assert_string_equal(b->optimizer, "adam");
    assert_close(b->learning_rate, 0.001, 0.0);
    assert_close(b->momentum, 0.5, 0.0);
    assert_close(b->beta1, 0.8, 0.0);
    assert_close(b->beta2, 0.99, 0.0);
    assert_close(b->eps, 1e-7, 0.0);
    assert_close(b->weight_decay, 5e-4, 0.0);
    assert_string_equal(b->schedule, "step");
    assert_int_equal(b->step_epochs, 2);
    assert_close(b->step_gamma, 0.5, 0.0);
    assert_string_equal(b->init, "xavier_uniform");
    assert_string_equal(b->init_mode, "fan_out");
    assert_close(b->init_std, 0.02, 0.0);
    assert_int_equal(b->augment_crop, 4);
    assert_int_equal(b->augment_flip, 1);
    assert_int_equal(b->sync_bn, 1);
    assert_true(b->seed == 7);
    assert_int_equal(b->group_size, 2);

    /* variants: [cnn] values with their own keys applied, in file order */
    assert_int_equal(job.cnn.nvariants, 2);
    const cnn_spec_t *f = &job.cnn.variants[0], *w = &job.cnn.variants[1];
    assert_string_equal(f->name, "fast");
    assert_close(f->learning_rate, 0.1, 0.0);
    assert_int_equal(f->epochs, 3);
    assert_int_equal(f->batch_size, 32);
    assert_string_equal(f->optimizer, "adam");
    assert_string_equal(f->layers, b->layers);
    assert_true(f->seed == 7);
    assert_string_equal(w->name, "wide.v2");
    assert_string_equal(w->layers, "conv(64,3,pad=1) relu flatten dense(10)");
    assert_string_equal(w->optimizer, "sgd");
    assert_close(w->learning_rate, 0.001, 0.0);
    assert_int_equal(w->epochs, 5);

    assert_string_equal(job.output.file, "out/test.h5");

    assert_int_equal(job_key_line(&job, "data", "dataset"), 7);
    assert_int_equal(job_key_line(&job, "data", "train"), 10);
    assert_int_equal(job_key_line(&job, "nngp", "sigma_w2"), 18);
    assert_int_equal(job_key_line(&job, "nngp", "sigma_b2"), 20);
    assert_int_equal(job_key_line(&job, "cnn", "layers"), 30);
    assert_int_equal(job_key_line(&job, "cnn", "epochs"), 32);
    assert_int_equal(job_key_line(&job, "cnn", "init_std"), 46);
    assert_int_equal(job_key_line(&job, "variant fast", "epochs"), 4);
    assert_int_equal(job_key_line(&job, "variant wide.v2", "layers"), 54);
    assert_int_equal(job_key_line(&job, "variant wide.v2", "optimizer"), 55);
    assert_int_equal(job_key_line(&job, "output", "file"), 58);
    assert_int_equal(job_key_line(&job, "cnn", "nosuch"), 0);
    assert_int_equal(job_key_line(&job, "variant wide.v2", "epochs"), 0);
    assert_int_equal(job_key_line(&job, "variant nope", "epochs"), 0);
    assert_int_equal(job_key_line(&job, "data", "shuffle_seed"), 14);

    job_free(&job);
    assert_null(job.text);
    job_free(&job);   /* twice is harmless */
}

static void test_defaults(void **state)
{
    (void)state;
    job_t job;
    assert_int_equal(job_parse("[nngp]\n", "jobs/sweep.ini", &job), 0);
    assert_int_equal(job.nngp.enabled, 1);
    assert_int_equal(job.cnn.enabled, 0);
    assert_int_equal(job.cnn.nvariants, 0);
    assert_string_equal(job.output.file, "results/sweep.h5");

    assert_int_equal(job.data.kind, DATASET_FASHION_MNIST);
    assert_string_equal(job.data.path, "");
    assert_int_equal(job.data.nclasses, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(job.data.classes[i], i);
    assert_int_equal(job.data.train, 1000);
    assert_int_equal(job.data.test, 1000);
    assert_int_equal(job.data.validation, 0);
    assert_int_equal(job.data.preprocess, PREPROCESS_SCALE01);
    assert_true(job.data.shuffle_seed == -1);

    const nngp_spec_t *n = &job.nngp;
    assert_int_equal(n->depth.n, 10);
    assert_int_equal(n->sigma_w2.n, 10);
    assert_int_equal(n->sigma_b2.n, 10);
    for (int i = 0; i < 10; i++) {
        assert_close(n->depth.v[i], i + 1.0, 0.0);
        assert_close(n->sigma_w2.v[i], 0.5 * (i + 1), 0.0);
        assert_close(n->sigma_b2.v[i], 2.0 * i / 9.0, 1e-15);   /* a few ulp of 2 */
    }
    assert_close(n->noise, 1e-10, 0.0);
    assert_close(n->noise_max, 0.1, 0.0);
    assert_int_equal(n->solver, SOLVER_AUTO);
    assert_int_equal(n->group_size, 1);
    assert_int_equal(n->block_size, 0);
    assert_int_equal(n->grid_p, 0);
    assert_int_equal(n->grid_q, 0);
    assert_int_equal(n->covariance, 0);

    const cnn_spec_t *b = &job.cnn.base;
    assert_string_equal(b->name, "base");
    assert_string_equal(b->layers, "conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu "
                                   "maxpool(2) flatten dense(128) relu dense(10)");
    assert_int_equal(b->epochs, 10);
    assert_int_equal(b->batch_size, 64);
    assert_string_equal(b->optimizer, "momentum");
    assert_close(b->learning_rate, 0.01, 0.0);
    assert_close(b->momentum, 0.9, 0.0);
    assert_close(b->beta1, 0.9, 0.0);
    assert_close(b->beta2, 0.999, 0.0);
    assert_close(b->eps, 1e-8, 0.0);
    assert_close(b->weight_decay, 0.0, 0.0);
    assert_string_equal(b->schedule, "none");
    assert_int_equal(b->step_epochs, 10);
    assert_close(b->step_gamma, 0.1, 0.0);
    assert_string_equal(b->init, "kaiming_normal");
    assert_string_equal(b->init_mode, "fan_in");
    assert_close(b->init_std, 0.01, 0.0);
    assert_int_equal(b->augment_crop, 0);
    assert_int_equal(b->augment_flip, 0);
    assert_int_equal(b->sync_bn, 0);
    assert_true(b->seed == 1);
    assert_int_equal(b->group_size, 0);
    assert_int_equal(job_key_line(&job, "nngp", "depth"), 0);
    job_free(&job);

    /* no section at all: valid, nothing enabled (the driver decides) */
    assert_int_equal(job_parse("", "plain.ini", &job), 0);
    assert_int_equal(job.nngp.enabled, 0);
    assert_int_equal(job.cnn.enabled, 0);
    assert_string_equal(job.output.file, "results/plain.h5");
    job_free(&job);

    /* the stem drops the directory and only a ".ini" suffix */
    assert_int_equal(job_parse("[cnn]\n", "a/b.c/run.cfg", &job), 0);
    assert_int_equal(job.cnn.enabled, 1);
    assert_string_equal(job.output.file, "results/run.cfg.h5");
    job_free(&job);

    /* other spellings: integral numbers, booleans and keywords in any case, CRLF, a BOM */
    assert_int_equal(job_parse("\xEF\xBB\xBF[data]\r\ntrain = 1e3\r\nvalidation = 20.0\r\n"
                               "preprocess = Unit_Norm\r\nshuffle_seed = -123456789012\r\n"
                               "[nngp]\r\ncovariance = Off\r\ngrid = 3 X 1\r\ndepth = 4\r\n",
                               "crlf.ini", &job), 0);
    assert_int_equal(job.data.train, 1000);
    assert_int_equal(job.data.validation, 20);
    assert_int_equal(job.data.preprocess, PREPROCESS_UNIT_NORM);
    assert_true(job.data.shuffle_seed == -123456789012LL);
    assert_int_equal(job.nngp.covariance, 0);
    assert_int_equal(job.nngp.grid_p, 3);
    assert_int_equal(job.nngp.grid_q, 1);
    assert_int_equal(job.nngp.depth.n, 1);
    assert_int_equal(job_key_line(&job, "data", "train"), 2);
    assert_int_equal(job_key_line(&job, "nngp", "depth"), 9);
    job_free(&job);

    /* a zeroed job can be freed */
    memset(&job, 0, sizeof job);
    job_free(&job);
    job_free(NULL);
}

/* ---- errors --------------------------------------------------------------------------------- */

/* job_parse(text) must fail with NN_ERR_INPUT, a message containing want1 (and want2) and a
 * job holding nothing. */
static void expect_job_error(const char *text, const char *want1, const char *want2)
{
    job_t job;
    nn_error_clear();
    int rc = job_parse(text, "jobs/x.ini", &job);
    if (rc != NN_ERR_INPUT)
        fail_msg("job text:\n%s\nreturned %d, want NN_ERR_INPUT (message: %s)", text, rc,
                 nn_errmsg());
    if (!strstr(nn_errmsg(), want1) || (want2 && !strstr(nn_errmsg(), want2)))
        fail_msg("job text:\n%s\nmessage \"%s\" lacks \"%s\"%s%s", text, nn_errmsg(), want1,
                 want2 ? " or " : "", want2 ? want2 : "");
    if (job.text || job.lines || job.nngp.depth.v || job.nngp.sigma_w2.v || job.nngp.sigma_b2.v ||
        job.limit.widths.v)
        fail_msg("job text:\n%s\nleft memory in the job after an error", text);
    job_free(&job);
}

/* [network]: the stage's keys, and their defaults when the section is empty. */
static void test_network_keys(void **state)
{
    (void)state;
    job_t job;
    assert_int_equal(job_parse("[nngp]\n[network]\nwidths = 16, 64\nepochs = 3\nbatch_size = 20"
                               "\noptimizer = momentum\nlearning_rate = 0.05\nseeds = 2, 1\n"
                               "group_size = 0\n", "n.ini", &job), 0);
    assert_true(job.network.enabled);
    assert_int_equal(job.network.widths.n, 2);
    assert_true(job.network.widths.v[0] == 16 && job.network.widths.v[1] == 64);
    assert_int_equal(job.network.epochs, 3);
    assert_int_equal(job.network.batch_size, 20);
    assert_string_equal(job.network.optimizer, "momentum");
    assert_true(job.network.learning_rate == 0.05);
    assert_int_equal(job.network.seeds.n, 2);   /* sorted */
    assert_true(job.network.seeds.v[0] == 1 && job.network.seeds.v[1] == 2);
    assert_int_equal(job.network.group_size, 0);
    assert_int_equal(job_key_line(&job, "network", "seeds"), 8);
    job_free(&job);
    assert_int_equal(job_parse("[nngp]\n", "n.ini", &job), 0);
    assert_false(job.network.enabled);
    job_free(&job);
    assert_int_equal(job_parse("[nngp]\n[network]\n", "n.ini", &job), 0);
    assert_true(job.network.enabled);
    assert_int_equal(job.network.widths.n, 3);
    assert_true(job.network.widths.v[2] == 4096);
    assert_int_equal(job.network.epochs, 20);
    assert_int_equal(job.network.batch_size, 100);
    assert_string_equal(job.network.optimizer, "sgd");
    assert_true(job.network.learning_rate == 0.01);
    assert_int_equal(job.network.seeds.n, 1);
    assert_true(job.network.seeds.v[0] == 1);
    assert_int_equal(job.network.group_size, 1);
    job_free(&job);
}

static void test_job_errors(void **state)
{
    (void)state;
    static const struct { const char *text, *want1, *want2; } cases[] = {
        /* structure */
        {"[data]\ntrian = 5\n", "jobs/x.ini:2: trian: unknown key in [data]",
         "did you mean train?"},
        {"[cnn]\n[variant a]\nlr = 1\n", "jobs/x.ini:3: lr: unknown key in [variant a]", NULL},
        {"[data]\ntrain = 5\n[foo]\n", "jobs/x.ini:3: unknown section [foo]", NULL},
        {"[Data]\n", "jobs/x.ini:1: unknown section [Data]", NULL},
        {"train = 5\n", "jobs/x.ini:1: train: key outside any section", NULL},
        {"[cnn]\nepochs = 2\n\nepochs = 3\n", "jobs/x.ini:4: epochs: duplicate key in [cnn]",
         "first set at line 2"},
        {"[cnn]\n[data]\n[cnn]\n", "jobs/x.ini:3: duplicate section [cnn]", "first at line 1"},
        {"[cnn]\n[variant a]\n[variant  a]\n", "jobs/x.ini:3: duplicate section [variant a]", NULL},
        {"[cnn]\n[variant a b]\n", "jobs/x.ini:2: variant name 'a b'", NULL},
        {"[cnn]\n[variant a/b]\n", "jobs/x.ini:2: variant name 'a/b'", NULL},
        {"[cnn]\n[variant]\n", "jobs/x.ini:2: [variant] needs a name", NULL},
        {"[cnn]\n[variant base]\n", "jobs/x.ini:2: variant name 'base' is reserved", NULL},
        {"[nngp]\n\n[variant fast]\nepochs = 2\n", "jobs/x.ini:3: [variant fast] needs a [cnn]",
         NULL},
        {"[data]\ntrain 5\n", "jobs/x.ini:2: syntax error", "'train 5'"},
        {"[data]\n= 5\n", "jobs/x.ini:2: syntax error", NULL},
        {"[data\n", "jobs/x.ini:1: malformed section header", NULL},
        {"[data] x\n", "jobs/x.ini:1: unexpected text after section header", NULL},
        {"[cnn]\nepochs = 5\n  batch_size = 3\n", "jobs/x.ini:3: batch_size: this indented line "
         "would continue the value of epochs (line 2)", NULL},
        {"[cnn]\nepochs = 5\n    6\n", "jobs/x.ini:2: epochs: '5 6' is not an integer", NULL},
        {"[data]\ntrain = 5 # five\n", "jobs/x.ini:2: train: '5 # five' is not an integer", NULL},
        {"[output]\nfile =\n", "jobs/x.ini:2: file: empty value", NULL},
        {"[cnn]\nlayers = ; nothing\n", "jobs/x.ini:2: layers: empty value", NULL},
        /* [network] */
        {"[nngp]\n[network]\nwidths = 0, 16\n", "jobs/x.ini:3: widths: value 0 must be >= 1",
         NULL},
        {"[nngp]\n[network]\nwidths = 16.5\n", "jobs/x.ini:3: widths: value 16.5 is not an "
         "integer", NULL},
        {"[nngp]\n[network]\nseeds = 1, 1\n", "jobs/x.ini:3: seeds: value 1 is listed twice",
         NULL},
        {"[nngp]\n[network]\nepochs = 0\n", "jobs/x.ini:3: epochs: value 0 must be >= 1", NULL},
        {"[nngp]\n[network]\noptimizer = lbfgs\n", "jobs/x.ini:3: optimizer: unknown value "
         "'lbfgs'", NULL},
        {"[nngp]\n[network]\nlearning_rate = 0\n", "jobs/x.ini:3: learning_rate: value 0 must "
         "be > 0", NULL},
        {"[nngp]\n[network]\ngroup_size = -1\n", "jobs/x.ini:3: group_size: value -1 must be "
         ">= 0", NULL},
        {"[nngp]\n[network]\nwidth = 16\n", "jobs/x.ini:3: width: unknown key in [network]",
         "did you mean widths?"},
        {"[data]\ntrain = 50\n[nngp]\n[network]\nbatch_size = 64\n", "jobs/x.ini:5: "
         "batch_size: value 64 must be at most [data] train (50)", NULL},
        {"[network]\nepochs = 2\n", "jobs/x.ini: [network] is a stage of an NNGP job", NULL},
        /* [data] */
        {"[data]\ndataset = imagenet\n", "jobs/x.ini:2: dataset: unknown dataset 'imagenet'", NULL},
        {"[data]\nclasses = 0, 10\n", "jobs/x.ini:2: classes: value 10 is not a class", NULL},
        {"[data]\nclasses = -1, 2\n", "jobs/x.ini:2: classes: value -1 is not a class", NULL},
        {"[data]\nclasses = 0, 1.5\n", "jobs/x.ini:2: classes: value 1.5 is not a class", NULL},
        {"[data]\nclasses = 3, 4, 3\n", "jobs/x.ini:2: classes: class 3 is listed twice", NULL},
        {"[data]\nclasses = 3\n", "jobs/x.ini:2: classes: at least 2 classes", NULL},
        {"[data]\nclasses = 1,,2\n", "jobs/x.ini:2: classes: empty element 2", NULL},
        {"[data]\ntrain = 0\n", "jobs/x.ini:2: train: value 0 must be >= 1", NULL},
        {"[data]\ntest = 0\n", "jobs/x.ini:2: test: value 0 must be >= 1", NULL},
        {"[data]\nvalidation = -1\n", "jobs/x.ini:2: validation: value -1 must be >= 0", NULL},
        {"[data]\ntrain = 12x\n", "jobs/x.ini:2: train: '12x' is not an integer", NULL},
        {"[data]\ntrain = 2.5\n", "jobs/x.ini:2: train: '2.5' is not an integer", NULL},
        {"[data]\ntrain = 99999999999\n", "jobs/x.ini:2: train: value 99999999999 is out of range",
         NULL},
        {"[data]\ntrain = 99999999999999999999\n", "jobs/x.ini:2: train: '99999999999999999999' "
         "is out of range", NULL},
        {"[data]\npreprocess = whiten\n", "jobs/x.ini:2: preprocess: unknown value 'whiten'",
         "scale01, standardize or unit_norm"},
        {"[data]\nshuffle_seed = abc\n", "jobs/x.ini:2: shuffle_seed: 'abc' is not an integer",
         NULL},
        {"[data]\nclasses = 0, 6\ntrain = 12000\nvalidation = 1\n",
         "jobs/x.ini:3: train: more examples requested than the dataset has", "= 12001, but the 2 "
         "classes of fashion-mnist have 12000"},
        {"[data]\nclasses = 0, 6\ntest = 2001\n",
         "jobs/x.ini:3: test: more examples requested than the dataset has", "test 2001, but the 2 "
         "classes of fashion-mnist have 2000"},
        {"[data]\nclasses = 0, 6\nvalidation = 11500\n",
         "jobs/x.ini:3: validation: more examples requested than the dataset has", "train 1000"},
        {"[data]\ndataset = cifar10\ntrain = 49000\nvalidation = 1001\n",
         "jobs/x.ini:3: train: more examples", "have 50000 training examples (5000 per class)"},
        /* [nngp] */
        {"[nngp]\nsigma_w2 = 1, -1\n", "jobs/x.ini:2: sigma_w2: value -1 must be > 0", NULL},
        {"[nngp]\nsigma_w2 = 0\n", "jobs/x.ini:2: sigma_w2: value 0 must be > 0", NULL},
        {"[nngp]\nsigma_w2 = linspace(1,2)\n", "jobs/x.ini:2: sigma_w2: expected linspace(a, b, n)",
         NULL},
        {"[nngp]\nsigma_w2 = 1,,2\n", "jobs/x.ini:2: sigma_w2: empty element", NULL},
        {"[nngp]\nsigma_w2 = nan\n", "jobs/x.ini:2: sigma_w2: 'nan' is not a finite number", NULL},
        {"[nngp]\nsigma_b2 = -0.5\n", "jobs/x.ini:2: sigma_b2: value -0.5 must be >= 0", NULL},
        {"[nngp]\nsigma_b2 = linspace(-1, 1, 3)\n", "jobs/x.ini:2: sigma_b2: value -1 must be >= 0",
         NULL},
        {"[nngp]\ndepth = 0:3\n", "jobs/x.ini:2: depth: value 0 must be >= 1", NULL},
        {"[nngp]\ndepth = 1.5\n", "jobs/x.ini:2: depth: value 1.5 is not an integer", NULL},
        {"[nngp]\ndepth = 1, 2, 2\n", "jobs/x.ini:2: depth: value 2 is listed twice", NULL},
        {"[nngp]\ndepth = 1:x\n", "jobs/x.ini:2: depth: range stop: 'x' is not an integer", NULL},
        {"[nngp]\ndepth = 5:1\n", "jobs/x.ini:2: depth: empty range", NULL},
        {"[nngp]\nnoise = -1e-3\n", "jobs/x.ini:2: noise: value -0.001 must be >= 0", NULL},
        {"[nngp]\nnoise = 1e-3\nnoise_max = 1e-4\n",
         "jobs/x.ini:3: noise_max: value 0.0001 must be >= noise (0.001)", NULL},
        {"[nngp]\nnoise = 0.5\n", "jobs/x.ini:2: noise: value 0.5 must be <= noise_max (0.1, the "
         "default)", NULL},
        {"[nngp]\nsolver = magma\n", "jobs/x.ini:2: solver: unknown value 'magma'", NULL},
        {"[nngp]\ngroup_size = 0\n", "jobs/x.ini:2: group_size: value 0 must be >= 1", NULL},
        {"[nngp]\nblock_size = -1\n", "jobs/x.ini:2: block_size: value -1 must be >= 0", NULL},
        {"[nngp]\ngrid = 2y2\n", "jobs/x.ini:2: grid: '2y2' is not PxQ", NULL},
        {"[nngp]\ngrid = 2x\n", "jobs/x.ini:2: grid: '2x' is not PxQ", NULL},
        {"[nngp]\ngrid = 0x2\n", "jobs/x.ini:2: grid: 0x2: P and Q must be >= 1", NULL},
        {"[nngp]\ncovariance = maybe\n", "jobs/x.ini:2: covariance: 'maybe' is not a boolean",
         NULL},
        /* [cnn] */
        {"[cnn]\nepochs = 0\n", "jobs/x.ini:2: epochs: value 0 must be >= 1", NULL},
        {"[cnn]\nbatch_size = 0\n", "jobs/x.ini:2: batch_size: value 0 must be >= 1", NULL},
        {"[cnn]\noptimizer = rmsprop\n", "jobs/x.ini:2: optimizer: unknown value 'rmsprop'", NULL},
        {"[cnn]\nlearning_rate = 0\n", "jobs/x.ini:2: learning_rate: value 0 must be > 0", NULL},
        {"[cnn]\nlearning_rate = nan\n", "jobs/x.ini:2: learning_rate: 'nan' is not a finite",
         NULL},
        {"[cnn]\nlearning_rate = inf\n", "jobs/x.ini:2: learning_rate: 'inf' is not a finite",
         NULL},
        {"[cnn]\nlearning_rate = 1e-400\n", "jobs/x.ini:2: learning_rate: '1e-400' is out of range",
         NULL},
        {"[cnn]\nlearning_rate = 0.1.2\n", "jobs/x.ini:2: learning_rate: '0.1.2' is not a number",
         NULL},
        {"[cnn]\nmomentum = 1\n", "jobs/x.ini:2: momentum: value 1 must be in [0, 1)", NULL},
        {"[cnn]\nbeta1 = 1\n", "jobs/x.ini:2: beta1: value 1 must be in [0, 1)", NULL},
        {"[cnn]\nbeta2 = -0.1\n", "jobs/x.ini:2: beta2: value -0.1 must be in [0, 1)", NULL},
        {"[cnn]\neps = 0\n", "jobs/x.ini:2: eps: value 0 must be > 0", NULL},
        {"[cnn]\nweight_decay = -1\n", "jobs/x.ini:2: weight_decay: value -1 must be >= 0", NULL},
        {"[cnn]\nschedule = linear\n", "jobs/x.ini:2: schedule: unknown value 'linear'", NULL},
        {"[cnn]\nstep_epochs = 0\n", "jobs/x.ini:2: step_epochs: value 0 must be >= 1", NULL},
        {"[cnn]\nstep_gamma = 0\n", "jobs/x.ini:2: step_gamma: value 0 must be in (0, 1]", NULL},
        {"[cnn]\nstep_gamma = 1.5\n", "jobs/x.ini:2: step_gamma: value 1.5 must be in (0, 1]",
         NULL},
        {"[cnn]\ninit = he\n", "jobs/x.ini:2: init: unknown value 'he'", NULL},
        {"[cnn]\ninit_mode = fan\n", "jobs/x.ini:2: init_mode: unknown value 'fan'", NULL},
        {"[cnn]\ninit_std = 0\n", "jobs/x.ini:2: init_std: value 0 must be > 0", NULL},
        {"[cnn]\naugment_crop = -1\n", "jobs/x.ini:2: augment_crop: value -1 must be >= 0", NULL},
        {"[cnn]\naugment_flip = 2\n", "jobs/x.ini:2: augment_flip: '2' is not a boolean", NULL},
        {"[cnn]\nsync_bn = si\n", "jobs/x.ini:2: sync_bn: 'si' is not a boolean", NULL},
        {"[cnn]\nseed = 1.5\n", "jobs/x.ini:2: seed: '1.5' is not an integer", NULL},
        {"[cnn]\ngroup_size = -1\n", "jobs/x.ini:2: group_size: value -1 must be >= 0", NULL},
        /* a variant's value is checked at the variant's line, whatever the section order */
        {"[variant fast]\nbatch_size = 0\n[cnn]\nepochs = 5\n",
         "jobs/x.ini:2: batch_size: value 0 must be >= 1", NULL},
        {"[cnn]\nepochs = 5\n[variant fast]\n\nmomentum = 2\n",
         "jobs/x.ini:5: momentum: value 2 must be in [0, 1)", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_job_error(cases[i].text, cases[i].want1, cases[i].want2);
}

/* Errors that need generated text: limits on variants and line length, a default at fault. */
static void test_job_limits(void **state)
{
    (void)state;
    size_t cap = 4096 + 64 * (JOB_MAX_VARIANTS + 2);
    char *text = malloc(cap);
    assert_non_null(text);

    /* JOB_MAX_VARIANTS variants pass, one more fails at its header line */
    size_t len = (size_t)snprintf(text, cap, "[cnn]\n");
    for (int v = 0; v < JOB_MAX_VARIANTS; v++)
        len += (size_t)snprintf(text + len, cap - len, "[variant v%d]\nseed = %d\n", v, v);
    job_t job;
    if (job_parse(text, "jobs/x.ini", &job) != 0)
        fail_msg("%s", nn_errmsg());
    assert_int_equal(job.cnn.nvariants, JOB_MAX_VARIANTS);
    assert_string_equal(job.cnn.variants[JOB_MAX_VARIANTS - 1].name, "v31");
    assert_true(job.cnn.variants[JOB_MAX_VARIANTS - 1].seed == JOB_MAX_VARIANTS - 1);
    job_free(&job);
    snprintf(text + len, cap - len, "[variant extra]\n");
    char want[128];
    snprintf(want, sizeof want, "jobs/x.ini:%d: too many variants", 2 + 2 * JOB_MAX_VARIANTS);
    expect_job_error(text, want, NULL);

    /* variant names: JOB_NAME_MAX - 1 characters pass, one more fails */
    char name[JOB_NAME_MAX + 1];
    memset(name, 'n', JOB_NAME_MAX);
    name[JOB_NAME_MAX - 1] = '\0';
    snprintf(text, cap, "[cnn]\n[variant %s]\nepochs = 2\n", name);
    if (job_parse(text, "jobs/x.ini", &job) != 0)
        fail_msg("%s", nn_errmsg());
    assert_string_equal(job.cnn.variants[0].name, name);
    snprintf(want, sizeof want, "variant %s", name);
    assert_int_equal(job_key_line(&job, want, "epochs"), 3);
    job_free(&job);
    name[JOB_NAME_MAX - 1] = 'n';
    name[JOB_NAME_MAX] = '\0';
    snprintf(text, cap, "[cnn]\n[variant %s]\n", name);
    expect_job_error(text, "jobs/x.ini:2: variant name", "too long");

    /* a key line longer than inih's buffer fails; the same value on continuation lines passes */
    len = (size_t)snprintf(text, cap, "[cnn]\nlayers =");
    for (int k = 0; k < 30; k++)
        len += (size_t)snprintf(text + len, cap - len, " dense(10)");
    snprintf(text + len, cap - len, "\n");
    expect_job_error(text, "jobs/x.ini:2: layers: line too long", NULL);
    len = (size_t)snprintf(text, cap, "[cnn]\nlayers =\n");
    for (int k = 0; k < 30; k++)
        len += (size_t)snprintf(text + len, cap - len, "  dense(10)\n");
    snprintf(text + len, cap - len, "epochs = 2\n");
    if (job_parse(text, "jobs/x.ini", &job) != 0)
        fail_msg("%s", nn_errmsg());
    assert_int_equal(strlen(job.cnn.base.layers), 30 * 10 - 1);
    assert_int_equal(job_key_line(&job, "cnn", "epochs"), 33);
    job_free(&job);

    /* layers longer than JOB_LAYERS_MAX - 1 */
    len = (size_t)snprintf(text, cap, "[cnn]\nlayers =\n");
    for (int k = 0; k < 120; k++)
        len += (size_t)snprintf(text + len, cap - len, "  dense(10)\n");
    expect_job_error(text, "jobs/x.ini:2: layers: too long", NULL);
    free(text);

    /* a default at fault names the file and section: the output file from a very long stem */
    char *longname = malloc(DATASET_PATH_MAX);
    assert_non_null(longname);
    memset(longname, 'j', DATASET_PATH_MAX - 8);
    strcpy(longname + DATASET_PATH_MAX - 8, ".ini");
    assert_int_equal(job_parse("[nngp]\n", longname, &job), NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), ".ini: [output]: file: default results/<stem>.h5 is too "
                                        "long"));
    assert_null(job.text);
    free(longname);
}

/* ---- files ---------------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_job_load(void **state)
{
    (void)state;
    char dir[512], path[600];
    test_tmpdir(dir, sizeof dir);
    job_t job;

    /* missing file: names the path and the reason */
    snprintf(path, sizeof path, "%s/missing.ini", dir);
    assert_int_equal(job_load(path, &job), NN_ERR_INPUT);
    char want[700];
    snprintf(want, sizeof want, "%s: cannot read job file: %s", path, strerror(ENOENT));
    assert_string_equal(nn_errmsg(), want);
    assert_null(job.text);
    job_free(&job);

    /* a directory is not a job file */
    assert_int_equal(job_load(dir, &job), NN_ERR_INPUT);
    assert_non_null(strstr(nn_errmsg(), "cannot read job file"));
    assert_non_null(strstr(nn_errmsg(), dir));

    /* a real file: text kept, default output file from its stem */
    const char text[] = "[nngp]\ndepth = 1:3\n\n[data]\nclasses = 0, 6\ntrain = 100\n";
    snprintf(path, sizeof path, "%s/sweep.ini", dir);
    write_file(path, text, strlen(text));
    if (job_load(path, &job) != 0)
        fail_msg("%s", nn_errmsg());
    assert_string_equal(job.path, path);
    assert_string_equal(job.text, text);
    assert_string_equal(job.output.file, "results/sweep.h5");
    assert_int_equal(job.nngp.depth.n, 3);
    assert_int_equal(job.data.train, 100);
    assert_int_equal(job_key_line(&job, "data", "train"), 6);
    job_free(&job);

    /* an error inside a file names the path as given and the line */
    const char bad[] = "[nngp]\n\nsigma_w2 = -1\n";
    write_file(path, bad, strlen(bad));
    assert_int_equal(job_load(path, &job), NN_ERR_INPUT);
    snprintf(want, sizeof want, "%s:3: sigma_w2: value -1 must be > 0", path);
    assert_string_equal(nn_errmsg(), want);
    assert_null(job.text);

    /* a NUL byte: not a text file */
    write_file(path, "[nngp]\nde\0pth = 1\n", 18);
    assert_int_equal(job_load(path, &job), NN_ERR_INPUT);
    snprintf(want, sizeof want, "%s:2: NUL byte", path);
    assert_non_null(strstr(nn_errmsg(), want));

    unlink(path);
    rmdir(dir);
}

/* ---- [limit] -------------------------------------------------------------------------------- */

/* The [limit] keys: values and their lines; the defaults (samples 20, points 100, seed 1, the
 * variances NaN: each depth's selected model); every bad value names file, line and key. */
static void test_limit_keys(void **state)
{
    (void)state;
    job_t job;
    const char *text = "[nngp]\ndepth = 1, 3\n[limit]\nwidths = 4096, 16, 64\nsamples = 5\n"
                       "points = 50\nsigma_w2 = 2.5\nsigma_b2 = 0\nseed = -7\n";
    if (job_parse(text, "jobs/x.ini", &job) != 0)
        fail_msg("%s", nn_errmsg());
    assert_true(job.limit.enabled);
    assert_int_equal(job.limit.widths.n, 3);
    assert_close(job.limit.widths.v[0], 16, 0);   /* integer grids are sorted */
    assert_close(job.limit.widths.v[2], 4096, 0);
    assert_int_equal(job.limit.samples, 5);
    assert_int_equal(job.limit.points, 50);
    assert_close(job.limit.sigma_w2, 2.5, 0);
    assert_close(job.limit.sigma_b2, 0, 0);
    assert_true(job.limit.seed == -7);
    assert_int_equal(job_key_line(&job, "limit", "points"), 6);
    job_free(&job);
    assert_null(job.limit.widths.v);

    if (job_parse("[nngp]\n[limit]\nwidths = 1:3\n", "jobs/x.ini", &job) != 0)
        fail_msg("%s", nn_errmsg());
    assert_true(job.limit.enabled);
    assert_int_equal(job.limit.samples, 20);
    assert_int_equal(job.limit.points, 100);
    assert_true(job.limit.seed == 1);
    assert_true(isnan(job.limit.sigma_w2) && isnan(job.limit.sigma_b2));
    job_free(&job);
    if (job_parse("[nngp]\n", "jobs/x.ini", &job) != 0)
        fail_msg("%s", nn_errmsg());
    assert_false(job.limit.enabled);
    assert_int_equal(job.limit.widths.n, 0);
    job_free(&job);

    static const struct { const char *text, *want1, *want2; } cases[] = {
        {"[nngp]\n[limit]\nwidths = 0, 16\n",
         "jobs/x.ini:3: widths: value 0 must be in [1, 65536]", NULL},
        {"[nngp]\n[limit]\nwidths = 16.5\n",
         "jobs/x.ini:3: widths: value 16.5 is not an integer", NULL},
        {"[nngp]\n[limit]\nwidths = 16, 16\n",
         "jobs/x.ini:3: widths: value 16 is listed twice", NULL},
        {"[nngp]\n[limit]\nwidths = 100000\n",
         "jobs/x.ini:3: widths: value 100000 must be in", NULL},
        {"[nngp]\n[limit]\nwidths = x\n", "jobs/x.ini:3: widths:", NULL},
        {"[nngp]\n[limit]\nwidths = 16\nsamples = 1\n",
         "jobs/x.ini:4: samples: value 1 must be >= 2", NULL},
        {"[nngp]\n[limit]\nwidths = 16\nsamples = 2.5\n",
         "jobs/x.ini:4: samples: '2.5' is not an integer", NULL},
        {"[nngp]\n[limit]\nwidths = 16\npoints = 1\n",
         "jobs/x.ini:4: points: value 1 must be >= 2", NULL},
        {"[data]\ntest = 40\n[nngp]\n[limit]\nwidths = 16\npoints = 41\n",
         "jobs/x.ini:6: points: value 41 must be at most [data] test (40)", NULL},
        {"[data]\ntest = 40\n[nngp]\n[limit]\nwidths = 16\n",
         "jobs/x.ini: [limit]: points: value 100 must be at most [data] test (40)", NULL},
        {"[nngp]\n[limit]\nwidths = 16\nsigma_w2 = 0\nsigma_b2 = 0\n",
         "jobs/x.ini:4: sigma_w2: value 0 must be > 0", NULL},
        {"[nngp]\n[limit]\nwidths = 16\nsigma_w2 = 1\nsigma_b2 = -1\n",
         "jobs/x.ini:5: sigma_b2: value -1 must be >= 0", NULL},
        {"[nngp]\n[limit]\nwidths = 16\nsigma_w2 = 1\n",
         "jobs/x.ini:4: sigma_w2: set sigma_b2 too", NULL},
        {"[nngp]\n[limit]\nwidths = 16\nsigma_b2 = 1\n",
         "jobs/x.ini:4: sigma_b2: set sigma_w2 too", NULL},
        {"[nngp]\n[limit]\nwidths = 16\nseed = x\n",
         "jobs/x.ini:4: seed: 'x' is not an integer", NULL},
        {"[nngp]\n[limit]\nsamples = 4\n", "jobs/x.ini:2: [limit]: widths: required", NULL},
        {"[cnn]\n[limit]\nwidths = 16\n",
         "jobs/x.ini:2: [limit] is a stage of the NNGP sweep", NULL},
        {"[nngp]\n[limit]\nwidth = 16\n",
         "jobs/x.ini:3: width: unknown key in [limit]", "did you mean widths?"},
        {"[nngp]\n[limit]\n[limit]\n", "jobs/x.ini:3: duplicate section [limit]", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_job_error(cases[i].text, cases[i].want1, cases[i].want2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_forms),
        cmocka_unit_test(test_grid_errors),
        cmocka_unit_test(test_full_job),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_network_keys),
        cmocka_unit_test(test_job_errors),
        cmocka_unit_test(test_job_limits),
        cmocka_unit_test(test_job_load),
        cmocka_unit_test(test_limit_keys),
    };
    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
