/* pgp.c - the NNGP work item on a BLACS grid: kernel tiles assembled in place in the 2-D
 * block-cyclic layout (local GEMM for the Gram entries, the kernel.h recursion on the tiles),
 * then pdpotrf / pdpotrs / pdgemm / pdtrsm / pdsyrk. Only the lower block triangle of a symmetric
 * kernel is ever computed. Replicated results and agreement go through the parallel module's
 * collectives over the grid's communicator (par.h). It does not schedule items, read files or
 * parse jobs. */
#include "pgp.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "nngp_check.h"
#include "nn_alloc.h"
#include "nn_error.h"
#include "nn_threads.h"
#include "nn_timer.h"
#include "scalapack.h"

/* ---- PBLAS tuning ---- */

/* The PBLAS "logical block size": how many columns of a panel its Level 3 routines (the trailing
 * update pdsyrk inside pdpotrf, pdgemm, pdtrsm) treat per local GEMM when the panel spans several
 * process rows or columns. The reference value is 32, which turns pdpotrf's update on a grid with
 * P > 1 into rank-32 GEMMs, up to 4x slower (README "Speed of the factorization").
 * PILAENV is the documented tuning hook of PBLAS (pilaenv.f: "users are encouraged to modify
 * this subroutine"); this definition takes the place of the library's through the dynamic linker
 * (the library calls it through its PLT). It must return the same value on every process, which
 * one binary does. */
int pilaenv_(const int *ictxt, const char *prec)
{
    (void)ictxt;
    (void)prec;
    return PGP_PBLAS_KB;
}

/* ---- the process grid ---- */

void pgp_grid_shape(int size, int *p, int *q)
{
    int best = 1;
    for (int d = 1; d * d <= size; d++)
        if (size % d == 0)
            best = d;
    *p = best;
    *q = size / best;
}

/* 1 on every rank if ok is nonzero on every rank of comm. */
static int all_ok(const par_comm_t *comm, int ok)
{
    ok = ok != 0;
    par_min_ints(comm, &ok, 1);
    return ok;
}

