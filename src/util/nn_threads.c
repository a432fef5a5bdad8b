/* nn_threads.c - the cores a rank may use, its thread count, and the BLAS threads (OpenBLAS's
 * openblas_set_num_threads, called here only). It does not pin threads: binding is the
 * launcher's job (mpirun --bind-to, srun --cpu-bind), and the mask it sets is read here. */
#define _GNU_SOURCE
#include "nn_threads.h"

#include <cblas.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static threads_layout_t current = {1, "default", 1, "default", 0, 1, 1};

int threads_mask_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

void threads_mask_key(unsigned char key[THREADS_MASK_BYTES])
{
    cpu_set_t set;
    memset(key, 0, THREADS_MASK_BYTES);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        memcpy(key, &set, sizeof set < THREADS_MASK_BYTES ? sizeof set : THREADS_MASK_BYTES);
}

/* The first number of a variable such as "4" or "4,2" (OpenMP's nesting list), or 0 if it does
 * not start with a positive number. */
static int leading_count(const char *text)
{
    if (!text)
        return 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || v < 1 || v > 1 << 20 || (*end && *end != ','))
        return 0;
    return (int)v;
}

threads_layout_t threads_choose(int mask_cores, int sharing, const char *slurm_cpus,
                                const char *omp)
{
    threads_layout_t l = {.cores = mask_cores, .cores_from = "affinity mask"};
    if (sharing > 1) {
        l.cores = mask_cores / sharing;
        l.cores_from = "affinity mask shared by the node's ranks";
    }
    int slurm = leading_count(slurm_cpus);
    if (slurm > 0 && slurm < l.cores) {
        l.cores = slurm;
        l.cores_from = "SLURM_CPUS_PER_TASK";
    }
    if (l.cores < 1)
        l.cores = 1;   /* more ranks than cores: each still runs */
    l.threads = l.cores;
    l.threads_from = "cores";
    int user = leading_count(omp);
    if (user > 0) {
        l.threads = user;
        l.threads_from = "OMP_NUM_THREADS";
    }
    return l;
}

void threads_set_layout(const threads_layout_t *layout)
{
    current = *layout;
}

const threads_layout_t *threads_layout(void)
{
    return &current;
}

int threads_set_blas(int n)
{
    int before = openblas_get_num_threads();
    if (n < 1)
        n = 1;
    if (n != before)
        openblas_set_num_threads(n);
    return before;
}

static int item_threads = 1;

void threads_set_item(int n)
{
    item_threads = n < 1 ? 1 : n;
}

int threads_item(void)
{
    return item_threads;
}

const char *threads_blas_name(void)
{
    static char name[160];
    if (!name[0])
        snprintf(name, sizeof name, "%s (%s kernels)", openblas_get_config(),
                 openblas_get_corename());
    return name;
}

void threads_describe(const threads_layout_t *l, char *buf, size_t len)
{
    char blas[96];
    if (l->threads_to_blas)
        snprintf(blas, sizeof blas, "%d BLAS thread(s) inside each item", l->threads);
    else
        snprintf(blas, sizeof blas, "1 BLAS thread per item side by side, %d for an item alone",
                 l->threads);
    snprintf(buf, len, "%d rank(s), %d on this node; a rank: %d core(s) (%s), %d thread(s) (%s); "
             "%s; %s", l->ranks, l->ranks_on_node, l->cores, l->cores_from, l->threads,
             l->threads_from, blas, threads_blas_name());
}
