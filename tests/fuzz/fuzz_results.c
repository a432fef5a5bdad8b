/* fuzz_results.c - libFuzzer harness: the readers of results files, on mutations of real
 * nnsweep files (tests/fuzz/corpus/results, from tests/fuzz/make_results_seeds.sh). The input is
 * written as a file and read the ways nnsweep reads one:
 *   `nnsweep report --png DIR` (report_print: every experiment's tables, in text, markdown or
 *   csv by the input's size, and its figures);
 *   `--resume` of the job the file names in its job_text attribute: nngp_state_resume into the
 *   tables nngp_state_alloc makes for that job (each kernel, the [limit] and [network] stages),
 *   or cnn_state_resume; and, for a CNN checkpoint (root attribute run), cnn_ckpt_read with the
 *   sizes the file states (as a matching run would have them).
 * First the seal (h5seal_verify, which every reader runs through h5_open) checks the input; then
 * the readers run with NNSWEEP_IGNORE_SEAL=1, so that the mutated bytes reach libhdf5 and our
 * readers whatever the seal says, once libhdf5 alone has read the file without crashing or
 * hanging or taking seconds (libhdf5_survives; skipped before that: damaged global heaps, on
 * which it loops, global_heaps_sound).
 * Contract: each reader returns 0 or an error with a message (NN_ERR_INPUT for a bad file), never
 * crashes or leaks; what a resume accepts is what the drivers index with: CNN runs with epochs
 * >= 0 and their arrays, NNGP final fits of items inside the grid, checkpoints at a position
 * inside the run (0 <= epoch <= epochs, batch >= 0, step >= 0). Jobs too large for a fuzzer's
 * memory (a mutated job_text asking for 10^4 test points) are skipped. */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "h5io.h"
#include "job.h"
#include "nn_error.h"
#include "report.h"
#include "../../src/io/h5io_internal.h"
#include "../../src/sweep/cnn_state.h"
#include "../../src/sweep/nngp_state.h"

#define MAX_ELEMENTS (1u << 22)   /* skip jobs whose resume tables exceed this many values */

/* 1 when every global heap collection in the file (signature "GCOL", where libhdf5 keeps
 * variable-length strings: every root attribute) is well formed as libhdf5 1.10 walks it when it
 * loads it: version 1, length 4096 bytes or more and inside the file, objects one after the other
 * (a 16-byte header, then the size rounded up to 8; the free space, object 0, counts its header
 * in its size) up to the end. On a free space of size 0 libhdf5 1.10 loops forever
 * (tests/fuzz/libhdf5-crashes/README.md): such inputs are skipped, so that a run reports
 * nnsweep's faults, not that one. A damaged collection the readers never reach is skipped too: a
 * small loss, collections are a few KB of a file. */
static int global_heaps_sound(const uint8_t *d, size_t n)
{
    for (size_t at = 0; at + 16 <= n; at++) {
        if (d[at] != 'G' || d[at + 1] != 'C' || d[at + 2] != 'O' || d[at + 3] != 'L')
            continue;   /* (not memcmp: libFuzzer would take each call for a comparison to learn) */
        uint64_t len = 0;
        for (int b = 0; b < 8; b++)
            len |= (uint64_t)d[at + 8 + b] << 8 * b;
        if (d[at + 4] != 1 || len < 4096 || len > n - at)
            return 0;
        for (uint64_t p = 16; p + 16 <= len; ) {
            unsigned idx = d[at + p] | (unsigned)d[at + p + 1] << 8;
            uint64_t size = 0;
            for (int b = 0; b < 8; b++)
                size |= (uint64_t)d[at + p + 8 + b] << 8 * b;
            if (size > len)
                return 0;
            uint64_t need = idx ? 16 + ((size + 7) & ~(uint64_t)7) : size;
            if (need < 16 || need > len - p)
                return 0;
            p += need;
        }
    }
    return 1;
}

/* ---- libhdf5 alone first ----
 * libhdf5 1.10 is not built to survive damaged files: some make it crash, abort or loop inside
 * the library however correctly it is called (tests/fuzz/libhdf5-crashes/README.md). nnsweep
 * refuses such files before libhdf5 sees them (the seal). Here each input is first read by
 * libhdf5 alone in a child process, every attribute and dataset of every object the way
 * nnsweep's readers read them (strings, numbers converted to double); an input the child does
 * not survive in 5 s is skipped (and kept in $NNSWEEP_FUZZ_LIBHDF5_DIR, if set). What reaches
 * nnsweep's readers below has been read once by libhdf5 without harm, so a crash there is
 * nnsweep's. */

