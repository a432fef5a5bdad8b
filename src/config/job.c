/* job.c - job files: the key tables, defaults, per-key parsing and range checks, the checks that
 * involve several keys, and the [variant NAME] specs built from [cnn]; job_ini.c reads the text
 * into entries. Does not interpret layer strings (cnn module) nor open datasets (data module):
 * split sizes are checked against the standard per-class counts only. */
#include "job.h"
#include "job_internal.h"
#include "nn_error.h"
#include "nngp_check.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JOB_FILE_MAX (16 << 20)   /* a job file is a few hundred bytes; refuse anything huge */

/* ---------------------------------------------------------------------------------------------
 * Key tables: every key of every section, its type, where it goes and its bounds. */

typedef enum {
    K_INT,      /* int, bounds lo/hi */
    K_LLONG,    /* long long, any value */
    K_NUM,      /* double, bounds */
    K_BOOL,     /* true/false/yes/no/on/off/1/0 */
    K_STR,      /* char[size], non-empty */
    K_CHOICE,   /* one of choices: stored as int index (size 0) or copied into char[size] */
    K_GRID,     /* grid_t, every value within bounds (INTEGRAL: integers, sorted, distinct) */
    K_CLASSES,  /* data_spec_t classes/nclasses */
    K_DATASET,  /* data_spec_t kind */
    K_PGRID,    /* nngp_spec_t grid_p/grid_q from "PxQ" or "auto" */
    K_KERNELS   /* unsigned KERNEL_* bits from a list of "nngp", "ntk" */
} ktype_t;

enum { B_LO = 1, B_LO_OPEN = 2, B_HI = 4, B_HI_OPEN = 8, B_INTEGRAL = 16 };

typedef struct {
    const char *key;
    ktype_t type;
    size_t off;                  /* offset in the section's struct */
    size_t size;                 /* K_STR / string K_CHOICE: buffer size */
    unsigned bounds;
    double lo, hi;
    const char *const *choices;  /* K_CHOICE: NULL-terminated */
} keydef_t;

static const char *const preprocess_names[] = {"scale01", "standardize", "unit_norm", NULL};
static const char *const solver_names[] = {"auto", "lapack", "scalapack", NULL};
static const char *const optimizer_names[] = {"sgd", "momentum", "nesterov", "adagrad", "adam",
                                              NULL};
static const char *const schedule_names[] = {"none", "step", "cosine", NULL};
static const char *const init_names[] = {"kaiming_normal", "kaiming_uniform", "xavier_normal",
                                         "xavier_uniform", "normal", "uniform", NULL};
static const char *const init_mode_names[] = {"fan_in", "fan_out", NULL};

#define D(f) offsetof(data_spec_t, f)
static const keydef_t data_keys[] = {
    {"dataset", K_DATASET, D(kind), 0, 0, 0, 0, NULL},
    {"path", K_STR, D(path), DATASET_PATH_MAX, 0, 0, 0, NULL},
    {"classes", K_CLASSES, D(classes), 0, 0, 0, 0, NULL},
    {"train", K_INT, D(train), 0, B_LO, 1, 0, NULL},
    {"test", K_INT, D(test), 0, B_LO, 1, 0, NULL},
    {"validation", K_INT, D(validation), 0, B_LO, 0, 0, NULL},
    {"preprocess", K_CHOICE, D(preprocess), 0, 0, 0, 0, preprocess_names},
    {"shuffle_seed", K_LLONG, D(shuffle_seed), 0, 0, 0, 0, NULL},
    {"channels", K_INT, D(channels), 0, B_LO | B_HI, 1, DATASET_SYNTHETIC_MAX_CHANNELS, NULL},
    {"height", K_INT, D(height), 0, B_LO | B_HI, 1, DATASET_SYNTHETIC_MAX_SIDE, NULL},
    {"width", K_INT, D(width), 0, B_LO | B_HI, 1, DATASET_SYNTHETIC_MAX_SIDE, NULL},
    {NULL, K_INT, 0, 0, 0, 0, 0, NULL}};
#undef D

#define N(f) offsetof(nngp_spec_t, f)
static const keydef_t nngp_keys[] = {
    {"depth", K_GRID, N(depth), 0, B_LO | B_INTEGRAL, 1, 0, NULL},
    {"sigma_w2", K_GRID, N(sigma_w2), 0, B_LO | B_LO_OPEN, 0, 0, NULL},
    {"sigma_b2", K_GRID, N(sigma_b2), 0, B_LO, 0, 0, NULL},
    {"noise", K_NUM, N(noise), 0, B_LO, 0, 0, NULL},
    {"noise_max", K_NUM, N(noise_max), 0, B_LO, 0, 0, NULL},
    {"solver", K_CHOICE, N(solver), 0, 0, 0, 0, solver_names},
    {"group_size", K_INT, N(group_size), 0, B_LO, 1, 0, NULL},
    {"block_size", K_INT, N(block_size), 0, B_LO, 0, 0, NULL},
    {"grid", K_PGRID, N(grid_p), 0, 0, 0, 0, NULL},
    {"covariance", K_BOOL, N(covariance), 0, 0, 0, 0, NULL},
    {"search_train", K_INT, N(search_train), 0, B_LO, 0, 0, NULL},
    {"kernel", K_KERNELS, N(kernels), 0, 0, 0, 0, NULL},
    {"check_threshold", K_NUM, N(check_threshold), 0, B_LO | B_LO_OPEN, 0, 0, NULL},
    {NULL, K_INT, 0, 0, 0, 0, 0, NULL}};
