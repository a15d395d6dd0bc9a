/* fn_builtin.h -- the built-in column functions.
 *
 * column    the column's values, one per line (the costly intermediate;
 *           it sleeps *delay seconds first, to emulate a costly step)
 * sum mean var std min max median count
 *           reductions of one column, each getting the column through the
 *           memo layer (memofs_call("column", ...)), never from the dataset,
 *           so every reduction of a column reuses one extraction.
 * Output is one number and a newline, as Python's repr(float) prints it
 * (count prints an integer).  var and std use ddof 0, like numpy.
 */
#ifndef MEMOFS_FN_BUILTIN_H
#define MEMOFS_FN_BUILTIN_H

#include "functions/reg.h"

/* Registers the built-ins in r.  delay (seconds, >= 0) is borrowed and
 * must outlive r.  Returns 0 or a negative errno from reg_add(). */
int fn_register_builtins(reg *r, const double *delay);

/* Accurate sum (Neumaier's compensated summation). */
double fn_sum(const double *v, size_t n);

/* The variance of v with ddof delta degrees of freedom: the sum of
 * squared deviations from the mean (two passes, Neumaier sums) divided
 * by n - ddof; nan when v is empty, holds a nan or inf, or n <= ddof
 * (pandas' answer; numpy's would be inf or nan with a warning). */
double fn_var_ddof(const double *v, size_t n, double ddof);

#endif