void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* Reads every value of attribute or dataset id (type, space) converted to double or strings. */
static void walk_values(hid_t id, int is_attr)
{
    hid_t type = is_attr ? H5Aget_type(id) : H5Dget_type(id);
    hid_t space = is_attr ? H5Aget_space(id) : H5Dget_space(id);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    if (n > 0 && n <= (1 << 22) && (cls == H5T_INTEGER || cls == H5T_FLOAT)) {
        double *v = malloc((size_t)n * sizeof *v);
        if (v)
            is_attr ? H5Aread(id, H5T_NATIVE_DOUBLE, v)
                    : H5Dread(id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        free(v);
    } else if (n > 0 && n <= (1 << 20) && cls == H5T_STRING) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(type));   /* as read_strings: no conversion refused */
        if (H5Tis_variable_str(type) > 0) {
            char **v = calloc((size_t)n, sizeof *v);
            H5Tset_size(mt, H5T_VARIABLE);
            if (v && (is_attr ? H5Aread(id, mt, v)
                              : H5Dread(id, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v)) >= 0)
                H5Dvlen_reclaim(mt, space, H5P_DEFAULT, v);
            free(v);
        } else {
            size_t sz = H5Tget_size(type) + 1;
            char *v = sz < (1 << 20) ? malloc((size_t)n * sz) : NULL;
            H5Tset_size(mt, sz);
            if (v)
                is_attr ? H5Aread(id, mt, v)
                        : H5Dread(id, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
            free(v);
        }
        H5Tclose(mt);
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
}

static herr_t walk_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0) {
        walk_values(a, 1);
        H5Aclose(a);
    }
    return 0;
}

static herr_t walk_link(hid_t fid, const char *name, const H5L_info_t *info, void *data)
{
    hid_t o = H5Oopen(fid, name, H5P_DEFAULT);
    if (o < 0)
        return 0;
    H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, walk_attr, NULL);
    if (H5Iget_type(o) == H5I_DATASET)
        walk_values(o, 0);
    H5Oclose(o);
    return 0;
}

/* CPU seconds libhdf5 alone may take to read every value of an input. A damaged length of a
 * variable-length string makes it allocate, clear and copy that many bytes in H5T__conv_vlen
 * (tests/fuzz/libhdf5-crashes/slow-H5T__conv_vlen-damaged-length: 512 MB, 2.9 s a read without
 * sanitizers, and report reads that list twice). Under ASan the inputs of a grown corpus took
 * 0.16 s or less but for two at 0.55 s, and 2.0-5.1 s for such damaged lengths. */
#define LIBHDF5_CPU_LIMIT 1.0

/* 1 when libhdf5 reads everything in the file at path without crashing, hanging or taking more
 * than LIBHDF5_CPU_LIMIT. */
static int libhdf5_survives(const char *path, const uint8_t *data, size_t size)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 1;   /* cannot tell: go ahead */
    if (pid == 0) {
        if (__sanitizer_set_death_callback)
            __sanitizer_set_death_callback(NULL);   /* a report here is not libFuzzer's crash */
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        signal(SIGALRM, SIG_DFL);
        alarm(5);
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (fid >= 0) {
            H5Aiterate2(fid, H5_INDEX_NAME, H5_ITER_INC, NULL, walk_attr, NULL);
            H5Lvisit(fid, H5_INDEX_NAME, H5_ITER_INC, walk_link, NULL);
            H5Fclose(fid);
        }
        _exit(0);
    }
    int status = 0;
    struct rusage use = {0};
    while (wait4(pid, &status, 0, &use) < 0 && errno == EINTR)
        ;
    double cpu = use.ru_utime.tv_sec + use.ru_stime.tv_sec +
                 1e-6 * (use.ru_utime.tv_usec + use.ru_stime.tv_usec);
    int slow = cpu > LIBHDF5_CPU_LIMIT;
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !slow;
    const char *keep = getenv("NNSWEEP_FUZZ_LIBHDF5_DIR");
    static int kept;
    if (!ok && keep && *keep && kept < 100) {
        char name[600];
        snprintf(name, sizeof name, "%s/%s-%ld-%d", keep,
                 slow ? "slow" : WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit",
                 (long)getpid(), kept++);
        for (char *c = name + strlen(keep) + 1; *c; c++)
            if (*c == ' ')
                *c = '_';
        FILE *f = fopen(name, "wb");
        if (f) {
            fwrite(data, 1, size, f);
            fclose(f);
        }
    }
    return ok;
}

static int ok_status(int rc)
{
    return rc == NN_OK || rc == NN_ERR_INPUT || rc == NN_ERR_NOMEM || rc == NN_ERR_RUNTIME;
}

/* What a resume starts from, read in one opening of the file: the root attributes job_text,
 * experiment and run (NULL when absent; caller frees) and a checkpoint's sizes (group_size,
 * epochs, nparams, nbuffers, nstate; -1 when absent). */
typedef struct {
    char *job_text, *experiment, *run;
    long long size[5];
} root_t;