pgp_grid_t *pgp_grid_create(const par_comm_t *comm, int p, int q, int nb)
{
    int size = par_comm_size(comm), rank = par_comm_rank(comm);
    if (p <= 0 && q <= 0)
        pgp_grid_shape(size, &p, &q);
    else if (p <= 0 && size % q == 0)
        p = size / q;
    else if (q <= 0 && size % p == 0)
        q = size / p;
    if (p <= 0 || q <= 0 || (long)p * q != size) {
        nn_fail(NN_ERR_INPUT, "pgp: a %d x %d process grid does not fit a group of %d ranks", p,
                q, size);
        return NULL;
    }
    pgp_grid_t *g = calloc(1, sizeof *g);
    par_comm_t *dup = par_comm_dup(comm);
    if (!all_ok(comm, g && dup)) {
        par_comm_free(&dup);
        free(g);
        nn_fail(NN_ERR_NOMEM, "pgp: out of memory for the process grid");
        return NULL;
    }
    int me, np;
    Cblacs_pinfo(&me, &np);   /* initialises the BLACS on first use (MPI is already running) */
    g->comm = dup;
    g->rank = rank;
    g->size = size;
    g->nb = nb > 0 ? nb : PGP_NB_DEFAULT;
    g->sys = par_blacs_handle(g->comm);
    g->ctx = g->sys;
    Cblacs_gridinit(&g->ctx, "Row", p, q);
    Cblacs_gridinfo(g->ctx, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
    if (!all_ok(comm, g->nprow == p && g->npcol == q && g->myrow >= 0)) {
        nn_fail(NN_ERR_RUNTIME, "pgp: BLACS could not form a %d x %d grid", p, q);
        if (g->myrow >= 0)
            Cblacs_gridexit(g->ctx);
        Cfree_blacs_system_handle(g->sys);
        par_comm_free(&g->comm);
        free(g);
        return NULL;
    }
    return g;
}

void pgp_grid_destroy(pgp_grid_t **pg)
{
    if (!pg || !*pg)
        return;
    Cblacs_gridexit((*pg)->ctx);
    Cfree_blacs_system_handle((*pg)->sys);
    par_comm_free(&(*pg)->comm);
    free(*pg);
    *pg = NULL;
}

/* ---- tiles: which entries of a block-cyclic matrix this rank holds and computes ---- */

/* Global index of local index l of a dimension dealt in blocks of nb over np processes (me). */
static inline int l2g(int l, int nb, int me, int np) { return ((l / nb) * np + me) * nb + l % nb; }

static int numroc(int n, int nb, int me, int np)
{
    int zero = 0;
    return numroc_(&n, &nb, &me, &zero, &np);
}

/* First local row of block column jb on or below the diagonal block (lower block triangle):
 * the first local row block whose global block index is >= that of the column block. */
static int lower_first_row(int jb, int nb, int myrow, int mycol, int nprow, int npcol, int locr)
{
    int gj = jb * npcol + mycol;                       /* global block column */
    int ib = gj > myrow ? (gj - myrow + nprow - 1) / nprow : 0;
    long il = (long)ib * nb;
    return il < locr ? (int)il : locr;
}

/* Doubles of the packed lower block triangle held by process (myrow, mycol) of an n x n matrix. */
static size_t lower_packed(int n, int nb, int myrow, int mycol, int nprow, int npcol)
{
    int locr = numroc(n, nb, myrow, nprow), locc = numroc(n, nb, mycol, npcol);
    size_t s = 0;
    for (int jb = 0; jb * nb < locc; jb++) {
        int ncol = locc - jb * nb < nb ? locc - jb * nb : nb;
        s += (size_t)ncol * (locr - lower_first_row(jb, nb, myrow, mycol, nprow, npcol, locr));
    }
    return s;
}

/* The local part of an m x n matrix over the grid. For a symmetric kernel (lower = 1) only the
 * block columns' rows at and below the diagonal block are computed ([il0[jb], locr) of block
 * column jb); in packed storage they lie block column after block column, column-major with
 * leading dimension locr - il0[jb]. In the full local array (lld) every entry has its place. */
typedef struct {
    int m, n, nb;
    int locr, locc, lld;
    int desc[9];
    int lower;
    int nbc;              /* local column blocks */
    int *il0;             /* nbc */
    size_t *poff;         /* nbc: offset of each block column in packed storage */
    size_t packed;        /* doubles in packed storage */
    int *grow, *gcol;     /* global index of each local row / column */
    int ndiag;            /* diagonal entries held (lower only) */
    int *dil, *djl;       /* their local row and column */
} tiles_t;

static void tiles_free(tiles_t *t)
{
    free(t->il0);
    free(t->poff);
    free(t->grow);
    free(t->gcol);
    free(t->dil);
    free(t->djl);
    memset(t, 0, sizeof *t);
}

/* Fills t for an m x n matrix on grid g. Returns 0, or -1 if out of memory (t freed). */
static int tiles_init(tiles_t *t, int m, int n, const pgp_grid_t *g, int lower)
{
    memset(t, 0, sizeof *t);
    int nb = g->nb;
    t->m = m;
    t->n = n;
    t->nb = nb;
    t->lower = lower;
    t->locr = numroc(m, nb, g->myrow, g->nprow);
    t->locc = numroc(n, nb, g->mycol, g->npcol);
    t->lld = t->locr > 1 ? t->locr : 1;
    int zero = 0, info = 0;
    descinit_(t->desc, &m, &n, &nb, &nb, &zero, &zero, &g->ctx, &t->lld, &info);
    t->nbc = (t->locc + nb - 1) / nb;
    t->il0 = calloc((size_t)t->nbc + 1, sizeof *t->il0);
    t->poff = calloc((size_t)t->nbc + 1, sizeof *t->poff);
    t->grow = malloc(((size_t)t->locr + 1) * sizeof *t->grow);
    t->gcol = malloc(((size_t)t->locc + 1) * sizeof *t->gcol);
    int maxdiag = lower ? (t->locr < t->locc ? t->locr : t->locc) : 0;
    t->dil = malloc(((size_t)maxdiag + 1) * sizeof *t->dil);
    t->djl = malloc(((size_t)maxdiag + 1) * sizeof *t->djl);
    if (info != 0 || !t->il0 || !t->poff || !t->grow || !t->gcol || !t->dil || !t->djl) {
        tiles_free(t);
        return -1;
    }
    for (int i = 0; i < t->locr; i++)
        t->grow[i] = l2g(i, nb, g->myrow, g->nprow);
    for (int j = 0; j < t->locc; j++)
        t->gcol[j] = l2g(j, nb, g->mycol, g->npcol);
    size_t off = 0;
    for (int jb = 0; jb < t->nbc; jb++) {
        int ncol = t->locc - jb * nb < nb ? t->locc - jb * nb : nb;
        t->il0[jb] = lower ? lower_first_row(jb, nb, g->myrow, g->mycol, g->nprow, g->npcol,
                                             t->locr)
                           : 0;
        t->poff[jb] = off;
        off += (size_t)ncol * (t->locr - t->il0[jb]);
    }
    t->packed = off;
    if (lower) {
        /* global i is held where its row block and its column block are both local */
        for (int j = 0; j < t->locc; j++) {
            int gi = t->gcol[j];
            if ((gi / nb) % g->nprow != g->myrow)
                continue;
            int il = (gi / nb) / g->nprow * nb + gi % nb;
            t->dil[t->ndiag] = il;
            t->djl[t->ndiag] = j;
            t->ndiag++;
        }
    }
    return 0;
}

/* Width of local block column jb. */
static inline int tiles_ncol(const tiles_t *t, int jb)
{
    return t->locc - jb * t->nb < t->nb ? t->locc - jb * t->nb : t->nb;
}

/* A matrix's storage: the full local array (packed = 0) or packed lower block columns. */
typedef struct {
    double *a;
    int packed;
} view_t;

/* The computed rows of block column jb: pointer to its first entry and its leading dimension. */
static double *tiles_col(const tiles_t *t, view_t v, int jb, int *ld)
{
    if (v.packed) {
        int nr = t->locr - t->il0[jb];
        *ld = nr > 1 ? nr : 1;
        return v.a + t->poff[jb];
    }
    *ld = t->lld;
    return v.a + (size_t)jb * t->nb * t->lld + t->il0[jb];
}

/* Address of the k-th held diagonal entry. */
static double *tiles_diag(const tiles_t *t, view_t v, int k)
{
    int jb = t->djl[k] / t->nb, ld;
    double *c = tiles_col(t, v, jb, &ld);
    return c + (size_t)(t->djl[k] - jb * t->nb) * ld + (t->dil[k] - t->il0[jb]);
}

/* Gram entries G_ij = x_i . x'_j / dim of the computed tiles: rows from xr, columns from xc
 * (row-major points). A block column and a run of row blocks with consecutive global rows make
 * one GEMM (kernel_gram on the transposed, row-major view of the column-major tile). For a
 * symmetric kernel the diagonal is then set to gd so that it starts from the same bits as the
 * replicated diagonal. */
static void tiles_gram(const tiles_t *t, view_t v, const double *xr, const double *xc, int dim,
                       const double *gd)
{
    int blas = threads_set_blas(1);   /* the block columns' threads run one GEMM each */
#pragma omp parallel for schedule(dynamic, 1)
    for (int jb = 0; jb < t->nbc; jb++) {
        int ld, ncol = tiles_ncol(t, jb), j0 = jb * t->nb;
        double *c = tiles_col(t, v, jb, &ld);
        const double *xcb = xc + (size_t)t->gcol[j0] * dim;
        for (int i = t->il0[jb]; i < t->locr;) {
            int len = 1;
            while (i + len < t->locr && t->grow[i + len] == t->grow[i] + len)
                len++;
            kernel_gram(xcb, ncol, xr + (size_t)t->grow[i] * dim, len, dim,
                        c + (i - t->il0[jb]), ld);
            i += len;
        }
    }
    threads_set_blas(blas);
    if (gd)
        for (int k = 0; k < t->ndiag; k++)
            *tiles_diag(t, v, k) = gd[t->grow[t->dil[k]]];
}

/* K^0 = sb2 + sw2 G from src into dst (may be the same storage). */
static void tiles_layer0(const tiles_t *t, view_t src, view_t dst, double sw2, double sb2)
{
#pragma omp parallel for schedule(dynamic, 1)
    for (int jb = 0; jb < t->nbc; jb++) {
        int lds, ldd;
        const double *s = tiles_col(t, src, jb, &lds);
        double *d = tiles_col(t, dst, jb, &ldd);
        kernel_layer0(s, lds, tiles_ncol(t, jb), t->locr - t->il0[jb], sw2, sb2, d, ldd);
    }
}

/* One layer step in place (with th.a, Theta beside K in th, same layout; else th is ignored):
 * drow (locr values) and dcol (locc values) are the previous layer's
 * diagonals of the local rows' and columns' points. The step is symmetric in its two points, so
 * the transposed view (rows = local columns) gives the same values. Threads take block columns
 * (kernel_step's own loop then runs on one thread: nested regions are off), and every entry is
 * computed by the same code whatever the thread count. */
static void tiles_step(const tiles_t *t, view_t v, view_t th, const double *drow,
                       const double *dcol, double sw2, double sb2)
{
#pragma omp parallel for schedule(dynamic, 1)
    for (int jb = 0; jb < t->nbc; jb++) {
        int ld, ldt = 0, j0 = jb * t->nb;
        double *c = tiles_col(t, v, jb, &ld), *tc = th.a ? tiles_col(t, th, jb, &ldt) : NULL;
        kernel_step_ntk(c, ld, tc, ldt, tiles_ncol(t, jb), t->locr - t->il0[jb], dcol + j0,
                        drow + t->il0[jb], sw2, sb2);
    }
}

/* Held diagonal entries <- d[global] + s2. */
static void tiles_set_diag(const tiles_t *t, view_t v, const double *d, double s2)
{
    for (int k = 0; k < t->ndiag; k++)
        *tiles_diag(t, v, k) = d[t->grow[t->dil[k]]] + s2;
}

/* dst <- src over the computed tiles. */
static void tiles_copy(const tiles_t *t, view_t src, view_t dst)
{
    for (int jb = 0; jb < t->nbc; jb++) {
        int lds, ldd, nr = t->locr - t->il0[jb];
        const double *s = tiles_col(t, src, jb, &lds);
        double *d = tiles_col(t, dst, jb, &ldd);
        for (int j = 0; j < tiles_ncol(t, jb); j++)
            memcpy(d + (size_t)j * ldd, s + (size_t)j * lds, (size_t)nr * sizeof *d);
    }
}

/* out[l] = d[idx[l]] for l < n (a replicated diagonal gathered to local order). */
static void gather_diag(const int *idx, int n, const double *d, double *out)
{
    for (int l = 0; l < n; l++)
        out[l] = d[idx[l]];
}

/* Gathers a distributed m x n matrix (tiles t, local array a) to every rank as a row-major
 * m x n array (every entry is held by exactly one rank, so the sum is exact). */
static void tiles_allgather(const tiles_t *t, const double *a, double *out,
                            const par_comm_t *comm)
{
    memset(out, 0, (size_t)t->m * t->n * sizeof *out);
    for (int j = 0; j < t->locc; j++)
        for (int i = 0; i < t->locr; i++)
            out[(size_t)t->grow[i] * t->n + t->gcol[j]] = a[(size_t)j * t->lld + i];
    if (t->m > 0 && t->n > 0)
        par_sum_doubles(comm, out, (size_t)t->m * t->n);
}

/* ---- the work object ---- */

struct pgp_work {
    const pgp_grid_t *g;
    nngp_problem_t p;
    pgp_store_t store;
    tiles_t tt, ts, tv;          /* train x train (lower), train x test, train x validation */
    tiles_t ty, ms, mv;          /* train x targets, test x targets, validation x targets */
    double *sg, *sk;             /* packed lower tiles of the Gram matrix (GRAM) and of the
                                    current layer (GRAM, LAYER) */
    double *f;                   /* tt's full local array: K + s2 I, then its factor L */
    double *gs, *ks, *gv, *kv;   /* train x test / validation: Gram (GRAM) and current layer */
    double *alpha;               /* ty local: the targets, then (K + s2 I)^-1 Y */
    double *ms_loc, *mv_loc;     /* local means */
    double *mean_s, *mean_v;     /* gathered means, row-major ntest (nvalid) x ntargets */
    double *gd_t, *gd_s, *gd_v;  /* Gram diagonals |x|^2 / dim, replicated */
    double *kd_t, *kd_s, *kd_v;  /* the current layer's diagonals */
    double *kd_tmp;              /* FACTOR: the train diagonal while a kernel is rebuilt */
    /* p.ntk: the NTK Theta beside K (kernel.h), regressed with instead of K: its packed lower
     * train tiles (the store is LAYER or GRAM), test and validation tiles, diagonals */
    double *st, *ths, *thv;
    double *td_t, *td_s, *td_v;
    double *f_s, *f_v;           /* the test / validation kernel regressed with: ks, kv or ths, thv */
    double *fd_t, *fd_s;         /* and the diagonals: kd_* or td_* */
    double *drow, *dcol;         /* tt rows / columns: previous-layer diagonals, local order */
    double *dcol_s, *dcol_v;     /* ts / tv columns */
    double gram_seconds;
    /* The model whose factor (f), solution (alpha), test kernel (ks) and test diagonal (kd_s) w
     * holds, all at `depth`: a posterior of that model needs none of them again. Cleared by
     * anything that moves one of them on (layer0_all, step_all, factor_depth). */
    struct {
        int valid, depth, info;
        double sw2, sb2, noise_used;
    } held;
    double post_lml;             /* pgp_posterior_log_marginal */
    double post_seconds[NNGP_NPHASES];   /* pgp_posterior_seconds */
};

void pgp_work_destroy(pgp_work_t **pw)
{
    if (!pw || !*pw)
        return;
    pgp_work_t *w = *pw;
    tiles_free(&w->tt);
    tiles_free(&w->ts);
    tiles_free(&w->tv);
    tiles_free(&w->ty);
    tiles_free(&w->ms);
    tiles_free(&w->mv);
    double **arrays[] = {&w->sg, &w->sk, &w->f, &w->gs, &w->ks, &w->gv, &w->kv, &w->alpha,
                         &w->ms_loc, &w->mv_loc, &w->mean_s, &w->mean_v, &w->gd_t, &w->gd_s,
                         &w->gd_v, &w->kd_t, &w->kd_s, &w->kd_v, &w->kd_tmp, &w->drow, &w->dcol,
                         &w->dcol_s, &w->dcol_v, &w->st, &w->ths, &w->thv, &w->td_t, &w->td_s,
                         &w->td_v};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(*arrays[i]);
    free(w);
    *pw = NULL;
}

double pgp_work_gram_seconds(const pgp_work_t *w) { return w ? w->gram_seconds : 0.0; }

static size_t local_size(const tiles_t *t) { return (size_t)t->lld * (t->locc > 0 ? t->locc : 1); }

/* The NTK's arrays of w (p.ntk), flagging a failure in *fail. */
static void ntk_alloc(pgp_work_t *w, int *fail)
{
    const nngp_problem_t *p = &w->p;
    w->st = nn_alloc_doubles_or_flag(w->tt.packed, fail);
    w->ths = nn_alloc_doubles_or_flag(local_size(&w->ts), fail);
    if (p->nvalid > 0)
        w->thv = nn_alloc_doubles_or_flag(local_size(&w->tv), fail);
    w->td_t = nn_alloc_doubles_or_flag((size_t)p->ntrain, fail);
    w->td_s = nn_alloc_doubles_or_flag((size_t)p->ntest, fail);
    w->td_v = nn_alloc_doubles_or_flag((size_t)p->nvalid, fail);
}

pgp_work_t *pgp_work_create(const pgp_grid_t *g, const nngp_problem_t *p, pgp_store_t store)
{
    if (p->ntk && store < PGP_STORE_LAYER) {
        nn_fail(NN_ERR_INPUT, "pgp: the NTK keeps K beside Theta: store layer or gram, not "
                "factor");
        return NULL;
    }
    pgp_work_t *w = calloc(1, sizeof *w);
    int fail = w == NULL;
    if (w) {
        w->g = g;
        w->p = *p;
        w->store = store;
        int nt = p->ntrain, ns = p->ntest, nv = p->nvalid, nr = p->ntargets;
        fail |= tiles_init(&w->tt, nt, nt, g, 1) != 0;
        fail |= tiles_init(&w->ts, nt, ns, g, 0) != 0;
        fail |= tiles_init(&w->tv, nt, nv, g, 0) != 0;
        fail |= tiles_init(&w->ty, nt, nr, g, 0) != 0;
        fail |= tiles_init(&w->ms, ns, nr, g, 0) != 0;
        fail |= tiles_init(&w->mv, nv, nr, g, 0) != 0;
        if (!fail) {
            /* the factor's array starts zeroed, so its never-computed upper blocks are defined;
             * on ordinary pages (calloc) they are never made resident: 0.7 GiB less per rank at
             * n = 20000 on 2 ranks than on huge pages, which hold lower and upper parts alike */
            w->f = calloc(local_size(&w->tt), sizeof *w->f);
            fail |= w->f == NULL;
            /* the rest on huge pages, zeroed and faulted in at once (nn_alloc.h: faults of 4 KiB
             * pages took 18% of a rank's time on 8000 training points) */
            if (store >= PGP_STORE_LAYER)
                w->sk = nn_alloc_doubles_or_flag(w->tt.packed, &fail);
            if (store >= PGP_STORE_GRAM) {
                w->sg = nn_alloc_doubles_or_flag(w->tt.packed, &fail);
                w->gs = nn_alloc_doubles_or_flag(local_size(&w->ts), &fail);
                if (nv > 0)
                    w->gv = nn_alloc_doubles_or_flag(local_size(&w->tv), &fail);
            }
            w->ks = nn_alloc_doubles_or_flag(local_size(&w->ts), &fail);
            if (nv > 0)
                w->kv = nn_alloc_doubles_or_flag(local_size(&w->tv), &fail);
            w->alpha = nn_alloc_doubles_or_flag(local_size(&w->ty), &fail);
            w->ms_loc = nn_alloc_doubles_or_flag(local_size(&w->ms), &fail);
            w->mv_loc = nn_alloc_doubles_or_flag(local_size(&w->mv), &fail);
            w->mean_s = nn_alloc_doubles_or_flag((size_t)ns * nr, &fail);
            w->mean_v = nn_alloc_doubles_or_flag((size_t)nv * nr, &fail);
            w->gd_t = nn_alloc_doubles_or_flag((size_t)nt, &fail);
            w->gd_s = nn_alloc_doubles_or_flag((size_t)ns, &fail);
            w->gd_v = nn_alloc_doubles_or_flag((size_t)nv, &fail);
            w->kd_t = nn_alloc_doubles_or_flag((size_t)nt, &fail);
            w->kd_s = nn_alloc_doubles_or_flag((size_t)ns, &fail);
            w->kd_v = nn_alloc_doubles_or_flag((size_t)nv, &fail);
            w->kd_tmp = nn_alloc_doubles_or_flag((size_t)nt, &fail);
            w->drow = nn_alloc_doubles_or_flag((size_t)w->tt.locr, &fail);
            w->dcol = nn_alloc_doubles_or_flag((size_t)w->tt.locc, &fail);
            w->dcol_s = nn_alloc_doubles_or_flag((size_t)w->ts.locc, &fail);
            w->dcol_v = nn_alloc_doubles_or_flag((size_t)w->tv.locc, &fail);
            if (p->ntk)
                ntk_alloc(w, &fail);
        }
        w->f_s = p->ntk ? w->ths : w->ks;
        w->f_v = p->ntk ? w->thv : w->kv;
        w->fd_t = p->ntk ? w->td_t : w->kd_t;
        w->fd_s = p->ntk ? w->td_s : w->kd_s;
    }
    if (!all_ok(g->comm, !fail)) {
        pgp_work_destroy(&w);
        nn_fail(NN_ERR_NOMEM, "pgp: out of memory for the local kernel tiles (%d train, %d test, "
                "%d validation points on a %d x %d grid: %.3g GB per rank)", p->ntrain, p->ntest,
                p->nvalid, g->nprow, g->npcol,
                pgp_work_bytes(p->ntrain, p->ntest, p->nvalid, p->ntargets, g->nprow, g->npcol,
                               g->nb, store, p->ntk) * 1e-9);
        return NULL;
    }
    /* replicated diagonals, computed the same way on every rank */
    kernel_gram_diag(p->x_train, p->ntrain, p->dim, w->gd_t);
    kernel_gram_diag(p->x_test, p->ntest, p->dim, w->gd_s);
    if (p->nvalid > 0)
        kernel_gram_diag(p->x_valid, p->nvalid, p->dim, w->gd_v);
    if (store >= PGP_STORE_GRAM) {
        double t0 = timer_now();
        tiles_gram(&w->tt, (view_t){w->sg, 1}, p->x_train, p->x_train, p->dim, w->gd_t);
        tiles_gram(&w->ts, (view_t){w->gs, 0}, p->x_train, p->x_test, p->dim, NULL);
        if (p->nvalid > 0)
            tiles_gram(&w->tv, (view_t){w->gv, 0}, p->x_train, p->x_valid, p->dim, NULL);
        w->gram_seconds = timer_now() - t0;
    }
    return w;
}

/* K^0 of every kept block (validation only when with_valid) and of the diagonals. Without
 * stored Gram tiles they are computed first (their time goes to seconds[GRAM]). */
static void layer0_all(pgp_work_t *w, double sw2, double sb2, int with_valid, double *seconds)
{
    const nngp_problem_t *p = &w->p;
    w->held.valid = 0;
    int valid = with_valid && p->nvalid > 0;
    kernel_layer0(w->gd_t, 1, p->ntrain, 1, sw2, sb2, w->kd_t, 1);
    kernel_layer0(w->gd_s, 1, p->ntest, 1, sw2, sb2, w->kd_s, 1);
    if (valid)
        kernel_layer0(w->gd_v, 1, p->nvalid, 1, sw2, sb2, w->kd_v, 1);
    view_t sk = {w->sk, 1}, ks = {w->ks, 0}, kv = {w->kv, 0};
    if (w->store >= PGP_STORE_GRAM) {
        tiles_layer0(&w->tt, (view_t){w->sg, 1}, sk, sw2, sb2);
        tiles_layer0(&w->ts, (view_t){w->gs, 0}, ks, sw2, sb2);
        if (valid)
            tiles_layer0(&w->tv, (view_t){w->gv, 0}, kv, sw2, sb2);
        return;
    }
    double t0 = timer_now();
    if (w->store == PGP_STORE_LAYER)
        tiles_gram(&w->tt, sk, p->x_train, p->x_train, p->dim, w->gd_t);
    tiles_gram(&w->ts, ks, p->x_train, p->x_test, p->dim, NULL);
    if (valid)
        tiles_gram(&w->tv, kv, p->x_train, p->x_valid, p->dim, NULL);
    seconds[NNGP_PHASE_GRAM] += timer_now() - t0;
    if (w->store == PGP_STORE_LAYER)
        tiles_layer0(&w->tt, sk, sk, sw2, sb2);
    tiles_layer0(&w->ts, ks, ks, sw2, sb2);
    if (valid)
        tiles_layer0(&w->tv, kv, kv, sw2, sb2);
}

/* With the NTK, Theta^0 = K^0 of every kept block and diagonal (after layer0_all). */
static void ntk_layer0(pgp_work_t *w, int with_valid)
{
    const nngp_problem_t *p = &w->p;
    if (!p->ntk)
        return;
    int valid = with_valid && p->nvalid > 0;
    tiles_copy(&w->tt, (view_t){w->sk, 1}, (view_t){w->st, 1});
    tiles_copy(&w->ts, (view_t){w->ks, 0}, (view_t){w->ths, 0});
    if (valid)
        tiles_copy(&w->tv, (view_t){w->kv, 0}, (view_t){w->thv, 0});
    memcpy(w->td_t, w->kd_t, (size_t)p->ntrain * sizeof *w->td_t);
    memcpy(w->td_s, w->kd_s, (size_t)p->ntest * sizeof *w->td_s);
    if (valid)
        memcpy(w->td_v, w->kd_v, (size_t)p->nvalid * sizeof *w->td_v);
}

/* One layer l-1 -> l of every kept block; the diagonals advance last, since the off-diagonal
 * steps read the previous layer's diagonals. */
static void step_all(pgp_work_t *w, double sw2, double sb2, int with_valid)
{
    const nngp_problem_t *p = &w->p;
    w->held.valid = 0;
    int valid = with_valid && p->nvalid > 0;
    gather_diag(w->tt.grow, w->tt.locr, w->kd_t, w->drow);   /* ts, tv share tt's rows */
    gather_diag(w->tt.gcol, w->tt.locc, w->kd_t, w->dcol);
    gather_diag(w->ts.gcol, w->ts.locc, w->kd_s, w->dcol_s);
    if (w->store >= PGP_STORE_LAYER)
        tiles_step(&w->tt, (view_t){w->sk, 1}, (view_t){w->st, 1}, w->drow, w->dcol, sw2, sb2);
    tiles_step(&w->ts, (view_t){w->ks, 0}, (view_t){w->ths, 0}, w->drow, w->dcol_s, sw2, sb2);
    if (valid) {
        gather_diag(w->tv.gcol, w->tv.locc, w->kd_v, w->dcol_v);
        tiles_step(&w->tv, (view_t){w->kv, 0}, (view_t){w->thv, 0}, w->drow, w->dcol_v, sw2,
                   sb2);
    }
    kernel_diag_step(w->kd_t, p->ntrain, sw2, sb2);
    kernel_diag_step(w->kd_s, p->ntest, sw2, sb2);
    if (valid)
        kernel_diag_step(w->kd_v, p->nvalid, sw2, sb2);
    if (p->ntk) {   /* Theta^l(x,x) from K^l(x,x) and Theta^{l-1}(x,x) */
        kernel_ntk_diag_step(w->td_t, w->kd_t, p->ntrain, sw2);
        kernel_ntk_diag_step(w->td_s, w->kd_s, p->ntest, sw2);
        if (valid)
            kernel_ntk_diag_step(w->td_v, w->kd_v, p->nvalid, sw2);
        tiles_set_diag(&w->tt, (view_t){w->st, 1}, w->td_t, 0.0);
    }
    /* on the diagonal the step is the diagonal recursion: use its value exactly, as
     * kernel_step_sym does */
    if (w->store >= PGP_STORE_LAYER)
        tiles_set_diag(&w->tt, (view_t){w->sk, 1}, w->kd_t, 0.0);
}

/* f <- the lower tiles of K^depth + s2 I: copied from the kept layer, or (FACTOR) rebuilt from
 * the points by Gram, layer 0 and depth steps (time of the rebuild's Gram in seconds[GRAM]). */
static void build_kernel(pgp_work_t *w, int depth, double sw2, double sb2, double s2,
                         double *seconds)
{
    const tiles_t *t = &w->tt;
    view_t f = {w->f, 0};
    if (w->store >= PGP_STORE_LAYER) {   /* Theta with the NTK */
        tiles_copy(t, (view_t){w->p.ntk ? w->st : w->sk, 1}, f);
        tiles_set_diag(t, f, w->fd_t, s2);
        return;
    }
    const nngp_problem_t *p = &w->p;
    double t0 = timer_now();
    tiles_gram(t, f, p->x_train, p->x_train, p->dim, w->gd_t);
    seconds[NNGP_PHASE_GRAM] += timer_now() - t0;
    t0 = timer_now();
    tiles_layer0(t, f, f, sw2, sb2);
    kernel_layer0(w->gd_t, 1, p->ntrain, 1, sw2, sb2, w->kd_tmp, 1);
    for (int l = 1; l <= depth; l++) {
        gather_diag(t->grow, t->locr, w->kd_tmp, w->drow);
        gather_diag(t->gcol, t->locc, w->kd_tmp, w->dcol);
        tiles_step(t, f, (view_t){NULL, 0}, w->drow, w->dcol, sw2, sb2);
        kernel_diag_step(w->kd_tmp, p->ntrain, sw2, sb2);
        tiles_set_diag(t, f, w->kd_tmp, 0.0);
    }
    tiles_set_diag(t, f, w->kd_tmp, s2);
    seconds[NNGP_PHASE_RECURSION] += timer_now() - t0;
}

/* Factor of K^depth + s2 I in w->f, starting at s2 = noise and multiplying by 10 after each
 * failure while s2 <= noise_max, exactly as gp_factor (noise 0 starts the retries at 1e-12 x mean
 * diagonal, the same sum over the same diagonal values). Returns 0, NN_ERR_NOT_PD with
 * *noise_used and *info of the last attempt and the grid point in the message, or
 * NN_ERR_RUNTIME. */
static int factor_depth(pgp_work_t *w, int depth, double sw2, double sb2, double *noise_used,
                        int *info, double *seconds)
{
    const nngp_problem_t *p = &w->p;
    int n = p->ntrain, one = 1, attempts = 0;
    double noise = p->noise, noise_max = p->noise_max, s2 = noise;
    *noise_used = s2;
    *info = 0;
    w->held.valid = 0;
    if (n <= 0)
        return 0;
    double mean_diag = 0.0;
    for (int i = 0; i < n; i++)
        mean_diag += w->fd_t[i];
    mean_diag /= n;
    for (;;) {
        build_kernel(w, depth, sw2, sb2, s2, seconds);
        double t0 = timer_now();
        int inf = 0;
        pdpotrf_("L", &n, w->f, &one, &one, w->tt.desc, &inf, 1);
        /* info is global output; agree anyway (largest failing minor, any illegal argument) */
        int all[2] = {inf, -inf};
        par_max_ints(w->g->comm, all, 2);
        inf = all[1] > 0 ? -all[1] : all[0];
        seconds[NNGP_PHASE_FACTOR] += timer_now() - t0;
        attempts++;
        *info = inf;
        *noise_used = s2;
        if (inf == 0)
            return 0;
        if (inf < 0)
            return nn_fail(NN_ERR_RUNTIME, "pdpotrf: illegal argument %d (n = %d)", -inf, n);
        double next = s2 > 0.0 ? 10.0 * s2 : 1e-12 * (mean_diag > 0.0 ? mean_diag : 1.0);
        if (!(next <= noise_max * (1.0 + 1e-9)))   /* as gp_factor: 1e-6 x 10^3 counts as 1e-3 */
            break;
        s2 = next;
    }
    nn_fail(NN_ERR_NOT_PD,
            "Cholesky of K + s2 I failed (n = %d, %d x %d grid): leading minor %d not positive "
            "definite, ScaLAPACK info %d, at s2 = %.3g after %d attempts (noise %.3g, noise_max "
            "%.3g)", n, w->g->nprow, w->g->npcol, *info, *info, *noise_used, attempts, noise,
            noise_max);
    return nn_fail_context(NN_ERR_NOT_PD, "NNGP depth %d, sigma_w^2 = %g, sigma_b^2 = %g: ",
                           depth, sw2, sb2);
}

/* alpha = (K + s2 I)^-1 Y for every target column at once (the factor is in w->f, of the model
 * (depth, sw2, sb2) with noise s2 and info, which w then holds: see pgp_work.held). */
static int solve_targets(pgp_work_t *w, int depth, double sw2, double sb2, double s2, int inf)
{
    const tiles_t *t = &w->ty;
    const nngp_problem_t *p = &w->p;
    for (int j = 0; j < t->locc; j++)
        for (int i = 0; i < t->locr; i++)
            w->alpha[(size_t)j * t->lld + i] = p->y_train[(size_t)t->grow[i] * p->ntargets +
                                                          t->gcol[j]];
    int n = p->ntrain, nr = p->ntargets, one = 1, info = 0;
    if (n <= 0 || nr <= 0)
        return 0;
    pdpotrs_("L", &n, &nr, w->f, &one, &one, w->tt.desc, w->alpha, &one, &one, t->desc, &info, 1);
    if (!all_ok(w->g->comm, info == 0))
        return nn_fail(NN_ERR_RUNTIME, "pdpotrs: info %d (n = %d, %d targets)", info, n, nr);
    w->held.valid = 1;
    w->held.depth = depth;
    w->held.sw2 = sw2;
    w->held.sb2 = sb2;
    w->held.noise_used = s2;
    w->held.info = inf;
    return 0;
}

/* out (m x ntargets, row-major, every rank) = K_tX^T alpha for the m points of kx (tiles tx,
 * the train x points kernel), through the local means (tiles tm, local array loc). */
static void predict(pgp_work_t *w, const tiles_t *tx, const double *kx, const tiles_t *tm,
                    double *loc, double *out)
{
    int m = tx->n, n = w->p.ntrain, nr = w->p.ntargets, one = 1;
    double d_one = 1.0, d_zero = 0.0;
    if (m <= 0 || nr <= 0)
        return;
    if (n > 0)
        pdgemm_("T", "N", &m, &nr, &n, &d_one, kx, &one, &one, tx->desc, w->alpha, &one, &one,
                w->ty.desc, &d_zero, loc, &one, &one, tm->desc);
    else
        memset(loc, 0, local_size(tm) * sizeof *loc);
    tiles_allgather(tm, loc, out, w->g->comm);
}

/* log p(Y | X) = sum_c [-1/2 y_c^T alpha_c] - ntargets (sum_i log L_ii + n/2 log 2 pi), from the
 * local parts of alpha and of L's diagonal, summed over the grid. */
static double log_marginal(pgp_work_t *w)
{
    const nngp_problem_t *p = &w->p;
    const tiles_t *t = &w->ty;
    double sum[2] = {0.0, 0.0};   /* this rank's parts, then their sums */
    for (int j = 0; j < t->locc; j++)
        for (int i = 0; i < t->locr; i++)
            sum[0] += p->y_train[(size_t)t->grow[i] * p->ntargets + t->gcol[j]] *
                       w->alpha[(size_t)j * t->lld + i];
    view_t f = {w->f, 0};
    for (int k = 0; k < w->tt.ndiag; k++)
        sum[1] += log(*tiles_diag(&w->tt, f, k));
    par_sum_doubles(w->g->comm, sum, 2);
    return -0.5 * sum[0] - p->ntargets * (sum[1] + 0.5 * p->ntrain * log(2.0 * M_PI));
}

int pgp_item_run(pgp_work_t *w, double sw2, double sb2, nngp_result_t *r)
{
    const nngp_problem_t *p = &w->p;
    int rc = nngp_item_begin(p, r);
    if (rc <= 0)
        return rc;
    int lmax = p->depths[p->ndepth - 1];
    double t0 = timer_now();
    layer0_all(w, sw2, sb2, 1, r->seconds);
    ntk_layer0(w, 1);
    r->seconds[NNGP_PHASE_RECURSION] += timer_now() - t0 - r->seconds[NNGP_PHASE_GRAM];

    int di = 0;
    for (int l = 1; l <= lmax && di < p->ndepth; l++) {
        if (p->poll)
            p->poll();
        t0 = timer_now();
        step_all(w, sw2, sb2, 1);
        r->seconds[NNGP_PHASE_RECURSION] += timer_now() - t0;
        if (l != p->depths[di])
            continue;

        rc = factor_depth(w, l, sw2, sb2, &r->noise_used[di], &r->info[di], r->seconds);
        if (rc == NN_ERR_NOT_PD) {
            nngp_result_failed(r, di++);
            continue;
        }
        if (rc)
            return rc;

        t0 = timer_now();
        rc = solve_targets(w, l, sw2, sb2, r->noise_used[di], r->info[di]);
        if (rc)
            return rc;
        predict(w, &w->ts, w->f_s, &w->ms, w->ms_loc, w->mean_s);
        if (p->nvalid > 0)
            predict(w, &w->tv, w->f_v, &w->mv, w->mv_loc, w->mean_v);
        nngp_result_ok(r, di, p, w->mean_s, w->mean_v, log_marginal(w));
        r->seconds[NNGP_PHASE_SOLVE] += timer_now() - t0;
        di++;
    }
    return 0;
}

int pgp_work_holds(const pgp_work_t *w, int depth, double sw2, double sb2)
{
    return w->held.valid && w->held.depth == depth && w->held.sw2 == sw2 && w->held.sb2 == sb2;
}

/* V <- L^-1 V with the factor L in w->f and V in ts layout (the rank's test columns), on a grid
 * of one process row, where every rank holds every row: each column panel of L is broadcast by
 * the rank that holds it, and each rank solves its own columns of V with local BLAS (the
 * panel's triangle, then one GEMM below it), faster than pdtrsm there (README "Scale runs").
 * The broadcasts move n^2/2 doubles in all; the panel takes n nb doubles (pgp_posterior_bytes). Returns 0, or
 * NN_ERR_NOMEM on every rank. */
static int solve_lower_one_row(pgp_work_t *w, double *v)
{
    const pgp_grid_t *g = w->g;
    const tiles_t *t = &w->tt, *ts = &w->ts;
    int n = t->m, nb = t->nb, ncols = ts->locc;
    double *panel = malloc((size_t)n * nb * sizeof *panel);
    if (!all_ok(g->comm, panel != NULL)) {
        free(panel);
        return nn_fail(NN_ERR_NOMEM, "pgp_posterior: out of memory for a %d x %d panel", n, nb);
    }
    for (int kb = 0; kb * nb < n; kb++) {
        int k0 = kb * nb, width = n - k0 < nb ? n - k0 : nb, rows = n - k0, owner = kb % g->npcol;
        if (g->mycol == owner) {   /* its local block column kb / Q, from row k0 down */
            const double *src = w->f + (size_t)(kb / g->npcol) * nb * t->lld + k0;
            for (int j = 0; j < width; j++)
                memcpy(panel + (size_t)j * rows, src + (size_t)j * t->lld,
                       (size_t)rows * sizeof *panel);
        }
        /* from the owner's grid rank, which is its column */
        par_comm_bcast(g->comm, panel, (size_t)rows * width * sizeof *panel, owner);
        if (ncols <= 0)
            continue;
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, width, ncols,
                    1.0, panel, rows, v + k0, ts->lld);
        if (rows > width)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, rows - width, ncols, width, -1.0,
                        panel + width, rows, v + k0, ts->lld, 1.0, v + k0 + width, ts->lld);
    }
    free(panel);
    return NN_OK;
}

