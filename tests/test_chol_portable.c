/* test_chol_portable.c - test_chol.c's checks run on chol.c's portable leaf solve, the one that
 * builds without AVX-512 use (this file compiles chol.c itself with CHOL_PORTABLE, so the
 * library's copy is not linked). */
#define CHOL_PORTABLE 1
#include "../src/nngp/chol.c"
#include "test_chol.c"
