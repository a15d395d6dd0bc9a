/* fmt.h -- number formatting: the shortest text that round-trips a double.
 *
 * fmt_double() prints what Python's repr(float) prints: the fewest significant
 * digits that strtod() reads back to the same bits (the nearest such decimal,
 * ties to an even last digit), in positional notation with a ".0" suffix for
 * integral values when the decimal exponent is in [-4, 16), and in exponent
 * notation ("1e-05", "1.5e+16") otherwise; "nan", "inf", "-inf", "-0.0" for
 * the special values.  fmt_doubles() and fmt_int64s() render whole columns,
 * one value a line, for the text view of a typed result.
 * Pure functions, safe from any thread; nothing is allocated, and neither
 * the locale nor the floating-point environment changes the output.
 * Speed: see README's Performance section, figure 15 (tests/bench).
 */
#ifndef MEMOFS_FMT_H
#define MEMOFS_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Large enough for any output of fmt_double(), including the NUL. */
#define FMT_DOUBLE_MAX 32
/* Large enough for one line of fmt_doubles() or fmt_int64s(): the longest
 * value ("-1.2345678901234567e-308", "-9223372036854775808") and '\n'. */
#define FMT_LINE_MAX 26

/* Writes the repr of x into buf (NUL-terminated, no newline) and returns its
 * length.  buf must hold FMT_DOUBLE_MAX bytes. */
size_t fmt_double(char *buf, double x);

/* Writes x[0], x[1], ... as fmt_double() prints them, each followed by
 * '\n', into buf (not NUL-terminated), as many whole lines as surely fit
 * in cap bytes: all n when cap >= n * FMT_LINE_MAX; fewer only when
 * fewer than FMT_LINE_MAX bytes are left.  Returns the bytes written and
 * sets *done (may be NULL) to the values written; the caller goes on from
 * x + *done.  cap < FMT_LINE_MAX writes nothing.  The bytes of buf past
 * the length returned (up to cap) may have been overwritten: scratch. */
size_t fmt_doubles(char *buf, size_t cap, const double *x, size_t n,
		   size_t *done);

/* The same for integers, in decimal ("-42\n"). */
size_t fmt_int64s(char *buf, size_t cap, const int64_t *x, size_t n,
		  size_t *done);

#endif
