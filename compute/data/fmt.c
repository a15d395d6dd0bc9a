/* fmt.c -- shortest round-trip text for a double (see fmt.h).
 *
 * The digits come from Dragonbox (Junekey Jeon, 2020), as Debian's libfmt
 * ships it (dtoa.cc): the fewest significant digits that read back to the
 * same double and, of those, the nearest, exactly.  That is the digit
 * string of David Gay's dtoa() in mode 0, which Python's repr() prints,
 * including its rule for a value exactly half-way between the two nearest
 * decimals of the shortest length: the even last digit wins (2^49 + 0.25
 * prints as 562949953421312.2; tests/test_fmt.c's test_ties and vectors
 * would catch a library that rounded otherwise).  The layout is Python's
 * (format_float_short()), done here.
 *
 * Neither printf() nor the locale is involved; nothing is allocated.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "data/dtoa.h"
#include "data/fmt.h"

/* The longest output: sign, 17 digits, point and a three-digit exponent. */
_Static_assert(FMT_DOUBLE_MAX >= sizeof("-1.2345678901234567e-308"),
	       "FMT_DOUBLE_MAX is too small");
_Static_assert(FMT_LINE_MAX >= sizeof("-1.2345678901234567e-308") &&
	       FMT_LINE_MAX >= sizeof("-9223372036854775808"),
	       "FMT_LINE_MAX is too small");

/* ---- digits ------------------------------------------------------------- */

static const char fmt_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

/* The number of decimal digits of u (1 for 0): log10 from the bit length
 * (1233 / 4096 ~ log10(2)), then one comparison. */
static int fmt_count_digits(uint64_t u)
{
	static const uint64_t pow10[20] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
		100000000, 1000000000, 10000000000, 100000000000,
		1000000000000, 10000000000000, 100000000000000,
		1000000000000000, 10000000000000000, 100000000000000000,
		1000000000000000000, 10000000000000000000u,
	};
	int t = (64 - __builtin_clzll(u | 1)) * 1233 >> 12;

	return t + (u >= pow10[t] || u == 0);	/* t <= 19 */
}

/* Writes the eight digits of u < 10^8, zero-padded, to p[0..8): four
 * independent table lookups, no loop-carried division. */
static void fmt_write8(char *p, uint32_t u)
{
	uint32_t hi = u / 10000, lo = u % 10000;

	memcpy(p, fmt_pairs + 2 * (hi / 100), 2);
	memcpy(p + 2, fmt_pairs + 2 * (hi % 100), 2);
	memcpy(p + 4, fmt_pairs + 2 * (lo / 100), 2);
	memcpy(p + 6, fmt_pairs + 2 * (lo % 100), 2);
}

/* Writes the seventeen digits of u < 10^17, zero-padded, to p[0..17). */
static void fmt_write17(char *p, uint64_t u)
{
	uint32_t hi = (uint32_t)(u / 100000000);	/* < 10^9 */

	p[0] = (char)('0' + hi / 100000000);
	fmt_write8(p + 1, hi % 100000000);
	fmt_write8(p + 9, (uint32_t)(u % 100000000));
}

/* Writes the n = fmt_count_digits(u) digits of u < 10^17 to p[0..n). */
static void fmt_write_digits(char *p, uint64_t u, int n)
{
	char all[17];

	fmt_write17(all, u);
	memcpy(p, all + 17 - n, (size_t)n);
}

/* Writes u in decimal at p (no NUL) and returns the new end. */
static char *fmt_put_uint(char *p, uint64_t u)
{
	int n = fmt_count_digits(u);

	if (n > 17) {		/* the top three digits of a huge int64 */
		p = fmt_put_uint(p, u / 100000000000000000u);
		fmt_write17(p, u % 100000000000000000u);
		return p + 17;
	}
	fmt_write_digits(p, u, n);
	return p + n;
}

/* ---- layout ------------------------------------------------------------- */

/* Each writes sig, of n digits, as 0.DIGITS * 10^decpt at p and returns
 * the new end.  The digits are written straight into place (the first
 * ones a byte to the right, then moved in front of the point). */

/* Exponent notation: "1e-05", "1.5e+300". */
static char *fmt_exponent(char *p, uint64_t sig, int n, int decpt)
{
	int e = decpt - 1;

	fmt_write_digits(p + 1, sig, n);
	p[0] = p[1];
	if (n > 1) {
		p[1] = '.';
		p += n + 1;
	} else {
		p++;
	}
	*p++ = 'e';
	*p++ = e < 0 ? '-' : '+';
	if (e < 0)
		e = -e;
	if (e >= 100)
		*p++ = (char)('0' + e / 100);
	memcpy(p, fmt_pairs + 2 * (e % 100), 2);
	return p + 2;
}

/* Positional notation, with at least one digit after the point: "0.0001",
 * "1.5", "1000000000000000.0". */
static char *fmt_positional(char *p, uint64_t sig, int n, int decpt)
{
	if (decpt <= 0) {
		*p++ = '0';
		*p++ = '.';
		memset(p, '0', (size_t)-decpt);
		p += -decpt;
		fmt_write_digits(p, sig, n);
		return p + n;
	}
	if (decpt < n) {
		fmt_write_digits(p + 1, sig, n);
		for (int i = 0; i < decpt; i++)
			p[i] = p[i + 1];
		p[decpt] = '.';
		return p + n + 1;
	}
	fmt_write_digits(p, sig, n);
	memset(p + n, '0', (size_t)(decpt - n));
	p += decpt;
	*p++ = '.';
	*p++ = '0';
	return p;
}