#undef N

#define L(f) offsetof(limit_spec_t, f)
static const keydef_t limit_keys[] = {
    {"widths", K_GRID, L(widths), 0, B_LO | B_HI | B_INTEGRAL, 1, 65536, NULL},
    {"samples", K_INT, L(samples), 0, B_LO, 2, 0, NULL},
    {"points", K_INT, L(points), 0, B_LO, 2, 0, NULL},
    {"sigma_w2", K_NUM, L(sigma_w2), 0, B_LO | B_LO_OPEN, 0, 0, NULL},
    {"sigma_b2", K_NUM, L(sigma_b2), 0, B_LO, 0, 0, NULL},
    {"seed", K_LLONG, L(seed), 0, 0, 0, 0, NULL},
    {NULL, K_INT, 0, 0, 0, 0, 0, NULL}};
#undef L

#define C(f) offsetof(cnn_spec_t, f), sizeof(((cnn_spec_t *)0)->f)
static const keydef_t cnn_keys[] = {
    {"layers", K_STR, C(layers), 0, 0, 0, NULL},
    {"epochs", K_INT, C(epochs), B_LO, 1, 0, NULL},
    {"batch_size", K_INT, C(batch_size), B_LO, 1, 0, NULL},
    {"optimizer", K_CHOICE, C(optimizer), 0, 0, 0, optimizer_names},
    {"learning_rate", K_NUM, C(learning_rate), B_LO | B_LO_OPEN, 0, 0, NULL},
    {"momentum", K_NUM, C(momentum), B_LO | B_HI | B_HI_OPEN, 0, 1, NULL},
    {"beta1", K_NUM, C(beta1), B_LO | B_HI | B_HI_OPEN, 0, 1, NULL},
    {"beta2", K_NUM, C(beta2), B_LO | B_HI | B_HI_OPEN, 0, 1, NULL},
    {"eps", K_NUM, C(eps), B_LO | B_LO_OPEN, 0, 0, NULL},
    {"weight_decay", K_NUM, C(weight_decay), B_LO, 0, 0, NULL},
    {"schedule", K_CHOICE, C(schedule), 0, 0, 0, schedule_names},
    {"step_epochs", K_INT, C(step_epochs), B_LO, 1, 0, NULL},
    {"step_gamma", K_NUM, C(step_gamma), B_LO | B_LO_OPEN | B_HI, 0, 1, NULL},
    {"init", K_CHOICE, C(init), 0, 0, 0, init_names},
    {"init_mode", K_CHOICE, C(init_mode), 0, 0, 0, init_mode_names},
    {"init_std", K_NUM, C(init_std), B_LO | B_LO_OPEN, 0, 0, NULL},
    {"augment_crop", K_INT, C(augment_crop), B_LO, 0, 0, NULL},
    {"augment_flip", K_BOOL, C(augment_flip), 0, 0, 0, NULL},
    {"sync_bn", K_BOOL, C(sync_bn), 0, 0, 0, NULL},
    {"seed", K_LLONG, C(seed), 0, 0, 0, NULL},
    {"group_size", K_INT, C(group_size), B_LO, 0, 0, NULL},
    {NULL, K_INT, 0, 0, 0, 0, 0, NULL}};
#undef C

#define W(f) offsetof(network_spec_t, f)
static const keydef_t network_keys[] = {
    {"widths", K_GRID, W(widths), 0, B_LO | B_INTEGRAL, 1, 0, NULL},
    {"epochs", K_INT, W(epochs), 0, B_LO, 1, 0, NULL},
    {"batch_size", K_INT, W(batch_size), 0, B_LO, 1, 0, NULL},
    {"optimizer", K_CHOICE, W(optimizer), sizeof(((network_spec_t *)0)->optimizer), 0, 0, 0,
     optimizer_names},
    {"learning_rate", K_NUM, W(learning_rate), 0, B_LO | B_LO_OPEN, 0, 0, NULL},
    {"seeds", K_GRID, W(seeds), 0, B_INTEGRAL, 0, 0, NULL},
    {"group_size", K_INT, W(group_size), 0, B_LO, 0, 0, NULL},
    {NULL, K_INT, 0, 0, 0, 0, 0, NULL}};
#undef W

#define R(f) offsetof(dream_spec_t, f)
static const keydef_t dream_keys[] = {
    {"model", K_STR, R(model), DATASET_PATH_MAX, 0, 0, 0, NULL},
    {"run", K_STR, R(run), sizeof(((dream_spec_t *)0)->run), 0, 0, 0, NULL},
    {"image", K_STR, R(image), DATASET_PATH_MAX, 0, 0, 0, NULL},
    {"layers", K_STR, R(layers), sizeof(((dream_spec_t *)0)->layers), 0, 0, 0, NULL},
    {"steps", K_GRID, R(steps), 0, B_LO | B_HI | B_INTEGRAL, 1, 1000000, NULL},
    {"learning_rate", K_NUM, R(learning_rate), 0, B_LO | B_LO_OPEN, 0, 0, NULL},
    {"octaves", K_INT, R(octaves), 0, B_LO | B_HI, 1, 10, NULL},
    {"octave_scale", K_NUM, R(octave_scale), 0, B_LO | B_LO_OPEN | B_HI, 1, 4, NULL},
    {"jitter", K_INT, R(jitter), 0, B_LO | B_HI, 0, 1024, NULL},
    {"seed", K_LLONG, R(seed), 0, 0, 0, 0, NULL},
    {"height", K_INT, R(height), 0, B_LO | B_HI, 1, 8192, NULL},
    {"width", K_INT, R(width), 0, B_LO | B_HI, 1, 8192, NULL},
    {NULL, K_INT, 0, 0, 0, 0, 0, NULL}};
