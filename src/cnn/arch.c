/* arch.c - the layers string: tokens, arguments, shape inference from the input image and the
 * layout of the parameter and buffer blocks. Every error names the layer (position and text) and
 * the shapes at fault. Precision-free: no tensors are touched here. */
#include "cnn.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"

#define MAX_ARGS 4
#define SIZE_CAP ((size_t)1 << 31)   /* per-example sizes and offsets stay below 2^31 */

typedef struct {
    int npos;                 /* positional arguments, as text */
    char pos[MAX_ARGS][32];
    int nkey;                 /* key=value arguments */
    char key[MAX_ARGS][16], val[MAX_ARGS][32];
} args_t;

static const struct {
    const char *name;
    cnn_kind_t kind;
    const char *usage;
} kinds[] = {
    {"conv", CNN_CONV, "conv(C,K[,stride=S][,pad=P])"},
    {"maxpool", CNN_MAXPOOL, "maxpool(K[,stride=S])"},
    {"avgpool", CNN_AVGPOOL, "avgpool(K[,stride=S])"},
    {"relu", CNN_RELU, "relu"},
    {"tanh", CNN_TANH, "tanh"},
    {"bn", CNN_BN, "bn"},
    {"dropout", CNN_DROPOUT, "dropout(p)"},
    {"flatten", CNN_FLATTEN, "flatten"},
    {"dense", CNN_DENSE, "dense(N)"},
};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };

static void trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    while (isspace((unsigned char)s[i]))
        i++;
    memmove(s, s + i, n - i + 1);
}

/* Splits "a, b, key=v" (the text between the parentheses) into args; -1 if malformed. */
static int split_args(const char *text, size_t len, args_t *a)
{
    memset(a, 0, sizeof *a);
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && text[j] != ',')
            j++;
        char item[64];
        if (j - i >= sizeof item)
            return -1;
        memcpy(item, text + i, j - i);
        item[j - i] = 0;
        trim(item);
        if (!*item)
            return -1;
        char *eq = strchr(item, '=');
        if (eq) {
            if (a->nkey == MAX_ARGS)
                return -1;
            *eq = 0;
            trim(item);
            trim(eq + 1);
            if (strlen(item) >= sizeof a->key[0] || strlen(eq + 1) >= sizeof a->val[0])
                return -1;
            strcpy(a->key[a->nkey], item);
            strcpy(a->val[a->nkey++], eq + 1);
        } else {
            if (a->npos == MAX_ARGS || a->nkey > 0)   /* positional arguments come first */
                return -1;
            if (strlen(item) >= sizeof a->pos[0])
                return -1;
            strcpy(a->pos[a->npos++], item);
        }
        i = j + 1;
    }
    return 0;
}

/* Integer in [lo, hi] with nothing after it; -1 otherwise. */
static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int layer_err(const cnn_layer_t *L, const char *why)
{
    return nn_fail(NN_ERR_INPUT, "layer %d %s: %s", L->pos, L->text, why);
}

