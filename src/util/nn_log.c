/* nn_log.c - stderr logging with a rank prefix. Does not buffer or write files. */
#include "nn_log.h"

#include <stdarg.h>
#include <stdio.h>

static int log_rank = 0, log_size = 1, log_quiet = 0;

void log_set_rank(int rank, int size)
{
    log_rank = rank;
    log_size = size;
}

void log_set_quiet(int quiet) { log_quiet = quiet; }

int log_is_quiet(void) { return log_quiet; }

static void log_emit(const char *level, const char *fmt, va_list ap)
{
    if (log_size > 1)
        fprintf(stderr, "nnsweep[%d]: %s", log_rank, level);
    else
        fprintf(stderr, "nnsweep: %s", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void log_info(const char *fmt, ...)
{
    if (log_rank != 0 || log_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_emit("", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("warning: ", fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("error: ", fmt, ap);
    va_end(ap);
}