#undef R

static const keydef_t output_keys[] = {
    {"file", K_STR, offsetof(output_spec_t, file), DATASET_PATH_MAX, 0, 0, 0, NULL},
    {NULL, K_INT, 0, 0, 0, 0, 0, NULL}};

static const keydef_t *section_keys(sec_kind_t kind)
{
    switch (kind) {
    case SEC_DATA: return data_keys;
    case SEC_NNGP: return nngp_keys;
    case SEC_LIMIT: return limit_keys;
    case SEC_OUTPUT: return output_keys;
    case SEC_NETWORK: return network_keys;
    case SEC_DREAM: return dream_keys;
    case SEC_CNN:
    case SEC_VARIANT: return cnn_keys;
    }
    return cnn_keys;
}

static const keydef_t *find_key(const keydef_t *keys, const char *key)
{
    for (; keys->key; keys++)
        if (strcmp(keys->key, key) == 0)
            return keys;
    return NULL;
}

/* Edit distance of two short strings (for "did you mean"); large when either is too long. */
static int edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 63 || nb > 63)
        return 99;
    int row[64];
    for (size_t j = 0; j <= nb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int sub = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[nb];
}

/* Contract in job_internal.h: is key in the table of this section kind; else a typo hint. */
int job_key_known(sec_kind_t kind, const char *key, char *hint, size_t hintlen)
{
    const keydef_t *keys = section_keys(kind);
    if (hint && hintlen)
        hint[0] = '\0';
    if (find_key(keys, key))
        return 1;
    const char *best = NULL;
    int bestd = 3;   /* suggest a key at most two edits away */
    for (const keydef_t *k = keys; k->key; k++) {
        int d = edit_distance(key, k->key);
        if (d < bestd) {
            bestd = d;
            best = k->key;
        }
    }
    if (best && hint && hintlen)
        snprintf(hint, hintlen, " (did you mean %s?)", best);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Messages. All name the job file; "file:line: key: reason", or "file: [section]: key: reason"
 * when the key was not written (its default is at fault). */

static int key_fail(const char *file, int line, const char *section, const char *key,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int key_fail(const char *file, int line, const char *section, const char *key,
                    const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (line > 0)
        return nn_fail(NN_ERR_INPUT, "%s:%d: %s: %s", file, line, key, reason);
    return nn_fail(NN_ERR_INPUT, "%s: [%s]: %s: %s", file, section, key, reason);
}

/* The job's name as messages show it: a very long path keeps its last 400 characters, so the
 * line and the reason still fit in the error buffer. */
static const char *display_name(const char *path, char *buf, size_t len)
{
    size_t n = strlen(path);
    if (n <= 400)
        return path;
    snprintf(buf, len, "...%s", path + n - 400);
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Values. */

/* "value X must be > 0", "... must be in [0, 1)": NULL when v is within the bounds. */
static const char *bounds_reason(const keydef_t *kd, double v, char *buf, size_t len)
{
    unsigned b = kd->bounds;
    int lo_bad = (b & B_LO) && ((b & B_LO_OPEN) ? !(v > kd->lo) : !(v >= kd->lo));
    int hi_bad = (b & B_HI) && ((b & B_HI_OPEN) ? !(v < kd->hi) : !(v <= kd->hi));
    if (!lo_bad && !hi_bad)
        return NULL;
    if ((b & B_LO) && (b & B_HI))
        snprintf(buf, len, "value %.15g must be in %c%.15g, %.15g%c", v,
                 (b & B_LO_OPEN) ? '(' : '[', kd->lo, kd->hi, (b & B_HI_OPEN) ? ')' : ']');
    else if (lo_bad)
        snprintf(buf, len, "value %.15g must be %s %.15g", v, (b & B_LO_OPEN) ? ">" : ">=", kd->lo);
    else
        snprintf(buf, len, "value %.15g must be %s %.15g", v, (b & B_HI_OPEN) ? "<" : "<=", kd->hi);
    return buf;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Classes: integers 0..9, distinct, at least two; kept in the order written. */
static int set_classes(const char *file, const entry_t *en, const char *secname, data_spec_t *d)
{
    grid_t g;
    char why[512];
    int rc = grid_parse(en->value, &g, why, sizeof why);
    if (rc != 0)
        return rc == NN_ERR_NOMEM ? nn_fail(rc, "%s: out of memory", file)
                                  : key_fail(file, en->line, secname, en->key, "%s", why);
    for (int i = 0; i < g.n && rc == 0; i++) {
        double v = g.v[i];
        if (v != floor(v) || v < 0 || v > DATASET_MAX_CLASSES - 1)
            rc = key_fail(file, en->line, secname, en->key, "value %.15g is not a class (integers "
                          "0..%d)", v, DATASET_MAX_CLASSES - 1);
        for (int j = 0; j < i && rc == 0; j++)
            if (g.v[j] == v)
                rc = key_fail(file, en->line, secname, en->key, "class %.15g is listed twice", v);
    }
    if (rc == 0 && g.n < 2)
        rc = key_fail(file, en->line, secname, en->key, "at least 2 classes are needed (got %d)",
                      g.n);
    if (rc == 0) {
        d->nclasses = g.n;
        for (int i = 0; i < g.n; i++)
            d->classes[i] = (int)g.v[i];
    }
    grid_free(&g);
    return rc;
}

/* "PxQ" (P, Q >= 1) or "auto" (0x0). */
static int set_pgrid(const char *file, const entry_t *en, const char *secname, nngp_spec_t *n)
{
    if (strcasecmp(en->value, "auto") == 0) {
        n->grid_p = n->grid_q = 0;
        return 0;
    }
    char buf[64];
    const char *x = strpbrk(en->value, "xX");
    long long pq[2];
    if (strlen(en->value) < sizeof buf && x) {
        strcpy(buf, en->value);
        buf[x - en->value] = '\0';
        char *part[2] = {buf, buf + (x - en->value) + 1};
        int ok = 1;
        for (int k = 0; k < 2 && ok; k++) {
            char *s = part[k], *e = s + strlen(s);
            while (isspace((unsigned char)*s))
                s++;
            while (e > s && isspace((unsigned char)e[-1]))
                *--e = '\0';
            char why[128];
            ok = strspn(s, "0123456789") == strlen(s) &&
                 job_parse_integer(s, &pq[k], why, sizeof why) == 0;
        }
        if (ok) {
            if (pq[0] < 1 || pq[1] < 1 || pq[0] > INT_MAX || pq[1] > INT_MAX)
                return key_fail(file, en->line, secname, en->key, "%lldx%lld: P and Q must be >= 1",
                                pq[0], pq[1]);
            n->grid_p = (int)pq[0];
            n->grid_q = (int)pq[1];
            return 0;
        }
    }
    return key_fail(file, en->line, secname, en->key, "'%s' is not PxQ (e.g. 2x2) or auto",
                    en->value);
}

/* The setters of set_key, one per key type: each parses en->value (not empty) into dst, the
 * key's place in its section's struct, or returns the key_fail message and leaves dst alone. */

/* K_INT (within kd's bounds, into an int) and K_LLONG (any value, into a long long). */
static int set_integer(const char *file, const keydef_t *kd, const entry_t *en,
                       const char *secname, void *dst)
{
    long long i;
    char why[512];
    if (job_parse_integer(en->value, &i, why, sizeof why) != 0)
        return key_fail(file, en->line, secname, en->key, "%s", why);
    if (kd->type == K_LLONG) {
        memcpy(dst, &i, sizeof i);
        return 0;
    }
    if (bounds_reason(kd, (double)i, why, sizeof why))
        return key_fail(file, en->line, secname, en->key, "%s", why);
    if (i > INT_MAX || i < INT_MIN)
        return key_fail(file, en->line, secname, en->key, "value %lld is out of range", i);
    int iv = (int)i;
    memcpy(dst, &iv, sizeof iv);
    return 0;
}

/* K_NUM: a double within kd's bounds. */
static int set_number(const char *file, const keydef_t *kd, const entry_t *en,
                      const char *secname, void *dst)
{
    double x;
    char why[512];
    if (job_parse_number(en->value, &x, why, sizeof why) != 0 ||
        bounds_reason(kd, x, why, sizeof why))
        return key_fail(file, en->line, secname, en->key, "%s", why);
    memcpy(dst, &x, sizeof x);
    return 0;
}

/* K_BOOL: an int 0 or 1. */
static int set_bool(const char *file, const entry_t *en, const char *secname, void *dst)
{
    int bv;
    if (parse_bool(en->value, &bv) != 0)
        return key_fail(file, en->line, secname, en->key, "'%s' is not a boolean (true/false, "
                        "yes/no, on/off, 1/0)", en->value);
    memcpy(dst, &bv, sizeof bv);
    return 0;
}

/* K_STR: copied into char[kd->size]. */
static int set_string(const char *file, const keydef_t *kd, const entry_t *en,
                      const char *secname, void *dst)
{
    const char *v = en->value;
    if (strlen(v) >= kd->size)
        return key_fail(file, en->line, secname, en->key, "too long (%zu characters, at most "
                        "%zu)", strlen(v), kd->size - 1);
    strcpy(dst, v);
    return 0;
}

/* K_CHOICE: one of kd->choices (any case), stored as its index or, with kd->size, its name. */
static int set_choice(const char *file, const keydef_t *kd, const entry_t *en,
                      const char *secname, void *dst)
{
    const char *v = en->value;
    for (int c = 0; kd->choices[c]; c++)
        if (strcasecmp(v, kd->choices[c]) == 0) {
            if (kd->size)
                snprintf(dst, kd->size, "%s", kd->choices[c]);
            else
                memcpy(dst, &c, sizeof c);   /* the enums list their values in this order */
            return 0;
        }
    char list[256] = "";
    for (int c = 0; kd->choices[c]; c++) {
        const char *sep = c == 0 ? "" : kd->choices[c + 1] ? ", " : " or ";
        strncat(list, sep, sizeof list - strlen(list) - 1);
        strncat(list, kd->choices[c], sizeof list - strlen(list) - 1);
    }
    return key_fail(file, en->line, secname, en->key, "unknown value '%s' (%s)", v, list);
}

/* Checks the values of grid g against kd: bounds and, for an integer grid (depth), integers,
 * which are then sorted and must be distinct. Returns 0 or the key_fail message. */
static int check_grid(const char *file, const keydef_t *kd, const entry_t *en,
                      const char *secname, grid_t *g)
{
    char why[512];
    for (int i = 0; i < g->n; i++) {
        if ((kd->bounds & B_INTEGRAL) && (g->v[i] != floor(g->v[i]) || fabs(g->v[i]) > INT_MAX))
            return key_fail(file, en->line, secname, en->key, "value %.15g is not an integer",
                            g->v[i]);
        if (bounds_reason(kd, g->v[i], why, sizeof why))
            return key_fail(file, en->line, secname, en->key, "%s", why);
    }
    if (kd->bounds & B_INTEGRAL) {
        qsort(g->v, (size_t)g->n, sizeof *g->v, cmp_double);
        for (int i = 1; i < g->n; i++)
            if (g->v[i] == g->v[i - 1])
                return key_fail(file, en->line, secname, en->key, "value %.15g is listed twice",
                                g->v[i]);
    }
    return 0;
}

/* K_GRID: a grid_t (the old one at dst released) whose values pass check_grid. */
static int set_grid(const char *file, const keydef_t *kd, const entry_t *en, const char *secname,
                    void *dst)
{
    grid_t g;
    char why[512];
    int rc = grid_parse(en->value, &g, why, sizeof why);
    if (rc == NN_ERR_NOMEM)
        return nn_fail(rc, "%s: out of memory", file);
    if (rc != 0)
        return key_fail(file, en->line, secname, en->key, "%s", why);
    if ((rc = check_grid(file, kd, en, secname, &g)) != 0) {
        grid_free(&g);
        return rc;
    }
    grid_free((grid_t *)dst);
    memcpy(dst, &g, sizeof g);
    return 0;
}

/* K_DATASET: a dataset_kind_t from its name (any case). */
static int set_dataset(const char *file, const entry_t *en, const char *secname, void *dst)
{
    const char *v = en->value;
    char lower[32];
    size_t n = strlen(v);
    dataset_kind_t kind;
    if (n < sizeof lower) {
        for (size_t i = 0; i <= n; i++)
            lower[i] = (char)tolower((unsigned char)v[i]);
        if (dataset_kind_parse(lower, &kind) == 0) {
            memcpy(dst, &kind, sizeof kind);
            return 0;
        }
    }
    return key_fail(file, en->line, secname, en->key, "unknown dataset '%s' (fashion-mnist, "
                    "mnist, cifar10 or synthetic)", v);
}

/* K_KERNELS: a comma-separated list of "nngp" and "ntk" (any case, each at most once) as
 * KERNEL_* bits. */
static int set_kernels(const char *file, const entry_t *en, const char *secname, void *dst)
{
    static const char *const names[2] = {"nngp", "ntk"};
    unsigned bits = 0;
    const char *p = en->value;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, ", \t");
        int k = 0;
        while (k < 2 && !(strlen(names[k]) == len && strncasecmp(p, names[k], len) == 0))
            k++;
        if (k == 2 || bits & (1u << k))
            return key_fail(file, en->line, secname, en->key, k == 2 ? "unknown kernel '%.*s' "
                            "(nngp, ntk, or both: nngp, ntk)" : "kernel '%.*s' listed twice",
                            (int)len, p);
        bits |= 1u << k;
        p += len;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',' && *++p == '\0')
            return key_fail(file, en->line, secname, en->key, "a kernel name after the last ','");
    }
    memcpy(dst, &bits, sizeof bits);
    return 0;
}

/* Parses en->value as kd says into the struct at base. */
static int set_key(const char *file, const keydef_t *kd, const entry_t *en, const char *secname,
                   void *base)
{
    char *dst = (char *)base + kd->off;
    if (!en->value[0])
        return key_fail(file, en->line, secname, en->key, "empty value (leave the key out to use "
                        "the default)");
    switch (kd->type) {
    case K_INT:
    case K_LLONG: return set_integer(file, kd, en, secname, dst);
    case K_NUM: return set_number(file, kd, en, secname, dst);
    case K_BOOL: return set_bool(file, en, secname, dst);
    case K_STR: return set_string(file, kd, en, secname, dst);
    case K_CHOICE: return set_choice(file, kd, en, secname, dst);
    case K_GRID: return set_grid(file, kd, en, secname, dst);
    case K_CLASSES: return set_classes(file, en, secname, base);
    case K_DATASET: return set_dataset(file, en, secname, dst);
    case K_PGRID: return set_pgrid(file, en, secname, base);
    case K_KERNELS: return set_kernels(file, en, secname, dst);
    }
    return key_fail(file, en->line, secname, en->key, "internal error: unhandled key type");
}

/* ---------------------------------------------------------------------------------------------
 * Defaults and cross-key checks. */

static const char default_layers[] = "conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu "
                                     "maxpool(2) flatten dense(128) relu dense(10)";

static void cnn_defaults(cnn_spec_t *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->name, "base");
    strcpy(c->layers, default_layers);
    c->epochs = 10;
    c->batch_size = 64;
    strcpy(c->optimizer, "momentum");
    c->learning_rate = 0.01;
    c->momentum = 0.9;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->weight_decay = 0;
    strcpy(c->schedule, "none");
    c->step_epochs = 10;
    c->step_gamma = 0.1;
    strcpy(c->init, "kaiming_normal");
    strcpy(c->init_mode, "fan_in");
    c->init_std = 0.01;
    c->seed = 1;
    c->group_size = 0;
}

