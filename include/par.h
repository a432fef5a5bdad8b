/* par.h - the MPI layer: start-up, broadcasts of the job and the data, agreement on failures,
 * hosts, communicators and their collectives, and the dynamic item scheduler. par.c and
 * par_schedule.c are the only code that calls MPI: the drivers and the distributed solver hold
 * communicators as par_comm_t handles. The par_ functions without a handle are collective over
 * all ranks unless noted; those taking one, over its ranks. */
#ifndef PAR_H
#define PAR_H

#include <stddef.h>

#include "dataset.h"

/* MPI_Init_thread (funneled). Returns 0 or NN_ERR_RUNTIME. */
int par_init(int *argc, char ***argv);
void par_finalize(void);
int par_rank(void);   /* not collective */
int par_size(void);   /* not collective */
/* Stops every rank (MPI_Abort) with an exit status; only for the unrecoverable. */
void par_abort(int exit_status) __attribute__((noreturn));

/* Every rank passes its own status; every rank gets 0 if all were 0, else the status of the
 * lowest failing rank, whose error message is copied to every rank (nn_errmsg). */
int par_agree(int status);
/* Largest value of x over the ranks; smallest value of x over the ranks. */
int par_max_int(int x);
double par_min_double(double x);
/* Ranks on this rank's node (shared memory). */
int par_node_size(void);
/* Ranks on this node (this one included) whose `bytes`-long key equals this rank's, e.g. ranks
 * that share one affinity mask. 1 if the keys cannot be gathered. */
int par_node_count_same(const void *key, size_t bytes);

/* ---- communicators ---- */

/* A communicator (a set of ranks, an MPI_Comm inside) as an opaque handle. */
typedef struct par_comm par_comm_t;

/* All ranks; valid once MPI is initialized (par_init or MPI_Init); never freed. */
const par_comm_t *par_world(void);
/* This rank's number in c, and the number of ranks of c. Not collective. */
int par_comm_rank(const par_comm_t *c);
int par_comm_size(const par_comm_t *c);
/* A new communicator over the ranks of c (MPI_Comm_dup); NULL on this rank if it runs out of
 * memory (its duplicate is released again), so callers agree on the result. */
par_comm_t *par_comm_dup(const par_comm_t *c);
/* The ranks of c with this rank's color, numbered by key (MPI_Comm_split); NULL as par_comm_dup. */
par_comm_t *par_comm_split(const par_comm_t *c, int color, int key);
/* Releases a communicator from par_comm_dup or par_comm_split; accepts NULL, sets *c = NULL. */
void par_comm_free(par_comm_t **c);
/* Returns when every rank of c has called it. */
void par_barrier(const par_comm_t *c);

/* In place over the ranks of c, element by element: v[i] becomes the sum (min, max) of every
 * rank's v[i]. Every rank passes the same n. One MPI_Allreduce per call (below 2^31 elements), so
 * a given call and layout always sums in the same order. */
void par_sum_doubles(const par_comm_t *c, double *v, size_t n);
void par_sum_floats(const par_comm_t *c, float *v, size_t n);
void par_sum_ints(const par_comm_t *c, int *v, size_t n);
void par_min_ints(const par_comm_t *c, int *v, size_t n);
void par_max_ints(const par_comm_t *c, int *v, size_t n);

/* bytes of buf from rank root of c to every rank of c. Returns 0 or NN_ERR_RUNTIME. */
int par_comm_bcast(const par_comm_t *c, void *buf, size_t bytes, int root);
/* Gather: every rank's `bytes` of mine land at all + r bytes on root (all is read on root only).
 * Scatter: the inverse, root's all + r bytes into rank r's mine. bytes below 2^31. Returns 0 or
 * NN_ERR_RUNTIME. */
int par_gather(const par_comm_t *c, const void *mine, void *all, size_t bytes, int root);
int par_scatter(const par_comm_t *c, const void *all, void *mine, size_t bytes, int root);

