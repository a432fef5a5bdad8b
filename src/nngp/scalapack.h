/* scalapack.h - private prototypes of the BLACS, PBLAS and ScaLAPACK routines the pgp module, its
 * test and its benchmark call (Debian's libscalapack-openmpi ships no C header).
 * Local arrays are column-major; a descriptor is ScaLAPACK's int[9] (DTYPE, CTXT, M, N, MB, NB,
 * RSRC, CSRC, LLD). The ScaLAPACK drivers (pdpotrf, pdpotrs) are Fortran: their character
 * arguments carry gfortran's hidden length (size_t, by value, at the end). The PBLAS routines
 * (pdgemm, pdtrsm, pdsyrk) are written in C and take no hidden lengths. */
#ifndef NNGP_SCALAPACK_H
#define NNGP_SCALAPACK_H

#include <stddef.h>

/* ---- BLACS (C interface) ---- */
void Cblacs_pinfo(int *mypnum, int *nprocs);
/* Frees a BLACS system handle (par_blacs_handle makes them: the one BLACS call that takes an
 * MPI communicator lives in the parallel module). */
void Cfree_blacs_system_handle(int handle);
/* On entry *ctx is a system handle; on exit the context of an nprow x npcol grid, ranks placed
 * in row-major order ("Row"). Collective over the handle's communicator. */
void Cblacs_gridinit(int *ctx, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctx, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctx);

/* ---- ScaLAPACK tools ---- */
/* Rows (or columns) of an n-long dimension in blocks of nb that process iproc owns. */
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);

/* ---- PBLAS (C) ---- */
/* C(ic:, jc:) = alpha op(A) op(B) + beta C, m x n, inner dimension k. */
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja, const int *desca,
             const double *b, const int *ib, const int *jb, const int *descb, const double *beta,
             double *c, const int *ic, const int *jc, const int *descc);
/* B = alpha op(A)^-1 B (side "L") with A triangular; B m x n. */
void pdtrsm_(const char *side, const char *uplo, const char *transa, const char *diag,
             const int *m, const int *n, const double *alpha, const double *a, const int *ia,
             const int *ja, const int *desca, double *b, const int *ib, const int *jb,
             const int *descb);
/* B = alpha op(A) B (side "L") with A triangular (only its uplo triangle read); B m x n. */
void pdtrmm_(const char *side, const char *uplo, const char *transa, const char *diag,
             const int *m, const int *n, const double *alpha, const double *a, const int *ia,
             const int *ja, const int *desca, double *b, const int *ib, const int *jb,
             const int *descb);
/* C = alpha op(A) op(A)^T + beta C on the uplo triangle of the n x n C; trans "T": A is k x n. */
void pdsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
             const double *a, const int *ia, const int *ja, const int *desca, const double *beta,
             double *c, const int *ic, const int *jc, const int *descc);

/* PBLAS's logical block size (Fortran INTEGER FUNCTION); pgp.c defines its own (see there). */
int pilaenv_(const int *ictxt, const char *prec);

/* ---- ScaLAPACK (Fortran) ---- */
/* Cholesky of the n x n symmetric A: uplo "L" gives A = L L^T in the lower triangle (the strict
 * upper triangle is neither read nor written). info > 0: leading minor `info` not positive
 * definite (global output). */
void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, int *info, size_t uplo_len);
/* Solves A X = B with the factor from pdpotrf; B n x nrhs is overwritten by X. */
void pdpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *ia,
              const int *ja, const int *desca, double *b, const int *ib, const int *jb,
              const int *descb, int *info, size_t uplo_len);

#endif