/* Defaults for everything; the output file from the stem of job->path. */
static int set_defaults(job_t *job, const char *file)
{
    data_spec_t *d = &job->data;
    d->kind = DATASET_FASHION_MNIST;
    d->path[0] = '\0';
    d->nclasses = DATASET_MAX_CLASSES;
    for (int i = 0; i < DATASET_MAX_CLASSES; i++)
        d->classes[i] = i;
    d->train = 1000;
    d->test = 1000;
    d->validation = 0;
    d->preprocess = PREPROCESS_SCALE01;
    d->shuffle_seed = -1;
    d->channels = 3;   /* synthetic images: 3x32x32 unless the job says otherwise */
    d->height = 32;
    d->width = 32;

    nngp_spec_t *n = &job->nngp;
    char why[128];
    if (grid_parse("1:10", &n->depth, why, sizeof why) != 0 ||
        grid_parse("linspace(0.5, 5, 10)", &n->sigma_w2, why, sizeof why) != 0 ||
        grid_parse("linspace(0, 2, 10)", &n->sigma_b2, why, sizeof why) != 0)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory", file);
    n->noise = 1e-10;
    n->noise_max = 0.1;
    n->solver = SOLVER_AUTO;
    n->group_size = 1;
    n->block_size = 0;
    n->grid_p = n->grid_q = 0;
    n->covariance = 0;
    n->search_train = 0;
    n->check_threshold = NNGP_CHECK_THRESHOLD_DEFAULT;
    n->kernels = KERNEL_NNGP;

    limit_spec_t *lim = &job->limit;
    lim->samples = 20;
    lim->points = 100;
    lim->sigma_w2 = lim->sigma_b2 = NAN;
    lim->seed = 1;

    cnn_defaults(&job->cnn.base);

    network_spec_t *nw = &job->network;
    if (grid_parse("256, 1024, 4096", &nw->widths, why, sizeof why) != 0 ||
        grid_parse("1", &nw->seeds, why, sizeof why) != 0)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory", file);
    nw->epochs = 20;
    nw->batch_size = 100;
    strcpy(nw->optimizer, "sgd");
    nw->learning_rate = 0.01;
    nw->group_size = 1;

    dream_spec_t *dr = &job->dream;
    if (grid_parse("10, 50, 200", &dr->steps, why, sizeof why) != 0)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory", file);
    strcpy(dr->image, "noise");
    dr->learning_rate = 0.01;
    dr->octaves = 1;
    dr->octave_scale = 1.4;
    dr->seed = 1;

    const char *base = strrchr(job->path, '/');
    base = base ? base + 1 : job->path;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".ini") == 0)
        len -= 4;
    if (len == 0)
        base = "job", len = 3;
    int w = snprintf(job->output.file, sizeof job->output.file, "results/%.*s.h5", (int)len, base);
    if (w < 0 || (size_t)w >= sizeof job->output.file)
        return key_fail(file, 0, "output", "file", "default results/<stem>.h5 is too long "
                        "(at most %d characters)", DATASET_PATH_MAX - 1);
    return 0;
}