/* Reads the arguments of one token into L (kind already set). */
static int set_args(cnn_layer_t *L, const args_t *a, int has_parens, const char *usage)
{
    char why[160];
    int npos_want = L->kind == CNN_CONV ? 2
                    : (L->kind == CNN_MAXPOOL || L->kind == CNN_AVGPOOL || L->kind == CNN_DROPOUT
                       || L->kind == CNN_DENSE) ? 1 : 0;
    if (npos_want == 0) {
        if (has_parens) {
            snprintf(why, sizeof why, "takes no arguments: write %s", usage);
            return layer_err(L, why);
        }
        return 0;
    }
    if (!has_parens || a->npos != npos_want) {
        snprintf(why, sizeof why, "expects %s", usage);
        return layer_err(L, why);
    }
    switch (L->kind) {
    case CNN_CONV:
        if (parse_int(a->pos[0], 1, 1 << 20, &L->n))
            return layer_err(L, "output channels must be an integer in 1..1048576");
        if (parse_int(a->pos[1], 1, 1024, &L->k))
            return layer_err(L, "kernel size must be an integer in 1..1024");
        L->stride = 1;
        L->pad = 0;
        break;
    case CNN_MAXPOOL:
    case CNN_AVGPOOL:
        if (parse_int(a->pos[0], 1, 1024, &L->k))
            return layer_err(L, "window size must be an integer in 1..1024");
        L->stride = L->k;
        break;
    case CNN_DROPOUT: {
        char *end;
        errno = 0;
        double p = strtod(a->pos[0], &end);
        if (errno || end == a->pos[0] || *end || !(p >= 0 && p < 1))
            return layer_err(L, "the probability must be a number in [0, 1)");
        L->p = p;
        break;
    }
    case CNN_DENSE:
        if (parse_int(a->pos[0], 1, 1 << 24, &L->n))
            return layer_err(L, "units must be an integer in 1..16777216");
        break;
    default:
        break;
    }
    for (int i = 0; i < a->nkey; i++) {
        int ok_stride = L->kind == CNN_CONV || L->kind == CNN_MAXPOOL || L->kind == CNN_AVGPOOL;
        if (ok_stride && !strcmp(a->key[i], "stride")) {
            if (parse_int(a->val[i], 1, 1024, &L->stride))
                return layer_err(L, "stride must be an integer in 1..1024");
        } else if (L->kind == CNN_CONV && !strcmp(a->key[i], "pad")) {
            if (parse_int(a->val[i], 0, 1024, &L->pad))
                return layer_err(L, "pad must be an integer in 0..1024");
        } else {
            snprintf(why, sizeof why, "unknown option '%s': expects %s", a->key[i], usage);
            return layer_err(L, why);
        }
    }
    return 0;
}

static void shape_str(char *buf, size_t len, int c, int h, int w, int flat)
{
    if (flat)
        snprintf(buf, len, "a flat input of %d values", c);
    else
        snprintf(buf, len, "(%d,%d,%d)", c, h, w);
}

/* Output shape of L from its input shape (already in L); parameter and buffer offsets. */
static int infer(cnn_layer_t *L, size_t *nparams, size_t *nbuffers)
{
    char why[200], shape[64];
    shape_str(shape, sizeof shape, L->in_c, L->in_h, L->in_w, L->in_flat);
    L->out_c = L->in_c;
    L->out_h = L->in_h;
    L->out_w = L->in_w;
    L->out_flat = L->in_flat;
    switch (L->kind) {
    case CNN_CONV:
    case CNN_MAXPOOL:
    case CNN_AVGPOOL: {
        if (L->in_flat) {
            snprintf(why, sizeof why, "expects an image input (C,H,W), got %s", shape);
            return layer_err(L, why);
        }
        int p = L->kind == CNN_CONV ? L->pad : 0;
        if (L->in_h + 2 * p < L->k || L->in_w + 2 * p < L->k) {
            if (L->kind == CNN_CONV && p > 0)
                snprintf(why, sizeof why,
                         "input %dx%d (padded to %dx%d) is smaller than the %dx%d kernel",
                         L->in_h, L->in_w, L->in_h + 2 * p, L->in_w + 2 * p, L->k, L->k);
            else
                snprintf(why, sizeof why, "input %dx%d is smaller than the %s (%dx%d)", L->in_h,
                         L->in_w, L->kind == CNN_CONV ? "kernel" : "window", L->k, L->k);
            return layer_err(L, why);
        }
        L->out_h = (L->in_h + 2 * p - L->k) / L->stride + 1;
        L->out_w = (L->in_w + 2 * p - L->k) / L->stride + 1;
        if (L->kind == CNN_CONV) {
            L->out_c = L->n;
            L->fan_in = L->in_c * L->k * L->k;
            L->fan_out = L->n * L->k * L->k;
            L->nw = (size_t)L->n * L->fan_in;
            L->nb = (size_t)L->n;
        }
        break;
    }
    case CNN_DENSE:
        if (!L->in_flat) {
            snprintf(why, sizeof why, "expects a flat input, got %s: add flatten", shape);
            return layer_err(L, why);
        }
        L->out_c = L->n;
        L->fan_in = L->in_c;
        L->fan_out = L->n;
        L->nw = (size_t)L->n * (size_t)L->in_c;
        L->nb = (size_t)L->n;
        break;
    case CNN_FLATTEN:
        L->out_c = (int)((size_t)L->in_c * L->in_h * L->in_w);
        L->out_h = L->out_w = 1;
        L->out_flat = 1;
        break;
    case CNN_BN:
        L->nw = L->nb = (size_t)L->in_c;
        L->nbuf = 2 * (size_t)L->in_c;
        break;
    default:
        break;
    }
    L->in_size = (size_t)L->in_c * L->in_h * L->in_w;
    L->out_size = (size_t)L->out_c * L->out_h * L->out_w;
    if (L->out_size >= SIZE_CAP || L->nw >= SIZE_CAP)
        return layer_err(L, "the layer is too large (2^31 values or more per example)");
    L->w_off = *nparams;
    L->b_off = L->w_off + L->nw;
    *nparams += L->nw + L->nb;
    L->buf_off = *nbuffers;
    *nbuffers += L->nbuf;
    if (*nparams >= SIZE_CAP)
        return layer_err(L, "the net has 2^31 parameters or more");
    return 0;
}

