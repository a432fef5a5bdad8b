/* grid.c - grid specs of job files ("1:10", "1:20:2", "linspace(a, b, n)", "logspace(a, b, n)",
 * "0, 0.25, 1.5") and the strict number parsing the job parser shares. Knows nothing of files,
 * sections or line numbers, nor of what a grid is for: range checks (> 0, integral) are left to
 * the caller. */
#include "job.h"
#include "job_internal.h"
#include "nn_error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_MAX_VALUES 100000
#define EXACT_INT_MAX 9007199254740992.0   /* 2^53: every integer up to here is a double */

/* Writes the reason into why and returns NN_ERR_INPUT (the recorded message is the caller's). */
static int why_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why_fail(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return NN_ERR_INPUT;
}

/* Trims whitespace in place at both ends; returns the first non-blank character. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Contract in job_internal.h: one finite double, nothing after it. */
int job_parse_number(const char *tok, double *out, char *why, size_t whylen)
{
    if (!*tok)
        return why_fail(why, whylen, "empty value");
    char *end;
    errno = 0;
    double v = strtod(tok, &end);
    if (end == tok || *end != '\0' || isspace((unsigned char)*tok))
        return why_fail(why, whylen, "'%s' is not a number", tok);
    if (!isfinite(v))
        return why_fail(why, whylen, "'%s' is not a finite number", tok);
    if (errno == ERANGE)
        return why_fail(why, whylen, "'%s' is out of range", tok);
    *out = v;
    return 0;
}

/* Contract in job_internal.h: plain digits, or an integral number up to 2^53 ("1e3"). */
int job_parse_integer(const char *tok, long long *out, char *why, size_t whylen)
{
    if (!*tok)
        return why_fail(why, whylen, "empty value");
    if (isspace((unsigned char)*tok))
        return why_fail(why, whylen, "'%s' is not an integer", tok);
    char *end;
    errno = 0;
    long long i = strtoll(tok, &end, 10);
    if (end != tok && *end == '\0') {
        if (errno == ERANGE)
            return why_fail(why, whylen, "'%s' is out of range", tok);
        *out = i;
        return 0;
    }
    /* Not plain digits: accept a number written another way if it is integral ("1e3"). */
    double v;
    char sub[8];
    if (job_parse_number(tok, &v, sub, sizeof sub) != 0 || v != floor(v))
        return why_fail(why, whylen, "'%s' is not an integer", tok);
    if (fabs(v) > EXACT_INT_MAX)
        return why_fail(why, whylen, "'%s' is out of range", tok);
    *out = (long long)v;
    return 0;
}

/* Allocates g->v for n values after checking n against the limit; NN_ERR_NOMEM if out of memory. */
static int grid_alloc(grid_t *g, long long n, char *why, size_t whylen)
{
    if (n > GRID_MAX_VALUES)
        return why_fail(why, whylen, "too many values (%lld > %d)", n, GRID_MAX_VALUES);
    g->v = malloc((size_t)n * sizeof *g->v);
    if (!g->v) {
        why_fail(why, whylen, "out of memory");
        return NN_ERR_NOMEM;
    }
    g->n = (int)n;
    return 0;
}

/* "linspace(a, b, n)" / "logspace(a, b, n)": s starts after the word. */
static int parse_space(char *s, int islog, grid_t *g, char *why, size_t whylen)
{
    const char *fn = islog ? "logspace" : "linspace";
    s = trim(s);
    char *close = strchr(s, ')');
    if (*s != '(' || !close)
        return why_fail(why, whylen, "expected %s(a, b, n)", fn);
    *close = '\0';
    char *rest = trim(close + 1);
    if (*rest)
        return why_fail(why, whylen, "unexpected '%s' after %s(...)", rest, fn);
    char *arg[3];
    int nargs = 0;
    for (char *p = s + 1;; ) {
        char *comma = strchr(p, ',');
        if (nargs == 3)
            return why_fail(why, whylen, "expected %s(a, b, n): too many arguments", fn);
        if (comma)
            *comma = '\0';
        arg[nargs++] = trim(p);
        if (!comma)
            break;
        p = comma + 1;
    }
    if (nargs != 3)
        return why_fail(why, whylen, "expected %s(a, b, n): %d argument%s given", fn, nargs,
                        nargs == 1 ? "" : "s");
    double a, b;
    long long n;
    char sub[160];
    if (job_parse_number(arg[0], &a, sub, sizeof sub) != 0 ||
        job_parse_number(arg[1], &b, sub, sizeof sub) != 0)
        return why_fail(why, whylen, "%s(a, b, n): %s", fn, sub);
    if (job_parse_integer(arg[2], &n, sub, sizeof sub) != 0)
        return why_fail(why, whylen, "%s(a, b, n): count n: %s", fn, sub);
    if (n < 1)
        return why_fail(why, whylen, "%s(a, b, n): count n = %lld must be >= 1", fn, n);
    if (!isfinite(b - a))
        return why_fail(why, whylen, "%s(a, b, n): b - a is out of range", fn);
    int rc = grid_alloc(g, n, why, whylen);
    if (rc != 0)
        return rc;
    for (long long i = 0; i < n; i++) {
        /* endpoints exact; a + (b - a) i / (n - 1) in between (numpy's linspace); near the
         * largest doubles (b - a) i overflows, and i / (n - 1) <= 1 is taken first instead */
        double x = (i == 0) ? a : (i == n - 1) ? b : a + (b - a) * (double)i / (double)(n - 1);
        if (!isfinite(x))
            x = a + (b - a) * ((double)i / (double)(n - 1));
        g->v[i] = islog ? pow(10.0, x) : x;
        if (islog && (!isfinite(g->v[i]) || g->v[i] == 0.0))
            return why_fail(why, whylen, "logspace(a, b, n): 10^%.15g is out of range", x);
    }
    return 0;
}

