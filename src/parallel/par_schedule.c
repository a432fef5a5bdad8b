/* par_schedule.c - dynamic hand-out of work items. Group leaders ask world rank 0 for batches
 * of up to `slots` items, sending back the previous batch's results, and keep one request ahead
 * of the batch they run so that a new batch is waiting when one finishes, however late rank 0
 * answers; rank 0 records results (and checkpoints) as they arrive and also computes, answering
 * requests from par_poll(). Near the end a busy group's spare request waits, so the last items
 * go to idle groups, which may also get extra work while the last items run. A rank runs its
 * batch on OpenMP threads. Signals stop the hand-out at item boundaries; an item may also stop
 * early on a signal (NN_ERR_INTERRUPTED): it is not recorded, and the hand-out stops as for a
 * signal seen here. Results never depend on which rank or thread
 * ran an item. MPI is called from the master thread only (MPI_THREAD_FUNNELED). */
#include "par.h"

#include <mpi.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn_error.h"
#include "nn_signal.h"
#include "nn_threads.h"
#include "progress.h"

enum { TAG_REQUEST = 101, TAG_ASSIGN = 102 };

/* Requests a leader keeps open besides the one for the batch it runs. */
#define PREFETCH 1

/* A request from a group leader: this header, then `nresults` records of (item_header_t,
 * result). Every request is answered by one assignment (a batch, or none: stop). A leader sends
 * PREFETCH + 1 requests at the start and one more for every batch it was given, when the batch
 * is finished (its results follow) or dropped unrun because of a signal. */
typedef struct {
    int nresults;   /* finished items that follow */
    int closes;     /* 1: this request reports (or drops) a batch the leader held */
    int signal;     /* signal caught by the leader, or 0 */
} request_t;

typedef struct {
    int item;
    int status;
} item_header_t;
_Static_assert(sizeof(item_header_t) % 8 == 0, "an item's result must start 8-byte aligned");

/* World rank 0's account of a group (indexed by group number; group 0 is rank 0's own). */
typedef struct {
    int requests;   /* received */
    int pending;    /* received, not yet answered */
    int held;       /* batches handed out whose results have not come back */
    int batches;    /* batches handed out */
    int finished;   /* the leader has left its loop: nothing more will come from it */
} group_account_t;

static struct {
    const par_schedule_t *s;
    par_comm_t *group;          /* this rank's group (par_group_comm) */
    int grank, gsize, slots, ngroups;
    size_t record_bytes;        /* item_header_t + result, rounded up to 8 bytes */
    size_t message_bytes;       /* request_t + slots records */
    int active;                 /* par_schedule is running */
    /* world rank 0 only */
    int next;                   /* next candidate item */
    int left;                   /* items not done and not handed out */
    int running;                /* items handed out whose results have not been recorded */
    int leaders_out;            /* leaders other than rank 0 not yet finished */
    int stop;                   /* no more hand-out: signal or error */
    int interrupted;
    int record_status;          /* first failure of record() or started() on rank 0 */
    int started;                /* started() was called */
    group_account_t *account;   /* [ngroups] */
    unsigned char *msg;         /* receive buffer */
    progress_t progress;
} sched = {.group = NULL, .grank = 0, .gsize = 1};

int par_group_rank(void) { return sched.grank; }
int par_group_size(void) { return sched.gsize; }
const par_comm_t *par_group_comm(void) { return sched.group; }

/* The request header padded to 8 bytes, so that the records (8-byte multiples, doubles after an
 * 8-byte item_header_t) stay aligned for the doubles the items write into them. */
#define REQUEST_BYTES ((sizeof(request_t) + 7) / 8 * 8)

/* Record j of a message (item_header_t, then the item's result). */
static unsigned char *record_at(unsigned char *msg, int j)
{
    return msg + REQUEST_BYTES + (size_t)j * sched.record_bytes;
}

/* World rank 0: extra items may be handed out (none is left to hand out) to an idle taker, or,
 * once no item runs any more, to any taker. */
static int extra_allowed(int idle)
{
    return !sched.stop && sched.s->extra && sched.left == 0 && (idle || sched.running == 0);
}

/* World rank 0: up to `want` items nobody has run, then extra items (extra_allowed); returns
 * how many (0 when done or stopped). */
static int next_items(int *items, int want, int idle)
{
    int n = 0;
    while (!sched.stop && n < want) {
        while (sched.next < sched.s->nitems && sched.s->done && sched.s->done[sched.next])
            sched.next++;
        if (sched.next >= sched.s->nitems)
            break;
        items[n++] = sched.next++;
        sched.left--;
        sched.running++;
    }
    while (n < want && extra_allowed(idle)) {
        int extra = sched.s->extra(sched.s->ctx);
        if (extra < 0)
            break;
        items[n++] = extra;
    }
    return n;
}

