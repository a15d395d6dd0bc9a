/* fn_builtin.h -- the built-in column functions.
 *
 * column    the column's values, one per line (the costly intermediate;
 *           it sleeps *delay seconds first, to emulate a costly step)
 *           for every column: DS_INT64 values print as integers and
 *           DS_TEXT values escaped (fn_table.h)
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
 * fn_median sorts v. */
double fn_mean(const double *v, size_t n);
double fn_var(const double *v, size_t n);
double fn_extreme(const double *v, size_t n, int want_max);
double fn_median(double *v, size_t n);

#endif