/* The covariance's test x test prior: the lower tiles (t, local array k) of the test points'
 * kernel, stepped layer by layer beside the item's recursion, and the test diagonal of the layer
 * before in local row and column order (drow, dcol). */
typedef struct {
    tiles_t t;
    double *k, *drow, *dcol;
    double *th;                  /* p.ntk: Theta's tiles beside k */
} test_prior_t;

/* Allocates a test prior of ns points over g into a zeroed tp. Returns 0, or 1 if this rank is
 * out of memory (test_prior_free releases what was allocated). */
static int test_prior_alloc(test_prior_t *tp, int ns, const pgp_grid_t *g, int ntk)
{
    int fail = tiles_init(&tp->t, ns, ns, g, 1) != 0;
    if (!fail) {
        tp->k = nn_alloc_doubles_or_flag(local_size(&tp->t), &fail);
        if (ntk)
            tp->th = nn_alloc_doubles_or_flag(local_size(&tp->t), &fail);
        tp->drow = nn_alloc_doubles_or_flag((size_t)tp->t.locr, &fail);
        tp->dcol = nn_alloc_doubles_or_flag((size_t)tp->t.locc, &fail);
    }
    return fail;
}

static void test_prior_free(test_prior_t *tp)
{
    free(tp->k);
    free(tp->th);
    free(tp->drow);
    free(tp->dcol);
    tiles_free(&tp->t);
}

