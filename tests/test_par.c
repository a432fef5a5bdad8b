/* test_par.c - the MPI layer at 1, 2 and 4 ranks. nnsweep-test: mpi
 * Checks the scheduler records every item exactly once with the result its run produced, skips
 * finished items on resume, works with groups, stops at item boundaries on a signal, and that
 * failures and broadcasts reach every rank. */
#include "testlib.h"

#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include "nn_error.h"
#include "nn_signal.h"
#include "par.h"

#define NITEMS 37

typedef struct {
    double recorded[NITEMS + 8];   /* room for test_extra_items' extra items */
    int times[NITEMS + 8];
    int fail_item;        /* run() fails on this item, -1 never */
    int signal_item;      /* the rank that runs this item raises SIGUSR1 */
    int signal_first;     /* every rank raises SIGUSR1 in the first item it runs */
    int interrupt_item;   /* run() stops this item early as on a signal (NN_ERR_INTERRUPTED) */
    int raised;
    int group_sizes_ok;   /* group rank and slot always in range */
    int slots;
} sweep_ctx_t;

/* A deterministic result that depends only on the item (and takes a little time). */
static double item_value(int item)
{
    double x = 0;
    for (int k = 1; k <= 2000; k++)
        x += sin(item * 0.1 + k) / k;
    return x;
}

static int run_item(int item, int slot, void *result, void *vctx)
{
    sweep_ctx_t *ctx = vctx;
    if (par_group_size() < 1 || par_group_rank() >= par_group_size() || slot < 0 ||
        slot >= ctx->slots)
        ctx->group_sizes_ok = 0;
    if (item == ctx->fail_item)
        return nn_fail(NN_ERR_RUNTIME, "item %d failed on purpose", item);
    if (item == ctx->interrupt_item)
        return nn_fail(NN_ERR_INTERRUPTED, "item %d saved its progress and stopped", item);
    if ((item == ctx->signal_item || (ctx->signal_first && !ctx->raised)) && par_group_rank() == 0) {
        ctx->raised = 1;
        raise(SIGUSR1);   /* process-wide: the handler sets the flag whichever thread runs */
    }
    par_poll();
    usleep(5000);   /* items take a while, as real ones do */
    double v = item_value(item);
    memcpy(result, &v, sizeof v);
    return NN_OK;
}

static int record_item(int item, const void *result, void *vctx)
{
    sweep_ctx_t *ctx = vctx;
    memcpy(&ctx->recorded[item], result, sizeof(double));
    ctx->times[item]++;
    return NN_OK;
}

static par_schedule_t make_schedule(sweep_ctx_t *ctx, const unsigned char *done, int group)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->fail_item = ctx->signal_item = ctx->interrupt_item = -1;
    ctx->group_sizes_ok = 1;
    ctx->slots = 1;
    par_schedule_t s = {.nitems = NITEMS, .done = done, .result_bytes = sizeof(double),
                        .group_size = group, .slots = 1, .run = run_item,
                        .record = record_item, .ctx = ctx, .label = "test"};
    return s;
}

static void test_every_item_once(void **state)
{
    (void)state;
    sweep_ctx_t ctx;
    par_schedule_t s = make_schedule(&ctx, NULL, 1);
    assert_int_equal(par_schedule(&s), NN_OK);
    assert_true(ctx.group_sizes_ok);
    if (par_rank() == 0)
        for (int i = 0; i < NITEMS; i++) {
            assert_int_equal(ctx.times[i], 1);
            assert_true(ctx.recorded[i] == item_value(i));   /* bit-identical */
        }
}

/* Extra items (rank 0's hook gives NEXTRA of them): with groups of 1 and 2 ranks, every regular
 * and every extra item is run and recorded exactly once, with its own result. */
#define NEXTRA 5
static int extra_given, bad_id;
static int give_extra(void *vctx)
{
    (void)vctx;
    return extra_given < NEXTRA ? NITEMS + extra_given++ : -1;
}

static int run_with_extra(int item, int slot, void *result, void *vctx)
{
    return run_item(item < NITEMS ? item : item - NITEMS, slot, result, vctx);
}

static int record_with_extra(int item, const void *result, void *vctx)
{
    sweep_ctx_t *ctx = vctx;
    if (item >= NITEMS + NEXTRA)
        bad_id = 1;   /* not an id the hook gave */
    memcpy(&ctx->recorded[item], result, sizeof(double));
    ctx->times[item]++;
    return NN_OK;
}

