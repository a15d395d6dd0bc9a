/* fuzz_fmt.c -- libFuzzer target: fmt_double() and the column renderers
 * fmt_doubles() / fmt_int64s() on arbitrary bit patterns.
 *
 * Each 8 bytes of the input (the last chunk zero-padded) are one double,
 * in host byte order, so every NaN payload, subnormal and infinity is
 * reachable.  For each:
 *   - the length returned is strlen() of the text, below FMT_DOUBLE_MAX;
 *   - strtod() reads the text back to the same bits, or both are NaN and
 *     the text is "nan";
 *   - the text is what Python's repr() prints, built here from glibc:
 *     the fewest digits p for which printf("%.*e", p - 1) reads back to the
 *     same double, laid out as format_float_short() does (positional for a
 *     decimal exponent in [-4, 16), else "d.ddde+XX").  When the nearest
 *     p-digit decimal misses the rounding interval but another p-digit one
 *     is in it (possible next to a power of two), fmt_double() may print
 *     fewer digits than this reference: then it must not print more.
 * Then the whole input, as doubles and as int64s, goes through the column
 * renderers in pieces of a capacity the first byte chooses (up to 5 lines,
 * so that both the fast and the exact path run): the bytes are
 * fmt_double()'s (or printf's "%lld") lines, nothing written past the
 * capacity.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fmt.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX 64

/* Significant digits in fmt_double()'s text (no sign, point, exponent or
 * leading zeros; trailing zeros of an integral value's ".0" and of
 * "1000.0" are not significant either). */
static int sig_digits(const char *s)
{
	int n = 0, last = 0, started = 0;

	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (*s != '0')
			started = 1;
		if (!started)
			continue;
		n++;
		if (*s != '0')
			last = n;
	}
	return last;
}

/* Python's layout of the p digits and decimal exponent of a "%.*e"
 * rendering of a finite nonzero x. */
static void ref_layout(char *out, const char *e_text, int neg)
{
	char digits[32], *o = out;
	const char *s = e_text + neg, *exp_at = strchr(e_text, 'e');
	int n = 0, e = atoi(exp_at + 1), decpt = e + 1;

	for (; s < exp_at; s++)
		if (*s != '.')
			digits[n++] = *s;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	if (neg)
		*o++ = '-';
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			o += sprintf(o, "0.");
			for (int i = 0; i < -decpt; i++)
				*o++ = '0';
			memcpy(o, digits, (size_t)n);
			o += n;
		} else if (decpt < n) {
			memcpy(o, digits, (size_t)decpt);
			o += decpt;
			*o++ = '.';
			memcpy(o, digits + decpt, (size_t)(n - decpt));
			o += n - decpt;
		} else {
			memcpy(o, digits, (size_t)n);
			o += n;
			for (int i = n; i < decpt; i++)
				*o++ = '0';
			o += sprintf(o, ".0");
		}
	} else {
		*o++ = digits[0];
		if (n > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)n - 1);
			o += n - 1;
		}
		o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	*o = '\0';
}

static void check_one(double x)
{
	char buf[FMT_DOUBLE_MAX + 8], ref[REF_MAX], e_text[REF_MAX];
	size_t len;
	double back;
	int p;

	memset(buf, '#', sizeof(buf));
	len = fmt_double(buf, x);
	FZ_CHECK(len < FMT_DOUBLE_MAX);
	FZ_CHECK(strlen(buf) == len);
	FZ_CHECK(buf[FMT_DOUBLE_MAX] == '#');	/* nothing past the max */
	back = strtod(buf, NULL);
	if (isnan(x)) {
		FZ_CHECK(isnan(back) && strcmp(buf, "nan") == 0);
		return;
	}
	FZ_CHECK(fz_same_bits(back, x));
	if (isinf(x) || x == 0)
		return;
	for (p = 1; p <= 17; p++) {
		snprintf(e_text, sizeof(e_text), "%.*e", p - 1, x);
		if (fz_same_bits(strtod(e_text, NULL), x))
			break;
	}
	FZ_CHECK(p <= 17);
	if (sig_digits(buf) < p)
		return;		/* shorter, and read back above: fine */
	FZ_CHECK(sig_digits(buf) == p);
	ref_layout(ref, e_text, signbit(x) != 0);
	if (strcmp(buf, ref) != 0) {
		fprintf(stderr, "fmt_double: '%s', reference '%s' (%a)\n",
			buf, ref, x);
		FZ_CHECK(strcmp(buf, ref) == 0);
	}
}

#define COL_MAX 16	/* values a run checks in bulk (-max_len=64: 8) */

/* fmt_doubles() or fmt_int64s() (ints) over x[0..n) in pieces of at most
 * cap bytes equals want[0..wlen). */
static void check_column(const void *x, size_t n, int ints, size_t cap,
			 const char *want, size_t wlen)
{
	char got[COL_MAX * FMT_LINE_MAX + 256];
	size_t off = 0, i = 0, done, len, limit = 0;

	memset(got, '#', sizeof(got));
	while (i < n) {
		FZ_CHECK(off + cap <= sizeof(got));
		len = ints ? fmt_int64s(got + off, cap, (const int64_t *)x + i,
					n - i, &done)
			   : fmt_doubles(got + off, cap, (const double *)x + i,
					 n - i, &done);
		FZ_CHECK(len <= cap && done >= 1 && done <= n - i);
		limit = off + cap;	/* scratch may reach this, no further */
		off += len;
		i += done;
	}
	FZ_CHECK(off == wlen && memcmp(got, want, wlen) == 0);
	for (size_t k = limit; k < sizeof(got); k++)
		FZ_CHECK(got[k] == '#');
}

static void check_columns(const uint8_t *data, size_t size)
{
	double x[COL_MAX];
	int64_t v[COL_MAX];
	char want[COL_MAX * FMT_LINE_MAX];
	size_t n = 0, wlen = 0, cap;

	for (size_t off = 0; off < size && n < COL_MAX; off += 8, n++) {
		uint8_t b[8] = { 0 };

		memcpy(b, data + off, size - off < 8 ? size - off : 8);
		memcpy(&x[n], b, sizeof(x[n]));
		memcpy(&v[n], b, sizeof(v[n]));
	}
	if (n == 0)
		return;
	cap = FMT_LINE_MAX + data[0] % (4 * FMT_LINE_MAX);
	for (size_t i = 0; i < n; i++) {
		wlen += fmt_double(want + wlen, x[i]);
		want[wlen++] = '\n';
	}
	check_column(x, n, 0, cap, want, wlen);
	wlen = 0;
	for (size_t i = 0; i < n; i++)
		wlen += (size_t)sprintf(want + wlen, "%lld\n", (long long)v[i]);
	check_column(v, n, 1, cap, want, wlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t off = 0; off < size; off += 8) {
		uint8_t b[8] = { 0 };
		double x;

		memcpy(b, data + off, size - off < 8 ? size - off : 8);
		memcpy(&x, b, sizeof(x));
		check_one(x);
	}
	check_columns(data, size);
	return 0;
}