static root_t read_root(const char *path)
{
    static const char *const sizes[5] = {"group_size", "epochs", "nparams", "nbuffers", "nstate"};
    root_t r = {NULL, NULL, NULL, {-1, -1, -1, -1, -1}};
    h5file_t *f = h5_open(path);
    if (!f)
        return r;
    if (h5_read_attr_str(f, "/", "job_text", &r.job_text) != NN_OK)
        r.job_text = NULL;
    if (h5_read_attr_str(f, "/", "experiment", &r.experiment) != NN_OK)
        r.experiment = NULL;
    if (h5_read_attr_str(f, "/", "run", &r.run) != NN_OK)
        r.run = NULL;
    for (int i = 0; r.run && i < 5; i++)
        if (h5_read_attr_int(f, "/", sizes[i], &r.size[i]) != NN_OK)
            r.size[i] = -1;
    h5_close(&f);
    return r;
}

/* The dataset a job's driver would have: only the sizes the state tables use. */
static dataset_t job_dataset(const job_t *job)
{
    dataset_t ds;
    memset(&ds, 0, sizeof ds);
    ds.spec = job->data;
    ds.train.n = job->data.train;
    ds.validation.n = job->data.validation;
    ds.test.n = job->data.test;
    ds.ntargets = job->data.nclasses == 2 ? 1 : job->data.nclasses;
    return ds;
}

/* Rough count of the values the NNGP tables of job hold; large when over MAX_ELEMENTS. */
static double nngp_elements(const job_t *job)
{
    double nd = job->nngp.depth.n, items = (double)job->nngp.sigma_w2.n * job->nngp.sigma_b2.n;
    double nt = job->data.test, nr = job->data.nclasses;
    double e = nd * items * 8 + nd * nt * (nr + 1 + (job->nngp.covariance ? nt : 0)) * 2;
    if (job->limit.enabled)
        e += nd * job->limit.widths.n * 5;
    if (job->network.enabled)
        e += nd * job->network.widths.n * job->network.seeds.n * (8 + 4.0 * job->network.epochs +
                                                                  nt * nr);
    return e;
}

static void resume_nngp(const char *path, const job_t *job)
{
    if (nngp_elements(job) > MAX_ELEMENTS || job->nngp.depth.n > NNGP_MAX_DEPTHS)
        return;
    dataset_t ds = job_dataset(job);
    for (int ntk = 0, first = 1; ntk < 2; ntk++) {
        if (!(job->nngp.kernels & (ntk ? KERNEL_NTK : KERNEL_NNGP)))
            continue;
        nngp_state_t s;
        int rc = nngp_state_alloc(&s, job, &ds, ntk, first);
        first = 0;
        if (rc == NN_OK) {
            rc = nngp_state_resume(&s, path);
            FUZZ_CHECK(ok_status(rc), "nngp_state_resume status");
        }
        if (rc == NN_OK && job->nngp.search_train)
            for (int d = 0; d < s.nd; d++)
                FUZZ_CHECK(s.final.item[d] >= -1 && s.final.item[d] < s.nitems,
                           "a resumed final fit is an item of the grid");
        if (rc == NN_OK) {
            nngp_check_t worst;
            int nchecked;
            nngp_self_check(&s, &worst, &nchecked);
        }
        nngp_state_free(&s);
    }
}

static void resume_cnn(const char *path, const job_t *job)
{
    if ((double)job->data.nclasses * job->data.nclasses > MAX_ELEMENTS)
        return;
    dataset_t ds = job_dataset(job);
    cnn_state_t s;
    memset(&s, 0, sizeof s);
    s.job = job;
    s.ds = &ds;
    s.nruns = job->cnn.nvariants ? job->cnn.nvariants : 1;
    for (int i = 0; i < s.nruns; i++) {
        s.specs[i] = job->cnn.nvariants ? &job->cnn.variants[i] : &job->cnn.base;
        s.runs[i].spec = s.specs[i];
    }
    int rc = cnn_state_resume(&s, path);
    FUZZ_CHECK(ok_status(rc), "cnn_state_resume status");
    for (int i = 0; rc == NN_OK && i < s.nruns; i++)
        if (s.runs[i].done)
            FUZZ_CHECK(s.runs[i].epochs >= 0 && s.runs[i].curve[0] && s.runs[i].confusion &&
                       s.runs[i].weights, "a resumed run has its arrays");
    if (rc == NN_OK) {
        int nchecked;
        cnn_self_check(&s, &nchecked);
    }
    for (int i = 0; i < s.nruns; i++) {   /* as sweep_cnn frees them */
        free(s.runs[i].curve[0]);
        free(s.runs[i].confusion);
        free(s.runs[i].weights);
    }
}

/* cnn_ckpt_read with the sizes the file states (a run whose network and group match), when they
 * are plausible (group_size 1..64, the others 0..2^20). */
