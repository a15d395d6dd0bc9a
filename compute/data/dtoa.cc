// dtoa.cc -- a C shim over libfmt's Dragonbox (see dtoa.h).  The only C++
// in memofs: it lets fmt.c use a well-kept, published shortest-digits
// algorithm (Debian's libfmt-dev) instead of hand-written bignum code.
//
// Why libfmt and not libdouble-conversion: measured on this project's
// machine in one run (2e6 randn() values, one thread, CPU time), the
// digits alone took ~110 ns a value with libdouble-conversion 3.2.1's
// SHORTEST mode (Grisu3) and ~20 ns with libfmt 9.1's Dragonbox; only the
// latter leaves room for the 20 M values/s that column text needs.
// fmt::detail::dragonbox::to_decimal is exported by libfmt.so (FMT_API)
// and used by fmt's own "{}"; a libfmt that drops it fails to build here,
// it cannot change memofs's output silently (tests/test_fmt.c).
#include <fmt/format.h>

#include "data/dtoa.h"

uint64_t dtoa_shortest(double v, int *exp10)
{
	auto dec = fmt::detail::dragonbox::to_decimal(v);
	uint64_t sig = dec.significand;
	int e = dec.exponent;

	while (sig % 10 == 0) {		// normally done by Dragonbox already
		sig /= 10;
		e++;
	}
	*exp10 = e;
	return sig;
}
