/* common.c - scratch files, contract checks and quiet logging for the fuzz harnesses
 * (fuzz.h). Knows nothing of any file format. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_error.h"
#include "nn_log.h"

#define FUZZ_MAX_FILES 16

static char dir[400];                          /* this process's scratch directory */
static char names[FUZZ_MAX_FILES][64];
static char paths[FUZZ_MAX_FILES][480];
static int npaths;

/* The scratch files, and what a harness wrote in a scratch directory (report --png's figures). */
static void remove_files(void)
{
    for (int i = 0; i < npaths; i++)
        if (unlink(paths[i]) != 0) {
            DIR *d = opendir(paths[i]);
            struct dirent *e;
            char p[1024];
            while (d && (e = readdir(d)))
                if (e->d_name[0] != '.' && snprintf(p, sizeof p, "%s/%s", paths[i],
                                                    e->d_name) < (int)sizeof p)
                    unlink(p);
            if (d)
                closedir(d);
            rmdir(paths[i]);
        }
    rmdir(dir);
}

const char *fuzz_path(const char *name)
{
    for (int i = 0; i < npaths; i++)
        if (strcmp(names[i], name) == 0)
            return paths[i];
    if (npaths == FUZZ_MAX_FILES || strchr(name, '/') || strlen(name) >= sizeof names[0])
        abort();   /* a harness bug: a few fixed names per harness */
    if (npaths == 0) {
        const char *top = getenv("NNSWEEP_FUZZ_DIR");
        if (!top || !*top)
            top = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/nnsweep-fuzz.%ld", top, (long)getpid());
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            perror(dir);
            abort();
        }
        atexit(remove_files);
    }
    snprintf(names[npaths], sizeof names[npaths], "%s", name);
    snprintf(paths[npaths], sizeof paths[npaths], "%s/%s", dir, name);
    return paths[npaths++];
}

const char *fuzz_file(const char *name, const void *data, size_t n)
{
    const char *path = fuzz_path(name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

void fuzz_check(int cond, const char *what, const char *file, int line)
{
    if (cond)
        return;
    fprintf(stderr, "%s:%d: fuzz contract: %s (last nnsweep message: %s)\n", file, line, what,
            nn_errmsg());
    abort();
}

void fuzz_quiet(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    log_set_quiet(1);
}