/* Leaves in w the factor and the solution of the model (depth, sw2, sb2), and with tp (NULL:
 * none) its test prior. The item that factored this model usually left everything the mean and
 * variance need (a one-model job, the deepest depth of an item): then neither the kernel nor
 * the factor is built again, with the same bits. The test prior's recursion needs the test
 * diagonal of every layer, so it takes the whole path. *s2, *inf: the noise used and pdpotrf's
 * info. Returns 0 or the status of factor_depth or solve_targets. */
static int posterior_model(pgp_work_t *w, int depth, double sw2, double sb2, test_prior_t *tp,
                           double *s2, int *inf, double seconds[NNGP_NPHASES])
{
    const nngp_problem_t *p = &w->p;
    if (!tp && pgp_work_holds(w, depth, sw2, sb2)) {
        *s2 = w->held.noise_used;
        *inf = w->held.info;
        return 0;
    }
    view_t vss = {tp ? tp->k : NULL, 0}, vth = {tp ? tp->th : NULL, 0};
    if (tp) {
        tiles_gram(&tp->t, vss, p->x_test, p->x_test, p->dim, w->gd_s);
        tiles_layer0(&tp->t, vss, vss, sw2, sb2);
        if (vth.a)   /* Theta^0 = K^0 */
            tiles_copy(&tp->t, vss, vth);
    }
    double t0 = timer_now();
    layer0_all(w, sw2, sb2, 0, seconds);
    ntk_layer0(w, 0);
    for (int l = 1; l <= depth; l++) {
        if (p->poll)
            p->poll();
        if (tp) {   /* before kd_s advances */
            gather_diag(tp->t.grow, tp->t.locr, w->kd_s, tp->drow);
            gather_diag(tp->t.gcol, tp->t.locc, w->kd_s, tp->dcol);
            tiles_step(&tp->t, vss, vth, tp->drow, tp->dcol, sw2, sb2);
        }
        step_all(w, sw2, sb2, 0);
        if (tp)
            tiles_set_diag(&tp->t, vss, w->kd_s, 0.0);
        if (vth.a)
            tiles_set_diag(&tp->t, vth, w->td_s, 0.0);
    }
    seconds[NNGP_PHASE_RECURSION] += timer_now() - t0 - seconds[NNGP_PHASE_GRAM];
    int rc = factor_depth(w, depth, sw2, sb2, s2, inf, seconds);
    t0 = timer_now();
    if (rc == 0)
        rc = solve_targets(w, depth, sw2, sb2, *s2, *inf);
    seconds[NNGP_PHASE_SOLVE] += timer_now() - t0;
    return rc;
}