static const entry_t *find_entry(const struct job_lines *l, const char *section, const char *key)
{
    if (!l)
        return NULL;
    for (int i = 0; i < l->nent; i++)
        if (strcmp(l->ent[i].key, key) == 0 && strcmp(l->sec[l->ent[i].section].name, section) == 0)
            return &l->ent[i];
    return NULL;
}

/* The first of keys[] that was written in section (its line), else 0 with *key = keys[0]. */
static int first_written(const job_t *job, const char *section, const char *const *keys,
                         const char **key)
{
    for (int i = 0; keys[i]; i++) {
        int line = job_key_line(job, section, keys[i]);
        if (line) {
            *key = keys[i];
            return line;
        }
    }
    *key = keys[0];
    return 0;
}

/* [limit] against the rest: an [nngp] job, widths given, points within the test split, the
 * variances both or neither. */
static int limit_checks(const job_t *job, const char *file)
{
    const limit_spec_t *lim = &job->limit;
    int line = 0;   /* of the [limit] header */
    for (int i = 0; i < job->lines->nsec && !line; i++)
        line = job->lines->sec[i].kind == SEC_LIMIT ? job->lines->sec[i].line : 0;
    if (!job->nngp.enabled)
        return nn_fail(NN_ERR_INPUT, "%s:%d: [limit] is a stage of the NNGP sweep: the job needs "
                       "an [nngp] section", file, line);
    if (lim->widths.n == 0)
        return nn_fail(NN_ERR_INPUT, "%s:%d: [limit]: widths: required (the widths of the "
                       "networks, e.g. 16, 64, 256, 1024, 4096)", file, line);
    if (lim->points > job->data.test)
        return key_fail(file, job_key_line(job, "limit", "points"), "limit", "points",
                        "value %d must be at most [data] test (%d): the kernels are compared on "
                        "the first points test inputs", lim->points, job->data.test);
    static const char *const pair[2] = {"sigma_w2", "sigma_b2"};
    for (int k = 0; k < 2; k++) {
        int set = job_key_line(job, "limit", pair[k]);
        if (set && !job_key_line(job, "limit", pair[1 - k]))
            return key_fail(file, set, "limit", pair[k], "set %s too (or neither: each depth's "
                            "model selected by test accuracy)", pair[1 - k]);
    }
    return 0;
}

