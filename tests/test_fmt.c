/* test_fmt.c -- unit test of fmt_double() against Python's repr(float).
 *
 * A table of awkward values with the text /usr/bin/python3's repr() gives
 * them (Python 3.11), Python's and NumPy's own test values
 * (fmt_vectors.h), half-way ties, then a property check over many
 * pseudo-random bit patterns using the C library as the reference: the
 * text reads back to the same bits, no decimal with fewer digits does, and
 * among decimals with as many digits it is the nearest one (glibc's
 * printf rounds exact ties to even, as Python does).  Last, the column
 * renderers fmt_doubles() and fmt_int64s() against fmt_double() and
 * printf, in buffers of every small size.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/fmt.h"

struct fmt_case {
	double x;
	const char *repr;
};

#include "fmt_vectors.h"

/* Printed by: for x in values: print(x.hex(), repr(x)) */
static const struct fmt_case table[] = {
	{ 0x1.999999999999ap-4, "0.1" },
	{ 0x1.999999999999ap-3, "0.2" },
	{ 0x1.3333333333334p-2, "0.30000000000000004" },
	{ 0x1.5555555555555p-2, "0.3333333333333333" },
	{ 0x1.5555555555555p-1, "0.6666666666666666" },
	{ 0x1.0000000000000p+0, "1.0" },
	{ -0x1.0000000000000p+0, "-1.0" },
	{ 0x1.8000000000000p+0, "1.5" },
	{ 0x1.0000000000000p-1, "0.5" },
	{ 0x1.9000000000000p+6, "100.0" },
	{ 0x1.81cd6c8b43958p+13, "12345.678" },
	{ -0x1.a36e2eb1c432dp-16, "-2.5e-05" },
	{ 0x1.921fb54442d18p+1, "3.141592653589793" },
	{ 0x1.5bf0a8b145769p+1, "2.718281828459045" },
	{ 0x1.c6bf526340000p+49, "1000000000000000.0" },
	{ 0x1.1c37937e08000p+53, "1e+16" },
	{ 0x1.6345785d8a000p+56, "1e+17" },
	{ 0x1.1c37937e07fffp+53, "9999999999999998.0" },
	{ 0x1.1c37937e08001p+53, "1.0000000000000002e+16" },
	{ 0x1.5ee2a2eb5a5c4p+53, "1.2345678901234568e+16" },
	{ 0x1.b69b4ba630f35p+56, "1.2345678901234568e+17" },
	{ 0x1.a36e2eb1c432dp-14, "0.0001" },
	{ 0x1.4f8b588e368f1p-17, "1e-05" },
	{ 0x1.02e4b6ce5dc68p-13, "0.00012345" },
	{ 0x1.a36e2eb1c432cp-14, "9.999999999999999e-05" },
	{ 0x1.0624dd2f1a9fcp-10, "0.001" },
	{ 0x1.ad7f29abcaf48p-24, "1e-07" },
	{ 0x0.0000000000001p-1022, "5e-324" },
	{ 0x0.0000000000002p-1022, "1e-323" },
	{ 0x0.0000000000005p-1022, "2.5e-323" },
	{ 0x1.0000000000000p-1022, "2.2250738585072014e-308" },
	{ 0x0.fffffffffffffp-1022, "2.225073858507201e-308" },
	{ 0x0.0000000000064p-1022, "4.94e-322" },
	{ 0x1.fffffffffffffp+1023, "1.7976931348623157e+308" },
	{ -0x1.fffffffffffffp+1023, "-1.7976931348623157e+308" },
	{ 0x1.1eb2d66005835p+997, "1.5e+300" },
	{ 0x1.0f0cf064dd592p+73, "1e+22" },
	{ 0x1.52d02c7e14af6p+76, "1e+23" },
	{ 0x1.249ad2594c37dp+332, "1e+100" },
	{ 0x1.bff2ee48e0530p-333, "1e-100" },
	{ 0x1.0000000000000p+53, "9007199254740992.0" },
	{ 0x1.0000000000001p+53, "9007199254740994.0" },
	{ 0x1.0000000000000p+63, "9.223372036854776e+18" },
	{ 0x1.0000000000000p+64, "1.8446744073709552e+19" },
	{ 0x1.8000000000000p-1022, "3.337610787760802e-308" },
	{ 0x0.0000000000003p-1022, "1.5e-323" },
	{ 0x1.b1ae4d6e2ef50p+69, "1e+21" },
	{ 0x1.3a92a30553262p-12, "0.00030000000000000003" },
	{ 0x1.3333333333333p-2, "0.3" },
	{ 0x1.a36e2eb1c432dp-15, "5e-05" },
	{ 0x1.c6bf52633ffffp+51, "3999999999999999.5" },
	{ 0x1.0000000000000p-10, "0.0009765625" },
	{ 0x1.0000000000000p+16, "65536.0" },
	{ 0x1.1ccf385ebc8a0p+1023, "1e+308" },
	{ 0x0.730d67819e8d2p-1022, "1e-308" },
	{ 0x0.00000000007e8p-1022, "1e-320" },
	{ 0x1.9999999999999p-1, "0.7999999999999999" },
	{ 0x1.199999999999ap+0, "1.1" },
	{ 0x1.5666666666666p+1, "2.675" },
	{ 0x1.5af1d78b58c40p+66, "1e+20" },
	{ 0x1.0000000000000p-44, "5.684341886080802e-14" },
	{ 0x1.0000000000000p-1000, "9.332636185032189e-302" },
	{ 0x1.0000000000000p+1000, "1.0715086071862673e+301" },
	{ 0x1.c7e83209e90b2p+72, "8.41e+21" },
	/* Powers of two, whose lower neighbour is nearer than the upper:
	 * the nearest decimal of the shortest length (what printf("%.*e")
	 * gives) falls below the rounding interval, the next one up is in. */
	{ 0x1.0000000000000p-1017, "7.120236347223045e-307" },
	{ 0x1.0000000000000p-1007, "7.291122019556398e-304" },
	{ 0x1.0000000000000p-957, "8.209073602596753e-289" },
	{ 0x1.0000000000000p-921, "5.641232424577593e-278" },
	{ 0x1.0000000000000p+803, "5.334411546303884e+241" },
	{ 0x1.0000000000000p+863, "6.150157786156811e+259" },
	{ 0x1.0000000000000p+896, "5.282945311356653e+269" },
	{ 0x1.0000000000000p+976, "6.386688990511104e+293" },
};

