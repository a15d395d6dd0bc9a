/* fmt.c -- shortest round-trip text for a double (see fmt.h).
 *
 * The digits are found exactly, with small big integers, by the
 * free-format algorithm of Steele & White as refined by Burger & Dybvig
 * ("Printing Floating-Point Numbers Quickly and Accurately", PLDI 1996).
 * The value v and the half-way points to its two neighbours become the
 * ratios r/s, (r + mp)/s and (r - mm)/s; each step multiplies by ten and
 * takes one digit, and generation stops as soon as the digits so far name a
 * decimal inside that rounding interval.  The last digit then goes to the
 * nearer of its two candidates, ties to an even digit.  This is the digit
 * string of David Gay's dtoa() in mode 0, which is what Python's repr()
 * prints; the layout rules are Python's too (format_float_short()).
 *
 * Neither printf() nor strtod() is involved, so the output does not depend
 * on the locale, and nothing is allocated: the big integers (under 1 KB)
 * live on the caller's stack.  A typical double takes about a microsecond,
 * three times a printf("%.17g").
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "data/fmt.h"

/* The longest output: sign, 17 digits, point and a three-digit exponent. */
_Static_assert(FMT_DOUBLE_MAX >= sizeof("-1.2345678901234567e-308"),
	       "FMT_DOUBLE_MAX is too small");

/* ---- big integers ------------------------------------------------------- */

/* Limbs of a big integer.  Values stay below 2^1100 (35 limbs): s is at
 * most about 2^1080, for the smallest doubles, and r + mp < 10 s. */
#define BN_LIMBS 40

typedef struct {
	int n;				/* limbs in use; d[n - 1] != 0 */
	uint32_t d[BN_LIMBS];		/* base 2^32, least significant first */
} bn;

static void bn_set(bn *a, uint64_t v)
{
	a->n = 0;
	while (v) {
		a->d[a->n++] = (uint32_t)v;
		v >>= 32;
	}
}

/* a *= 2^bits. */
static void bn_shl(bn *a, unsigned bits)
{
	unsigned limbs = bits / 32, sh = bits % 32;
	uint32_t carry = 0;

	if (a->n == 0)
		return;
	assert(a->n + (int)limbs + 1 <= BN_LIMBS);
	for (int i = a->n - 1; i >= 0; i--)
		a->d[i + limbs] = a->d[i];
	memset(a->d, 0, limbs * sizeof(a->d[0]));
	a->n += (int)limbs;
	if (sh == 0)
		return;
	for (int i = (int)limbs; i < a->n; i++) {
		uint32_t x = a->d[i];

		a->d[i] = x << sh | carry;
		carry = x >> (32 - sh);
	}
	if (carry)
		a->d[a->n++] = carry;
}

/* a *= m. */
static void bn_mul_small(bn *a, uint32_t m)
{
	uint64_t carry = 0;

	for (int i = 0; i < a->n; i++) {
		uint64_t t = (uint64_t)a->d[i] * m + carry;

		a->d[i] = (uint32_t)t;
		carry = t >> 32;
	}
	if (carry) {
		assert(a->n < BN_LIMBS);
		a->d[a->n++] = (uint32_t)carry;
	}
}

/* a *= 10^e. */
static void bn_mul_pow10(bn *a, unsigned e)
{
	static const uint32_t pow10[] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
		100000000, 1000000000,
	};

	for (; e >= 9; e -= 9)
		bn_mul_small(a, pow10[9]);
	bn_mul_small(a, pow10[e]);
}

/* Returns <0, 0 or >0 as a is less than, equal to or greater than b. */
static int bn_cmp(const bn *a, const bn *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (int i = a->n - 1; i >= 0; i--)
		if (a->d[i] != b->d[i])
			return a->d[i] < b->d[i] ? -1 : 1;
	return 0;
}

/* Compares a + b with c, without changing any of them. */
static int bn_add_cmp(const bn *a, const bn *b, const bn *c)
{
	const bn *lo = a->n < b->n ? a : b, *hi = a->n < b->n ? b : a;
	uint64_t carry = 0;
	bn sum;

	sum.n = hi->n;
	for (int i = 0; i < hi->n; i++) {
		carry += (uint64_t)hi->d[i] + (i < lo->n ? lo->d[i] : 0);
		sum.d[i] = (uint32_t)carry;
		carry >>= 32;
	}
	if (carry) {
		assert(sum.n < BN_LIMBS);
		sum.d[sum.n++] = (uint32_t)carry;
	}
	return bn_cmp(&sum, c);
}

