/* lapack.h - private prototypes of the Fortran LAPACK routines the nngp module and its tests call
 * (Debian ships no lapacke.h with OpenBLAS). BLAS comes from <cblas.h>. Arrays are column-major;
 * character arguments carry gfortran's hidden length argument (size_t, passed by value). */
#ifndef NNGP_LAPACK_H
#define NNGP_LAPACK_H

#include <stddef.h>

/* Cholesky A = U^T U (uplo "U") or L L^T ("L"); info > 0: leading minor `info` not PD. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info,
             size_t uplo_len);
/* LU with partial pivoting (used by the tests for determinants). */
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
/* Solves A X = B by LU (used by the tests as an independent inverse). */
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b,
            const int *ldb, int *info);
/* Eigenvalues (jobz "N") or eigenpairs ("V") of a symmetric matrix (used by the tests). */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, size_t jobz_len,
            size_t uplo_len);

#endif
