/* units.c -- sizes and durations in options (see units.h). */
#include <errno.h>
#include <string.h>

#include "util/units.h"

/* The leading digits of s as *v; *end past them.  0, -EINVAL (none) or
 * -ERANGE. */
static int units_digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t n = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -EINVAL;
	*v = n;
	*end = p;
	return 0;
}

/* n * mult, or -ERANGE. */
static int units_scale(uint64_t n, uint64_t mult, uint64_t *out)
{
	if (mult && n > UINT64_MAX / mult)
		return -ERANGE;
	*out = n * mult;
	return 0;
}

int units_parse_size(const char *s, uint64_t *bytes)
{
	static const char suffixes[] = "KMGT";
	const char *end, *at;
	uint64_t n, mult = 1;
	int rc = units_digits(s, &n, &end);

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
	return units_scale(n, mult, bytes);
}

int units_parse_duration(const char *s, uint64_t *ns)
{
	const char *end;
	uint64_t n, secs, mult = 1;
	int rc = units_digits(s, &n, &end);

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
	rc = units_scale(n, mult, &secs);
	return rc ? rc : units_scale(secs, 1000000000u, ns);
}
