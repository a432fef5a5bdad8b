/* run_lock.c - PATH.lock (run_lock.h): created with O_EXCL, so of two runs starting together one
 * wins; read back to name the holder, and taken over only when its run is provably gone. */
#include "run_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "h5io_internal.h"
#include "nn_error.h"
#include "nn_log.h"

struct run_lock {
    char *path;
};

/* The holder a lock file names. */
typedef struct {
    char host[256], slurm_job[64], start[64];
    long pid;
} holder_t;

static void this_host(char *host, size_t n)
{
    if (gethostname(host, n) != 0)
        snprintf(host, n, "?");
    host[n - 1] = '\0';
}

/* Reads a lock file into *h; 0, or -1 if it cannot be read or parsed. */
static int read_holder(const char *lock_path, holder_t *h)
{
    memset(h, 0, sizeof *h);
    FILE *f = fopen(lock_path, "r");
    if (!f)
        return -1;
    char line[512];
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        got |= sscanf(line, "host=%255s", h->host) == 1;
        got |= (sscanf(line, "pid=%ld", &h->pid) == 1) << 1;
        if (!strncmp(line, "slurm_job_id=", 13))
            snprintf(h->slurm_job, sizeof h->slurm_job, "%.63s", line + 13);
        if (!strncmp(line, "start=", 6))
            snprintf(h->start, sizeof h->start, "%.63s", line + 6);
    }
    fclose(f);
    return got == 3 ? 0 : -1;
}

/* 1 if process pid of this host is still an nnsweep run: it exists (kill 0), is not a zombie
 * (killed, not yet reaped: an orphan of a killed mpirun may stay one), and its command line names
 * nnsweep (else the pid was reused). Without /proc, existence alone decides. */
static int process_alive(long pid)
{
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
        return 0;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');   /* "pid (comm) S ...": the state after the name */
    if (paren && (paren[2] == 'Z' || paren[2] == 'X'))
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    if (!(f = fopen(path, "r")))
        return 1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)   /* the arguments are NUL-separated */
        buf[i] = buf[i] ? buf[i] : ' ';
    buf[n] = '\0';
    return strstr(buf, "nnsweep") != NULL;
}

/* Asks SLURM whether job `job` (digits only) still runs, with `squeue -h -j JOB -o %T
 * --states=all`. Returns 1 when it does not: a state in which none of its processes runs
 * (pending again after a requeue, or ended: COMPLETED, NODE_FAIL, ...), no line, or
 * "Invalid job id" (ended long ago and forgotten). Returns 0 when it may still run (RUNNING,
 * COMPLETING, SUSPENDED, any state not known here), -1 when SLURM cannot be asked (no squeue,
 * no controller, not a job id). why (n bytes) gets SLURM's answer or the reason it was not had. */
static int slurm_job_gone(const char *job, char *why, size_t n)
{
    static const char *const no_process[] = {
        "PENDING", "COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
        "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "REQUEUE_HOLD", "SPECIAL_EXIT", "REVOKED"};
    if (!job[0] || strspn(job, "0123456789") != strlen(job)) {
        snprintf(why, n, "'%s' is not a SLURM job id", job);
        return -1;
    }
    char cmd[128], out[256];
    snprintf(cmd, sizeof cmd, "squeue -h -j %s -o %%T --states=all 2>&1", job);
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(why, n, "cannot run squeue: %s", strerror(errno));
        return -1;
    }
    size_t len = fread(out, 1, sizeof out - 1, p);
    char rest[256];
    while (fread(rest, 1, sizeof rest, p) > 0)   /* drained: squeue never meets a closed pipe */
        ;
    int status = pclose(p);
    while (len > 0 && out[len - 1] == '\n')
        len--;
    out[len] = '\0';
    const char *nl = strrchr(out, '\n'), *last = nl ? nl + 1 : out;   /* the state, or the error */
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        snprintf(why, n, "SLURM says %s", last[0] ? last : "it is not in the queue");
        if (!last[0])
            return 1;
        for (size_t i = 0; i < sizeof no_process / sizeof *no_process; i++)
            if (!strcmp(last, no_process[i]))
                return 1;
        return 0;
    }
    if (strstr(out, "Invalid job id")) {
        snprintf(why, n, "SLURM does not know it");
        return 1;
    }
    snprintf(why, n, "SLURM cannot be asked whether it still runs: %s",
             last[0] ? last : "squeue failed");
    return -1;
}