/* a -= b; requires a >= b. */
static void bn_sub(bn *a, const bn *b)
{
	int64_t borrow = 0;

	assert(bn_cmp(a, b) >= 0);
	for (int i = 0; i < a->n; i++) {
		uint32_t bd = i < b->n ? b->d[i] : 0;
		int64_t t = (int64_t)a->d[i] - bd + borrow;

		a->d[i] = (uint32_t)t;
		borrow = t < 0 ? -1 : 0;
	}
	while (a->n > 0 && a->d[a->n - 1] == 0)
		a->n--;
}

/* Replaces a with a mod b and returns a / b, which must be below ten.  At
 * most nine subtractions: cheaper here than a real division. */
static int bn_divmod_digit(bn *a, const bn *b)
{
	int q = 0;

	while (bn_cmp(a, b) >= 0) {
		bn_sub(a, b);
		q++;
	}
	assert(q < 10);
	return q;
}

/* ---- shortest digits ---------------------------------------------------- */

/* The digit generator's state.  The value is r/s times a power of ten, and
 * any decimal in [(r - mm)/s, (r + mp)/s] reads back as the same double;
 * the ends belong to the interval only when the significand is even,
 * because strtod() breaks ties to even. */
struct fmt_gen {
	bn r, s;
	bn mp;			/* distance up to the upper half-way point */
	bn mm;			/* distance down to the lower one */
	int inclusive;		/* the interval includes its ends */
};

/* Whether an end of the interval lies at or beyond a point, given c, the
 * comparison of the end's distance with the point's: ties count only when
 * the ends belong to the interval. */
static int fmt_reaches(const struct fmt_gen *g, int c)
{
	return c > 0 || (c == 0 && g->inclusive);
}

/* Sets g up for the positive finite nonzero double with these bits, and
 * returns floor(log2(v)). */
static int fmt_gen_init(struct fmt_gen *g, uint64_t bits)
{
	uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
	int bexp = (int)((bits >> 52) & 0x7ff);
	uint64_t f = bexp ? frac | UINT64_C(1) << 52 : frac;
	int e = bexp ? bexp - 1075 : -1074;		/* v = f * 2^e */
	/* A power of two (other than the smallest normal) is twice as far
	 * from its upper neighbour as from its lower one. */
	unsigned uneven = frac == 0 && bexp > 1;
	unsigned up = e > 0 ? (unsigned)e : 0, down = e < 0 ? (unsigned)-e : 0;
	int log2v = e;

	for (uint64_t t = f; t > 1; t >>= 1)
		log2v++;
	/* Everything is doubled (quadrupled when uneven) so that the half
	 * (quarter) steps to the neighbours are integers. */
	bn_set(&g->r, f);
	bn_shl(&g->r, up + 1 + uneven);
	bn_set(&g->s, 1);
	bn_shl(&g->s, down + 1 + uneven);
	bn_set(&g->mm, 1);
	bn_shl(&g->mm, up);
	g->mp = g->mm;
	bn_shl(&g->mp, uneven);
	g->inclusive = (f & 1) == 0;
	return log2v;
}

/* Scales g so that r/s, and the upper end of the interval, are below one
 * (the first digit is then the tenths of r/s), and returns the decimal
 * exponent: v = 0.DIGITS * 10^decpt. */
static int fmt_gen_scale(struct fmt_gen *g, int log2v)
{
	/* ceil(log10(2^log2v)): 10^(decpt - 1) < 2^log2v <= v, so this is
	 * decpt or decpt - 1.  For log2v in [-1074, 1023] the product is
	 * never within 4e-4 of an integer (but for 0): rounding is harmless. */
	int decpt = (int)ceil(log2v * 0.30102999566398119521);

	if (decpt >= 0) {
		bn_mul_pow10(&g->s, (unsigned)decpt);
	} else {
		bn_mul_pow10(&g->r, (unsigned)-decpt);
		bn_mul_pow10(&g->mp, (unsigned)-decpt);
		bn_mul_pow10(&g->mm, (unsigned)-decpt);
	}
	if (fmt_reaches(g, bn_add_cmp(&g->r, &g->mp, &g->s))) {
		bn_mul_small(&g->s, 10);
		decpt++;
	}
	return decpt;
}

