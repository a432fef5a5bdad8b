/* provenance.c - how this binary was built (version, commit, compiler, flags: from -D definitions
 * the Makefile passes to this file alone) and the root attributes recording how a run was made.
 * Gathering hostnames across ranks is the driver's job; this file only writes what it is given. */
#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h5io_internal.h"
#include "nn_error.h"
#include "nn_threads.h"

#ifndef NNSWEEP_VERSION
#define NNSWEEP_VERSION "unknown"
#endif
#ifndef NNSWEEP_COMMIT
#define NNSWEEP_COMMIT "unknown"
#endif
#ifndef NNSWEEP_CC
#define NNSWEEP_CC "unknown"
#endif
#ifndef NNSWEEP_CFLAGS
#define NNSWEEP_CFLAGS "unknown"
#endif

const char *provenance_version(void) { return NNSWEEP_VERSION; }

const char *provenance_commit(void) { return NNSWEEP_COMMIT; }

const char *provenance_cflags(void) { return NNSWEEP_CFLAGS; }

/* "<compiler> <version>", plus the driver in parentheses when the build used a wrapper such as
 * mpicc: e.g. "gcc 12.2.0 (mpicc)". */
const char *provenance_compiler(void)
{
    static char buf[256];
    if (buf[0])
        return buf;
#if defined(__clang__)
    const char *name = "clang", *version = __clang_version__;
#elif defined(__GNUC__)
    const char *name = "gcc", *version = __VERSION__;
#elif defined(__VERSION__)
    const char *name = "cc", *version = __VERSION__;
#else
    const char *name = "cc", *version = "unknown";
#endif
    char v[128];
    snprintf(v, sizeof v, "%s", version);
    for (size_t n = strlen(v); n > 0 && v[n - 1] == ' '; n--)   /* __clang_version__ ends in " " */
        v[n - 1] = '\0';
    const char *cc = NNSWEEP_CC, *base = strrchr(cc, '/');
    base = base ? base + 1 : cc;
    if (strcmp(base, name) == 0 || strcmp(base, "cc") == 0 || strcmp(base, "unknown") == 0)
        snprintf(buf, sizeof buf, "%s %s", name, v);
    else
        snprintf(buf, sizeof buf, "%s %s (%s)", name, v, base);
    return buf;
}

char *provenance_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    if (len == 0)
        return buf;
    if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        buf[0] = '\0';
    return buf;
}

int provenance_write(h5file_t *f, const provenance_t *p)
{
    if (!f || !p)
        return nn_fail(NN_ERR_RUNTIME, "provenance_write: no file or no provenance");
    unsigned maj = 0, min = 0, rel = 0;
    char hdf5[64];
    H5get_libversion(&maj, &min, &rel);
    snprintf(hdf5, sizeof hdf5, "%u.%u.%u", maj, min, rel);
    const char *slurm = getenv("SLURM_JOB_ID");
    const struct {
        const char *name, *value;
    } strs[] = {
        {"program", "nnsweep"},
        {"version", provenance_version()},
        {"git_commit", provenance_commit()},
        {"compiler", provenance_compiler()},
        {"cflags", provenance_cflags()},
        {"hdf5_version", hdf5},
        {"command_line", p->command_line},
        {"job_file", p->job_path},
        {"job_text", p->job_text},
        {"process_grid", p->process_grid},
        {"hostnames", p->hostnames},
        {"slurm_job_id", slurm},
        {"start_time", p->start_time},
        {"end_time", p->end_time},
        {"state", p->state},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        int rc = h5_write_attr_str(f, "/", strs[i].name, strs[i].value ? strs[i].value : "");
        if (rc)
            return rc;
    }
    int rc = h5_write_attr_int(f, "/", "mpi_size", p->mpi_size);
    if (rc == 0)
        rc = h5_write_attr_int(f, "/", "group_size", p->group_size);
    /* the thread layout of rank 0 (nn_threads.h): how the cores were used */
    const threads_layout_t *l = threads_layout();
    char layout[512];
    threads_describe(l, layout, sizeof layout);
    if (rc == 0)
        rc = h5_write_attr_int(f, "/", "threads_per_rank", l->threads);
    if (rc == 0)
        rc = h5_write_attr_int(f, "/", "cores_per_rank", l->cores);
    if (rc == 0)
        rc = h5_write_attr_str(f, "/", "thread_layout", layout);
    if (rc == 0)
        rc = h5_write_attr_str(f, "/", "blas", threads_blas_name());
    return rc;
}