/* The log marginal likelihood (kept in w) and the test means (ntest x ntargets, row-major) of
 * the model w holds. */
static void posterior_mean(pgp_work_t *w, double *mean)
{
    w->post_lml = log_marginal(w);
    predict(w, &w->ts, w->f_s, &w->ms, w->ms_loc, mean);
}

/* var_j = kss_j - |L^-1 k_j|^2 for the ntest > 0 test points: V = L^-1 K_ts in place of w's
 * test kernel (which w then no longer holds: it is built again when asked for, and V stays
 * there for posterior_covariance), then column sums of squares into colsum (ntest doubles).
 * Returns 0 or NN_ERR_NOMEM (every rank). */
static int posterior_variance(pgp_work_t *w, double *colsum, double *var)
{
    const pgp_grid_t *g = w->g;
    const tiles_t *t = &w->ts;
    int nt = w->p.ntrain, ns = w->p.ntest, one = 1, rc;
    double *v = w->f_s, d_one = 1.0;
    w->held.valid = 0;
    if (nt > 0 && g->nprow == 1 && (rc = solve_lower_one_row(w, v)) != NN_OK)
        return rc;
    if (nt > 0 && g->nprow > 1)
        pdtrsm_("L", "L", "N", "N", &nt, &ns, &d_one, w->f, &one, &one, w->tt.desc, v, &one, &one,
                w->ts.desc);
    memset(colsum, 0, (size_t)ns * sizeof *colsum);
    for (int j = 0; j < t->locc; j++) {
        const double *vj = v + (size_t)j * t->lld;
        double s = 0.0;
        for (int i = 0; i < t->locr; i++)
            s += vj[i] * vj[i];
        colsum[t->gcol[j]] = s;
    }
    par_sum_doubles(g->comm, colsum, (size_t)ns);
    for (int j = 0; j < ns; j++)
        var[j] = w->fd_s[j] - colsum[j];   /* K^depth(x*, x*) (Theta^depth with the NTK) */
    return NN_OK;
}

