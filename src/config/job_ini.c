/* job_ini.c - the INI layer of job files: our reader feeds inih one physical line per call, so
 * every entry knows its line; sections, comments and indented continuation lines are classified
 * here, inih splits "key = value ; comment". What inih sees is normalised: blank for comments,
 * blank lines and continuation lines (appended to the previous value here), "[s]" for a section
 * header (parsed here: inih truncates long names and reports no empty section), key lines without
 * their indentation. Knows section names and, through job_key_known(), key names; no values. */
#include "job.h"
#include "job_internal.h"
#include "nn_error.h"

#include <ctype.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *file;          /* name used in messages */
    const char *p, *end;       /* unread text */
    int lineno;                /* line last handed to inih (1-based) */
    int can_continue;          /* an indented line now continues the last value (as in inih) */
    int cur;                   /* current section (index), -1 before the first header */
    int status;                /* first error; reading stops there */
    struct job_lines *l;
} reader_t;

static int reader_nomem(reader_t *r)
{
    if (!r->status)
        r->status = nn_fail(NN_ERR_NOMEM, "%s: out of memory parsing the job file", r->file);
    return r->status;
}

/* Grows an array of elements of size sz to hold one more; returns 0 or -1. */
static int grow(void **arr, int *cap, int n, size_t sz)
{
    if (n < *cap)
        return 0;
    int nc = *cap ? 2 * *cap : 16;
    void *p = realloc(*arr, (size_t)nc * sz);
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static char *dup_range(const char *b, const char *e)
{
    char *s = malloc((size_t)(e - b) + 1);
    if (s) {
        memcpy(s, b, (size_t)(e - b));
        s[e - b] = '\0';
    }
    return s;
}

/* End of the text before an inline comment (";" after whitespace, inih's rule), blanks cut. */
static const char *cut_comment(const char *b, const char *e)
{
    for (const char *q = b + 1; q < e; q++)
        if (*q == ';' && isspace((unsigned char)q[-1])) {
            e = q;
            break;
        }
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    return e;
}

static int valid_variant_name(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

/* The name of a "[name]" line from s (at '[') to e (end, trailing blanks cut), blanks around it
 * cut, in *nb..*ne. Returns 0, or -1 with r->status set (no ']', text after it). */
static int header_name(reader_t *r, const char *s, const char *e, const char **nb,
                       const char **ne)
{
    const char *close = memchr(s, ']', (size_t)(e - s));
    if (!close) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: malformed section header: no closing ']'",
                            r->file, r->lineno);
        return -1;
    }
    const char *after = close + 1;
    while (after < e && isspace((unsigned char)*after))
        after++;
    if (after < e && *after != ';' && *after != '#') {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: unexpected text after section header: '%.*s'",
                            r->file, r->lineno, (int)(e - after), after);
        return -1;
    }
    *nb = s + 1;
    *ne = close;
    while (*nb < *ne && isspace((unsigned char)**nb))
        (*nb)++;
    while (*ne > *nb && isspace((unsigned char)(*ne)[-1]))
        (*ne)--;
    return 0;
}

/* Is nb..ne "variant" alone or followed by blanks? */
static int is_variant_header(const char *nb, const char *ne)
{
    size_t len = (size_t)(ne - nb);
    return len >= 7 && memcmp(nb, "variant", 7) == 0 && (len == 7 || isspace((unsigned char)nb[7]));
}

/* The section name "variant NAME" of a [variant NAME] header (nb..ne), checked: a name, not too
 * long, allowed characters, not "base", not one variant too many. Returns it (malloc'd), or NULL
 * with r->status set. */
static char *variant_section(reader_t *r, const char *nb, const char *ne)
{
    const char *vb = nb + 7;
    while (vb < ne && isspace((unsigned char)*vb))
        vb++;
    int vlen = (int)(ne - vb);
    char vname[JOB_NAME_MAX];
    if (vlen == 0) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: [variant] needs a name: [variant NAME]",
                            r->file, r->lineno);
        return NULL;
    }
    if (vlen > JOB_NAME_MAX - 1) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: variant name '%.*s' is too long (at most %d "
                            "characters)", r->file, r->lineno, vlen, vb, JOB_NAME_MAX - 1);
        return NULL;
    }
    memcpy(vname, vb, (size_t)vlen);
    vname[vlen] = '\0';
    if (!valid_variant_name(vname)) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: variant name '%s': use letters, digits, "
                            "'-', '_' and '.' only", r->file, r->lineno, vname);
        return NULL;
    }
    if (strcmp(vname, "base") == 0) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: variant name 'base' is reserved for [cnn] "
                            "itself", r->file, r->lineno);
        return NULL;
    }
    int nvar = 0;
    for (int i = 0; i < r->l->nsec; i++)
        nvar += r->l->sec[i].kind == SEC_VARIANT;
    if (nvar == JOB_MAX_VARIANTS) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: too many variants (at most %d)", r->file,
                            r->lineno, JOB_MAX_VARIANTS);
        return NULL;
    }
    char *name = malloc(8 + (size_t)vlen + 1);
    if (!name)
        reader_nomem(r);
    else
        snprintf(name, 8 + (size_t)vlen + 1, "variant %s", vname);
    return name;
}

