/* job_internal.h - private to src/config: what job_ini.c (reading the INI text) and job.c (keys,
 * values, defaults) share, and the strict number parsing grid.c provides to both. Nothing here
 * is part of the job.h contract. */
#ifndef JOB_INTERNAL_H
#define JOB_INTERNAL_H

#include <stddef.h>

typedef enum { SEC_DATA, SEC_NNGP, SEC_CNN, SEC_OUTPUT, SEC_VARIANT, SEC_LIMIT, SEC_NETWORK, SEC_DREAM } sec_kind_t;

typedef struct {
    char *name;        /* "data", "nngp", "cnn", "output", "limit", "network", "dream" or "variant NAME" (one space) */
    sec_kind_t kind;
    int line;          /* line of the header */
} section_t;

typedef struct {
    int section;       /* index into job_lines.sec */
    int line;          /* line of "key = value" */
    char *key;
    char *value;       /* continuation lines appended, each after one space */
} entry_t;

/* Where everything was written, in file order (job_t.lines). Owns every string. */
struct job_lines {
    section_t *sec;
    int nsec, capsec;
    entry_t *ent;
    int nent, capent;
};

/* Splits text into sections and entries (appended to *l, which must start zeroed), checking
 * the syntax, the section names and, through job_key_known, every key; duplicates are errors.
 * file is the name messages use. Returns 0, or NN_ERR_INPUT ("file:line: ...") / NN_ERR_NOMEM;
 * *l then holds what was read so far (free it with job_lines_free). */
int job_read_entries(const char *text, const char *file, struct job_lines *l);
/* Frees l and everything it holds; accepts NULL. */
void job_lines_free(struct job_lines *l);

/* 1 when key belongs in a section of this kind; else 0 and, if a known key is close (a typo),
 * " (did you mean KEY?)" in hint (else ""). Implemented in job.c, next to the key tables. */
int job_key_known(sec_kind_t kind, const char *key, char *hint, size_t hintlen);

/* Parses a finite double: rejects empty text, trailing junk, nan, inf and values out of the range
 * of a double (overflow or underflow). tok is one trimmed token. Returns 0, or NN_ERR_INPUT with
 * the reason in why (the caller adds "file:line: key:"). */
int job_parse_number(const char *tok, double *out, char *why, size_t whylen);

/* Parses an integer: decimal digits ("12", "-3"), or a number that is integral and at most 2^53 in
 * magnitude ("1e3", "1000.0"). Returns 0, or NN_ERR_INPUT with the reason in why. */
int job_parse_integer(const char *tok, long long *out, char *why, size_t whylen);

#endif