/* cov (ntest x ntest, row-major, every rank) = Kss - V^T V with V from posterior_variance: the
 * lower triangle by pdsyrk into the test prior tp, gathered and mirrored. */
static void posterior_covariance(pgp_work_t *w, test_prior_t *tp, double *cov)
{
    const tiles_t *t = &tp->t;
    int nt = w->p.ntrain, ns = w->p.ntest, one = 1;
    double d_one = 1.0, d_mone = -1.0;
    if (nt > 0)
        pdsyrk_("L", "T", &ns, &nt, &d_mone, w->f_s, &one, &one, w->ts.desc, &d_one,
                tp->th ? tp->th : tp->k, &one, &one, t->desc);
    memset(cov, 0, (size_t)ns * ns * sizeof *cov);
    for (int j = 0; j < t->locc; j++)
        for (int i = 0; i < t->locr; i++) {
            int gi = t->grow[i], gj = t->gcol[j];
            if (gi < gj)
                continue;
            double x = (tp->th ? tp->th : tp->k)[(size_t)j * t->lld + i];
            cov[(size_t)gi * ns + gj] = x;
            if (gi != gj)
                cov[(size_t)gj * ns + gi] = x;
        }
    par_sum_doubles(w->g->comm, cov, (size_t)ns * ns);
}