/* World rank 0: stores a finished item through the record() hook (regular items count as
 * progress); a failed item, or a failing record(), stops the hand-out (sched.stop). */
static void record(int item, int status, const void *result)
{
    int regular = item < sched.s->nitems;
    sched.running -= regular;
    if (status != NN_OK) {   /* the failing rank reports it through par_agree */
        if (status == NN_ERR_INTERRUPTED)   /* the item saved its own progress on a signal */
            sched.interrupted = 1;
        sched.stop = 1;
        return;
    }
    status = sched.s->record(item, result, sched.s->ctx);
    if (status != NN_OK) {
        if (sched.record_status == NN_OK)
            sched.record_status = status;
        sched.stop = 1;
        return;
    }
    if (regular)
        progress_step(&sched.progress);
}

/* World rank 0: answers group g's pending requests, each with a batch or with none (stop). A
 * spare request of a group that still holds a batch waits while fewer items are left than there
 * are groups, so that the last items go to groups that are idle, and while extra items go to
 * idle takers only. */
static void answer(int g)
{
    group_account_t *a = &sched.account[g];
    while (a->pending > 0) {
        if (!sched.stop && a->held > 0 &&
            ((sched.left > 0 && sched.left < sched.ngroups) ||
             (sched.left == 0 && sched.s->extra && sched.running > 0)))
            break;
        int items[PAR_MAX_SLOTS];
        for (int j = 0; j < sched.slots; j++)
            items[j] = -1;
        int n = next_items(items, sched.slots, a->held == 0);
        MPI_Send(items, sched.slots, MPI_INT, g * sched.gsize, TAG_ASSIGN, MPI_COMM_WORLD);
        a->pending--;
        a->held += n > 0;
        a->batches += n > 0;
    }
    if (!a->finished && a->held == 0 && a->pending == 0 && a->requests == PREFETCH + 1 + a->batches) {
        a->finished = 1;
        sched.leaders_out--;
    }
}

/* World rank 0: answer() for every group but its own. */
static void answer_all(void)
{
    for (int g = 1; g < sched.ngroups; g++)
        answer(g);
}

/* World rank 0: stops the hand-out; every waiting request is answered with none. */
static void stop_handout(int interrupted)
{
    sched.stop = 1;
    sched.interrupted |= interrupted;
    answer_all();
}

/* World rank 0: records the n finished items of a batch (the records of msg, as a request
 * carries them); a failure among them stops the hand-out, so nobody waits for more. */
static void record_batch(unsigned char *msg, int n)
{
    int stopped = sched.stop;
    for (int j = 0; j < n; j++) {
        item_header_t h;
        memcpy(&h, record_at(msg, j), sizeof h);
        record(h.item, h.status, record_at(msg, j) + sizeof h);
    }
    if (sched.stop && !stopped)
        stop_handout(0);
}

/* World rank 0: handles one request already received into sched.msg from source: its results
 * are recorded (the extra items handed out next depend on them), then every group that can be
 * answered is. */
static void serve(int source)
{
    int g = source / sched.gsize;
    group_account_t *a = &sched.account[g];
    request_t req;
    memcpy(&req, sched.msg, sizeof req);
    a->requests++;
    a->pending++;
    a->held -= req.closes;
    if (req.signal || signal_pending())
        stop_handout(1);
    record_batch(sched.msg, req.nresults);
    answer(g);
    answer_all();   /* spare requests held back may be answerable now */
}

/* World rank 0: serves the requests that have arrived (none waited for), or with blocking
 * exactly one, waiting for it. */
