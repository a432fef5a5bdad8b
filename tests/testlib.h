/* testlib.h - shared helpers for the cmocka tests: includes cmocka in the order it needs, lets MPI
 * tests silence every rank but 0 (all ranks still assert; a failure on any rank fails mpirun),
 * and gives tolerance checks that print the difference they saw. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>

/* Fails unless |a - b| <= tol, printing both values and what was compared. */
#define assert_close(a, b, tol)                                                                  \
    do {                                                                                         \
        double a_ = (a), b_ = (b), t_ = (tol);                                                   \
        if (!(fabs(a_ - b_) <= t_))                                                              \
            fail_msg("%s = %.17g, %s = %.17g, |diff| = %.3g > tol %.3g", #a, a_, #b, b_,         \
                     fabs(a_ - b_), t_);                                                         \
    } while (0)

/* Fails unless |a - b| <= rtol * max(|a|, |b|, floor). */
#define assert_rel_close(a, b, rtol, floor)                                                      \
    do {                                                                                         \
        double a_ = (a), b_ = (b);                                                               \
        double s_ = fmax(fmax(fabs(a_), fabs(b_)), (floor));                                     \
        if (!(fabs(a_ - b_) <= (rtol) * s_))                                                     \
            fail_msg("%s = %.17g, %s = %.17g, rel diff %.3g > %.3g", #a, a_, #b, b_,             \
                     fabs(a_ - b_) / s_, (double)(rtol));                                        \
    } while (0)

#include <stdlib.h>
#include <string.h>

/* MPI tests: only the reporting rank prints, so the runner counts one cmocka summary per run;
 * the other ranks' assertions still fail mpirun through their exit status. */
static inline void test_quiet_unless(int reporting)
{
    if (!reporting) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            return;
    }
}

/* A fresh temporary directory for the test (mkdtemp under $TMPDIR or /tmp) copied into buf. */
static inline const char *test_tmpdir(char *buf, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, len, "%s/nnsweep-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(buf))
        fail_msg("mkdtemp %s failed", buf);
    return buf;
}

#endif
