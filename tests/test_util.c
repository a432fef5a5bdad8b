/* test_util.c - util module: error messages and exit statuses, the thread layout rules, the
 * random number generator against closed-form moments, and the stream seeding that CNN dropout
 * relies on. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "nn_rng.h"
#include "nn_threads.h"
#include "nn_units.h"

static void test_error_message_and_exit_status(void **state)
{
    (void)state;
    assert_int_equal(nn_fail(NN_ERR_INPUT, "%s:%d: key: bad", "job.ini", 7), NN_ERR_INPUT);
    assert_string_equal(nn_errmsg(), "job.ini:7: key: bad");
    nn_fail_context(NN_ERR_INPUT, "loading %s: ", "data");
    assert_string_equal(nn_errmsg(), "loading data: job.ini:7: key: bad");
    assert_int_equal(nn_exit_status(NN_OK), 0);
    assert_int_equal(nn_exit_status(NN_ERR_INPUT), 2);
    assert_int_equal(nn_exit_status(NN_ERR_RUNTIME), 1);
    assert_int_equal(nn_exit_status(NN_ERR_NOT_PD), 1);
    assert_int_equal(nn_exit_status(NN_ERR_INTERRUPTED), 75);
}

/* Moments of 10^6 draws: the standard error of a mean is 1/sqrt(12e6) = 2.9e-4 for U(0,1) and
 * 1e-3 for N(0,1); tolerances are 5 standard errors. */
/* Durations read the way the plan and the progress lines print them, at each unit's edges. */
static void test_seconds_text(void **state)
{
    (void)state;
    const struct { double s; const char *text; } cases[] = {
        {0.0, "0 ms"}, {0.0404, "40 ms"}, {0.998, "998 ms"}, {1.0, "1.0 s"}, {42.0, "42.0 s"},
        {119.9, "119.9 s"}, {210.0, "3.5 min"}, {7560.0, "2.1 h"}};
    char buf[32];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        assert_string_equal(nn_seconds_text(cases[k].s, buf, sizeof buf), cases[k].text);
}

static void test_rng_moments(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 42);
    const int n = 1000000;
    double su = 0, sn = 0, sn2 = 0;
    for (int i = 0; i < n; i++) {
        su += rng_uniform(&r);
        double z = rng_normal(&r);
        sn += z;
        sn2 += z * z;
    }
    assert_close(su / n, 0.5, 5 * 2.9e-4);
    assert_close(sn / n, 0.0, 5 * 1e-3);
    assert_close(sn2 / n, 1.0, 5 * 1.5e-3);   /* sd of z^2 is sqrt(2) */
}

static void test_rng_streams_reproducible_and_distinct(void **state)
{
    (void)state;
    rng_t a, b, c;
    rng_seed_stream(&a, 7, 1, 100);
    rng_seed_stream(&b, 7, 1, 100);
    rng_seed_stream(&c, 7, 2, 100);
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_next(&a);
        assert_true(x == rng_next(&b));
        assert_true(x != rng_next(&c));
    }
}

static void test_rng_below_and_shuffle(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 3);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++)
        counts[rng_below(&r, 7)]++;
    for (int k = 0; k < 7; k++)   /* expected 10000 each, sd ~ 93 */
        assert_in_range(counts[k], 10000 - 500, 10000 + 500);
    int perm[50], seen[50] = {0};
    for (int i = 0; i < 50; i++)
        perm[i] = i;
    rng_shuffle_int(&r, perm, 50);
    for (int i = 0; i < 50; i++)
        seen[perm[i]]++;
    for (int i = 0; i < 50; i++)
        assert_int_equal(seen[i], 1);
}

/* The layout rules of nn_threads.h: a mask shared by the node's ranks is split among them, a
 * rank's own mask is its own, SLURM_CPUS_PER_TASK caps, OMP_NUM_THREADS wins, and nonsense in
 * either variable is ignored. */
static void test_thread_layout(void **state)
{
    (void)state;
    struct {
        int mask, sharing;
        const char *slurm, *omp;
        int cores, threads;
        const char *cores_from, *threads_from;
    } cases[] = {
        {2, 1, NULL, NULL, 2, 2, "affinity mask", "cores"},      /* one process, whole node */
        {2, 2, NULL, NULL, 1, 1, "affinity mask shared by the node's ranks", "cores"},
        {1, 1, NULL, NULL, 1, 1, "affinity mask", "cores"},      /* --bind-to core */
        {2, 4, NULL, NULL, 1, 1, "affinity mask shared by the node's ranks", "cores"},
        {64, 1, "8", NULL, 8, 8, "SLURM_CPUS_PER_TASK", "cores"},
        {8, 1, "16", NULL, 8, 8, "affinity mask", "cores"},      /* the mask is smaller */
        {2, 1, NULL, "3", 2, 3, "affinity mask", "OMP_NUM_THREADS"},
        {2, 1, NULL, "4,2", 2, 4, "affinity mask", "OMP_NUM_THREADS"},
        {2, 1, "x", "0", 2, 2, "affinity mask", "cores"},
        {2, 1, "", "two", 2, 2, "affinity mask", "cores"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        threads_layout_t l = threads_choose(cases[i].mask, cases[i].sharing, cases[i].slurm,
                                            cases[i].omp);
        if (l.cores != cases[i].cores || l.threads != cases[i].threads ||
            strcmp(l.cores_from, cases[i].cores_from) || strcmp(l.threads_from, cases[i].threads_from))
            fail_msg("case %zu: %d cores (%s), %d threads (%s)", i, l.cores, l.cores_from,
                     l.threads, l.threads_from);
    }
    assert_true(threads_mask_cores() >= 1);
    int before = threads_set_blas(2);
    assert_int_equal(threads_set_blas(before), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_message_and_exit_status),
        cmocka_unit_test(test_seconds_text),
        cmocka_unit_test(test_rng_moments),
        cmocka_unit_test(test_rng_streams_reproducible_and_distinct),
        cmocka_unit_test(test_rng_below_and_shuffle),
        cmocka_unit_test(test_thread_layout),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