/* Upper bound on the layers of spec: one per run of non-space characters. */
static int count_tokens(const char *spec)
{
    int n = 0;
    for (const char *s = spec; *s; s++)
        n += !isspace((unsigned char)*s) && (s == spec || isspace((unsigned char)s[-1]));
    return n;
}

/* Reads the token at *sp (not a blank) into L (pos set): its text, kind and arguments, and
 * moves *sp past it. Returns 0 or the layer_err status. */
static int read_layer(const char **sp, cnn_layer_t *L)
{
    const char *s = *sp, *start = s;
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    size_t namelen = (size_t)(s - start);
    const char *open = NULL, *close = NULL;
    if (*s == '(') {
        open = s;
        close = strchr(s, ')');
        s = close ? close + 1 : s + strlen(s);
    }
    *sp = s;
    const char *end = s;
    while (*end && !isspace((unsigned char)*end))   /* junk glued to the token */
        end++;
    size_t tl = (size_t)(end - start);
    snprintf(L->text, sizeof L->text, "%.*s", (int)(tl < CNN_TEXT_MAX ? tl : CNN_TEXT_MAX - 1),
             start);
    if (open && !close)
        return layer_err(L, "missing ')'");
    if (end != s || namelen == 0)
        return layer_err(L, "cannot read this token: layers are separated by spaces, e.g. "
                            "conv(32,3,pad=1) relu maxpool(2) flatten dense(10)");
    int k = 0;
    while (k < NKINDS && !(strlen(kinds[k].name) == namelen
                           && !strncmp(kinds[k].name, start, namelen)))
        k++;
    if (k == NKINDS)
        return layer_err(L, "unknown layer: expected conv, maxpool, avgpool, relu, tanh, bn, "
                            "dropout, flatten or dense");
    L->kind = kinds[k].kind;
    args_t a;
    memset(&a, 0, sizeof a);
    if (open && split_args(open + 1, (size_t)(close - open - 1), &a)) {
        char why[120];
        snprintf(why, sizeof why, "cannot read the arguments: expects %s", kinds[k].usage);
        return layer_err(L, why);
    }
    return set_args(L, &a, open != NULL, kinds[k].usage);
}

/* Appends L (= &arch->layers[arch->nlayers], read by read_layer) to arch: its input is the
 * output of the layer before (the image for the first), its shapes and offsets are inferred.
 * Returns 0 or infer's status. */