static void receive_and_serve(int blocking)
{
    for (;;) {
        int flag = 1;
        MPI_Status st;
        if (blocking)
            MPI_Probe(MPI_ANY_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, &st);
        else
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            return;
        MPI_Recv(sched.msg, (int)sched.message_bytes, MPI_BYTE, st.MPI_SOURCE, TAG_REQUEST,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        serve(st.MPI_SOURCE);
        if (blocking)
            return;
    }
}

/* World rank 0: the started() hook, once. */
static void call_started(void)
{
    if (sched.started)
        return;
    sched.started = 1;
    int status = sched.s->started ? sched.s->started(sched.s->ctx) : NN_OK;
    if (status != NN_OK) {
        if (sched.record_status == NN_OK)
            sched.record_status = status;
        stop_handout(0);
    }
}

void par_poll(void)
{
    if (sched.active && omp_get_thread_num() == 0 && par_rank() == 0) {
        receive_and_serve(0);
        call_started();
    }
}

/* Runs item j of a batch in slot `slot`, its record into out. Returns its status. */
static int run_one(const int *items, int j, int slot, unsigned char *out)
{
    item_header_t h = {.item = items[j]};
    h.status = sched.s->run(items[j], slot, record_at(out, j) + sizeof h, sched.s->ctx);
    memcpy(record_at(out, j), &h, sizeof h);
    return h.status;
}

/* An item alone on a rank of several threads (the last of a sweep, a posterior, a group's
 * ScaLAPACK item) has the rank's cores to itself. On one rank it runs on the master thread with
 * one OpenMP thread for its small tiled loops (nested threads slow them: README "Threads") and
 * all threads for the row strips of its triangular solves (threads_item), whose bits do not
 * depend on it; BLAS stays single-threaded there, since OpenBLAS's threaded dgemm gives other
 * bits than its serial one and results must not depend on the layout.
 * A ScaLAPACK item's bits depend on its process grid anyway: its BLAS gets the threads. */
static int run_alone(const int *items, unsigned char *out)
{
    const threads_layout_t *l = threads_layout();
    int omp = omp_get_max_threads(), status;
    threads_set_item(l->threads);
    if (sched.gsize == 1) {
        omp_set_num_threads(1);
        status = run_one(items, 0, 0, out);
        omp_set_num_threads(omp);
    } else {
        int blas = threads_set_blas(l->threads);
        status = run_one(items, 0, 0, out);
        threads_set_blas(blas);
    }
    threads_set_item(1);
    return status;
}

/* Runs n items of a batch side by side, results into the records of out, each with one BLAS
 * thread (the CNN's: the rank's threads, set at start-up). Returns the worst status of the
 * group. The region has `slots` threads even when n is smaller (the others idle), so that an
 * item's own OpenMP loops never become a nested team, which runs its 32-row tiles slower (README
 * "Threads"). A lone item on a rank of several threads goes to run_alone instead. */
static int run_batch(const int *items, int n, unsigned char *out)
{
    const threads_layout_t *l = threads_layout();
    int worst = NN_OK;
    if (n == 1 && l->threads > 1 && !l->threads_to_blas) {
        worst = run_alone(items, out);
    } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(sched.slots) reduction(min : worst)
        for (int j = 0; j < n; j++) {
            int status = run_one(items, j, omp_get_thread_num(), out);
            if (status < worst)
                worst = status;
        }
    }
    if (sched.gsize > 1)
        par_min_ints(sched.group, &worst, 1);
    return worst;
}

/* The leader hands a group its item (groups run one item at a time): collective over the group;
 * the leader passes its n items, members pass 0; returns how many to run (0: stop). Without a
 * group, returns n. */
static int share_with_group(int *items, int n)
{
    if (sched.gsize > 1) {
        int item = n > 0 ? items[0] : -1;
        par_comm_bcast(sched.group, &item, sizeof item, 0);
        items[0] = item;
        n = item >= 0;
    }
    return n;
}

/* World rank 0: groups that have not sent their first request yet. */
static int groups_unheard(void)
{
    int n = 0;
    for (int g = 1; g < sched.ngroups; g++)
        n += sched.account[g].requests == 0;
    return n;
}

/* World rank 0 (leader of group 0): hands out items, runs batches of its own into buf, records
 * every result, and returns once every other leader has finished. Returns the worst status of
 * its own batches, else the first failure of record() or started(). */
static int run_root(unsigned char *buf)
{
    int status = NN_OK, items[PAR_MAX_SLOTS];
    /* The leaders send their first requests as soon as par_schedule starts: answer them before
     * rank 0's own first batch, so that no group waits for rank 0's first poll. */
    while (groups_unheard() > 0)
        receive_and_serve(1);
    for (;;) {
        receive_and_serve(0);
        if (signal_pending() && !sched.interrupted)
            stop_handout(1);
        int n = share_with_group(items, next_items(items, sched.slots, 1));
        if (n == 0)
            break;
        int st = run_batch(items, n, buf);
        if (st != NN_OK)
            status = st;
        call_started();
        record_batch(buf, n);
        answer_all();   /* spare requests held back may be answerable now */
    }
    call_started();
    while (sched.leaders_out > 0)
        receive_and_serve(1);
    return status != NN_OK ? status : sched.record_status;
}

/* Leader of a group other than group 0: sends a request (with the results in buf, or none),
 * without waiting for rank 0 to take it; *req must stay untouched until the next call. */
static void send_request(unsigned char *buf, int nresults, int closes, MPI_Request *req)
{
    if (*req != MPI_REQUEST_NULL)
        MPI_Wait(req, MPI_STATUS_IGNORE);
    request_t r = {.nresults = nresults, .closes = closes, .signal = signal_pending()};
    memcpy(buf, &r, sizeof r);
    size_t bytes = REQUEST_BYTES + (size_t)nresults * sched.record_bytes;
    MPI_Isend(buf, (int)bytes, MPI_BYTE, 0, TAG_REQUEST, MPI_COMM_WORLD, req);
}

