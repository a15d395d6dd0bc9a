/* test_numtext.c -- unit test of data/numtext.c: numbers one per line,
 * good and hostile text, for float64 and int64. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/numtext.h"

static void good_f64(const char *text, const double *want, size_t n)
{
	double *v = NULL;
	size_t got = 99, line = 0;

	CHECK_INT(numtext_f64(text, strlen(text), &v, &got, &line), 0);
	CHECK_INT(got, n);
	CHECK(v != NULL);
	for (size_t i = 0; v && i < n && i < got; i++)
		CHECK(memcmp(&v[i], &want[i], sizeof(double)) == 0 ||
		      (isnan(v[i]) && isnan(want[i])));
	free(v);
}

static void bad_f64(const char *text, size_t len, size_t want_line)
{
	double *v = (double *)&v;
	size_t n = 0, line = 0;

	CHECK_INT(numtext_f64(text, len, &v, &n, &line), -EINVAL);
	CHECK_INT(line, want_line);
	CHECK(v == (double *)&v);	/* untouched */
}

static void bad_i64(const char *text, size_t want_line)
{
	int64_t *v = NULL;
	size_t n = 0, line = 0;

	CHECK_INT(numtext_i64(text, strlen(text), &v, &n, &line), -EINVAL);
	CHECK_INT(line, want_line);
	CHECK(v == NULL);
}

static void test_f64(void)
{
	const double a[] = { 1.5, -0.0, 1e-05, INFINITY, NAN, 0.1, 16.0,
			     HUGE_VAL, 0.0 };

	good_f64("", a, 0);
	good_f64("1.5\n-0.0\n1e-05\ninf\nnan\n0.1\n0x10\n1e999\n1e-999\n",
		 a, 9);
	good_f64("  1.5\n", a, 1);		/* strtod's leading blanks */
	bad_f64("1.5", 3, 1);			/* no final newline */
	bad_f64("1.5\n2", 5, 2);
	bad_f64("1.5\n\n2\n", 7, 2);		/* an empty line */
	bad_f64("1.5 \n", 5, 1);		/* a trailing blank */
	bad_f64("1.5\r\n", 5, 1);		/* CRLF */
	bad_f64("1,5\n", 4, 1);
	bad_f64("abc\n", 4, 1);
	bad_f64("1.5\n2.5\nx\n", 10, 3);
	bad_f64("1\0" "2\n", 4, 1);		/* a NUL inside */
	{
		char line[200];

		memset(line, '0', sizeof(line) - 1);
		line[sizeof(line) - 1] = '\n';	/* 199 zeros: too long */
		bad_f64(line, sizeof(line), 1);
	}
}

static void test_i64(void)
{
	const char text[] = "0\n-1\n9223372036854775807\n"
			    "-9223372036854775808\n  7\n";
	int64_t *v = NULL;
	size_t n = 0, line = 0;

	CHECK_INT(numtext_i64(text, strlen(text), &v, &n, &line), 0);
	CHECK_INT(n, 5);
	if (v && n == 5) {
		CHECK(v[0] == 0 && v[1] == -1 && v[2] == INT64_MAX &&
		      v[3] == INT64_MIN && v[4] == 7);
	}
	free(v);
	bad_i64("9223372036854775808\n", 1);	/* out of range */
	bad_i64("1\n1.5\n", 2);
	bad_i64("1e3\n", 1);
	bad_i64("0x10\n", 1);
	bad_i64("12", 1);
	bad_i64("nan\n", 1);
}

int main(void)
{
	test_f64();
	test_i64();
	return check_report("numtext");
}
