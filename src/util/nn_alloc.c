/* nn_alloc.c - large numeric buffers on transparent huge pages (see nn_alloc.h). */
#define _GNU_SOURCE
#include "nn_alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

double *nn_alloc_doubles(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(double);
    if (bytes / sizeof(double) != (n ? n : 1))
        return NULL;
    if (bytes < NN_ALLOC_HUGE_MIN)
        return malloc(bytes);
    void *p = NULL;
    if (posix_memalign(&p, NN_ALLOC_HUGE_MIN, bytes) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);   /* a hint: failure leaves ordinary pages */
#endif
    memset(p, 0, bytes);   /* fault every page in now, in one sweep */
    return p;
}

double *nn_alloc_doubles_or_flag(size_t n, int *fail)
{
    double *p = nn_alloc_doubles(n);
    if (!p)
        *fail = 1;
    return p;
}
