/* atod.h -- the C face of a correctly rounded decimal-to-double reader
 * (atod.cc): libstdc++'s std::from_chars for double, which since GCC 12
 * is Daniel Lemire's fast_float (the Eisel-Lemire algorithm, with an exact
 * big-decimal fallback), as Debian's libstdc++6 ships it.
 *
 * Only the plain decimal syntax; csv.c owns what a cell may hold and asks
 * strtod() about everything this declines.  Pure, safe from any thread,
 * nothing allocated, independent of the locale.
 */
#ifndef MEMOFS_ATOD_H
#define MEMOFS_ATOD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the decimal number at the start of [s, end) (no NUL needed): an
 * optional '+' or '-', digits with at most one '.' among them (at least
 * one digit), then, when 'e' or 'E', an optional sign and at least one
 * digit follow, the exponent; the longest such prefix, as strtod() takes
 * it ("1e+x" is 1 and stops at 'e').  Returns one past its last byte, with
 * *v the double nearest to it (ties to the even significand, subnormals
 * included): what strtod() of those bytes gives, bit for bit.  Returns
 * NULL and leaves *v alone when s starts with no such number (blanks, inf,
 * nan, a sign or '.' without digits; "0x1p3" reads as 0 and stops at 'x')
 * or when the number is too large for a double or so small that it rounds
 * to zero: strtod() must say (inf or 0, with errno ERANGE). */
const char *atod_decimal(const char *s, const char *end, double *v);

#ifdef __cplusplus
}
#endif

#endif
