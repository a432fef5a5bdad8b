/* run_lock.h - one run per results file. A run that writes PATH holds PATH.lock, a small text
 * file naming it (host, pid, SLURM job id, start time); a second run that would write PATH while
 * that run lives is refused before it touches anything. A lock whose run is gone is taken over:
 * on this host no live nnsweep process with its pid (dead, a zombie, or the pid reused), or the
 * same SLURM job id as ours (a requeued job's earlier incarnation). On another host without that
 * proof the run counts as alive. */
#ifndef RUN_LOCK_H
#define RUN_LOCK_H

typedef struct run_lock run_lock_t;

/* Takes PATH.lock for this process (creating PATH's directory if needed). Returns 0 with *lock
 * set, NN_ERR_INPUT when another live run holds it (message naming the file and that run: host,
 * pid, SLURM job, start), or NN_ERR_RUNTIME (message) when the lock cannot be written. */
int run_lock_acquire(const char *path, run_lock_t **lock);
/* Removes the lock file and frees the handle; accepts NULL and sets *lock = NULL. */
void run_lock_release(run_lock_t **lock);

#endif