/* Records section name (taken over: kept or freed) of the given kind at the current line as the
 * current section, unless a section of that name came before (r->status set). */
static void section_add(reader_t *r, char *name, sec_kind_t kind)
{
    for (int i = 0; i < r->l->nsec; i++)
        if (strcmp(r->l->sec[i].name, name) == 0) {
            r->status = nn_fail(NN_ERR_INPUT, "%s:%d: duplicate section [%s] (first at line %d)",
                                r->file, r->lineno, name, r->l->sec[i].line);
            free(name);
            return;
        }
    if (grow((void **)&r->l->sec, &r->l->capsec, r->l->nsec, sizeof *r->l->sec) != 0) {
        free(name);
        reader_nomem(r);
        return;
    }
    r->l->sec[r->l->nsec] = (section_t){name, kind, r->lineno};
    r->cur = r->l->nsec++;
}

/* "[name]" line from s (at '[') to e (end, trailing blanks cut). Records the section. */
static void section_header(reader_t *r, const char *s, const char *e)
{
    static const struct { const char *name; sec_kind_t kind; } known[] = {
        {"data", SEC_DATA}, {"nngp", SEC_NNGP}, {"cnn", SEC_CNN}, {"output", SEC_OUTPUT},
        {"limit", SEC_LIMIT},
        {"network", SEC_NETWORK}, {"dream", SEC_DREAM}};
    const char *nb, *ne;
    if (header_name(r, s, e, &nb, &ne) != 0)
        return;
    size_t len = (size_t)(ne - nb);
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (len == strlen(known[k].name) && memcmp(nb, known[k].name, len) == 0) {
            char *name = dup_range(nb, ne);
            if (name)
                section_add(r, name, known[k].kind);
            else
                reader_nomem(r);
            return;
        }
    if (is_variant_header(nb, ne)) {
        char *name = variant_section(r, nb, ne);
        if (name)
            section_add(r, name, SEC_VARIANT);
        return;
    }
    r->status = nn_fail(NN_ERR_INPUT, "%s:%d: unknown section [%.*s] (sections: [data], "
                        "[nngp], [limit], [network], [cnn], [variant NAME], [dream], [output])", r->file, r->lineno, (int)len,
                        nb);
}

/* An indented line after "key = value": appended to the value with one space (Python's
 * configparser continuation, as inih does), unless it reads like a key of its own. */
static void continuation(reader_t *r, const char *s, const char *e)
{
    if (r->l->nent == 0 || r->l->ent[r->l->nent - 1].section != r->cur) {
        /* only if inih skipped the key line before (a build with other comment prefixes) */
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: syntax error: indented line continues no key",
                            r->file, r->lineno);
        return;
    }
    entry_t *last = &r->l->ent[r->l->nent - 1];
    e = cut_comment(s, e);
    const char *q = s;
    while (q < e && (isalnum((unsigned char)*q) || *q == '_'))
        q++;
    const char *k = q;
    while (k < e && isspace((unsigned char)*k))
        k++;
    if (q > s && !isdigit((unsigned char)*s) && k < e && (*k == '=' || *k == ':')) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: %.*s: this indented line would continue the "
                            "value of %s (line %d); remove the indentation to set a key",
                            r->file, r->lineno, (int)(q - s), s, last->key, last->line);
        return;
    }
    size_t old = strlen(last->value), add = (size_t)(e - s);
    char *v = realloc(last->value, old + 1 + add + 1);
    if (!v) {
        reader_nomem(r);
        return;
    }
    if (old)
        v[old++] = ' ';
    memcpy(v + old, s, add);
    v[old + add] = '\0';
    last->value = v;
}

/* inih's reader (fgets-like): the next physical line, normalised as said at the top, in buf of
 * num bytes; NULL at the end of the text or after the first error. */