static void read_checkpoint(const char *path, const root_t *r)
{
    for (int i = 0; i < 5; i++)
        if (r->size[i] < (i == 0) || r->size[i] > (i == 0 ? 64 : 1 << 20))
            return;
    cnn_ckpt_t k;
    memset(&k, 0, sizeof k);
    k.group_size = (int)r->size[0];
    k.epochs = (int)r->size[1];
    k.nparams = (size_t)r->size[2];
    k.nbuffers = (size_t)r->size[3];
    k.nstate = (size_t)r->size[4];
    size_t g = (size_t)k.group_size, E = k.epochs ? (size_t)k.epochs : 1;
    k.params = malloc((k.nparams + 1) * sizeof(float));
    k.opt_state = malloc((k.nstate + 1) * sizeof(float));
    k.buffers = malloc((g * k.nbuffers + 1) * sizeof(float));
    k.sums = malloc(g * 2 * sizeof(double));
    k.curve[0] = malloc(CNN_NCURVES * E * sizeof(double));
    for (int c = 1; c < CNN_NCURVES; c++)
        k.curve[c] = k.curve[0] ? k.curve[0] + c * E : NULL;
    if (k.params && k.opt_state && k.buffers && k.sums && k.curve[0]) {
        int rc = cnn_ckpt_read(path, r->job_text, r->run, &k);
        FUZZ_CHECK(rc == NN_OK || rc == CNN_CKPT_NONE || rc == CNN_CKPT_MISMATCH ||
                   ok_status(rc), "cnn_ckpt_read status");
        if (rc == NN_OK)
            FUZZ_CHECK(k.epoch >= 0 && k.epoch <= k.epochs && k.batch >= 0 && k.step >= 0 &&
                       k.optimizer_steps >= 0, "a checkpoint's position is inside its run");
    }
    free(k.params);
    free(k.opt_state);
    free(k.buffers);
    free(k.sums);
    free(k.curve[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    static const char *png_dir;
    fuzz_quiet();
    if (!devnull) {
        /* HDF5 frees a file's 600 KB metadata cache at every close, above its free-list
         * limits (64 KB a list), and ASan then maps and clears it anew at every open: a third
         * of the time. Free lists of 16 MB (64 MB in all) keep it; unlimited ones grew to
         * hundreds of MB in a long run. HDF5's own blocks only; nnsweep's memory is unchanged. */
        H5set_free_list_limits(64 << 20, 16 << 20, 64 << 20, 16 << 20, 64 << 20, 16 << 20);
        devnull = fopen("/dev/null", "w");
        FUZZ_CHECK(devnull != NULL, "open /dev/null");
        png_dir = fuzz_path("png");
        FUZZ_CHECK(mkdir(png_dir, 0700) == 0 || errno == EEXIST, "figure directory");
    }
    const char *path = fuzz_file("results.h5", data, size);
    /* the seal's own parser, as h5_open runs it; then past it, as an edited file is read */
    unsetenv("NNSWEEP_IGNORE_SEAL");
    nn_error_clear();
    int seal = h5seal_verify(path);
    FUZZ_CHECK(seal == NN_OK || (seal == NN_ERR_INPUT && nn_errmsg()[0]), "h5seal_verify status");
    setenv("NNSWEEP_IGNORE_SEAL", "1", 1);
    if (!global_heaps_sound(data, size))
        return 0;
    if (!libhdf5_survives(path, data, size))
        return 0;

    nn_error_clear();
    /* the figures on a quarter of the inputs (by size, independent of the format): drawing
     * them is half of an input's time, and the readers before them are the same */
    int rc = report_print(path, devnull, (report_format_t)(size % 3),
                          size / 3 % 4 == 0 ? png_dir : NULL);
    FUZZ_CHECK(ok_status(rc), "report_print status");
    FUZZ_CHECK(rc == NN_OK || nn_errmsg()[0], "a failed report says why");
    /* text from the file that is not UTF-8 is drawn as "?", never handed to cairo, which would
     * stop drawing the figure (regress/results/figure-text-not-utf8.h5) */
    FUZZ_CHECK(rc == NN_OK || !strstr(nn_errmsg(), "not valid UTF-8"), "figure text is UTF-8");

    root_t r = read_root(path);
    job_t job;
    if (r.job_text && job_parse(r.job_text, "job_text", &job) == NN_OK) {
        if (r.run)
            read_checkpoint(path, &r);
        else if (r.experiment && strcmp(r.experiment, "nngp") == 0 && job.nngp.enabled)
            resume_nngp(path, &job);
        else if (r.experiment && strcmp(r.experiment, "cnn") == 0 && job.cnn.enabled)
            resume_cnn(path, &job);
        job_free(&job);
    }
    free(r.job_text);
    free(r.experiment);
    free(r.run);
    return 0;
}
