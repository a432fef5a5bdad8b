/* progress.h - items done / total, rate and ETA on stderr: a live bar redrawn in place when
 * stderr is a terminal, otherwise one line every `interval` seconds (and at the end), which is
 * what a SLURM log wants (NNSWEEP_PROGRESS_INTERVAL seconds, default 10). Only the caller (rank 0)
 * prints, and nothing in quiet mode (log_set_quiet). */
#ifndef PROGRESS_H
#define PROGRESS_H

typedef struct {
    const char *label;
    int total, done, done_at_start;
    double t_start, t_last_print, interval;
    int tty;
} progress_t;

/* Starts counting; done_already items (from a resumed file) do not enter the rate. */
void progress_start(progress_t *p, const char *label, int total, int done_already);
/* Records one more finished item and prints if due. */
void progress_step(progress_t *p);
/* Prints the final line. */
void progress_finish(progress_t *p);

#endif
