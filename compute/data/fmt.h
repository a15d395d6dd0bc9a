/* fmt.h -- number formatting: the shortest text that round-trips a double.
 *
 * fmt_double() prints what Python's repr(float) prints: the fewest significant
 * digits that strtod() reads back to the same bits, in positional notation
 * with a ".0" suffix for integral values when the decimal exponent is in
 * [-4, 16), and in exponent notation ("1e-05", "1.5e+16") otherwise;
 * "nan", "inf", "-inf", "-0.0" for the special values.
 * Pure functions, safe from any thread.
 */
#ifndef MEMOFS_FMT_H
#define MEMOFS_FMT_H

#include <stddef.h>

/* Large enough for any output of fmt_double(), including the NUL. */
#define FMT_DOUBLE_MAX 32

/* Writes the repr of x into buf (NUL-terminated, no newline) and returns its
 * length.  buf must hold FMT_DOUBLE_MAX bytes. */
size_t fmt_double(char *buf, double x);

#endif