static void test_table(void)
{
	char buf[FMT_DOUBLE_MAX];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		size_t n = fmt_double(buf, table[i].x);

		CHECK_STR(buf, table[i].repr);
		CHECK_INT(n, strlen(table[i].repr));
	}
}

static void test_vectors(void)
{
	char buf[FMT_DOUBLE_MAX];

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		fmt_double(buf, vectors[i].x);
		CHECK_STR(buf, vectors[i].repr);
	}
}

static void test_special(void)
{
	char buf[FMT_DOUBLE_MAX];

	CHECK_INT(fmt_double(buf, 0.0), 3);
	CHECK_STR(buf, "0.0");
	CHECK_INT(fmt_double(buf, -0.0), 4);
	CHECK_STR(buf, "-0.0");
	CHECK_INT(fmt_double(buf, NAN), 3);
	CHECK_STR(buf, "nan");
	CHECK_INT(fmt_double(buf, -NAN), 3);
	CHECK_STR(buf, "nan");
	CHECK_INT(fmt_double(buf, INFINITY), 3);
	CHECK_STR(buf, "inf");
	CHECK_INT(fmt_double(buf, -INFINITY), 4);
	CHECK_STR(buf, "-inf");
}

/* ---- property check ----------------------------------------------------- */

/* splitmix64: a fixed sequence of well-mixed 64-bit patterns. */
static uint64_t next_bits(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* Whether the decimal text s reads back as x. */
static int reads_back(const char *s, double x)
{
	return same_bits(strtod(s, NULL), x);
}

/* Reduces a decimal (optional sign, digits with an optional point, optional
 * exponent) to its significant digits, stored in *mant (at most 19 of
 * them), and returns their count; *exp10 is the scientific exponent. */
static int parse_decimal(const char *s, uint64_t *mant, int *exp10)
{
	int n = 0, point = -1, lead = 0, zeros = 0;

	*mant = 0;
	s += *s == '-';
	for (; (*s >= '0' && *s <= '9') || *s == '.'; s++) {
		if (*s == '.') {
			point = lead + n + zeros;
		} else if (*s == '0' && n == 0) {
			lead++;
		} else if (*s == '0') {
			zeros++;	/* kept if a nonzero digit follows */
		} else {
			for (; zeros > 0; zeros--, n++)
				*mant *= 10;
			*mant = *mant * 10 + (uint64_t)(*s - '0');
			n++;
		}
	}
	if (point < 0)
		point = lead + n + zeros;
	*exp10 = point - lead - 1 + (*s == 'e' ? atoi(s + 1) : 0);
	return n;
}

static uint64_t pow10_u64(int n)
{
	uint64_t p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

/* Writes the n-digit decimal mant * 10^(exp10 - n + 1) to buf. */
static void print_decimal(char *buf, size_t size, uint64_t mant, int n,
			  int exp10)
{
	snprintf(buf, size, "%llue%d", (unsigned long long)mant,
		 exp10 - n + 1);
}

/* Finds the decimal with n significant digits nearest to x > 0 among those
 * that read back as x: stores it in *mant, *exp10 and returns 1, or returns
 * 0 when there is none.  Trying the two n-digit decimals that bracket x is
 * enough, because the decimals that read back as x form an interval around
 * it; the correctly rounded one (printf's) is the nearer of the two. */
static int nearest_n_digits(double x, int n, uint64_t *mant, int *exp10)
{
	char near[40], other[40];
	int len;

	snprintf(near, sizeof(near), "%.*e", n - 1, x);
	len = parse_decimal(near, mant, exp10);
	for (; len < n; len++)		/* put back the trailing zeros */
		*mant *= 10;
	if (reads_back(near, x))
		return 1;
	if (strtod(near, NULL) < x) {
		++*mant;		/* 99.9 + 1 is 1000: still fine */
	} else if (*mant == pow10_u64(n - 1)) {
		*mant = *mant * 10 - 1;	/* below 1.00e5 comes 9.99e4 */
		--*exp10;
	} else {
		--*mant;
	}
	print_decimal(other, sizeof(other), *mant, n, *exp10);
	return reads_back(other, x);
}

/* Checks the text fmt_double() printed for the finite nonzero x. */
static void check_shortest(double x, const char *s)
{
	uint64_t mant, want_mant;
	int exp10, want_exp10, n;

	n = parse_decimal(s, &mant, &exp10);
	CHECK(n >= 1 && n <= 17);
	CHECK(reads_back(s, x));
	CHECK(n == 1 || !nearest_n_digits(fabs(x), n - 1, &want_mant,
					  &want_exp10));
	CHECK(nearest_n_digits(fabs(x), n, &want_mant, &want_exp10));
	CHECK(mant == want_mant && exp10 == want_exp10);
	/* Python's layout: positional for 1e-4 <= |x| < 1e16. */
	CHECK((strchr(s, 'e') == NULL) == (exp10 >= -4 && exp10 < 16));
	CHECK((s[0] == '-') == (x < 0));
}

/* Every power of two: where the interval below is half as wide. */
static void test_powers_of_two(void)
{
	char buf[FMT_DOUBLE_MAX];

	for (int e = -1074; e <= 1023; e++) {
		int before = check_failures;

		fmt_double(buf, ldexp(1.0, e));
		check_shortest(ldexp(1.0, e), buf);
		if (check_failures != before)
			fprintf(stderr, "  x = 2^%d: \"%s\"\n", e, buf);
	}
}

/* A double near 1: positional text, integral values, layout boundaries. */
static double near_one(uint64_t bits)
{
	uint64_t sign = bits & UINT64_C(1) << 63;
	uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
	uint64_t e = 1023 - 70 + (bits >> 52) % 140;
	double x;

	bits = sign | e << 52 | frac;
	memcpy(&x, &bits, sizeof(x));
	return x;
}

/* A double read from a random decimal of 1 to 17 digits, or one of its
 * neighbours: short outputs, trailing zeros, the ends of the range. */
static double short_decimal(uint64_t bits)
{
	char text[40];
	int digits = 1 + (int)(bits % 17);
	double x;

	snprintf(text, sizeof(text), "%llue%d",
		 (unsigned long long)((bits >> 8) % pow10_u64(digits)),
		 (int)((bits >> 5) % 640) - 330);
	x = strtod(text, NULL);
	if (bits >> 62 == 1)
		x = nextafter(x, INFINITY);
	else if (bits >> 62 == 2)
		x = nextafter(x, 0);
	return x;
}

/* The i-th pattern: uniform over all bits (mostly huge or tiny magnitudes),
 * near one, or a short decimal, in turn. */
static double next_double(uint64_t *state, int i)
{
	uint64_t bits = next_bits(state);
	double x;

	if (i % 3 == 1)
		return near_one(bits);
	if (i % 3 == 2)
		return short_decimal(bits);
	memcpy(&x, &bits, sizeof(x));
	return x;
}

/* Exact half-way cases: 2^e + k + 1/4 or 3/4 for e in 49..50 (two bits
 * below the point, a 16-digit shortest text whose last digit is a tie),
 * and the same scaled by powers of two down to tiny magnitudes, where
 * more digits follow the point. */
static void test_ties(uint64_t *state, int count)
{
	char buf[FMT_DOUBLE_MAX];

	for (int i = 0; i < count; i++) {
		uint64_t r = next_bits(state);
		int e = 49 + (int)(r & 1);
		double frac = (r >> 1 & 1) ? 0.75 : 0.25;
		double x = ldexp(1.0, e) + (double)(r >> 20 & 0xfffff) + frac;
		int scale = -(int)(r >> 40 & 511);
		int before = check_failures;

		x = ldexp(x, scale);
		fmt_double(buf, x);
		check_shortest(x, buf);
		if (check_failures != before)
			fprintf(stderr, "  tie x = %a: \"%s\"\n", x, buf);
	}
}

static void test_random(int count)
{
	uint64_t state = 12345;
	char buf[FMT_DOUBLE_MAX];
	int first = check_failures;

	for (int i = 0; i < count && check_failures - first < 10; i++) {
		double x = next_double(&state, i);
		size_t n = fmt_double(buf, x);
		int before = check_failures;

		CHECK(n == strlen(buf) && n < FMT_DOUBLE_MAX);
		if (isnan(x))
			CHECK_STR(buf, "nan");
		else if (isinf(x))
			CHECK_STR(buf, x < 0 ? "-inf" : "inf");
		else if (x != 0)
			check_shortest(x, buf);
		if (check_failures != before)
			fprintf(stderr, "  x = %a: \"%s\"\n", x, buf);
	}
}

/* ---- column renderers ---------------------------------------------------- */

/* fmt_doubles() into buffers of every capacity from 0 to a few lines:
 * whole lines only, each what fmt_double() prints, resumed where *done
 * says, and all n in one call when cap >= n * FMT_LINE_MAX. */
static void test_doubles(uint64_t *state)
{
	enum { N = 64 };
	double x[N];
	char want[N * FMT_LINE_MAX], got[N * FMT_LINE_MAX + 128];
	size_t wlen = 0, done;

	for (int i = 0; i < N; i++) {
		x[i] = next_double(state, i);
		wlen += fmt_double(want + wlen, x[i]);
		want[wlen++] = '\n';
	}
	x[0] = -1.7976931348623157e308;	/* the longest lines */
	x[1] = -2.2250738585072014e-308;
	wlen = 0;
	for (int i = 0; i < N; i++) {
		wlen += fmt_double(want + wlen, x[i]);
		want[wlen++] = '\n';
	}
	CHECK_INT(fmt_doubles(got, sizeof(got), x, N, &done), wlen);
	CHECK_INT(done, N);
	CHECK(memcmp(got, want, wlen) == 0);
	CHECK_INT(fmt_doubles(got, N * FMT_LINE_MAX, x, N, NULL), wlen);
	CHECK_INT(fmt_doubles(got, FMT_LINE_MAX - 1, x, N, &done), 0);
	CHECK_INT(done, 0);
	CHECK_INT(fmt_doubles(got, sizeof(got), x, 0, &done), 0);
	CHECK_INT(done, 0);
	for (size_t cap = FMT_LINE_MAX; cap < 4 * FMT_LINE_MAX; cap++) {
		size_t off = 0, i = 0, limit = 0;
		int calls = 0;

		memset(got, '#', sizeof(got));
		while (i < N && calls++ < 2 * N) {
			size_t len = fmt_doubles(got + off, cap, x + i, N - i,
						 &done);

			CHECK(len <= cap && done >= 1);
			i += done;
			limit = off + cap;	/* scratch may reach this */
			off += len;
		}
		CHECK_INT(i, N);
		CHECK_INT(off, wlen);
		CHECK(memcmp(got, want, wlen) == 0);
		for (size_t k = limit; k < sizeof(got); k++)
			CHECK(got[k] == '#');	/* nothing past cap */
	}
}

/* Many values through fmt_doubles()'s fast path (room to spare), each
 * line what fmt_double() prints: every notation, sign and length. */
static void test_doubles_bulk(uint64_t *state, size_t n)
{
	double *x = malloc(n * sizeof(*x));
	char *got = malloc(n * FMT_LINE_MAX), one[FMT_DOUBLE_MAX];
	size_t len, done, off = 0;

	CHECK(x && got);
	if (!x || !got)
		goto out;
	for (size_t i = 0; i < n; i++)
		x[i] = next_double(state, (int)i);
	len = fmt_doubles(got, n * FMT_LINE_MAX, x, n, &done);
	CHECK_INT(done, n);
	for (size_t i = 0; i < n && off < len; i++) {
		size_t k = fmt_double(one, x[i]);

		if (memcmp(got + off, one, k) != 0 || got[off + k] != '\n') {
			CHECK(!"fmt_doubles() line differs from fmt_double()");
			fprintf(stderr, "  x = %a: \"%s\"\n", x[i], one);
			break;
		}
		off += k + 1;
	}
	CHECK_INT(off, len);
out:
	free(x);
	free(got);
}

static void test_int64s(uint64_t *state)
{
	enum { N = 40 };
	int64_t x[N];
	char want[N * FMT_LINE_MAX], got[N * FMT_LINE_MAX];
	size_t wlen = 0, done, off = 0, i = 0;

	x[0] = INT64_MIN;
	x[1] = INT64_MAX;
	x[2] = 0;
	x[3] = -1;
	x[4] = 100000000000000000;	/* 10^17: the 17-digit boundary */
	x[5] = 99999999999999999;
	for (int k = 6; k < N; k++)	/* every length, both signs */
		x[k] = (int64_t)(next_bits(state) >> (k % 64)) * (k % 2 ? -1 : 1);
	for (int k = 0; k < N; k++)
		wlen += (size_t)sprintf(want + wlen, "%lld\n", (long long)x[k]);
	CHECK_INT(fmt_int64s(got, sizeof(got), x, N, &done), wlen);
	CHECK_INT(done, N);
	CHECK(memcmp(got, want, wlen) == 0);
	while (i < N) {
		size_t len = fmt_int64s(got + off, FMT_LINE_MAX + 3, x + i,
					N - i, &done);

		CHECK(done >= 1);
		if (done == 0)
			break;
		i += done;
		off += len;
	}
	CHECK_INT(off, wlen);
	CHECK(memcmp(got, want, wlen) == 0);
}

int main(int argc, char **argv)
{
	uint64_t state = 777;

	test_table();
	test_vectors();
	test_special();
	test_powers_of_two();
	test_ties(&state, 100000);
	test_random(argc > 1 ? atoi(argv[1]) : 1000000);
	test_doubles(&state);
	test_doubles_bulk(&state, 300000);
	test_int64s(&state);
	return check_report("fmt");
}
