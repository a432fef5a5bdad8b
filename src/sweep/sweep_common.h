/* sweep_common.h - private to the sweep module: what the NNGP and CNN drivers share: reading an
 * earlier results file back for --resume, and the end-of-run self-check verdict. */
#ifndef SWEEP_COMMON_H
#define SWEEP_COMMON_H

#include "h5io.h"

/* Opens the results file at path for resuming a job of kind experiment ("nngp", "cnn") whose
 * job file text is job_text. Returns NN_OK with *f NULL when there is no file (start from the
 * beginning), NN_OK with *f open (caller closes) when the file was written by the same job, or
 * NN_ERR_INPUT with a message naming the file when it was not (another job, not a results file). */
int sweep_resume_open(const char *path, const char *experiment, const char *job_text,
                      h5file_t **f);

/* Rank 0 at the end of a complete run: logs "self-check VERDICT: what". A "FAILED" verdict is a
 * warning, or NN_ERR_CHECK (message set) when strict; anything else returns 0. */
int sweep_check_verdict(const char *verdict, const char *what, int strict);

#endif