static int chain_layer(cnn_arch_t *arch, cnn_layer_t *L)
{
    const cnn_layer_t *prev = arch->nlayers > 0 ? L - 1 : NULL;
    L->in_c = prev ? prev->out_c : arch->in_c;
    L->in_h = prev ? prev->out_h : arch->in_h;
    L->in_w = prev ? prev->out_w : arch->in_w;
    L->in_flat = prev ? prev->out_flat : 0;
    int rc = infer(L, &arch->nparams, &arch->nbuffers);
    if (rc)
        return rc;
    if (L->in_size > arch->max_out_size)
        arch->max_out_size = L->in_size;
    if (L->out_size > arch->max_out_size)
        arch->max_out_size = L->out_size;
    arch->nlayers++;
    return 0;
}

int cnn_arch_parse(const char *spec, int c, int h, int w, cnn_arch_t *arch)
{
    return cnn_arch_parse_upto(spec, c, h, w, 0, arch);
}

int cnn_arch_parse_upto(const char *spec, int c, int h, int w, int nlayers, cnn_arch_t *arch)
{
    memset(arch, 0, sizeof *arch);
    if (!spec)
        spec = "";
    if (c < 1 || h < 1 || w < 1)
        return nn_fail(NN_ERR_INPUT, "layers: the input shape (%d,%d,%d) is not positive", c, h,
                       w);
    arch->in_c = c;
    arch->in_h = h;
    arch->in_w = w;
    int cap = count_tokens(spec);
    if (cap == 0)
        return nn_fail(NN_ERR_INPUT, "layers: no layers given");
    arch->layers = calloc((size_t)cap, sizeof *arch->layers);
    if (!arch->layers)
        return nn_fail(NN_ERR_NOMEM, "layers: out of memory");
    int rc = 0;
    const char *s = spec;
    while (rc == 0 && (nlayers <= 0 || arch->nlayers < nlayers)) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        cnn_layer_t *L = &arch->layers[arch->nlayers];
        L->pos = arch->nlayers + 1;
        rc = read_layer(&s, L);
        if (!rc)
            rc = chain_layer(arch, L);
    }
    if (rc) {
        cnn_arch_free(arch);
        return rc;
    }
    return 0;
}

void cnn_arch_free(cnn_arch_t *arch)
{
    if (!arch)
        return;
    free(arch->layers);
    memset(arch, 0, sizeof *arch);
}

double cnn_arch_mb(const cnn_arch_t *arch)
{
    return (double)(arch->nparams + arch->nbuffers) * sizeof(float) / (1024.0 * 1024.0);
}

int cnn_arch_summary(const cnn_arch_t *arch, char *buf, size_t len)
{
    size_t used = 0;
    char shape[64];
#define OUT(...)                                                                                   \
    do {                                                                                           \
        int n_ = snprintf(buf + (used < len ? used : len), used < len ? len - used : 0,           \
                          __VA_ARGS__);                                                            \
        used += n_ > 0 ? (size_t)n_ : 0;                                                           \
    } while (0)
    if (len)
        buf[0] = 0;
    OUT("%-5s %-28s %-16s %12s\n", "layer", "spec", "output", "parameters");
    snprintf(shape, sizeof shape, "(%d,%d,%d)", arch->in_c, arch->in_h, arch->in_w);
    OUT("%-5s %-28s %-16s %12d\n", "", "input", shape, 0);
    for (int i = 0; i < arch->nlayers; i++) {
        const cnn_layer_t *L = &arch->layers[i];
        if (L->out_flat)
            snprintf(shape, sizeof shape, "(%d)", L->out_c);
        else
            snprintf(shape, sizeof shape, "(%d,%d,%d)", L->out_c, L->out_h, L->out_w);
        OUT("%-5d %-28s %-16s %12zu\n", L->pos, L->text, shape, L->nw + L->nb);
    }
    OUT("total %zu parameters, %zu buffer values, %.3f MB (float32)\n", arch->nparams,
        arch->nbuffers, cnn_arch_mb(arch));
#undef OUT
    return used > INT_MAX ? INT_MAX : (int)used;
}

size_t cnn_conv_col_size(const cnn_layer_t *L)
{
    return (size_t)L->in_c * L->k * L->k * L->out_h * L->out_w;
}