int pgp_posterior(pgp_work_t *w, int depth, double sw2, double sb2, double *mean, double *var,
                  double *cov, double *noise_used, int *info)
{
    const nngp_problem_t *p = &w->p;
    const pgp_grid_t *g = w->g;
    int ns = p->ntest, fail = 0, rc = 0, inf = 0;
    if (depth < 0)
        return nn_fail(NN_ERR_INPUT, "pgp_posterior: depth %d < 0", depth);
    double seconds[NNGP_NPHASES] = {0}, s2 = 0.0;
    test_prior_t prior = {0}, *tp = cov ? &prior : NULL;
    double *colsum = nn_alloc_doubles_or_flag(ns, &fail);
    if (tp)
        fail |= test_prior_alloc(tp, ns, g, p->ntk);
    if (!all_ok(g->comm, !fail)) {
        rc = nn_fail(NN_ERR_NOMEM, "pgp_posterior: out of memory (%d train, %d test points, %d x "
                     "%d grid)", p->ntrain, ns, g->nprow, g->npcol);
        goto done;
    }
    rc = posterior_model(w, depth, sw2, sb2, tp, &s2, &inf, seconds);
    if (noise_used)
        *noise_used = s2;
    if (info)
        *info = inf;
    if (rc)
        goto done;
    double t0 = timer_now();
    posterior_mean(w, mean);
    seconds[NNGP_PHASE_SOLVE] += timer_now() - t0;
    t0 = timer_now();
    if (ns > 0 && (rc = posterior_variance(w, colsum, var)) != NN_OK)
        goto done;
    if (ns > 0 && tp)
        posterior_covariance(w, tp, cov);
    seconds[NNGP_PHASE_VARIANCE] += timer_now() - t0;
    memcpy(w->post_seconds, seconds, sizeof seconds);
done:
    free(colsum);
    test_prior_free(&prior);
    return rc;
}

double pgp_posterior_log_marginal(const pgp_work_t *w) { return w->post_lml; }

void pgp_posterior_seconds(const pgp_work_t *w, double seconds[NNGP_NPHASES])
{
    memcpy(seconds, w->post_seconds, sizeof w->post_seconds);
}

/* ---- memory ---- */