/* Leader of a group other than group 0: asks for batches until answered with none, runs them
 * with its group and sends their results back. Results are sent from one of two buffers while
 * the next batch runs into the other. Returns the worst status of its batches. */
static int run_leader(unsigned char *buf[2])
{
    int status = NN_OK, items[PAR_MAX_SLOTS], open = 0, which = 0;
    MPI_Request sent[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    for (int k = 0; k <= PREFETCH; k++, open++, which ^= 1)
        send_request(buf[which], 0, 0, &sent[which]);
    for (;;) {
        int n = 0;
        while (n == 0 && open > 0) {   /* the oldest open request's answer */
            MPI_Recv(items, sched.slots, MPI_INT, 0, TAG_ASSIGN, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            open--;
            while (n < sched.slots && items[n] >= 0)
                n++;
            if (n > 0 && signal_pending()) {   /* stop at the item boundary: drop the batch */
                send_request(buf[which], 0, 1, &sent[which]);
                open++;
                which ^= 1;
                n = 0;
            }
        }
        n = share_with_group(items, n);
        if (n == 0)
            break;
        if (sent[which] != MPI_REQUEST_NULL)   /* the buffer the batch writes into */
            MPI_Wait(&sent[which], MPI_STATUS_IGNORE);
        int st = run_batch(items, n, buf[which]);
        if (st != NN_OK)
            status = st;
        send_request(buf[which], n, 1, &sent[which]);
        open++;
        which ^= 1;
    }
    MPI_Waitall(2, sent, MPI_STATUSES_IGNORE);
    return status;
}

/* A non-leader member of a group: runs the items its leader shares until told to stop. Returns
 * the worst status of its batches. */
static int run_member(unsigned char *buf)
{
    int status = NN_OK, items[1];
    while (share_with_group(items, 0) > 0) {
        int st = run_batch(items, 1, buf);
        if (st != NN_OK)
            status = st;
    }
    return status;
}

int par_schedule(const par_schedule_t *s)
{
    int rank = par_rank(), size = par_size(), g = s->group_size > 0 ? s->group_size : 1;
    if (size % g != 0)
        return par_agree(nn_fail(NN_ERR_INPUT, "%d MPI ranks cannot form groups of %d", size, g));
    memset(&sched, 0, sizeof sched);
    sched.s = s;
    sched.slots = g > 1 || s->slots < 1 ? 1 : s->slots > PAR_MAX_SLOTS ? PAR_MAX_SLOTS : s->slots;
    sched.slots = par_max_int(sched.slots);   /* every rank sizes its messages alike */
    sched.record_bytes = (sizeof(item_header_t) + s->result_bytes + 7) / 8 * 8;
    sched.message_bytes = REQUEST_BYTES + (size_t)sched.slots * sched.record_bytes;
    sched.group = par_comm_split(par_world(), rank / g, rank);
    sched.grank = sched.group ? par_comm_rank(sched.group) : 0;
    sched.gsize = g;
    sched.ngroups = size / g;
    sched.leaders_out = sched.ngroups - 1;
    unsigned char *buf[2] = {malloc(sched.message_bytes), malloc(sched.message_bytes)};
    sched.msg = malloc(sched.message_bytes);
    sched.account = calloc((size_t)sched.ngroups, sizeof *sched.account);
    int status = sched.group && buf[0] && buf[1] && sched.msg && sched.account
                     ? NN_OK : nn_fail(NN_ERR_NOMEM, "scheduler buffers");
    status = par_agree(status);
    if (status == NN_OK) {
        int done = 0;
        for (int i = 0; s->done && i < s->nitems; i++)
            done += s->done[i] != 0;
        sched.left = s->nitems - done;
        if (rank == 0)
            progress_start(&sched.progress, s->label ? s->label : "sweep", s->nitems, done);
        sched.active = 1;
        if (rank == 0)
            status = run_root(buf[0]);
        else if (sched.grank == 0)
            status = run_leader(buf);
        else
            status = run_member(buf[0]);
        sched.active = 0;
        if (rank == 0)
            progress_finish(&sched.progress);
        status = par_agree(status);
        int interrupted = sched.interrupted;
        par_bcast(&interrupted, sizeof interrupted, 0);
        if (status == NN_OK && interrupted)
            status = nn_fail(NN_ERR_INTERRUPTED, "interrupted by a signal");
    }
    free(buf[0]);
    free(buf[1]);
    free(sched.msg);
    free(sched.account);
    sched.msg = NULL;
    sched.account = NULL;
    par_comm_free(&sched.group);
    return status;
}
