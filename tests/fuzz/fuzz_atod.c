/* fuzz_atod.c -- libFuzzer target: atod_decimal() (data/atod.cc), the
 * reader of csv.c's number cells, against glibc's strtod() on arbitrary
 * bytes: a differential check.
 *
 * The input is not NUL-terminated (atod_decimal() must read no byte past
 * its end; ASan sees one).  When atod_decimal() reads a prefix, strtod()
 * of exactly those bytes reads all of them, to the same bits.  When it
 * declines input that starts (after a sign) with a digit, or with '.' and
 * a digit, strtod() must find the number out of range: infinity or zero
 * with ERANGE (the only numbers it may leave to strtod()).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/atod.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int starts_decimal(const char *s, size_t n)
{
	size_t i = n > 0 && (s[0] == '+' || s[0] == '-');

	if (i < n && s[i] >= '0' && s[i] <= '9')
		return 1;
	return i + 1 < n && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *q;
	char *copy, *e;
	double v = -7.0, w;

	q = atod_decimal(s, s + size, &v);
	FZ_CHECK(q == NULL || (q > s && q <= s + size));
	/* strtod() of what was read, or of everything when nothing was */
	copy = strndup(s, q ? (size_t)(q - s) : size);
	if (!copy)
		return 0;
	errno = 0;
	w = strtod(copy, &e);
	if (q) {
		FZ_CHECK(e == copy + (q - s));
		FZ_CHECK(memcmp(&v, &w, sizeof(v)) == 0);
	} else {
		FZ_CHECK(v == -7.0);
		/* (strndup stops at a NUL: judge only the bytes it kept) */
		if (starts_decimal(copy, strlen(copy)) &&
		    strncasecmp(copy + (*copy == '+' || *copy == '-'), "0x",
				2) != 0)
			FZ_CHECK(errno == ERANGE && (isinf(w) || w == 0.0));
	}
	free(copy);
	return 0;
}
