/* fuzz_units.c -- libFuzzer target: units_parse_size() and
 * units_parse_duration() on arbitrary text.
 *
 * The input (NUL-terminated at its first NUL or its end) is parsed both
 * ways.  Checks against a reference built from strtoull():
 *   - an accepted text is digits and at most a known suffix, and its
 *     value is the digits' value times the suffix's multiple, without
 *     overflow;
 *   - a text of digits alone whose value fits is always accepted;
 *   - -ERANGE only for a text that is well formed.
 * The output is never written on failure.  And units_parse_progress():
 * an accepted line is the prefix, 1 to 3 digits, optionally a point and
 * 1 to 9 digits, and "%", its value strtod()'s / 100, at most 1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 64

/* The digits of s as *v (strtoull, which here sees digits only); the end
 * in *end.  0 when there are none or they overflow. */
static int digits(const char *s, uint64_t *v, const char **end)
{
	const char *p = s;
	char *e;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == s)
		return 0;
	errno = 0;
	*v = strtoull(s, &e, 10);
	*end = p;
	return errno == 0 && e == p;
}

static uint64_t size_mult(const char *suf)
{
	static const char *const sfx[] = { "", "K", "M", "G", "T" };
	uint64_t m = 1;

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++, m *= 1024) {
		size_t n = strlen(sfx[i]);
		char lower = (char)(sfx[i][0] | 0x20);

		if (i == 0 && !*suf)
			return 1;
		if (i && (suf[0] == sfx[i][0] || suf[0] == lower) &&
		    (!strcmp(suf + n, "") || !strcmp(suf + n, "B") ||
		     !strcmp(suf + n, "iB")))
			return m;
	}
	return 0;
}

static uint64_t dur_mult(const char *suf)
{
	if (!*suf || !strcmp(suf, "s"))
		return 1;
	if (!strcmp(suf, "m"))
		return 60;
	if (!strcmp(suf, "h"))
		return 3600;
	if (!strcmp(suf, "d"))
		return 86400;
	if (!strcmp(suf, "w"))
		return 7 * 86400;
	return 0;
}

static void check(const char *s, int is_size)
{
	uint64_t out = 0xdeadbeef, v = 0, mult;
	const char *end = s;
	int rc = is_size ? units_parse_size(s, &out)
			 : units_parse_duration(s, &out);
	int ok = digits(s, &v, &end);

	mult = is_size ? size_mult(end) : dur_mult(end);
	if (!is_size && mult && mult > UINT64_MAX / 1000000000u)
		abort();
	if (!is_size)
		mult *= 1000000000u;
	if (rc == 0) {
		if (!ok || !mult || (v && v > UINT64_MAX / mult) ||
		    out != v * mult)
			abort();
	} else {
		if (out != 0xdeadbeef)
			abort();
		if (rc == -ERANGE && !mult)
			abort();
		if (rc == -EINVAL && ok && mult && !(v && v > UINT64_MAX / mult))
			abort();
		if (rc != -EINVAL && rc != -ERANGE)
			abort();
	}
}

static void check_progress(const char *s)
{
	const size_t plen = sizeof(UNITS_PROGRESS_PREFIX) - 1;
	double f = -1.0, ref;
	const char *p = s + plen;
	size_t ni = 0, nf = 0;
	int well;

	int rc = units_parse_progress(s, &f);

	well = strncmp(s, UNITS_PROGRESS_PREFIX, plen) == 0;
	if (well) {
		while (p[ni] >= '0' && p[ni] <= '9')
			ni++;
		if (p[ni] == '.')
			while (p[ni + 1 + nf] >= '0' && p[ni + 1 + nf] <= '9')
				nf++;
		well = ni >= 1 && ni <= 3 &&
		       (p[ni] != '.' || (nf >= 1 && nf <= 9)) &&
		       strcmp(p + ni + (p[ni] == '.' ? 1 + nf : 0), "%") == 0;
	}
	ref = well ? strtod(p, NULL) : 0.0;
	if (well && ref > 100.0)
		well = 0;
	if ((rc == 0) != well)
		abort();
	if (rc == 0 && (f < ref / 100.0 - 1e-9 || f > ref / 100.0 + 1e-9 ||
			f > 1.0))
		abort();
	if (rc != 0 && (rc != -EINVAL || f != -1.0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[TEXT_MAX + 1];

	if (size > TEXT_MAX)
		size = TEXT_MAX;
	memcpy(text, data, size);
	text[size] = '\0';
	check(text, 1);
	check(text, 0);
	check_progress(text);
	return 0;
}
