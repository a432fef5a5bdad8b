/* nn_alloc.h - large numeric buffers (kernel matrices, factors) on transparent huge pages.
 * A matrix of a few MiB touched for the first time costs one page fault per 4 KiB page, which
 * in a virtual machine is slower than the arithmetic that fills it; on 2 MiB pages the same
 * buffer faults a few times. Buffers of at least NN_ALLOC_HUGE_MIN bytes are aligned to 2 MiB,
 * advised MADV_HUGEPAGE (a hint: without THP they are ordinary pages) and zero-filled at once,
 * which faults their pages in one sweep: measured on this project's 2-core VM, cheaper than
 * faulting them one by one inside the first work item (n = 1000: 30-40 ms less per rank).
 * Smaller buffers come from malloc, uninitialized. */
#ifndef NN_ALLOC_H
#define NN_ALLOC_H

#include <stddef.h>

#define NN_ALLOC_HUGE_MIN ((size_t)1 << 21)

/* n doubles (at least one), or NULL when out of memory. Free with free(). */
double *nn_alloc_doubles(size_t n);
/* The same, and sets *fail = 1 on failure, so a run of allocations is checked once. */
double *nn_alloc_doubles_or_flag(size_t n, int *fail);

#endif