/* Writes the shortest digits (as ASCII, no NUL) to digits and returns how
 * many there are, at most 17. */
static int fmt_gen_digits(struct fmt_gen *g, char *digits)
{
	int n = 0;

	for (;;) {
		int d, low, high;

		bn_mul_small(&g->r, 10);
		bn_mul_small(&g->mp, 10);
		bn_mul_small(&g->mm, 10);
		d = bn_divmod_digit(&g->r, &g->s);
		/* low: the digits with d are inside; high: with d + 1. */
		low = fmt_reaches(g, bn_cmp(&g->mm, &g->r));
		high = fmt_reaches(g, bn_add_cmp(&g->r, &g->mp, &g->s));
		if (low && high) {	/* both d and d + 1 work: the nearer */
			int c = bn_add_cmp(&g->r, &g->r, &g->s);

			d += c > 0 || (c == 0 && (d & 1));
		} else if (high) {
			d++;
		}
		assert(d < 10 && n < 17);
		digits[n++] = (char)('0' + d);
		if (low || high)
			return n;
	}
}

/* ---- layout ------------------------------------------------------------- */

/* Appends c n times at p and returns the new end. */
static char *fmt_fill(char *p, char c, int n)
{
	for (int i = 0; i < n; i++)
		*p++ = c;
	return p;
}

/* Writes 0.DIGITS * 10^decpt in exponent notation: "1e-05", "1.5e+300". */
static char *fmt_exponent(char *p, const char *digits, int n, int decpt)
{
	int e = decpt - 1;
	char tmp[4];
	int len = 0;

	*p++ = digits[0];
	if (n > 1) {
		*p++ = '.';
		memcpy(p, digits + 1, (size_t)n - 1);
		p += n - 1;
	}
	*p++ = 'e';
	*p++ = e < 0 ? '-' : '+';
	if (e < 0)
		e = -e;
	do {
		tmp[len++] = (char)('0' + e % 10);
		e /= 10;
	} while (e);
	if (len < 2)
		tmp[len++] = '0';
	while (len > 0)
		*p++ = tmp[--len];
	return p;
}

/* Writes 0.DIGITS * 10^decpt in positional notation, with at least one
 * digit after the point: "0.0001", "1.5", "1000000000000000.0". */
static char *fmt_positional(char *p, const char *digits, int n, int decpt)
{
	if (decpt <= 0) {
		*p++ = '0';
		*p++ = '.';
		p = fmt_fill(p, '0', -decpt);
		memcpy(p, digits, (size_t)n);
		return p + n;
	}
	if (decpt < n) {
		memcpy(p, digits, (size_t)decpt);
		p += decpt;
		*p++ = '.';
		memcpy(p, digits + decpt, (size_t)(n - decpt));
		return p + n - decpt;
	}
	memcpy(p, digits, (size_t)n);
	p = fmt_fill(p + n, '0', decpt - n);
	*p++ = '.';
	*p++ = '0';
	return p;
}

/* ---- entry point -------------------------------------------------------- */

/* Copies the NUL-terminated s to buf and returns its length. */
static size_t fmt_copy(char *buf, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf, s, n + 1);
	return n;
}

size_t fmt_double(char *buf, double x)
{
	struct fmt_gen g;
	char digits[17];
	uint64_t bits;
	char *p = buf;
	int n, decpt;

	if (isnan(x))
		return fmt_copy(buf, "nan");
	if (isinf(x))
		return fmt_copy(buf, x < 0 ? "-inf" : "inf");
	if (x == 0)
		return fmt_copy(buf, signbit(x) ? "-0.0" : "0.0");
	if (x < 0)
		*p++ = '-';
	memcpy(&bits, &x, sizeof(bits));
	bits &= ~(UINT64_C(1) << 63);		/* |x| */
	decpt = fmt_gen_scale(&g, fmt_gen_init(&g, bits));
	n = fmt_gen_digits(&g, digits);
	/* Python's repr() switches to exponent notation outside this range. */
	if (decpt > -4 && decpt <= 16)
		p = fmt_positional(p, digits, n, decpt);
	else
		p = fmt_exponent(p, digits, n, decpt);
	*p = '\0';
	assert(p - buf < FMT_DOUBLE_MAX);
	return (size_t)(p - buf);
}
