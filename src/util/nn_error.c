/* nn_error.c - one buffer holding the last error message. Not thread-safe by design: errors are
 * recorded by the thread that drives a rank, never from inside OpenMP regions. */
#include "nn_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char last_message[2048];

int nn_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}

int nn_fail_context(int code, const char *fmt, ...)
{
    char prefix[1024], old[sizeof last_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_message, sizeof old);
    size_t np = strlen(prefix);
    memcpy(last_message, prefix, np + 1);
    strncat(last_message, old, sizeof last_message - np - 1);
    return code;
}

const char *nn_errmsg(void) { return last_message; }

void nn_error_clear(void) { last_message[0] = '\0'; }

int nn_exit_status(int status)
{
    switch (status) {
    case NN_OK: return NN_EXIT_OK;
    case NN_ERR_INPUT: return NN_EXIT_INPUT;
    case NN_ERR_CHECK: return NN_EXIT_CHECK;
    case NN_ERR_INTERRUPTED: return NN_EXIT_RESUME;
    default: return NN_EXIT_RUNTIME;
    }
}
