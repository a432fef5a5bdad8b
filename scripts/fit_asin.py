#!/usr/bin/python3
"""fit_asin.py - the coefficients of src/nngp/kernel.c's asin_poly.

asin(x) = x + x z P(z), z = x^2, 0 <= x <= 1/2: P of degree 11 is the least-squares fit of
(asin(sqrt z) - sqrt z) / z^1.5 on 400 Chebyshev nodes of [0, 1/4], solved in 50-digit
arithmetic (mpmath, Debian's python3-mpmath) and rounded to double. Prints the coefficients and
the largest relative error of x + x z P(z) (evaluated exactly with the rounded coefficients) at
3000 points of [0, 1/2].

Usage: /usr/bin/python3 scripts/fit_asin.py [DEGREE]
"""
import sys

import mpmath as mp

mp.mp.dps = 50


def target(z):
    if z == 0:
        return mp.mpf(1) / 6
    x = mp.sqrt(z)
    return (mp.asin(x) - x) / (z * x)


def fit(degree, npts=400):
    zs = [mp.mpf(1) / 8 - mp.mpf(1) / 8 * mp.cos(mp.pi * (k + mp.mpf(1) / 2) / npts)
          for k in range(npts)]
    a = mp.matrix(npts, degree + 1)
    b = mp.matrix(npts, 1)
    for i, z in enumerate(zs):
        for j in range(degree + 1):
            a[i, j] = z ** j
        b[i] = target(z)
    c = mp.lu_solve(a.T * a, a.T * b)
    return [float(c[j]) for j in range(degree + 1)]


def max_relative_error(coef, n=3000):
    worst = mp.mpf(0)
    for k in range(1, n + 1):
        x = mp.mpf(k) / n / 2
        z = x * x
        p = mp.mpf(0)
        for c in reversed(coef):
            p = p * z + mp.mpf(c)
        worst = max(worst, abs(x + x * z * p - mp.asin(x)) / mp.asin(x))
    return worst


def main():
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    coef = fit(degree)
    print("asin_poly[%d] = {%s}" % (len(coef), ", ".join(repr(c) for c in coef)))
    print("largest relative error: %s" % mp.nstr(max_relative_error(coef), 3))


if __name__ == "__main__":
    main()
