/* run_lock.h - one run per results file. A run that writes PATH holds PATH.lock, a small text
 * file naming it (host, pid, SLURM job id, start time); a second run that would write PATH while
 * that run lives is refused before it touches anything. A lock whose run is gone is taken over:
 * on this host no live nnsweep process with its pid (dead, a zombie, or the pid reused); the
 * same SLURM job id as ours (a requeued job's earlier incarnation); or, on another host, a SLURM
 * job that SLURM (squeue) says no longer runs (ended, pending again, or forgotten: a lost node).
 * Without that proof (no SLURM job, or SLURM cannot be asked) the run counts as alive. */
#ifndef RUN_LOCK_H
#define RUN_LOCK_H

typedef struct run_lock run_lock_t;

/* Takes PATH.lock for this process (creating PATH's directory if needed). Returns 0 with *lock
 * set, NN_ERR_INPUT when another live run holds it (message naming the file and that run: host,
 * pid, SLURM job, start, and SLURM's answer or why it could not be asked), or NN_ERR_RUNTIME (message) when the lock cannot be written. */
int run_lock_acquire(const char *path, run_lock_t **lock);
/* Removes the lock file and frees the handle; accepts NULL and sets *lock = NULL. */
void run_lock_release(run_lock_t **lock);

#endif
