/* fn_table.h -- the built-in functions for real-world tables: missing
 * values, counting, and columns of any kind (ds.h's DS_INT64, DS_TEXT).
 *
 * nansum nanmean nanvar nanstd nanmin nanmax nanmedian
 *           numpy's nan* reductions of a numeric column: missing values
 *           (NaN) are skipped; nansum of none is 0.0, the others of none
 *           are nan (numpy warns and returns nan).  ddof 0.
 * count     the column's values that are not missing (pandas' count), on
 *           every column; an integer.
 * size      the column's rows, missing or not (pandas' size); an integer.
 * nunique   the distinct values that are not missing (pandas' nunique).
 * value_counts
 *           one line per distinct value that is not missing: the value as
 *           column/NAME prints it, a tab, its count; most frequent first,
 *           ties in the order the values first appear (pandas'
 *           value_counts() order; pandas leaves ties beyond 16 distinct
 *           values in the unspecified order of its sort).  -0.0 and 0.0
 *           are one value, printed as the first seen.
 *
 * Typed (memofs.h): the nan* reductions are float64 scalars, count, size
 * and nunique int64 scalars (each with its NAME.npy view); value_counts
 * is bytes.
 *
 * Text values (column/NAME of a DS_TEXT column, value_counts) are printed
 * one per line, escaped so that a value is always one line: a backslash
 * as \\, a line feed as \n, a carriage return as \r, a tab as \t; other
 * bytes as they are.  A missing text value prints as an empty line (a
 * present value is never empty: CSV reads an empty cell as missing).
 */
#ifndef MEMOFS_FN_TABLE_H
#define MEMOFS_FN_TABLE_H

#include <stddef.h>

#include "functions/reg.h"

/* Moves the values of v[0..n) that are not NaN to its front, in order;
 * returns how many. */
size_t fn_drop_nan(double *v, size_t n);

/* Registers the functions above in r.  0 or reg_add()'s error. */
int fn_register_table(reg *r);

/* Writes column col (DS_TEXT: column's bytes result for it) as
 * column/NAME shows it: one value per line, escaped (an int64 column's
 * integers as integers).  0 or a negative errno. */
int fn_table_column(memofs_ctx *ctx, size_t col);

#endif
