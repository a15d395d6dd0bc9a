/* numtext.c -- numbers one per line, parsed (see numtext.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/numtext.h"

/* Longest line copied to be NUL-terminated for strtod()/strtoll(); a
 * longer one is no number of ours ("%.17g" needs 24 bytes, hex floats
 * and padded digits a few more). */
#define NUMTEXT_LINE_MAX 127

_Static_assert(sizeof(long long) == sizeof(int64_t),
	       "strtoll() reads int64 values");
#define NUMTEXT_VAL 8	/* bytes of a value, either dtype */
_Static_assert(sizeof(double) == NUMTEXT_VAL &&
	       sizeof(int64_t) == NUMTEXT_VAL, "8-byte values");

/* The lines of p[0..len): their count, or -EINVAL (*line: the last one,
 * without its '\n'). */
static long long numtext_lines(const char *p, size_t len, size_t *line)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	if (len && p[len - 1] != '\n') {
		*line = n + 1;
		return -EINVAL;
	}
	return (long long)n;
}

/* One line, p[0..len) without its '\n', as one number: 0 or -EINVAL. */
static int numtext_one(const char *p, size_t len, int is_i64, void *out)
{
	char buf[NUMTEXT_LINE_MAX + 1], *end;

	if (len == 0 || len > NUMTEXT_LINE_MAX || memchr(p, '\0', len))
		return -EINVAL;
	memcpy(buf, p, len);
	buf[len] = '\0';
	errno = 0;
	if (is_i64) {
		long long v = strtoll(buf, &end, 10);

		if (errno == ERANGE)
			return -EINVAL;
		*(int64_t *)out = (int64_t)v;
	} else {
		*(double *)out = strtod(buf, &end);
	}
	return end == buf + len ? 0 : -EINVAL;
}

/* Parses p into *vals, elem bytes a value. */
static int numtext_parse(const char *p, size_t len, int is_i64, void **vals,
			 size_t *n, size_t *line)
{
	size_t elem = NUMTEXT_VAL, k = 0;
	long long lines = numtext_lines(p, len, line);
	const char *end = p + len;
	char *v;

	if (lines < 0)
		return (int)lines;
	v = malloc(lines ? (size_t)lines * elem : 1);
	if (!v)
		return -ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (numtext_one(p, (size_t)(nl - p), is_i64, v + k * elem)) {
			free(v);
			*line = k + 1;
			return -EINVAL;
		}
		k++;
		p = nl + 1;
	}
	*vals = v;
	*n = k;
	return 0;
}

int numtext_f64(const char *p, size_t len, double **vals, size_t *n,
		size_t *line)
{
	void *v;
	int rc = numtext_parse(p, len, 0, &v, n, line);

	if (rc == 0)
		*vals = v;
	return rc;
}

int numtext_i64(const char *p, size_t len, int64_t **vals, size_t *n,
		size_t *line)
{
	void *v;
	int rc = numtext_parse(p, len, 1, &v, n, line);

	if (rc == 0)
		*vals = v;
	return rc;
}
