/* nn_log.h - messages to stderr. Informational messages come from rank 0 only; warnings and
 * errors from any rank carry the rank number when the run has more than one. */
#ifndef NN_LOG_H
#define NN_LOG_H

/* Tells the logger which rank this process is and how many there are (default 0 of 1). */
void log_set_rank(int rank, int size);
/* Quiet mode drops info messages (errors and warnings still print). */
void log_set_quiet(int quiet);
int log_is_quiet(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