/* A BLACS system handle for the ranks of c (Csys2blacs_handle), for Cblacs_gridinit; release it
 * with Cfree_blacs_system_handle. Not collective. */
int par_blacs_handle(const par_comm_t *c);

/* Broadcasts from root over all ranks: raw bytes, a malloc'd string (others receive a malloc'd
 * copy), and a whole dataset (others allocate theirs). Returns 0 or an error. */
int par_bcast(void *buf, size_t bytes, int root);
int par_bcast_text(char **text, int root);
int par_bcast_dataset(dataset_t *ds, int root);

/* Distinct host names of all ranks, comma-separated, malloc'd, on every rank. */
char *par_hostnames(void);
/* Under SLURM (SLURM_NTASKS set), fails with NN_ERR_INPUT when the MPI size differs: a launcher
 * started independent single ranks. Not collective. */
int par_check_slurm(void);

/* The dynamic scheduler. World ranks form groups of group_size consecutive ranks; a group's
 * rank 0 (its leader) asks world rank 0 for items, and the whole group runs each item. With
 * group_size 1 a rank takes up to `slots` items at a time and runs them side by side on OpenMP
 * threads (slot = thread number), so one process uses its cores the way several ranks would and
 * every item is computed the same way whatever the layout. World rank 0 leads group 0 and
 * computes too, answering requests whenever run() calls par_poll(). A signal on any rank
 * (nn_signal) stops the hand-out at the next item boundary. */
/* Items a rank runs at once (par_schedule_t.slots) at most. */
#define PAR_MAX_SLOTS 64

typedef struct {
    int nitems;
    const unsigned char *done;   /* items already finished (resume), or NULL */
    size_t result_bytes;         /* size of one item's result record */
    int group_size;
    int slots;                   /* items run at once per rank (threads, at most PAR_MAX_SLOTS);
                                    forced to 1 in groups */
    /* Runs item on every rank of the group, in slot 0..slots-1 (each slot owns its workspace);
     * the leader's result is the one kept. Returns 0 or an error (which stops the sweep on all
     * ranks). NN_ERR_INTERRUPTED: the item stopped early on a signal after saving its own
     * progress; it is not recorded, the hand-out stops, and par_schedule returns that status. */
    int (*run)(int item, int slot, void *result, void *ctx);
    /* World rank 0 only: stores a finished item's result (and checkpoints). Returns 0 or error. */
    int (*record)(int item, const void *result, void *ctx);
    /* World rank 0 only, optional: called once, from rank 0's first par_poll() (when the other
     * groups have their first batches) or else after its first batch, e.g. to write the first
     * checkpoint without holding the others up. Returns 0 or an error (which stops the sweep). */
    int (*started)(void *ctx);
    /* World rank 0 only, optional: extra work for a group (or thread) that would otherwise wait
     * while the last items run elsewhere. Returns an item number >= nitems, which run() and
     * record() receive like any other (its result must fit result_bytes), or -1 for none. Asked
     * only while items are still running and none is left to hand out; extra items are not
     * counted as progress and never delay the hand-out of regular ones. */
    int (*extra)(void *ctx);
    void *ctx;
    const char *label;           /* progress label */
} par_schedule_t;

/* Runs every item not done. Returns 0, NN_ERR_INTERRUPTED (a signal arrived: finished items are
 * recorded, the rest are not started), or an error agreed on by all ranks. */
int par_schedule(const par_schedule_t *s);
/* Called by item code between expensive steps: on world rank 0's master thread answers pending
 * requests, so other groups never wait for rank 0's own items. Does nothing elsewhere. */
void par_poll(void);
/* Rank within the group and group size of this process (valid during par_schedule). */
int par_group_rank(void);
int par_group_size(void);
/* The group's communicator, for the group's collectives and the distributed solver; NULL outside
 * par_schedule. Owned by the scheduler. */
const par_comm_t *par_group_comm(void);

#endif
