/* units.c -- sizes and durations in options (see units.h). */
#include <errno.h>
#include <string.h>

#include "util/units.h"

/* The leading digits of s as *v (UINT64_MAX and *big set when they
 * overflow); *end past them.  0, or -EINVAL when there are none.  The
 * overflow is reported only once the rest is known good: a text that is
 * both too large and malformed is -EINVAL. */
static int units_digits(const char *s, uint64_t *v, const char **end,
			int *big)
{
	uint64_t n = 0;
	const char *p = s;

	*big = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			*big = 1;
		n = *big ? UINT64_MAX : n * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -EINVAL;
	*v = n;
	*end = p;
	return 0;
}

/* n * mult, or -ERANGE (also when big). */
static int units_scale(uint64_t n, uint64_t mult, int big, uint64_t *out)
{
	if (big || (mult && n > UINT64_MAX / mult))
		return -ERANGE;
	*out = n * mult;
	return 0;
}

int units_parse_size(const char *s, uint64_t *bytes)
{
	static const char suffixes[] = "KMGT";
	const char *end, *at;
	uint64_t n, mult = 1;
	int big, rc = units_digits(s, &n, &end, &big);

	if (rc)
		return rc;
	if (*end) {
		at = strchr(suffixes, *end & ~0x20);
		if (!at || !(*end & ~0x20))
			return -EINVAL;
		for (const char *q = suffixes; q <= at; q++)
			mult *= 1024;
		end++;
		if (strcmp(end, "") != 0 && strcmp(end, "B") != 0 &&
		    strcmp(end, "iB") != 0)
			return -EINVAL;
	}
	return units_scale(n, mult, big, bytes);
}

int units_parse_duration(const char *s, uint64_t *ns)
{
	const char *end;
	uint64_t n, secs, mult = 1;
	int big, rc = units_digits(s, &n, &end, &big);

	if (rc)
		return rc;
	switch (*end) {
	case '\0': case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 7 * 86400; break;
	default: return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	rc = units_scale(n, mult, big, &secs);
	return rc ? rc : units_scale(secs, 1000000000u, 0, ns);
}

int units_parse_progress(const char *line, double *fraction)
{
	size_t plen = sizeof(UNITS_PROGRESS_PREFIX) - 1;
	const char *p = line;
	double v = 0.0, scale = 1.0;
	int digits = 0;

	if (strncmp(line, UNITS_PROGRESS_PREFIX, plen) != 0)
		return -EINVAL;
	for (p += plen; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
		v = v * 10 + (*p - '0');
	if (!digits || (*p >= '0' && *p <= '9'))
		return -EINVAL;
	if (*p == '.') {
		for (p++, digits = 0; *p >= '0' && *p <= '9' && digits < 9;
		     p++, digits++)
			v += (*p - '0') * (scale /= 10);
		if (!digits || (*p >= '0' && *p <= '9'))
			return -EINVAL;
	}
	if (strcmp(p, "%") != 0 || v > 100.0)
		return -EINVAL;
	*fraction = v / 100.0;
	return 0;
}