static size_t full_local(int m, int n, int nb, int r, int c, int nprow, int npcol)
{
    size_t lr = (size_t)numroc(m, nb, r, nprow), lc = (size_t)numroc(n, nb, c, npcol);
    return (lr > 1 ? lr : 1) * (lc > 1 ? lc : 1);
}

size_t pgp_work_bytes(int ntrain, int ntest, int nvalid, int ntargets, int nprow, int npcol,
                      int nb, pgp_store_t store, int ntk)
{
    if (nb <= 0)
        nb = PGP_NB_DEFAULT;
    size_t most = 0;
    for (int r = 0; r < nprow; r++)
        for (int c = 0; c < npcol; c++) {
            size_t packed = lower_packed(ntrain, nb, r, c, nprow, npcol);
            /* the factor's full local array: only its lower blocks are ever touched, and the
             * untouched pages (4 KiB) of the rest are never resident; a column's first touched
             * page is partly above them */
            size_t d = packed + (size_t)numroc(ntrain, nb, c, npcol) * (4096 / sizeof(double));
            size_t whole = full_local(ntrain, ntrain, nb, r, c, nprow, npcol);
            d = d < whole ? d : whole;
            d += (store >= PGP_STORE_LAYER ? packed : 0) + (store >= PGP_STORE_GRAM ? packed : 0);
            size_t kx = full_local(ntrain, ntest, nb, r, c, nprow, npcol) +
                        (nvalid > 0 ? full_local(ntrain, nvalid, nb, r, c, nprow, npcol) : 0);
            d += kx * (store >= PGP_STORE_GRAM ? 2 : 1);
            if (ntk)   /* Theta's train, test and validation tiles and diagonals */
                d += packed + kx + (size_t)ntrain + ntest + nvalid;
            d += full_local(ntrain, ntargets, nb, r, c, nprow, npcol) +
                 full_local(ntest, ntargets, nb, r, c, nprow, npcol) +
                 full_local(nvalid, ntargets, nb, r, c, nprow, npcol);
            d += (size_t)(ntest + nvalid) * ntargets;                 /* gathered means */
            d += 3 * (size_t)ntrain + 2 * (size_t)(ntest + nvalid);   /* diagonals */
            d += (size_t)numroc(ntrain, nb, r, nprow) + numroc(ntrain, nb, c, npcol) +
                 numroc(ntest, nb, c, npcol) + numroc(nvalid, nb, c, npcol);
            if (d > most)
                most = d;
        }
    return most * sizeof(double);
}

size_t pgp_posterior_bytes(int ntrain, int ntest, int nprow, int npcol, int nb, int cov)
{
    if (nb <= 0)
        nb = PGP_NB_DEFAULT;
    size_t most = 0;
    for (int r = 0; r < nprow; r++)
        for (int c = 0; c < npcol; c++) {
            size_t d = (size_t)ntest;   /* the variance's solve runs in place of the test kernel */
            if (nprow == 1)
                d += (size_t)ntrain * nb;   /* solve_lower_one_row's panel */
            if (cov)
                d += full_local(ntest, ntest, nb, r, c, nprow, npcol) +
                     numroc(ntest, nb, r, nprow) + numroc(ntest, nb, c, npcol);
            if (d > most)
                most = d;
        }
    return most * sizeof(double);
}

int pgp_store_choose(int ntrain, int ntest, int nvalid, int ntargets, int nprow, int npcol, int nb,
                     int cov, size_t budget, int ntk)
{
    size_t post = pgp_posterior_bytes(ntrain, ntest, nprow, npcol, nb, cov);
    for (int s = PGP_STORE_GRAM; s >= (ntk ? PGP_STORE_LAYER : PGP_STORE_FACTOR); s--)
        if (pgp_work_bytes(ntrain, ntest, nvalid, ntargets, nprow, npcol, nb, (pgp_store_t)s,
                           ntk) + post <= budget)
            return s;
    return -1;
}

/* ---- the self-check (nngp_check.h) ---- */

/* llt (ntrain x nrows, row-major) = L Ls^T with Ls the sampled rows of the factor in w->f (zero
 * right of the diagonal): the rows gathered to every rank, dealt out again as an ntrain x nrows
 * block-cyclic matrix, multiplied by pdtrmm, gathered. ls and b are work arrays of nrows x ntrain
 * doubles and of tb's local size. */
static void factor_rows_product(const pgp_work_t *w, const int *rows, int nrows,
                                const tiles_t *tb, double *ls, double *b, double *llt)
{
    const tiles_t *t = &w->tt;
    int n = w->p.ntrain, one = 1, pos_of[NNGP_CHECK_ROWS];
    double d_one = 1.0;
    memset(ls, 0, (size_t)nrows * n * sizeof *ls);
    for (int k = 0, il = 0; k < nrows; k++) {   /* rows and grow are ascending */
        while (il < t->locr && t->grow[il] < rows[k])
            il++;
        pos_of[k] = il < t->locr && t->grow[il] == rows[k] ? il : -1;
    }
    for (int k = 0; k < nrows; k++)
        for (int jl = 0; pos_of[k] >= 0 && jl < t->locc && t->gcol[jl] <= rows[k]; jl++)
            ls[(size_t)k * n + t->gcol[jl]] = w->f[(size_t)jl * t->lld + pos_of[k]];
    par_sum_doubles(w->g->comm, ls, (size_t)nrows * n);
    for (int jl = 0; jl < tb->locc; jl++)
        for (int il = 0; il < tb->locr; il++)
            b[(size_t)jl * tb->lld + il] = ls[(size_t)tb->gcol[jl] * n + tb->grow[il]];
    if (n > 0)
        pdtrmm_("L", "L", "N", "N", &n, &nrows, &d_one, w->f, &one, &one, t->desc, b, &one, &one,
                tb->desc);
    tiles_allgather(tb, b, llt, w->g->comm);
}

int pgp_posterior_check(const pgp_work_t *w, int depth, double sw2, double sb2, double s2,
                        nngp_check_t *check)
{
    const nngp_problem_t *p = &w->p;
    int n = p->ntrain, rows[NNGP_CHECK_ROWS], nrows = nngp_check_rows(n, rows), fail = 0;
    tiles_t tb;
    fail |= tiles_init(&tb, n, nrows, w->g, 0) != 0;
    double *ls = nn_alloc_doubles_or_flag((size_t)nrows * n, &fail);
    double *b = fail ? NULL : nn_alloc_doubles_or_flag(local_size(&tb), &fail);
    double *llt = nn_alloc_doubles_or_flag((size_t)n * nrows, &fail);
    double *alpha = nn_alloc_doubles_or_flag((size_t)n * p->ntargets, &fail);
    int rc = NN_OK;
    if (!all_ok(w->g->comm, !fail))
        rc = nn_fail(NN_ERR_NOMEM, "self-check: out of memory (%d train points, %d x %d grid)",
                     n, w->g->nprow, w->g->npcol);
    if (rc == NN_OK) {
        factor_rows_product(w, rows, nrows, &tb, ls, b, llt);
        tiles_allgather(&w->ty, w->alpha, alpha, w->g->comm);
        double *a = ls;   /* the gathered rows are used: the kernel rows take their place */
        rc = nngp_check_kernel_rows(p, rows, nrows, depth, sw2, sb2, s2, a);
        if (!all_ok(w->g->comm, rc == NN_OK))
            rc = rc ? rc : nn_fail(NN_ERR_NOMEM, "self-check: out of memory on another rank");
        else
            *check = nngp_check_residuals(p, rows, nrows, a, llt, alpha);
    }
    tiles_free(&tb);
    free(ls);
    free(b);
    free(llt);
    free(alpha);
    return rc;
}