static char *job_reader(char *buf, int num, void *stream)
{
    reader_t *r = stream;
    if (r->status || r->p >= r->end || num < 8)
        return NULL;
    const char *b = r->p;
    const char *nl = memchr(b, '\n', (size_t)(r->end - b));
    const char *e = nl ? nl : r->end;
    r->p = nl ? nl + 1 : r->end;
    r->lineno++;
    if (r->lineno == 1 && e - b >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
        b += 3;   /* UTF-8 byte order mark */
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    const char *s = b;
    while (s < e && isspace((unsigned char)*s))
        s++;
    const char *out = "";
    size_t outlen = 0;
    if (s == e || *s == ';' || *s == '#') {
        /* blank line or comment: changes nothing (a value may continue after it, as in inih) */
    } else if (*s == '[') {
        section_header(r, s, e);
        r->can_continue = 0;
        out = "[s]";
        outlen = 3;
    } else if (s > b && r->can_continue) {
        continuation(r, s, e);
    } else {
        const char *q = s;   /* inih needs '=' or ':' before any inline comment */
        while (q < e && *q != '=' && *q != ':' && !(*q == ';' && isspace((unsigned char)q[-1])))
            q++;
        if (q == e || *q == ';') {
            r->status = nn_fail(NN_ERR_INPUT, "%s:%d: syntax error: '%.*s' is not 'key = value', "
                                "'[section]' or a comment", r->file, r->lineno, (int)(e - s), s);
        } else if ((size_t)(e - s) + 2 > (size_t)num) {
            while (q > s && isspace((unsigned char)q[-1]))
                q--;
            r->status = nn_fail(NN_ERR_INPUT, "%s:%d: %.*s: line too long for the INI parser (%d "
                                "characters, at most %d): continue the value on indented lines",
                                r->file, r->lineno, (int)(q - s), s, (int)(e - s), num - 2);
        }
        out = s;
        outlen = (size_t)(e - s);
        r->can_continue = 1;
    }
    if (r->status)
        return NULL;
    memcpy(buf, out, outlen);
    buf[outlen] = '\n';
    buf[outlen + 1] = '\0';
    return buf;
}

/* inih's callback: one "key = value" on line r->lineno of section r->cur (inih's own section
 * name is not used). Unknown and duplicate keys are caught here, in file order. */
#if INI_HANDLER_LINENO
static int job_handler(void *user, const char *section, const char *name, const char *value,
                       int lineno)
#else
static int job_handler(void *user, const char *section, const char *name, const char *value)
#endif
{
    (void)section;
#if INI_HANDLER_LINENO
    (void)lineno;   /* ours counts the same lines */
#endif
    reader_t *r = user;
    struct job_lines *l = r->l;
    if (r->status)
        return 1;
    if (!name[0]) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: syntax error: no key before '='", r->file,
                            r->lineno);
        return 1;
    }
    if (r->cur < 0) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: %s: key outside any section (put it under "
                            "[data], [nngp], [limit], [network], [cnn], [variant NAME], [dream] "
                            "or [output])", r->file, r->lineno, name);
        return 1;
    }
    const section_t *sec = &l->sec[r->cur];
    char hint[96];
    if (!job_key_known(sec->kind, name, hint, sizeof hint)) {
        r->status = nn_fail(NN_ERR_INPUT, "%s:%d: %s: unknown key in [%s]%s", r->file, r->lineno,
                            name, sec->name, hint);
        return 1;
    }
    for (int i = 0; i < l->nent; i++)
        if (l->ent[i].section == r->cur && strcmp(l->ent[i].key, name) == 0) {
            r->status = nn_fail(NN_ERR_INPUT, "%s:%d: %s: duplicate key in [%s] (first set at line "
                                "%d)", r->file, r->lineno, name, sec->name, l->ent[i].line);
            return 1;
        }
    if (grow((void **)&l->ent, &l->capent, l->nent, sizeof *l->ent) != 0) {
        reader_nomem(r);
        return 1;
    }
    entry_t *en = &l->ent[l->nent];
    en->section = r->cur;
    en->line = r->lineno;
    en->key = strdup(name);
    en->value = strdup(value);
    if (!en->key || !en->value) {
        free(en->key);
        free(en->value);
        reader_nomem(r);
        return 1;
    }
    l->nent++;
    return 1;
}

/* Contract in job_internal.h: text -> sections and entries, first error in file order. */
int job_read_entries(const char *text, const char *file, struct job_lines *l)
{
    reader_t r = {.file = file, .p = text, .end = text + strlen(text), .cur = -1, .l = l};
    int irc = ini_parse_stream(job_reader, &r, job_handler, &r);
    if (r.status)
        return r.status;
    if (irc == -2)
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory parsing the job file", file);
    if (irc != 0)   /* the reader hands inih only lines it has checked: not expected */
        return nn_fail(NN_ERR_INPUT, "%s:%d: syntax error", file, irc);
    return 0;
}

/* Frees the entries, the sections and l itself; NULL is fine. */
void job_lines_free(struct job_lines *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->nsec; i++)
        free(l->sec[i].name);
    for (int i = 0; i < l->nent; i++) {
        free(l->ent[i].key);
        free(l->ent[i].value);
    }
    free(l->sec);
    free(l->ent);
    free(l);
}