/* "start:stop[:step]", integers, inclusive. */
static int parse_range(char *s, grid_t *g, char *why, size_t whylen)
{
    char *part[3];
    int nparts = 0;
    for (char *p = s;; ) {
        char *colon = strchr(p, ':');
        if (nparts == 3)
            return why_fail(why, whylen, "expected start:stop or start:stop:step");
        if (colon)
            *colon = '\0';
        part[nparts++] = trim(p);
        if (!colon)
            break;
        p = colon + 1;
    }
    if (nparts < 2)
        return why_fail(why, whylen, "expected start:stop or start:stop:step");
    long long x[3] = {0, 0, 1};
    static const char *const what[3] = {"start", "stop", "step"};
    for (int k = 0; k < nparts; k++) {
        char sub[160];
        if (job_parse_integer(part[k], &x[k], sub, sizeof sub) != 0)
            return why_fail(why, whylen, "range %s: %s (ranges take integers; use linspace for "
                            "other values)", what[k], sub);
        if (fabs((double)x[k]) > EXACT_INT_MAX)
            return why_fail(why, whylen, "range %s %lld is out of range", what[k], x[k]);
    }
    if (x[2] <= 0)
        return why_fail(why, whylen, "range step %lld must be > 0", x[2]);
    if (x[0] > x[1])
        return why_fail(why, whylen, "empty range %lld:%lld (start > stop)", x[0], x[1]);
    long long n = (x[1] - x[0]) / x[2] + 1;
    int rc = grid_alloc(g, n, why, whylen);
    if (rc != 0)
        return rc;
    for (long long i = 0; i < n; i++)
        g->v[i] = (double)(x[0] + i * x[2]);
    return 0;
}

/* "a, b, c" (one number is a list of one). */
static int parse_list(char *s, grid_t *g, char *why, size_t whylen)
{
    long long n = 1;
    for (const char *p = s; *p; p++)
        n += (*p == ',');
    int rc = grid_alloc(g, n, why, whylen);
    if (rc != 0)
        return rc;
    char *p = s;
    for (long long i = 0; i < n; i++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *tok = trim(p);
        if (!*tok)
            return why_fail(why, whylen, "empty element %lld in list", i + 1);
        if (job_parse_number(tok, &g->v[i], why, whylen) != 0)
            return NN_ERR_INPUT;
        p = comma ? comma + 1 : p + strlen(p);
    }
    return 0;
}

/* True when s starts with word (the rest, "(a, b, n)", is checked by parse_space). */
static int starts_with(const char *s, const char *word)
{
    return strncmp(s, word, strlen(word)) == 0;
}

/* Contract in job.h: the four forms; g is {NULL, 0} after an error, why holds the reason. */
int grid_parse(const char *text, grid_t *g, char *why, size_t whylen)
{
    g->v = NULL;
    g->n = 0;
    if (why && whylen)
        why[0] = '\0';
    char *dup = strdup(text ? text : "");
    if (!dup) {
        why_fail(why, whylen, "out of memory");
        return NN_ERR_NOMEM;
    }
    char *s = trim(dup);
    int rc;
    if (!*s)
        rc = why_fail(why, whylen, "empty value");
    else if (starts_with(s, "linspace"))
        rc = parse_space(s + 8, 0, g, why, whylen);
    else if (starts_with(s, "logspace"))
        rc = parse_space(s + 8, 1, g, why, whylen);
    else if (strchr(s, ':'))
        rc = parse_range(s, g, why, whylen);
    else
        rc = parse_list(s, g, why, whylen);
    free(dup);
    if (rc != 0)
        grid_free(g);
    return rc;
}

/* Frees the values and zeroes g; accepts NULL and an already freed grid. */
void grid_free(grid_t *g)
{
    if (!g)
        return;
    free(g->v);
    g->v = NULL;
    g->n = 0;
}