/* 1 if the holder's run is provably gone: no live nnsweep process with its pid on this host;
 * our own SLURM job id (the job was requeued; its earlier run ended); or another SLURM job that
 * SLURM says no longer runs (a run on a lost node, then resumed by another job). why (n bytes)
 * gets SLURM's answer when it was asked (empty otherwise). */
static int holder_gone(const holder_t *h, char *why, size_t n)
{
    char host[256];
    why[0] = '\0';
    this_host(host, sizeof host);
    if (!strcmp(host, h->host))
        return !process_alive(h->pid);
    if (!h->slurm_job[0])
        return 0;
    const char *job = getenv("SLURM_JOB_ID");
    if (job && !strcmp(job, h->slurm_job))
        return 1;
    return slurm_job_gone(h->slurm_job, why, n) == 1;
}

/* Creates the lock file (O_EXCL) naming this process. 0, or -1 with errno set. */
static int create_lock(const char *lock_path)
{
    int fd = open(lock_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return -1;
    char host[256], text[768], start[32];
    this_host(host, sizeof host);
    time_t now = time(NULL);
    strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    const char *job = getenv("SLURM_JOB_ID");
    int n = snprintf(text, sizeof text, "host=%s\npid=%ld\nslurm_job_id=%s\nstart=%s\n", host,
                     (long)getpid(), job ? job : "", start);
    int ok = write(fd, text, (size_t)n) == n;
    int saved = errno;
    close(fd);
    if (!ok) {
        unlink(lock_path);
        errno = saved;
        return -1;
    }
    return 0;
}

int run_lock_acquire(const char *path, run_lock_t **lock)
{
    *lock = NULL;
    size_t len = strlen(path) + 6;
    run_lock_t *l = calloc(1, sizeof *l);
    if (!l || !(l->path = malloc(len))) {
        free(l);
        return nn_fail(NN_ERR_NOMEM, "%s: out of memory for its lock", path);
    }
    snprintf(l->path, len, "%s.lock", path);
    h5io_make_parent_dirs(l->path);   /* a failure shows in create_lock's errno */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (create_lock(l->path) == 0) {
            *lock = l;
            return NN_OK;
        }
        if (errno != EEXIST)
            break;
        holder_t h;
        char why[400] = "";
        if (read_holder(l->path, &h) != 0 || !holder_gone(&h, why, sizeof why)) {
            int st = read_holder(l->path, &h) != 0
                ? nn_fail(NN_ERR_INPUT, "%s is locked by %s, which cannot be read: another run "
                          "may be writing it; remove the lock if none is", path, l->path)
                : nn_fail(NN_ERR_INPUT, "%s is being written by another run (host %s, pid %ld%s%s, "
                          "since %s%s%s): not started; wait for it, or choose another --out (if "
                          "that run is gone, remove %s)", path, h.host, h.pid,
                          h.slurm_job[0] ? ", SLURM job " : "", h.slurm_job, h.start,
                          why[0] ? "; " : "", why, l->path);
            free(l->path);   /* the other run's lock stays */
            free(l);
            return st;
        }
        log_info("%s: taking over the lock of a run that is gone (host %s, pid %ld%s%s%s%s)", path,
                 h.host, h.pid, h.slurm_job[0] ? ", SLURM job " : "", h.slurm_job,
                 why[0] ? ": " : "", why);
        unlink(l->path);
    }
    int st = nn_fail(NN_ERR_RUNTIME, "%s: cannot create %s: %s", path, l->path, strerror(errno));
    free(l->path);
    free(l);
    return st;
}

void run_lock_release(run_lock_t **lock)
{
    if (!lock || !*lock)
        return;
    unlink((*lock)->path);
    free((*lock)->path);
    free(*lock);
    *lock = NULL;
}
