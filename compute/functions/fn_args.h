/* fn_args.h -- the built-in functions of several arguments (resolve.h):
 *
 * quantile/Q/COLUMN     numpy.quantile(col, Q), default (linear) method;
 *                       Q a real in [0, 1]
 * percentile/P/COLUMN   numpy.percentile(col, P), P a real in [0, 100]
 * corr/COLUMN/COLUMN    Pearson correlation of the rows where both are
 *                       finite, as pandas' DataFrame.corr()
 * cov/COLUMN/COLUMN     covariance (ddof 1) of those rows, as
 *                       DataFrame.cov()
 * histogram/BINS/COLUMN numpy.histogram(col, BINS)'s counts, one integer
 *                       per line; BINS an integer in [1, 1000000]
 * var_ddof/DDOF/COLUMN, std_ddof/DDOF/COLUMN
 *                       variance and standard deviation with DDOF
 *                       (numpy's ddof): nan when a value is nan, as numpy
 * nanvar_ddof/DDOF/COLUMN, nanstd_ddof/DDOF/COLUMN
 *                       the same of the values that are not missing:
 *                       numpy's nanvar/nanstd(ddof=DDOF), and pandas'
 *                       var() and std() (skipna, ddof 1) at DDOF 1; nan
 *                       when DDOF >= that count (as pandas)
 * head/N/COLUMN, tail/N/COLUMN
 *                       the first or last N lines of column/COLUMN
 *
 * Every one reads its columns through column/colN (memofs_call()), so it
 * shares the one extraction with every other function.  Scalars are
 * written as Python's repr(float) prints them.
 */
#ifndef MEMOFS_FN_ARGS_H
#define MEMOFS_FN_ARGS_H

#include "functions/reg.h"

/* Registers them in r.  Returns 0 or reg_add()'s error. */
int fn_args_register(reg *r);

/* numpy.quantile(v, q) of the n values of v (linear method, q in [0,
 * 1]), bit for bit: sorts v in place; nan when a value is nan.  n > 0. */
double fn_quantile(double *v, size_t n, double q);

/* numpy.histogram(v, bins)'s counts into counts[0..bins): the range is
 * v's [min, max] (widened by 0.5 each way when they are equal; [0, 1]
 * for no values).  Returns 0, -EDOM when a value is nan or inf
 * (numpy raises ValueError), or -ERANGE when the range's width or bins
 * divided by it is not a finite double (values near +-DBL_MAX, a range
 * of a few subnormals: numpy fails with IndexError). */
int fn_histogram(const double *v, size_t n, size_t bins, size_t *counts);

/* pandas' nancorr over the rows i where x[i] and y[i] are both finite
 * (Welford's updates, in pandas' order): the Pearson correlation, or
 * with cov the covariance (ddof 1); nan below 1 pair or for a zero
 * divisor. */
double fn_nancorr(const double *x, const double *y, size_t n, int cov);

#endif
