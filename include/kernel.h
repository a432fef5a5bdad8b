/* kernel.h - the NNGP kernel of a fully connected ReLU network (arc-cosine recursion).
 *   K^0(x,x') = sb2 + sw2 (x.x') / N0
 *   K^l(x,x') = sb2 + sw2/(2 pi) sqrt(K^{l-1}(x,x) K^{l-1}(x',x')) (sin t + (pi - t) cos t),
 *              t = acos(K^{l-1}(x,x') / sqrt(K^{l-1}(x,x) K^{l-1}(x',x')))
 *   K^l(x,x)  = sb2 + sw2/2 K^{l-1}(x,x)
 * Matrices are row-major with a leading dimension. Plain arrays only: no MPI, no files, so the
 * distributed solver applies the same step to its own block-cyclic tiles. */
#ifndef KERNEL_H
#define KERNEL_H

/* G = X1 X2^T / dim: X1 (m1 x dim), X2 (m2 x dim), row-major; G (m1 x m2, leading dim ldg). */
void kernel_gram(const double *x1, int m1, const double *x2, int m2, int dim, double *g, int ldg);
/* G = X X^T / dim, symmetric (syrk); both triangles are filled. */
void kernel_gram_sym(const double *x, int m, int dim, double *g, int ldg);
/* diag[i] = |x_i|^2 / dim for the m rows of X. */
void kernel_gram_diag(const double *x, int m, int dim, double *diag);

/* K^0 from the Gram values: out = sb2 + sw2 * G elementwise (m1 x m2 block; out may equal g). */
void kernel_layer0(const double *g, int ldg, int m1, int m2, double sw2, double sb2,
                   double *out, int ldo);
/* One layer step in place on an m1 x m2 block of K^{l-1}, using the previous-layer diagonals of
 * the row points (d1, m1 values) and column points (d2, m2 values). Correlations are clamped
 * into [-1, 1]; a zero diagonal gives K^l = sb2 (no NaN). Call kernel_diag_step afterwards. */
void kernel_step(double *k, int ldk, int m1, int m2, const double *d1, const double *d2,
                 double sw2, double sb2);
/* As kernel_step on a square symmetric block (d1 = d2), touching only the lower triangle
 * (j <= i) and then mirroring it; about half the work. Off the diagonal the values are
 * bit-identical to kernel_step's; the diagonal is set by the diagonal recursion from d, so it
 * equals kernel_diag_step's value exactly. */
void kernel_step_sym(double *k, int ldk, int m, const double *d, double sw2, double sb2);
/* kernel_step_sym without the mirroring, for callers that read only the lower triangle: the
 * lower triangle (j <= i) gets K^l, the upper one is left as it was. Saves the mirror's pass over
 * memory (a transposed one) at every layer. */
void kernel_step_lower(double *k, int ldk, int m, const double *d, double sw2, double sb2);
/* kernel_layer0 on the lower triangle (j <= i) of a square m x m block only. */
void kernel_layer0_lower(const double *g, int ldg, int m, double sw2, double sb2, double *out,
                         int ldo);
/* The neural tangent kernel (Jacot et al. 2018, NTK parameterization as in neural-tangents) with
 * the same variances: Theta^0 = K^0, Theta^l = K^l + sw2 (pi - t^{l-1})/(2 pi) Theta^{l-1}, with
 * t^{l-1} the angle of the NNGP recursion above ((pi - t)/(2 pi) = E[relu'(u) relu'(v)]).
 * kernel_step_ntk is kernel_step (k gets the same K^l bits) that also steps th (Theta^{l-1} ->
 * Theta^l, the same block shape, leading dimension ldt) from the same angles; the _lower variant
 * is kernel_step_lower's, whose Theta diagonal comes from kernel_ntk_diag_step's expression with
 * td = Theta^{l-1}'s diagonal. */
void kernel_step_ntk(double *k, int ldk, double *th, int ldt, int m1, int m2, const double *d1,
                     const double *d2, double sw2, double sb2);
void kernel_step_ntk_lower(double *k, int ldk, double *th, int ldt, int m, const double *d,
                           const double *td, double sw2, double sb2);
/* kernel_step_sym with Theta alongside: both lower triangles stepped, then mirrored; th NULL:
 * kernel_step_sym. */
void kernel_step_ntk_sym(double *k, int ldk, double *th, int ldt, int m, const double *d,
                         const double *td, double sw2, double sb2);
/* tdiag <- kdiag + sw2/2 * tdiag: Theta^l(x,x) from K^l(x,x) (kdiag, already stepped) and
 * Theta^{l-1}(x,x) (tdiag), m values. */
void kernel_ntk_diag_step(double *tdiag, const double *kdiag, int m, double sw2);
/* diag <- sb2 + sw2/2 * diag (the diagonal recursion), m values. */
void kernel_diag_step(double *diag, int m, double sw2, double sb2);

#endif