/* ---- entry points ------------------------------------------------------- */

/* Writes the repr of x at p (no NUL) and returns the new end. */
static char *fmt_put_double(char *p, double x)
{
	uint64_t bits, sig;
	int n, exp10, decpt;

	memcpy(&bits, &x, sizeof(bits));
	if ((bits & ~(UINT64_C(1) << 63)) >= UINT64_C(0x7ff0000000000000)) {
		if (isnan(x)) {
			memcpy(p, "nan", 3);
			return p + 3;
		}
		if (x < 0)
			*p++ = '-';
		memcpy(p, "inf", 3);
		return p + 3;
	}
	if (bits >> 63) {
		*p++ = '-';
		bits &= ~(UINT64_C(1) << 63);
		x = -x;
	}
	if (bits == 0) {
		memcpy(p, "0.0", 3);
		return p + 3;
	}
	sig = dtoa_shortest(x, &exp10);
	n = fmt_count_digits(sig);
	assert(n >= 1 && n <= 17);
	decpt = exp10 + n;		/* x = 0.DIGITS * 10^decpt */
	/* Python's repr() switches to exponent notation outside this range. */
	if (decpt > -4 && decpt <= 16)
		return fmt_positional(p, sig, n, decpt);
	return fmt_exponent(p, sig, n, decpt);
}

/* How far past a value's start fmt_put_fast() may write. */
#define FMT_FAST_SLACK 48

/* fmt_put_double() for a finite, nonzero, positive x, faster: the digits
 * and the point are copied in fixed-size blocks (no length-dependent
 * copies), so it writes up to FMT_FAST_SLACK bytes from p; the bytes past
 * the end it returns are left undefined. */
static char *fmt_put_fast(char *p, double x)
{
	char all[40];		/* 17 digits, then what the blocks read */
	const char *d;
	uint64_t sig;
	int n, exp10, decpt;

	sig = dtoa_shortest(x, &exp10);
	n = fmt_count_digits(sig);
	fmt_write17(all, sig);
	memset(all + 17, '0', sizeof(all) - 17);
	d = all + 17 - n;		/* the n digits */
	decpt = exp10 + n;		/* x = 0.DIGITS * 10^decpt */
	if (decpt <= 0 && decpt > -4) {	/* "0.00DIGITS" */
		memcpy(p, "0.000000", 8);
		p += 2 - decpt;
		memcpy(p, d, 17);
		return p + n;
	}
	if (decpt > 0 && decpt < n) {	/* "DI.GITS", decpt <= 16 */
		memcpy(p, d, 16);
		p[decpt] = '.';
		memcpy(p + decpt + 1, d + decpt, 16);
		return p + n + 1;
	}
	if (decpt > -4 && decpt <= 16)
		return fmt_positional(p, sig, n, decpt);
	return fmt_exponent(p, sig, n, decpt);
}

size_t fmt_double(char *buf, double x)
{
	char *p = fmt_put_double(buf, x);

	*p = '\0';
	assert(p - buf < FMT_DOUBLE_MAX);
	return (size_t)(p - buf);
}

size_t fmt_doubles(char *buf, size_t cap, const double *x, size_t n,
		   size_t *done)
{
	char *p = buf;
	size_t i = 0;

	/* While there is room for fmt_put_fast()'s blocks (and a sign). */
	for (; i < n && cap - (size_t)(p - buf) > FMT_FAST_SLACK; i++) {
		uint64_t bits;

		memcpy(&bits, &x[i], sizeof(bits));
		if ((bits << 1) - 2 < (UINT64_C(0x7ff0000000000000) << 1) - 2) {
			if (bits >> 63)		/* finite nonzero: the fast way */
				*p++ = '-';
			p = fmt_put_fast(p, fabs(x[i]));
		} else {
			p = fmt_put_double(p, x[i]);
		}
		*p++ = '\n';
	}
	for (; i < n && cap - (size_t)(p - buf) >= FMT_LINE_MAX; i++) {
		p = fmt_put_double(p, x[i]);
		*p++ = '\n';
	}
	if (done)
		*done = i;
	return (size_t)(p - buf);
}

/* Writes v in decimal at p and returns the new end. */
static char *fmt_put_int64(char *p, int64_t v)
{
	if (v >= 0)
		return fmt_put_uint(p, (uint64_t)v);
	*p++ = '-';
	/* The magnitude as unsigned: -INT64_MIN does not fit an int64_t. */
	return fmt_put_uint(p, 0 - (uint64_t)v);
}

size_t fmt_int64s(char *buf, size_t cap, const int64_t *x, size_t n,
		  size_t *done)
{
	char *p = buf;
	size_t i = 0;

	for (; i < n && cap - (size_t)(p - buf) >= FMT_LINE_MAX; i++) {
		p = fmt_put_int64(p, x[i]);
		*p++ = '\n';
	}
	if (done)
		*done = i;
	return (size_t)(p - buf);
}
