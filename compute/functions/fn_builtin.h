/* fn_builtin.h -- the built-in column functions.
 *
 * column    the column's values (the costly intermediate; it sleeps
 *           *delay seconds first, to emulate a costly step), typed by the
 *           column's kind: a float64 or int64 column (text: one value per
 *           line, an int64 printed as an integer), or for a DS_TEXT column
 *           bytes, its values escaped one per line (fn_table.h)
 * sum mean var std min max median
 *           reductions of one numeric column (MEMOFS_ARGS_NUMERIC), each
 *           getting the column through the memo layer
 *           (memofs_call("column", ...)), never from the dataset, so every
 *           reduction of a column reuses one extraction.  A NaN (missing
 *           value) makes the result nan, as numpy's; the nan* functions
 *           of fn_table.h skip them.
 * Output is one number and a newline, as Python's repr(float) prints it.
 * var and std use ddof 0, like numpy.  fn_register_builtins() registers
 * fn_table.h's functions too.
 */
#ifndef MEMOFS_FN_BUILTIN_H
#define MEMOFS_FN_BUILTIN_H

#include "functions/reg.h"

/* Registers the built-ins in r.  delay (seconds, >= 0) is borrowed and
 * must outlive r.  Returns 0 or a negative errno from reg_add(). */
int fn_register_builtins(reg *r, const double *delay);

/* Accurate sum (Neumaier's compensated summation). */
double fn_sum(const double *v, size_t n);

/* numpy's mean, var (ddof 0), min/max (want_max) and median of v[0..n):
 * nan when a value is nan (median: or n is 0); fn_extreme needs n > 0;
 * fn_median sorts a copy: 0 and *out, or -ENOMEM. */
double fn_mean(const double *v, size_t n);
double fn_var(const double *v, size_t n);
double fn_extreme(const double *v, size_t n, int want_max);
int fn_median(const double *v, size_t n, double *out);

/* Is every value of v[0..n) finite (no inf, no nan)?  1 for n 0. */
int fn_all_finite(const double *v, size_t n);

/* The variance of v with ddof delta degrees of freedom: the sum of
 * squared deviations from the mean (two passes, Neumaier sums) divided
 * by n - ddof; nan when v is empty, holds a nan or inf, or n <= ddof
 * (pandas' answer; numpy's would be inf or nan with a warning); inf when
 * finite values overflow (numpy's answer).  fn_var is ddof 0. */
double fn_var_ddof(const double *v, size_t n, double ddof);

#endif