/* Checks that involve several keys: noise_max >= noise, image shape keys only for synthetic
 * data, split sizes against the dataset, and [limit]'s. */
static int cross_checks(const job_t *job, const char *file)
{
    const dream_spec_t *dr = &job->dream;
    if (dr->enabled && (!dr->model[0] || !dr->layers[0]))
        return nn_fail(NN_ERR_INPUT, "%s: [dream]: %s is required (%s)", file,
                       dr->model[0] ? "layers" : "model",
                       dr->model[0] ? "layer sets, e.g. layers = relu1, relu2, relu1+relu2"
                                    : "a CNN results file or a converted model file");
    if (dr->enabled && strncmp(dr->image, "test:", 5) == 0) {
        char *end;
        long i = strtol(dr->image + 5, &end, 10);
        if (end == dr->image + 5 || *end || i < 0 || i >= job->data.test)
            return key_fail(file, job_key_line(job, "dream", "image"), "dream", "image",
                            "'%s': test:INDEX needs an index in 0..%d ([data] test)", dr->image,
                            job->data.test - 1);
    }
    if (job->limit.enabled) {
        int rc = limit_checks(job, file);
        if (rc)
            return rc;
    }
    const nngp_spec_t *n = &job->nngp;
    if (n->noise_max < n->noise) {
        int lmax = job_key_line(job, "nngp", "noise_max");
        if (lmax)
            return key_fail(file, lmax, "nngp", "noise_max", "value %.15g must be >= noise "
                            "(%.15g)", n->noise_max, n->noise);
        return key_fail(file, job_key_line(job, "nngp", "noise"), "nngp", "noise",
                        "value %.15g must be <= noise_max (%.15g, the default)", n->noise,
                        n->noise_max);
    }

    const data_spec_t *d = &job->data;
    const network_spec_t *nw = &job->network;
    if (nw->enabled && !n->enabled)
        return nn_fail(NN_ERR_INPUT, "%s: [network] is a stage of an NNGP job: add an [nngp] "
                       "section", file);
    if (nw->enabled && nw->batch_size > d->train)
        return key_fail(file, job_key_line(job, "network", "batch_size"), "network",
                        "batch_size", "value %d must be at most [data] train (%d)",
                        nw->batch_size, d->train);
    if (n->search_train > 0 && n->search_train >= d->train)
        return key_fail(file, job_key_line(job, "nngp", "search_train"), "nngp", "search_train",
                        "value %d must be less than [data] train (%d): the grid runs on the first "
                        "search_train examples, the fits on all", n->search_train, d->train);
    static const char *const shape_keys[] = {"channels", "height", "width"};
    for (int i = 0; i < 3 && d->kind != DATASET_SYNTHETIC; i++) {
        int line = job_key_line(job, "data", shape_keys[i]);
        if (line)
            return key_fail(file, line, "data", shape_keys[i], "only for dataset = synthetic (the "
                            "files of %s give the image shape)", dataset_kind_name(d->kind));
    }
    int train_pc = 0, test_pc = 0;
    dataset_class_counts(d->kind, &train_pc, &test_pc);
    long long have_train = (long long)d->nclasses * train_pc;
    long long have_test = (long long)d->nclasses * test_pc;
    const char *name = dataset_kind_name(d->kind);
    const char *key;
    if ((long long)d->train + d->validation > have_train) {
        static const char *const keys[] = {"train", "validation", "classes", "dataset", NULL};
        int line = first_written(job, "data", keys, &key);
        return key_fail(file, line, "data", key, "more examples requested than the dataset "
                        "has: train %d + validation %d = %lld, but the %d classes of %s have %lld "
                        "training examples (%d per class)", d->train, d->validation,
                        (long long)d->train + d->validation, d->nclasses, name ? name : "?",
                        have_train, train_pc);
    }
    if (d->test > have_test) {
        static const char *const keys[] = {"test", "classes", "dataset", NULL};
        int line = first_written(job, "data", keys, &key);
        return key_fail(file, line, "data", key, "more examples requested than the dataset "
                        "has: test %d, but the %d classes of %s have %lld test examples (%d per "
                        "class)", d->test, d->nclasses, name ? name : "?", have_test, test_pc);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Public functions. */

/* Builds the job from the entries: defaults, [data]/[nngp]/[limit]/[cnn]/[output] keys in file
 * order, then every variant as [cnn] with its own keys applied, then the cross-key checks. */
static int build(job_t *job, const char *file)
{
    const struct job_lines *l = job->lines;
    int rc = set_defaults(job, file);
    for (int i = 0; i < l->nsec && rc == 0; i++) {
        job->nngp.enabled |= l->sec[i].kind == SEC_NNGP;
        job->cnn.enabled |= l->sec[i].kind == SEC_CNN;
        job->limit.enabled |= l->sec[i].kind == SEC_LIMIT;
        job->network.enabled |= l->sec[i].kind == SEC_NETWORK;
        job->dream.enabled |= l->sec[i].kind == SEC_DREAM;
    }
    for (int i = 0; i < l->nent && rc == 0; i++) {
        const entry_t *en = &l->ent[i];
        const section_t *sec = &l->sec[en->section];
        void *target = sec->kind == SEC_DATA ? (void *)&job->data
                     : sec->kind == SEC_NNGP ? (void *)&job->nngp
                     : sec->kind == SEC_CNN ? (void *)&job->cnn.base
                     : sec->kind == SEC_OUTPUT ? (void *)&job->output
                     : sec->kind == SEC_LIMIT ? (void *)&job->limit
                     : sec->kind == SEC_NETWORK ? (void *)&job->network
                     : sec->kind == SEC_DREAM ? (void *)&job->dream : NULL;
        if (target)
            rc = set_key(file, find_key(section_keys(sec->kind), en->key), en, sec->name, target);
    }
    for (int s = 0; s < l->nsec && rc == 0; s++) {
        const section_t *sec = &l->sec[s];
        if (sec->kind != SEC_VARIANT)
            continue;
        if (!job->cnn.enabled)
            return nn_fail(NN_ERR_INPUT, "%s:%d: [%s] needs a [cnn] section (a variant overrides "
                           "[cnn] keys)", file, sec->line, sec->name);
        cnn_spec_t *v = &job->cnn.variants[job->cnn.nvariants++];
        *v = job->cnn.base;
        snprintf(v->name, sizeof v->name, "%s", sec->name + 8);
        for (int i = 0; i < l->nent && rc == 0; i++)
            if (l->ent[i].section == s)
                rc = set_key(file, find_key(cnn_keys, l->ent[i].key), &l->ent[i], sec->name, v);
    }
    if (rc == 0)
        rc = cross_checks(job, file);
    return rc;
}

/* Contract in job.h. On error the job is freed and zeroed; job->path is name (and messages use
 * it, shortened to its last 400 characters if longer). */
int job_parse(const char *text, const char *name, job_t *job)
{
    memset(job, 0, sizeof *job);
    if (!name)
        name = "(job)";
    if (strlen(name) >= sizeof job->path)
        return nn_fail(NN_ERR_INPUT, "%.100s...: job file path too long (at most %d characters)",
                       name, DATASET_PATH_MAX - 1);
    strcpy(job->path, name);
    if (!text)
        return nn_fail(NN_ERR_INPUT, "%s: no job text", name);
    job->text = strdup(text);
    job->lines = calloc(1, sizeof *job->lines);
    if (!job->text || !job->lines) {
        job_free(job);
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory parsing the job file", name);
    }
    char shown[420];
    const char *file = display_name(job->path, shown, sizeof shown);
    int rc = job_read_entries(job->text, file, job->lines);
    if (rc == 0)
        rc = build(job, file);
    if (rc != 0)
        job_free(job);
    return rc;
}

/* Contract in job.h: reads the whole file (at most JOB_FILE_MAX bytes, no NUL) and parses it. */
int job_load(const char *path, job_t *job)
{
    memset(job, 0, sizeof *job);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_fail(NN_ERR_INPUT, "%s: cannot read job file: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int err = 0;
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= JOB_FILE_MAX)
                break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                err = errno ? errno : EIO;
            break;
        }
    }
    int at_eof = feof(f);
    fclose(f);
    if (!buf)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory reading the job file", path);
    if (err || !at_eof) {
        free(buf);
        if (err)
            return nn_fail(NN_ERR_INPUT, "%s: cannot read job file: %s", path, strerror(err));
        return nn_fail(NN_ERR_INPUT, "%s: cannot read job file: larger than %d bytes", path,
                       JOB_FILE_MAX);
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        int line = 1;
        for (const char *q = buf; *q; q++)
            line += *q == '\n';
        free(buf);
        return nn_fail(NN_ERR_INPUT, "%s:%d: NUL byte in job file (not a text file?)", path, line);
    }
    int rc = job_parse(buf, path, job);
    free(buf);
    return rc;
}

