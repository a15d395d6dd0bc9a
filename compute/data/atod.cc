// atod.cc -- a C shim over libstdc++'s std::from_chars for double (see
// atod.h), which csv.c reads its number cells with.
//
// Why from_chars: GCC 12's libstdc++ implements it with fast_float (the
// Eisel-Lemire algorithm, falling back to exact big-decimal arithmetic for
// the rare inputs it cannot decide), correctly rounded for every input and
// locale-independent.  Measured on this project's machine in one run on
// the 5e6 x 8 CSV of 17 significant digits (README, Performance), it is
// what lets the parse stop paying an x87 division or glibc's strtod() a
// cell.  libdouble-conversion's StringToDouble is also correctly rounded
// but slower for 17-digit input (its fallback is bignum arithmetic).
//
// Where from_chars' grammar is not strtod()'s we decline (return 0) and
// the caller asks strtod(): a leading '+' (from_chars takes none; we skip
// it ourselves when a digit or '.' follows), inf and nan spellings, hex
// (chars_format::general reads "0x1p3" as "0" and stops), blanks, and
// results out of range (from_chars reports those instead of giving inf or
// 0, and leaves the value unset).
#include <charconv>
#include <cstddef>
#include <system_error>

#include "data/atod.h"

static bool atod_starts_number(char c)
{
	return (c >= '0' && c <= '9') || c == '.';
}

const char *atod_decimal(const char *s, const char *end, double *v)
{
	const char *p = s;
	bool neg = false;
	double x;

	if (p < end && (*p == '+' || *p == '-')) {
		neg = *p == '-';
		p++;
	}
	if (p == end || !atod_starts_number(*p))
		return NULL;
	auto r = std::from_chars(p, end, x, std::chars_format::general);
	if (r.ec != std::errc())
		return NULL;
	// Round to nearest is symmetric: the nearest double to -d is minus
	// the nearest to d ("-0" gives -0.0, as strtod()).
	*v = neg ? -x : x;
	return r.ptr;
}
