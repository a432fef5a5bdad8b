/* nn_error.h - status codes, the last error message, and the program's exit statuses.
 * Library code returns a status (0 ok, negative on error) and records one message naming the
 * thing at fault (file:line of a job file, path and offset of a dataset, grid point and info).
 * It never exits: drivers turn a status into an exit status with nn_exit_status(). */
#ifndef NN_ERROR_H
#define NN_ERROR_H

enum nn_status {
    NN_OK = 0,
    NN_ERR_RUNTIME = -1,     /* an operation failed at run time (I/O, MPI, library) */
    NN_ERR_INPUT = -2,       /* bad input: job file, dataset, command line */
    NN_ERR_NOMEM = -3,       /* allocation failed */
    NN_ERR_NOT_PD = -4,      /* matrix not positive definite even after the jitter retries */
    NN_ERR_INTERRUPTED = -5, /* stopped by a signal after writing a checkpoint */
    NN_ERR_CHECK = -6        /* the run's self-check FAILED (reported only under --strict) */
};

/* Exit statuses of the program (documented in the README and --help). */
enum nn_exit {
    NN_EXIT_OK = 0,
    NN_EXIT_RUNTIME = 1,
    NN_EXIT_INPUT = 2,
    NN_EXIT_CHECK = 3,       /* --strict: results written, but the self-check FAILED */
    NN_EXIT_RESUME = 75      /* interrupted, checkpoint written: run again with --resume (EX_TEMPFAIL) */
};

/* Records a printf-style message and returns code, so callers write `return nn_fail(...)`. */
int nn_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the recorded message with more context ("reading X: " + old message); returns code. */
int nn_fail_context(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last recorded message ("" if none). */
const char *nn_errmsg(void);
void nn_error_clear(void);
/* Maps a status to an exit status: NN_ERR_INPUT -> 2, NN_ERR_CHECK -> 3, NN_ERR_INTERRUPTED -> 75, other errors -> 1. */
int nn_exit_status(int status);

#endif