static void test_extra_items(void **state)
{
    (void)state;
    sweep_ctx_t ctx;
    for (int group = 1; group <= 2 && par_size() % group == 0; group++) {
        par_schedule_t s = make_schedule(&ctx, NULL, group);
        s.run = run_with_extra;
        s.record = record_with_extra;
        s.extra = give_extra;
        extra_given = bad_id = 0;
        assert_int_equal(par_schedule(&s), NN_OK);
        if (par_rank() != 0)
            continue;
        assert_int_equal(extra_given, NEXTRA);
        assert_false(bad_id);
        for (int i = 0; i < NITEMS + NEXTRA; i++) {
            assert_int_equal(ctx.times[i], 1);
            assert_true(ctx.recorded[i] == item_value(i < NITEMS ? i : i - NITEMS));
        }
    }
}

/* Items run side by side on threads give the same results as one at a time. */
static void test_threads_per_rank(void **state)
{
    (void)state;
    sweep_ctx_t ctx;
    par_schedule_t s = make_schedule(&ctx, NULL, 1);
    s.slots = ctx.slots = 3;
    assert_int_equal(par_schedule(&s), NN_OK);
    assert_true(ctx.group_sizes_ok);
    if (par_rank() == 0)
        for (int i = 0; i < NITEMS; i++) {
            assert_int_equal(ctx.times[i], 1);
            assert_true(ctx.recorded[i] == item_value(i));
        }
}

static void test_resume_skips_done(void **state)
{
    (void)state;
    unsigned char done[NITEMS] = {0};
    for (int i = 0; i < NITEMS; i += 3)
        done[i] = 1;
    sweep_ctx_t ctx;
    par_schedule_t s = make_schedule(&ctx, done, 1);
    assert_int_equal(par_schedule(&s), NN_OK);
    if (par_rank() == 0)
        for (int i = 0; i < NITEMS; i++)
            assert_int_equal(ctx.times[i], done[i] ? 0 : 1);
}

static void test_groups(void **state)
{
    (void)state;
    int g = par_size() % 2 == 0 ? 2 : 1;
    sweep_ctx_t ctx;
    par_schedule_t s = make_schedule(&ctx, NULL, g);
    assert_int_equal(par_schedule(&s), NN_OK);
    assert_true(ctx.group_sizes_ok);
    if (par_rank() == 0)
        for (int i = 0; i < NITEMS; i++)
            assert_int_equal(ctx.times[i], 1);
    /* groups that do not divide the world are refused on every rank */
    if (par_size() > 1) {
        s.group_size = par_size() + 1;
        assert_int_equal(par_schedule(&s), NN_ERR_INPUT);
    }
}

/* World rank 0 after a stopped sweep: every item recorded at most once, with the value its run
 * produced. Returns how many were recorded. */
static int count_recorded(const sweep_ctx_t *ctx)
{
    int n = 0;
    for (int i = 0; i < NITEMS; i++) {
        assert_in_range(ctx->times[i], 0, 1);
        if (ctx->times[i])
            assert_true(ctx->recorded[i] == item_value(i));
        n += ctx->times[i];
    }
    return n;
}

/* As SLURM and mpirun deliver it: every rank is signalled while running its first item. Each
 * rank finishes that item and it is recorded; no rank starts a second one (a rank whose first
 * request reaches rank 0 after rank 0 was signalled gets none), so 1..size items are done. */
static void test_signal_stops_at_item_boundary(void **state)
{
    (void)state;
    assert_int_equal(signal_install(), NN_OK);
    signal_reset();
    sweep_ctx_t ctx;
    par_schedule_t s = make_schedule(&ctx, NULL, 1);
    ctx.signal_first = 1;
    assert_int_equal(par_schedule(&s), NN_ERR_INTERRUPTED);
    if (par_rank() == 0)   /* at most one item per rank, then nothing */
        assert_in_range(count_recorded(&ctx), 1, par_size());
    signal_reset();
}

/* Only the rank running item 0 is signalled: that item is finished and recorded, the sweep
 * stops on every rank without running everything. (How many items the other ranks finish
 * before rank 0 hears of the signal depends on timing, so only that bound is checked.) */