/* Contract in job.h: 1-based line of key in section ("variant NAME" for a variant), else 0. */
int job_key_line(const job_t *job, const char *section, const char *key)
{
    const entry_t *en = job && section && key ? find_entry(job->lines, section, key) : NULL;
    return en ? en->line : 0;
}

/* Contract in job.h. Only the key types that [cnn] uses are formatted. */
const char *job_cnn_setting(const cnn_spec_t *s, int k, char *value, size_t n)
{
    if (k < 0 || k >= (int)(sizeof cnn_keys / sizeof cnn_keys[0]) - 1)
        return NULL;
    const keydef_t *kd = &cnn_keys[k];
    const char *src = (const char *)s + kd->off;
    int i;
    long long ll;
    double x;
    switch (kd->type) {
    case K_INT:
        memcpy(&i, src, sizeof i);
        snprintf(value, n, "%d", i);
        break;
    case K_LLONG:
        memcpy(&ll, src, sizeof ll);
        snprintf(value, n, "%lld", ll);
        break;
    case K_NUM:
        memcpy(&x, src, sizeof x);
        snprintf(value, n, "%.6g", x);
        break;
    case K_BOOL:
        memcpy(&i, src, sizeof i);
        snprintf(value, n, "%s", i ? "true" : "false");
        break;
    default:   /* K_STR and string K_CHOICE */
        snprintf(value, n, "%s", src);
        break;
    }
    return kd->key;
}

/* Frees the text, the grids and the line records and zeroes the job; a zeroed job is fine. */
void job_free(job_t *job)
{
    if (!job)
        return;
    free(job->text);
    grid_free(&job->nngp.depth);
    grid_free(&job->nngp.sigma_w2);
    grid_free(&job->nngp.sigma_b2);
    grid_free(&job->limit.widths);
    grid_free(&job->network.widths);
    grid_free(&job->network.seeds);
    grid_free(&job->dream.steps);
    job_lines_free(job->lines);
    memset(job, 0, sizeof *job);
}