static void test_signal_on_one_rank(void **state)
{
    (void)state;
    signal_reset();
    sweep_ctx_t ctx;
    par_schedule_t s = make_schedule(&ctx, NULL, 1);
    ctx.signal_item = 0;
    assert_int_equal(par_schedule(&s), NN_ERR_INTERRUPTED);
    if (par_rank() == 0) {
        assert_true(count_recorded(&ctx) < NITEMS);
        assert_int_equal(ctx.times[0], 1);
    }
    signal_reset();
}

/* An item that stops early on a signal (as a CNN run does at a training step) is not recorded;
 * the hand-out stops and every rank gets NN_ERR_INTERRUPTED with that item's message. */
static void test_item_interrupted(void **state)
{
    (void)state;
    sweep_ctx_t ctx;
    par_schedule_t s = make_schedule(&ctx, NULL, 1);
    ctx.interrupt_item = 0;
    assert_int_equal(par_schedule(&s), NN_ERR_INTERRUPTED);
    assert_non_null(strstr(nn_errmsg(), "item 0 saved its progress and stopped"));
    if (par_rank() == 0) {
        assert_true(count_recorded(&ctx) < NITEMS);
        assert_int_equal(ctx.times[0], 0);
    }
}

static void test_failure_reaches_every_rank(void **state)
{
    (void)state;
    sweep_ctx_t ctx;
    par_schedule_t s = make_schedule(&ctx, NULL, 1);
    ctx.fail_item = 5;
    assert_int_equal(par_schedule(&s), NN_ERR_RUNTIME);
    assert_non_null(strstr(nn_errmsg(), "item 5 failed on purpose"));
    /* par_agree copies the lowest failing rank's message everywhere */
    int st = par_agree(par_rank() == par_size() - 1 ? nn_fail(NN_ERR_INPUT, "bad on last rank") : NN_OK);
    assert_int_equal(st, NN_ERR_INPUT);
    assert_string_equal(nn_errmsg(), "bad on last rank");
    assert_int_equal(par_agree(NN_OK), NN_OK);
}

static void test_broadcast_dataset(void **state)
{
    (void)state;
    dataset_t ds;
    memset(&ds, 0, sizeof ds);
    const int dim = 5, ntargets = 3;
    if (par_rank() == 0) {
        ds.dim = dim;
        ds.ntargets = ntargets;
        snprintf(ds.name, sizeof ds.name, "synthetic");
        assert_int_equal(split_alloc(&ds.train, 7, dim, ntargets), NN_OK);
        assert_int_equal(split_alloc(&ds.test, 4, dim, ntargets), NN_OK);
        for (int i = 0; i < 7 * dim; i++)
            ds.train.x[i] = i * 0.5;
        for (int i = 0; i < 4; i++)
            ds.test.label[i] = 10 + i;
    }
    assert_int_equal(par_bcast_dataset(&ds, 0), NN_OK);
    assert_string_equal(ds.name, "synthetic");
    assert_int_equal(ds.train.n, 7);
    assert_int_equal(ds.validation.n, 0);
    for (int i = 0; i < 7 * dim; i++)
        assert_true(ds.train.x[i] == i * 0.5);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ds.test.label[i], 10 + i);
    dataset_free(&ds);

    char *text = par_rank() == 0 ? strdup("[data]\ntrain = 5\n") : NULL;
    assert_int_equal(par_bcast_text(&text, 0), NN_OK);
    assert_string_equal(text, "[data]\ntrain = 5\n");
    free(text);
    char *hosts = par_hostnames();
    assert_non_null(hosts);
    assert_true(strlen(hosts) > 0);
    free(hosts);
}

int main(int argc, char **argv)
{
    par_init(&argc, &argv);
    test_quiet_unless(par_rank() == 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item_once),
        cmocka_unit_test(test_threads_per_rank),
        cmocka_unit_test(test_resume_skips_done),
        cmocka_unit_test(test_extra_items),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_signal_stops_at_item_boundary),
        cmocka_unit_test(test_signal_on_one_rank),
        cmocka_unit_test(test_item_interrupted),
        cmocka_unit_test(test_failure_reaches_every_rank),
        cmocka_unit_test(test_broadcast_dataset),
    };
    int failed = cmocka_run_group_tests_name("par", tests, NULL, NULL);
    par_finalize();
    return failed;
}
